"""`python -m pipelines.spark_group`: the Spark job gives the single process's signatures,
edges and clusters.

The tests that take the `spark` fixture (a real local Spark session, conftest.py) run only in
the full suite; the per-batch maths and the input checks run in `make test-fast`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from bench.corpus import texts_and_families
from pipelines.core.config import GroupingConfig
from pipelines.core.fingerprint import fingerprint, fingerprints_and_leads, lead_signature
from pipelines.core.grouping import Grouper
from pipelines.core.metrics import pairwise_prf
from pipelines.corpus import ASSIGNMENTS_SCHEMA, CORPUS_EDGES_SCHEMA, group_table
from pipelines.spark_group import (
    InputError,
    band_layout,
    committed_runs,
    fingerprint_batch,
    fingerprint_documents,
    main,
    parse_grouping,
    verify_batch,
    write_part,
)
from pipelines.storage.store import read_table

REPO = Path(__file__).resolve().parent.parent
REALTEXT = REPO / "tests" / "data" / "realtext_sample.jsonl"


def sample_texts() -> list[str]:
    """Real prose, a copy with an edit, an excerpt, and the edge cases of the hashing."""
    real = [json.loads(line)["text"] for line in REALTEXT.read_text().splitlines()[:6]]
    return [
        *real,
        real[0].replace("the", "a", 3) + "\nRead more at the source.",
        " ".join(real[1].split()[:40]),
        "",
        "two words",
        "Ünïcode façade — naïve café, 東京 and Zürich: déjà vu!",
    ]


def single_process(
    ids: list[str], texts: list[str], config: GroupingConfig
) -> tuple[dict[str, str], list[tuple[str, str, str, float]]]:
    """What `finish_run` does after cleaning: one `Grouper.add_many` over the texts, in order."""
    sigs, counts, leads = fingerprints_and_leads(texts, config)
    grouper = Grouper(config)
    edges = grouper.add_many(ids, sigs, counts, leads=leads)
    rows = [(str(e.doc_a), str(e.doc_b), e.relation, float(np.float32(e.jaccard))) for e in edges]
    return {str(k): v for k, v in grouper.assignments().items()}, rows


def read_output(out: Path) -> tuple[pa.Table, pa.Table]:
    return ds.dataset(out / "assignments").to_table(), ds.dataset(out / "edges").to_table()


def cluster_map(assignments: pa.Table) -> dict[str, str]:
    """id -> cluster_id of an assignments table."""
    return dict(
        zip(assignments["id"].to_pylist(), assignments["cluster_id"].to_pylist(), strict=True)
    )


def edge_tuples(edges: pa.Table) -> list[tuple[str, str, str, float]]:
    return [(r["id_a"], r["id_b"], r["relation"], r["jaccard"]) for r in edges.to_pylist()]


def partition_f1(a: dict[str, str], b: dict[str, str]) -> float:
    ids = sorted(a)
    assert sorted(b) == ids
    return pairwise_prf([a[i] for i in ids], [b[i] for i in ids])[2]


# --- the maths of each stage, without Spark (fast loop) ------------------------------------------


def test_bands_are_the_groupers() -> None:
    config = GroupingConfig()
    grouper = Grouper(config)
    layout = band_layout(config)
    full = [(s, e) for column, s, e in layout if column == "minhash"]
    lead = [(s, e) for column, s, e in layout if column == "lead"]
    assert full == grouper._lsh.hashranges
    assert grouper._lead_lsh is not None and lead == grouper._lead_lsh.hashranges
    assert [c for c, _, _ in band_layout(GroupingConfig(lead_words=0))] == ["minhash"] * len(full)


def test_fingerprint_batch_is_the_fingerprint_module() -> None:
    texts = sample_texts()
    config = GroupingConfig()
    batch = pa.RecordBatch.from_pydict({"id": [str(i) for i in range(len(texts))], "text": texts})
    out = fingerprint_batch(batch, config)
    for i, text in enumerate(texts):
        fp = fingerprint(text, config)
        assert out.column("minhash")[i].as_py() == fp.signature.astype("<u4").tobytes()
        assert out.column("n_shingles")[i].as_py() == fp.n_shingles
        assert out.column("lead")[i].as_py() == lead_signature(text, config).astype("<u4").tobytes()


def test_verify_batch_keeps_the_groupers_edges() -> None:
    texts = sample_texts()
    ids = [f"t{i}" for i in range(len(texts))]
    config = GroupingConfig()
    _, want = single_process(ids, texts, config)
    sigs, counts, leads = fingerprints_and_leads(texts, config)
    pairs = [(a, b) for b in range(len(texts)) for a in range(b) if counts[a] and counts[b]]
    batch = pa.RecordBatch.from_pydict(
        {
            "a": [a for a, _ in pairs],
            "b": [b for _, b in pairs],
            "id_a": [ids[a] for a, _ in pairs],
            "id_b": [ids[b] for _, b in pairs],
            "n_a": [int(counts[a]) for a, _ in pairs],
            "n_b": [int(counts[b]) for _, b in pairs],
            "minhash_a": [sigs[a].astype("<u4").tobytes() for a, _ in pairs],
            "minhash_b": [sigs[b].astype("<u4").tobytes() for _, b in pairs],
            "lead_a": [leads[a].astype("<u4").tobytes() for a, _ in pairs],
            "lead_b": [leads[b].astype("<u4").tobytes() for _, b in pairs],
        }
    )
    got = verify_batch(batch, config).to_pylist()
    # Every pair is offered here, the Grouper verifies only LSH candidates: its edges are ours.
    assert want and set(want) <= {(r["id_a"], r["id_b"], r["relation"], r["jaccard"]) for r in got}


def test_write_part_is_whole_and_typed(tmp_path: Path) -> None:
    batch = pa.RecordBatch.from_pydict(
        {
            "id": pa.array(["a"], pa.large_string()),
            "cluster_id": ["c1"],
            "cluster_size": pa.array([1], pa.int64()),
            "text": ["x"],
            "furniture_removed": pa.array([["l"]], pa.list_(pa.field("element", pa.string()))),
        }
    )
    path = tmp_path / "part-00003.parquet"
    assert write_part(iter([batch.slice(0, 0), batch]), path, ASSIGNMENTS_SCHEMA) == 1
    assert pq.read_schema(path).equals(ASSIGNMENTS_SCHEMA)
    assert write_part(iter([]), tmp_path / "part-00004.parquet", ASSIGNMENTS_SCHEMA) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["part-00003.parquet"]


def test_input_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such data folder"):
        committed_runs(str(tmp_path / "nowhere"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="holds no documents"):
        committed_runs(str(tmp_path / "empty"))
    part = tmp_path / "nostate" / "documents" / "run_id=20261105T142233Z-3f9a1c"
    part.mkdir(parents=True)
    pq.write_table(pa.table({"x": [1]}), part / "part-00000.parquet")
    with pytest.raises(ValueError, match="no committed state|schema version"):
        committed_runs(str(tmp_path / "nostate"))
    with pytest.raises(ValueError, match="unknown keys: lsh_treshold"):
        parse_grouping('{"lsh_treshold": 0.3}')
    with pytest.raises(ValueError, match="lsh_threshold must be in"):
        parse_grouping('{"lsh_threshold": 1.5}')
    assert parse_grouping('{"num_perm": 64}').num_perm == 64


def spark_group_cli(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pipelines.spark_group", *args]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)


def test_cli_refuses_bad_input_before_starting_spark(tmp_path: Path) -> None:
    out = str(tmp_path / "out")
    missing = spark_group_cli("--data", str(tmp_path / "nowhere"), "--out", out)
    assert missing.returncode == 2 and "no such data folder" in missing.stderr
    (tmp_path / "data").mkdir()
    empty = spark_group_cli("--data", str(tmp_path / "data"), "--out", out)
    assert empty.returncode == 2 and "holds no documents" in empty.stderr
    bad = spark_group_cli("--data", str(tmp_path / "data"), "--out", out, "--grouping", "{x")
    assert bad.returncode == 2 and "bad grouping config" in bad.stderr
    corpus = spark_group_cli(str(tmp_path / "c.parquet"), "--out", out)
    assert corpus.returncode == 2 and "--id-column and --text-column" in corpus.stderr
    assert not (tmp_path / "out").exists()


# --- with Spark (full suite) ----------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["oph", "affine32"])
def test_signatures_in_spark_are_bit_for_bit(spark: Any, scheme: str) -> None:
    texts = sample_texts()
    config = GroupingConfig(scheme=scheme)
    frame = spark.createDataFrame(
        [(f"t{i:02d}", t, [], i) for i, t in enumerate(texts)],
        "id string, text string, furniture_removed array<string>, arrival long",
    )
    rows = fingerprint_documents(frame, config).orderBy("id").collect()
    assert [r["id"] for r in rows] == [f"t{i:02d}" for i in range(len(texts))]
    for row, text in zip(rows, texts, strict=True):
        fp = fingerprint(text, config)
        assert row["minhash"] == fp.signature.astype("<u4").tobytes()
        assert row["n_shingles"] == fp.n_shingles
        assert row["lead"] == lead_signature(text, config).astype("<u4").tobytes()


def test_spark_equals_single_process_on_a_crawl(
    demo_crawl: dict[str, Any], spark: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = demo_crawl["data"]
    out = tmp_path / "grouped"
    assert main(["--data", str(data), "--out", str(out)]) == 0
    assignments, edges = read_output(out)

    stored = read_table(data, "documents").to_pylist()
    stored.sort(key=lambda r: (r["fetched_at"], r["doc_id"]))  # one run: one version each
    ids = [r["doc_id"] for r in stored]
    texts = [r["text"] for r in stored]
    config = GroupingConfig()

    # The signatures are those the crawl stored for the same texts.
    frame = spark.createDataFrame(
        [(d, t, [], i) for i, (d, t) in enumerate(zip(ids, texts, strict=True))],
        "id string, text string, furniture_removed array<string>, arrival long",
    )
    signatures = {r["id"]: r["minhash"] for r in fingerprint_documents(frame, config).collect()}
    assert signatures == {r["doc_id"]: r["minhash"] for r in stored}

    # The same clusters, ids included, and the same edges in the same order as one Grouper.
    want_assignments, want_edges = single_process(ids, texts, config)
    got = cluster_map(assignments)
    assert assignments["id"].to_pylist() == ids
    assert got == want_assignments
    assert edge_tuples(edges) == want_edges
    sizes = pd.Series(got).value_counts()
    assert assignments["cluster_size"].to_pylist() == [int(sizes[got[d]]) for d in ids]
    assert assignments["text"].to_pylist() == texts

    # Beside `python -m pipelines.group` on the same documents (which cleans them once more).
    table = pa.table({"doc_id": ids, "text": texts})
    corpus_assignments, _ = group_table(table, "doc_id", "text")
    corpus = cluster_map(corpus_assignments)
    f1 = partition_f1(corpus, got)
    with capsys.disabled():
        print(f"\nspark_group vs pipelines.group on {len(ids)} crawled documents: F1 {f1:.6f}")
    assert f1 >= 0.999

    # The corpus command's schemas; every reader reads them.
    for name, schema in (("assignments", ASSIGNMENTS_SCHEMA), ("edges", CORPUS_EDGES_SCHEMA)):
        for part in (out / name).glob("*.parquet"):
            assert pq.read_schema(part).equals(schema), part
        count = duckdb.sql(f"select count(*) from '{out}/{name}/*.parquet'").fetchall()[0][0]
        assert count == len(pd.read_parquet(out / name)) > 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["grouping_config"] == str(config)
    assert manifest["documents"] == len(ids) and manifest["edges"] == len(want_edges)
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_spark_groups_a_parquet_corpus_like_pipelines_group(
    spark: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Copy families with edits, excerpts, truncations and rewrites (bench/corpus.py).
    texts, families = texts_and_families(1500, seed=2)
    ids = [f"doc{i:05d}" for i in range(len(texts))]
    order = np.random.default_rng(0).permutation(len(texts))  # founding order != id order
    src = tmp_path / "corpus.parquet"
    pq.write_table(pa.table({"key": ids, "body": texts, "seq": order.tolist()}), src)
    out = tmp_path / "out"
    argv = [str(src), "--id-column", "key", "--text-column", "body", "--order-column", "seq"]
    assert main([*argv, "--out", str(out)]) == 0
    assignments, edges = read_output(out)
    got = cluster_map(assignments)

    by_order = sorted(range(len(texts)), key=lambda i: order[i])
    want, want_edges = single_process([ids[i] for i in by_order], [texts[i] for i in by_order],
                                      GroupingConfig())  # fmt: skip
    assert got == want
    assert edge_tuples(edges) == want_edges

    corpus_assignments, _ = group_table(pa.table({"id": ids, "text": texts}), "id", "text")
    corpus = cluster_map(corpus_assignments)
    f1 = partition_f1(corpus, got)
    truth = pairwise_prf(families.tolist(), [got[i] for i in ids])[2]
    with capsys.disabled():
        print(f"\nspark_group vs pipelines.group on {len(ids)} corpus texts: F1 {f1:.6f} "
              f"(against the copy families: {truth:.3f})")  # fmt: skip
    assert f1 >= 0.999


def test_spark_refuses_a_corpus_with_repeated_ids(spark: Any, tmp_path: Path) -> None:
    src = tmp_path / "corpus.parquet"
    pq.write_table(pa.table({"id": ["a", "b", "a"], "text": ["x y z", "u v w", "x y"]}), src)
    out = tmp_path / "out"
    code = main([str(src), "--id-column", "id", "--text-column", "text", "--out", str(out)])
    assert code == 2
    missing = main([str(src), "--id-column", "id", "--text-column", "body", "--out", str(out)])
    assert missing == 2
    assert not out.exists()
