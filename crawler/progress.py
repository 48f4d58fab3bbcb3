"""A progress line every few seconds: pages, documents, clusters, errors, rate."""

from __future__ import annotations

import logging
import time
from typing import Any

from scrapy import signals
from scrapy.exceptions import NotConfigured
from twisted.internet import task

logger = logging.getLogger("progress")


class ProgressLine:
    def __init__(self, crawler: Any, interval: float) -> None:
        self.crawler = crawler
        self.interval = interval
        self.loop: task.LoopingCall | None = None
        self.started = time.monotonic()

    @classmethod
    def from_crawler(cls, crawler: Any) -> ProgressLine:
        interval = crawler.settings.getfloat("PROGRESS_INTERVAL")
        if interval <= 0:
            raise NotConfigured("PROGRESS_INTERVAL is 0")
        ext = cls(crawler, interval)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self) -> None:
        self.started = time.monotonic()
        self.loop = task.LoopingCall(self.log)
        self.loop.start(self.interval, now=False)

    def spider_closed(self) -> None:
        if self.loop is not None and self.loop.running:
            self.loop.stop()
        self.log(final=True)

    def line(self) -> str:
        stats = self.crawler.stats
        pages = stats.get_value("pages/stored", 0)
        elapsed = max(time.monotonic() - self.started, 1e-9)
        errors = stats.get_value("pages/failed", 0) + stats.get_value("extract/errors", 0)
        # Clusters are formed at the end of the run (after furniture removal), so the line
        # shows the articles collected until then.
        clusters = stats.get_value("clusters/current")
        grouped = f"clusters {clusters}" if clusters is not None else "clusters at the end"
        return (
            f"pages {pages} | articles {stats.get_value('documents/new', 0)} | {grouped} | "
            f"errors {errors} | {pages / elapsed:.1f} pages/s"
        )

    def log(self, final: bool = False) -> None:
        logger.info(("done: " if final else "") + self.line())
