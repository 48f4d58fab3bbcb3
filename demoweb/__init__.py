"""Demo web: a deterministic, seeded news ecosystem served to the crawler (see DESIGN.md)."""

from demoweb.web import DemoWeb, Response

__all__ = ["DemoWeb", "Response"]
