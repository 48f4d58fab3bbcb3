"""The sources config (`sources.yaml`): what to crawl, validated before any request.

A config is a mapping with these top-level keys:

    demo_web:  {seed, sites, stories, day}   # optional: crawl the bundled demo web
    proxy:     http://host:port              # optional HTTP proxy for every request
    sources:   [ {name, start_urls, feeds, sitemaps, ...}, ... ]

Every error names the file, the source and the field, and stops the run before any request.
Nothing here imports Scrapy: the spider and the runner both call `load_sources`.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

TOP_LEVEL_KEYS = {"demo_web", "proxy", "sources"}
SOURCE_KEYS = {
    "name",
    "start_urls",
    "feeds",
    "sitemaps",
    "robots_sitemaps",
    "allowed_domains",
    "follow",
    "skip",
    "max_pages",
    "max_depth",
}
DEMO_KEYS = {"seed", "sites", "stories", "day"}
# Default bounds of a source, so that a crawler trap (an endless calendar, links that only make
# paths longer) ends by itself; the runs row names a source a limit cut short (`cut_short`).
# Feeds and sitemaps put articles at depth 1 or 2; listing pages chain one level per page.
DEFAULT_MAX_DEPTH = 20
DEFAULT_MAX_PAGES = 50_000
MAX_DEPTH_LIMIT = 1_000  # pages.depth is a 16-bit integer
# A link is a trap, not a page, when its path repeats one segment this often (relative links
# that make /a/b/a/b/a/b/...), has more segments than this, or the URL is longer than this.
TRAP_SEGMENT_REPEATS = 3
TRAP_MAX_SEGMENTS = 25
TRAP_MAX_URL = 2_000
DEMO_DEFAULTS = {"seed": 1, "sites": 12, "stories": 300, "day": 1}


class SourcesError(ValueError):
    """A sources config that cannot be used; the message says where and why."""


@dataclass(frozen=True)
class Source:
    """One site or group of sites to crawl."""

    name: str
    start_urls: tuple[str, ...] = ()
    feeds: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    robots_sitemaps: bool = True  # read `Sitemap:` lines of each start host's robots.txt
    allowed_domains: tuple[str, ...] = ()
    follow: tuple[re.Pattern[str], ...] = ()
    skip: tuple[re.Pattern[str], ...] = ()
    max_pages: int = DEFAULT_MAX_PAGES
    max_depth: int = DEFAULT_MAX_DEPTH

    def limit_for(self, url: str, depth: int) -> str | None:
        """The limit that refuses a link at this depth ('max_depth', 'trap'), or None."""
        if depth > self.max_depth:
            return "max_depth"
        return "trap" if is_trap(url) else None

    def limit_value(self, limit: str) -> str:
        return {"max_depth": str(self.max_depth), "max_pages": str(self.max_pages)}.get(
            limit, "(a path that only grows)"
        )

    def allows_domain(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        return any(host == d or host.endswith("." + d) for d in self.allowed_domains)

    def allows_url(self, url: str) -> bool:
        """Within allowed domains, matches a `follow` pattern (if any) and no `skip` pattern."""
        if not self.allows_domain(urlsplit(url).hostname or ""):
            return False
        if self.follow and not any(p.search(url) for p in self.follow):
            return False
        return not any(p.search(url) for p in self.skip)


@dataclass(frozen=True)
class DemoWebConfig:
    seed: int = 1
    sites: int = 12
    stories: int = 300
    day: int = 1
    heavy: bool = False  # pages as heavy as real ones (DemoWeb(heavy=True))


@dataclass(frozen=True)
class SourcesConfig:
    path: str
    sources: tuple[Source, ...]
    proxy: str | None = None
    demo_web: DemoWebConfig | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def source(self, name: str) -> Source:
        for s in self.sources:
            if s.name == name:
                return s
        raise KeyError(name)


def load_sources(path: str | Path) -> SourcesConfig:
    """Read and validate a sources file; raise SourcesError with a precise message."""
    p = Path(path)
    if not p.is_file():
        raise SourcesError(f"{p}: sources file not found")
    try:
        raw = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise SourcesError(f"{p}: not valid YAML: {exc}") from exc
    return parse_sources(raw, str(p))


def parse_sources(raw: Any, where: str = "<sources>") -> SourcesConfig:
    if not isinstance(raw, dict):
        raise SourcesError(f"{where}: the top level must be a mapping with a 'sources' list")
    unknown = sorted(set(raw) - TOP_LEVEL_KEYS)
    if unknown:
        raise SourcesError(
            f"{where}: unknown top-level key(s) {', '.join(map(repr, unknown))}; "
            f"allowed: {', '.join(sorted(TOP_LEVEL_KEYS))}"
        )
    proxy = raw.get("proxy")
    if proxy is not None:
        proxy = _url(proxy, f"{where}: field 'proxy'", schemes=("http", "https"))
    demo = _demo(raw.get("demo_web"), where) if "demo_web" in raw else None
    items = raw.get("sources", [])
    if items is None:
        items = []
    if not isinstance(items, list):
        raise SourcesError(f"{where}: field 'sources' must be a list, got {type(items).__name__}")
    if not items and demo is None:
        raise SourcesError(f"{where}: no sources: give a 'sources' list or a 'demo_web' block")
    sources = []
    names: set[str] = set()
    for i, item in enumerate(items):
        src = _source(item, where, i)
        if src.name in names:
            raise SourcesError(f"{where}: source {src.name!r}: field 'name': used twice")
        names.add(src.name)
        sources.append(src)
    return SourcesConfig(where, tuple(sources), proxy, demo, raw)


def with_demo_day(config: SourcesConfig, day: int) -> SourcesConfig:
    """The sources config with the demo web moved to `day` (SourcesError without a demo web)."""
    if config.demo_web is None:
        raise SourcesError(f"{config.path}: --demo-day needs a 'demo_web' block")
    if day < 1:
        raise SourcesError(f"--demo-day must be >= 1, got {day}")
    return dataclasses.replace(config, demo_web=dataclasses.replace(config.demo_web, day=day))


def _demo(value: Any, where: str) -> DemoWebConfig:
    if value is None or value is True:
        value = {}
    if not isinstance(value, dict):
        raise SourcesError(
            f"{where}: field 'demo_web' must be a mapping (seed, sites, stories, day)"
        )
    unknown = sorted(set(value) - DEMO_KEYS - {"heavy"})
    if unknown:
        raise SourcesError(
            f"{where}: demo_web: unknown field(s) {', '.join(map(repr, unknown))}; "
            f"allowed: {', '.join(sorted(DEMO_KEYS | {'heavy'}))}"
        )
    args: dict[str, Any] = dict(DEMO_DEFAULTS)
    if "heavy" in value:
        if not isinstance(value["heavy"], bool):
            raise SourcesError(f"{where}: demo_web: field 'heavy' must be true or false")
        args["heavy"] = value["heavy"]
    for key in DEMO_KEYS & set(value):
        args[key] = _int(
            value[key], f"{where}: demo_web: field {key!r}", minimum=0 if key == "seed" else 1
        )
    return DemoWebConfig(**args)


def _source(item: Any, where: str, index: int) -> Source:
    if not isinstance(item, dict):
        raise SourcesError(
            f"{where}: sources[{index}] must be a mapping, got {type(item).__name__}"
        )
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        raise SourcesError(f"{where}: sources[{index}]: field 'name': missing or empty")
    ctx = f"{where}: source {name!r}"
    unknown = sorted(set(item) - SOURCE_KEYS)
    if unknown:
        raise SourcesError(
            f"{ctx}: unknown field(s) {', '.join(map(repr, unknown))}; "
            f"allowed: {', '.join(sorted(SOURCE_KEYS))}"
        )
    urls = {
        k: tuple(_url(u, f"{ctx}: field {k!r}") for u in _list(item, k, ctx))
        for k in ("start_urls", "feeds", "sitemaps")
    }
    if not any(urls.values()):
        raise SourcesError(f"{ctx}: needs at least one of 'start_urls', 'feeds', 'sitemaps'")
    domains = tuple(
        _domain(d, f"{ctx}: field 'allowed_domains'") for d in _list(item, "allowed_domains", ctx)
    )
    if not domains:  # default: the hosts of the seed URLs
        hosts = {urlsplit(u).hostname or "" for group in urls.values() for u in group}
        domains = tuple(sorted(h for h in hosts if h))
    patterns = {
        k: tuple(_pattern(p, f"{ctx}: field {k!r}") for p in _list(item, k, ctx))
        for k in ("follow", "skip")
    }
    robots = item.get("robots_sitemaps", True)
    if not isinstance(robots, bool):
        raise SourcesError(f"{ctx}: field 'robots_sitemaps' must be true or false, got {robots!r}")
    limits = {
        k: _int(item[k], f"{ctx}: field {k!r}", minimum=0 if k == "max_depth" else 1)
        for k in ("max_pages", "max_depth")
        if item.get(k) is not None
    }
    if limits.get("max_depth", 0) > MAX_DEPTH_LIMIT:
        raise SourcesError(
            f"{ctx}: field 'max_depth': at most {MAX_DEPTH_LIMIT}, got {limits['max_depth']}"
        )
    return Source(
        name=name.strip(),
        **urls,
        robots_sitemaps=robots,
        allowed_domains=domains,
        **patterns,
        **limits,
    )


def is_trap(url: str) -> bool:
    """A URL that only a crawler trap makes: a repeating path, too many segments, too long."""
    if len(url) > TRAP_MAX_URL:
        return True
    segments = [s for s in urlsplit(url).path.split("/") if s]
    if len(segments) > TRAP_MAX_SEGMENTS:
        return True
    counts: dict[str, int] = {}
    for seg in segments:
        counts[seg] = counts.get(seg, 0) + 1
        if counts[seg] >= TRAP_SEGMENT_REPEATS:
            return True
    return False


def _list(item: dict[str, Any], key: str, ctx: str) -> list[Any]:
    value = item.get(key)
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list):
        raise SourcesError(f"{ctx}: field {key!r} must be a list, got {type(value).__name__}")
    return value


def _url(value: Any, ctx: str, schemes: tuple[str, ...] = ("http", "https")) -> str:
    if not isinstance(value, str):
        raise SourcesError(f"{ctx}: not a URL: {value!r}")
    parts = urlsplit(value.strip())
    if parts.scheme not in schemes or not parts.hostname:
        raise SourcesError(f"{ctx}: not an absolute {'/'.join(schemes)} URL: {value!r}")
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise SourcesError(f"{ctx}: bad port in URL {value!r}") from exc
    return value.strip()


_DOMAIN = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"
)


def _domain(value: Any, ctx: str) -> str:
    if not isinstance(value, str) or not _DOMAIN.match(value.strip().lower()):
        raise SourcesError(
            f"{ctx}: not a domain name: {value!r} (give a host like 'example.com', no scheme)"
        )
    return value.strip().lower()


def _pattern(value: Any, ctx: str) -> re.Pattern[str]:
    if not isinstance(value, str):
        raise SourcesError(f"{ctx}: a pattern must be a string, got {value!r}")
    try:
        return re.compile(value)
    except re.error as exc:
        raise SourcesError(f"{ctx}: bad regular expression {value!r}: {exc}") from exc


def _int(value: Any, ctx: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise SourcesError(f"{ctx}: must be an integer >= {minimum}, got {value!r}")
    return value


def demo_sources(web: Any, name_prefix: str = "") -> tuple[Source, ...]:
    """One source per demo-web site: its home page, feeds and sitemaps (duck-typed DemoWeb)."""
    out = []
    feeds = list(web.feed_urls())
    sitemaps = list(web.sitemap_urls())
    for home in web.home_urls():
        host = urlsplit(home).hostname or ""
        out.append(
            Source(
                name=name_prefix + host,
                start_urls=(home,),
                feeds=tuple(u for u in feeds if urlsplit(u).hostname == host),
                sitemaps=tuple(u for u in sitemaps if urlsplit(u).hostname == host),
                allowed_domains=(host,),
            )
        )
    return tuple(out)


def cut_short_text(unfollowed: dict[str, dict[str, tuple[str, list[str]]]]) -> dict[str, str]:
    """runs.cut_short from the links a limit refused (NewsSpider.unfollowed): source ->
    "max_pages 25: 7 link(s) not followed; ...", sources with none left out."""
    return {
        name: "; ".join(
            f"{limit} {value}: {len(keys)} link(s) not followed"
            for limit, (value, keys) in sorted(limits.items())
        )
        for name, limits in sorted(unfollowed.items())
        if any(keys for _, keys in limits.values())
    }
