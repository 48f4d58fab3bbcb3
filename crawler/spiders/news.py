"""The `news` spider: feeds, sitemaps (robots.txt `Sitemap:` lines included) and links.

Thin: it decides what to request and hands every response, whatever its status, to the item
pipelines as a PageItem. Whether a page is an article is decided after extraction
(pipelines/core/pagekind.py), from the page's own signals and the discovery hint set here.
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response, TextResponse
from scrapy.utils.sitemap import sitemap_urls_from_robots
from twisted.python.failure import Failure

from crawler.items import MAX_PAGES, TICKET, PageItem
from crawler.links import PageLinks
from crawler.middlewares import ROBOTS_UNAVAILABLE
from crawler.sources import (
    Source,
    SourcesConfig,
    SourcesError,
    cut_short_text,
    demo_sources,
    load_sources,
    with_demo_day,
)
from pipelines.core.discovery import (
    FEED_ROOTS,
    UnparsableSitemap,
    feed_links,
    feed_text,
    sitemap_entries,
)
from pipelines.core.urls import canonicalise_url, request_url

Link = tuple[str, str, str | None, int]  # (kind: page/feed/sitemap/robots, url, hint, depth)


class NewsSpider(scrapy.Spider):
    name = "news"

    def __init__(self, sources: str | None = None, proxy: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sources_path = sources
        self.proxy_arg = proxy
        self.config: SourcesConfig | None = None
        self.sources: tuple[Source, ...] = ()
        self.scheduled: Counter[str] = Counter()
        # What was already requested (canonical URLs), checked before a Request is built: a
        # listing page links to dozens of pages already asked for, and letting Scrapy's
        # dupefilter drop those would first run each through every spider middleware.
        self._requested: set[str] = set()  # canonical URLs
        # links a limit refused, per source and limit (max_depth, max_pages, trap)
        self.refused: defaultdict[str, defaultdict[str, set[str]]] = defaultdict(
            lambda: defaultdict(set)
        )
        self.links = PageLinks()  # LinkExtractor's links, remembering the per-link work
        # URLs that a feed item or a news-sitemap entry announced: articles by declaration, even
        # when the page itself was first reached through a link (see pipelines/group.py).
        self.announced_articles: set[str] = set()
        self.first_error: str | None = None  # the first failed request, for the runs row
        self.shared = False  # True on a shared frontier (configure)

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> NewsSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.configure(crawler.settings)
        return spider

    def configure(self, settings: Any) -> None:
        path = self.sources_path or settings.get("SOURCES_FILE")
        self.config = load_sources(path)  # SourcesError stops the crawl before any request
        if settings.get("DEMO_DAY"):
            self.config = with_demo_day(self.config, settings.getint("DEMO_DAY"))
        sources = list(self.config.sources)
        if self.config.demo_web is not None:
            from demoweb import DemoWeb

            d = self.config.demo_web
            sources.extend(
                demo_sources(
                    DemoWeb(seed=d.seed, sites=d.sites, stories=d.stories, day=d.day, heavy=d.heavy)
                )
            )
            if not (settings.get("PROXY") or self.proxy_arg or self.config.proxy or _env_proxy()):
                raise SourcesError(
                    f"{path}: 'demo_web' needs the demo web's proxy address: run `make crawl` "
                    "(which starts it), or start `make demo-web` and pass "
                    "-a proxy=http://127.0.0.1:8800"
                )
        self.sources = tuple(sources)
        self.proxy = self.proxy_arg or settings.get("PROXY") or self.config.proxy
        # Workers on a frontier in Redis (crawler/scheduler.py): max_pages is counted there.
        self.shared = bool(settings.get("REDIS_URL"))

    # -- requests ---------------------------------------------------------------------------

    async def start(self) -> AsyncIterator[Any]:
        for src in self.sources:
            for url in src.start_urls:
                if req := self._request(src, url, self.parse_page, depth=0):
                    yield req
            for url in src.feeds:
                if req := self._request(src, url, self.parse_feed, depth=0, hint="feed"):
                    yield req
            for url in src.sitemaps:
                if req := self._request(src, url, self.parse_sitemap, depth=0, hint="sitemap"):
                    yield req
            if src.robots_sitemaps:
                for host in sorted({urlsplit(u).netloc for u in src.start_urls}):
                    url = f"{urlsplit(src.start_urls[0]).scheme}://{host}/robots.txt"
                    if req := self._request(src, url, self.parse_robots, depth=0, hint="robots"):
                        req.meta["dont_obey_robotstxt"] = True
                        yield req

    def _request(
        self,
        src: Source,
        url: str,
        callback: Any,
        depth: int,
        hint: str | None = None,
        referer: str | None = None,
    ) -> scrapy.Request | None:
        url = request_url(url)  # as linked, minus fragment and tracking parameters
        try:
            key = canonicalise_url(url)  # the same page under another spelling: one request
        except ValueError:
            return None
        if key in self._requested:
            return None
        limit = src.limit_for(url, depth)
        if limit is None and not self.shared and self.scheduled[src.name] >= src.max_pages:
            limit = "max_pages"  # a shared frontier counts over all workers (refused_by_frontier)
        if limit is not None:
            # Not marked as requested: a depth-limited page may still come by a shorter path.
            self.refused[src.name][limit].add(key)
            self.crawler.stats.inc_value(f"requests/refused/{limit}")
            return None
        meta = {"source": src.name, "depth": depth, "hint": hint, "referer": referer}
        if self.shared:
            meta[MAX_PAGES] = src.max_pages
        if self.proxy:
            meta["proxy"] = self.proxy
        request = scrapy.Request(
            url, callback=callback, errback=self.on_error, meta=meta, dont_filter=False
        )
        self._requested.add(key)
        self.scheduled[src.name] += 1
        return request

    def refused_by_frontier(self, request: scrapy.Request, limit: str) -> None:
        """The shared frontier refused a request this spider built (its source has max_pages
        requests over all workers): count it as refused, like a limit of this process."""
        name = request.meta.get("source")
        try:
            key = canonicalise_url(request_url(request.url))
        except ValueError:
            return
        if name is None or key not in self._requested:
            return
        self._requested.discard(key)
        self.scheduled[name] -= 1
        self.refused[name][limit].add(key)
        self.crawler.stats.inc_value(f"requests/refused/{limit}")

    def unfollowed(self) -> dict[str, dict[str, tuple[str, list[str]]]]:
        """The links a limit refused and nothing requested after all: source -> limit ->
        (the limit's value, the canonical URLs). A crawl worker hands them to the grouping
        service, which unites those of all workers (pipelines/service.py)."""
        out: dict[str, dict[str, tuple[str, list[str]]]] = {}
        for name, limits in sorted(self.refused.items()):
            src = self._source_named(name)
            for limit, keys in sorted(limits.items()):
                lost = sorted(keys - self._requested)
                if lost:
                    out.setdefault(name, {})[limit] = (src.limit_value(limit), lost)
        return out

    def cut_short(self) -> dict[str, str]:
        """Sources a limit cut short: name -> which limits, with the links not followed."""
        return cut_short_text(self.unfollowed())

    # -- callbacks --------------------------------------------------------------------------
    # Each callback lists the links a page leads to as (kind, url, hint, depth) and hands them
    # to `_emit`, which yields the page and the requests. A 304 answer has no body: its links
    # are those the state kept from the page's last 200 answer.

    def parse_page(self, response: Response) -> Iterator[Any]:
        links: list[Link] = []
        if response.status == 200 and isinstance(response, TextResponse):
            src = self._source(response)
            depth = response.meta["depth"] + 1
            for url in self.links.urls(response):
                if src.allows_url(url):
                    links.append(("page", url, None, depth))
        yield from self._emit(response, links)

    def parse_feed(self, response: Response) -> Iterator[Any]:
        links: list[Link] = []
        if response.status == 200:
            src = self._source(response)
            urls, root = feed_links(
                feed_text(response.body, _header(response.headers, b"Content-Type")), response.url
            )
            if root not in FEED_ROOTS:  # HTML, garbage or an empty body: recorded, not fatal
                self.crawler.stats.inc_value("failures/feed_unparseable")
                self.logger.warning(
                    "Unparseable feed %s: no RSS or Atom document (root element %r)",
                    response.url,
                    root,
                )
            for url in urls:
                if src.allows_url(url):
                    links.append(("page", url, "article", 1))
        yield from self._emit(response, links)

    def parse_sitemap(self, response: Response) -> Iterator[Any]:
        links: list[Link] = []
        if response.status == 200:
            src = self._source(response)
            try:
                sitemap_type, entries = sitemap_entries(response.body, response.url)
            except UnparsableSitemap as exc:  # a broken sitemap is recorded, not fatal
                self.crawler.stats.inc_value("failures/sitemap_unparseable")
                self.logger.warning("Unparseable sitemap %s: %s", response.url, exc)
                sitemap_type, entries = "", []
            depth = response.meta["depth"] + 1
            for url, news in entries:
                if sitemap_type == "sitemapindex":
                    links.append(("sitemap", url, "sitemap", depth))
                elif src.allows_url(url):
                    links.append(("page", url, "article" if news else None, depth))
        yield from self._emit(response, links)

    def parse_robots(self, response: Response) -> Iterator[Any]:
        links: list[Link] = []
        if response.status == 200:
            for url in sitemap_urls_from_robots(response.body, base_url=response.url):
                links.append(("sitemap", url, "sitemap", 1))
        yield from self._emit(response, links)

    def _emit(self, response: Response, links: list[Link]) -> Iterator[Any]:
        """The page's follow-up requests, then its item: with a shared frontier the item's
        passage through the pipelines acknowledges the page, so its links must be queued by
        then (crawler/scheduler.py)."""
        item = self._item(response)
        if response.status == 304:
            yield from self._follow_stored(response, item)
            yield item
            return
        item.links = [(kind, strip_tracking(url), hint, depth) for kind, url, hint, depth in links]
        item.announced = tuple(
            canonicalise_url(url) for kind, url, hint, _ in links if hint == "article"
        )
        self.announced_articles.update(item.announced)
        src = self._source(response)
        for kind, url, hint, depth in links:
            if req := self._request(src, url, self._callback(kind), depth, hint, response.url):
                yield req
        yield item

    def _follow_stored(self, response: Response, item: PageItem) -> Iterator[Any]:
        """Links of a page that did not change, as its last 200 answer had them.

        A known article behind an unchanged page is not asked for again (it was checked less
        than REVISIT_AFTER_DAYS ago); every other link is, conditionally, so that a changed
        listing page or sitemap further down is still found.
        """
        from pipelines.stages.context import RunContext

        state = RunContext.of(self.crawler).state
        page = state.seen.get(canonicalise_url(response.url))
        if page is None:
            return
        src = self._source(response)
        now = datetime.now(UTC)
        revisit = self.crawler.settings.getfloat("REVISIT_AFTER_DAYS", 7.0)
        # an unchanged feed or news sitemap still announces what it listed
        item.announced = tuple(
            canonicalise_url(link.url) for link in page.links if link.hint == "article"
        )
        self.announced_articles.update(item.announced)
        for link in page.links:
            if link.kind == "page":
                if not src.allows_url(link.url):
                    continue
                if state.is_fresh_document(link.url, now, revisit):
                    self.crawler.stats.inc_value("requests/known_not_requested")
                    continue
            callback = self._callback(link.kind)
            if req := self._request(src, link.url, callback, link.depth, link.hint, response.url):
                yield req

    def _callback(self, kind: str) -> Any:
        return {
            "page": self.parse_page,
            "feed": self.parse_feed,
            "sitemap": self.parse_sitemap,
            "robots": self.parse_robots,
        }[kind]

    def on_error(self, failure: Failure) -> Iterator[Any]:
        request = failure.request  # type: ignore[attr-defined]
        message = f"{type(failure.value).__name__}: {failure.value}"
        if failure.check(IgnoreRequest) and is_policy_refusal(str(failure.value)):
            # Never fetched (robots.txt forbids it, or could not be read): not a page, but
            # counted (runs.requests_skipped).
            self.crawler.stats.inc_value("requests/skipped")
            if str(failure.value).startswith(ROBOTS_UNAVAILABLE):
                self.first_error = self.first_error or str(failure.value)
            frontier = getattr(self.crawler, "frontier_scheduler", None)
            if frontier is not None:  # no item will acknowledge it
                frontier.ack(request.meta)
            return
        self.first_error = self.first_error or f"{request.url}: {message}"
        # Everything else was asked of a server and failed: a redirect loop or chain, a body
        # over DOWNLOAD_MAXSIZE (a decompression bomb), a refused or timed-out connection.
        self.crawler.stats.inc_value("pages/failed")
        if not failure.check(IgnoreRequest):
            self.crawler.stats.inc_value("failures/fetch_error")
        yield PageItem(
            url=request.meta.get("redirect_urls", [request.url])[0],
            final_url=request.url,
            status=getattr(getattr(failure.value, "response", None), "status", 0),
            fetched_at=datetime.now(UTC),
            source=request.meta.get("source", ""),
            depth=request.meta.get("depth", 0),
            referer=request.meta.get("referer"),
            hint=request.meta.get("hint"),
            error=message,
            ticket=request.meta.get(TICKET),
        )

    # -- helpers ----------------------------------------------------------------------------

    def _source(self, response: Response) -> Source:
        return self._source_named(response.meta["source"])

    def _source_named(self, name: str) -> Source:
        for s in self.sources:
            if s.name == name:
                return s
        raise KeyError(name)

    def _item(self, response: Response) -> PageItem:
        h = response.headers
        return PageItem(
            url=response.meta.get("redirect_urls", [response.url])[0],
            final_url=response.url,
            status=response.status,
            fetched_at=datetime.now(UTC),
            source=response.meta["source"],
            content_type=_header(h, b"Content-Type"),
            etag=_header(h, b"ETag"),
            last_modified=_header(h, b"Last-Modified"),
            body=response.body,
            depth=response.meta.get("depth", 0),
            referer=response.meta.get("referer"),
            hint=response.meta.get("hint"),
            ticket=response.meta.get(TICKET),
        )


def _header(headers: Any, name: bytes) -> str | None:
    value = headers.get(name)
    return value.decode("latin-1") if value else None


def strip_tracking(url: str) -> str:
    """Drop the fragment and utm_*/tracking parameters, keeping the query as linked."""
    return request_url(url)


def is_policy_refusal(message: str) -> bool:
    """An IgnoreRequest of robots.txt (forbidden, or unavailable): the request was never sent."""
    return message.startswith(("Forbidden by robots.txt", ROBOTS_UNAVAILABLE))


def _env_proxy() -> str | None:
    return os.environ.get("http_proxy") or os.environ.get("HTTP_PROXY")
