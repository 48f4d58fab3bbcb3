"""The shared frontier (crawler/frontier.py) on a real redis-server, and crawl workers on it
(crawler/worker.py): no page twice, nothing lost when a worker is killed, one rate per domain."""

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
import pytest
import redis

from crawler.frontier import Pushed, RedisFrontier
from demoweb.spawn import REPO_ROOT, server_env


@pytest.fixture
def frontier(redis_url: str, request: pytest.FixtureRequest) -> Any:
    client = redis.Redis.from_url(redis_url)
    prefix = f"t:{request.node.name}"

    def make(worker: str, lease: float = 15.0) -> RedisFrontier:
        f = RedisFrontier(client, prefix, worker, lease=lease)
        f.heartbeat()
        return f

    yield make
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)


def test_a_page_is_queued_once_and_taken_by_one_worker(frontier: Any) -> None:
    a, b = frontier("a"), frontier("b")
    assert a.push(b"r1", "x.test", "GET http://x.test/1")
    assert not b.push(b"r1-again", "x.test", "GET http://x.test/1")  # seen: by any worker
    assert a.push(b"retry", "x.test", None) and a.push(b"retry", "x.test", None)  # no dedup
    assert a.push(b"y1", "y.test", "GET http://y.test/1")
    assert a.push(b"urgent", "x.test", "GET http://x.test/2", priority=10)
    assert a.queued() == 5 and not a.done()
    taken = [t for t in (a.pop(), b.pop(), a.pop(), b.pop(), a.pop(), b.pop()) if t]
    blobs = [t.blob for t in taken]
    assert sorted(blobs) == sorted([b"r1", b"retry", b"retry", b"y1", b"urgent"])
    assert blobs[0] == b"urgent" and blobs[1] == b"y1"  # priority first, then domains in turn
    assert a.queued() == 0 and a.in_flight() == 5 and not a.done()
    for t in taken:
        a.ack(t.seq)
    assert a.done()


def test_what_a_dead_worker_held_comes_back_and_nothing_else(frontier: Any) -> None:
    a, b = frontier("a", lease=0.3), frontier("b", lease=30)
    for i in range(4):
        a.push(f"r{i}".encode(), "x.test", f"GET http://x.test/{i}")
    held_by_a = [a.pop(), a.pop()]
    held_by_b = b.pop()
    a.ack(held_by_a[0].seq)  # done before it died
    assert b.requeue_dead() == 0  # a is still alive
    time.sleep(0.5)  # a's lease runs out: killed, it sent no heartbeat
    assert b.requeue_dead() == 1 and b.queued() == 2
    back = [b.pop(), b.pop()]
    assert held_by_a[1].blob in [t.blob for t in back]  # the one a never finished
    assert b.pop() is None
    for t in (*back, held_by_b):
        b.ack(t.seq)
    assert b.done()


def test_one_rate_per_domain_whoever_asks(frontier: Any) -> None:
    a, b = frontier("a"), frontier("b")
    waits = [f.reserve("x.test", 0.2) for f in (a, b, a, b)]
    # each reservation is 0.2 s after the one before, whichever worker made it
    assert [round(w, 1) for w in waits] == [0.0, 0.2, 0.4, 0.6]
    assert a.reserve("y.test", 0.2) == 0.0  # another domain has its own slots
    assert a.reserve("x.test", 0) == 0.0


def run_worker(redis_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crawler.worker", "--redis", redis_url, *args],
        cwd=REPO_ROOT, env=server_env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_a_finished_crawl_name_is_refused_until_cleared(redis_url: str, tmp_path: Path) -> None:
    """Its seen set would make a new crawl under the same name fetch nothing, silently."""
    client = redis.Redis.from_url(redis_url)
    old = RedisFrontier(client, "st:yesterday", "w1")
    old.push(b"r", "x.test", "GET http://x.test/")
    old.mark_finished()
    assert list(client.scan_iter("st:yesterday:*")) == [b"st:yesterday:finished"]
    missing = str(tmp_path / "no-such-sources.yaml")
    refused = run_worker(redis_url, "--crawl", "yesterday", "--sources", missing)
    assert refused.returncode == 2 and "has finished" in refused.stderr, refused.stderr
    assert "--fresh" in refused.stderr and old.finished_by() == "w1"  # nothing touched
    RedisFrontier(client, "st:yesterday", "other").heartbeat()  # a worker is still on it
    busy = run_worker(redis_url, "--crawl", "yesterday", "--fresh", "--sources", missing)
    assert busy.returncode == 2 and "are running: other" in busy.stderr, busy.stderr
    client.delete("st:yesterday:alive:other")
    fresh = run_worker(redis_url, "--crawl", "yesterday", "--fresh", "--sources", missing)
    assert fresh.returncode == 2 and "no-such-sources.yaml" in fresh.stderr  # then the runner
    assert list(client.scan_iter("st:yesterday:*")) == []
    unreachable = run_worker("redis://127.0.0.1:1/0", "--sources", missing)
    assert unreachable.returncode == 2 and "cannot reach Redis" in unreachable.stderr


# --- workers crawling the demo web ----------------------------------------------------------

SOURCES = "demo_web: {seed: 1, sites: 12, stories: 60}\n"


def worker(
    redis_url: str,
    work: Path,
    name: str,
    crawl: str,
    *,
    delay: float = 0.0,
    lease: float = 3.0,
    sources: str = SOURCES,
) -> subprocess.Popen[bytes]:
    (work / "sources.yaml").write_text(sources)
    log = open(work / f"{name}.log", "wb")  # noqa: SIM115 (closed with the process)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "crawler.worker",
            "--redis",
            redis_url,
            "--worker",
            name,
            "--crawl",
            crawl,
            "--delay",
            str(delay),
            "--lease",
            str(lease),
            "--quiet",
            "--sources",
            str(work / "sources.yaml"),
            "--data",
            str(work / name),
        ],  # fmt: skip
        cwd=REPO_ROOT,
        env=server_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def fetched(folders: list[Path]) -> list[tuple[str, float, str]]:
    files = [str(p) for f in folders for p in (f / "pages").glob("**/*.parquet")]
    if not files:
        return []
    rows = duckdb.sql(
        "select final_url, epoch(fetched_at), regexp_extract(final_url, '//([^/]+)/', 1) "
        f"from read_parquet({files!r})"
    ).fetchall()
    return [(u, float(t), d) for u, t, d in rows]


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """The URLs one ordinary `python -m crawler.run` fetches of the same web."""
    work = tmp_path_factory.mktemp("single")
    (work / "sources.yaml").write_text(SOURCES)
    subprocess.run(
        [sys.executable, "-m", "crawler.run", "--quiet", "--sources", str(work / "sources.yaml"),
         "--data", str(work / "data")],  # fmt: skip
        cwd=REPO_ROOT, env=server_env(), check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    return {u for u, _, _ in fetched([work / "data"])}


def log_of(work: Path, name: str) -> str:
    return (work / f"{name}.log").read_text(errors="replace")[-3000:]


@pytest.mark.crawl
def test_two_workers_fetch_what_one_crawl_fetches_and_no_page_twice(
    redis_url: str, tmp_path: Path, single: set[str]
) -> None:
    procs = [worker(redis_url, tmp_path, f"w{i}", "two", delay=0.01) for i in range(2)]
    for i, p in enumerate(procs):
        assert p.wait(timeout=600) == 0, log_of(tmp_path, f"w{i}")
    rows = fetched([tmp_path / "w0", tmp_path / "w1"])
    urls = [u for u, _, _ in rows]
    assert len(urls) == len(set(urls))  # no page twice
    assert set(urls) == single
    per_worker = [len(fetched([tmp_path / f"w{i}"])) for i in range(2)]
    assert min(per_worker) > 0.2 * len(urls), per_worker  # both did a share of the work
    client = redis.Redis.from_url(redis_url)
    assert list(client.scan_iter("st:two:*")) == [b"st:two:finished"]  # the rest is dropped


@pytest.mark.crawl
def test_a_worker_killed_mid_crawl_loses_nothing(
    redis_url: str, tmp_path: Path, single: set[str]
) -> None:
    """kill -9 at a random moment of the crawl: the other worker fetches what it held."""
    rng = random.Random(os.getpid())
    victim = worker(redis_url, tmp_path, "victim", "kill", delay=0.02, lease=2.0)
    survivor = worker(redis_url, tmp_path, "survivor", "kill", delay=0.02, lease=2.0)
    client = redis.Redis.from_url(redis_url)
    deadline = time.monotonic() + 120
    while int(client.get("st:kill:queued") or 0) < 20 and time.monotonic() < deadline:
        time.sleep(0.1)  # the crawl is under way
    time.sleep(rng.uniform(0.5, 3.0))

    def held() -> int:
        return sum(1 for v in client.hvals("st:kill:inflight") if v.startswith(b"victim\n"))

    # Killed while it holds requests (it holds none between two of them, and on a loaded
    # machine such a gap can last), so that there is something for the survivor to take over.
    while not held() and time.monotonic() < deadline:
        time.sleep(0.002)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    # What it held when it died, read before its leases (2 s) run out.
    orphaned = held()
    assert survivor.wait(timeout=600) == 0, log_of(tmp_path, "survivor")
    rows = fetched([tmp_path / "victim", tmp_path / "survivor"])
    urls = [u for u, _, _ in rows]
    assert set(urls) == single, f"lost {len(single - set(urls))} page(s); victim held {orphaned}"
    # A page the victim had written but not yet acknowledged is fetched again: at most what it
    # held when it died.
    assert len(urls) - len(set(urls)) <= orphaned
    if orphaned:  # (it can ack its last one between the poll above and the kill)
        assert "queued again" in log_of(tmp_path, "survivor")
    assert RedisFrontier(client, "st:kill", "x").finished_by() == "survivor"


@pytest.mark.crawl
def test_two_workers_keep_one_rate_per_domain(redis_url: str, tmp_path: Path) -> None:
    delay = 0.05
    procs = [worker(redis_url, tmp_path, f"p{i}", "polite", delay=delay) for i in range(2)]
    for i, p in enumerate(procs):
        assert p.wait(timeout=600) == 0, log_of(tmp_path, f"p{i}")
    by_domain: dict[str, list[float]] = {}
    for _, t, d in fetched([tmp_path / "p0", tmp_path / "p1"]):
        by_domain.setdefault(d, []).append(t)
    for d, times in by_domain.items():
        if len(times) < 20:
            continue
        times.sort()
        rate = (len(times) - 1) / (times[-1] - times[0])
        assert rate <= 1.1 / delay, f"{d}: {rate:.1f} requests/s, limit {1 / delay:.0f}"


@pytest.mark.crawl
def test_a_worker_whose_redis_dies_stops_and_keeps_what_it_wrote(tmp_path: Path) -> None:
    """Redis killed mid-crawl: the worker stops at once with exit code 1 and says why; its
    run is `interrupted` and everything it wrote reads back."""
    from crawler.redisproc import start_redis

    with start_redis(tmp_path / "redis") as url:
        client = redis.Redis.from_url(url)
        proc = worker(url, tmp_path, "orphan", "orphaned", delay=0.05)
        deadline = time.monotonic() + 120
        while int(client.get("st:orphaned:queued") or 0) < 20 and time.monotonic() < deadline:
            time.sleep(0.1)
    # the redis-server is stopped here, mid-crawl
    assert proc.wait(timeout=120) == 1, log_of(tmp_path, "orphan")
    log = log_of(tmp_path, "orphan")
    assert "stopped: Redis unavailable" in log and "Traceback" not in log, log
    data = tmp_path / "orphan"
    (status,) = duckdb.sql(f"select status from '{data}/runs/**/*.parquet'").fetchall()[0]
    assert status == "interrupted"
    assert len(fetched([data])) > 0


def test_max_pages_counts_the_requests_of_all_workers(frontier: Any) -> None:
    a, b = frontier("a"), frontier("b")
    cap = {"source": "s", "cap": 3}
    assert a.push(b"1", "x.test", "GET http://x.test/1", **cap) is Pushed.QUEUED
    assert b.push(b"2", "x.test", "GET http://x.test/2", **cap) is Pushed.QUEUED
    assert b.push(b"1", "x.test", "GET http://x.test/1", **cap) is Pushed.SEEN  # not counted
    assert a.push(b"3", "y.test", "GET http://y.test/3", **cap) is Pushed.QUEUED
    assert b.push(b"4", "x.test", "GET http://x.test/4", **cap) is Pushed.OVER_LIMIT
    assert not a.push(b"4", "x.test", "GET http://x.test/4", **cap)  # refused, by anyone
    assert a.push(b"1", "x.test", "GET http://x.test/1", **cap) is Pushed.SEEN  # seen comes first
    # another source has its own count; a request pushed without a cap (a retry, a redirect)
    # is not counted and not refused
    assert a.push(b"5", "x.test", "GET http://x.test/5", source="t", cap=3)
    assert a.push(b"retry", "x.test", None, source="s")
    assert a.scheduled("s") == 3 and a.scheduled("t") == 1 and a.queued() == 5
    a.mark_finished()
    assert a.scheduled("s") == 0  # dropped with the rest of the crawl's keys


def test_nothing_is_queued_once_the_crawl_has_finished(frontier: Any) -> None:
    """A worker that joins after the end finds no seen set: its start requests must not start
    the crawl again."""
    a = frontier("a")
    assert a.push(b"r1", "x.test", "GET http://x.test/1")
    a.ack(a.pop().seq)
    a.mark_finished()
    late = frontier("late")
    assert not late.push(b"r1", "x.test", "GET http://x.test/1")
    assert not late.push(b"retry", "x.test", None)
    assert late.queued() == 0 and late.done() and late.pop() is None


@pytest.mark.crawl
def test_max_pages_holds_over_all_workers(redis_url: str, tmp_path: Path, demo_web: Any) -> None:
    """A source's max_pages is one budget for the crawl, not one per worker: two workers on a
    site of more than 25 pages within depth 1 fetch 25 requests between them, like one crawl
    (tests/test_crawl_sources.py)."""
    host = demo_web.web.hosts[0]
    sources = (
        f"proxy: {demo_web.proxy_url}\nsources:\n  - name: one-site\n"
        f"    start_urls: ['http://{host}/']\n    max_pages: 25\n    max_depth: 1\n"
    )
    procs = [
        worker(redis_url, tmp_path, f"m{i}", "capped", delay=0.01, sources=sources)
        for i in range(2)
    ]
    for i, p in enumerate(procs):
        assert p.wait(timeout=300) == 0, log_of(tmp_path, f"m{i}")
    folders = [tmp_path / f"m{i}" for i in range(2)]
    urls = [u for u, _, _ in fetched(folders)]
    assert len(urls) == len(set(urls))
    runs = [
        duckdb.sql(
            f"select pages_fetched, requests_skipped, cut_short from '{f}/runs/**/*.parquet'"
        ).fetchall()[0]
        for f in folders
    ]
    assert sum(r[0] for r in runs) == len(urls)
    assert sum(r[0] + r[1] for r in runs) == 25, runs
    # the links left unfollowed are reported, by the workers that found them
    assert any("max_pages 25" in dict(r[2]).get("one-site", "") for r in runs), runs
