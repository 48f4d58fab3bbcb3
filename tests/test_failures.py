"""What the user gets when a run goes wrong (README "What can go wrong"): codes, rows, messages."""

from __future__ import annotations

import re
import shlex
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest

from demoweb import hostile
from demoweb.spawn import REPO_ROOT, server_env
from pipelines.storage.state import run_lock
from pipelines.storage.store import new_run_id, write_run_record
from tests.conftest import start_demo_web

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")


def run(args: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=REPO_ROOT, env=server_env(), capture_output=True, text=True, timeout=300, **kw
    )


def crawl(sources: Path, data: Path) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "crawler.run", "--sources", str(sources), "--data", str(data)]
    return run(cmd)


def one_page_source(tmp_path: Path, proxy: str, path: str = "/calendar/2026/01") -> Path:
    sources = tmp_path / "sources.yaml"
    sources.write_text(
        f"proxy: {proxy}\nsources:\n  - name: one\n    start_urls: ['http://{hostile.HOST}{path}']\n"
        "    max_depth: 0\n    robots_sitemaps: false\n"
    )
    return sources


def runs(data: Path) -> list[tuple[Any, ...]]:
    return duckdb.sql(
        f"select status, error from '{data}/runs/**/*.parquet' order by run_id"
    ).fetchall()


@pytest.fixture(scope="module")
def small_web(tmp_path_factory: pytest.TempPathFactory) -> Any:
    with start_demo_web(tmp_path_factory.mktemp("small-web"), stories=40) as web:
        yield web


def test_a_run_that_finds_no_article_ends_cleanly(small_web: Any, tmp_path: Path) -> None:
    data = tmp_path / "data"
    result = crawl(one_page_source(tmp_path, small_web.proxy_url), data)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert "documents       0 new" in result.stdout
    assert runs(data) == [("ok", None)]


def test_every_request_failing_is_a_failed_run_naming_the_proxy(tmp_path: Path) -> None:
    with socket.socket() as s:  # a port nothing listens on: every connection is refused
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    data = tmp_path / "data"
    result = crawl(one_page_source(tmp_path, dead), data)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and f"through the proxy {dead}" in errors[0], result.stderr[-2000:]
    assert "no page could be fetched" in errors[0] and "refused" in errors[0].lower()
    ((status, error),) = runs(data)
    assert status == "failed" and "no page could be fetched" in error


def test_the_documented_scheduler_command_returns_the_documented_codes(
    small_web: Any, tmp_path: Path
) -> None:
    """README's systemd ExecStart, run as written, exits 3 on a locked data folder."""
    # the scheduled crawl's unit (the many-machine units of the service and workers are others)
    (command,) = [c for c in re.findall(r"^ExecStart=(.+)$", README, re.M) if "crawler.run" in c]
    assert re.search(r"^SuccessExitStatus=3$", README, re.M)
    argv = shlex.split(command)
    assert argv[0].endswith("/.venv/bin/python") and argv[1:3] == ["-m", "crawler.run"]
    data = tmp_path / "data"
    argv = [sys.executable, *argv[1:]]
    argv[argv.index("--data") + 1] = str(data)
    argv += ["--sources", str(one_page_source(tmp_path, small_web.proxy_url))]
    with run_lock(data, "test"):
        locked = run(argv)
    assert locked.returncode == 3 and "another run holds" in locked.stderr
    assert run(argv).returncode == 0


def test_recovery_is_said_on_stderr(small_web: Any, tmp_path: Path) -> None:
    data = tmp_path / "data"
    killed = new_run_id()
    from datetime import UTC, datetime

    write_run_record(data, {"run_id": killed, "started_at": datetime.now(UTC), "status": "running"})
    result = crawl(one_page_source(tmp_path, small_web.proxy_url), data)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"recovery: run {killed} was interrupted: marked it so" in result.stderr
    # by id: two run ids of one second sort by their random part, not by time
    statuses = dict(duckdb.sql(f"select run_id, status from '{data}/runs/**/*.parquet'").fetchall())
    assert statuses.pop(killed) == "interrupted" and list(statuses.values()) == ["ok"]


def test_the_summary_suggestion_runs_from_a_fresh_clone(small_web: Any, tmp_path: Path) -> None:
    data = tmp_path / "data"
    result = crawl(one_page_source(tmp_path, small_web.proxy_url, "/cp1252.html"), data)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    suggestion = lines[lines.index("  start with:") + 1].strip()
    shown = subprocess.run(suggestion, shell=True, capture_output=True, text=True, timeout=60)
    assert shown.returncode == 0, shown.stderr
    assert "cluster_id" in shown.stdout and "origin_domain" in shown.stdout
