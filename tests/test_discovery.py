"""What feeds and sitemaps announce (pipelines/core/discovery.py): the spider's and reprocess's."""

from __future__ import annotations

import pytest

from pipelines.core.discovery import (
    UnparsableSitemap,
    announce,
    announced_by,
    feed_links,
    sitemap_entries,
)
from pipelines.core.records import Extraction

RSS = b"""<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>
<item><title>A</title><link> /2026/a </link></item>
<item><title>B</title><link>http://other.test/b</link></item></channel></rss>"""
ATOM = b"""<feed xmlns="http://www.w3.org/2005/Atom"><entry><link href="/x"/>
<link rel="enclosure" href="/x.mp3"/></entry></feed>"""
NEWS_SITEMAP = b"""<?xml version="1.0"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
<url><loc>http://news.test/2026/c</loc><news:news><news:title>C</news:title></news:news></url>
<url><loc>http://news.test/about</loc></url><url><loc> </loc></url></urlset>"""
INDEX = b"""<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>http://news.test/sitemap-news.xml</loc></sitemap></sitemapindex>"""


def test_feed_links_of_rss_and_atom_and_the_root_of_anything_else() -> None:
    assert feed_links(RSS.decode(), "http://news.test/rss") == (
        ["http://news.test/2026/a", "http://other.test/b"],
        "rss",
    )
    assert feed_links(ATOM.decode(), "http://news.test/atom") == (["http://news.test/x"], "feed")
    assert feed_links("<html><body>moved</body></html>", "http://news.test/rss") == ([], "html")


def test_sitemap_entries_say_which_are_news() -> None:
    kind, entries = sitemap_entries(NEWS_SITEMAP, "http://news.test/sitemap.xml")
    assert kind == "urlset"
    assert entries == [("http://news.test/2026/c", True), ("http://news.test/about", False)]
    assert sitemap_entries(INDEX, "http://news.test/")[0] == "sitemapindex"
    with pytest.raises(UnparsableSitemap):
        sitemap_entries(b"<<<", "http://news.test/x.xml")
    with pytest.raises(UnparsableSitemap, match="root element 'html'"):
        sitemap_entries(b"<html><body>Not found</body></html>", "http://news.test/x.xml")
    # a truncated sitemap gives what came before the cut
    cut = b'<?xml version="1.0"?><urlset><url><loc>http://news.test/a</loc></url><url><loc>ht'
    assert sitemap_entries(cut, "http://news.test/")[1][0] == ("http://news.test/a", False)


def test_announced_by_stored_feeds_and_sitemaps() -> None:
    assert announced_by("feed", RSS, "application/rss+xml", "http://news.test/rss") == [
        "http://news.test/2026/a",
        "http://other.test/b",
    ]
    base = "http://news.test/sitemap.xml"
    assert announced_by("sitemap", NEWS_SITEMAP, None, base) == ["http://news.test/2026/c"]
    assert announced_by("sitemap", INDEX, None, base) == []  # lists sitemaps, not articles
    assert announced_by("sitemap", b"<<<", None, base) == []
    assert announced_by("page", RSS, None, base) == []


def test_announce_overrides_the_shape_only() -> None:
    listed = {"http://news.test/brief"}
    x = Extraction(is_article=False, article_reason="shape", text="A brief.")
    promoted = announce(x, "http://news.test/brief", listed)
    assert promoted is not None and promoted.is_article and promoted.article_reason == "announced"
    assert promoted.text == x.text and not x.is_article  # a new record; the old one unchanged
    for reason, text in (("declared-listing", "Teasers."), ("shape", ""), ("no-text", "")):
        y = Extraction(is_article=False, article_reason=reason, text=text)
        assert announce(y, "http://news.test/brief", listed) is None
    z = Extraction(is_article=False, article_reason="shape", text="Another page.")
    assert announce(z, "http://news.test/other", listed) is None
