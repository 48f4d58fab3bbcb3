"""A crawl of your own sources (not the demo_web block), through the standard http_proxy."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb

REPO = Path(__file__).resolve().parent.parent


def test_own_sources_with_limits_through_http_proxy_env(demo_web: Any, tmp_path: Path) -> None:
    host = demo_web.web.hosts[0]
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        "sources:\n"
        f"  - name: one-site\n"
        f"    start_urls: ['http://{host}/']\n"
        f"    max_pages: 25\n"
        f"    max_depth: 1\n"
    )
    data = tmp_path / "data"
    home = tmp_path / "home"  # a crawl writes nothing outside its data folder (nor in $HOME)
    home.mkdir()
    env = dict(os.environ, http_proxy=demo_web.proxy_url, PYTHONPATH=str(REPO), HOME=str(home))
    env.pop("XDG_STATE_HOME", None)
    proc = subprocess.run(
        [sys.executable, "-m", "crawler.run", "--sources", str(sources), "--data", str(data)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert list(home.rglob("*")) == []
    assert "Remote control" not in proc.stderr  # no code-execution server on a local port
    assert "leaked" not in proc.stderr  # nothing complains at exit (native bindings, threads)
    pages = duckdb.sql(
        f"select url, status, source, depth from '{data}/pages/**/*.parquet'"
    ).fetchall()
    assert pages and all(source == "one-site" for _, _, source, _ in pages)
    assert all(status == 200 for _, status, _, _ in pages if status)
    hosts = {u.split("/")[2] for u, *_ in pages}
    assert hosts == {host}  # allowed_domains default to the start URL's host
    # max_pages counts distinct requests of the source (robots.txt and its sitemaps included;
    # pages robots.txt disallows are requests too): the site has more than 25 pages within
    # depth 1, so exactly 25. A link seen again on another page is not another request.
    fetched, skipped = duckdb.sql(
        f"select pages_fetched, requests_skipped from '{data}/runs/**/*.parquet'"
    ).fetchall()[0]
    assert fetched == len(pages)
    assert fetched + skipped == 25
    assert max(d for *_, d in pages) <= 1
    docs = duckdb.sql(f"select count(*) from '{data}/documents/**/*.parquet'").fetchall()[0][0]
    assert docs > 0


def test_requests_waiting_for_robots_txt_all_obey_it(demo_web: Any, tmp_path: Path) -> None:
    """Several disallowed pages of one host asked for at once, while its robots.txt is still
    on its way: every one of them is refused (a third waiter used to get no rules at all)."""
    host = sorted(demo_web.web.world.sites, key=lambda s: s.host)[0].host
    urls = [f"http://{host}/search?q=q{i}" for i in range(8)]
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        f"proxy: {demo_web.proxy_url}\nsources:\n  - name: waiters\n"
        f"    start_urls: {urls!r}\n    max_depth: 0\n    robots_sitemaps: false\n"
    )
    data = tmp_path / "data"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "crawler.run",
            "--quiet",
            "--sources",
            str(sources),
            "--data",
            str(data),
        ],  # fmt: skip
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    pages = [str(p) for p in (data / "pages").glob("**/*.parquet")]
    fetched = (
        duckdb.sql(f"select final_url from read_parquet({pages!r})").fetchall() if pages else []
    )
    assert fetched == [], proc.stderr[-3000:]  # not one of them was asked for
    skipped = duckdb.sql(f"select requests_skipped from '{data}/runs/**/*.parquet'").fetchall()[0]
    assert skipped == (len(urls),), proc.stderr[-3000:]
