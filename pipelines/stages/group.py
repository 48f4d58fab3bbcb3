"""Stage 4 of a crawl: collect the extracted articles as `documents` rows.

During the crawl this stage only collects; at the end of the run `WritePipeline` adds the held
pages that a feed or news sitemap announced (`add_announced`), hands the rows to the end-of-run
step (`pipelines.storage.commit.end_run_on_state`: clean, fingerprint, group) and writes its
result.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from pipelines.core.discovery import announce, announceable
from pipelines.core.records import Extraction, document_row, is_new_version
from pipelines.core.urls import doc_id_of_key
from pipelines.stages.context import HeldPage, RunContext
from pipelines.storage.state import Link, SeenPage


class GroupPipeline:
    """Collect the run's new and changed articles and what every answer says about its page.

    A known article whose extracted text hashes as before is not a new version: it adds no
    document row. `WritePipeline` calls `finish_run` and commits the state at the end of the run.
    """

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.run = RunContext.of(crawler)

    @classmethod
    def from_crawler(cls, crawler: Any) -> GroupPipeline:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        take_page(self.run, item, self.crawler.stats)
        return item


def take_page(ctx: RunContext, item: Any, stats: Any) -> None:
    """What one fetched page (a PageItem, extracted) adds to the run: its entry in the seen
    state, and its document, or its place among the held pages. The crawl's group stage and
    the grouping service (pipelines/service.py) both call it."""
    x = item.extraction
    is_article = x is not None and x.is_article
    doc_id = doc_id_of_key(item.key()) if is_article else None
    note_seen(ctx.seen, ctx.state.seen, item, doc_id)
    if doc_id is None:
        if x is not None and announceable(x):
            # A feed or news sitemap of this run may list it after it was reached through
            # a link: decided at the end of the run (add_announced), whatever the order.
            ctx.held.append(HeldPage(item.final_url, item.key(), item.fetched_at, x))
        return
    add_document(ctx, item.final_url, item.key(), item.fetched_at, x, stats)


def add_document(
    ctx: RunContext, url: str, key: str, fetched_at: Any, x: Extraction, stats: Any
) -> str | None:
    """Add an article's `documents` row to the run, unless it is a repeat; its doc id or None.

    `key` is the canonical form of `url`. Not added: the same article reached twice in one run
    (a redirect alias), or a known article whose extracted text hashes as before (no new
    version). Counted in `stats`.
    """
    doc_id = doc_id_of_key(key)
    if doc_id in ctx.documents:
        stats.inc_value("documents/duplicate_url")
        return None
    known = ctx.state.docs.get(doc_id)
    extract_hash = x.content_hash or ""  # the worker hashed the extractor text
    if not is_new_version(known, extract_hash):
        stats.inc_value("documents/unchanged")
        return None
    ctx.documents[doc_id] = document_row(url, fetched_at, x, doc_id, ctx.run_id, str(ctx.grouping))
    ctx.extract_hashes[doc_id] = extract_hash
    stats.inc_value("documents/changed" if known is not None else "documents/new")
    return doc_id


def add_announced(ctx: RunContext, announced: set[str], stats: Any) -> int:
    """At the end of a run: the held pages that a feed or news sitemap of the run listed
    become documents (core.discovery.announce); return how many. `announced`: canonical URLs.

    `make reprocess` applies the same rule with the run's stored feeds and sitemaps, so the
    decision does not depend on whether the page or the feed was fetched first.
    """
    n = 0
    for held in ctx.held:
        promoted = announce(held.extraction, held.key, announced)
        if promoted is None:
            continue
        n += 1
        stats.inc_value("documents/announced")
        key = held.key
        if key in ctx.seen:  # an article's entry keeps no links (see note_seen)
            doc_id = doc_id_of_key(key)
            ctx.seen[key] = dataclasses.replace(ctx.seen[key], doc_id=doc_id, links=())
        add_document(ctx, held.url, key, held.fetched_at, promoted, stats)
    ctx.held.clear()
    return n


def note_seen(
    updates: dict[str, SeenPage], seen: dict[str, SeenPage], item: Any, doc_id: str | None
) -> None:
    """Record what one answer says about its page: validators, body hash, links (plain function).

    A 304 only refreshes `checked_at`; a 200 replaces the entry; anything else leaves the last
    good entry in place, so a page that failed once is still asked for conditionally.
    """
    if item.error or (item.extraction is not None and item.extraction.error):
        # A failed fetch, or an extraction that failed (an exception, a timeout, a worker that
        # died): the last good entry stays, so the next run asks for the page again and
        # extracts it again instead of getting a 304 for a page that has no document.
        return
    key = item.key()
    previous = updates.get(key) or seen.get(key)
    if item.status == 304:
        if previous is not None:
            updates[key] = dataclasses.replace(previous, checked_at=item.fetched_at)
        return
    digest = item.body_hash()  # None: no body (kept when the body itself is not, for_handoff)
    if item.status != 200 or digest is None:
        return
    unchanged = previous is not None and previous.body_hash == digest
    links = () if doc_id else tuple(Link(u, k, h, d) for k, u, h, d in item.links)
    updates[key] = SeenPage(
        url=key,
        etag=item.etag,
        last_modified=item.last_modified,
        body_hash=digest,
        doc_id=doc_id,
        checked_at=item.fetched_at,
        changed_at=previous.changed_at if unchanged and previous else item.fetched_at,
        links=links,
    )
