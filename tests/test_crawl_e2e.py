"""End to end: crawl the suite's demo web as a user would, read every table back with DuckDB."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import duckdb
import pytest

from pipelines.core.urls import canonicalise_url

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def crawl(demo_crawl: dict[str, Any]) -> dict[str, Any]:
    """The session's crawl of the demo web (tests/conftest.py: demo_crawl)."""
    return demo_crawl


def q(data: Path, sql: str) -> list[tuple]:
    for table in ("pages", "documents", "clusters", "edges", "runs"):
        sql = sql.replace("{" + table + "}", f"'{data}/{table}/**/*.parquet'")
    return duckdb.sql(sql).fetchall()


def truth(web: Any) -> list[dict[str, Any]]:
    return list(web.truth_rows())


def test_every_reachable_article_is_exactly_one_document(crawl: dict[str, Any]) -> None:
    rows = truth(crawl["web"])
    articles = {
        canonicalise_url(r["url"])
        for r in rows
        if r["page_kind"] == "article" and not r["disallowed"]
    }
    docs = q(crawl["data"], "select url from {documents}")
    doc_urls = [canonicalise_url(u) for (u,) in docs]
    assert len(doc_urls) == len(set(doc_urls)), "a URL became two documents"
    missing = articles - set(doc_urls)
    assert not missing, f"{len(missing)} articles not documents, e.g. {sorted(missing)[:3]}"
    extra = set(doc_urls) - articles
    assert not extra, f"non-article pages became documents: {sorted(extra)[:5]}"


def test_no_robots_disallowed_url_was_requested(crawl: dict[str, Any]) -> None:
    disallowed = {canonicalise_url(r["url"]) for r in truth(crawl["web"]) if r["disallowed"]}
    assert disallowed, "the demo web should have robots-disallowed pages"
    fetched = {canonicalise_url(u) for (u,) in q(crawl["data"], "select url from {pages}")}
    fetched |= {canonicalise_url(u) for (u,) in q(crawl["data"], "select final_url from {pages}")}
    assert not fetched & disallowed
    # and the robots.txt files themselves were fetched and recorded
    robots = [u for u in fetched if urlsplit(u).path == "/robots.txt"]
    assert len(robots) == len(crawl["web"].hosts)


def test_cluster_ids_join_and_edges_stay_inside_clusters(crawl: dict[str, Any]) -> None:
    data = crawl["data"]
    orphans = q(
        data, "select count(*) from {documents} d anti join {clusters} c using (cluster_id)"
    )
    assert orphans == [(0,)]
    sizes = q(
        data,
        "select c.cluster_id, c.size, count(*) from {clusters} c join {documents} d "
        "using (cluster_id) group by all having c.size <> count(*)",
    )
    assert sizes == []
    cross = q(
        data,
        "select count(*) from {edges} e join {documents} a on a.doc_id = e.doc_a "
        "join {documents} b on b.doc_id = e.doc_b where a.cluster_id <> b.cluster_id",
    )
    assert cross == [(0,)]
    n_edges, n_multi = q(
        data,
        "select (select count(*) from {edges}), (select count(*) from {clusters} where size > 1)",
    )[0]
    assert n_edges >= n_multi > 0


def test_runs_row_counts_what_happened(crawl: dict[str, Any]) -> None:
    data = crawl["data"]
    (run,) = q(
        data,
        "select status, pages_fetched, pages_failed, documents_new, clusters_new, "
        "finished_at is not null, grouping_config from {runs}",
    )
    status, fetched, failed, docs, clusters, finished, config = run
    assert status == "ok" and finished
    assert fetched == q(data, "select count(*) from {pages}")[0][0]
    assert failed == q(data, "select count(*) from {pages} where error is not null")[0][0]
    (skipped,) = q(data, "select requests_skipped from {runs}")[0]
    assert skipped > 0  # robots.txt forbade the search pages the sites link to
    assert docs == q(data, "select count(*) from {documents}")[0][0]
    assert clusters == q(data, "select count(*) from {clusters}")[0][0]
    assert config == q(data, "select distinct grouping_config from {documents}")[0][0]


def test_summary_is_printed(crawl: dict[str, Any]) -> None:
    out = crawl["stdout"]
    assert "pages fetched" in out and "documents" in out and "largest clusters" in out
    assert "import duckdb; duckdb.read_parquet(" in out  # runs: tests/test_failures.py
    assert "pages/s" in crawl["stderr"]  # the progress line


def test_reprocess_gives_the_same_documents_and_clusters(
    crawl: dict[str, Any], tmp_path: Path
) -> None:
    """`make reprocess` (python -m pipelines.reprocess) rebuilds exactly what the crawl wrote."""
    import shutil

    copy = tmp_path / "data"
    shutil.copytree(crawl["data"], copy)
    queries = {
        "documents": "select doc_id, run_id, cluster_id, content_hash, text from {documents} "
        "order by 1, 2",
        "clusters": "select * from {clusters} order by cluster_id",
        "edges": "select doc_a, doc_b, relation from {edges} order by 1, 2, 3",
    }
    before = {table: q(copy, sql) for table, sql in queries.items()}
    proc = subprocess.run(
        [sys.executable, "-m", "pipelines.reprocess", "--data", str(copy)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Reprocessed" in proc.stdout
    assert len(before["documents"]) > 0
    for table, sql in queries.items():
        assert q(copy, sql) == before[table], table
    # nothing left over from the swap (the lock file stays: it is the run lock)
    assert not [p for p in copy.iterdir() if p.name.startswith(".") and p.name != ".lock"]
