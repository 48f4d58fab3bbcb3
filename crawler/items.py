"""What the spider hands to the item pipelines."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from pipelines.core.urls import canonicalise_url
from pipelines.storage.store import body_hash as hash_of_body

if TYPE_CHECKING:
    from pipelines.core.records import Extraction


TICKET = "frontier_ticket"  # request.meta key: a shared frontier's number for the request
MAX_PAGES = "max_pages"  # request.meta key: its source's max_pages, counted by a shared frontier


@dataclass
class PageItem:
    """One fetch: the raw page plus what the pipelines add to it on the way."""

    url: str  # the URL requested (before redirects)
    final_url: str  # the URL that answered (after redirects)
    status: int  # HTTP status; 0 when no response came (see `error`)
    fetched_at: datetime
    source: str
    content_type: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    body: bytes | None = None
    depth: int = 0
    referer: str | None = None
    hint: str | None = (
        None  # what discovery said: article (feed/news sitemap), feed, sitemap, robots
    )
    error: str | None = None
    # with a shared frontier (crawler/scheduler.py): the request's ticket, acknowledged once
    # the item has been through the pipelines
    ticket: str | None = None
    # links the page led to, (kind, url, hint, depth) with kind page/feed/sitemap/robots: kept
    # in the state for non-article pages, and followed again when the page answers 304
    links: list[tuple[str, str, str | None, int]] = field(default_factory=list, repr=False)
    # canonical URLs that this page (a feed, a news sitemap) announced as articles
    announced: tuple[str, ...] = field(default=(), repr=False)
    # added by the pipelines
    extraction: Extraction | None = field(default=None, repr=False)
    _body_hash: str | None = field(default=None, repr=False)
    _key: str | None = field(default=None, repr=False)

    def key(self) -> str:
        """The canonical form of `final_url`, computed once: the page's key in the crawl state,
        and what its doc id is made of."""
        if self._key is None:
            self._key = canonicalise_url(self.final_url)
        return self._key

    def for_handoff(self) -> PageItem:
        """A copy without the body (its hash and canonical URL kept): what a crawl worker hands
        to the grouping service with the page's row, whose `html` holds the body compressed."""
        self.key()
        self.body_hash()
        return dataclasses.replace(self, body=None)

    def body_hash(self) -> str | None:
        """SHA-1 of the body, computed once: the pages row and the crawl state both use it."""
        if self._body_hash is None and self.body is not None:
            self._body_hash = hash_of_body(self.body)
        return self._body_hash
