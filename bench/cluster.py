"""The grouping service and its crawl workers at scale on this machine, beside one `make crawl`.

    python -m bench.cluster [--workers 1,2] [--repeat 3] [--sites 12] [--stories 60]
        [--delay 0] [--out FILE]

Per run, over one demo web (started once, shared by everything):
- baseline: one `python -m crawler.run --bench` of the web (a fresh data folder);
- for each worker count N: a redis-server of its own, `python -m pipelines.service` and N
  `python -m crawler.worker --service --bench --delay D` (D = 0: no shared politeness, the
  machine's limit; D > 0: the crawl is paced by politeness, not by the machine).

Measured: wall seconds (first process started to the service's exit), pages/s, the service's
own work (seconds spent taking entries and seconds of the end of the run, from its
`service: took ...` line), Redis commands/s and its peak memory, the bytes per stream entry,
and the peak resident memory of the service and of each worker with its extraction pool
(the sum over the process tree, polled every 0.1 s). Medians over `--repeat` runs, the
configurations interleaved; ratios against the baseline of the same runs.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
import redis

from crawler.redisproc import start_redis
from crawler.run import demo_web_server
from crawler.sources import DemoWebConfig

TOOK = re.compile(
    r"took (\d+) entries \((\d+) bytes\) in ([\d.]+) s of work; end of run ([\d.]+) s "
    r"for (\d+) document"
)


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and all its descendants (0 once gone)."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo.extend(int(c) for c in f.read().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def watch(procs: dict[str, subprocess.Popen[bytes]]) -> dict[str, int]:
    """Wait for every process; the peak tree RSS of each."""
    peak = dict.fromkeys(procs, 0)
    while any(p.poll() is None for p in procs.values()):
        for name, p in procs.items():
            if p.poll() is None:
                peak[name] = max(peak[name], tree_rss(p.pid))
        time.sleep(0.1)
    return peak


def pages_of(data: Path) -> int:
    return int(
        duckdb.sql(f"select count(*) from read_parquet('{data}/pages/**/*.parquet')").fetchall()[0][
            0
        ]
    )


def baseline(sources: Path, proxy: str, work: Path) -> dict[str, Any]:
    data = work / "single"
    cmd = [sys.executable, "-m", "crawler.run", "--bench", "--quiet", "--sources", str(sources),
           "--data", str(data), "--proxy", proxy]  # fmt: skip
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    peak = watch({"crawl": proc})
    wall = time.monotonic() - t0
    if proc.returncode:
        raise SystemExit(f"the single crawl failed ({proc.returncode})")
    pages = pages_of(data)
    return {
        "wall_s": wall,
        "pages": pages,
        "pages_per_s": pages / wall,
        "rss_mb": peak["crawl"] / 2**20,
    }


def cluster(
    sources: Path, proxy: str, work: Path, n: int, delay: float, tag: str
) -> dict[str, Any]:
    data = work / f"cluster-{tag}"
    with start_redis(work / f"redis-{tag}") as url:
        client = redis.Redis.from_url(url)
        ops0 = int(client.info("stats")["total_commands_processed"])
        log = work / f"service-{tag}.log"
        t0 = time.monotonic()
        with open(log, "wb") as out:
            service = subprocess.Popen(
                [sys.executable, "-m", "pipelines.service", "--redis", url, "--crawl", "bench",
                 "--data", str(data), "--quiet", "--poll", "0.2"],  # fmt: skip
                stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
        from pipelines.storage.pagestream import PageStream

        PageStream(client, "bench").wait_for_run(120)
        procs: dict[str, subprocess.Popen[bytes]] = {"service": service}
        for i in range(n):
            procs[f"w{i + 1}"] = subprocess.Popen(
                [sys.executable, "-m", "crawler.worker", "--redis", url, "--crawl", "bench",
                 "--service", "--worker", f"w{i + 1}", "--delay", str(delay), "--bench",
                 "--sources", str(sources), "--proxy", proxy],  # fmt: skip
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
        peak = watch(procs)
        wall = time.monotonic() - t0
        ops = int(client.info("stats")["total_commands_processed"]) - ops0
        redis_peak = int(client.info("memory")["used_memory_peak"])
    if any(p.returncode for p in procs.values()):
        codes = {k: p.returncode for k, p in procs.items()}
        raise SystemExit(f"a process failed: {codes}; see {log}")
    m = TOOK.search(log.read_text())
    if m is None:
        raise SystemExit(f"no 'took' line in {log}")
    entries, nbytes, work_s, end_s, docs = m.groups()
    pages = pages_of(data)
    return {
        "workers": n,
        "wall_s": wall,
        "pages": pages,
        "pages_per_s": pages / wall,
        "service_take_s": float(work_s),
        "service_entries_per_s": int(entries) / max(float(work_s), 1e-9),
        "service_end_of_run_s": float(end_s),
        "documents": int(docs),
        "end_of_run_documents_per_s": int(docs) / max(float(end_s), 1e-9),
        "bytes_per_entry": int(nbytes) / max(int(entries), 1),
        "redis_ops": ops,
        "redis_ops_per_s": ops / wall,
        "redis_ops_per_page": ops / max(pages, 1),
        "redis_peak_mb": redis_peak / 2**20,
        "service_rss_mb": peak["service"] / 2**20,
        "worker_rss_mb": max(v for k, v in peak.items() if k != "service") / 2**20,
    }


def median_of(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.cluster", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sites", type=int, default=12)
    parser.add_argument("--stories", type=int, default=60)
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    counts = [int(x) for x in args.workers.split(",")]
    cfg = DemoWebConfig(seed=1, sites=args.sites, stories=args.stories, day=1)
    results: dict[str, list[dict[str, Any]]] = {"single": [], **{str(n): [] for n in counts}}
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp, demo_web_server(cfg) as proxy:
        work = Path(tmp)
        sources = work / "sources.yaml"
        sources.write_text(f"demo_web: {{seed: 1, sites: {args.sites}, stories: {args.stories}}}\n")
        for r in range(args.repeat):
            rw = work / f"r{r}"
            rw.mkdir()
            results["single"].append(baseline(sources, proxy, rw))
            for n in counts:
                results[str(n)].append(cluster(sources, proxy, rw, n, args.delay, f"{n}"))
            print(f"run {r + 1}/{args.repeat} done", file=sys.stderr)
    single = median_of(results["single"])
    out: dict[str, Any] = {
        "machine": f"{os.cpu_count()} cores",
        "web": {"sites": args.sites, "stories": args.stories},
        "delay": args.delay,
        "repeat": args.repeat,
        "single": single,
    }
    for n in counts:
        med = median_of(results[str(n)])
        med["wall_vs_single"] = med["wall_s"] / single["wall_s"]
        med["pages_per_s_vs_single"] = med["pages_per_s"] / single["pages_per_s"]
        out[f"workers_{n}"] = med
    text = json.dumps(out, indent=2)
    print(text)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
