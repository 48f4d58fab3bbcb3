"""Stage 1: store every fetched page, whatever its status, in the `pages` dataset."""

from __future__ import annotations

from typing import Any

from pipelines.stages.context import RunContext
from pipelines.storage.schemas import schema_for
from pipelines.storage.store import DatasetWriter, compress_html


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
    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.run = RunContext.of(crawler)
        self.writer: DatasetWriter | None = None

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

    def process_item(self, item: Any) -> Any:
        assert self.writer is not None
        row = page_row(item, self.run.run_id)
        self.writer.write(row)
        stats = self.crawler.stats
        stats.inc_value("pages/stored")
        self.run.counts[f"status/{item.status}"] += 1
        if item.error:
            self.run.counts["pages_failed"] += 1
        elif item.status == 304 or self._same_body(item, row["content_hash"]):
            self.run.counts["pages_not_modified"] += 1
        else:
            self.run.counts["pages_new"] += 1
        return item

    def _same_body(self, item: Any, digest: str | None) -> bool:
        """A 200 whose body is byte for byte the last one (a server without validators)."""
        if item.status != 200 or digest is None:
            return False
        page = self.run.state.seen.get(item.key())
        return page is not None and page.body_hash == digest
