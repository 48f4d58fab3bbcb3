"""What a feed or a sitemap lists: plain functions over their bodies (no Scrapy, no I/O).

The spider calls them on what it fetches, and `make reprocess` calls them on the stored bodies
of the same run, so both know the same *announced* URLs: the links of a feed's items and the
entries of a news sitemap. A page on that list is an article by declaration, even when its
own shape would not say so (`announce`).
"""

from __future__ import annotations

import dataclasses
from urllib.parse import urljoin

from lxml import etree
from parsel import Selector

from pipelines.core.decode import decode_html
from pipelines.core.records import Extraction

# Root elements of a feed once namespaces are removed: RSS 2.0, Atom, RSS 1.0 (RDF).
FEED_ROOTS = ("rss", "feed", "RDF")
SITEMAP_ROOTS = ("urlset", "sitemapindex")


class UnparsableSitemap(ValueError):
    """A sitemap body that is no XML document."""


def feed_text(body: bytes, content_type: str | None) -> str:
    """The text of a feed's body, decoded as every page is (pipelines/core/decode.py)."""
    return decode_html(body, content_type)


def feed_links(text: str, base_url: str) -> tuple[list[str], str | None]:
    """(the item links of an RSS or Atom document, absolute; its root element's name).

    A body that is no feed (an HTML error page, garbage, nothing) gives whatever root it has,
    or None: the caller counts it as unparsable when the root is not in `FEED_ROOTS`.
    """
    sel = Selector(text=text or " ", type="xml")
    sel.remove_namespaces()
    root = sel.xpath("name(/*)").get() or None
    urls = sel.xpath("//item/link/text()").getall()
    urls += sel.xpath("//entry/link[not(@rel) or @rel='alternate']/@href").getall()
    return [urljoin(base_url, u.strip()) for u in urls], root


def _local(tag: object) -> str:
    name = tag if isinstance(tag, str) else ""
    return name.split("}", 1)[1] if "}" in name else name


def sitemap_entries(body: bytes, base_url: str) -> tuple[str, list[tuple[str, bool]]]:
    """(the sitemap's type, its entries as (absolute loc, is a news entry)).

    The type is the root element's name: `urlset` or `sitemapindex`. Parsed as Scrapy's
    `scrapy.utils.sitemap.Sitemap` does (lxml, recovering, no entities, no comments), so a
    truncated sitemap gives the entries before the cut; raises UnparsableSitemap when there is
    no document, or one that is no sitemap (an HTML page).
    """
    parser = etree.XMLParser(recover=True, remove_comments=True, resolve_entities=False)
    try:
        root = etree.fromstring(body, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise UnparsableSitemap(str(exc)) from exc
    if root is None:
        raise UnparsableSitemap("no XML document")
    if _local(root.tag) not in SITEMAP_ROOTS:  # a soft 404, an HTML page where it should be
        raise UnparsableSitemap(f"no sitemap (root element {_local(root.tag)!r})")
    entries = []
    for elem in root:
        loc, news = None, False
        for child in elem:
            name = _local(child.tag)
            if name == "loc":
                loc = (child.text or "").strip()
            elif name == "news":
                news = True
        if loc:
            entries.append((urljoin(base_url, loc), news))
    return _local(root.tag), entries


def announced_by(kind: str, body: bytes, content_type: str | None, base_url: str) -> list[str]:
    """The article URLs a stored feed (`kind` "feed") or sitemap ("sitemap") announces."""
    if kind == "feed":
        return feed_links(feed_text(body, content_type), base_url)[0]
    if kind == "sitemap":
        try:
            sitemap_type, entries = sitemap_entries(body, base_url)
        except UnparsableSitemap:
            return []
        return [] if sitemap_type == "sitemapindex" else [u for u, news in entries if news]
    return []


def announceable(x: Extraction) -> bool:
    """Whether a feed's or news sitemap's listing could still make this page an article: a page
    rejected on its shape alone (`article_reason` "shape") that has text of its own. The
    announcement wins over the shape, not over a page that declares itself a listing."""
    return not x.is_article and x.article_reason == "shape" and bool(x.text)


def announce(x: Extraction, key: str, announced: set[str]) -> Extraction | None:
    """The extraction of an `announceable` page (whose canonical URL is `key`) made an article,
    when a feed or news sitemap listed it (`announced`: canonical URLs); None when none did."""
    if not announceable(x) or key not in announced:
        return None
    return dataclasses.replace(x, is_article=True, article_reason="announced")
