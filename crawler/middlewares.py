"""Downloader middlewares."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any

from scrapy import Request
from scrapy.downloadermiddlewares.redirect import RedirectMiddleware as _RedirectMiddleware
from scrapy.downloadermiddlewares.retry import RetryMiddleware as _RetryMiddleware
from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware as _RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.http.request import NO_CALLBACK
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.response import response_status_message
from twisted.internet.defer import Deferred

logger = logging.getLogger(__name__)


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

    The validators come from the state the last committed run left (pipelines/storage/state.py),
    keyed by the canonical URL of the request as it is sent, so a redirect never carries the
    validators of the URL it came from. Only the spider's own requests are made conditional:
    Scrapy's robots.txt middleware would read a 304 (no body) as "everything allowed".
    Off with CONDITIONAL_GET = False.
    """

    HEADERS = (b"If-None-Match", b"If-Modified-Since")

    def __init__(self, crawler: Any) -> None:
        from pipelines.stages.context import RunContext

        self.crawler = crawler
        self.run = RunContext.of(crawler)

    @classmethod
    def from_crawler(cls, crawler: Any) -> ConditionalGetMiddleware:
        from scrapy.exceptions import NotConfigured

        if not crawler.settings.getbool("CONDITIONAL_GET", True):
            raise NotConfigured("CONDITIONAL_GET is off")
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        from pipelines.core.urls import canonicalise_url

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


# -- what real servers do: redirect loops, Retry-After, robots.txt that fails ------------------
#
# Each failure is counted under `failures/<reason>` in Scrapy's stats; the runs row copies
# those counters into its `failures` column (pipelines/stages/write.py).


class RedirectMiddleware(_RedirectMiddleware):
    """Scrapy's redirects, plus a clear end for a loop (A -> B -> A).

    Scrapy would send the second request for A to the scheduler, whose dupefilter drops it in
    silence: the page then has no `pages` row at all. Here the loop raises IgnoreRequest with
    the chain, and the spider records the page with that error.
    """

    def _redirect(self, redirected: Request, request: Request, reason: Any) -> Request:
        chain = [*request.meta.get("redirect_urls", []), request.url]
        if redirected.url in chain:
            self.crawler.stats.inc_value("failures/redirect_loop")
            shown = " -> ".join([*chain[chain.index(redirected.url) :], redirected.url])
            raise IgnoreRequest(f"redirect loop: {shown}")
        try:
            return super()._redirect(redirected, request, reason)
        except IgnoreRequest:
            self.crawler.stats.inc_value("failures/too_many_redirects")
            raise IgnoreRequest(
                f"more than {self.max_redirect_times} redirects (REDIRECT_MAX_TIMES), "
                f"last {request.url}"
            ) from None


def retry_after_seconds(value: bytes | str | None, now: float | None = None) -> float | None:
    """Seconds a Retry-After header asks for (delay-seconds or an HTTP date); None if unreadable."""
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = time.time() if now is None else now
    return max(0.0, when.timestamp() - now)


class RetryMiddleware(_RetryMiddleware):
    """Scrapy's retries, honouring Retry-After on 429 and 503 (bounded by RETRY_AFTER_MAX).

    A server that asks for a pause up to RETRY_AFTER_MAX seconds (default 60) gets it before
    the retry; one that asks for more is not retried in this run: the answer is recorded as it
    came, and the next run asks again. Scrapy alone retries at once, which is what gets a
    crawler banned.
    """

    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.retry_after_max = settings.getfloat("RETRY_AFTER_MAX", 60.0)

    async def process_response(self, request: Request, response: Response) -> Request | Response:
        if response.status in (429, 503) and b"Retry-After" in response.headers:
            if request.meta.get("dont_retry", False):
                return response
            wait = retry_after_seconds(response.headers.get(b"Retry-After"))
            if wait is not None and wait > self.retry_after_max:
                self.crawler.stats.inc_value("failures/retry_after_too_long")
                logger.info(
                    "Not retrying %s in this run: Retry-After %.0f s > RETRY_AFTER_MAX %.0f s",
                    request.url, wait, self.retry_after_max,
                )  # fmt: skip
                return response
            retry = self._retry(request, response_status_message(response.status))
            if retry is None:
                return response
            if wait:
                await asyncio.sleep(wait)
            return retry
        return super().process_response(request, response)


# RFC 9309 2.2: crawlers must parse at least 500 KiB of a robots.txt; more is not read.
ROBOTS_MAX_BYTES = 500 * 1024
ROBOTS_UNAVAILABLE = "robots.txt unavailable"


class _DisallowAll:
    """The parser of a robots.txt that could not be read: RFC 9309 2.3.1.4, complete disallow."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def allowed(self, url: str | bytes, user_agent: str | bytes) -> bool:
        return False

    def crawl_delay(self, user_agent: str | bytes) -> float | None:
        return None


class RobotsTxtMiddleware(_RobotsTxtMiddleware):
    """Scrapy's robots.txt handling, with RFC 9309's rules for a robots.txt that fails.

    2xx: parsed (its first 500 KiB). 4xx: no robots.txt, everything allowed. 5xx, or no answer
    (refused, timed out): "unreachable", so nothing on that host is fetched in this run; the
    next run asks again. Scrapy alone reads a 5xx or a network error as "everything allowed".
    Requests refused for that reason raise IgnoreRequest("robots.txt unavailable ...").
    """

    async def robot_parser(self, request: Request) -> Any:
        netloc = urlparse_cached(request).netloc
        if netloc not in self._parsers:
            self._parsers[netloc] = Deferred()
            url = f"{urlparse_cached(request).scheme}://{netloc}/robots.txt"
            robots = Request(
                url, priority=self.DOWNLOAD_PRIORITY, meta={"dont_obey_robotstxt": True},
                callback=NO_CALLBACK,
            )  # fmt: skip
            try:
                response = await self.crawler.engine.download_async(robots)
            except Exception as exc:  # refused, timed out, too large: unreachable
                reason = f"{type(exc).__name__}: {exc}"
                self._set_parser(netloc, self._unavailable(netloc, reason))
            else:
                try:
                    await self._parse_robots(response, netloc, request)
                except Exception as exc:  # an unparsable file: no usable rules, as Scrapy does
                    logger.warning("robots.txt of %s could not be parsed: %s", netloc, exc)
                    self._set_parser(netloc, None)
            self._stats.inc_value("robotstxt/request_count")
        parser = self._parsers[netloc]
        if isinstance(parser, Deferred):
            # Each request waiting for the file gets a Deferred of its own. Awaiting the shared
            # one directly (Scrapy 2.19 does) hands its result to the first waiter only:
            # `Deferred.asFuture` passes None down the chain, so a third request to a host
            # whose robots.txt was still on its way went out as if nothing were disallowed.
            waiter: Deferred[Any] = Deferred()

            def relay(result: Any) -> Any:
                waiter.callback(result)
                return result

            parser.addCallback(relay)
            return await maybe_deferred_to_future(waiter)
        return parser

    async def _parse_robots(self, response: Response, netloc: str, request: Request) -> None:
        if 400 <= response.status < 600:  # Scrapy's _parse_robots counts the others
            self._stats.inc_value("robotstxt/response_count")
            self._stats.inc_value(f"robotstxt/response_status_count/{response.status}")
        if 500 <= response.status < 600:
            self._set_parser(netloc, self._unavailable(netloc, f"HTTP {response.status}"))
            return
        if 400 <= response.status < 500:
            self._set_parser(netloc, None)
            return
        if len(response.body) > ROBOTS_MAX_BYTES:
            self._stats.inc_value("robotstxt/truncated")
            response = response.replace(body=response.body[:ROBOTS_MAX_BYTES])
        await super()._parse_robots(response, netloc, request)

    def _unavailable(self, netloc: str, reason: str) -> _DisallowAll:
        self._stats.inc_value("failures/robots_unavailable")
        logger.warning(
            "robots.txt of %s unavailable (%s): nothing on that host is fetched in this run "
            "(RFC 9309: complete disallow)", netloc, reason,
        )  # fmt: skip
        return _DisallowAll(f"{ROBOTS_UNAVAILABLE} for {netloc} ({reason})")

    def _set_parser(self, netloc: str, parser: Any) -> None:
        waiting = self._parsers[netloc]
        self._parsers[netloc] = parser
        if isinstance(waiting, Deferred):
            waiting.callback(parser)

    def process_request_2(self, rp: Any, request: Request) -> None:
        if isinstance(rp, _DisallowAll):
            self._stats.inc_value("robotstxt/forbidden")
            raise IgnoreRequest(rp.reason)
        super().process_request_2(rp, request)
