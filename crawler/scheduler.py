"""Scrapy glue for the shared frontier (crawler/frontier.py): a scheduler and a politeness
middleware, on when the settings name a Redis server (`REDIS_URL`; `python -m crawler.worker`).

The scheduler keeps no queue of its own: `enqueue_request` pushes to Redis (the seen set there
decides whether a request is new, by its canonical URL, and the count of its source's requests
there whether the source's `max_pages` allows it), `next_request` takes the next request
of the domains in turn. A request stays in flight, under this worker's name, until the row of
the page it led to is written to the `pages` dataset (pipelines/stages/pages.py; or the item was
dropped or failed), or until it led nowhere (a redirect or a retry queued in its place, a refusal
by robots.txt, a callback error). The spider yields a page's follow-up requests before its item,
so once a page is acknowledged its links are already in the frontier. Every `lease / 3` seconds
the worker proves it is alive, puts back what dead workers held, and wakes its engine when the
frontier has work (Scrapy would otherwise ask the scheduler again only every 5 seconds).

The politeness middleware makes every request (robots.txt ones too) wait for its domain's next
free slot, `CLUSTER_DOMAIN_DELAY` seconds after the previous one of any worker.
"""

from __future__ import annotations

import asyncio
import logging
import pickle
from typing import Any
from urllib.parse import urlsplit

import redis
from scrapy import Request, signals
from scrapy.core.scheduler import BaseScheduler
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.request import request_from_dict
from twisted.internet import task

from crawler.frontier import Pushed, RedisFrontier
from crawler.items import MAX_PAGES, TICKET
from pipelines.core.urls import canonicalise_url

logger = logging.getLogger(__name__)


def domain_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def frontier_key(request: Request) -> str | None:
    """What makes two requests the same page for the seen set: the canonical URL (None: a
    request that must go again, such as a retry)."""
    if request.dont_filter:
        return None
    try:
        return f"{request.method} {canonicalise_url(request.url)}"
    except ValueError:
        return None


def open_frontier(settings: Any) -> RedisFrontier:
    client = redis.Redis.from_url(settings.get("REDIS_URL"))
    return RedisFrontier(
        client,
        settings.get("FRONTIER_PREFIX") or "st:crawl",
        settings.get("WORKER_ID") or "worker",
        lease=settings.getfloat("FRONTIER_LEASE", 15.0),
    )


# Set when this process lost its Redis server: `python -m crawler.worker` then exits 1.
LOST: list[str] = []


class RedisScheduler(BaseScheduler):
    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.frontier = open_frontier(crawler.settings)
        self.spider: Any = None
        self._loop: task.LoopingCall | None = None
        self._lost: str | None = None
        # the pages stage acknowledges a page once its row is written, the spider a request
        # that led nowhere
        crawler.frontier_scheduler = self
        for signal in (signals.item_dropped, signals.item_error):
            crawler.signals.connect(self._item_done, signal=signal)
        crawler.signals.connect(self._spider_error, signal=signals.spider_error)

    @classmethod
    def from_crawler(cls, crawler: Any) -> RedisScheduler:
        return cls(crawler)

    def open(self, spider: Any) -> None:
        self.spider = spider
        self.frontier.heartbeat()
        self._loop = task.LoopingCall(self._tick)
        self._loop.start(max(self.frontier.lease / 3, 0.05), now=False)

    def close(self, reason: str) -> None:
        if self._loop is not None and self._loop.running:
            self._loop.stop()
        if self._lost is not None:
            return
        try:
            self.frontier.leave()
            if reason == "finished" and self.frontier.done():
                self.frontier.mark_finished()
        except redis.RedisError as exc:
            self.lose(exc)

    def lose(self, exc: Exception) -> None:
        """Redis is gone: stop this worker (once). What it wrote stays; the requests it held
        are still in flight in Redis and go back to the queue if Redis comes back with them."""
        if self._lost is not None:
            return
        self._lost = f"Redis unavailable: {exc}"
        LOST.append(self._lost)
        logger.error("frontier: %s; stopping this worker", self._lost)
        self.crawler.stats.inc_value("failures/redis_unavailable")
        asyncio.ensure_future(self.crawler.stop_async())

    def has_pending_requests(self) -> bool:
        # Work anywhere in the crawl keeps this worker open: a page another worker is fetching
        # may still lead to links.
        if self._lost is not None:
            return False
        try:
            return not self.frontier.done()
        except redis.RedisError as exc:
            self.lose(exc)
            return False

    def enqueue_request(self, request: Request) -> bool:
        if self._lost is not None:
            return False
        stats = self.crawler.stats
        blob = pickle.dumps(request.to_dict(spider=self.spider), protocol=5)
        previous = request.meta.get(TICKET)
        # A request the spider built counts against its source's max_pages, in the frontier (so
        # over all workers); a redirect or a retry of a request this worker took does not.
        cap = int(request.meta.get(MAX_PAGES) or 0) if previous is None else 0
        try:
            pushed = self.frontier.push(
                blob,
                domain_of(request.url),
                frontier_key(request),
                request.priority,
                source=str(request.meta.get("source") or ""),
                cap=cap,
            )
            if previous is not None:
                self.frontier.ack(previous)
        except redis.RedisError as exc:
            self.lose(exc)
            return False
        if pushed is Pushed.OVER_LIMIT:
            stats.inc_value("frontier/over_max_pages")
            refused = getattr(self.spider, "refused_by_frontier", None)
            if refused is not None:
                refused(request, "max_pages")
        else:
            stats.inc_value("frontier/enqueued" if pushed else "frontier/seen_before")
        return bool(pushed)

    def next_request(self) -> Request | None:
        if self._lost is not None:
            return None
        try:
            taken = self.frontier.pop()
        except redis.RedisError as exc:
            self.lose(exc)
            return None
        if taken is None:
            return None
        request = request_from_dict(pickle.loads(taken.blob), spider=self.spider)
        # The proxy belongs to the worker, not to the request: the one that queued it may reach
        # the web another way (its own demo-web server, another network). This worker's own is
        # set again by ConfiguredProxyMiddleware and HttpProxyMiddleware.
        for key in ("proxy", "_auth_proxy"):
            request.meta.pop(key, None)
        request.headers.pop(b"Proxy-Authorization", None)
        request.meta[TICKET] = taken.seq
        self.crawler.stats.inc_value("frontier/taken")
        return request

    # -- acknowledgements -------------------------------------------------------------------

    def ack(self, meta: dict[str, Any] | None) -> None:
        self.ack_ticket((meta or {}).get(TICKET))

    def ack_ticket(self, *tickets: str | None) -> None:
        done = [t for t in tickets if t is not None]
        if not done or self._lost is not None:
            return
        try:
            self.frontier.ack(*done)
        except redis.RedisError as exc:
            self.lose(exc)

    def reserve(self, domain: str, delay: float) -> float | None:
        """Seconds to wait for the domain's next slot (frontier.reserve); None: Redis is lost."""
        if self._lost is not None:
            return None
        try:
            return self.frontier.reserve(domain, delay)
        except redis.RedisError as exc:
            self.lose(exc)
            return None

    def _item_done(self, item: Any, **_: Any) -> None:
        self.ack_ticket(getattr(item, "ticket", None))

    def _spider_error(self, failure: Any, response: Any, **_: Any) -> None:
        self.ack(getattr(response, "meta", None))

    # -- every lease / 3 seconds ------------------------------------------------------------

    def _tick(self) -> None:
        try:
            self.frontier.heartbeat()
            back = self.frontier.requeue_dead()
            if back:
                logger.warning("frontier: %d request(s) of stopped workers queued again", back)
                self.crawler.stats.inc_value("frontier/requeued", back)
            if self.frontier.queued():
                # Scrapy's engine asks its scheduler again when a download ends, else every 5 s
                # (ExecutionEngine._SLOT_HEARTBEAT_INTERVAL): wake it when there is work.
                slot = getattr(self.crawler.engine, "_slot", None)
                if slot is not None:
                    slot.nextcall.schedule()
        except redis.RedisError as exc:
            self.lose(exc)


class SharedPolitenessMiddleware:
    """Wait for the domain's next free slot in the shared frontier before each request, through
    the scheduler's frontier (one Redis client, one way to notice that Redis is gone)."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.delay = crawler.settings.getfloat("CLUSTER_DOMAIN_DELAY", 0.25)

    @classmethod
    def from_crawler(cls, crawler: Any) -> SharedPolitenessMiddleware:
        return cls(crawler)

    async def process_request(self, request: Request, spider: Any = None) -> None:
        # The scheduler exists from the spider's opening on, before any request.
        wait = self.crawler.frontier_scheduler.reserve(domain_of(request.url), self.delay)
        if wait is None:  # the scheduler is stopping the worker
            raise IgnoreRequest("Redis unavailable")
        if wait > 0:
            self.crawler.stats.inc_value("frontier/politeness_waits")
            await asyncio.sleep(wait)
        return None
