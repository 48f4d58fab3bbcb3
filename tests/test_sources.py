"""The sources config: valid files load; every mistake stops the run with a precise message."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from crawler.sources import SourcesError, load_sources, parse_sources

REPO = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "sources.yaml"
    p.write_text(text)
    return p


def test_default_config_is_the_demo_web() -> None:
    cfg = load_sources(REPO / "sources.yaml")
    assert cfg.demo_web is not None and cfg.demo_web.seed == 1 and cfg.demo_web.sites >= 12
    assert cfg.sources == ()


def test_full_source_loads(tmp_path: Path) -> None:
    cfg = load_sources(
        write(
            tmp_path,
            """
proxy: http://127.0.0.1:3128
sources:
  - name: example
    start_urls: [https://news.example.com/]
    feeds: https://news.example.com/rss.xml
    sitemaps: [https://news.example.com/sitemap.xml]
    follow: ['/20\\d\\d/']
    skip: ['/tag/']
    max_pages: 50
    max_depth: 2
""",
        )
    )
    src = cfg.source("example")
    assert cfg.proxy == "http://127.0.0.1:3128"
    assert src.allowed_domains == ("news.example.com",)  # defaults to the seed hosts
    assert src.feeds == ("https://news.example.com/rss.xml",)
    assert src.allows_url("https://news.example.com/2026/11/a.html")
    assert not src.allows_url("https://news.example.com/tag/2026/")  # skip wins
    assert not src.allows_url("https://news.example.com/about")  # no follow match
    assert not src.allows_url("https://other.example.org/2026/x")  # other domain
    assert src.max_pages == 50 and src.max_depth == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "sources: [{name: a, start_urls: [x]}]",
            "source 'a': field 'start_urls': not an absolute",
        ),
        ("sources: [{name: a, start_urls: ['ftp://h/']}]", "field 'start_urls'"),
        (
            "sources: [{name: a, start_url: ['http://h/']}]",
            "source 'a': unknown field(s) 'start_url'",
        ),
        ("sources: [{start_urls: ['http://h/']}]", "sources[0]: field 'name': missing"),
        ("sources: [{name: a}]", "source 'a': needs at least one of"),
        (
            "sources: [{name: a, start_urls: ['http://h/'], follow: ['(']}]",
            "field 'follow': bad regular",
        ),
        (
            "sources: [{name: a, start_urls: ['http://h/'], max_pages: 0}]",
            "field 'max_pages': must be",
        ),
        ("sources: [{name: a, start_urls: ['http://h/'], max_depth: -1}]", "field 'max_depth'"),
        (
            "sources: [{name: a, start_urls: ['http://h/'], allowed_domains: ['http://h']}]",
            "field 'allowed_domains': not a domain",
        ),
        (
            "sources: [{name: a, start_urls: ['http://h/']}, {name: a, feeds: ['http://h/f']}]",
            "source 'a': field 'name': used twice",
        ),
        ("source: []", "unknown top-level key(s) 'source'"),
        ("sources: []", "no sources"),
        ("proxy: localhost:8080\nsources: [{name: a, start_urls: ['http://h/']}]", "field 'proxy'"),
        ("demo_web: {seed: 1, site: 3}", "demo_web: unknown field(s) 'site'"),
        ("demo_web: {sites: 0}", "demo_web: field 'sites': must be an integer >= 1"),
        ("[1, 2]", "top level must be a mapping"),
    ],
)
def test_bad_config_names_file_source_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(SourcesError) as err:
        load_sources(path)
    assert str(path) in str(err.value)
    assert message in str(err.value)


def test_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(SourcesError, match="sources file not found"):
        load_sources(tmp_path / "nope.yaml")
    with pytest.raises(SourcesError, match="not valid YAML"):
        load_sources(write(tmp_path, "sources: [unclosed"))


def test_parse_without_file_uses_placeholder_name() -> None:
    with pytest.raises(SourcesError, match="^<sources>: "):
        parse_sources({"sources": "x"})


def test_runner_stops_on_bad_config_before_any_request(tmp_path: Path) -> None:
    """`make crawl SOURCES=bad.yaml` exits 2 with the message and writes nothing."""
    path = write(tmp_path, "sources: [{name: a, start_urls: ['http://h/'], max_pages: -3}]")
    data = tmp_path / "data"
    proc = subprocess.run(
        [sys.executable, "-m", "crawler.run", "--sources", str(path), "--data", str(data)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert f"{path}: source 'a': field 'max_pages'" in proc.stderr
    assert not data.exists() or not any(data.iterdir())
