"""Runs that follow each other without a crawl: cluster ids across runs, merges, versions,
crash points of the end-of-run commit (real processes killed with os._exit), the lock.

Documents are built from the demo web's story texts and go through the real `end_run_on_state` and
`write_run`: furniture cleaning, fingerprints, the saved grouper, Parquet files, the state commit.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from demoweb import DemoWeb
from pipelines.core.config import GroupingConfig, IncompatibleStateError
from pipelines.core.extract import content_hash
from pipelines.core.records import Extraction, document_row, is_new_version
from pipelines.storage.commit import end_run_on_state, write_run
from pipelines.storage.state import (
    CrawlState,
    RunLockedError,
    check_compatible,
    current_version,
    recover,
    run_lock,
)
from pipelines.storage.store import new_run_id, write_run_record

REPO = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 11, 1, tzinfo=UTC)
WEB = DemoWeb(seed=3, sites=12, stories=200)
# Full stories, one per block of ten, away from the same-topic triplets (hard negatives).
STORIES = [i for i in range(200) if i % 10 == 5 and not WEB.world.is_brief(i)]


def story(k: int) -> str:
    return WEB.story_text(STORIES[k])


def doc(name: str, text: str, run_id: str, minutes: int) -> dict[str, Any]:
    url = f"http://{name}.test/story"
    x = Extraction(
        is_article=True, article_reason="shape", text=text, title=f"Title of {name}", site_name=name
    )
    from pipelines.core.urls import canonical_doc_id

    return document_row(
        url, T0 + timedelta(minutes=minutes), x, canonical_doc_id(url), run_id, "cfg"
    )


def run(root: Path, docs: list[dict[str, Any]], run_id: str) -> dict[str, Any]:
    """One run's end as WritePipeline does it: running row, end_run_on_state, write_run, row."""
    state = CrawlState.load(root)
    base = {
        "run_id": run_id,
        "started_at": datetime.now(UTC),
        "status": "running",
        "grouping_config": str(GroupingConfig()),
    }
    write_run_record(root, base)
    hashes = {d["doc_id"]: content_hash(d["text"]) for d in docs}
    documents = {
        d["doc_id"]: d
        for d in docs
        if is_new_version(state.docs.get(d["doc_id"]), hashes[d["doc_id"]])
    }
    result = end_run_on_state(run_id, GroupingConfig(), state, documents, hashes)
    row = write_run(
        root,
        result,
        state,
        {},
        lambda counts: {**base, "status": "ok", "finished_at": datetime.now(UTC), **counts},
    )
    write_run_record(root, row)
    return row


def q(root: Path, sql: str) -> list[tuple]:
    for t in ("documents", "clusters", "cluster_history", "runs", "edges"):
        sql = sql.replace("{" + t + "}", f"'{root}/{t}/**/*.parquet'")
    return duckdb.sql(sql).fetchall()


CLUSTERS = "select cluster_id, merged_into, size from {clusters}"


def test_ids_survive_runs_and_merges_point_at_the_live_cluster(tmp_path: Path) -> None:
    root = tmp_path / "data"
    a, b, c = story(0), story(1), story(2)
    r1, r2, r3, r4 = (new_run_id(T0 + timedelta(hours=h)) for h in range(4))
    row1 = run(root, [doc("a", a, r1, 1), doc("b", b, r1, 2), doc("c", c, r1, 3)], r1)
    assert (row1["documents_new"], row1["clusters_new"]) == (3, 3)
    first = dict(q(root, "select url, cluster_id from {documents}"))
    ca, cb, cc = (first[f"http://{n}.test/story"] for n in "abc")
    assert len({ca, cb, cc}) == 3

    # a page carrying both b and c bridges their clusters: b is older and keeps its id
    row2 = run(root, [doc("bc", b + "\n" + c, r2, 10)], r2)
    assert row2["documents_new"] == 1 and row2["clusters_new"] == 0
    assert row2["clusters_merged"] == 1 and row2["clusters_grown"] == 1
    clusters = {
        r[0]: r[1:] for r in q(root, "select cluster_id, merged_into, size from {clusters}")
    }
    assert clusters[cc][0] == cb and clusters[cb] == (None, 3)

    # a later bridge of a and b: b goes into a, and c's row now names a directly
    row3 = run(root, [doc("ab", a + "\n" + b, r3, 20)], r3)
    assert row3["clusters_merged"] == 1
    clusters = {
        r[0]: r[1:] for r in q(root, "select cluster_id, merged_into, size from {clusters}")
    }
    assert clusters[cb][0] == ca and clusters[cc][0] == ca
    assert clusters[ca] == (None, 5)
    # one query follows any old id to the live cluster
    live = q(
        root,
        "select distinct coalesce(c.merged_into, c.cluster_id) from {documents} d "
        "join {clusters} c using (cluster_id)",
    )
    assert live == [(ca,)]

    # a changed version of c: same doc_id, a new row, no new cluster; unchanged docs add nothing
    edited = c.replace(".", ";", 3)
    row4 = run(root, [doc("c", edited, r4, 30)], r4)
    assert (row4["documents_new"], row4["documents_changed"], row4["clusters_new"]) == (0, 1, 0)
    versions = q(root, "select run_id from {documents} where url = 'http://c.test/story'")
    assert sorted(v for (v,) in versions) == [r1, r4]
    # history holds only what each run changed; created_run never moves
    hist = q(root, "select run_id, cluster_id, created_run from {cluster_history} order by all")
    assert {(r, cid) for r, cid, _ in hist if r == r1} == {(r1, ca), (r1, cb), (r1, cc)}
    assert {cid for r, cid, _ in hist if r == r2} == {cb, cc}
    assert {cid for r, cid, created in hist} == {ca, cb, cc}
    assert all(created == r1 for _, _, created in hist)
    # the committed state lists every run, and every file reads back
    assert CrawlState.load(root).committed_runs == [r1, r2, r3, r4]
    for path in root.rglob("*.parquet"):
        duckdb.sql(f"select count(*) from read_parquet('{path}')").fetchall()


def test_incompatible_signatures_are_refused_with_the_remedy(tmp_path: Path) -> None:
    root = tmp_path / "data"
    r1 = new_run_id(T0)
    run(root, [doc("a", story(0), r1, 1)], r1)
    check_compatible(root, GroupingConfig(duplicate_jaccard=0.5))  # verification only: fine
    with pytest.raises(IncompatibleStateError, match="make reprocess"):
        check_compatible(root, GroupingConfig(shingle_size=4))
    # documents without any state (an older version's data folder): reprocess first
    shutil.rmtree(root / "state")
    with pytest.raises(IncompatibleStateError, match="no state.*make reprocess"):
        check_compatible(root, GroupingConfig())


# --- crash points ----------------------------------------------------------------------------

CRASH_SCRIPT = textwrap.dedent(
    """
    import os, sys
    sys.path[:0] = [{repo!r}, {tests!r}]
    import pipelines.storage.state as state_mod
    import pipelines.storage.commit as write_mod
    import test_state as t

    point = sys.argv[1]
    def die(*a, **k):
        os._exit(137)
    if point == "after-partitions":
        original = write_mod.write_cluster_history
        def hist(*a, **k):
            original(*a, **k)
            die()
        write_mod.write_cluster_history = hist
    elif point == "before-current":
        original_bytes = state_mod.atomic_write_bytes
        def write_bytes(path, data):
            if path.name == "CURRENT":
                die()
            return original_bytes(path, data)
        state_mod.atomic_write_bytes = write_bytes
    elif point == "after-commit":
        write_mod.publish_clusters = die
    from pathlib import Path
    docs = [t.doc(n, t.story(i), sys.argv[3], i) for i, n in enumerate(["x", "y", "z"], 5)]
    t.run(Path(sys.argv[2]), docs, sys.argv[3])
    """
)


@pytest.mark.parametrize("point", ["after-partitions", "before-current", "after-commit"])
def test_a_kill_at_any_commit_step_is_recovered(tmp_path: Path, point: str) -> None:
    root = tmp_path / "data"
    r1 = new_run_id(T0)
    run(root, [doc("a", story(0), r1, 1), doc("b", story(1), r1, 2)], r1)
    script = tmp_path / "crash.py"
    script.write_text(CRASH_SCRIPT.format(repo=str(REPO), tests=str(REPO / "tests")))
    r2 = new_run_id(T0 + timedelta(hours=1))
    proc = subprocess.run(
        [sys.executable, str(script), point, str(root), r2], capture_output=True, text=True
    )
    assert proc.returncode == 137, proc.stderr
    for path in root.rglob("*.parquet"):  # whatever the moment, every file is complete
        duckdb.sql(f"select count(*) from read_parquet('{path}')").fetchall()

    done = recover(root)
    status = dict(q(root, "select run_id, status from {runs}"))
    committed = point == "after-commit"
    assert (current_version(root) == r2) is committed
    assert status[r2] == ("ok" if committed else "interrupted"), done
    n_docs = q(root, "select count(*) from {documents}")[0][0]
    assert n_docs == (5 if committed else 2)
    assert recover(root) == []  # idempotent

    # the next run (the same pages again) completes; every document exactly once
    r3 = new_run_id(T0 + timedelta(hours=2))
    again = [doc(n, story(i), r3, i) for i, n in enumerate(["x", "y", "z"], 5)]
    row = run(root, again, r3)
    assert row["documents_new"] == (0 if committed else 3)
    urls = [u for (u,) in q(root, "select url from {documents}")]
    assert sorted(urls) == sorted({*urls}) and len(urls) == 5
    clusters = q(root, "select count(*) from {clusters} where merged_into is null")[0][0]
    assert clusters == 5


# --- the lock ----------------------------------------------------------------------------------


def test_lock_is_exclusive_and_released_when_the_holder_dies(tmp_path: Path) -> None:
    root = tmp_path / "data"
    with run_lock(root):
        with pytest.raises(RunLockedError):  # taken once per run, in this process too
            run_lock(root).__enter__()
        other = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; sys.path.insert(0, sys.argv[1]);"
                "from pipelines.storage.state import run_lock, RunLockedError\n"
                "try:\n    run_lock(sys.argv[2]).__enter__()\nexcept RunLockedError as e:\n"
                "    print(e); sys.exit(3)",
                str(REPO),
                str(root),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert other.returncode == 3 and "another run holds" in other.stdout
    # a holder killed with SIGKILL leaves the file but not the lock
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; sys.path.insert(0, sys.argv[1]);"
            "from pipelines.storage.state import run_lock\n"
            "with run_lock(sys.argv[2]):\n    print('held', flush=True); time.sleep(600)",
            str(REPO),
            str(root),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(RunLockedError, match="pid"):
            with run_lock(root):
                pass
    finally:
        holder.kill()
        holder.wait()
    with run_lock(root) as path:
        assert path.exists()


def test_bench_figures_merge_into_an_existing_json_file(tmp_path: Path) -> None:
    from bench.recrawl import merge_into

    out = tmp_path / "bench" / "latest.json"
    merge_into(out, {"recrawl_ratio": 0.5})
    out.write_text(out.read_text().replace("}", ', "pages_per_second": 500}'))
    merge_into(out, {"recrawl_ratio": 0.12, "recrawl": {"repeats": []}})
    import json

    assert json.loads(out.read_text()) == {
        "pages_per_second": 500,
        "recrawl_ratio": 0.12,
        "recrawl": {"repeats": []},
    }
