"""Stage 5: the end of the run, then write documents, edges, clusters and the runs row.

The write stage drives the end of the run in order (Scrapy closes pipeline components in
parallel): close the pages writer; add the held pages a feed announced (stages.group);
`end_run_on_state` (pipelines.storage.commit: the step pipelines.core.endofrun.end_run groups
this run's new and changed documents into the saved clusters, against the state's grouper and
furniture model, and writes nothing); `write_run` (write the result's partitions, commit the
state, publish the clusters file) and, last, the runs row. A run row says `running` from the
start, so a run that was killed is visible as such until the next run's recovery marks it
`interrupted`.

Cluster ids come from the grouper as they are: a cluster is named after the document that
founded it, and `finish_run` adds documents in (fetched_at, doc_id) order, so ids do not depend
on the order in which extraction finished; a known cluster keeps its id across runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

from pipelines.analyst.watch import load_watch
from pipelines.core.extract import TRAFILATURA_OPTIONS
from pipelines.stages.context import RunContext
from pipelines.stages.group import add_announced
from pipelines.storage.commit import end_run_on_state, write_run
from pipelines.storage.state import prepare_folder, run_lock
from pipelines.storage.store import write_run_record

PACKAGES = ("scrapy", "trafilatura", "datasketch", "pyarrow", "duckdb", "numpy", "lxml")


def package_versions(names: Sequence[str] = PACKAGES) -> dict[str, str]:
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "missing"
    return out


def settings_digest(values: dict[str, Any]) -> str:
    blob = json.dumps(values, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def failure_counts(stats: dict[str, Any]) -> dict[str, int]:
    """The runs row's `failures`: Scrapy's `failures/<reason>` counters (plain function)."""
    return {
        k.split("/", 1)[1]: int(v) for k, v in sorted(stats.items()) if k.startswith("failures/")
    }


def nothing_fetched(row: dict[str, Any]) -> bool:
    """A run that asked for pages and got no answer at all (a dead proxy, no network)."""
    answered = sum(v for k, v in row["status_counts"].items() if k != "0")
    return answered == 0 and (row["pages_failed"] > 0 or row["requests_skipped"] > 0)


SETTINGS_IN_DIGEST = (
    "ROBOTSTXT_OBEY",
    "AUTOTHROTTLE_ENABLED",
    "CONCURRENT_REQUESTS",
    "CONCURRENT_REQUESTS_PER_DOMAIN",
    "DOWNLOAD_DELAY",
    "BENCH_MODE",
    "USER_AGENT",
)


def settings_values(settings: Any, grouping: Any) -> dict[str, Any]:
    """What the runs row's `settings_digest` is made of: the settings that change what a crawl
    fetches and how it extracts and groups."""
    values = {k: settings.get(k) for k in SETTINGS_IN_DIGEST}
    if settings.get("CLUSTER_DOMAIN_DELAY") is not None:  # crawl workers (crawler/worker.py)
        values["CLUSTER_DOMAIN_DELAY"] = settings.get("CLUSTER_DOMAIN_DELAY")
    values["trafilatura"] = TRAFILATURA_OPTIONS
    values["grouping"] = grouping.to_dict()
    return values


def runs_row(
    ctx: RunContext,
    status: str,
    *,
    stats: dict[str, Any],
    sources: str | None,
    cut_short: dict[str, str],
    settings_values: dict[str, Any],
    **extra: Any,
) -> dict[str, Any]:
    """The `runs` row of a run from its counts and its Scrapy-style stats (plain function; the
    crawl's write stage and the grouping service both make theirs with it)."""
    c = ctx.counts
    status_counts = {k.split("/", 1)[1]: v for k, v in c.items() if k.startswith("status/")}
    row = {
        "run_id": ctx.run_id,
        "started_at": ctx.started_at,
        "finished_at": None,
        "status": status,
        "sources": sources,
        "pages_fetched": sum(status_counts.values()),
        "pages_new": c["pages_new"],
        "pages_not_modified": c["pages_not_modified"],
        "pages_failed": c["pages_failed"],
        "requests_skipped": int(stats.get("requests/skipped", 0)),
        "status_counts": status_counts,
        "documents_new": 0,
        "documents_changed": 0,
        "clusters_new": 0,
        "clusters_grown": 0,
        "clusters_merged": 0,
        "failures": failure_counts(stats),
        "cut_short": cut_short,
        "settings_digest": settings_digest(settings_values),
        "grouping_config": str(ctx.grouping),
        "package_versions": package_versions(),
        "error": None,
    }
    row.update(extra)
    return row


class WritePipeline:
    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.run = RunContext.of(crawler)
        self.settings_values = settings_values(crawler.settings, self.run.grouping)

    @classmethod
    def from_crawler(cls, crawler: Any) -> WritePipeline:
        return cls(crawler)

    def _row(self, status: str, **extra: Any) -> dict[str, Any]:
        return runs_row(
            self.run,
            status,
            stats=self.crawler.stats.get_stats(),
            sources=self.crawler.settings.get("SOURCES_FILE"),
            cut_short=getattr(self.crawler.spider, "cut_short", dict)(),
            settings_values=self.settings_values,
            **extra,
        )

    def _nothing_fetched(self, row: dict[str, Any]) -> str:
        spider = self.crawler.spider
        proxy = getattr(spider, "proxy", None) or self.crawler.settings.get("PROXY")
        via = f" through the proxy {proxy}" if proxy else ""
        tried = row["pages_failed"] + row["requests_skipped"]
        first = getattr(spider, "first_error", None) or "no error recorded"
        return f"no page could be fetched{via}: all {tried} request(s) failed; first: {first}"

    def open_spider(self) -> None:
        ctx = self.run
        self._lock = contextlib.ExitStack()
        if not self.crawler.settings.getbool("DATA_FOLDER_PREPARED"):
            # `scrapy crawl news` run directly: lock and prepare here, as crawler.run does.
            self._lock.enter_context(run_lock(ctx.data_dir))
            prepare_folder(
                ctx.data_dir,
                ctx.grouping,
                current_run=ctx.run_id,
                report=lambda line: self.crawler.spider.logger.warning("Recovery: %s", line),
            )
        write_run_record(ctx.data_dir, self._row("running"))

    def process_item(self, item: Any) -> Any:
        return item

    def close_spider(self) -> None:
        ctx = self.run
        stopped = not getattr(self.crawler, "crawling", True)
        status = "interrupted" if stopped else "ok"
        note = "stopped before the crawl finished; what was fetched is committed"
        note = note if stopped else None

        def final_row(counts: dict[str, int]) -> dict[str, Any]:
            row = self._row(status, finished_at=datetime.now(UTC), error=note, **counts)
            if nothing_fetched(row):
                row["status"], row["error"] = "failed", self._nothing_fetched(row)
            return row

        try:
            if ctx.pages_writer is not None:
                ctx.pages_writer.close()
            announced = getattr(self.crawler.spider, "announced_articles", set())
            add_announced(ctx, announced, self.crawler.stats)
            result = end_run_on_state(
                ctx.run_id, ctx.grouping, ctx.state, ctx.documents, ctx.extract_hashes
            )
            watch = self.crawler.settings.get("WATCH_FILE")
            items = load_watch(watch) if watch else ()
            row = write_run(ctx.data_dir, result, ctx.state, ctx.seen, final_row, watch=items)
        except Exception as exc:
            row = self._row(
                "failed", finished_at=datetime.now(UTC), error=f"{type(exc).__name__}: {exc}"
            )
            write_run_record(ctx.data_dir, row)
            ctx.run_row = row
            self._lock.close()
            raise
        write_run_record(ctx.data_dir, row)
        ctx.run_row = row
        self._lock.close()
        if row["status"] == "failed":
            self.crawler.spider.logger.error("%s", row["error"])
        self.crawler.stats.set_value(
            "clusters/current",
            sum(1 for c in ctx.state.clusters.values() if c["merged_into"] is None),
        )
