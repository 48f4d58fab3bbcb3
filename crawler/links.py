"""The links of a page, as Scrapy's LinkExtractor finds them, for a spider that sees one menu
on every page.

`PageLinks.urls(response)` returns the URLs that `LinkExtractor(canonicalize=False,
unique=True).extract_links(response)` returns, in the same order (tests/test_links.py compares
them on the demo web's pages, its heavy pages and edge cases). LinkExtractor works out each
link afresh: joins it to the base URL, makes it safe, joins it again, parses it for the scheme
and checks the path against 80 ignored file extensions. On a site whose pages share
a menu of 200 links, that was most of the spider's time per page, on the reactor thread. Here
what depends only on the link and the page's origin (scheme and host) is remembered.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin, urlsplit

from lxml import etree
from scrapy.link import Link
from scrapy.linkextractors import LinkExtractor
from scrapy.utils.response import get_base_url
from w3lib.html import strip_html5_whitespace
from w3lib.url import safe_url_string

_TAGS = ("a", "area")  # LinkExtractor's default tags and attribute
_ATTR = "href"
_MAX_REMEMBERED = 200_000  # per table; then it starts again (about 200 bytes an entry)
_NONE = ""  # what a link that makes no URL (bogus, unsafe) is remembered as


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


_XHTML = "{http://www.w3.org/1999/xhtml}"


def _local(tag: Any) -> Any:
    """The tag without the XHTML namespace (any other namespace stays), as LinkExtractor sees it."""
    if isinstance(tag, str) and tag.startswith(_XHTML):
        return tag[len(_XHTML) :]
    return tag


class PageLinks:
    """LinkExtractor(canonicalize=False, unique=True), remembering per-link work across pages."""

    def __init__(self) -> None:
        self.extractor = LinkExtractor(canonicalize=False, unique=True)
        self._joined: dict[tuple[Any, ...], str] = {}
        self._allowed: dict[str, bool] = {}

    def _remember(self, table: dict[Any, Any], key: Any, value: Any) -> None:
        if len(table) >= _MAX_REMEMBERED:
            table.clear()
        table[key] = value

    def _url(self, href: str, base_url: str, response_url: str, encoding: str, origins: Any) -> str:
        # What depends only on the page's origins: an absolute link, or one from the root.
        stable = origins is not None and (
            href.startswith(("http://", "https://"))
            or (href.startswith("/") and not href.startswith("//"))
        )
        key = (origins, encoding, href) if stable else None
        if key is not None and key in self._joined:
            return self._joined[key]
        # as LxmlParserLinkExtractor._extract_links does, step by step
        try:
            url = urljoin(base_url, href)
            url = urljoin(response_url, safe_url_string(url, encoding=encoding))
        except ValueError:
            url = _NONE
        if key is not None:
            self._remember(self._joined, key, url)
        return url

    def urls(self, response: Any) -> list[str]:
        base_url = get_base_url(response)
        response_url = response.url
        encoding = response.encoding
        origins = (_origin(base_url), _origin(response_url))
        found: list[str] = []
        seen: set[str] = set()
        for el in response.selector.root.iter(etree.Element):
            if _local(el.tag) not in _TAGS:
                continue
            value = el.attrib.get(_ATTR)
            if value is None:
                continue
            href = strip_html5_whitespace(value)
            url = self._url(href, base_url, response_url, encoding, origins)
            if not url or url in seen:  # unique on the exact URL, as LinkExtractor is
                continue
            seen.add(url)
            found.append(url)
        out = []
        for url in found:
            allowed = self._allowed.get(url)
            if allowed is None:
                allowed = self.extractor._link_allowed(Link(url))
                self._remember(self._allowed, url, allowed)
            if allowed:
                out.append(url)
        return out
