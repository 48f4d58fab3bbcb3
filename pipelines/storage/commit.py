"""The end of a run against a data folder's state, and the commit that writes its result.

`end_run_on_state` runs the end-of-run step (pipelines.core.endofrun.end_run: clean,
fingerprint, group; it writes nothing) against the state's saved grouper and furniture model.
`write_run` writes the step's result and commits the state. The crawl's write stage and
`make reprocess` both call the two, in that order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pipelines.analyst.views import rebuild_views
from pipelines.analyst.watch import WatchItem, watch_hit_rows
from pipelines.core.config import GroupingConfig
from pipelines.core.endofrun import RunResult, end_run
from pipelines.storage.schemas import schema_for
from pipelines.storage.state import CrawlState, SeenPage, publish_clusters
from pipelines.storage.store import DatasetWriter, write_cluster_history

log = logging.getLogger(__name__)


def end_run_on_state(
    run_id: str,
    config: GroupingConfig,
    state: CrawlState,
    documents: dict[str, dict[str, Any]],
    extract_hashes: dict[str, str],
) -> RunResult:
    """`end_run` against the state's saved grouper and furniture model (loaded here).

    A run with nothing new or changed (an unchanged re-crawl) loads neither: the new state
    version reuses their committed files unread.
    """
    load = bool(documents) or state.folder is None
    return end_run(
        run_id,
        documents,
        extract_hashes,
        state.docs,
        state.clusters,
        config,
        state.furniture_model() if load else None,
        state.grouper(config) if load else None,
    )


def watched(result: RunResult, watch: Sequence[WatchItem]) -> list[dict[str, Any]]:
    """The `watch_hits` rows of a run's result (pipelines/analyst/watch.py)."""
    grouper = result.grouper

    def cluster_of(doc_id: str) -> str | None:
        try:
            return grouper.cluster_of(doc_id) if grouper is not None else None
        except KeyError:
            return None

    return watch_hit_rows(
        watch, result.run_id, result.documents, result.docs, result.clusters, cluster_of
    )


def write_run(
    root: Path,
    result: RunResult,
    state: CrawlState,
    seen_updates: dict[str, SeenPage],
    final_row: Callable[[dict[str, int]], dict[str, Any]],
    *,
    commit: bool = True,
    watch: Sequence[WatchItem] = (),
) -> dict[str, Any]:
    """Write a run's result (pipelines.core.endofrun.end_run) and commit the state.

    Order, so that a kill at any moment is recoverable (pipelines/storage/state.recover): the run's
    documents, edges, cluster_history and watch_hits partitions (`watch`: the watch list); the
    new state version and its CURRENT pointer (the commit); the clusters file analysts read; the
    analyst's views (pipelines/analyst/views.py); the runs row, written by the caller.
    Returns the final runs row (`final_row(result.counts)`). With `commit=False` (a reprocess,
    which commits once after replaying every run) the state is only updated in memory.
    """
    run_id = result.run_id
    # Documents go to the partition of the run that fetched them (a reprocess keeps those).
    doc_schema = schema_for("documents", num_perm=result.config.num_perm)
    for doc_run in sorted({row["run_id"] for row in result.documents.values()}):
        with DatasetWriter(root, "documents", doc_schema, doc_run, rows_per_file=5_000) as w:
            w.write_rows(r for r in result.documents.values() if r["run_id"] == doc_run)
    with DatasetWriter(root, "edges", schema_for("edges"), run_id, rows_per_file=50_000) as w:
        w.write_rows(result.edges)
    if result.changed_clusters:
        changed = sorted(set(result.changed_clusters))
        write_cluster_history(root, [result.clusters[c] for c in changed], run_id=run_id)
    hits = watched(result, watch)
    if hits:
        with DatasetWriter(root, "watch_hits", schema_for("watch_hits"), run_id) as w:
            w.write_rows(hits)
    seen = dict(state.seen)
    seen.update(seen_updates)
    row = final_row(result.counts)
    if not commit:
        state.update(seen=seen, docs=result.docs, clusters=result.clusters, committed_run=run_id)
        return row
    state.commit(
        run_id,
        seen=seen,
        docs=result.docs,
        clusters=result.clusters,
        grouper=result.grouper,
        model=result.model,
        config=result.config,
        run_row=row,
    )
    publish_clusters(root, state)
    failed = rebuild_views(root, run_id)
    if failed:  # the run is committed: its views are rebuilt by the next run or `make report`
        log.error("%s: the analyst's views were not rebuilt after run %s: %s", root, run_id, failed)
    return row
