"""The analyst's views of a data folder: snapshot tables derived from the committed datasets.

`publish_views` rebuilds each view from the datasets as the last commit left them and writes it
atomically as one file, `<table>/<table>.parquet`, whose `as_of_run` column names that commit.
Every front door has it done after its commit (pipelines/storage/commit.write_run, `make
reprocess`) by `rebuild_views`, in a process of its own (`python -m pipelines.analyst.views
--data DIR`): the texts it reads and DuckDB stay out of the crawl's process (whose objects
are frozen after the crawl, crawler/run.py), and a view that fails is logged without failing
the committed run. A run killed between its commit and its views gets them from the next
run's recovery (pipelines/storage/state.recover), and `views_stale` tells a reader that they
lag. A view is never the only copy of anything: deleting one loses nothing.

- `copy_changes`: one row per document of a cluster of two or more that is not the cluster's
  origin (pipelines/analyst/changes.py says what is compared).

Reads go through DuckDB, one live cluster at a time in cluster order, so memory holds the
texts of one batch of clusters, not of the whole folder.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.analyst.changes import copy_change, same_headline
from pipelines.storage.schemas import schema_for
from pipelines.storage.state import current_version
from pipelines.storage.store import atomic_write_table

VIEWS = ("copy_changes",)
BATCH_ROWS = 2_000


def view_path(data_dir: str | os.PathLike[str], table: str) -> Path:
    return Path(data_dir) / table / f"{table}.parquet"


def _has_files(root: Path, table: str) -> bool:
    return any((root / table).glob("**/*.parquet"))


def latest_documents_sql(root: Path, columns: str) -> str:
    """The latest version of every document with the live cluster it belongs to now."""
    return f"""
        with d as (
            select {columns}, cluster_id
            from read_parquet('{root}/documents/**/*.parquet', hive_partitioning = true)
            qualify row_number() over (partition by doc_id order by run_id desc) = 1
        ), c as (
            select cluster_id, coalesce(merged_into, cluster_id) as cluster_now
            from read_parquet('{root}/clusters/clusters.parquet')
        )
        select d.* exclude (cluster_id), c.cluster_now
        from d join c using (cluster_id)
    """


_DOC_COLUMNS = ("doc_id", "url", "domain", "title", "text", "published_at")


def _clusters_of_copies(con: Any, root: Path) -> Iterator[list[dict]]:
    """The latest documents of each live cluster of two or more, one list per cluster."""
    sql = f"""
        with docs as ({latest_documents_sql(root, ", ".join(_DOC_COLUMNS))})
        select docs.*, k.origin_doc_id
        from docs join read_parquet('{root}/clusters/clusters.parquet') k
             on k.cluster_id = docs.cluster_now
        where k.merged_into is null and k.size > 1 and k.origin_doc_id is not null
        order by docs.cluster_now, docs.doc_id
    """  # noqa: E501
    cursor = con.execute(sql)
    names = [*_DOC_COLUMNS, "cluster_now", "origin_doc_id"]
    group: list[dict] = []
    while batch := cursor.fetchmany(BATCH_ROWS):
        for values in batch:
            row = dict(zip(names, values, strict=True))
            if group and group[0]["cluster_now"] != row["cluster_now"]:
                yield group
                group = []
            group.append(row)
    if group:
        yield group


def copy_change_rows(data_dir: str | os.PathLike[str], as_of_run: str) -> list[dict[str, Any]]:
    """The `copy_changes` rows of a data folder (see pipelines/analyst/changes.py)."""
    root = Path(data_dir).resolve()
    if not _has_files(root, "documents") or not (root / "clusters" / "clusters.parquet").is_file():
        return []
    import duckdb  # here: extraction workers import this module's importers, not DuckDB

    with duckdb.connect() as con:
        return [
            {**row, "as_of_run": as_of_run}
            for members in _clusters_of_copies(con, root)
            for row in cluster_changes(members)
        ]


def cluster_changes(members: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The `copy_changes` rows (less as_of_run) of one cluster's latest documents, each with
    doc_id, url, domain, title, text, published_at, cluster_now and the cluster's origin_doc_id."""
    origin = next((m for m in members if m["doc_id"] == m["origin_doc_id"]), None)
    if origin is None:  # the origin is not among the documents (never: documents are kept)
        return []
    rows: list[dict[str, Any]] = []
    for doc in members:
        if doc is origin:
            continue
        change = copy_change(origin["text"], doc["text"])
        lag = None
        if doc["published_at"] is not None and origin["published_at"] is not None:
            lag = int((doc["published_at"] - origin["published_at"]).total_seconds())
        same = same_headline(doc["title"], origin["title"])
        rows.append({
            "doc_id": doc["doc_id"],
            "url": doc["url"],
            "domain": doc["domain"],
            "cluster_id": doc["cluster_now"],
            "origin_doc_id": origin["doc_id"],
            "origin_url": origin["url"],
            "origin_domain": origin["domain"],
            "relation": change["relation"],
            "title": doc["title"],
            "origin_title": origin["title"],
            "headline_changed": None if same is None else not same,
            "sentences_added": change["sentences_added"],
            "sentences_removed": change["sentences_removed"],
            "share_kept": change["share_kept"],
            "lag_seconds": lag,
        })  # fmt: skip
    return rows


BUILDERS = {"copy_changes": copy_change_rows}
AS_OF_KEY = b"syndication_tracker.as_of_run"


def publish_views(data_dir: str | os.PathLike[str], run_id: str | None = None) -> list[Path]:
    """Rebuild every view of `data_dir` as of its last commit (or `run_id`); return the files.
    The run is in each file's `as_of_run` column and its schema metadata (for an empty view)."""
    run_id = run_id or current_version(data_dir)
    if run_id is None:
        return []
    out = []
    for table in VIEWS:
        schema = schema_for(table)
        schema = schema.with_metadata({**(schema.metadata or {}), AS_OF_KEY: run_id.encode()})
        data = pa.Table.from_pylist(BUILDERS[table](data_dir, run_id), schema=schema)
        out.append(atomic_write_table(data, view_path(data_dir, table), schema=schema))
    return out


def views_stale(data_dir: str | os.PathLike[str]) -> list[str]:
    """The views that do not describe the last commit (missing, or of an older run)."""
    run_id = current_version(data_dir)
    if run_id is None:
        return []
    stale = []
    for table in VIEWS:
        path = view_path(data_dir, table)
        meta = pq.read_schema(path).metadata or {} if path.is_file() else {}
        if meta.get(AS_OF_KEY) != run_id.encode():
            stale.append(table)
    return stale


def rebuild_views(data_dir: str | os.PathLike[str], run_id: str) -> str | None:
    """`publish_views` in a child process; None when it worked, else what went wrong."""
    cmd = [sys.executable, "-m", "pipelines.analyst.views", "--data", str(data_dir)]
    cmd += ["--run", run_id]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode == 0:
        return None
    lines = (done.stderr or done.stdout).strip().splitlines() or [f"exit {done.returncode}"]
    return lines[-1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.analyst.views",
        description="Rebuild the analyst's views (copy_changes) of a data folder.",
    )
    parser.add_argument("--data", default="data", help="data folder (default: %(default)s)")
    parser.add_argument("--run", help="the committed run they describe (default: the last)")
    args = parser.parse_args(argv)
    if not Path(args.data).is_dir():
        print(f"error: {args.data} is not a data folder", file=sys.stderr)
        return 2
    files = publish_views(args.data, args.run)
    if not files:
        print(f"{args.data}: nothing committed yet, no views to build", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
