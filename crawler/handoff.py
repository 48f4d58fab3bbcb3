"""A crawl worker's last stage when a grouping service owns the data (crawler/worker.py --service).

In place of the pages, group and write stages: each page, once extracted (in the worker's own
process pool), goes to the crawl's Redis stream (pipelines/storage/pagestream.py) as its `pages`
row and its PageItem without the body; only then is its request acknowledged in the shared
frontier. A worker killed between the two leaves the request in flight: it comes back after
the lease, another worker fetches it, and the service keeps the first entry of a request
(pipelines/service.py). The worker's conditional requests use the seen state the service
published (its committed state), so incremental runs stay incremental on every machine.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import redis
from scrapy.exceptions import DropItem

from pipelines.stages.context import RunContext
from pipelines.stages.pages import page_row
from pipelines.stages.write import settings_values
from pipelines.storage.pagestream import PageStream
from pipelines.storage.state import CrawlState, seen_from_table

logger = logging.getLogger(__name__)

# the worker's counters that the runs row reports (pipelines/stages/write.py, runs_row)
REPORTED = ("failures/", "requests/skipped")


class HandoffPipeline:
    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        s = crawler.settings
        self.worker = s.get("WORKER_ID") or "worker"
        self.stream = PageStream(redis.Redis.from_url(s.get("REDIS_URL")), s.get("SERVICE_CRAWL"))
        self.run = RunContext.of(crawler)
        # what the service committed, for conditional requests and the links of a 304
        self.run._state = CrawlState(Path(self.run.data_dir), seen=seen_from_table(
            self.stream.published_seen()))  # fmt: skip
        self._sent: dict[str, int] = {}
        self._lost = False

    @classmethod
    def from_crawler(cls, crawler: Any) -> HandoffPipeline:
        return cls(crawler)

    def _counters(self) -> dict[str, int]:
        """The reported counters that grew since the last entry (sent with the next one)."""
        now = {
            k: int(v)
            for k, v in self.crawler.stats.get_stats().items()
            if k.startswith(REPORTED) and isinstance(v, int)
        }
        delta = {k: v - self._sent.get(k, 0) for k, v in now.items() if v != self._sent.get(k, 0)}
        self._sent = now
        return delta

    def _add(self, kind: str, payload: Any) -> bool:
        if self._lost:
            return False
        try:
            if self.stream.add(self.run.run_id, kind, self.worker, payload) is None:
                # The service has ended the run: the crawl was over before this entry.
                self.crawler.stats.inc_value("handoff/after_run_end")
            return True
        except redis.RedisError as exc:
            self._lost = True
            scheduler = getattr(self.crawler, "frontier_scheduler", None)
            if scheduler is not None:
                scheduler.lose(exc)  # stops the worker, exit code 1
            else:
                logger.error("grouping service stream unavailable: %s", exc)
            return False

    def open_spider(self) -> None:
        values = settings_values(self.crawler.settings, self.run.grouping)
        config = getattr(self.crawler.spider, "config", None)
        self._add("hello", {
            "settings": values,
            "sources": self.crawler.settings.get("SOURCES_FILE"),
            "demo_web": getattr(config, "demo_web", None),  # for `make evaluate` of the data
        })  # fmt: skip

    def process_item(self, item: Any) -> Any:
        row = page_row(item, self.run.run_id)
        if not self._add("page", (row, item.for_handoff(), self._counters())):
            ticket, item.ticket = item.ticket, None  # not handed over: its request stays taken
            raise DropItem(f"not handed to the grouping service (Redis lost); request {ticket} "
                           "goes back to the queue after the lease")  # fmt: skip
        scheduler = getattr(self.crawler, "frontier_scheduler", None)
        if scheduler is not None:
            scheduler.ack_ticket(item.ticket)
            item.ticket = None  # acknowledged: the item_dropped/item_error signals need not
        self.crawler.stats.inc_value("handoff/pages")
        return item

    def close_spider(self) -> None:
        spider = self.crawler.spider
        finished = getattr(self.crawler, "crawling", True)
        self._add("bye", {
            "counters": self._counters(),
            "unfollowed": getattr(spider, "unfollowed", dict)(),
            "first_error": getattr(spider, "first_error", None),
        })  # fmt: skip
        self.run.run_row = {
            "run_id": self.run.run_id,
            "status": "failed" if self._lost else ("ok" if finished else "interrupted"),
            "error": "Redis lost" if self._lost else None,
        }
