"""The stages of ``make bench``: each a function of one ``BenchContext`` that returns its rows.

A row is one measured figure beside its baseline, both medians of ``ctx.repeat`` repetitions,
and their ratio. ``BENCHES`` lists the stage functions in the order they run; a later issue adds
one (the recrawl) by appending to it. Stages that need the crawl read what ``crawl_stages``
left in the context: the HTML it fetched and the documents it wrote.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import shutil
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench.measure import Measured, cpu_timed, median, python_env, run_measured
from pipelines.core.config import GroupingConfig


@dataclass
class Row:
    """One line of the table: ``value`` (higher or lower is better, see ``unit``) and baseline."""

    stage: str
    figure: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_name: str | None = None

    @property
    def ratio(self) -> float | None:
        if self.baseline in (None, 0):
            return None
        return self.value / self.baseline  # type: ignore[operator]

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "figure": self.figure,
            "value": self.value,
            "unit": self.unit,
            "baseline": self.baseline,
            "baseline_name": self.baseline_name,
            "ratio": self.ratio,
        }


@dataclass
class BenchContext:
    """Inputs of the run and what stages hand on to later ones."""

    workdir: Path
    repeat: int = 3
    seed: int = 1
    sites: int = 12
    stories: int = 300
    heavy: bool = True  # pages as heavy as real ones (demoweb/heavy.py); False: the light web
    config: GroupingConfig = field(default_factory=GroupingConfig)
    fingerprint_docs: int = 300  # documents for the per-shingle baseline (it is slow)
    index_docs: int = 20_000  # documents for the grouping memory figure
    realtext: Path | None = None  # real articles for the real-text benchmark (issue 12)
    rows: list[Row] = field(default_factory=list)
    keys: dict[str, Any] = field(default_factory=dict)  # top-level JSON figures
    texts: list[str] = field(default_factory=list)  # document texts of the crawl
    clusters: list[str] = field(default_factory=list)  # their cluster ids
    document_rows: list[dict[str, Any]] = field(default_factory=list)
    log: Callable[[str], None] = lambda msg: print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# Crawls: raw fetch, trafilatura alone, the full pipeline.


def sources_file(ctx: BenchContext, proxy: str) -> Path:
    """A sources config for the bench's demo web, reached through an already running server."""
    path = ctx.workdir / "sources.yaml"
    path.write_text(
        f"demo_web:\n  seed: {ctx.seed}\n  sites: {ctx.sites}\n  stories: {ctx.stories}\n"
        f"  day: 1\n  heavy: {str(ctx.heavy).lower()}\nproxy: {proxy}\nsources: []\n"
    )
    return path


def measured_module(module: str, sources: Path, data: Path, *extra: str) -> Measured:
    """``python -m module --sources S --data D ...`` measured; its output goes to ``D.log``."""
    command = [sys.executable, "-m", module, "--sources", str(sources), "--data", str(data)]
    return run_measured([*command, *extra], env=python_env(), log=data.with_suffix(".log"))


def pipeline_crawl(ctx: BenchContext, sources: Path, data: Path) -> tuple[Measured, int]:
    """``python -m crawler.run --bench --quiet``; (cost, pages stored)."""
    from pipelines.storage.store import read_table

    m = measured_module("crawler.run", sources, data, "--bench", "--quiet")
    if m.returncode != 0:
        raise RuntimeError(f"the pipeline crawl failed; see {data.with_suffix('.log')}")
    return m, read_table(data, "pages", columns=["url"]).num_rows


def raw_crawl(ctx: BenchContext, sources: Path, data: Path) -> tuple[Measured, int]:
    """The same crawl with no item pipelines (``bench.rawcrawl``); (cost, pages scraped)."""
    import json

    stats = data.with_suffix(".stats.json")
    m = measured_module("bench.rawcrawl", sources, data, "--stats-out", str(stats))
    if m.returncode != 0 or not stats.exists():
        raise RuntimeError(f"the raw crawl failed; see {data.with_suffix('.log')}")
    return m, int(json.loads(stats.read_text()).get("item_scraped_count", 0))


def extraction_pages(data: Path, out: Path) -> int:
    """Write the (url, html) of every page the pipeline sent to extraction; their count."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipelines.storage.store import decompress_html, read_table

    pages = read_table(data, "pages", columns=["final_url", "status", "content_type", "html"])
    urls, bodies = [], []
    for row in pages.to_pylist():
        ctype = row["content_type"]
        if row["status"] == 200 and row["html"] and (ctype is None or "html" in ctype.lower()):
            urls.append(row["final_url"])
            bodies.append(decompress_html(row["html"]))
    pq.write_table(pa.table({"url": urls, "html": pa.array(bodies, pa.binary())}), out)
    return len(urls)


def trafilatura_alone(pages_file: Path, workers: int, log: Path) -> Measured:
    m = run_measured(
        [sys.executable, "-m", "bench.extract_only", str(pages_file), "--workers", str(workers)],
        env=python_env(),
        log=log,
    )
    if m.returncode != 0:
        raise RuntimeError(f"trafilatura alone failed; see {log}")
    return m


def crawl_stages(ctx: BenchContext) -> None:
    """Raw fetch, trafilatura alone and the full pipeline, interleaved, on one demo web server.

    The server runs outside the measured processes (its CPU is not the crawler's). One untimed
    pipeline crawl first warms the server's render cache and gives the HTML and documents the
    other stages use; then each repetition runs raw, pipeline and trafilatura-alone in turn.
    """
    from crawler.run import demo_web_server
    from crawler.sources import DemoWebConfig
    from pipelines.core.extract import worker_count
    from pipelines.storage.store import read_table

    workers = worker_count(0)
    nproc = os.cpu_count() or 1
    cfg = DemoWebConfig(seed=ctx.seed, sites=ctx.sites, stories=ctx.stories, day=1, heavy=ctx.heavy)
    raw: list[tuple[Measured, int]] = []
    pipe: list[tuple[Measured, int]] = []
    traf: list[Measured] = []
    with demo_web_server(cfg) as proxy:
        sources = sources_file(ctx, proxy)
        ctx.log("bench: warm-up crawl (untimed) ...")
        warm = ctx.workdir / "warm"
        pipeline_crawl(ctx, sources, warm)
        pages_file = ctx.workdir / "extract-pages.parquet"
        n_extract = extraction_pages(warm, pages_file)
        docs = read_table(warm, "documents")
        ctx.document_rows = docs.to_pylist()
        ctx.texts = docs["text"].to_pylist()
        ctx.clusters = docs["cluster_id"].to_pylist()
        for rep in range(ctx.repeat):
            ctx.log(f"bench: crawls, repetition {rep + 1}/{ctx.repeat} ...")
            raw.append(raw_crawl(ctx, sources, ctx.workdir / f"raw{rep}"))
            pipe.append(pipeline_crawl(ctx, sources, ctx.workdir / f"pipe{rep}"))
            traf.append(trafilatura_alone(pages_file, workers, ctx.workdir / f"traf{rep}.log"))
            for d in (f"raw{rep}", f"pipe{rep}"):
                shutil.rmtree(ctx.workdir / d, ignore_errors=True)

    raw_pages = median([n for _, n in raw])
    pipe_pages = median([n for _, n in pipe])
    raw_cpu = median([m.cpu_s / n for m, n in raw])
    raw_rate = median([n / m.wall_s for m, n in raw])
    traf_cpu_extracted = median([m.cpu_s / n_extract for m in traf])
    # Per *crawled* page, so that it adds to the raw fetch's figure: trafilatura runs on the
    # HTML pages only, the crawl also fetches robots.txt, feeds and sitemaps.
    traf_cpu = median([m.cpu_s / pipe_pages for m in traf])
    pipe_cpu = median([m.cpu_s / n for m, n in pipe])
    pipe_rate = median([n / m.wall_s for m, n in pipe])
    busy = median([m.cpu_s / (m.wall_s * nproc) for m, _ in pipe])
    machine_busy = median([m.machine_busy_share for m, _ in pipe])
    peak_tree = median([m.peak_tree_rss_bytes for m, _ in pipe])
    peak_one = median([m.maxrss_bytes for m, _ in pipe])
    unavoidable = raw_cpu + traf_cpu
    ctx.rows += [
        Row("raw fetch", "CPU per page", raw_cpu * 1000, "ms"),
        Row("raw fetch", "pages/s", raw_rate, "pages/s"),
        Row("trafilatura alone", "CPU per extracted page", traf_cpu_extracted * 1000, "ms"),
        Row("trafilatura alone", "CPU per crawled page", traf_cpu * 1000, "ms"),
        Row(
            "pipeline",
            "CPU per page",
            pipe_cpu * 1000,
            "ms",
            unavoidable * 1000,
            "raw fetch + trafilatura",
        ),
        Row("pipeline", "pages/s", pipe_rate, "pages/s", raw_rate, "raw fetch"),
        Row("pipeline", "cores busy share", busy, "share", 0.85, "target"),
        Row("pipeline", "machine busy share (all processes)", machine_busy, "share"),
        Row("pipeline", "peak memory, all processes", peak_tree / 1e6, "MB"),
        Row("pipeline", "peak memory, largest process", peak_one / 1e6, "MB"),
    ]
    ctx.keys.update(
        cpu_per_page_ratio=pipe_cpu / unavoidable,
        cores_busy_share=busy,
        pipeline_pages_per_s=pipe_rate,
        pipeline_cpu_s_per_page=pipe_cpu,
        raw_fetch_cpu_s_per_page=raw_cpu,
        raw_fetch_pages_per_s=raw_rate,
        trafilatura_cpu_s_per_page=traf_cpu,
        trafilatura_cpu_s_per_extracted_page=traf_cpu_extracted,
        pipeline_peak_rss_bytes=peak_tree,
        extract_workers=workers,
        pages_crawled=pipe_pages,
        pages_raw_fetch=raw_pages,
        pages_extracted=n_extract,
        documents=len(ctx.texts),
        crawl_runs={
            "raw": [m.to_dict() | {"pages": n} for m, n in raw],
            "pipeline": [m.to_dict() | {"pages": n} for m, n in pipe],
            "trafilatura": [m.to_dict() | {"pages": n_extract} for m in traf],
        },
    )


# ---------------------------------------------------------------------------------------------
# Fingerprinting.


def baseline_config(config: GroupingConfig) -> GroupingConfig:
    """The config the per-shingle baseline runs with: ours, with a hash datasketch can call fast.

    ``poly64`` is defined by a plain-Python function (its fast form exists only for whole
    texts), so the baseline times datasketch with ``xx64``, a C hash, instead: the same
    shingles, datasketch's affine32 permutations, and a baseline no slower than datasketch
    would be in practice.
    """
    config = dataclasses.replace(config, scheme="affine32")  # datasketch's own scheme
    if config.hash_function == "poly64":
        return dataclasses.replace(config, hash_function="xx64")
    return config


def datasketch_per_shingle(texts: list[str], config: GroupingConfig) -> list[Any]:
    """The baseline: one ``MinHash.update`` per shingle (same permutations, shingles, hash)."""
    from datasketch import MinHash

    from pipelines.core.fingerprint import hashfunc, shingles_of

    out = []
    for text in texts:
        m = MinHash(
            num_perm=config.num_perm,
            seed=config.seed,
            hashfunc=hashfunc(config),
            scheme=config.scheme,
        )
        for s in shingles_of(text, config):
            m.update(s.encode("utf-8"))
        out.append(m)
    return out


def sample_pairs(clusters: list[str], n: int, seed: int) -> list[tuple[int, int]]:
    """Up to ``n`` pairs: half from one cluster (similar texts), half at random."""
    rng = np.random.default_rng(seed)
    by_cluster: dict[str, list[int]] = {}
    for i, c in enumerate(clusters):
        by_cluster.setdefault(c, []).append(i)
    close = [p for members in by_cluster.values() for p in itertools.combinations(members, 2)]
    picked = [close[i] for i in rng.permutation(len(close))[: n // 2]]
    while len(picked) < n and len(clusters) > 1:
        a, b = rng.choice(len(clusters), size=2, replace=False).tolist()
        picked.append((a, b))
    return picked


def fingerprint_stage(ctx: BenchContext) -> None:
    """Project signatures vs datasketch per-shingle ``update``: docs per CPU second and MAE.

    The baseline is timed with ``baseline_config`` (a C hash); whether our signatures equal
    datasketch's is checked separately with our own hash function through ``update_batch``.
    """
    from pipelines.core.fingerprint import (
        datasketch_minhash,
        fingerprints,
        jaccard,
        shingles_of,
        signature_of,
    )

    texts = ctx.texts[: ctx.fingerprint_docs]
    clusters = ctx.clusters[: ctx.fingerprint_docs]
    if not texts:
        raise RuntimeError("no document texts to fingerprint")
    ctx.log(f"bench: fingerprinting {len(texts)} documents ...")
    cfg, base_cfg = ctx.config, baseline_config(ctx.config)
    ours = median(cpu_timed(lambda: fingerprints(texts, cfg), ctx.repeat))
    theirs = median(cpu_timed(lambda: datasketch_per_shingle(texts, base_cfg), ctx.repeat))
    sigs, _ = fingerprints(texts, cfg)
    minhashes = datasketch_per_shingle(texts, base_cfg)
    # The affine32 path must give datasketch's values bit for bit (our hash, its permutations).
    affine = dataclasses.replace(cfg, scheme="affine32")
    affine_sigs, _ = fingerprints(texts, affine)
    same_hash = [datasketch_minhash(shingles_of(t, affine), affine) for t in texts]
    identical = float(
        np.mean(
            [
                np.array_equal(s, signature_of(m))
                for s, m in zip(affine_sigs, same_hash, strict=True)
            ]
        )
    )
    sets = [set(shingles_of(t, cfg)) for t in texts]
    pairs = sample_pairs(clusters, 400, ctx.seed)
    exact = np.array([len(sets[a] & sets[b]) / max(1, len(sets[a] | sets[b])) for a, b in pairs])
    est_ours = np.array([jaccard(sigs[a], sigs[b]) for a, b in pairs])
    est_ds = np.array([minhashes[a].jaccard(minhashes[b]) for a, b in pairs])
    est_same = np.array([same_hash[a].jaccard(same_hash[b]) for a, b in pairs])
    mae, mae_ds = float(np.mean(np.abs(est_ours - exact))), float(np.mean(np.abs(est_ds - exact)))
    rate, rate_ds = len(texts) / ours, len(texts) / theirs
    ctx.rows += [
        Row(
            "fingerprint",
            "docs per CPU s",
            rate,
            "docs/s",
            rate_ds,
            f"datasketch per-shingle update ({base_cfg.hash_function})",
        ),
        Row("fingerprint", "MAE vs exact Jaccard", mae, "abs", mae_ds, "datasketch MAE"),
        Row(
            "fingerprint",
            f"affine32 signatures identical to datasketch ({cfg.hash_function})",
            identical,
            "share",
        ),
    ]
    ctx.keys.update(
        fingerprint_speedup=rate / rate_ds,
        fingerprint_docs_per_cpu_s=rate,
        datasketch_docs_per_cpu_s=rate_ds,
        fingerprint_mae=mae,
        datasketch_mae=mae_ds,
        datasketch_same_hash_mae=float(np.mean(np.abs(est_same - exact))),
        fingerprint_hash_function=cfg.hash_function,
        datasketch_hash_function=base_cfg.hash_function,
        fingerprint_pairs=len(pairs),
        fingerprint_pairs_mean_jaccard=float(exact.mean()),
        fingerprint_identical_share=identical,
    )


# ---------------------------------------------------------------------------------------------
# Grouping.


def _bare_lsh(config: GroupingConfig) -> Any:
    from datasketch import MinHashLSH

    from pipelines.core.grouping import lsh_params

    return MinHashLSH(
        num_perm=config.num_perm,
        params=lsh_params(config.lsh_threshold, config.num_perm, config.lsh_weights),
    )


def index_memory_per_doc(make: Callable[[], Any], fill: Callable[[Any], None], n: int) -> float:
    """Bytes per document that Python allocates for an index of ``n`` documents (tracemalloc)."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        index = make()
        fill(index)
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    del index
    return (after - before) / n


def grouping_stage(ctx: BenchContext) -> None:
    """Grouper.add (query, verify, insert) and queries per second on the crawl's documents;
    memory per indexed document on ``ctx.index_docs`` generated documents. Baseline: datasketch's
    ``MinHashLSH`` alone (default storage, insert and query, no verification)."""
    from bench.corpus import texts_and_families
    from pipelines.core.fingerprint import fingerprints, to_lean_minhash
    from pipelines.core.grouping import Grouper

    cfg = ctx.config
    sigs, counts = fingerprints(ctx.texts, cfg)
    n = len(sigs)
    leans = [to_lean_minhash(s, cfg) for s in sigs]
    ctx.log(f"bench: grouping {n} documents ...")

    def ours() -> Any:
        g = Grouper(cfg)
        for i in range(n):
            g.add(i, sigs[i], int(counts[i]))
        return g

    def bare() -> Any:
        lsh = _bare_lsh(cfg)
        for i in range(n):
            lsh.query(leans[i])
            lsh.insert(i, leans[i], check_duplication=False)
        return lsh

    add_rate = n / median(cpu_timed(ours, ctx.repeat))
    bare_rate = n / median(cpu_timed(bare, ctx.repeat))
    g, lsh = ours(), bare()
    q_rate = n / median(cpu_timed(lambda: [g._lsh.query(m) for m in leans], ctx.repeat))
    q_bare = n / median(cpu_timed(lambda: [lsh.query(m) for m in leans], ctx.repeat))

    m = ctx.index_docs
    ctx.log(f"bench: grouping memory on {m} generated documents ...")
    texts, _ = texts_and_families(m, seed=ctx.seed)
    big, big_counts = fingerprints(texts, cfg)
    big_leans = [to_lean_minhash(s, cfg) for s in big]

    def fill_ours(grouper: Any) -> None:
        for i in range(m):
            grouper.add(i, big[i], int(big_counts[i]))

    def fill_bare(index: Any) -> None:
        for i in range(m):
            index.insert(i, big_leans[i], check_duplication=False)

    mem = index_memory_per_doc(lambda: Grouper(cfg), fill_ours, m)
    mem_bare = index_memory_per_doc(lambda: _bare_lsh(cfg), fill_bare, m)
    ctx.rows += [
        Row(
            "grouping",
            "adds/s (query+verify+insert)",
            add_rate,
            "docs/s",
            bare_rate,
            "datasketch query+insert",
        ),
        Row("grouping", "queries/s", q_rate, "queries/s", q_bare, "datasketch query"),
        Row(
            "grouping",
            f"memory per doc ({m:,} docs)",
            mem,
            "bytes",
            mem_bare,
            "datasketch MinHashLSH",
        ),
    ]
    ctx.keys.update(
        grouping_adds_per_s=add_rate,
        grouping_queries_per_s=q_rate,
        grouping_bytes_per_doc=mem,
        datasketch_lsh_bytes_per_doc=mem_bare,
        grouping_bytes_per_doc_includes="signature (512 B), ids, union-find, cluster ids, index",
    )


# ---------------------------------------------------------------------------------------------
# Parquet.


def parquet_stage(ctx: BenchContext) -> None:
    """``DatasetWriter.write_rows`` of the crawl's documents as the pipeline writes them (dicts,
    5,000 rows a file) vs one ``pyarrow.parquet.write_table`` of the same rows (zstd)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from pipelines.storage.schemas import schema_for
    from pipelines.storage.store import DatasetWriter

    if not ctx.document_rows:
        raise RuntimeError("no documents to write")
    copies = max(1, -(-10_000 // len(ctx.document_rows)))  # at least 10,000 rows
    rows = ctx.document_rows * copies
    run_id = rows[0]["run_id"]
    schema = schema_for("documents")
    ctx.log(f"bench: writing {len(rows)} document rows ...")
    out = ctx.workdir / "parquet"

    def ours() -> int:
        shutil.rmtree(out, ignore_errors=True)
        with DatasetWriter(out, "documents", schema, run_id, rows_per_file=5_000) as w:
            w.write_rows(rows)
        return sum(p.stat().st_size for p in w.files_written)

    table = pa.Table.from_pylist(rows, schema=schema)

    def plain() -> int:
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        pq.write_table(table, out / "all.parquet", compression="zstd")
        return (out / "all.parquet").stat().st_size

    times_ours, times_plain = [], []
    for _ in range(ctx.repeat):
        t0 = time.process_time()
        size_ours = ours()
        times_ours.append(time.process_time() - t0)
        t0 = time.process_time()
        size_plain = plain()
        times_plain.append(time.process_time() - t0)
    shutil.rmtree(out, ignore_errors=True)
    n = len(rows)
    rate, rate_plain = n / median(times_ours), n / median(times_plain)
    ctx.rows += [
        Row(
            "parquet",
            "rows per CPU s (documents)",
            rate,
            "rows/s",
            rate_plain,
            "pq.write_table of a built table",
        ),
        Row(
            "parquet",
            "bytes per document",
            size_ours / n,
            "bytes",
            size_plain / n,
            "pq.write_table zstd",
        ),
    ]
    ctx.keys.update(
        parquet_rows_per_s=rate,
        parquet_bytes_per_doc=size_ours / n,
        parquet_baseline_rows_per_s=rate_plain,
        parquet_baseline_bytes_per_doc=size_plain / n,
    )


def recrawl_stage(ctx: BenchContext) -> None:
    """Wall time of a re-crawl of the unchanged demo web against the first crawl's (issue 5).

    Both crawls run in the same repetition, into the same data folder (so the second one sends
    conditional requests); `bench.recrawl` does the timing.
    """
    from bench.recrawl import measure_recrawl
    from crawler.sources import DemoWebConfig

    result = measure_recrawl(
        repeats=ctx.repeat,
        web=DemoWebConfig(
            seed=ctx.seed, sites=ctx.sites, stories=ctx.stories, day=1, heavy=ctx.heavy
        ),
        bench=True,
        workdir=ctx.workdir,
    )
    repeats = result["recrawl"]["repeats"]
    first = median([r["first_seconds"] for r in repeats])
    again = median([r["recrawl_seconds"] for r in repeats])
    ctx.rows.append(
        Row("recrawl", "wall time, unchanged re-crawl", again, "s", first, "first crawl")
    )
    ctx.keys.update(result)


def realtext_stage(ctx: BenchContext) -> None:
    """Issue 12: grouping copies of real news prose, this project beside rensa and datasketch.

    Skipped (with a message) when ``ctx.realtext`` is unset or missing: a clone without the
    shared real-text set still benches everything else.
    """
    from bench import realtext

    path = ctx.realtext
    if path is None or not path.is_file():
        ctx.log(f"bench: realtext skipped: no articles file at {path}")
        ctx.keys["realtext"] = None
        return
    record = realtext.run(realtext.load_articles(path), repeat=ctx.repeat, seed=ctx.seed)
    record["articles"] = str(path)
    for level, v in record["levels"].items():
        ours = v["pipeline"]
        for tool in ("rensa", "datasketch"):
            ctx.rows.append(
                Row("realtext", f"{level}: pairwise F1", ours["f1"], "", v[tool]["f1"], tool)
            )
        for tool in ("rensa", "datasketch"):
            ctx.rows.append(
                Row(
                    "realtext",
                    f"{level}: CPU per 1k docs",
                    ours["cpu_s_per_1k_docs"],
                    "s",
                    v[tool]["cpu_s_per_1k_docs"],
                    tool,
                )
            )
    levels = record["levels"].values()
    ctx.keys["realtext"] = record
    ctx.keys["realtext_f1_minus_rensa"] = min(
        v["pipeline"]["f1"] - v["rensa"]["f1"] for v in levels
    )
    ctx.keys["realtext_cpu_ratio_rensa"] = max(
        v["pipeline"]["cpu_s_per_1k_docs"] / v["rensa"]["cpu_s_per_1k_docs"] for v in levels
    )


BENCHES: list[tuple[str, Callable[[BenchContext], None]]] = [
    ("crawl", crawl_stages),
    ("fingerprint", fingerprint_stage),
    ("grouping", grouping_stage),
    ("parquet", parquet_stage),
    ("recrawl", recrawl_stage),
    ("realtext", realtext_stage),
]
