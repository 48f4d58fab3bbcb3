"""Crawl workers on a shared frontier: wall time, pages and the busiest domain's request rate.

    python -m bench.frontier [--workers 1,2,4] [--delay 0.1] [--repeat 3] [--stories 60]

Starts a redis-server of its own (crawler/redisproc.py) and, for each worker count, that many
`python -m crawler.worker` processes over the demo web (12 sites, `--stories` stories; each
worker serves it from its own demo-web process). Per run: wall seconds, pages fetched, pages
fetched more than once, and the request rate of the busiest domain (pages - 1 over the time
between its first and last answer). Medians over `--repeat` runs, the worker counts
interleaved. The rate should stay at 1 / delay whatever the number of workers.
"""

from __future__ import annotations

import argparse
import glob
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from crawler.redisproc import start_redis


def one_run(url: str, work: Path, n: int, crawl: str, delay: float) -> dict[str, float]:
    t0 = time.monotonic()
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "crawler.worker",
                "--redis",
                url,
                "--worker",
                f"w{i}",
                "--crawl",
                crawl,
                "--delay",
                str(delay),
                "--quiet",
                "--sources",
                str(work / "sources.yaml"),
                "--data",
                str(work / crawl / f"w{i}"),
            ],  # fmt: skip
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for i in range(n)
    ]
    codes = [p.wait() for p in procs]
    wall = time.monotonic() - t0
    if any(codes):
        raise SystemExit(f"a worker failed: exit codes {codes}")
    files = glob.glob(str(work / crawl / "w*" / "pages" / "**" / "*.parquet"), recursive=True)
    rows = duckdb.sql(
        "select regexp_extract(final_url, '//([^/]+)/', 1) d, count(*) n, count(distinct "
        "final_url) u, (count(*) - 1) / (epoch(max(fetched_at)) - epoch(min(fetched_at))) r "
        f"from read_parquet({files!r}) group by d"
    ).fetchall()
    return {
        "wall_s": wall,
        "pages": sum(r[1] for r in rows),
        "fetched_twice": sum(r[1] - r[2] for r in rows),
        "busiest_domain_rate": max(r[3] for r in rows if r[1] >= 20),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.frontier", description=__doc__)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--delay", type=float, default=0.1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--stories", type=int, default=60)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    counts = [int(x) for x in args.workers.split(",")]
    runs: dict[int, list[dict[str, float]]] = {n: [] for n in counts}
    with tempfile.TemporaryDirectory(prefix="bench-frontier-") as tmp:
        work = Path(tmp)
        (work / "sources.yaml").write_text(
            f"demo_web: {{seed: 1, sites: 12, stories: {args.stories}}}\n"
        )
        with start_redis(work / "redis") as url:
            for rep in range(args.repeat):
                for n in counts:
                    runs[n].append(one_run(url, work, n, f"n{n}-r{rep}", args.delay))
    record = {
        "delay": args.delay,
        "limit_per_domain": 1 / args.delay if args.delay else None,
        "workers": {
            n: {k: statistics.median(r[k] for r in rs) for k in rs[0]} | {"runs": rs}
            for n, rs in runs.items()
        },
    }
    for n, v in record["workers"].items():
        print(
            f"{n} worker(s): {v['wall_s']:.1f} s, {v['pages']:.0f} pages, "
            f"{v['fetched_twice']:.0f} fetched twice, busiest domain "
            f"{v['busiest_domain_rate']:.2f} requests/s (limit {1 / args.delay:.1f})"
        )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(record, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
