"""`make bench`: every stage of the pipeline measured against its baseline, in one run.

    python -m bench [--repeat 3] [--seed 1 --sites 12 --stories 300] [--light]
                    [--out data/bench/latest.json]
                    [--only crawl,fingerprint,grouping,parquet,recrawl,realtext]
                    [--realtext ../shared/realtext/news_2025.parquet]

The demo web is served with pages as heavy as real ones (about 100 KB: head scripts, styles,
inline JSON, a mega menu, comments, teasers; demoweb/heavy.py); --light serves the small pages
of the light web instead. Prints a table (median of --repeat repetitions per figure, the
baseline measured in the same run, and their ratio) and writes it with the headline figures to
--out (JSON). Timings on a busy two-core machine are noisy: read the ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.measure import machine
from bench.realtext import DEFAULT_ARTICLES
from bench.stages import BENCHES, BenchContext, Row

TARGETS = {
    "cpu_per_page_ratio": ("<=", 1.25),
    "cores_busy_share": (">=", 0.85),
    "fingerprint_speedup": (">=", 20.0),
    "recrawl_ratio": ("<=", 0.2),  # issue 5
    # issue 12: on every level, F1 at least rensa's and CPU per document at most rensa's
    "realtext_f1_minus_rensa": (">=", 0.0),
    "realtext_cpu_ratio_rensa": ("<=", 1.0),
}


def check_targets(keys: dict[str, Any]) -> dict[str, Any]:
    """Which targets of issues 5, 6 and 12 hold in this run (None: a figure not measured)."""
    out: dict[str, Any] = {}
    for name, (op, limit) in TARGETS.items():
        value = keys.get(name)
        out[name] = None if value is None else (value <= limit if op == "<=" else value >= limit)
    mae, mae_ds = keys.get("fingerprint_mae"), keys.get("datasketch_mae")
    out["fingerprint_mae"] = None if mae is None else mae <= mae_ds + 0.005
    return out


def format_table(rows: list[Row]) -> str:
    header = ("stage", "figure", "value", "baseline", "ratio", "baseline is")
    lines = []
    for r in rows:
        lines.append(
            (
                r.stage,
                r.figure,
                f"{r.value:,.4g} {r.unit}",
                "" if r.baseline is None else f"{r.baseline:,.4g}",
                "" if r.ratio is None else f"{r.ratio:.3g}",
                r.baseline_name or "",
            )
        )
    widths = [max(len(str(x)) for x in col) for col in zip(header, *lines, strict=True)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [fmt.format(*header), fmt.format(*("-" * w for w in widths))]
    out += [fmt.format(*line) for line in lines]
    return "\n".join(out)


def run(ctx: BenchContext, only: set[str] | None = None) -> dict[str, Any]:
    """Run the stages (all, or those named in ``only``); the JSON record."""
    started = time.time()
    ctx.keys.setdefault("recrawl_ratio", None)
    ctx.keys.setdefault("realtext_f1_minus_rensa", None)
    ctx.keys.setdefault("realtext_cpu_ratio_rensa", None)
    for name, fn in BENCHES:
        if only is None or name in only:
            fn(ctx)
    return {
        **ctx.keys,
        "targets": check_targets(ctx.keys),
        "rows": [r.to_dict() for r in ctx.rows],
        "repeat": ctx.repeat,
        "demo_web": {
            "seed": ctx.seed,
            "sites": ctx.sites,
            "stories": ctx.stories,
            "day": 1,
            "heavy": ctx.heavy,
        },
        "grouping_config": str(ctx.config),
        "machine": machine(),
        "elapsed_s": time.time() - started,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="repetitions per figure (>= 1)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sites", type=int, default=12)
    parser.add_argument("--stories", type=int, default=300)
    parser.add_argument(
        "--light", action="store_true", help="the light demo web (about 6 KB pages), not heavy"
    )
    parser.add_argument("--out", default="data/bench/latest.json")
    parser.add_argument("--only", help="comma-separated stages: " + ",".join(n for n, _ in BENCHES))
    parser.add_argument(
        "--index-docs", type=int, default=20_000, help="documents for the grouping memory figure"
    )
    parser.add_argument(
        "--realtext",
        default=str(DEFAULT_ARTICLES),
        help="real articles (Parquet: id, category, text) for the real-text grouping benchmark; "
        "'' skips it (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    only = set(args.only.split(",")) if args.only else None
    if only and (unknown := only - {n for n, _ in BENCHES}):
        parser.error(f"unknown stage(s): {', '.join(sorted(unknown))}")
    if only and "crawl" not in only and only & {"fingerprint", "grouping", "parquet"}:
        parser.error("fingerprint, grouping and parquet use the crawl's documents: add crawl")
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        ctx = BenchContext(
            Path(tmp),
            repeat=args.repeat,
            seed=args.seed,
            sites=args.sites,
            stories=args.stories,
            heavy=not args.light,
            index_docs=args.index_docs,
            realtext=Path(args.realtext) if args.realtext else None,
        )
        record = run(ctx, only)
    record["command"] = " ".join(["python -m bench", *(argv if argv is not None else sys.argv[1:])])
    print(
        f"make bench: demo web seed {args.seed}, {args.sites} sites, {args.stories} stories"
        f"{'' if args.light else ', heavy pages'}; "
        f"median of {args.repeat}; {record['machine']['nproc']} cores"
    )
    print(format_table(ctx.rows))
    print()
    for name, ok in record["targets"].items():
        value = record.get(name)
        shown = "not measured" if value is None else f"{value:.4g}"
        verdict = {True: "holds", False: "MISSED", None: "-"}[ok]
        print(f"  target {name:<20} {shown:>12}  {verdict}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp_out = out.with_suffix(".json.tmp")
    tmp_out.write_text(json.dumps(record, indent=2, default=str) + "\n")
    os.replace(tmp_out, out)
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
