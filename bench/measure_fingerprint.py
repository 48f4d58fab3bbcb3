"""Measure signature speed and accuracy, and the grouper's memory and reload time.

Not part of the product: the figures behind the choices in ``pipelines.core.fingerprint`` and
``pipelines.core.grouping``. Timings are medians of ``--repeats`` runs; read ratios, not absolutes.

    .venv/bin/python -m bench.measure_fingerprint [--docs 300] [--index-docs 50000]

1. Signatures per second from raw 1,000-word texts (normalise + shingle + hash + permute), all at
   the same num_perm: this module's batch and single-document paths against datasketch's
   per-shingle ``MinHash.update`` and ``update_batch`` (with this project's xxh64 hash and with
   datasketch's default SHA-1 hash).
2. Mean absolute error of the estimated Jaccard against the exact Jaccard of the shingle sets,
   on pairs made by word edits, truncation and inserted sentences.
3. Memory per indexed document in ``Grouper`` and the time to save and reload the state.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from datasketch import MinHash

from bench.measure_grouping import TextMaker, _join
from pipelines.core.config import GroupingConfig
from pipelines.core.fingerprint import (
    fingerprint,
    fingerprints,
    hashfunc,
    jaccard,
    shingles_of,
    signatures,
)
from pipelines.core.grouping import Grouper
from pipelines.storage.state import load_grouper, save_grouper


def texts_of(n: int, n_words: int, seed: int) -> list[str]:
    tm = TextMaker(seed)
    out = []
    for _ in range(n):
        words: list[str] = []
        while len(words) < n_words:
            paragraphs, _ = tm.story(int(tm.rng.integers(40)))
            words.extend(_join(paragraphs).split())
        out.append(" ".join(words[:n_words]))
    return out


def median_rate(fn: Callable[[], None], n: int, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return n / statistics.median(times)


def datasketch_per_shingle(texts: list[str], config: GroupingConfig) -> None:
    for text in texts:
        m = MinHash(num_perm=config.num_perm, seed=config.seed, hashfunc=hashfunc(config))
        for s in shingles_of(text, config):
            m.update(s.encode("utf-8"))


def datasketch_batch(texts: list[str], config: GroupingConfig, default_hash: bool) -> None:
    for text in texts:
        kwargs = {} if default_hash else {"hashfunc": hashfunc(config)}
        m = MinHash(num_perm=config.num_perm, seed=config.seed, **kwargs)
        m.update_batch([s.encode("utf-8") for s in shingles_of(text, config)])


def speed(config: GroupingConfig, n_docs: int, repeats: int) -> None:
    texts = texts_of(n_docs, 1000, seed=3)
    few = texts[: max(5, n_docs // 20)]
    rows = [
        ("this module, fingerprints() batch", lambda: fingerprints(texts, config), len(texts)),
        (
            "this module, fingerprint() per doc",
            lambda: [fingerprint(t, config) for t in texts],
            len(texts),
        ),
        (
            "datasketch update_batch, xx64 hashfunc",
            lambda: datasketch_batch(texts, config, default_hash=False),
            len(texts),
        ),
        (
            "datasketch update_batch, default sha1",
            lambda: datasketch_batch(texts, config, default_hash=True),
            len(texts),
        ),
        (
            "datasketch per-shingle update, xx64",
            lambda: datasketch_per_shingle(few, config),
            len(few),
        ),
    ]
    print(f"signatures/s, 1,000-word texts, num_perm={config.num_perm}, median of {repeats}:")
    for name, fn, n in rows:
        print(f"  {name:<40} {median_rate(fn, n, repeats):>9,.0f}")


def accuracy(config: GroupingConfig, n_pairs: int) -> None:
    tm = TextMaker(5)
    base = texts_of(n_pairs, 1000, seed=5)
    pairs = []
    for i, text in enumerate(base):
        kind = i % 3
        if kind == 0:
            other = tm.edit_words(text, float(tm.rng.uniform(0.02, 0.2)))
        elif kind == 1:
            words = text.split()
            other = " ".join(words[: int(len(words) * tm.rng.uniform(0.3, 0.95))])
        else:
            paragraphs = [[s] for s in text.split(". ")]
            for _ in range(int(tm.rng.integers(1, 15))):
                paragraphs.insert(int(tm.rng.integers(len(paragraphs))), [tm.sentence(0, ["Ad"])])
            other = _join(paragraphs)
        pairs.append((text, other))
    exact = []
    for a, b in pairs:
        sa, sb = set(shingles_of(a, config)), set(shingles_of(b, config))
        exact.append(len(sa & sb) / len(sa | sb))
    exact_arr = np.array(exact)
    fast_a = signatures([a for a, _ in pairs], config)
    fast_b = signatures([b for _, b in pairs], config)
    fast = np.array([jaccard(x, y) for x, y in zip(fast_a, fast_b, strict=True)])
    results = {"this module (xx64)": fast}
    for label, kwargs in [
        ("datasketch update_batch (xx64)", {"hashfunc": hashfunc(config)}),
        ("datasketch update_batch (sha1)", {}),
    ]:
        est = []
        for a, b in pairs:
            ms = []
            for text in (a, b):
                m = MinHash(num_perm=config.num_perm, seed=config.seed, **kwargs)
                m.update_batch([s.encode("utf-8") for s in shingles_of(text, config)])
                ms.append(m)
            est.append(ms[0].jaccard(ms[1]))
        results[label] = np.array(est)
    print(
        f"mean absolute error vs exact Jaccard, {len(pairs)} pairs "
        f"(exact J {exact_arr.min():.2f}-{exact_arr.max():.2f}, mean {exact_arr.mean():.2f}):"
    )
    for label, est in results.items():
        err = np.abs(est - exact_arr)
        print(f"  {label:<34} MAE {err.mean():.4f}  max {err.max():.4f}")
    theory = np.sqrt(2 / np.pi) * np.sqrt(exact_arr * (1 - exact_arr) / config.num_perm).mean()
    print(f"  {'binomial expectation':<34} MAE {theory:.4f}")


def rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def index_memory(config: GroupingConfig, n_docs: int, repeats: int) -> None:
    # Random signatures: every LSH bucket is a singleton, the worst case for memory.
    rng = np.random.default_rng(0)
    sigs = rng.integers(0, 2**32, size=(n_docs, config.num_perm), dtype=np.uint32)
    before = rss_bytes()
    grouper = Grouper(config)
    t0 = time.perf_counter()
    for i in range(n_docs):
        grouper.add(f"https://site{i % 50}.test/story/{i}", sigs[i], 400)
    add_s = time.perf_counter() - t0
    after = rss_bytes()
    print(
        f"Grouper, {n_docs:,} unrelated docs ({grouper.bands} bands x {grouper.rows_per_band} "
        f"rows): +{(after - before) / n_docs / 1024:.1f} KB RSS per doc, "
        f"add (query+verify+insert) {n_docs / add_s:,.0f} docs/s"
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "grouping.npz"
        t0 = time.perf_counter()
        save_grouper(grouper, path)
        save_s = time.perf_counter() - t0
        loads = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            load_grouper(path, config)
            loads.append(time.perf_counter() - t0)
        print(
            f"  save {save_s:.2f} s ({path.stat().st_size / n_docs:.0f} bytes/doc on disk), "
            f"load + LSH rebuild {statistics.median(loads):.2f} s "
            f"({n_docs / statistics.median(loads):,.0f} docs/s)"
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=300, help="1,000-word texts for speed")
    parser.add_argument("--pairs", type=int, default=300, help="pairs for the error figures")
    parser.add_argument("--index-docs", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    config = GroupingConfig(hash_function="xx64")  # labels below say xx64; make bench times poly64
    print(f"config {config} ({config.digest})")
    speed(config, args.docs, args.repeats)
    accuracy(config, args.pairs)
    if args.index_docs:
        index_memory(config, args.index_docs, args.repeats)


if __name__ == "__main__":
    main()
