"""History with Spark: re-group every stored document under the current GroupingConfig.

    python -m pipelines.spark_group --data DIR --out DIR [--master local[2]] [--grouping JSON]
    python -m pipelines.spark_group INPUT.parquet --id-column ID --text-column TEXT --out DIR
    spark-submit --master spark://HOST:7077 --py-files syndication_tracker.zip \\
        pipelines/spark_group.py --data DIR --out DIR

The same grouping as the single process (``Grouper.add_many`` over one batch), in Spark stages
whose maths are the project's own plain functions:

1. documents: the latest version of every ``doc_id`` of the committed runs of a data folder, in
   arrival order (first ``fetched_at``, then ``doc_id``, as ``endofrun.arrival_order``); a
   corpus's rows in ``--order-column`` order (default: the id). The stored texts are already
   clean: nothing is cleaned again.
2. signatures: ``fingerprint.fingerprints_and_leads`` over each Arrow batch (``mapInArrow``):
   the signatures bit for bit.
3. candidates: each document's LSH bands, the bands the Grouper uses (``grouping.lsh_params``
   for the full signature and for the lead), self-joined on (band, 64-bit hash of the band's
   values): the pairs ``grouping.band_pairs`` finds, each kept once.
4. verification: a pair must agree on a whole band (a hash can collide), then
   ``grouping.verify``, the Grouper's own rule.
5. clusters: connected components by min-label propagation with pointer jumping, as
   DataFrame joins until no label moves. A cluster's id is ``grouping.cluster_id_for`` of its
   earliest document, the document the Grouper would have founded it with.
6. output: ``OUT/assignments/`` and ``OUT/edges/``, folders of Parquet parts in the schemas of
   ``python -m pipelines.group`` (``corpus.ASSIGNMENTS_SCHEMA``, ``corpus.CORPUS_EDGES_SCHEMA``)
   written by the executors through ``storage.store`` (each file whole: temporary name, rename)
   into a hidden staging folder that is swapped in at the end; ``OUT/manifest.json`` records the
   config and the counts.

Executors must see ``OUT`` at the same path (local mode, or a shared file system on a
cluster); ``--data`` and the corpus may be any path Spark reads.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import secrets
import shutil
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.core.config import GroupingConfig, IncompatibleStateError
from pipelines.core.fingerprint import fingerprints_and_leads
from pipelines.core.grouping import cluster_id_for, lsh_params, verify
from pipelines.storage.schemas import ASSIGNMENTS_SCHEMA, CORPUS_EDGES_SCHEMA
from pipelines.storage.state import check_schema_version, read_manifest
from pipelines.storage.store import (
    COMPRESSION,
    atomic_write,
    atomic_write_json,
    atomic_write_table,
    conform,
)

OUTPUTS = {"assignments": ASSIGNMENTS_SCHEMA, "edges": CORPUS_EDGES_SCHEMA}
# A chain of copies longer than 2**this cannot exist in any real corpus; the loop stops there.
MAX_ITERATIONS = 64

# Arrow types of the Spark stages (Spark's binary is Arrow binary, its long int64).
FINGERPRINT_TYPE = "id string, n_shingles long, minhash binary, lead binary"
EDGE_TYPE = (
    "a long, b long, id_a string, id_b string, jaccard float, a_in_b float, b_in_a float, "
    "relation string"
)
WRITTEN_TYPE = "part int, rows long"


class InputError(ValueError):
    """The input cannot be grouped (missing, empty, not a data folder, bad columns)."""


# ---------------------------------------------------------------------------------------------
# The maths of each stage on one Arrow batch: plain functions, no Spark.


def band_layout(config: GroupingConfig) -> list[tuple[str, int, int]]:
    """(column, first value, past-last value) of every LSH band, full signature then lead.

    The bands of ``Grouper``: ``lsh_params`` over the full signature and, when the lead index
    is on, over the lead signature. A band's number is its place in this list.
    """
    bands, rows = lsh_params(config.lsh_threshold, config.num_perm, config.lsh_weights)
    layout = [("minhash", i * rows, (i + 1) * rows) for i in range(bands)]
    if config.lead_words > 0:
        lead_bands, lead_rows = lsh_params(
            config.lead_threshold, config.lead_perm, config.lsh_weights
        )
        layout += [("lead", i * lead_rows, (i + 1) * lead_rows) for i in range(lead_bands)]
    return layout


def fingerprint_batch(batch: pa.RecordBatch, config: GroupingConfig) -> pa.RecordBatch:
    """(id, text) -> (id, n_shingles, minhash, lead), signatures as little-endian uint32 bytes."""
    texts = [t or "" for t in batch.column("text").to_pylist()]
    sigs, counts, leads = fingerprints_and_leads(texts, config)
    return pa.RecordBatch.from_arrays(
        [
            batch.column("id"),
            pa.array(counts, pa.int64()),
            _rows_as_binary(sigs),
            _rows_as_binary(leads),
        ],
        names=["id", "n_shingles", "minhash", "lead"],
    )


def _rows_as_binary(values: np.ndarray) -> pa.Array:
    """Each row of a uint32 matrix as the bytes ``fingerprint.to_bytes`` gives it."""
    data = np.ascontiguousarray(values, dtype="<u4")
    width = data.shape[1] * 4
    offsets = np.arange(data.shape[0] + 1, dtype=np.int32) * width
    return pa.Array.from_buffers(
        pa.binary(), data.shape[0], [None, pa.py_buffer(offsets), pa.py_buffer(data.tobytes())]
    )


def _binary_rows(column: pa.Array | pa.ChunkedArray, width: int) -> np.ndarray:
    """Inverse of ``_rows_as_binary``: ``uint32[n, width]``."""
    joined = b"".join(column.to_pylist())
    return np.frombuffer(joined, dtype="<u4").astype(np.uint32).reshape(-1, width)


def verify_batch(batch: pa.RecordBatch, config: GroupingConfig) -> pa.RecordBatch:
    """Pairs (a earlier than b, both sides' fingerprints) -> the verified edges among them.

    A pair counts only when the two agree on a whole band (the join found it by a hash of the
    band, which two different bands may share). Then the Grouper's ``_verify_pairs``: estimated
    Jaccard of the signatures, of the leads when the lead index is on, then ``verify``.
    """
    equal = {
        "minhash": _binary_rows(batch.column("minhash_a"), config.num_perm)
        == _binary_rows(batch.column("minhash_b"), config.num_perm),
        "lead": _binary_rows(batch.column("lead_a"), config.lead_perm)
        == _binary_rows(batch.column("lead_b"), config.lead_perm),
    }
    banded = np.zeros(batch.num_rows, dtype=bool)
    for column, start, end in band_layout(config):
        banded |= equal[column][:, start:end].all(axis=1)
    jaccards = np.count_nonzero(equal["minhash"], axis=1) / config.num_perm
    lead_jaccards = np.count_nonzero(equal["lead"], axis=1) / config.lead_perm
    with_leads = config.lead_words > 0  # every candidate has shingles, so a lead
    n_a = batch.column("n_a").to_pylist()
    n_b = batch.column("n_b").to_pylist()
    keep, relations, a_in_b, b_in_a = [], [], [], []
    for i in np.flatnonzero(banded).tolist():
        lead_j = float(lead_jaccards[i]) if with_leads else None
        relation, ab, ba = verify(float(jaccards[i]), lead_j, n_a[i], n_b[i], config)
        if relation is not None:
            keep.append(i)
            relations.append(relation)
            a_in_b.append(ab)
            b_in_a.append(ba)
    idx = pa.array(keep, pa.int64())
    return pa.RecordBatch.from_arrays(
        [
            batch.column("a").take(idx),
            batch.column("b").take(idx),
            batch.column("id_a").take(idx),
            batch.column("id_b").take(idx),
            pa.array(jaccards[keep], pa.float32()),
            pa.array(a_in_b, pa.float32()),
            pa.array(b_in_a, pa.float32()),
            pa.array(relations, pa.string()),
        ],
        names=["a", "b", "id_a", "id_b", "jaccard", "a_in_b", "b_in_a", "relation"],
    )


def assignment_batch(batch: pa.RecordBatch) -> pa.RecordBatch:
    """(id, founder, cluster_size, text, furniture_removed) -> an assignments batch."""
    founders = batch.column("founder").to_pylist()
    return pa.RecordBatch.from_arrays(
        [
            batch.column("id"),
            pa.array([cluster_id_for(f) for f in founders], pa.string()),
            batch.column("cluster_size").cast(pa.int32()),
            batch.column("text"),
            batch.column("furniture_removed"),
        ],
        names=ASSIGNMENTS_SCHEMA.names,
    )


def write_part(batches: Iterator[pa.RecordBatch], path: Path, schema: pa.Schema) -> int:
    """Stream one partition's batches into one Parquet file, whole or not at all; rows written.

    Nothing is written for a partition without rows.
    """
    first = next((b for b in batches if b.num_rows), None)
    if first is None:
        return 0
    rows = 0

    def write(fh: Any) -> None:
        nonlocal rows
        with pq.ParquetWriter(fh, schema, compression=COMPRESSION) as writer:
            for batch in itertools.chain([first], batches):
                if batch.num_rows:
                    table = conform(_cast_to(batch, schema), schema)
                    writer.write_table(table)
                    rows += table.num_rows

    atomic_write(path, write)
    return rows


def _cast_to(batch: pa.RecordBatch, schema: pa.Schema) -> pa.Table:
    """Spark's Arrow types (large strings, list fields named ``element``) -> ``schema``'s."""
    columns = [batch.column(name).cast(schema.field(name).type) for name in schema.names]
    return pa.Table.from_arrays(columns, names=schema.names)


# ---------------------------------------------------------------------------------------------
# The Spark glue.


def spark_session(master: str | None, app: str = "syndication-tracker-group") -> Any:
    """A SparkSession; local masters bind to the loopback and run without a web UI.

    Without ``master`` under spark-submit, the master spark-submit was given; under plain
    Python, ``local[*]``.
    """
    # PySpark 4.3 warns about pandas 3 on import of its Arrow helpers; no pandas is used here.
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    if master is None and "PYSPARK_GATEWAY_PORT" not in os.environ:
        master = "local[*]"
    builder = SparkSession.builder.appName(app).config("spark.sql.session.timeZone", "UTC")
    if master is not None:
        builder = builder.master(master)
    if master is not None and master.startswith("local"):
        root = str(Path(__file__).resolve().parent.parent)
        path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
        builder = (
            builder.config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", "8")
            # The Python workers import this package from the checkout, wherever they start.
            .config("spark.executorEnv.PYTHONPATH", path)
        )
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("WARN")
    return session


def _is_local(path: str) -> bool:
    return "://" not in path or path.startswith("file://")


def committed_runs(data: str) -> list[str] | None:
    """Run ids of the ``documents`` partitions of a data folder's committed runs.

    None for a folder Spark reads that is not on this machine's file system (all its
    partitions are read). Raises ``InputError`` for a folder that is missing or holds no
    committed documents, ``IncompatibleStateError`` for datasets of another schema version.
    """
    if not _is_local(data):
        return None
    root = Path(data.removeprefix("file://"))
    folder = root / "documents"
    if not root.is_dir():
        raise InputError(f"no such data folder: {data}")
    if not any(folder.rglob("*.parquet")):
        raise InputError(
            f"{data} holds no documents ({folder} is missing or empty): run `make crawl` "
            "or `make reprocess` first"
        )
    check_schema_version(root)
    manifest = read_manifest(root)
    if manifest is None:
        raise InputError(
            f"{data} has documents but no committed state ({root / 'state' / 'CURRENT'} is "
            "missing): build it once with `make reprocess`"
        )
    stored = {p.name.split("=", 1)[1] for p in folder.glob("run_id=*")}
    committed = sorted(stored & set(manifest.get("committed_runs", [])))
    if not committed:
        raise InputError(f"{folder} holds no partition of a committed run")
    return committed


def read_documents(spark: Any, data: str, committed: list[str] | None) -> Any:
    """The latest version of every document of the ``committed`` runs (None: every run):
    (id, text, furniture_removed, arrival), ``arrival`` the first ``fetched_at`` of the doc id.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    folder = data.rstrip("/") + "/documents"
    reader = spark.read.option("basePath", folder)
    if committed is None:
        frame = reader.parquet(folder)
    else:
        # Only committed runs: a run that was killed before its commit left partitions that
        # the next crawl removes (storage.state.recover).
        frame = reader.parquet(*[f"{folder}/run_id={r}" for r in committed])
    latest = Window.partitionBy("doc_id").orderBy(F.desc("run_id"), F.desc("fetched_at"))
    every = Window.partitionBy("doc_id")
    return (
        frame.select("doc_id", "text", "furniture_removed", "fetched_at", "run_id")
        .withColumn("arrival", F.min("fetched_at").over(every))
        .withColumn("version", F.row_number().over(latest))
        .where(F.col("version") == 1)
        .select(
            F.col("doc_id").alias("id"),
            F.coalesce(F.col("text"), F.lit("")).alias("text"),
            "furniture_removed",
            "arrival",
        )
    )


def read_corpus(
    spark: Any, path: str, id_column: str, text_column: str, order_column: str | None
) -> Any:
    """A Parquet corpus as (id, text, furniture_removed, arrival); ``InputError`` when unfit."""
    from pyspark.sql import functions as F

    if _is_local(path) and not Path(path.removeprefix("file://")).exists():
        raise InputError(f"no such file or folder: {path}")
    frame = spark.read.parquet(path)
    for name in (id_column, text_column, order_column):
        if name is not None and name not in frame.columns:
            raise InputError(
                f"no column {name!r} in the input; columns: {', '.join(frame.columns)}"
            )
    ids = F.col(id_column).cast("string")
    order = F.col(order_column) if order_column else ids
    frame = frame.select(
        ids.alias("id"),
        F.coalesce(F.col(text_column).cast("string"), F.lit("")).alias("text"),
        F.array().cast("array<string>").alias("furniture_removed"),
        order.alias("arrival"),
    )
    bad = frame.groupBy("id").count().where((F.col("count") > 1) | F.col("id").isNull())
    dupes = [r["id"] for r in bad.limit(3).collect()]
    if dupes:
        raise InputError(f"column {id_column!r} is not unique or has empty ids, e.g. {dupes}")
    return frame


def rank_documents(documents: Any) -> Any:
    """(id, rank): the documents numbered in arrival order (increasing, not contiguous).

    A global sort of the ids alone (the texts stay where they are), then ids that grow with
    the partition and the row inside it: the order without moving every row to one partition
    (a window without a partition would). Kept on the executors, so the numbers never change
    under a recomputation.
    """
    from pyspark.sql import functions as F

    ordered = documents.select("id", "arrival").orderBy("arrival", "id")
    return ordered.select("id", F.monotonically_increasing_id().alias("rank")).localCheckpoint()


def fingerprint_documents(documents: Any, config: GroupingConfig) -> Any:
    """(id, n_shingles, minhash, lead) of every document, computed on the executors."""
    conf = config.to_dict()

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        cfg = GroupingConfig.from_dict(conf)
        for batch in batches:
            yield fingerprint_batch(batch, cfg)

    return documents.select("id", "text").mapInArrow(run, FINGERPRINT_TYPE)


def candidate_pairs(fingerprints: Any, config: GroupingConfig) -> Any:
    """(a, b) ranks, a < b, of every pair whose bands hash alike: the LSH candidates, and the
    rare pairs whose different bands share a 64-bit hash (``verify_batch`` drops those).

    A 64-bit hash of each band's bytes makes the join one of numbers, not of byte strings.
    """
    from pyspark.sql import functions as F

    keys = [
        F.struct(
            F.lit(band).alias("band"),
            F.xxhash64(F.substring(column, start * 4 + 1, (end - start) * 4)).alias("key"),
        )
        for band, (column, start, end) in enumerate(band_layout(config))
    ]
    # An empty text's all-max signature would match every other empty text (Grouper.add).
    bands = (
        fingerprints.where(F.col("n_shingles") > 0)
        .select("rank", F.explode(F.array(*keys)).alias("k"))
        .select("rank", "k.band", "k.key")
    )
    left, right = bands.alias("l"), bands.alias("r")
    joined = left.join(
        right,
        (F.col("l.band") == F.col("r.band"))
        & (F.col("l.key") == F.col("r.key"))
        & (F.col("l.rank") < F.col("r.rank")),
    )
    return joined.select(F.col("l.rank").alias("a"), F.col("r.rank").alias("b")).distinct()


def verified_edges(pairs: Any, fingerprints: Any, config: GroupingConfig) -> Any:
    """The candidate pairs that pass ``grouping.verify``, with their estimates."""
    conf = config.to_dict()
    side_a = fingerprints.selectExpr(
        "rank as a", "id as id_a", "n_shingles as n_a", "minhash as minhash_a", "lead as lead_a"
    )
    side_b = fingerprints.selectExpr(
        "rank as b", "id as id_b", "n_shingles as n_b", "minhash as minhash_b", "lead as lead_b"
    )

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        cfg = GroupingConfig.from_dict(conf)
        for batch in batches:
            yield verify_batch(batch, cfg)

    return pairs.join(side_a, "a").join(side_b, "b").mapInArrow(run, EDGE_TYPE)


def connected_components(edges: Any, max_iterations: int = MAX_ITERATIONS) -> tuple[Any, int]:
    """(rank, root) of every document with an edge, root the least rank of its component;
    and the number of rounds.

    Each round: every vertex takes the least label among itself and its neighbours, then the
    label of its label (pointer jumping, so long chains take about log2(length) rounds rather
    than their length). Labels only fall and stay inside the component; when a round moves
    none, both ends of every edge agree, so each component carries one label, and its least
    vertex, which nothing can lower, is that label.
    """
    from pyspark.sql import functions as F

    links = edges.select("a", "b").localCheckpoint()
    labels = (
        links.select(F.col("a").alias("v"))
        .union(links.select(F.col("b").alias("v")))
        .distinct()
        .withColumn("label", F.col("v"))
        .localCheckpoint()
    )
    for rounds in range(1, max_iterations + 1):
        la = labels.select(F.col("v").alias("a"), F.col("label").alias("la"))
        lb = labels.select(F.col("v").alias("b"), F.col("label").alias("lb"))
        pairs = links.join(la, "a").join(lb, "b")
        offers = (
            pairs.select(F.col("a").alias("v"), F.col("lb").alias("label"))
            .union(pairs.select(F.col("b").alias("v"), F.col("la").alias("label")))
            .union(labels)
        )
        hooked = offers.groupBy("v").agg(F.min("label").alias("label"))
        jump = hooked.select(F.col("v").alias("label"), F.col("label").alias("jumped"))
        old = labels.select("v", F.col("label").alias("old"))
        new = (
            hooked.join(jump, "label")
            .join(old, "v")
            .select("v", F.least("label", "jumped").alias("label"), "old")
            .localCheckpoint()
        )
        moved = new.where(F.col("label") != F.col("old")).count()
        labels = new.select("v", "label")
        if moved == 0:
            return labels.select(F.col("v").alias("rank"), F.col("label").alias("root")), rounds
    raise RuntimeError(f"connected components did not settle in {max_iterations} rounds")


def assignments_frame(documents: Any, ranks: Any, roots: Any) -> Any:
    """(rank, id, founder, cluster_size, text, furniture_removed), by rank."""
    from pyspark.sql import functions as F

    placed = ranks.join(roots, "rank", "left").withColumn(
        "root", F.coalesce(F.col("root"), F.col("rank"))
    )
    sizes = placed.groupBy("root").agg(F.count("*").alias("cluster_size"))
    founders = ranks.select(F.col("rank").alias("root"), F.col("id").alias("founder"))
    clustered = placed.join(sizes, "root").join(founders, "root")
    return (
        documents.select("id", "text", "furniture_removed")
        .join(clustered, "id")
        .select("rank", "id", "founder", "cluster_size", "text", "furniture_removed")
        .orderBy("rank")
    )


def write_dataset(
    frame: Any,
    folder: Path,
    schema: pa.Schema,
    transform: Callable[[pa.RecordBatch], pa.RecordBatch] | None = None,
) -> int:
    """Write ``frame`` as ``folder/part-NNNNN.parquet`` from the executors, one file per
    partition in partition order; rows written. ``transform`` turns each batch into the
    schema's columns (without it, the frame's columns of those names are written).

    A frame without rows still leaves one file with the schema, so every reader sees the
    columns.
    """
    target = str(folder)

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from pyspark import TaskContext

        part = TaskContext.get().partitionId()
        if transform is not None:
            batches = map(transform, batches)
        rows = write_part(batches, Path(target) / f"part-{part:05d}.parquet", schema)
        yield pa.RecordBatch.from_pydict(
            {"part": pa.array([part], pa.int32()), "rows": pa.array([rows], pa.int64())}
        )

    if transform is None:
        frame = frame.select(*schema.names)
    written = frame.mapInArrow(run, WRITTEN_TYPE).collect()
    total = sum(r["rows"] for r in written)
    if total == 0:
        atomic_write_table(schema.empty_table(), folder / "part-00000.parquet", schema=schema)
    return total


def regroup(spark: Any, documents: Any, config: GroupingConfig, out: Path) -> dict[str, Any]:
    """Group ``documents`` (id, text, furniture_removed, arrival) and write ``out``; the counts.

    Outputs are written into a hidden staging folder of ``out`` and then swapped in, dataset by
    dataset, so a killed job leaves the previous outputs (and a staging folder) behind.
    """
    from pyspark import StorageLevel

    started = time.perf_counter()
    parallelism = spark.sparkContext.defaultParallelism
    if documents.rdd.getNumPartitions() < parallelism:
        # A data folder of one run is one file: one task would fingerprint it all.
        documents = documents.repartition(parallelism)
    documents = documents.persist(StorageLevel.MEMORY_AND_DISK)
    ranks = rank_documents(documents)
    n_documents = ranks.count()
    if n_documents == 0:
        raise InputError("no documents to group")
    fingerprints = (
        fingerprint_documents(documents, config)
        .join(ranks, "id")
        .persist(StorageLevel.MEMORY_AND_DISK)
    )
    pairs = candidate_pairs(fingerprints, config).persist(StorageLevel.MEMORY_AND_DISK)
    n_candidates = pairs.count()
    edges = verified_edges(pairs, fingerprints, config).localCheckpoint()
    n_edges = edges.count()
    roots, rounds = connected_components(edges)
    assignments = assignments_frame(documents, ranks, roots)
    staging = out / f".spark-group-{secrets.token_hex(4)}"
    written = {
        "assignments": write_dataset(
            assignments, staging / "assignments", ASSIGNMENTS_SCHEMA, assignment_batch
        ),
        "edges": write_dataset(edges.orderBy("b", "a"), staging / "edges", CORPUS_EDGES_SCHEMA),
    }
    # Documents without an edge are clusters of one; the others form one cluster per root.
    n_linked = roots.count()
    n_multi = roots.select("root").distinct().count()
    n_clusters = n_documents - n_linked + n_multi
    for name in OUTPUTS:
        _swap_in(staging / name, out / name)
    shutil.rmtree(staging, ignore_errors=True)
    counts = {
        "documents": n_documents,
        "clusters": n_clusters,
        "clusters_with_copies": n_multi,
        "candidate_pairs": n_candidates,
        "edges": n_edges,
        "component_rounds": rounds,
        "rows_written": written,
        "seconds": round(time.perf_counter() - started, 3),
    }
    manifest = {
        "grouping_config": str(config),
        "grouping_config_digest": config.digest,
        "config": config.to_dict(),
        "master": spark.sparkContext.master,
        **counts,
    }
    atomic_write_json(out / "manifest.json", manifest)
    for frame in (documents, fingerprints, pairs):
        frame.unpersist()
    return counts


def _swap_in(new: Path, final: Path) -> None:
    """Put the folder ``new`` at ``final``; an older ``final`` is moved aside, then removed."""
    old = final.with_name(f".{final.name}.old-{secrets.token_hex(4)}")
    if final.exists():
        os.replace(final, old)
    os.replace(new, final)
    shutil.rmtree(old, ignore_errors=True)


def parse_grouping(text: str | None) -> GroupingConfig:
    """``GroupingConfig`` from JSON (inline or a file name); the defaults without it."""
    if text is None:
        return GroupingConfig()
    source = Path(text)
    raw = source.read_text(encoding="utf-8") if not text.lstrip().startswith("{") else text
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"--grouping is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"--grouping must be a JSON object of GroupingConfig fields, got {data!r}")
    return GroupingConfig.from_dict(data)


def _error(exc: Exception) -> int:
    """Print ``exc``; the exit code: 4 for datasets of another schema version, else 2."""
    print(f"error: {exc}", file=sys.stderr)
    return 4 if isinstance(exc, IncompatibleStateError) else 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.spark_group",
        description="Re-group every stored document (or a Parquet corpus) with Spark.",
    )
    parser.add_argument("input", nargs="?", help="a Parquet corpus (file or folder), or --data")
    parser.add_argument("--data", help="a data folder: its documents dataset is grouped")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--id-column", help="corpus: unique id of each text")
    parser.add_argument("--text-column", help="corpus: the text to group")
    parser.add_argument("--order-column", help="corpus: founding order (default: the id)")
    parser.add_argument("--master", help="Spark master (default: spark-submit's, else local[*])")
    parser.add_argument("--grouping", help="GroupingConfig fields as JSON, inline or a file")
    args = parser.parse_args(argv)
    if (args.data is None) == (args.input is None):
        parser.error("give either --data DIR or a Parquet corpus")
    if args.input is not None and not (args.id_column and args.text_column):
        parser.error("a corpus needs --id-column and --text-column")
    try:
        config = parse_grouping(args.grouping)
    except (OSError, ValueError) as exc:
        print(f"error: bad grouping config: {exc}", file=sys.stderr)
        return 2
    try:
        # Before Spark starts (about 10 s): a wrong folder fails at once.
        committed = committed_runs(args.data) if args.data is not None else None
    except (IncompatibleStateError, InputError) as exc:
        return _error(exc)
    from pyspark.sql import SparkSession

    # A session the caller already runs (a notebook, the tests) is used and left running.
    owned = SparkSession.getActiveSession() is None
    spark = spark_session(args.master)
    try:
        if args.data is not None:
            documents = read_documents(spark, args.data, committed)
        else:
            documents = read_corpus(
                spark, args.input, args.id_column, args.text_column, args.order_column
            )
        counts = regroup(spark, documents, config, args.out)
    except (IncompatibleStateError, InputError) as exc:
        return _error(exc)
    finally:
        if owned:
            spark.stop()
    print(
        f"{counts['documents']} documents -> {counts['clusters']} clusters "
        f"({counts['clusters_with_copies']} with copies), {counts['edges']} edges from "
        f"{counts['candidate_pairs']} candidate pairs, {counts['component_rounds']} rounds; "
        f"{counts['seconds']:.1f} s; config {config}\n"
        f"written: {args.out / 'assignments'}/, {args.out / 'edges'}/, "
        f"{args.out / 'manifest.json'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
