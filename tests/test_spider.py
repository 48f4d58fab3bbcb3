"""The `news` spider on its own: what it requests, what it refuses and what it records.

Real Scrapy objects (a crawler from scrapy.utils.test, real Request/Response classes), no
network: the responses are built here, as Scrapy's own tests build them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from scrapy import Request
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, XmlResponse
from scrapy.utils.test import get_crawler
from twisted.python.failure import Failure

from crawler.items import PageItem
from crawler.spiders.news import NewsSpider

RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel>
<item><link>http://news.test/2026/a?utm_source=rss</link></item>
<item><link>http://other.test/b</link></item></channel></rss>"""
SITEMAP_INDEX = b"""<?xml version="1.0"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>http://news.test/sitemap-news.xml</loc></sitemap></sitemapindex>"""
NEWS_SITEMAP = b"""<?xml version="1.0"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>http://news.test/2026/c</loc><news:news><news:title>C</news:title></news:news></url>
<url><loc>http://news.test/about</loc></url></urlset>"""


@pytest.fixture
def spider(tmp_path: Path) -> NewsSpider:
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        "sources:\n  - name: news\n    start_urls: ['http://news.test/']\n    max_depth: 2\n"
    )
    crawler = get_crawler(NewsSpider, {"SOURCES_FILE": str(sources), "DATA_DIR": str(tmp_path)})
    spider = NewsSpider.from_crawler(crawler, sources=str(sources))
    crawler.spider = spider
    crawler.stats.open_spider()
    return spider


def response(cls: Any, url: str, body: bytes, **meta: Any) -> Any:
    meta = {"source": "news", "depth": 0, "hint": None, "referer": None, **meta}
    return cls(url=url, body=body, request=Request(url, meta=meta), status=200)


def split(results: list[Any]) -> tuple[list[PageItem], list[Request]]:
    return [r for r in results if isinstance(r, PageItem)], [
        r for r in results if isinstance(r, Request)
    ]


def test_feed_items_are_requested_as_articles_and_announced(spider: NewsSpider) -> None:
    items, requests = split(
        list(spider.parse_feed(response(XmlResponse, "http://news.test/rss", RSS)))
    )
    assert len(items) == 1 and items[0].status == 200
    assert [r.url for r in requests] == ["http://news.test/2026/a"]  # tracking dropped, offsite out
    assert requests[0].meta["hint"] == "article" and requests[0].meta["depth"] == 1
    assert "http://news.test/2026/a" in spider.announced_articles


def test_sitemap_index_leads_to_sitemaps_and_news_entries_are_articles(spider: NewsSpider) -> None:
    _, index = split(
        list(spider.parse_sitemap(response(XmlResponse, "http://news.test/sm.xml", SITEMAP_INDEX)))
    )
    assert [(r.url, r.meta["hint"]) for r in index] == [
        ("http://news.test/sitemap-news.xml", "sitemap")
    ]
    url = "http://news.test/sitemap-news.xml"
    _, pages = split(list(spider.parse_sitemap(response(XmlResponse, url, NEWS_SITEMAP, depth=1))))
    assert [(r.url, r.meta["hint"]) for r in pages] == [
        ("http://news.test/2026/c", "article"),
        ("http://news.test/about", None),
    ]


def test_an_unparsable_sitemap_is_counted(spider: NewsSpider) -> None:
    items, requests = split(
        list(spider.parse_sitemap(response(XmlResponse, "http://news.test/x.xml", b"<<<")))
    )
    assert len(items) == 1 and not requests
    assert spider.crawler.stats.get_value("failures/sitemap_unparseable") == 1


def test_an_unparsable_feed_is_counted_and_a_good_one_is_not(spider: NewsSpider) -> None:
    list(spider.parse_feed(response(XmlResponse, "http://news.test/rss", RSS)))
    assert spider.crawler.stats.get_value("failures/feed_unparseable") is None
    html = b"<html><body><h1>Feed moved</h1></body></html>"
    items, requests = split(
        list(spider.parse_feed(response(XmlResponse, "http://news.test/feed", html)))
    )
    assert len(items) == 1 and not requests  # the answer is kept as a page
    assert spider.crawler.stats.get_value("failures/feed_unparseable") == 1


def test_links_are_requested_once_and_limits_are_recorded(spider: NewsSpider) -> None:
    src = spider.sources[0]
    first = spider._request(src, "http://news.test/q?b=2&a=1&utm_medium=x", spider.parse_page, 1)
    assert first is not None and first.url == "http://news.test/q?b=2&a=1"  # order kept
    assert spider._request(src, "http://news.test/q?a=1&b=2", spider.parse_page, 1) is None
    assert spider._request(src, "http://news.test/deep", spider.parse_page, 3) is None
    assert spider._request(src, "http://news.test/a/b/a/b/a/", spider.parse_page, 1) is None
    assert spider.cut_short() == {
        "news": "max_depth 2: 1 link(s) not followed; trap (a path that only grows): 1 link(s) "
        "not followed"
    }
    # reached later by a shorter path: no longer cut short
    assert spider._request(src, "http://news.test/deep", spider.parse_page, 1) is not None
    assert "max_depth" not in spider.cut_short().get("news", "")


def test_page_links_stay_within_the_source(spider: NewsSpider) -> None:
    html = b'<html><body><a href="/x">x</a><a href="http://elsewhere.test/y">y</a></body></html>'
    _, requests = split(list(spider.parse_page(response(HtmlResponse, "http://news.test/", html))))
    assert [r.url for r in requests] == ["http://news.test/x"]


def failure_of(exc: Exception, url: str = "http://news.test/p") -> Failure:
    try:
        raise exc
    except Exception:
        failure = Failure()
    failure.request = Request(url, meta={"source": "news", "depth": 1})  # type: ignore[attr-defined]
    return failure


def test_errors_become_pages_rows_but_robots_refusals_do_not(spider: NewsSpider) -> None:
    assert list(spider.on_error(failure_of(IgnoreRequest("Forbidden by robots.txt")))) == []
    assert spider.crawler.stats.get_value("requests/skipped") == 1
    (item,) = spider.on_error(failure_of(IgnoreRequest("redirect loop: a -> b -> a")))
    assert item.status == 0 and item.error == "IgnoreRequest: redirect loop: a -> b -> a"
    (item,) = spider.on_error(failure_of(ConnectionRefusedError("refused")))
    assert "ConnectionRefusedError" in item.error
    assert spider.first_error.startswith("http://news.test/p: IgnoreRequest: redirect loop")
    assert spider.crawler.stats.get_value("failures/fetch_error") == 1
