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
