"""Benchmark: how long a re-crawl of an unchanged web takes, as a share of the first crawl.

    python -m bench.recrawl [--repeats 3] [--stories 300] [--out data/bench/latest.json]

The default demo web (seed 1, 12 sites, 300 stories, day 1) is served once from a subprocess;
each repeat crawls it into a fresh data folder with `python -m crawler.run --bench` (the command
a scheduled run executes, timed from start to exit, process start-up included), then crawls it
again unchanged. `recrawl_ratio` is the median over repeats of (second wall time / first wall
time), each pair measured back to back. The demo web's own start-up is outside both timings:
in real use the web is already there. The figures are merged into the JSON file under the key
`recrawl_ratio` (and `recrawl` for the details), other keys are kept. Target: <= 0.2.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb

from crawler.run import demo_web_server
from crawler.sources import DemoWebConfig


def _crawl(sources: Path, data: Path, bench: bool) -> float:
    cmd = [sys.executable, "-m", "crawler.run", "--sources", str(sources), "--data", str(data)]
    cmd += ["--quiet"] + (["--bench"] if bench else [])
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"crawl failed ({proc.returncode}): {proc.stderr[-3000:]}")
    return seconds


def _runs(data: Path) -> list[tuple[Any, ...]]:
    return duckdb.execute(
        "select pages_fetched, pages_not_modified, documents_new from "
        f"'{data}/runs/**/*.parquet' order by run_id"
    ).fetchall()


def measure_recrawl(
    repeats: int = 3,
    web: DemoWebConfig | None = None,
    bench: bool = True,
    workdir: Path | None = None,
) -> dict[str, Any]:
    """Crawl, then re-crawl unchanged, `repeats` times; return the ratios and their median."""
    web = web or DemoWebConfig(seed=1, sites=12, stories=300, day=1)
    pairs = []
    with tempfile.TemporaryDirectory(prefix="recrawl-", dir=workdir) as tmp:
        root = Path(tmp)
        with demo_web_server(web) as proxy:
            sources = root / "sources.yaml"
            sources.write_text(
                f"demo_web: {{seed: {web.seed}, sites: {web.sites}, stories: {web.stories}, "
                f"day: {web.day}, heavy: {str(web.heavy).lower()}}}\nproxy: {proxy}\n"
            )
            for k in range(repeats):
                data = root / f"data-{k}"
                first = _crawl(sources, data, bench)
                second = _crawl(sources, data, bench)
                (fetched1, _, docs1), (fetched2, not_modified2, docs2) = _runs(data)
                pairs.append(
                    {
                        "first_seconds": round(first, 3),
                        "recrawl_seconds": round(second, 3),
                        "ratio": round(second / first, 4),
                        "first_pages": fetched1,
                        "first_documents": docs1,
                        "recrawl_pages": fetched2,
                        "recrawl_not_modified": not_modified2,
                        "recrawl_documents": docs2,
                    }
                )
                print(
                    f"repeat {k + 1}: first {first:.2f} s ({fetched1} pages), re-crawl "
                    f"{second:.2f} s ({fetched2} pages, {not_modified2} not modified), "
                    f"ratio {second / first:.3f}",
                    file=sys.stderr,
                )
    return {
        "recrawl_ratio": round(statistics.median(p["ratio"] for p in pairs), 4),
        "recrawl": {
            "web": {"seed": web.seed, "sites": web.sites, "stories": web.stories, "day": web.day},
            "bench_mode": bench,
            "repeats": pairs,
            "target": 0.2,
            "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        },
    }


def merge_into(path: Path, values: dict[str, Any]) -> None:
    """Set these keys in a JSON object file (created when missing), replacing it atomically."""
    current: dict[str, Any] = {}
    if path.is_file():
        current = json.loads(path.read_text(encoding="utf-8"))
    current.update(values)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.recrawl", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sites", type=int, default=12)
    parser.add_argument("--stories", type=int, default=300)
    parser.add_argument(
        "--polite", action="store_true", help="default politeness (AutoThrottle) instead of --bench"
    )
    parser.add_argument("--out", default="data/bench/latest.json", help="(default: %(default)s)")
    args = parser.parse_args(argv)
    result = measure_recrawl(
        args.repeats,
        DemoWebConfig(seed=args.seed, sites=args.sites, stories=args.stories, day=1),
        bench=not args.polite,
    )
    merge_into(Path(args.out), result)
    print(f"recrawl_ratio {result['recrawl_ratio']} (median of {args.repeats}; target <= 0.2)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
