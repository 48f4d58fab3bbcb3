"""update_clusters (pipelines/core/clusters.py): ids keep their meaning as clusters grow, merge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pipelines.core.clusters import cluster_row, update_clusters

T0 = datetime(2026, 11, 1, tzinfo=UTC)


def meta(doc_id: str, k: int) -> dict[str, Any]:
    return {
        "doc_id": doc_id,
        "url": f"http://s{k}.test/{doc_id}",
        "domain": f"s{k}.test",
        "site_name": None,
        "title": f"title {doc_id}",
        "published_at": T0 + timedelta(hours=k),
        "fetched_at": T0 + timedelta(hours=k),
        "canonical_url": None,
        "based_on_url": None,
        "credited_source": None,
    }


def test_new_grown_and_merged_clusters() -> None:
    docs = {d: meta(d, k) for k, d in enumerate(["a", "b", "c", "d", "e"])}
    run1 = "20261101T000000Z-000001"
    rows, changed, counts = update_clusters(
        {}, {"ca": ["a", "b"], "cc": ["c"]}, ["ca", "cc"], [], docs, run1
    )
    assert counts == {"clusters_new": 2} and sorted(changed) == ["ca", "cc"]
    assert rows["ca"]["size"] == 2 and rows["ca"]["origin_doc_id"] == "a"

    # run 2: d joins ca, e bridges ca and cc: cc is absorbed into the older ca
    run2 = "20261102T000000Z-000002"
    members = {"ca": ["a", "b", "c", "d", "e"]}
    rows2, changed2, counts2 = update_clusters(rows, members, ["ca"], [("cc", "ca")], docs, run2)
    assert counts2 == {"clusters_grown": 1, "clusters_merged": 1}
    assert rows2["ca"]["created_run"] == run1 and rows2["ca"]["updated_run"] == run2
    assert rows2["ca"]["size"] == 5 and rows2["ca"]["merged_into"] is None
    assert rows2["cc"]["merged_into"] == "ca" and rows2["cc"]["updated_run"] == run2
    assert sorted(changed2) == ["ca", "cc"]


def test_merged_rows_are_repointed_to_the_live_id() -> None:
    docs = {d: meta(d, k) for k, d in enumerate(["a", "b", "c"])}
    r1, r2, r3 = (f"2026110{i}T000000Z-00000{i}" for i in (1, 2, 3))
    first = {"ca": ["a"], "cb": ["b"], "cc": ["c"]}
    rows, _, _ = update_clusters({}, first, list(first), [], docs, r1)
    second = {"cb": ["b", "c"], "ca": ["a"]}
    rows, _, _ = update_clusters(rows, second, ["cb"], [("cc", "cb")], docs, r2)
    assert rows["cc"]["merged_into"] == "cb"
    rows, _, counts = update_clusters(
        rows, {"ca": ["a", "b", "c"]}, ["ca"], [("cb", "ca")], docs, r3
    )
    assert rows["cb"]["merged_into"] == "ca" and rows["cc"]["merged_into"] == "ca"
    assert counts["clusters_merged"] == 1


def test_an_id_absorbed_in_the_run_that_made_it_is_never_listed() -> None:
    docs = {d: meta(d, k) for k, d in enumerate(["a", "b"])}
    rows, changed, counts = update_clusters(
        {}, {"ca": ["a", "b"]}, ["ca"], [("cb", "ca")], docs, "20261101T000000Z-000001"
    )
    assert list(rows) == ["ca"] and counts == {"clusters_new": 1}


def test_cluster_row_orders_members_by_first_fetch() -> None:
    late, early = meta("late", 5), meta("early", 1)
    row = cluster_row("c1", [late, early], "20261101T000000Z-000001")
    assert row["origin_doc_id"] == "early" and row["origin_reason"] == "earliest"
    assert row["first_published"] == early["published_at"]
    assert row["last_published"] == late["published_at"]
    assert row["n_domains"] == 2 and row["size"] == 2
