"""The demo web's content and ground truth, checked through DemoWeb.respond (no HTTP here)."""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import statistics
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from urllib.parse import urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import lxml.html
import pyarrow.parquet as pq
import pytest

from demoweb import DemoWeb
from demoweb.hardness import jaccard
from demoweb.truth import TRUTH_SCHEMA, write_truth
from demoweb.world import day_of

ROOT = Path(__file__).resolve().parent.parent
HTML_KINDS = {"article", "home", "section", "tag", "search"}


@pytest.fixture(scope="module")
def web() -> DemoWeb:
    return DemoWeb()


@pytest.fixture(scope="module")
def rows(web: DemoWeb) -> list[dict]:
    return list(web.truth_rows())


@pytest.fixture(scope="module")
def articles(rows: list[dict]) -> list[dict]:
    return [r for r in rows if r["page_kind"] == "article"]


@pytest.fixture(scope="module")
def by_url(rows: list[dict]) -> dict[str, dict]:
    return {r["url"]: r for r in rows}


def norm(s: str) -> str:
    return " ".join(s.split())


def page_text(body: bytes) -> str:
    return norm(lxml.html.fromstring(body).text_content())


def hrefs(url: str, body: bytes) -> set[str]:
    doc = lxml.html.fromstring(body)
    return {urljoin(url, a.get("href")) for a in doc.iter("a") if a.get("href")}


# ------------------------------------------------------------------ determinism

_RENDER_SCRIPT = """
import hashlib, json, sys
from demoweb import DemoWeb
web = DemoWeb()
urls = json.loads(sys.stdin.read())
print(json.dumps([hashlib.sha256(web.respond(u).body).hexdigest() for u in urls]))
"""


def _render_in_subprocess(urls: list[str], hashseed: str) -> list[str]:
    env = dict(os.environ, PYTHONHASHSEED=hashseed, PYTHONPATH=str(ROOT))
    out = subprocess.run(
        [sys.executable, "-c", _RENDER_SCRIPT],
        input=json.dumps(urls),
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=True,
    )
    return json.loads(out.stdout)


def test_same_bytes_in_separate_processes(web: DemoWeb, rows: list[dict]) -> None:
    # A spread of every page kind; str hashing differs between the two processes.
    sample = [r["url"] for r in rows[:: max(1, len(rows) // 150)]]
    sample += web.feed_urls() + web.sitemap_urls()
    first = _render_in_subprocess(sample, "1")
    second = _render_in_subprocess(sample, "2")
    here = [hashlib.sha256(web.respond(u).body).hexdigest() for u in sample]
    assert first == second == here


def test_hosts_and_entry_points_are_deterministic_and_distinct() -> None:
    a, b = DemoWeb(seed=1), DemoWeb(seed=1)
    assert a.hosts == b.hosts == sorted(a.hosts)
    assert len(set(a.hosts)) == 12 and all(h.endswith(".test") for h in a.hosts)
    assert DemoWeb(seed=2).hosts != a.hosts
    assert a.home_urls() == [f"http://{h}/" for h in a.hosts]
    assert len(DemoWeb(sites=40, stories=50).hosts) == 40


# ------------------------------------------------------------------ every URL serves


def test_every_truth_url_answers_200_with_its_content_type(web: DemoWeb, rows: list[dict]) -> None:
    assert len({r["url"] for r in rows}) == len(rows), "duplicate truth URLs"
    for r in rows:
        resp = web.respond(r["url"])
        assert resp.status == 200, r["url"]
        ctype = resp.headers["Content-Type"]
        assert "charset=utf-8" in ctype
        kind = r["page_kind"]
        if kind in HTML_KINDS:
            assert ctype.startswith("text/html")
        elif kind == "feed":
            assert ctype.split(";")[0] in ("application/rss+xml", "application/atom+xml")
        elif kind in ("sitemap", "sitemap_index"):
            assert ctype.startswith("application/xml")
        else:
            assert ctype.startswith("text/plain")
        assert resp.headers["ETag"].startswith('"') and resp.headers["ETag"].endswith('"')
        parsedate_to_datetime(resp.headers["Last-Modified"])


def test_page_kind_counts_and_copy_kinds_present(rows: list[dict], articles: list[dict]) -> None:
    kinds = {r["page_kind"] for r in rows}
    assert kinds == {
        "article", "home", "section", "tag", "feed", "sitemap_index", "sitemap", "robots",
        "search",
    }  # fmt: skip
    copy_kinds = {r["copy_kind"] for r in articles}
    assert copy_kinds == {
        "original", "verbatim", "excerpt", "edited", "ads_inserted", "rewrite", "brief"
    }  # fmt: skip
    stories = {r["story_id"] for r in articles}
    assert len(stories) == 300
    # Heavy tail: most stories have 0-3 copies, a few have many.
    per_story = defaultdict(int)
    for r in articles:
        if r["copy_kind"] in ("verbatim", "excerpt", "edited", "ads_inserted"):
            per_story[r["story_id"]] += 1
    counts = [per_story[s] for s in stories]
    assert sum(c <= 3 for c in counts) / len(counts) > 0.7
    assert max(counts) >= 8


def test_unknown_hosts_and_paths_are_404(web: DemoWeb) -> None:
    host = web.hosts[0]
    for url in (
        "http://nosuchsite.test/",
        f"http://{host}/no/such/page",
        f"http://{host}/?page=99999",
        f"http://{host}/section/nosuchsection/",
        f"http://{host}/old/999999999",
    ):
        resp = web.respond(url)
        assert resp.status == 404, url
        assert resp.headers["Content-Type"].startswith("text/html")


# ------------------------------------------------------------------ feeds, sitemaps, robots

ATOM = "{http://www.w3.org/2005/Atom}"
SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
NEWS = "{http://www.google.com/schemas/sitemap-news/0.9}"


def test_feeds_parse_and_list_only_live_canonical_urls(web: DemoWeb, by_url: dict) -> None:
    feeds = web.feed_urls()
    assert any(
        u for u in feeds if web.respond(u).headers["Content-Type"].startswith("application/rss")
    )
    assert any(
        u for u in feeds if web.respond(u).headers["Content-Type"].startswith("application/atom")
    )
    hosts_with_feeds = {urlsplit(u).hostname for u in feeds}
    assert hosts_with_feeds == set(web.hosts)
    for feed in feeds:
        root = ET.fromstring(web.respond(feed).body)
        if root.tag == "rss":
            links = [e.findtext("link") for e in root.iter("item")]
        else:
            assert root.tag == f"{ATOM}feed"
            links = [e.find(f"{ATOM}link").get("href") for e in root.iter(f"{ATOM}entry")]
        assert 1 <= len(links) <= 20
        for link in links:
            assert urlsplit(link).hostname == urlsplit(feed).hostname
            assert by_url[link]["page_kind"] == "article"
            assert web.respond(link).status == 200


def test_sitemaps_parse_and_list_only_live_urls(web: DemoWeb, by_url: dict, articles: list) -> None:
    listed: set[str] = set()
    for index_url in web.sitemap_urls():
        root = ET.fromstring(web.respond(index_url).body)
        assert root.tag == f"{SM}sitemapindex"
        children = [e.findtext(f"{SM}loc") for e in root.iter(f"{SM}sitemap")]
        assert any(c.endswith("sitemap-news.xml") for c in children)
        for child in children:
            resp = web.respond(child)
            assert resp.status == 200, child
            sm = ET.fromstring(resp.body)
            assert sm.tag == f"{SM}urlset"
            for url_el in sm.iter(f"{SM}url"):
                loc = url_el.findtext(f"{SM}loc")
                assert loc in by_url, loc
                listed.add(loc)
                if child.endswith("sitemap-news.xml"):
                    assert url_el.find(f"{NEWS}news/{NEWS}publication/{NEWS}name") is not None
    # The plain sitemaps cover every article.
    assert {r["url"] for r in articles} <= listed


def test_robots_txt_matches_truth_and_disallowed_pages_exist(web: DemoWeb, rows: list) -> None:
    for host in web.hosts:
        resp = web.respond(f"http://{host}/robots.txt")
        lines = resp.body.decode().splitlines()
        assert f"Sitemap: http://{host}/sitemap_index.xml" in lines
        parser = RobotFileParser()
        parser.parse(lines)
        site_rows = [r for r in rows if r["site"] == host]
        blocked = [r for r in site_rows if r["disallowed"]]
        # /search plus one more real path family, both with live pages behind them.
        assert {urlsplit(r["url"]).path.split("/")[1] for r in blocked} >= {"search"}
        assert len({urlsplit(r["url"]).path.split("/")[1] for r in blocked}) == 2
        for r in site_rows:
            assert parser.can_fetch("SyndicationTracker", r["url"]) == (not r["disallowed"])


def test_every_article_is_linked_from_allowed_listing_pages(
    web: DemoWeb, rows: list, articles: list
) -> None:
    linked: set[str] = set()
    for r in rows:
        if r["page_kind"] in ("home", "section", "tag") and not r["disallowed"]:
            linked |= hrefs(r["url"], web.respond(r["url"]).body)
    assert {r["url"] for r in articles} <= linked


def test_listing_pages_are_mostly_links(web: DemoWeb, rows: list) -> None:
    for r in rows:
        if r["page_kind"] == "home":
            doc = lxml.html.fromstring(web.respond(r["url"]).body)
            link_words = sum(len((a.text_content() or "").split()) for a in doc.iter("a"))
            assert link_words > 0.3 * len(doc.text_content().split())


# ------------------------------------------------------------------ articles vs truth


def test_clean_text_appears_in_page_in_order(web: DemoWeb, articles: list) -> None:
    for r in articles:
        text = page_text(web.respond(r["url"]).body)
        pos = 0
        for para in r["clean_text"].split("\n"):
            at = text.find(norm(para), pos)
            assert at >= 0, (r["url"], para)
            pos = at + len(norm(para))
        assert norm(r["title"]) in text


def test_furniture_lines_are_on_the_page_and_not_in_the_body(web: DemoWeb, articles: list) -> None:
    injected = 0
    for r in articles:
        text = page_text(web.respond(r["url"]).body)
        clean = norm(r["clean_text"])
        for line in r["furniture"]:
            assert len(line.split()) >= 4
            assert norm(line) in text, (r["url"], line)
            assert norm(line) not in clean, (r["url"], line)
        if r["credit_line"]:
            assert r["credit_line"] in r["furniture"]
        injected += len(r["furniture"])
    assert injected / len(articles) > 8


def test_briefs_are_short(articles: list) -> None:
    briefs = [r for r in articles if r["copy_kind"] == "brief"]
    assert len(briefs) >= 10
    for r in briefs:
        assert 40 <= len(r["clean_text"].split()) <= 90
        assert r["hard_negative_group"] == f"briefs-{r['site']}"


def test_originals_are_4_to_12_paragraphs(articles: list) -> None:
    for r in articles:
        if r["copy_kind"] in ("original", "rewrite"):
            n = len(r["clean_text"].split("\n"))
            assert 4 <= n <= 13, r["url"]  # 13 = 12 + a later "Update:" paragraph


def _families(articles: list) -> dict[str, list[dict]]:
    fams: dict[str, list[dict]] = defaultdict(list)
    for r in articles:
        fams[r["family_id"]].append(r)
    return fams


def test_copy_families_match_pages(web: DemoWeb, articles: list, by_url: dict) -> None:
    fams = _families(articles)
    for fam in fams.values():
        originals = [r for r in fam if r["url"] == r["original_url"]]
        assert len(originals) == 1
        orig = originals[0]
        assert orig["copy_kind"] in ("original", "rewrite", "brief")
        assert len({r["story_id"] for r in fam}) == 1
        assert len({r["site"] for r in fam}) == len(fam), "two copies of one family on a site"
        base = orig["clean_text"].split("\nUpdate: ")[0]  # a later correction of the original
        for r in fam:
            if r is orig:
                continue
            assert r["published_at"] > orig["published_at"]
            body = web.respond(r["url"]).body
            if r["copy_kind"] in ("verbatim", "ads_inserted"):
                assert r["clean_text"] == base
            elif r["copy_kind"] == "excerpt":
                paras = r["clean_text"].split("\n")
                assert 1 <= len(paras) <= 3
                assert base.split("\n")[: len(paras)] == paras
                assert orig["url"] in hrefs(r["url"], body)
                assert any("full" in f or "rest of" in f for f in r["furniture"])
            elif r["copy_kind"] == "edited":
                assert r["title"] != orig["title"]
                assert r["clean_text"] != base
                assert jaccard(base, r["clean_text"]) > 0.5
            if r["copy_kind"] == "ads_inserted":
                ads = [f for f in r["furniture"] if f not in by_url[orig["url"]]["furniture"]]
                assert len(ads) >= 2


def test_credit_lines_canonical_links_and_based_on(web: DemoWeb, articles: list) -> None:
    site_name = {}
    for r in articles:
        doc = lxml.html.fromstring(web.respond(r["url"]).body)
        name = doc.findtext(".//title").rsplit(" | ", 1)[1]
        site_name[r["site"]] = name
    seen = defaultdict(int)
    for r in articles:
        doc = lxml.html.fromstring(web.respond(r["url"]).body)
        links = [e.get("href") for e in doc.iter("link") if e.get("rel") == "canonical"]
        assert links == ([r["canonical_url"]] if r["canonical_url"] else [])
        if r["canonical_url"] and r["canonical_url"] != r["url"]:
            assert r["canonical_url"] == r["original_url"]
            seen["canonical_to_original"] += 1
        if r["credit_line"]:
            orig_site = urlsplit(r["original_url"]).hostname
            assert site_name[orig_site] in r["credit_line"]
            seen["credit"] += 1
        for script in doc.iter("script"):
            if script.get("type") == "application/ld+json":
                ld = json.loads(script.text)
                assert ld["@type"] == "NewsArticle" and ld["headline"] == r["title"]
                if "isBasedOn" in ld:
                    assert ld["isBasedOn"] == r["original_url"] != r["url"]
                    seen["based_on"] += 1
    assert seen["canonical_to_original"] >= 20 and seen["credit"] >= 50
    assert seen["based_on"] >= 20


def test_rewrites_share_quotes_but_not_prose(web: DemoWeb, articles: list) -> None:
    by_story = defaultdict(list)
    for r in articles:
        by_story[r["story_id"]].append(r)
    values = []
    for pages in by_story.values():
        main = [r for r in pages if r["copy_kind"] == "original"]
        for rw in (r for r in pages if r["copy_kind"] == "rewrite"):
            assert rw["family_id"] != main[0]["family_id"]
            assert rw["original_url"] == rw["url"]
            for _, quote in web.facts(rw["story_id"]).quotes:
                assert quote in rw["clean_text"] and quote in main[0]["clean_text"]
            values.append(jaccard(main[0]["clean_text"], rw["clean_text"]))
    assert len(values) >= 20
    assert max(values) < 0.1


def test_hard_negatives_are_different_texts(articles: list) -> None:
    groups = defaultdict(dict)
    for r in articles:
        if r["hard_negative_group"]:
            groups[r["hard_negative_group"]].setdefault(r["family_id"], r)
    pairs = [
        jaccard(a["clean_text"], b["clean_text"])
        for fams in groups.values()
        for a, b in itertools.combinations(fams.values(), 2)
    ]
    assert len(pairs) >= 100
    assert max(pairs) < 0.3 and statistics.median(pairs) < 0.05
    assert any(g.startswith("theme-") for g in groups) and any(
        g.startswith("briefs-") for g in groups
    )


def test_briefs_look_alike_only_with_their_furniture(web: DemoWeb, articles: list) -> None:
    # Whole-page text of two briefs of one site overlaps far more than their clean texts do.
    by_site = defaultdict(list)
    for r in articles:
        if r["copy_kind"] == "brief":
            by_site[r["site"]].append(r)
    clean_j, page_j = [], []
    for briefs in by_site.values():
        for a, b in itertools.combinations(briefs[:8], 2):
            clean_j.append(jaccard(a["clean_text"], b["clean_text"]))
            page_j.append(
                jaccard(
                    page_text(web.respond(a["url"]).body), page_text(web.respond(b["url"]).body)
                )
            )
    assert statistics.median(page_j) > 0.25 > 0.05 > statistics.median(clean_j)


def test_story_text_and_article_pages_api(web: DemoWeb, articles: list) -> None:
    originals = {r["story_id"]: r for r in articles if r["variant"] == 0}
    for i in (0, 7, 123, 299):
        assert web.story_text(i) == originals[i]["clean_text"]
        assert [p["url"] for p in web.article_pages(i)] == [
            r["url"] for r in articles if r["story_id"] == i
        ]


# ------------------------------------------------------------------ HTTP semantics at the API


def test_conditional_requests(web: DemoWeb, articles: list) -> None:
    url = articles[5]["url"]
    ok = web.respond(url)
    etag, lm = ok.headers["ETag"], ok.headers["Last-Modified"]
    nm = web.respond(url, if_none_match=etag)
    assert nm.status == 304 and nm.body == b"" and nm.headers["ETag"] == etag
    assert web.respond(url, if_none_match=f'"x", W/{etag}').status == 304
    assert web.respond(url, if_modified_since=lm).status == 304
    later = format_datetime(parsedate_to_datetime(lm).replace(year=2030), usegmt=True)
    earlier = format_datetime(parsedate_to_datetime(lm).replace(year=2020), usegmt=True)
    assert web.respond(url, if_modified_since=later).status == 304
    assert web.respond(url, if_modified_since=earlier).status == 200
    # If-None-Match wins over If-Modified-Since (RFC 9110).
    assert web.respond(url, if_none_match='"other"', if_modified_since=later).status == 200
    assert web.respond(url, if_modified_since="not a date").status == 200


def test_redirects_to_canonical(web: DemoWeb, articles: list) -> None:
    kinds = set()
    for r in articles[:200]:
        url = r["url"]
        parts = urlsplit(url)
        pid = r["story_id"] * 64 + r["variant"]
        old = web.respond(f"http://{parts.hostname}/old/{pid}")
        assert old.status == 301 and old.headers["Location"] == url
        sep = "&" if parts.query else "?"
        utm = web.respond(f"{url}{sep}utm_source=newsletter&utm_medium=email")
        assert utm.status == 301 and utm.headers["Location"] == url
        if url.endswith("/"):
            slashless = web.respond(url.rstrip("/"))
            assert slashless.status == 301 and slashless.headers["Location"] == url
            kinds.add("slash")
    assert "slash" in kinds
    host = web.hosts[0]
    sec = web.respond(f"http://{host}/section/news")
    assert sec.status == 301 and sec.headers["Location"] == f"http://{host}/section/news/"


def test_pagination_links_are_live(web: DemoWeb, rows: list) -> None:
    for r in rows:
        if r["page_kind"] in ("home", "section") and not r["disallowed"]:
            doc = lxml.html.fromstring(web.respond(r["url"]).body)
            for a in doc.iter("a"):
                if a.get("rel") in ("next", "prev"):
                    assert web.respond(urljoin(r["url"], a.get("href"))).status == 200


# ------------------------------------------------------------------ variety


def test_sites_really_differ(web: DemoWeb, articles: list) -> None:
    sites = web.sites
    # Every site but the planted network's has a template family of its own; the network's
    # sites share the first one's (world.NETWORK_SITES).
    independent = [s for s in sites if s.network is None]
    network = [s for s in sites if s.network is not None]
    assert len({s.template for s in independent}) == len(independent) == 9
    assert len(network) == 3 and len({(s.template, s.chrome) for s in network}) == 1
    assert network[0].template not in {s.template for s in independent}
    assert {s.metadata for s in sites} == {"jsonld", "og", "both", "none"}
    assert len({s.url_scheme for s in sites}) == 6
    assert len({s.date_format for s in sites}) == 4
    assert {s.feeds for s in sites} == {("rss",), ("atom",), ("rss", "atom")}
    # Structure: the chain of tags from <body> to the first body paragraph differs per site.
    chains = {}
    for r in articles:
        if r["site"] in chains:
            continue
        doc = lxml.html.fromstring(web.respond(r["url"]).body)
        first = norm(r["clean_text"].split("\n")[0])[:40]
        el = next(e for e in doc.iter() if norm(e.text or "").startswith(first))
        chains[r["site"]] = tuple(  # numbers masked: "post-18180" names the article
            (a.tag, re.sub(r"\d+", "#", a.get("class") or ""))
            for a in reversed(list(el.iterancestors()))
        )
    assert len(set(chains.values())) == 10  # the network's three share one


# ------------------------------------------------------------------ time and scale


def test_later_days_add_pages_and_keep_old_ones() -> None:
    d1, d4 = DemoWeb(stories=120, day=1), DemoWeb(stories=120, day=4)
    rows1 = {r["url"]: r for r in d1.truth_rows() if r["page_kind"] == "article"}
    rows4 = {r["url"]: r for r in d4.truth_rows() if r["page_kind"] == "article"}
    assert set(rows1) < set(rows4)
    assert d4.n_stories == 120 + 3 * 12
    for url, r in rows4.items():
        assert day_of(r["published_at"]) <= 4
        if url not in rows1:
            assert day_of(r["published_at"]) > 1
            assert d1.respond(url).status == 404
    changed = [u for u in rows1 if rows1[u]["clean_text"] != rows4[u]["clean_text"]]
    assert changed, "no page edited between day 1 and day 4"
    for u in changed:
        assert d1.respond(u).headers["ETag"] != d4.respond(u).headers["ETag"]
        assert "\nUpdate: " in rows4[u]["clean_text"]


def test_a_million_stories_render_on_request_without_an_index() -> None:
    web = DemoWeb(stories=1_000_000)
    i = 999_999
    pages = [p for p in web.world.meta(i).placements]
    for p in pages:
        assert web.respond(web.article_url(i, p)).status == 200
    assert web._index is None  # nothing was built for all stories


# ------------------------------------------------------------------ truth file


def test_write_truth_parquet(tmp_path: Path) -> None:
    web = DemoWeb(stories=40)
    target = tmp_path / "truth" / "truth.parquet"
    n = write_truth(web, target)
    table = pq.read_table(target)
    assert table.schema.equals(TRUTH_SCHEMA)
    assert n == table.num_rows == sum(1 for _ in web.truth_rows())
    assert os.listdir(target.parent) == ["truth.parquet"]
    assert pq.ParquetFile(target).metadata.row_group(0).column(0).compression == "ZSTD"
