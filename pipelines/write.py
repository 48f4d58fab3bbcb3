"""Stage 5: write documents, edges, clusters and the runs row at the end of a run.

The write stage drives the end of the run in order (Scrapy closes pipeline components in
parallel): close the pages writer, read final cluster ids from the grouper, then write
documents, edges, the clusters snapshot and, last, the runs row with status `ok`. A run row says
`running` from the start, so a run that was killed is visible as such.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import pyarrow as pa

from pipelines.furniture import FurnitureModel
from pipelines.group import finish_run
from pipelines.grouping import Edge, Grouper, cluster_id_for
from pipelines.origin import choose_origin, edge_direction
from pipelines.run import RunContext
from pipelines.schemas import schema_for
from pipelines.store import DatasetWriter, cleanup_temp_files, write_run_record, write_snapshot


def furniture_model_path(data_dir: Any) -> Path:
    """Where the per-site furniture model is kept between runs."""
    return Path(data_dir) / "state" / "furniture.json"


PACKAGES = ("scrapy", "trafilatura", "datasketch", "pyarrow", "duckdb", "numpy", "lxml")


def package_versions() -> dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "missing"
    return out


def settings_digest(values: dict[str, Any]) -> str:
    blob = json.dumps(values, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def name_clusters(
    clusters: dict[str, list[Any]], documents: dict[str, dict[str, Any]]
) -> dict[str, str]:
    """Grouper cluster id -> published cluster id, independent of the order pages arrived in.

    Within one crawl, pages are grouped in the order their extraction finished, which varies
    from run to run; the grouper names a cluster after the first document added. The published
    id is named after the member fetched first (ties: smallest doc_id) instead, so a crawl and
    `make reprocess` of its pages give the same ids.
    """
    names = {}
    for cid, doc_ids in clusters.items():
        docs = [documents[d] for d in doc_ids if d in documents]
        if docs:
            founder = min(docs, key=lambda d: (d["fetched_at"], d["doc_id"]))
            names[cid] = cluster_id_for(founder["doc_id"])
    return names


def cluster_rows(
    clusters: dict[str, list[Any]], documents: dict[str, dict[str, Any]], run_id: str
) -> list[dict[str, Any]]:
    """One clusters row per cluster (already named), with its origin (plain function)."""
    rows = []
    for cluster_id, doc_ids in clusters.items():
        docs = sorted(
            (documents[d] for d in doc_ids if d in documents),
            key=lambda d: (d["fetched_at"], d["doc_id"]),
        )
        if not docs:
            continue
        origin, reason = choose_origin(docs)
        published = [d["published_at"] for d in docs if d.get("published_at") is not None]
        rows.append(
            {
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
        )
    return rows


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


def write_results(
    ctx: RunContext,
    documents: dict[str, dict[str, Any]],
    grouper: Grouper,
    edges: Sequence[Edge],
) -> dict[str, int]:
    """Write documents, edges and clusters of a run; return counts for the runs row."""
    root, run_id = ctx.data_dir, ctx.run_id
    raw_clusters = grouper.clusters()
    names = name_clusters(raw_clusters, documents)
    named = {names[cid]: docs for cid, docs in raw_clusters.items() if cid in names}
    assignments = {doc: names[cid] for doc, cid in grouper.assignments().items()}
    for doc_id, row in documents.items():
        row["cluster_id"] = assignments[doc_id]
    # Documents go to the partition of the run that fetched them (a reprocess keeps those).
    doc_schema = schema_for("documents", num_perm=ctx.grouping.num_perm)
    for doc_run in sorted({row["run_id"] for row in documents.values()}):
        with DatasetWriter(root, "documents", doc_schema, doc_run, rows_per_file=5_000) as w:
            w.write_rows(r for r in documents.values() if r["run_id"] == doc_run)
    clusters = cluster_rows(named, documents, run_id)
    origins = {c["cluster_id"]: c["origin_doc_id"] for c in clusters}
    with DatasetWriter(root, "edges", schema_for("edges"), run_id, rows_per_file=50_000) as w:
        w.write_rows(edge_rows(edges, documents, origins, assignments, run_id))
    table = pa.Table.from_pylist(clusters, schema=schema_for("clusters"))
    write_snapshot(root, "clusters", table, run_id=run_id)
    return {
        "documents_new": len(documents),
        "documents_changed": 0,
        "clusters_new": len(clusters),
        "clusters_grown": 0,
        "clusters_merged": 0,
    }


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
        from pipelines.extract import TRAFILATURA_OPTIONS

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
            "settings_digest": settings_digest(self.settings_values),
            "grouping_config": str(self.run.grouping),
            "package_versions": package_versions(),
            "error": None,
        }
        row.update(extra)
        return row

    def open_spider(self) -> None:
        self.run.data_dir.mkdir(parents=True, exist_ok=True)
        removed = cleanup_temp_files(self.run.data_dir)
        if removed:
            self.crawler.spider.logger.warning(
                "Removed %d temporary file(s) left by an interrupted run", removed
            )
        write_run_record(self.run.data_dir, self._row("running"))

    def process_item(self, item: Any) -> Any:
        return item

    def close_spider(self) -> None:
        ctx = self.run
        try:
            pages = ctx.extra.get("pages_writer")
            if pages is not None:
                pages.close()
            documents = ctx.extra["documents"]
            model_path = furniture_model_path(ctx.data_dir)
            model = FurnitureModel.load(model_path)
            grouper = Grouper(ctx.grouping)
            edges = finish_run(documents, model, ctx.grouping, grouper)
            counts = write_results(ctx, documents, grouper, edges)
            model.save(model_path)
            row = self._row("ok", finished_at=datetime.now(UTC), **counts)
        except Exception as exc:
            row = self._row(
                "failed", finished_at=datetime.now(UTC), error=f"{type(exc).__name__}: {exc}"
            )
            write_run_record(ctx.data_dir, row)
            ctx.extra["run_row"] = row
            raise
        write_run_record(ctx.data_dir, row)
        ctx.extra["run_row"] = row
        stats = self.crawler.stats
        stats.set_value("clusters/current", counts["clusters_new"])
