"""`make bench-scale`: group a million documents with the product's grouping code.

    python -m bench.scale [--documents 1000000] [--workers 2] [--out data/bench/scale.json]

1. Texts: the demo web's article pages generated without HTTP (``bench.corpus``: its copy
   families, rewrites and excerpts, clean text), signatures with ``pipelines.core.fingerprint`` in a
   process pool. Reported separately: this is the crawl's extraction-side work, not grouping.
2. Grouping: every signature into one ``pipelines.core.grouping.Grouper`` with ``GroupingConfig()``
   defaults, in order, as the crawl does it (LSH query, verification, union, insert). Wall time
   and the peak RSS of this process are the figures of the target (<= 10 min, <= 6 GB).
3. Quality: pairwise precision/recall/F1 (``pipelines.core.metrics``) against the families, on a
   sample of stories (every document of each sampled story) and on all documents.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import resource
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from bench.corpus import Chunk, make_chunk
from bench.measure import machine
from pipelines.core.config import GroupingConfig
from pipelines.core.grouping import Grouper
from pipelines.core.metrics import adjusted_rand_index, pairwise_prf

DOCS_PER_STORY_GUESS = 2.5  # the story, its copies (geometric) and a rewrite a third of the time


def _rss_bytes() -> int:
    with open("/proc/self/statm", "rb") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def generate(
    n_docs: int, config: GroupingConfig, *, workers: int, seed: int, chunk: int
) -> tuple[list[Chunk], dict[str, float]]:
    """Chunks of signatures covering at least ``n_docs`` documents, and what they cost."""
    t0 = time.perf_counter()
    chunks: list[Chunk] = []
    total = 0
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        cfg = config.to_dict()
        pending = []
        next_story = 0
        for _ in range(2 * workers):  # a few chunks in flight, in story order
            pending.append(pool.submit(make_chunk, seed, next_story, next_story + chunk, cfg))
            next_story += chunk
        while total < n_docs:
            done = pending.pop(0).result()
            chunks.append(done)
            total += len(done.families)
            if total + (len(pending) * chunk * DOCS_PER_STORY_GUESS) < n_docs:
                pending.append(pool.submit(make_chunk, seed, next_story, next_story + chunk, cfg))
                next_story += chunk
            elif not pending and total < n_docs:
                pending.append(pool.submit(make_chunk, seed, next_story, next_story + chunk, cfg))
                next_story += chunk
        for f in pending:
            f.cancel()
    costs = {
        "wall_s": time.perf_counter() - t0,
        "generate_cpu_s": sum(c.generate_cpu_s for c in chunks),
        "fingerprint_cpu_s": sum(c.fingerprint_cpu_s for c in chunks),
        "stories": chunks[-1].stop,
    }
    return chunks, costs


def group(chunks: list[Chunk], n_docs: int, config: GroupingConfig) -> tuple[Grouper, int, float]:
    """Feed the first ``n_docs`` signatures to a Grouper; (grouper, edges, wall seconds).

    Chunks are dropped as they are consumed, so the input does not double the memory.
    """
    grouper = Grouper(config)
    grouper.reserve(n_docs)
    edges = 0
    row = 0
    t0 = time.perf_counter()
    for k in range(len(chunks)):
        c = chunks[k]
        sigs, counts, leads = c.signatures, c.n_shingles.tolist(), c.leads
        for j in range(len(counts)):
            if row == n_docs:
                break
            lead = leads[j] if leads is not None else None
            edges += len(grouper.add(row, sigs[j], counts[j], lead=lead))
            row += 1
        chunks[k] = Chunk(c.start, c.stop, sigs[:0], c.n_shingles[:0], c.families, 0.0, 0.0)
    return grouper, edges, time.perf_counter() - t0


def quality(
    families: np.ndarray, grouper: Grouper, sample_share: float, seed: int
) -> dict[str, Any]:
    """Pairwise P/R/F1 on a sample of stories and on everything; ARI on everything."""
    n = len(families)
    cluster_of = grouper.assignments()
    ids = {cid: k for k, cid in enumerate(dict.fromkeys(cluster_of.values()))}
    pred = np.fromiter((ids[cluster_of[r]] for r in range(n)), dtype=np.int64, count=n)
    stories = families // 2
    rng = np.random.default_rng(seed)
    unique = np.unique(stories)
    picked = rng.choice(unique, size=max(1, int(len(unique) * sample_share)), replace=False)
    in_sample = np.isin(stories, picked)
    p_s, r_s, f_s = pairwise_prf(families[in_sample], pred[in_sample])
    p, r, f = pairwise_prf(families, pred)
    return {
        "sample_stories": int(len(picked)),
        "sample_documents": int(in_sample.sum()),
        "pairwise_precision_sample": p_s,
        "pairwise_recall_sample": r_s,
        "pairwise_f1_sample": f_s,
        "pairwise_precision": p,
        "pairwise_recall": r,
        "pairwise_f1": f,
        "ari": adjusted_rand_index(families, pred),
        "true_families": int(len(np.unique(families))),
        "clusters": grouper.n_clusters,
    }


def run_scale(
    n_docs: int,
    *,
    workers: int = 2,
    seed: int = 1,
    chunk: int = 1000,
    sample_share: float = 0.02,
) -> dict[str, Any]:
    """The whole scale run; returns the JSON record."""
    config = GroupingConfig()
    chunks, gen = generate(n_docs, config, workers=workers, seed=seed, chunk=chunk)
    families = np.concatenate([c.families for c in chunks])[:n_docs]
    rss_before = _rss_bytes()
    grouper, edges, wall = group(chunks, n_docs, config)
    rss_after = _rss_bytes()
    record: dict[str, Any] = {
        "documents": n_docs,
        "wall_s": wall,
        "docs_per_s": n_docs / wall,
        "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "grouper_rss_growth_bytes_per_doc": (rss_after - rss_before) / n_docs,
        "edges": edges,
        "merges": len(grouper.merges),
        "signatures": {
            "workers": workers,
            "wall_s": gen["wall_s"],
            "generate_cpu_s": gen["generate_cpu_s"],
            "fingerprint_cpu_s": gen["fingerprint_cpu_s"],
            "fingerprint_docs_per_cpu_s": n_docs / max(gen["fingerprint_cpu_s"], 1e-9),
            "stories": gen["stories"],
            "worker_peak_rss_bytes": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024,
        },
        "text_source": f"bench.corpus.Generator(seed={seed}): Zipf pseudo-word copy families",
        "grouping_config": str(config),
        "lsh_storage": grouper.storage,
        "bands": grouper.bands,
        "rows_per_band": grouper.rows_per_band,
    }
    record.update(quality(families, grouper, sample_share, seed))
    record["targets"] = {
        "wall_s_max": 600,
        "peak_rss_bytes_max": 6 * 10**9,
        "wall_ok": wall <= 600,
        "rss_ok": record["peak_rss_bytes"] <= 6 * 10**9,
    }
    return record


def print_table(rec: dict[str, Any]) -> None:
    sig = rec["signatures"]
    gb = 1e9
    rows = [
        ("documents", f"{rec['documents']:,}"),
        ("stories generated", f"{sig['stories']:,}"),
        ("texts + signatures, wall", f"{sig['wall_s']:.1f} s on {sig['workers']} workers"),
        ("  text generation CPU", f"{sig['generate_cpu_s']:.1f} s"),
        (
            "  fingerprint CPU",
            f"{sig['fingerprint_cpu_s']:.1f} s "
            f"({sig['fingerprint_docs_per_cpu_s']:,.0f} docs per CPU s)",
        ),
        (
            "grouping wall",
            f"{rec['wall_s']:.1f} s ({rec['docs_per_s']:,.0f} docs/s)"
            f"  target <= 600 s: {'ok' if rec['targets']['wall_ok'] else 'MISSED'}",
        ),
        (
            "peak RSS (this process)",
            f"{rec['peak_rss_bytes'] / gb:.2f} GB"
            f"  target <= 6 GB: {'ok' if rec['targets']['rss_ok'] else 'MISSED'}",
        ),
        ("grouper memory growth", f"{rec['grouper_rss_growth_bytes_per_doc']:,.0f} bytes/doc"),
        (
            "edges / clusters",
            f"{rec['edges']:,} / {rec['clusters']:,} (true families {rec['true_families']:,})",
        ),
        (
            f"pairwise P/R/F1, sample of {rec['sample_stories']:,} stories",
            f"{rec['pairwise_precision_sample']:.4f} / {rec['pairwise_recall_sample']:.4f} / "
            f"{rec['pairwise_f1_sample']:.4f}  ({rec['sample_documents']:,} docs)",
        ),
        (
            "pairwise P/R/F1, all documents",
            f"{rec['pairwise_precision']:.4f} / {rec['pairwise_recall']:.4f} / "
            f"{rec['pairwise_f1']:.4f}  ARI {rec['ari']:.4f}",
        ),
    ]
    width = max(len(k) for k, _ in rows)
    print(f"bench-scale: {rec['grouping_config']} ({rec['bands']} bands x {rec['rows_per_band']})")
    for k, v in rows:
        print(f"  {k:<{width}}  {v}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__)
    parser.add_argument("--documents", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2, help="signature processes")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--sample-share", type=float, default=0.02, help="share of stories in the quality sample"
    )
    parser.add_argument("--out", default="data/bench/scale.json")
    args = parser.parse_args(argv)
    if args.documents < 10:
        parser.error("--documents must be at least 10")
    rec = run_scale(
        args.documents,
        workers=args.workers,
        seed=args.seed,
        sample_share=args.sample_share,
    )
    rec["command"] = " ".join(
        ["python -m bench.scale", *(argv if argv is not None else sys.argv[1:])]
    )
    rec["machine"] = machine()
    print_table(rec)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(rec, indent=2) + "\n")
    os.replace(tmp, out)
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
