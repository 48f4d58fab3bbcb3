"""Scheduled runs end to end: `python -m crawler.run` against the demo web, run after run.

One clean crawl of day 1 is the reference; the tests copy its data folder and go on from it:
an unchanged re-crawl, the web moved to day 2, a second run while the lock is held, a run with
incomparable grouping settings, and crawls killed with SIGKILL at random moments.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines.core.urls import canonical_doc_id, canonicalise_url
from pipelines.storage.state import run_lock

REPO = Path(__file__).resolve().parent.parent


def sources_file(folder: Path, web: Any) -> Path:
    path = folder / f"sources-day{web.day}.yaml"
    path.write_text(
        f"demo_web: {{seed: {web.seed}, sites: {web.sites}, stories: {web.stories}, "
        f"day: {web.day}}}\nproxy: {web.proxy_url}\n"
    )
    return path


def crawl_command(sources: Path, data: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "crawler.run",
        "--sources",
        str(sources),
        "--data",
        str(data),
        "--bench",
        "--quiet",
        *extra,
    ]


def run_command(
    command: list[str], *, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run a command from the repository root; its output captured as text."""
    return subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=timeout, env=env
    )


def crawl(sources: Path, data: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return run_command(crawl_command(sources, data, *extra))


def q(data: Path, sql: str, params: list[Any] | None = None) -> list[tuple]:
    for t in ("pages", "documents", "clusters", "cluster_history", "edges", "runs"):
        sql = sql.replace("{" + t + "}", f"'{data}/{t}/**/*.parquet'")
    return duckdb.execute(sql, params or []).fetchall()


def runs(data: Path) -> list[dict[str, Any]]:
    cols = (
        "run_id, status, pages_fetched, pages_new, pages_not_modified, pages_failed, "
        "documents_new, documents_changed, clusters_new, clusters_grown, clusters_merged"
    )
    rows = q(data, f"select {cols} from {{runs}} order by run_id")
    names = [c.strip() for c in cols.split(",")]
    return [dict(zip(names, r, strict=True)) for r in rows]


def every_parquet_file_reads(data: Path) -> int:
    files = sorted(data.rglob("*.parquet"))
    for path in files:
        duckdb.sql(f"select count(*) from read_parquet('{path}')").fetchall()
    return len(files)


def truth_articles(web: Any) -> dict[str, dict[str, Any]]:
    return {
        canonicalise_url(r["url"]): r
        for r in web.truth_rows()
        if r["page_kind"] == "article" and not r["disallowed"]
    }


@pytest.fixture(scope="module")
def reference(demo_web: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A clean single crawl of day 1 (the suite's small web), and how long it took."""
    work = tmp_path_factory.mktemp("schedule")
    sources = sources_file(work, demo_web)
    data = work / "reference"
    started = time.monotonic()
    proc = crawl(sources, data)
    assert proc.returncode == 0, proc.stderr[-5000:]
    return {
        "work": work,
        "sources": sources,
        "data": data,
        "seconds": time.monotonic() - started,
        "web": demo_web,
    }


def copy_of(reference: dict[str, Any], name: str) -> Path:
    target = reference["work"] / name
    shutil.copytree(reference["data"], target)
    return target


def test_recrawl_of_an_unchanged_web_adds_nothing(reference: dict[str, Any]) -> None:
    data = copy_of(reference, "unchanged")
    before_docs = q(data, "select count(*) from {documents}")[0][0]
    before_clusters = sorted(q(data, "select * from {clusters}"))
    proc = crawl(reference["sources"], data)
    assert proc.returncode == 0, proc.stderr[-5000:]
    first, second = runs(data)
    assert first["status"] == second["status"] == "ok"
    assert first["documents_new"] == before_docs > 0
    assert second["documents_new"] == second["documents_changed"] == 0
    assert second["clusters_new"] == second["clusters_grown"] == second["clusters_merged"] == 0
    assert second["pages_new"] == 0 and second["pages_failed"] == 0
    # most requests are answered 304, and the pages table says so row by row
    assert second["pages_not_modified"] >= 0.9 * second["pages_fetched"] > 0
    statuses = Counter(
        s for (s,) in q(data, "select status from {pages} where run_id = ?", [second["run_id"]])
    )
    assert statuses[304] == second["pages_not_modified"]
    assert q(data, "select count(*) from {documents}")[0][0] == before_docs
    assert sorted(q(data, "select * from {clusters}")) == before_clusters
    # the run's log file went under DATA/logs
    log = data / "logs" / f"{second['run_id']}.log"
    assert "Spider closed" in log.read_text()


def test_day_two_adds_what_the_web_added_and_keeps_every_cluster_id(
    reference: dict[str, Any], demo_web_factory: Any
) -> None:
    data = copy_of(reference, "day2")
    day1 = truth_articles(reference["web"].web)
    with demo_web_factory(day=2) as web2:
        day2 = truth_articles(web2.web)
        proc = crawl(sources_file(reference["work"], web2), data, "--demo-day", "2")
    assert proc.returncode == 0, proc.stderr[-5000:]
    r1, r2 = runs(data)
    assert r2["status"] == "ok"

    new = set(day2) - set(day1)
    changed = {u for u in day1 if u in day2 and day1[u]["clean_text"] != day2[u]["clean_text"]}
    assert new and changed, "the demo web's day 2 should add and edit articles"
    docs = q(data, "select url, doc_id, cluster_id, run_id from {documents}")
    second = {canonicalise_url(u): c for u, _, c, r in docs if r == r2["run_id"]}
    assert set(second) == new | changed
    assert (r2["documents_new"], r2["documents_changed"]) == (len(new), len(changed))
    # a changed page is a new version of the same document: one doc_id, two rows
    versions = Counter(d for _, d, _, _ in docs)
    assert sorted(versions.values()).count(2) == len(changed) and max(versions.values()) == 2

    clusters = {
        c: (created, merged)
        for c, created, merged in q(
            data, "select cluster_id, created_run, merged_into from {clusters}"
        )
    }
    live = {c: (merged or c) for c, (_, merged) in clusters.items()}
    first = {canonicalise_url(u): c for u, _, c, r in docs if r == r1["run_id"]}
    # every day-1 cluster id is still published and names the same copy family
    day1_families: dict[str, Counter[str]] = defaultdict(Counter)
    for u, c in first.items():
        day1_families[c][day1[u]["family_id"]] += 1
    assert set(day1_families) <= set(clusters)
    family_cluster = {fams.most_common(1)[0][0]: c for c, fams in day1_families.items()}
    placed = wrong = 0
    for u in new:
        family = day2[u]["family_id"]
        cluster = live[second[u]]
        if family in family_cluster:  # a new copy of a known story joins its cluster
            ok = cluster == live[family_cluster[family]]
        else:  # a new story gets a new cluster, created by this run
            ok = clusters[cluster][0] == r2["run_id"]
        placed += ok
        wrong += not ok
    assert wrong <= 0.1 * len(new), f"{wrong} of {len(new)} new articles grouped wrongly"
    assert r2["clusters_new"] == sum(
        1 for created, _ in clusters.values() if created == r2["run_id"]
    )
    # merges: every absorbed id names a live cluster, and the run counted the ones it made
    # (day 1 published no merged row, so none was re-pointed on day 2)
    merged = q(
        data, "select merged_into, updated_run from {clusters} where merged_into is not null"
    )
    assert all(clusters[m][1] is None for m, _ in merged)
    assert r2["clusters_merged"] == sum(1 for _, run in merged if run == r2["run_id"])

    # edges: one row per pair within a run; a pair is measured again only in the run that saw
    # one of its documents change (the later row describes the current versions)
    edges = q(data, "select least(doc_a, doc_b), greatest(doc_a, doc_b), run_id from {edges}")
    per_run = Counter((a, b, run) for a, b, run in edges)
    assert max(per_run.values()) == 1
    changed_ids = {canonical_doc_id(u) for u in changed}
    runs_of: dict[tuple[str, str], set[str]] = defaultdict(set)
    for a, b, run in edges:
        runs_of[a, b].add(run)
    repeated = {pair for pair, found in runs_of.items() if len(found) > 1}
    assert repeated, "day 2 edits copies that have partners: their pairs are measured again"
    assert all(set(pair) & changed_ids for pair in repeated)
    assert all(runs_of[pair] == {r1["run_id"], r2["run_id"]} for pair in repeated)


def test_a_second_run_fails_fast_while_the_first_holds_the_lock(
    reference: dict[str, Any],
) -> None:
    data = copy_of(reference, "locked")
    with run_lock(data) as lock:
        holder = lock.read_text()
        assert f"pid {os.getpid()}" in holder
        listing = sorted((p, p.stat().st_mtime_ns, p.stat().st_size) for p in data.rglob("*"))
        proc = run_command(crawl_command(reference["sources"], data), timeout=120)
        after = sorted((p, p.stat().st_mtime_ns, p.stat().st_size) for p in data.rglob("*"))
    assert proc.returncode == 3, proc.stderr[-3000:]
    assert "another run holds" in proc.stderr and str(data / ".lock") in proc.stderr
    assert holder.strip() in proc.stderr  # says who holds it
    assert after == listing  # touched nothing, not even the lock file


def test_incomparable_grouping_settings_stop_before_any_request(
    reference: dict[str, Any], tmp_path: Path
) -> None:
    data = copy_of(reference, "incomparable")
    (tmp_path / "w4_settings.py").write_text(
        "from crawler.settings import *  # noqa\nGROUPING = {'shingle_size': 4}\n"
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(tmp_path)])
    env["SCRAPY_SETTINGS_MODULE"] = "w4_settings"
    pages_before = q(data, "select count(*) from {pages}")[0][0]
    proc = run_command(crawl_command(reference["sources"], data), env=env, timeout=120)
    assert proc.returncode == 4, proc.stderr[-3000:]
    assert "not comparable" in proc.stderr and "make reprocess" in proc.stderr
    assert q(data, "select count(*) from {pages}")[0][0] == pages_before
    assert len(runs(data)) == 1

    # the remedy it names: reprocess under the new settings, then crawl again
    docs_before = sorted(q(data, "select doc_id, run_id from {documents}"))
    redo = run_command([sys.executable, "-m", "pipelines.reprocess", "--data", str(data)], env=env)
    assert redo.returncode == 0, redo.stderr[-3000:]
    assert sorted(q(data, "select doc_id, run_id from {documents}")) == docs_before
    assert q(data, "select distinct grouping_config from {documents}")[0][0].startswith("n1_w4_")
    again = run_command(crawl_command(reference["sources"], data), env=env)
    assert again.returncode == 0, again.stderr[-3000:]
    last = runs(data)[-1]
    assert last["documents_new"] == last["documents_changed"] == last["clusters_new"] == 0
    assert last["pages_not_modified"] >= 0.9 * last["pages_fetched"]


def test_a_state_from_before_the_character_lead_is_refused_with_its_remedy(
    reference: dict[str, Any],
) -> None:
    """A state written before ``lead_chars`` existed (its saved config has no such key) was
    made with the word lead: the crawl stops before any request with exit 4, names the
    field, and `make reprocess` is the remedy."""
    import json

    from pipelines.storage.state import state_root

    data = copy_of(reference, "before-char-lead")
    root = state_root(data)
    manifest = root / (root / "CURRENT").read_text().strip() / "manifest.json"
    saved = json.loads(manifest.read_text())
    del saved["config"]["lead_chars"]
    manifest.write_text(json.dumps(saved))
    pages_before = q(data, "select count(*) from {pages}")[0][0]
    proc = run_command(crawl_command(reference["sources"], data), timeout=120)
    assert proc.returncode == 4, proc.stderr[-3000:]
    assert "lead_chars: 0 -> 200" in proc.stderr and "make reprocess" in proc.stderr
    assert q(data, "select count(*) from {pages}")[0][0] == pages_before


def test_crawls_killed_at_random_moments_lose_and_duplicate_nothing(
    reference: dict[str, Any],
) -> None:
    want = sorted(d for (d,) in q(reference["data"], "select doc_id from {documents}"))
    want_groups = sorted(
        sorted(g)
        for (g,) in q(reference["data"], "select list(doc_id) from {documents} group by cluster_id")
    )
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    bound = max(reference["seconds"], 5.0)
    # random moments up to the length of a whole run, plus one at the end-of-run commit (each
    # costs a crawl and a rerun; the seed differs from run to run, so the moments add up)
    delays: list[float | None] = [rng.uniform(0.5, bound) for _ in range(2)] + [None]
    for k, delay in enumerate(delays):
        data = reference["work"] / f"killed-{k}"
        proc = subprocess.Popen(
            crawl_command(reference["sources"], data),
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # the extraction workers die with it, as under systemd
        )
        if delay is None:  # as soon as the run's first documents file appears
            deadline = time.monotonic() + 300
            while not list(data.glob("documents/run_id=*/*.parquet")):
                assert proc.poll() is None and time.monotonic() < deadline, f"seed {seed}"
                time.sleep(0.01)
        else:
            time.sleep(delay)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        where = f"(seed {seed}, kill {k} after {delay})"
        if data.exists():
            every_parquet_file_reads(data)
        rerun = crawl(reference["sources"], data)
        assert rerun.returncode == 0, where + rerun.stderr[-5000:]
        assert every_parquet_file_reads(data) > 0
        got = sorted(d for (d,) in q(data, "select doc_id from {documents}"))
        assert got == want, f"documents lost or duplicated {where}"
        groups = sorted(
            sorted(g)
            for (g,) in q(
                data,
                "select list(d.doc_id) from {documents} d join {clusters} c using (cluster_id) "
                "group by coalesce(c.merged_into, c.cluster_id)",
            )
        )
        assert groups == want_groups, f"clusters differ from a clean run {where}"
        statuses = [r["status"] for r in runs(data)]
        assert statuses[-1] == "ok" and "running" not in statuses, where
