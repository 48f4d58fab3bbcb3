"""One grouping service fed by crawl workers through a Redis stream (pipelines/service.py,
crawler/handoff.py, crawler/cluster.py), on a real redis-server and the real demo web: the run
equals a single `make crawl` of the same web, and killing a worker or the service with -9 at
random moments loses and duplicates nothing."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import polars as pl
import pytest
import redis

from demoweb.spawn import REPO_ROOT, server_env
from pipelines.storage.pagestream import PageStream

SOURCES = "demo_web: {seed: 1, sites: 12, stories: 60}\n"
SMALL = "demo_web: {seed: 3, sites: 12, stories: 12}\n"


def py(*args: str, timeout: float = 600, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=REPO_ROOT, env=server_env(), capture_output=True,
        text=True, timeout=timeout, **kw,
    )  # fmt: skip


def spawn(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", *args], cwd=REPO_ROOT, env=server_env(), stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip


def partition(data: Path) -> set[frozenset[str]]:
    """The run's clusters as sets of doc ids (a cluster merged into another counts as that one)."""
    docs = duckdb.sql(
        f"select doc_id, cluster_id from read_parquet('{data}/documents/**/*.parquet')"
    ).fetchall()
    merged = dict(
        duckdb.sql(
            f"select cluster_id, merged_into from read_parquet('{data}/clusters/*.parquet') "
            "where merged_into is not null"
        ).fetchall()
    )
    groups: dict[str, set[str]] = {}
    for doc, cluster in docs:
        while cluster in merged:
            cluster = merged[cluster]
        groups.setdefault(cluster, set()).add(doc)
    return {frozenset(g) for g in groups.values()}


def doc_ids(data: Path) -> list[str]:
    sql = f"select doc_id from read_parquet('{data}/documents/**/*.parquet')"
    return [r[0] for r in duckdb.sql(sql).fetchall()]


def page_urls(data: Path, run_id: str | None = None) -> list[str]:
    where = f"where run_id = '{run_id}'" if run_id else ""
    return [r[0] for r in duckdb.sql(
        f"select url from read_parquet('{data}/pages/**/*.parquet', hive_partitioning=true) "
        f"{where}").fetchall()]  # fmt: skip


def runs(data: Path) -> list[dict[str, Any]]:
    return pd.read_parquet(data / "runs").sort_values("started_at").to_dict("records")


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The data folder of one ordinary `python -m crawler.run` of the web (one run)."""
    work = tmp_path_factory.mktemp("single")
    (work / "sources.yaml").write_text(SOURCES)
    done = py("crawler.run", "--quiet", "--sources", str(work / "sources.yaml"), "--data",
              str(work / "data"))  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return work / "data"


@pytest.mark.crawl
def test_crawl_cluster_of_two_workers_equals_make_crawl(single: Path, tmp_path: Path) -> None:
    (tmp_path / "sources.yaml").write_text(SOURCES)
    data = tmp_path / "data"
    cluster = ["crawler.cluster", "--workers", "2", "--delay", "0.01", "--lease", "3", "--quiet",
               "--sources", str(tmp_path / "sources.yaml"), "--data", str(data)]  # fmt: skip
    done = py(*cluster)
    assert done.returncode == 0, done.stderr[-3000:]
    ids = doc_ids(data)
    assert len(ids) == len(set(ids)) and set(ids) == set(doc_ids(single))
    assert partition(data) == partition(single)
    urls = page_urls(data)
    assert len(urls) == len(set(urls)) and set(urls) == set(page_urls(single))
    (row,) = runs(data)
    (alone,) = runs(single)
    assert row["status"] == "ok" and pd.isna(row["error"])
    for key in ("pages_fetched", "pages_new", "documents_new", "clusters_new", "clusters_merged"):
        assert row[key] == alone[key], key
    # both workers did a share (their log files), and the datasets read as usual
    logs = sorted((data / "logs").glob(f"{row['run_id']}-w*.log"))
    assert len(logs) == 2
    assert pl.read_parquet(data / "documents" / "**" / "*.parquet").height == len(ids)
    assert (data / "demo-web" / "web.json").is_file()  # for `make evaluate`

    # The next run of each is incremental the same way: the workers asked conditionally with
    # the state the service published.
    again = py("crawler.run", "--quiet", "--sources", str(tmp_path / "sources.yaml"), "--data",
               str(tmp_path / "single-copy"))  # fmt: skip
    assert again.returncode == 0, again.stderr[-3000:]
    done = py(*cluster)
    assert done.returncode == 0, done.stderr[-3000:]
    first, second = runs(data)
    assert second["pages_not_modified"] == second["pages_fetched"] > 0
    assert second["pages_fetched"] < first["pages_fetched"] and second["documents_new"] == 0
    assert partition(data) == partition(single)


@pytest.mark.crawl
def test_workers_and_the_service_killed_with_minus_9_lose_and_duplicate_nothing(
    single: Path, redis_url: str, tmp_path: Path
) -> None:
    seed = os.getpid()
    rng = random.Random(seed)
    (tmp_path / "sources.yaml").write_text(SOURCES)
    data, crawl = tmp_path / "data", f"kill{seed}"
    service_cmd = ["pipelines.service", "--redis", redis_url, "--crawl", crawl, "--data",
                   str(data), "--quiet", "--poll", "0.2"]  # fmt: skip

    def worker(name: str) -> subprocess.Popen[bytes]:
        return spawn(["crawler.worker", "--redis", redis_url, "--crawl", crawl, "--service",
                      "--worker", name, "--delay", "0.02", "--lease", "2", "--sources",
                      str(tmp_path / "sources.yaml")], tmp_path / f"{name}.log")  # fmt: skip

    service = spawn(service_cmd, tmp_path / "service-1.log")
    PageStream(redis.Redis.from_url(redis_url), crawl).wait_for_run(60)
    w1, w2 = worker("w1"), worker("w2")
    moments = sorted(rng.uniform(1.0, 6.0) for _ in range(2))
    victims = ["w1", "service"]
    rng.shuffle(victims)
    start = time.monotonic()
    for at, victim in zip(moments, victims, strict=True):
        time.sleep(max(0.0, start + at - time.monotonic()))
        (w1 if victim == "w1" else service).send_signal(signal.SIGKILL)
    w1.wait()
    service.wait()
    w3 = worker("w3")  # a worker started in the middle of the run joins it
    time.sleep(rng.uniform(0.5, 3.0))
    service = spawn(service_cmd, tmp_path / "service-2.log")  # resumes the run
    for name, proc in (("w2", w2), ("w3", w3)):
        assert proc.wait(timeout=600) == 0, (seed, (tmp_path / f"{name}.log").read_text()[-3000:])
    assert service.wait(timeout=600) == 0, (seed, (tmp_path / "service-2.log").read_text())
    note = (seed, moments, victims, (tmp_path / "service-2.log").read_text())
    ids = doc_ids(data)
    assert len(ids) == len(set(ids)), note  # no document twice
    assert set(ids) == set(doc_ids(single)), note  # none lost
    assert partition(data) == partition(single), note
    (row,) = runs(data)
    assert row["status"] == "ok", note
    urls = page_urls(data, row["run_id"])
    assert len(urls) == len(set(urls)) and set(urls) == set(page_urls(single)), note
    client = redis.Redis.from_url(redis_url)
    assert list(client.scan_iter(f"st:{crawl}:*")) == [f"st:{crawl}:finished".encode()], note


@pytest.mark.crawl
def test_a_service_killed_after_its_commit_finishes_the_run_when_started_again(
    redis_url: str, tmp_path: Path
) -> None:
    """The narrow window between the commit and the acknowledgement of the stream's entries."""
    from pipelines.reprocess import project_grouping
    from pipelines.service import GroupingService

    (tmp_path / "sources.yaml").write_text(SMALL)
    client = redis.Redis.from_url(redis_url)
    data, crawl = tmp_path / "data", "aftercommit"
    service = GroupingService(client, crawl, data, project_grouping(), report=lambda line: None)
    rid = service.open()
    worker = spawn(["crawler.worker", "--redis", redis_url, "--crawl", crawl, "--service",
                    "--delay", "0", "--sources", str(tmp_path / "sources.yaml")],
                   tmp_path / "w.log")  # fmt: skip

    class Killed(Exception):
        pass

    def killed(ids: Any) -> int:
        raise Killed

    service.stream.ack = killed  # type: ignore[method-assign]  # the process dies right here
    with pytest.raises(Killed):
        service.serve(poll=0.2)
    assert worker.wait(timeout=300) == 0, (tmp_path / "w.log").read_text()[-3000:]
    stream = PageStream(client, crawl)
    assert stream.run_info() is not None and stream.backlog() > 0  # nothing acknowledged yet
    pages_before = sorted(page_urls(data))
    lines: list[str] = []
    again = GroupingService(client, crawl, data, project_grouping(), report=lines.append)
    assert again.open() is None
    assert any(f"run {rid} was committed" in line for line in lines), lines
    assert stream.run_info() is None and stream.backlog() == 0
    assert sorted(page_urls(data)) == pages_before  # nothing taken twice
    (row,) = runs(data)
    assert row["run_id"] == rid and row["status"] == "ok" and row["documents_new"] > 0


def test_clear_errors_without_a_service_or_redis(redis_url: str, tmp_path: Path) -> None:
    (tmp_path / "sources.yaml").write_text(SMALL)
    alone = py("crawler.worker", "--redis", redis_url, "--crawl", "nobody", "--service", "--wait",
               "0.3", "--sources", str(tmp_path / "sources.yaml"), timeout=60)  # fmt: skip
    assert alone.returncode == 2, alone.stderr
    assert "no grouping service has opened a run for crawl 'nobody'" in alone.stderr
    assert "python -m pipelines.service" in alone.stderr
    fresh = py("crawler.worker", "--redis", redis_url, "--service", "--fresh", timeout=60)
    assert fresh.returncode == 2 and "--fresh and --service" in fresh.stderr
    unreachable = py("pipelines.service", "--redis", "redis://127.0.0.1:1/0", "--data",
                     str(tmp_path / "d"), timeout=60)  # fmt: skip
    assert unreachable.returncode == 2 and "cannot reach Redis" in unreachable.stderr
    from pipelines.storage.state import run_lock

    with run_lock(tmp_path / "d"):
        locked = py("pipelines.service", "--redis", redis_url, "--crawl", "locked", "--data",
                    str(tmp_path / "d"), timeout=60)  # fmt: skip
    assert locked.returncode == 3 and "another run holds" in locked.stderr
    assert PageStream(redis.Redis.from_url(redis_url), "locked").run_info() is None
