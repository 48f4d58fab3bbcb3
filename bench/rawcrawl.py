"""The bench's raw-fetch crawl: the same `news` spider and settings with no item pipelines.

    python -m bench.rawcrawl --sources FILE --data DIR --stats-out stats.json

Runs ``crawler.run.run_crawl`` in bench mode (politeness off) with ``ITEM_PIPELINES = {}``, so
what it costs is Scrapy's own work per page: download, parse links, schedule. Scrapy's stats
are written to ``--stats-out`` at the end (page counts to divide by).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from crawler.settings import EXTENSIONS


class StatsDump:
    """Scrapy extension: write the crawl's stats as JSON to the ``BENCH_STATS_OUT`` file."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.path = crawler.settings.get("BENCH_STATS_OUT")

    @classmethod
    def from_crawler(cls, crawler: Any) -> StatsDump:
        from scrapy import signals

        ext = cls(crawler)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_closed(self) -> None:
        if self.path:
            stats = self.crawler.stats.get_stats()
            with open(self.path, "w") as fh:
                json.dump(stats, fh, default=str, indent=1)


def main(argv: list[str] | None = None) -> int:
    from crawler.run import run_crawl
    from crawler.sources import load_sources

    parser = argparse.ArgumentParser(prog="python -m bench.rawcrawl", description=__doc__)
    parser.add_argument("--sources", required=True)
    parser.add_argument("--data", required=True)
    parser.add_argument("--stats-out", required=True)
    args = parser.parse_args(argv)
    config = load_sources(args.sources)
    run_crawl(
        args.sources,
        args.data,
        proxy=config.proxy,
        bench=True,
        extra_settings={
            "ITEM_PIPELINES": {},
            "EXTENSIONS": {**EXTENSIONS, "bench.rawcrawl.StatsDump": 900},
            "BENCH_STATS_OUT": args.stats_out,
            "LOG_LEVEL": "WARNING",
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
