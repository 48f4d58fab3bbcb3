"""The end of a run as a step (pipelines.core.endofrun.end_run): a result, and nothing written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pipelines.core.config import GroupingConfig
from pipelines.core.endofrun import end_run
from pipelines.core.extract import content_hash
from pipelines.core.furniture import FurnitureModel
from pipelines.core.grouping import Grouper
from pipelines.storage.store import new_run_id
from tests.test_state import T0, doc, story


def test_end_run_groups_copies_and_writes_nothing(tmp_path: Path) -> None:
    run_id = new_run_id(T0)
    docs = [doc("a", story(0), run_id, 1), doc("b", story(0), run_id, 2)]
    docs.append(doc("c", story(1), run_id, 3))
    documents = {d["doc_id"]: d for d in docs}
    hashes = {d: content_hash(r["text"]) for d, r in documents.items()}
    config = GroupingConfig()
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        result = end_run(
            run_id, documents, hashes, {}, {}, config, FurnitureModel(), Grouper(config)
        )
    finally:
        os.chdir(cwd)
    assert list(tmp_path.iterdir()) == []  # a step that returns, not one that writes
    a, b, c = (documents[d["doc_id"]] for d in docs)
    assert a["cluster_id"] == b["cluster_id"] != c["cluster_id"]
    assert a["minhash"] and a["n_shingles"] > 0 and a["content_hash"] == content_hash(a["text"])
    assert result.counts == {
        "documents_new": 3,
        "documents_changed": 0,
        "clusters_new": 2,
        "clusters_grown": 0,
        "clusters_merged": 0,
    }
    assert sorted(result.changed_clusters) == sorted({a["cluster_id"], c["cluster_id"]})
    assert result.clusters[a["cluster_id"]]["size"] == 2
    assert result.clusters[a["cluster_id"]]["origin_doc_id"] == a["doc_id"]  # fetched first
    assert [(e["doc_a"], e["doc_b"]) for e in result.edges] == [(a["doc_id"], b["doc_id"])]
    assert set(result.docs) == set(documents)
    assert result.docs[b["doc_id"]]["extract_hash"] == hashes[b["doc_id"]]


def test_end_run_of_a_run_with_nothing_new_needs_no_model() -> None:
    run_id = new_run_id(T0)
    result = end_run(run_id, {}, {}, {}, {}, GroupingConfig(), None, None)
    assert result.documents == {} and result.edges == [] and result.clusters == {}
    assert result.model is None and result.grouper is None
    with pytest.raises(ValueError, match="saved model and grouper"):
        d = doc("a", story(0), run_id, 1)
        end_run(run_id, {d["doc_id"]: d}, {}, {}, {}, GroupingConfig(), None, None)
