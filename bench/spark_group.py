"""`make bench-spark`: the Spark job beside the single process, on the same generated corpus.

    python -m bench.spark_group [--documents 50000] [--repeat 3] [--master local[2]]
        [--out data/bench/spark_group.json]

1. A corpus of ``--documents`` texts from ``bench.corpus`` (copy families with edits, excerpts,
   truncations and rewrites), written once as Parquet (id, text).
2. Each round, in this order: ``python -m pipelines.group`` on it (the single-process command:
   cleaning, fingerprints, grouping, writing), the same grouping in process without the
   cleaning (``fingerprints_and_leads`` + ``Grouper.add_many``: the work the Spark job does),
   and ``python -m pipelines.spark_group`` (wall time with the JVM's start, and the job's own
   time from its manifest).
3. The Spark partition against the in-process one: equal, and their pairwise F1.

Figures are medians over the rounds; documents/s is documents over that median.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from bench.corpus import generator
from bench.measure import machine
from pipelines.core.config import GroupingConfig
from pipelines.core.fingerprint import fingerprints_and_leads
from pipelines.core.grouping import Grouper
from pipelines.core.metrics import pairwise_prf

REPO = Path(__file__).resolve().parent.parent


def write_corpus(n_docs: int, path: Path, seed: int) -> None:
    texts, _ = generator(seed).batch(0, n_docs)  # never fewer documents than stories
    ids = [f"d{i:07d}" for i in range(n_docs)]
    pq.write_table(pa.table({"id": ids, "text": texts[:n_docs]}), path, compression="zstd")


def in_process(path: Path, config: GroupingConfig) -> tuple[dict[str, str], float]:
    """Assignments of fingerprints + one ``Grouper.add_many``, and the seconds it took."""
    t0 = time.perf_counter()
    table = pq.read_table(path)
    ids = table["id"].to_pylist()
    sigs, counts, leads = fingerprints_and_leads(table["text"].to_pylist(), config)
    grouper = Grouper(config)
    grouper.add_many(ids, sigs, counts, leads=leads)
    return {str(k): v for k, v in grouper.assignments().items()}, time.perf_counter() - t0


def timed(command: list[str]) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    return time.perf_counter() - t0


def run(n_docs: int, repeat: int, master: str, seed: int) -> dict[str, Any]:
    config = GroupingConfig()
    rounds: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="bench-spark-") as tmp:
        work = Path(tmp)
        corpus = work / "corpus.parquet"
        write_corpus(n_docs, corpus, seed)
        py = sys.executable
        columns = ["--id-column", "id", "--text-column", "text"]
        out = work / "spark"
        group = [py, "-m", "pipelines.group", str(corpus), *columns, "--out", str(work / "group")]
        spark_group = [py, "-m", "pipelines.spark_group", str(corpus), *columns, "--out", str(out)]
        for _ in range(repeat):
            group_s = timed(group)
            local, local_s = in_process(corpus, config)
            spark_s = timed([*spark_group, "--master", master])
            manifest = json.loads((out / "manifest.json").read_text())
            rounds.append(
                {
                    "pipelines_group_s": group_s,
                    "in_process_s": local_s,
                    "spark_wall_s": spark_s,
                    "spark_job_s": manifest["seconds"],
                }
            )
        assignments = ds.dataset(out / "assignments").to_table()
        spark = dict(
            zip(assignments["id"].to_pylist(), assignments["cluster_id"].to_pylist(), strict=True)
        )
    ids = sorted(local)
    f1 = pairwise_prf([local[i] for i in ids], [spark[i] for i in ids])[2]
    medians = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    return {
        "documents": n_docs,
        "master": master,
        "repeat": repeat,
        "config": str(config),
        "rounds": rounds,
        "median_s": medians,
        "documents_per_s": {k.removesuffix("_s"): n_docs / v for k, v in medians.items()},
        "spark_equals_in_process": spark == local,
        "pairwise_f1_spark_vs_in_process": f1,
        "clusters": manifest["clusters"],
        "edges": manifest["edges"],
        "machine": machine(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.spark_group", description=__doc__)
    parser.add_argument("--documents", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path("data/bench/spark_group.json"))
    args = parser.parse_args(argv)
    result = run(args.documents, args.repeat, args.master, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    m, rate = result["median_s"], result["documents_per_s"]
    print(
        f"{args.documents} documents, median of {args.repeat}: "
        f"pipelines.group {m['pipelines_group_s']:.1f} s ({rate['pipelines_group']:.0f} docs/s), "
        f"in process {m['in_process_s']:.1f} s ({rate['in_process']:.0f}/s), "
        f"spark_group {args.master} {m['spark_wall_s']:.1f} s wall ({rate['spark_wall']:.0f}/s), "
        f"job {m['spark_job_s']:.1f} s ({rate['spark_job']:.0f}/s); "
        f"equal: {result['spark_equals_in_process']}, "
        f"F1 {result['pairwise_f1_spark_vs_in_process']:.6f}\nwritten: {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
