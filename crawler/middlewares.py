"""Downloader middlewares."""

from __future__ import annotations

from typing import Any

from scrapy import Request


class ConfiguredProxyMiddleware:
    """Send every request (robots.txt and sitemaps included) through the configured proxy.

    Scrapy's HttpProxyMiddleware already honours the `http_proxy` environment variable; this
    adds the `PROXY` setting and the sources file's `proxy` key (the spider's `proxy`). The demo
    web relies on it: every `.test` host is reached through one loopback proxy address, and a
    robots.txt request that bypassed the proxy would fail and be read as "everything allowed".
    """

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.setting = crawler.settings.get("PROXY")

    @classmethod
    def from_crawler(cls, crawler: Any) -> ConfiguredProxyMiddleware:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        if "proxy" in request.meta:
            return
        proxy = self.setting or getattr(self.crawler.spider, "proxy", None)
        if proxy:
            request.meta["proxy"] = proxy


class ConditionalGetMiddleware:
    """Ask for a page seen before only if it changed: If-None-Match / If-Modified-Since.

    The validators come from the state the last committed run left (pipelines/state.py), keyed
    by the canonical URL of the request as it is sent, so a redirect never carries the
    validators of the URL it came from. Only the spider's own requests are made conditional:
    Scrapy's robots.txt middleware would read a 304 (no body) as "everything allowed".
    Off with CONDITIONAL_GET = False.
    """

    HEADERS = (b"If-None-Match", b"If-Modified-Since")

    def __init__(self, crawler: Any) -> None:
        from pipelines.run import RunContext

        self.crawler = crawler
        self.run = RunContext.of(crawler)

    @classmethod
    def from_crawler(cls, crawler: Any) -> ConditionalGetMiddleware:
        from scrapy.exceptions import NotConfigured

        if not crawler.settings.getbool("CONDITIONAL_GET", True):
            raise NotConfigured("CONDITIONAL_GET is off")
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        from pipelines.urls import canonicalise_url

        if "source" not in request.meta:
            return
        if request.meta.pop("_conditional", False):  # set for the URL before a redirect
            for name in self.HEADERS:
                request.headers.pop(name, None)
        page = self.run.state.seen.get(canonicalise_url(request.url))
        if page is None:
            return
        if page.etag:
            request.headers[b"If-None-Match"] = page.etag
        if page.last_modified:
            request.headers[b"If-Modified-Since"] = page.last_modified
        if page.etag or page.last_modified:
            request.meta["_conditional"] = True
            self.crawler.stats.inc_value("requests/conditional")
