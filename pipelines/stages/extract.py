"""Stage 2 of a crawl: send each fetched page to the extraction pool (pipelines.core.extract)
and await the result, off Scrapy's reactor thread. Timeouts and dead workers are counted as
failures with a reason; a dead pool is replaced and the crawl goes on.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from pipelines.core.extract import is_html, make_pool, process_page, worker_count
from pipelines.core.records import Extraction
from pipelines.stages.context import RunContext


class ExtractPipeline:
    """Send each fetched HTML page to the process pool; attach the result to the item."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.run = RunContext.of(crawler)
        self.workers = worker_count(crawler.settings.getint("EXTRACT_WORKERS"))
        self.timeout = crawler.settings.getfloat("EXTRACT_TIMEOUT", 60.0)
        self.pool: ProcessPoolExecutor | None = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> ExtractPipeline:
        return cls(crawler)

    def open_spider(self) -> None:
        self.pool = make_pool(self.workers)

    def close_spider(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)

    async def process_item(self, item: Any) -> Any:
        stats = self.crawler.stats
        if item.status != 200 or not item.body or not is_html(item.content_type):
            return item
        assert self.pool is not None
        try:
            future = self.pool.submit(
                process_page, item.body, item.content_type, item.final_url, item.hint
            )
            result = await asyncio.wait_for(asyncio.wrap_future(future), self.timeout)
        except TimeoutError:
            stats.inc_value("failures/extract_timeout")
            result = Extraction.failed("timeout", "extraction timed out")
        except BrokenProcessPool as exc:
            # A worker died (out of memory, a crash in a C extension): count the page as failed
            # and start a fresh pool so the rest of the crawl goes on.
            stats.inc_value("failures/extract_pool_restart")
            result = Extraction.failed("worker-died", f"worker died: {exc}")
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = make_pool(self.workers)
        if result.error:
            # Not recorded as seen (pipelines/group.note_seen): the next run fetches the page
            # again without validators and extracts it again; `make reprocess` does too.
            if result.article_reason == "error":
                stats.inc_value("failures/extract_error")
            self.crawler.spider.logger.warning(
                "Extraction failed for %s: %s", item.final_url, result.error
            )
        stats.inc_value("extract/pages")
        if result.is_article:
            stats.inc_value("extract/articles")
        item.extraction = result
        return item
