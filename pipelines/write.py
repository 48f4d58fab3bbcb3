"""Stage 5: group, write documents, edges, clusters and the runs row, commit the state.

The write stage drives the end of the run in order (Scrapy closes pipeline components in
parallel): close the pages writer, then `commit_run` (group this run's new and changed
documents into the saved clusters, write the run's partitions, commit the state, publish the
clusters file) and, last, the runs row. A run row says `running` from the start, so a run that
was killed is visible as such until the next run's recovery marks it `interrupted`.

Cluster ids come from the grouper as they are: a cluster is named after the document that
founded it, and `finish_run` adds documents in (fetched_at, doc_id) order, so ids do not depend
on the order in which extraction finished; a known cluster keeps its id across runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from pipelines.core.config import GroupingConfig
from pipelines.core.endofrun import finish_run
from pipelines.core.furniture import FurnitureModel
from pipelines.core.grouping import Edge, Grouper
from pipelines.core.origin import choose_origin, edge_direction
from pipelines.run import RunContext
from pipelines.storage.schemas import schema_for
from pipelines.storage.state import (
    CrawlState,
    SeenPage,
    prepare_folder,
    publish_clusters,
    run_lock,
)
from pipelines.storage.store import DatasetWriter, write_cluster_history, write_run_record

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


def cluster_row(cluster_id: str, docs: Sequence[dict[str, Any]], run_id: str) -> dict[str, Any]:
    """The clusters row of one cluster from its members' metadata (plain function).

    Members are ordered by when they were first fetched (ties: doc_id), the order `choose_origin`
    falls back on; `created_run` is this run's and is replaced by the caller for a known cluster.
    """
    docs = sorted(docs, key=lambda d: (d["fetched_at"], d["doc_id"]))
    origin, reason = choose_origin(docs)
    published = [d["published_at"] for d in docs if d.get("published_at") is not None]
    return {
        "cluster_id": cluster_id,
        "size": len(docs),
        "n_domains": len({d["domain"] for d in docs}),
        "origin_doc_id": origin["doc_id"],
        "origin_url": origin["url"],
        "origin_domain": origin["domain"],
        "origin_reason": reason,
        "first_published": min(published) if published else None,
        "last_published": max(published) if published else None,
        "title": origin.get("title"),
        "created_run": run_id,
        "updated_run": run_id,
        "merged_into": None,
    }


def update_clusters(
    previous: dict[str, dict[str, Any]],
    members: dict[str, list[str]],
    touched: Iterable[str],
    merges: Sequence[tuple[str, str]],
    docs: dict[str, dict[str, Any]],
    run_id: str,
) -> tuple[dict[str, dict[str, Any]], list[str], Counter[str]]:
    """Published cluster rows after a run: (all rows, ids of the rows this run changed, counts).

    `previous` holds every id published so far; `members` maps each live cluster id to its doc
    ids (Grouper.clusters()); `touched` are the live clusters that gained or changed a document
    this run; `merges` are this run's (absorbed, surviving) pairs in order. A known id keeps its
    `created_run`; an absorbed id keeps its last row and gets `merged_into`, always the id that
    is live now (earlier merged rows pointing at it are re-pointed), so one join follows any old
    id. Ids absorbed in the same run that created them were never published and stay unlisted.
    Counts: clusters_new, clusters_grown (known and bigger), clusters_merged (published ids
    absorbed).
    """
    rows = dict(previous)
    changed: list[str] = []
    counts: Counter[str] = Counter()
    live_of = {}
    for cid, doc_ids in members.items():
        for d in doc_ids:
            live_of[d] = cid
    for cid in sorted(set(touched)):
        row = cluster_row(cid, [docs[d] for d in members[cid]], run_id)
        old = previous.get(cid)
        if old is None:
            counts["clusters_new"] += 1
        else:
            row["created_run"] = old["created_run"]
            if row["size"] > old["size"]:
                counts["clusters_grown"] += 1
        rows[cid] = row
        changed.append(cid)
    absorbed_now = {}
    for absorbed, _surviving in merges:
        old = previous.get(absorbed)
        if old is None or old["merged_into"] is not None:
            continue
        absorbed_now[absorbed] = live_of[old["origin_doc_id"]]
        counts["clusters_merged"] += 1
    for cid, row in previous.items():
        target = absorbed_now.get(cid) or absorbed_now.get(row["merged_into"] or "")
        if target is not None and row["merged_into"] != target:
            rows[cid] = {**row, "merged_into": target, "updated_run": run_id}
            changed.append(cid)
    return rows, changed, counts


def edge_rows(
    edges: Iterable[Edge],
    documents: dict[str, dict[str, Any]],
    origins: dict[str, str],
    assignments: dict[Any, str],
    run_id: str,
) -> list[dict[str, Any]]:
    rows = []
    for e in edges:
        a, b = documents[e.doc_a], documents[e.doc_b]
        origin = origins.get(assignments[e.doc_a])
        rows.append(
            {
                "doc_a": e.doc_a,
                "doc_b": e.doc_b,
                "jaccard": e.jaccard,
                "a_in_b": e.a_in_b,
                "b_in_a": e.b_in_a,
                "relation": e.relation,
                "direction": edge_direction(a, b, origin),
                "lag_seconds": None if e.lag_seconds is None else int(e.lag_seconds),
                "run_id": run_id,
            }
        )
    return rows


def doc_meta(
    row: dict[str, Any], extract_hash: str, known: dict[str, Any] | None
) -> dict[str, Any]:
    """The state's record of a document's latest version (pipelines/storage/state.DOCS_SCHEMA)."""
    return {
        "doc_id": row["doc_id"],
        "url": row["url"],
        "domain": row["domain"],
        "site_name": row["site_name"],
        "title": row["title"],
        "published_at": row["published_at"],
        "canonical_url": row["canonical_url"],
        "based_on_url": row["based_on_url"],
        "credited_source": row["credited_source"],
        "first_fetched_at": known["first_fetched_at"] if known else row["fetched_at"],
        "fetched_at": row["fetched_at"],
        "first_run": known["first_run"] if known else row["run_id"],
        "run_id": row["run_id"],
        "content_hash": row["content_hash"],
        "extract_hash": extract_hash,
    }


def commit_run(
    root: Path,
    run_id: str,
    config: GroupingConfig,
    state: CrawlState,
    documents: dict[str, dict[str, Any]],
    extract_hashes: dict[str, str],
    seen_updates: dict[str, SeenPage],
    final_row: Callable[[dict[str, int]], dict[str, Any]],
    *,
    commit: bool = True,
) -> dict[str, Any]:
    """End a run: group its new and changed documents, write them, commit the state.

    Order, so that a kill at any moment is recoverable (pipelines/storage/state.recover): the run's
    documents, edges and cluster_history partitions; the new state version and its CURRENT
    pointer (the commit); the clusters file analysts read; the runs row, written by the caller.
    Returns the final runs row (`final_row(counts)`). With `commit=False` (a reprocess, which
    commits once after replaying every run) the state is only updated in memory.
    """
    docs = dict(state.docs)
    if not documents and state.folder is not None:
        # Nothing new or changed (an unchanged re-crawl): the grouper and the furniture model
        # stay as committed, and the new state version reuses their files unread.
        model: FurnitureModel | None = None
        grouper: Grouper | None = None
        edges: list[Edge] = []
        merges: list[tuple[str, str]] = []
        members: dict[str, list[str]] = {}
    else:
        model = state.furniture_model()
        grouper = state.grouper(config)
        merges_before = len(grouper.merges)
        edges = finish_run(documents, model, config, grouper)
        merges = grouper.merges[merges_before:]
        for doc_id, row in documents.items():
            row["cluster_id"] = grouper.cluster_of(doc_id)
            docs[doc_id] = doc_meta(row, extract_hashes[doc_id], state.docs.get(doc_id))
        members = {cid: [str(d) for d in ids] for cid, ids in grouper.clusters().items()}
    by_first_fetch = {d: {**m, "fetched_at": m["first_fetched_at"]} for d, m in docs.items()}
    touched = {row["cluster_id"] for row in documents.values()}
    clusters, changed, cluster_counts = update_clusters(
        state.clusters, members, touched, merges, by_first_fetch, run_id
    )

    # Documents go to the partition of the run that fetched them (a reprocess keeps those).
    doc_schema = schema_for("documents", num_perm=config.num_perm)
    for doc_run in sorted({row["run_id"] for row in documents.values()}):
        with DatasetWriter(root, "documents", doc_schema, doc_run, rows_per_file=5_000) as w:
            w.write_rows(r for r in documents.values() if r["run_id"] == doc_run)
    origins = {cid: row["origin_doc_id"] for cid, row in clusters.items()}
    assignments = {
        d: grouper.cluster_of(d) for e in edges for d in (e.doc_a, e.doc_b) if grouper is not None
    }
    with DatasetWriter(root, "edges", schema_for("edges"), run_id, rows_per_file=50_000) as w:
        w.write_rows(edge_rows(edges, docs, origins, assignments, run_id))
    if changed:
        write_cluster_history(root, [clusters[c] for c in sorted(set(changed))], run_id=run_id)

    seen = dict(state.seen)
    seen.update(seen_updates)
    n_changed = sum(1 for d in documents if d in state.docs)
    counts = {
        "documents_new": len(documents) - n_changed,
        "documents_changed": n_changed,
        "clusters_new": cluster_counts["clusters_new"],
        "clusters_grown": cluster_counts["clusters_grown"],
        "clusters_merged": cluster_counts["clusters_merged"],
    }
    row = final_row(counts)
    if not commit:
        state.update(seen=seen, docs=docs, clusters=clusters, committed_run=run_id)
        return row
    state.commit(
        run_id,
        seen=seen,
        docs=docs,
        clusters=clusters,
        grouper=grouper,
        model=model,
        config=config,
        run_row=row,
    )
    publish_clusters(root, state)
    return row


class WritePipeline:
    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.run = RunContext.of(crawler)
        s = crawler.settings
        self.settings_values = {
            k: s.get(k)
            for k in (
                "ROBOTSTXT_OBEY",
                "AUTOTHROTTLE_ENABLED",
                "CONCURRENT_REQUESTS",
                "CONCURRENT_REQUESTS_PER_DOMAIN",
                "DOWNLOAD_DELAY",
                "BENCH_MODE",
                "USER_AGENT",
            )
        }
        from pipelines.core.extract import TRAFILATURA_OPTIONS

        self.settings_values["trafilatura"] = TRAFILATURA_OPTIONS
        self.settings_values["grouping"] = self.run.grouping.to_dict()

    @classmethod
    def from_crawler(cls, crawler: Any) -> WritePipeline:
        return cls(crawler)

    def _row(self, status: str, **extra: Any) -> dict[str, Any]:
        c = self.run.counts
        status_counts = {k.split("/", 1)[1]: v for k, v in c.items() if k.startswith("status/")}
        row = {
            "run_id": self.run.run_id,
            "started_at": self.run.started_at,
            "finished_at": None,
            "status": status,
            "sources": self.crawler.settings.get("SOURCES_FILE"),
            "pages_fetched": sum(status_counts.values()),
            "pages_new": c["pages_new"],
            "pages_not_modified": c["pages_not_modified"],
            "pages_failed": c["pages_failed"],
            "requests_skipped": self.crawler.stats.get_value("requests/skipped", 0),
            "status_counts": status_counts,
            "documents_new": 0,
            "documents_changed": 0,
            "clusters_new": 0,
            "clusters_grown": 0,
            "clusters_merged": 0,
            "failures": failure_counts(self.crawler.stats.get_stats()),
            "cut_short": getattr(self.crawler.spider, "cut_short", dict)(),
            "settings_digest": settings_digest(self.settings_values),
            "grouping_config": str(self.run.grouping),
            "package_versions": package_versions(),
            "error": None,
        }
        row.update(extra)
        return row

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
            row = commit_run(
                ctx.data_dir,
                ctx.run_id,
                ctx.grouping,
                ctx.state,
                ctx.documents,
                ctx.extract_hashes,
                ctx.seen,
                final_row,
            )
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
