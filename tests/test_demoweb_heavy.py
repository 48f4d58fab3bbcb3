"""The heavy demo web (DemoWeb(heavy=True)): as heavy as real pages, with its truth kept."""

from __future__ import annotations

import re
import statistics

import pytest

from demoweb import DemoWeb
from demoweb.hardness import measure


@pytest.fixture(scope="module")
def heavy_web() -> DemoWeb:
    return DemoWeb(seed=5, stories=40, heavy=True)


def _articles(web: DemoWeb) -> list[dict]:
    return [r for r in web.truth_rows() if r["page_kind"] == "article"]


def test_heavy_pages_weigh_like_real_ones(heavy_web: DemoWeb) -> None:
    sizes = [len(heavy_web.respond(r["url"]).body) for r in _articles(heavy_web)]
    assert statistics.median(sizes) >= 60_000


def test_heavy_pages_carry_scripts_styles_state_menu_and_comments(heavy_web: DemoWeb) -> None:
    rows = _articles(heavy_web)
    for r in rows[::10]:
        html = heavy_web.respond(r["url"]).body.decode()
        head = html[: html.index("</head>")]
        assert head.count("<script") >= 4
        assert "<style" in head
        assert 'id="__NEXT_DATA__"' in head or "window.__STATE__ = {" in head
        menu = re.search(r'<nav class="mega-menu".*?</nav>', html, re.S)
        assert menu and menu.group(0).count("<a ") >= 100
        assert 'id="comments"' in html
        # everything new is outside the body: every comment is recorded as furniture
        comments = re.findall(r'<div class="comment-content"><p>(.*?)</p>', html)
        assert comments
        furniture = set(r["furniture"])
        for c in comments:
            assert " ".join(c.replace("&#x27;", "'").split()) in furniture


def test_heavy_keeps_the_body_and_the_light_web_unchanged(heavy_web: DemoWeb) -> None:
    light = DemoWeb(seed=5, stories=40)
    light_rows = {r["url"]: r for r in _articles(light)}
    for r in _articles(heavy_web):
        lr = light_rows[r["url"]]
        assert r["clean_text"] == lr["clean_text"]
        assert set(lr["furniture"]) <= set(r["furniture"])
        assert len(light.respond(r["url"]).body) < 20_000


def test_plain_trafilatura_on_the_heavy_web(heavy_web: DemoWeb) -> None:
    t = measure(heavy_web, extract=True)["trafilatura"]
    assert t["recall"] > 0.9  # the body is still the main content
    assert 0.85 <= t["f1"] <= 0.97  # the range plain trafilatura has on real pages


def test_sources_demo_web_heavy_flag() -> None:
    from crawler.sources import SourcesError, parse_sources

    assert parse_sources({"demo_web": {"heavy": True}}).demo_web.heavy is True
    assert parse_sources({"demo_web": {"seed": 2}}).demo_web.heavy is False
    with pytest.raises(SourcesError, match="heavy"):
        parse_sources({"demo_web": {"heavy": 1}})


def test_serve_command_passes_heavy(tmp_path) -> None:
    from demoweb.__main__ import build_parser
    from demoweb.spawn import serve_command

    kw = dict(seed=1, sites=2, stories=5, day=1, ready_file=tmp_path / "r")
    assert "--heavy" in serve_command(**kw, heavy=True)
    assert "--heavy" not in serve_command(**kw)
    assert build_parser().parse_args(["serve", "--heavy"]).heavy is True
