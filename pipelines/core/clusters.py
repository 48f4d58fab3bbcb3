"""Published clusters after a run: one row per cluster, ids that keep their meaning.

Plain functions on dicts (no I/O): `cluster_row` makes a cluster's row from its members'
metadata and names its origin; `update_clusters` gives every row after a run, with the ids
that this run created, grew or merged.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from pipelines.core.origin import choose_origin


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
