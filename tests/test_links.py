"""crawler/links.PageLinks gives the URLs Scrapy's LinkExtractor gives, page after page."""

from __future__ import annotations

import pytest
from scrapy.http import HtmlResponse
from scrapy.linkextractors import LinkExtractor

from crawler.links import PageLinks
from demoweb import DemoWeb

EDGE_CASES = """<html><head>{base}</head><body>
<a href="/a">a</a> <a href=" /a ">a again, with spaces</a> <a href="/a#top">fragment</a>
<a href="http://other.test/x?b=2&a=1">query</a> <a href="http://other.test/x?a=1&b=2">same</a>
<a href="../up/page.html">relative</a> <a href="rel.html">relative</a>
<a href="//cdn.test/lib">scheme-relative</a> <a href="mailto:x@y.test">mail</a>
<a href="javascript:void(0)">js</a> <a href="/report.PDF">pdf</a> <a href="/photo.jpg">img</a>
<a href="/caf\u00e9 menu">non-ascii</a> <a href="http://[bad">bogus</a> <a>no href</a>
<a href="">empty</a> <area href="/map-area"> <A HREF="/upper">upper</A>
<a href="https://news.test/secure">https</a> <a href="ftp://files.test/f">ftp</a>
</body></html>"""


def reference(response: HtmlResponse) -> list[str]:
    return [
        link.url for link in LinkExtractor(canonicalize=False, unique=True).extract_links(response)
    ]


@pytest.mark.parametrize("base", ["", '<base href="http://mirror.test/dir/">'])
def test_edge_cases_as_link_extractor(base: str) -> None:
    body = EDGE_CASES.format(base=base).encode("utf-8")
    links = PageLinks()
    for url in ("http://news.test/section/page.html", "https://news.test/other/page.html"):
        for _ in range(2):  # the second time from what it remembered
            response = HtmlResponse(url=url, body=body, encoding="utf-8")
            assert links.urls(response) == reference(response)


def test_demo_web_pages_light_and_heavy_as_link_extractor() -> None:
    links = PageLinks()
    for heavy in (False, True):
        web = DemoWeb(seed=2, stories=30, heavy=heavy)
        urls = web.home_urls() + [d["url"] for i in range(0, 30, 3) for d in web.article_pages(i)]
        for url in urls:
            r = web.respond(url)
            response = HtmlResponse(url=url, body=r.body, encoding="utf-8")
            assert links.urls(response) == reference(response), url
