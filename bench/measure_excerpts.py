"""Measure how excerpts are found: the lead index against datasketch's MinHashLSHEnsemble.

    python -m bench.measure_excerpts [--data data/evaluation/seed1-sites12-stories300/data]

Reads the cleaned documents of a demo-web crawl and its ground truth, and for every (original,
excerpt) pair asks: does the approach propose the pair as a candidate, and how many candidate
pairs does it propose in all (each must then be verified)? Prints one line per approach.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow.parquet as pq
from datasketch import MinHashLSHEnsemble

from pipelines.core.config import GroupingConfig
from pipelines.core.fingerprint import from_bytes, lead_signatures, to_lean_minhash
from pipelines.core.grouping import Grouper
from pipelines.core.urls import canonicalise_url


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default="data/evaluation/seed1-sites12-stories300/data")
    args = parser.parse_args()
    data = Path(args.data)
    web = json.loads((data / "demo-web" / "web.json").read_text())
    truth = {
        canonicalise_url(r["url"]): r
        for r in pq.read_table(data / "demo-web" / web["truth"]).to_pylist()
    }
    rows = duckdb.sql(
        f"select doc_id, url, text, minhash, n_shingles from '{data}/documents/**/*.parquet' "
        "order by fetched_at, doc_id"
    ).fetchall()
    config = GroupingConfig()
    ids = [r[0] for r in rows]
    index = {canonicalise_url(r[1]): i for i, r in enumerate(rows)}
    sigs = np.stack([from_bytes(r[3], config.num_perm) for r in rows])
    sizes = [max(int(r[4]), 1) for r in rows]
    pairs = set()
    for u, t in truth.items():
        if t.get("copy_kind") == "excerpt" and u in index:
            o = index.get(canonicalise_url(t["original_url"]))
            if o is not None:
                pairs.add(tuple(sorted((index[u], o))))
    print(f"{len(rows)} documents, {len(pairs)} (original, excerpt) pairs")

    # 1. MinHashLSHEnsemble: query each document for sets that contain it (containment >= 0.8)
    t0 = time.perf_counter()
    ensemble = MinHashLSHEnsemble(threshold=0.8, num_perm=config.num_perm, num_part=16)
    ensemble.index((i, to_lean_minhash(sigs[i], config), sizes[i]) for i in range(len(rows)))
    found = set()
    for i in range(len(rows)):
        for j in ensemble.query(to_lean_minhash(sigs[i], config), sizes[i]):
            if j != i:
                found.add(tuple(sorted((i, j))))
    report("MinHashLSHEnsemble t=0.8, 16 parts", found, pairs, time.perf_counter() - t0)

    # 2. The grouper's candidates without and with the lead index
    texts = [r[2] for r in rows]
    leads = lead_signatures(texts, config)
    for name, cfg in (
        ("Jaccard LSH t=0.30 only", GroupingConfig(lead_words=0)),
        ("Jaccard LSH t=0.30 + lead LSH", config),
    ):
        t0 = time.perf_counter()
        grouper = Grouper(cfg)
        found = set()
        for i in range(len(rows)):
            lead = leads[i] if cfg.lead_words else None
            for e in grouper.add(ids[i], sigs[i], sizes[i], lead=lead):
                found.add(tuple(sorted((ids.index(e.doc_a), i))))
        report(name + " (verified edges)", found, pairs, time.perf_counter() - t0)


def report(name: str, found: set, pairs: set, seconds: float) -> None:
    recall = len(found & pairs) / len(pairs) if pairs else float("nan")
    print(
        f"{name:<48} excerpt pairs found {recall:6.3f}   pairs proposed {len(found):6d}   "
        f"{seconds:5.2f} s"
    )


if __name__ == "__main__":
    main()
