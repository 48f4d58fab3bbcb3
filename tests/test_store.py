"""Datasets on disk: both readers agree, files appear only complete, bad tables are refused."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from pipelines.storage import schemas, store
from pipelines.storage.schemas import SCHEMA_VERSION, TABLE_KEY, VERSION_KEY
from pipelines.storage.store import SchemaMismatchError

REPO = Path(__file__).resolve().parent.parent
T0 = dt.datetime(2026, 11, 5, 14, 22, 33, 123456, tzinfo=dt.UTC)
RUN1 = "20261105T142233Z-3f9a1c"
RUN2 = "20261106T080000Z-00ff"


def page_row(i: int, run_id: str) -> dict:
    body = f"<html><body>page {i}</body></html>".encode()
    ok = i % 5 != 4
    return {
        "url": f"http://site{i % 3}.test/a/{i}?utm_source=x",
        "final_url": f"http://site{i % 3}.test/a/{i}",
        "status": 200 if ok else None,
        "content_type": "text/html; charset=utf-8" if ok else None,
        "etag": f'"{i:08x}"' if ok else None,
        "last_modified": "Thu, 05 Nov 2026 14:22:33 GMT" if ok else None,
        "fetched_at": T0 + dt.timedelta(seconds=i),
        "run_id": run_id,
        "source": "demo",
        "html": store.compress_html(body) if ok else None,
        "error": None if ok else "TimeoutError: took longer than 180.0 seconds",
        "content_hash": store.body_hash(body) if ok else None,
        "depth": i % 4,
        "referer": "http://site0.test/feed.xml",
        "page_kind_hint": "article",
    }


def document_row(i: int, run_id: str, num_perm: int = 128) -> dict:
    url = f"http://site{i % 3}.test/a/{i}"
    return {
        "doc_id": schemas.canonical_doc_id(url),
        "url": url,
        "canonical_url": url,
        "domain": f"site{i % 3}.test",
        "site_name": "Site",
        "title": f"Title {i}",
        "author": None,
        "published_at": None if i % 2 else T0 - dt.timedelta(days=1),
        "language": "en",
        "text": f"text of document {i} " * 20,
        "word_count": 80,
        "content_hash": f"{i:016x}",
        "minhash": bytes([i % 256]) * (4 * num_perm),
        "n_shingles": 78,
        "cluster_id": f"c{i // 2:08d}",
        "run_id": run_id,
        "fetched_at": T0,
        "credited_source": "Harbor Ledger" if i % 3 == 0 else None,
        "canonical_off_site": i % 3 == 0,
        "furniture_removed": ["Sponsored by Acme", "Share this"] if i % 2 else [],
        "grouping_config": "n1_w3_p128_s1_affine32_xx64_t0.30_j0.50_c0.80",
    }


def edge_row(i: int, run_id: str) -> dict:
    return {
        "doc_a": f"{i:016x}",
        "doc_b": f"{i + 1:016x}",
        "jaccard": 0.75,
        "a_in_b": 0.5,
        "b_in_a": 1.0,
        "relation": "excerpt" if i % 2 else "duplicate",
        "direction": "a" if i % 2 else None,
        "lag_seconds": 3600 if i % 2 else None,
        "run_id": run_id,
    }


def run_row(run_id: str, status: str) -> dict:
    done = status != "running"
    return {
        "run_id": run_id,
        "started_at": T0,
        "finished_at": T0 + dt.timedelta(minutes=3) if done else None,
        "status": status,
        "sources": "demo",
        "pages_fetched": 120 if done else None,
        "pages_new": 100 if done else None,
        "pages_not_modified": 15 if done else None,
        "pages_failed": 5 if done else None,
        "status_counts": {"200": 100, "304": 15, "404": 5} if done else None,
        "documents_new": 80 if done else None,
        "documents_changed": 2 if done else None,
        "clusters_new": 50 if done else None,
        "clusters_grown": 4 if done else None,
        "clusters_merged": 1 if done else None,
        "settings_digest": "ab12",
        "grouping_config": "n1_w3_p128",
        "package_versions": {"scrapy": "2.19.0", "pyarrow": "26.0.1"},
        "error": None,
    }


def cluster_rows(n: int, run_id: str) -> pa.Table:
    rows = [
        {
            "cluster_id": f"c{i:08d}",
            "size": 2,
            "n_domains": 2,
            "origin_doc_id": f"{i:016x}",
            "origin_url": f"http://site0.test/a/{i}",
            "origin_domain": "site0.test",
            "origin_reason": schemas.ORIGIN_REASONS[i % 4],
            "first_published": T0,
            "last_published": T0 + dt.timedelta(hours=2),
            "title": f"Title {i}",
            "created_run": RUN1,
            "updated_run": run_id,
            "merged_into": "c00000000" if i == 3 else None,
        }
        for i in range(n)
    ]
    return pa.Table.from_pylist(rows, schema=schemas.clusters_schema())


def duck(root: Path, table: str, columns: str = "*") -> duckdb.DuckDBPyRelation:
    return duckdb.sql(f"select {columns} from '{root}/{table}/**/*.parquet'")


def sorted_rows(table: pa.Table, keys: list[str]) -> list[dict]:
    return table.sort_by([(k, "ascending") for k in keys]).to_pylist()


# --- round trips -----------------------------------------------------------------------------

ROW_MAKERS = {"pages": page_row, "documents": document_row, "edges": edge_row}


@pytest.mark.parametrize("table", sorted(ROW_MAKERS))
def test_partitioned_round_trip_through_both_readers(tmp_path: Path, table: str) -> None:
    schema = schemas.schema_for(table)
    written = []
    for run_id, n in ((RUN1, 7), (RUN2, 4)):
        with store.DatasetWriter(tmp_path, table, schema, run_id, rows_per_file=3) as writer:
            for i in range(n):
                row = ROW_MAKERS[table](i, run_id)
                writer.write(row)
                written.append(row)
    keys = ["run_id", schema.names[0], schema.names[1]]

    read = store.read_table(tmp_path, table)
    assert read.schema.equals(schema, check_metadata=True)
    assert sorted_rows(read, keys) == sorted_rows(pa.Table.from_pylist(written, schema), keys)

    # The exact forms analysts are told to use (DESIGN.md "Datasets").
    plain = ds.dataset(tmp_path / table, partitioning="hive").to_table()
    assert plain.schema.field("run_id").type == pa.string()
    from_duckdb = duck(tmp_path, table).arrow()
    if isinstance(from_duckdb, pa.RecordBatchReader):
        from_duckdb = from_duckdb.read_all()
    assert from_duckdb.column_names == schema.names
    assert from_duckdb.num_rows == len(written)
    for name in ("run_id", schema.names[0], schema.names[1]):
        assert sorted(map(str, from_duckdb[name].to_pylist())) == sorted(
            map(str, read[name].to_pylist())
        )
        assert sorted(map(str, plain[name].to_pylist())) == sorted(map(str, read[name].to_pylist()))


def test_duckdb_types_and_values_match_pyarrow(tmp_path: Path) -> None:
    with store.DatasetWriter(tmp_path, "documents", schemas.documents_schema(), RUN1) as w:
        w.write_rows(document_row(i, RUN1) for i in range(4))
    types = dict(_duck_types(tmp_path, "documents"))
    assert types["run_id"] == "VARCHAR"
    assert types["published_at"] == "TIMESTAMP WITH TIME ZONE"
    assert types["minhash"] == "BLOB"
    assert types["furniture_removed"] == "VARCHAR[]"
    got = duckdb.sql(
        f"select doc_id, octet_length(minhash), len(furniture_removed), epoch_us(fetched_at) "
        f"from '{tmp_path}/documents/**/*.parquet' order by doc_id"
    ).fetchall()
    want = sorted(
        (r["doc_id"], 512, len(r["furniture_removed"]), int(T0.timestamp() * 1_000_000))
        for r in (document_row(i, RUN1) for i in range(4))
    )
    assert got == want


def _duck_types(root: Path, table: str) -> list[tuple[str, str]]:
    rel = duckdb.sql(f"describe select * from '{root}/{table}/**/*.parquet'")
    return [(row[0], row[1]) for row in rel.fetchall()]


def test_runs_record_is_replaced_and_maps_query_in_duckdb(tmp_path: Path) -> None:
    store.write_run_record(tmp_path, run_row(RUN1, "running"))
    store.write_run_record(tmp_path, run_row(RUN1, "ok"))
    store.write_run_record(tmp_path, run_row(RUN2, "running"))
    read = store.read_table(tmp_path, "runs")
    assert sorted(zip(read["run_id"].to_pylist(), read["status"].to_pylist(), strict=True)) == [
        (RUN1, "ok"),
        (RUN2, "running"),
    ]
    got = duckdb.sql(
        f"select run_id, status, status_counts['304'], package_versions['scrapy'] "
        f"from '{tmp_path}/runs/**/*.parquet' order by run_id"
    ).fetchall()
    assert got == [(RUN1, "ok", 15, "2.19.0"), (RUN2, "running", None, "2.19.0")]


def test_cluster_history_keeps_each_runs_rows(tmp_path: Path) -> None:
    store.write_cluster_history(tmp_path, cluster_rows(3, RUN1).to_pylist(), run_id=RUN1)
    store.write_cluster_history(tmp_path, cluster_rows(5, RUN2).to_pylist(), run_id=RUN2)
    history = store.read_table(tmp_path, "cluster_history")
    assert Counter(history["run_id"].to_pylist()) == {RUN1: 3, RUN2: 5}
    assert duckdb.sql(
        f"select run_id, count(*) from '{tmp_path}/cluster_history/**/*.parquet' "
        "group by run_id order by run_id"
    ).fetchall() == [(RUN1, 3), (RUN2, 5)]


def test_read_selected_columns(tmp_path: Path) -> None:
    with store.DatasetWriter(tmp_path, "pages", schemas.pages_schema(), RUN1) as w:
        w.write_rows(page_row(i, RUN1) for i in range(3))
    table = store.read_table(tmp_path, "pages", columns=["final_url", "run_id"])
    assert table.column_names == ["final_url", "run_id"]
    assert sorted(table["final_url"].to_pylist()) == sorted(
        page_row(i, RUN1)["final_url"] for i in range(3)
    )
    assert store.read_table(tmp_path / "nothing", "pages", columns=["url"]).column_names == ["url"]
    with pytest.raises(KeyError, match=r"no column\(s\) \['body'\]"):
        store.read_table(tmp_path, "pages", columns=["body"])


def test_read_absent_table_is_empty_with_schema(tmp_path: Path) -> None:
    table = store.read_table(tmp_path, "edges")
    assert table.num_rows == 0 and table.schema.equals(schemas.edges_schema())


def test_files_record_table_and_schema_version(tmp_path: Path) -> None:
    with store.DatasetWriter(tmp_path, "edges", schemas.edges_schema(), RUN1) as w:
        w.write(edge_row(0, RUN1))
    (path,) = w.files_written
    meta = pq.read_schema(path).metadata
    assert meta[VERSION_KEY] == str(SCHEMA_VERSION).encode() and meta[TABLE_KEY] == b"edges"
    assert pq.read_schema(path).field("jaccard").metadata[b"description"]
    assert pq.ParquetFile(path).metadata.row_group(0).column(0).compression == "ZSTD"


def test_read_refuses_another_schema_version(tmp_path: Path) -> None:
    schema = schemas.edges_schema()
    old = schema.with_metadata({**schema.metadata, VERSION_KEY: b"0"})
    folder = store.partition_dir(tmp_path, "edges", RUN1)
    folder.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist([edge_row(0, RUN1)], schema=old), folder / "p.parquet")
    want = f"schema version 0, this code reads {schemas.SCHEMA_VERSION}"
    with pytest.raises(ValueError, match=want):
        store.read_table(tmp_path, "edges")


# --- run ids and the partition key -----------------------------------------------------------


@pytest.mark.parametrize("bad", ["123", "20261105", "2026-11-05", "inf", "run 1", "", "a/b"])
def test_run_ids_that_readers_would_retype_are_refused(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ValueError, match="must look like"):
        store.DatasetWriter(tmp_path, "edges", schemas.edges_schema(), bad)


def test_accepted_run_ids_stay_strings_in_both_readers(tmp_path: Path) -> None:
    ids = ["20261105T142233Z", "20261105T142233Z-123456", store.new_run_id()]
    for run_id in ids:
        with store.DatasetWriter(tmp_path, "edges", schemas.edges_schema(), run_id) as w:
            w.write(edge_row(0, run_id))
    assert sorted(store.read_table(tmp_path, "edges")["run_id"].to_pylist()) == sorted(ids)
    plain = ds.dataset(tmp_path / "edges", partitioning="hive")
    assert plain.schema.field("run_id").type == pa.string()
    got = duckdb.sql(
        f"select distinct run_id, typeof(run_id) from '{tmp_path}/edges/**/*.parquet'"
    ).fetchall()
    assert sorted(got) == sorted((i, "VARCHAR") for i in ids)


def test_new_run_ids_sort_by_time() -> None:
    early = store.new_run_id(T0)
    late = store.new_run_id(T0 + dt.timedelta(seconds=1))
    assert early.startswith("20261105T142233Z-") and early < late
    assert store.check_run_id(early) == early


# --- refusing bad tables ---------------------------------------------------------------------


def test_wrong_type_names_the_column_and_writes_nothing(tmp_path: Path) -> None:
    schema = schemas.edges_schema()
    bad = pa.Table.from_pylist([edge_row(0, RUN1)], schema=schema)
    bad = bad.set_column(2, "jaccard", pa.array([0.75], pa.float64()))
    with pytest.raises(
        SchemaMismatchError, match="column 'jaccard' has type double, expected float"
    ):
        store.atomic_write_table(bad, tmp_path / "e.parquet", schema=schema)
    assert list(tmp_path.iterdir()) == []


def test_missing_extra_and_reordered_columns_are_named(tmp_path: Path) -> None:
    schema = schemas.edges_schema()
    good = pa.Table.from_pylist([edge_row(0, RUN1)], schema=schema)
    with pytest.raises(SchemaMismatchError, match=r"missing \['lag_seconds'\], unexpected \[\]"):
        store.conform(good.drop_columns(["lag_seconds"]), schema)
    with pytest.raises(SchemaMismatchError, match=r"unexpected \['colour'\]"):
        store.conform(good.append_column("colour", pa.array(["red"])), schema)
    with pytest.raises(SchemaMismatchError, match="in the order"):
        store.conform(good.select(list(reversed(schema.names))), schema)


def test_null_in_required_column_is_refused(tmp_path: Path) -> None:
    writer = store.DatasetWriter(tmp_path, "edges", schemas.edges_schema(), RUN1)
    writer.write({**edge_row(0, RUN1), "relation": None})
    with pytest.raises(SchemaMismatchError, match="column 'relation' must not be null"):
        writer.close()
    assert not any(tmp_path.rglob("*.parquet"))


def test_unknown_key_and_foreign_run_id_in_rows_are_refused(tmp_path: Path) -> None:
    writer = store.DatasetWriter(tmp_path, "edges", schemas.edges_schema(), RUN1)
    with pytest.raises(SchemaMismatchError, match=r"unknown column\(s\) \['similarity'\]"):
        writer.write({**edge_row(0, RUN1), "similarity": 0.5})
    with pytest.raises(ValueError, match="writer is for"):
        writer.write(edge_row(0, RUN2))


# --- writer behaviour ------------------------------------------------------------------------


def test_writer_splits_files_and_continues_numbering(tmp_path: Path) -> None:
    schema = schemas.edges_schema()
    with store.DatasetWriter(tmp_path, "edges", schema, RUN1, rows_per_file=3) as w:
        w.write_rows(edge_row(i, RUN1) for i in range(2))
        w.write_rows(edge_row(i, RUN1) for i in range(2, 6))
        assert [p.name for p in w.files_written] == ["part-00000.parquet", "part-00001.parquet"]
        w.write({k: v for k, v in edge_row(6, RUN1).items() if k != "run_id"})  # run_id filled in
    assert [pq.read_metadata(p).num_rows for p in w.files_written] == [3, 3, 1]
    with store.DatasetWriter(tmp_path, "edges", schema, RUN1, rows_per_file=3) as again:
        again.write(edge_row(7, RUN1))
    assert [p.name for p in again.files_written] == ["part-00003.parquet"]
    doc_as = store.read_table(tmp_path, "edges")["doc_a"].to_pylist()
    assert sorted(doc_as) == [f"{i:016x}" for i in range(8)]


def test_html_compression_round_trip() -> None:
    body = ("<p>Le café coûte 2 €</p>" * 500).encode()
    blob = store.compress_html(body)
    assert len(blob) < len(body) // 10 and blob[:4] == b"\x28\xb5\x2f\xfd"  # zstd frame magic
    assert store.decompress_html(blob) == body


# --- temporary files and killed writers ------------------------------------------------------


def test_temporary_files_are_invisible_to_readers_and_cleaned(tmp_path: Path) -> None:
    with store.DatasetWriter(tmp_path, "edges", schemas.edges_schema(), RUN1) as w:
        w.write(edge_row(0, RUN1))
    (final,) = w.files_written
    tmp = store.temp_path_for(final)
    tmp.write_bytes(b"PAR1 half a file")  # what a killed writer leaves
    assert tmp.parent == final.parent and tmp.name.endswith(".tmp")
    assert duck(tmp_path, "edges", "count(*)").fetchall() == [(1,)]
    assert ds.dataset(tmp_path / "edges", partitioning="hive").count_rows() == 1
    assert store.read_table(tmp_path, "edges").num_rows == 1
    assert store.cleanup_temp_files(tmp_path, older_than=3600) == 0  # too recent: spared
    assert store.cleanup_temp_files(tmp_path) == 1
    assert not tmp.exists() and final.exists()
    assert store.cleanup_temp_files(tmp_path) == 0


CHILD = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from pipelines.storage import schemas, store

    root, signal_file, mode = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    real_fsync = os.fsync
    files = 0

    def fsync(fd):
        # Called once per temporary file, after its bytes are written and before the rename.
        global files
        real_fsync(fd)
        if mode == "pause" and os.readlink(f"/proc/self/fd/{fd}").endswith(".tmp"):
            files += 1
            if files == 3:
                signal_file.write_text("paused")
                time.sleep(60)

    os.fsync = fsync
    schema = schemas.schema_for("pages")
    writer = store.DatasetWriter(root, "pages", schema, sys.argv[4], rows_per_file=40)
    i = 0
    while True:
        writer.write(PAGE(i))
        i += 1
        if i == 100 and mode == "run":
            signal_file.write_text("running")
    """
)


def _start_child(tmp_path: Path, mode: str) -> tuple[subprocess.Popen, Path]:
    signal_file = tmp_path / "signal"
    page_source = textwrap.dedent(
        f"""
        import datetime as dt, os
        from pipelines.storage import store
        T0 = dt.datetime.fromisoformat({T0.isoformat()!r})
        def PAGE(i):
            body = os.urandom(20_000)  # incompressible: every file takes a while to write
            return {{"url": f"http://s.test/{{i}}", "final_url": f"http://s.test/{{i}}",
                     "status": 200, "fetched_at": T0, "source": "demo",
                     "html": store.compress_html(body), "content_hash": store.body_hash(body)}}
        """
    )
    script = tmp_path / "child.py"
    script.write_text(page_source + CHILD)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(tmp_path / "data"), str(signal_file), mode, RUN1],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    deadline = time.monotonic() + 60
    while not signal_file.exists():
        assert proc.poll() is None, "child writer died before the kill"
        assert time.monotonic() < deadline, "child writer never got going"
        time.sleep(0.02)
    return proc, signal_file


def _assert_only_complete_files(root: Path) -> int:
    rows = 0
    for part in (root / "pages").rglob("*.parquet"):
        table = pq.read_table(part)  # every visible file reads in full
        assert table.num_rows == 40
        rows += table.num_rows
    assert store.read_table(root, "pages").num_rows == rows
    assert duck(root, "pages", "count(*)").fetchall() == [(rows,)]
    return rows


def test_writer_killed_between_write_and_rename_leaves_only_complete_files(
    tmp_path: Path,
) -> None:
    proc, _ = _start_child(tmp_path, "pause")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    root = tmp_path / "data"
    leftovers = list(root.rglob("*.tmp"))
    assert len(leftovers) == 1 and leftovers[0].stat().st_size > 40 * 20_000
    assert _assert_only_complete_files(root) == 2 * 40  # files 1 and 2 were renamed, 3 was not
    assert store.cleanup_temp_files(root) == 1
    assert not list(root.rglob("*.tmp"))


def test_writer_killed_at_a_random_moment_leaves_only_complete_files(tmp_path: Path) -> None:
    proc, _ = _start_child(tmp_path, "run")
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    root = tmp_path / "data"
    assert _assert_only_complete_files(root) >= 2 * 40
    store.cleanup_temp_files(root)
    assert not list(root.rglob("*.tmp"))
