"""Stage 1: store every fetched page, whatever its status, in the `pages` dataset."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from twisted.internet import task

from pipelines.stages.context import RunContext
from pipelines.storage.schemas import schema_for
from pipelines.storage.store import DatasetWriter, compress_html

if TYPE_CHECKING:
    from pipelines.storage.state import SeenPage


def page_row(item: Any, run_id: str) -> dict[str, Any]:
    """The `pages` row of one PageItem (plain function; see pipelines/storage/schemas.py)."""
    body = item.body if item.status and item.body is not None else None
    return {
        "url": item.url,
        "final_url": item.final_url,
        "status": item.status or None,
        "content_type": item.content_type,
        "etag": item.etag,
        "last_modified": item.last_modified,
        "fetched_at": item.fetched_at,
        "run_id": run_id,
        "source": item.source,
        "html": compress_html(body) if body else None,
        "error": item.error,
        "content_hash": item.body_hash() if body else None,
        "depth": item.depth,
        "referer": item.referer,
        "page_kind_hint": item.hint,
    }


class StorePagesPipeline:
    """Buffer every fetch as a `pages` row; files of PAGES_PER_FILE rows.

    With a shared frontier (crawler/scheduler.py) a page's request is acknowledged only once its
    row is on disk: the buffer is also written every PAGES_FLUSH_SECONDS, and the tickets of the
    rows written are acknowledged then. A worker killed with -9 leaves its buffered pages'
    requests unacknowledged, and they go back to the queue.
    """

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.run = RunContext.of(crawler)
        self.writer: DatasetWriter | None = None
        self._tickets: list[str] = []  # of buffered rows, acknowledged once written
        self._flusher: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> StorePagesPipeline:
        return cls(crawler)

    def open_spider(self) -> None:
        self.writer = DatasetWriter(
            self.run.data_dir,
            "pages",
            schema_for("pages"),
            self.run.run_id,
            rows_per_file=self.crawler.settings.getint("PAGES_PER_FILE", 500),
        )
        self.run.pages_writer = self.writer
        if self.crawler.settings.get("REDIS_URL"):
            self._flusher = task.LoopingCall(self._flush_and_ack)
            self._flusher.start(self.crawler.settings.getfloat("PAGES_FLUSH_SECONDS", 2.0))

    def close_spider(self) -> None:
        if self._flusher is not None and self._flusher.running:
            self._flusher.stop()

    def _flush_and_ack(self) -> None:
        if self._tickets and self.writer is not None and not self.writer.closed:
            self.writer.flush()
            self._ack()

    def _ack(self) -> None:
        frontier = getattr(self.crawler, "frontier_scheduler", None)
        if frontier is not None:  # one round trip for the rows of a file, not one per row
            frontier.ack_ticket(*self._tickets)
        self._tickets.clear()

    def process_item(self, item: Any) -> Any:
        assert self.writer is not None
        row = page_row(item, self.run.run_id)
        self.writer.write(row)
        if item.ticket is not None:
            self._tickets.append(item.ticket)
            if self.writer.buffered == 0:  # the row is in a file now
                self._ack()
        self.crawler.stats.inc_value("pages/stored")
        count_page(self.run.counts, self.run.state.seen, item)
        return item


def count_page(counts: Counter[str], seen: dict[str, SeenPage], item: Any) -> None:
    """Count one stored page for the runs row: its status, and failed / not modified / new.

    Not modified: a 304, or a 200 whose body is byte for byte the last one (a server without
    validators). The crawl's pages stage and the grouping service (pipelines/service.py) both
    count with it.
    """
    counts[f"status/{item.status}"] += 1
    if item.error:
        counts["pages_failed"] += 1
        return
    digest = item.body_hash()
    page = seen.get(item.key()) if item.status == 200 and digest is not None else None
    if item.status == 304 or (page is not None and page.body_hash == digest):
        counts["pages_not_modified"] += 1
    else:
        counts["pages_new"] += 1
