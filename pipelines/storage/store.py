"""Writing and reading the Parquet datasets so that readers only ever see complete files.

Layout under a data root (``data/`` by default)::

    pages/run_id=<run_id>/part-00000.parquet        grows per run (Hive partitions)
    documents/run_id=<run_id>/part-00000.parquet
    edges/run_id=<run_id>/part-00000.parquet
    runs/run_id=<run_id>/part-00000.parquet         one row, rewritten as the run ends
    clusters/clusters.parquet                        current state, replaced by each run
    cluster_history/run_id=<run_id>/part-00000.parquet   that state as each run left it

Every file is first written to a hidden temporary name in its final folder
(``.part-00000.parquet.<random>.tmp``), fsynced, renamed over its final name with
``os.replace`` (atomic on POSIX within one file system) and the folder is fsynced. The
temporary name neither matches the readers' glob ``**/*.parquet`` nor is seen by
``pyarrow.dataset`` (which skips names starting with ``.``), so a killed run leaves only
complete files plus temporaries that :func:`cleanup_temp_files` removes.

The partition column ``run_id`` lives only in the folder name, never inside the files (schema
version 2; version 1 stored it in both, which pandas and pyarrow refuse to merge). That is the
layout Spark, Hive and pyarrow's own writers make, so the most ordinary call of every reader
gives the column back: ``pandas.read_parquet("data/documents")``,
``pyarrow.dataset.dataset("data/documents", partitioning="hive")``, ``polars.read_parquet``
over the glob with ``hive_partitioning=True``, DuckDB's ``'data/documents/**/*.parquet'`` and
``spark.read.parquet("data/documents")``. Run ids follow :data:`RUN_ID_PATTERN`
(``20261105T142233Z-3f9a1c``): no reader casts such a value to a number or a date, and ids
sort by time. ``python -m pipelines.storage.migrate`` rewrites a version-1 folder in place.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from pipelines.storage.schemas import (
    PARTITION_KEY,
    PARTITIONED_TABLES,
    SCHEMA_VERSION,
    TABLE_KEY,
    VERSION_KEY,
    cluster_history_schema,
    schema_for,
)

log = logging.getLogger(__name__)

TABLES_ON_DISK = ("pages", "documents", "edges", "runs", "clusters", "cluster_history")

COMPRESSION = "zstd"
TEMP_SUFFIX = ".tmp"
RUN_ID_PATTERN = re.compile(r"^[0-9]{8}T[0-9]{6}Z(-[0-9A-Za-z]+)?$")
_PART_NAME = re.compile(r"^part-(\d+)\.parquet$")


class SchemaMismatchError(ValueError):
    """A table does not match the schema of the dataset it is written to."""


# --- run ids ---------------------------------------------------------------------------------


def new_run_id(now: dt.datetime | None = None) -> str:
    """A fresh run id: UTC start time plus 6 random hex digits (``20261105T142233Z-3f9a1c``)."""
    now = now or dt.datetime.now(dt.UTC)
    return f"{now.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


def check_run_id(run_id: str) -> str:
    """Return ``run_id`` if both DuckDB and pyarrow will read it back as the same string."""
    if not isinstance(run_id, str) or not RUN_ID_PATTERN.match(run_id):
        raise ValueError(
            f"run_id {run_id!r} must look like 20261105T142233Z-3f9a1c (pattern "
            f"{RUN_ID_PATTERN.pattern}); other forms are cast to numbers or dates by the "
            "Hive partition readers"
        )
    return run_id


# --- page bodies -----------------------------------------------------------------------------


def compress_html(body: bytes) -> bytes:
    """One zstd frame (with its content size, so any zstd tool can expand it)."""
    return pa.Codec(COMPRESSION).compress(body, asbytes=True)


def decompress_html(blob: bytes) -> bytes:
    """Inverse of :func:`compress_html`."""
    try:
        from compression import zstd  # type: ignore[import-not-found]  # Python 3.14+
    except ImportError:
        from backports import zstd  # type: ignore[no-redef]  # installed with Scrapy 2.19
    return zstd.decompress(blob)


def body_hash(body: bytes) -> str:
    """``content_hash`` of the pages table: SHA-1 hex of the uncompressed body."""
    return hashlib.sha1(body).hexdigest()


# --- validation ------------------------------------------------------------------------------


def _table_name(schema: pa.Schema) -> str:
    return (schema.metadata or {}).get(TABLE_KEY, b"?").decode()


def conform(table: pa.Table | pa.RecordBatch, schema: pa.Schema) -> pa.Table:
    """Check ``table`` against ``schema`` and return it carrying exactly ``schema``.

    Names, order, types and non-null columns are checked; the error names the first column
    that differs. Field descriptions and the version metadata come from ``schema``, so a table
    built without them still writes a documented file.
    """
    if isinstance(table, pa.RecordBatch):
        table = pa.Table.from_batches([table])
    name = _table_name(schema)
    got, want = table.schema.names, schema.names
    missing = [c for c in want if c not in got]
    extra = [c for c in got if c not in want]
    if missing or extra:
        raise SchemaMismatchError(
            f"{name}: columns differ from the schema: missing {missing}, unexpected {extra}"
        )
    if got != want:
        raise SchemaMismatchError(f"{name}: columns must be in the order {want}, got {got}")
    for field in schema:
        have = table.schema.field(field.name)
        if not have.type.equals(field.type):
            raise SchemaMismatchError(
                f"{name}: column {field.name!r} has type {have.type}, expected {field.type}"
            )
        if not field.nullable and table.column(field.name).null_count:
            raise SchemaMismatchError(
                f"{name}: column {field.name!r} must not be null "
                f"({table.column(field.name).null_count} null values)"
            )
    return pa.Table.from_arrays(table.columns, schema=schema)


# --- atomic files ----------------------------------------------------------------------------


def fsync_path(path: Path) -> None:
    """fsync a file or a folder by name (a folder after a rename makes the rename durable)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_fsync_dir = fsync_path


def temp_path_for(path: Path) -> Path:
    """Hidden temporary name next to ``path``: invisible to both readers."""
    return path.with_name(f".{path.name}.{secrets.token_hex(4)}{TEMP_SUFFIX}")


def atomic_write_table(table: pa.Table, path: str | os.PathLike[str], *, schema: pa.Schema) -> Path:
    """Write ``table`` to ``path`` so that the file appears only once complete.

    Raises :class:`SchemaMismatchError` before touching the disk when the table does not match
    ``schema``. An existing file at ``path`` is replaced atomically.
    """
    table = conform(table, schema)
    return atomic_write(Path(path), lambda fh: pq.write_table(table, fh, compression=COMPRESSION))


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temporary name, fsync, rename, fsync the folder)."""
    return atomic_write(Path(path), lambda fh: fh.write(data))


def atomic_write_json(path: str | os.PathLike[str], value: Any) -> Path:
    text = json.dumps(value, indent=1, sort_keys=True, default=str) + "\n"
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_copy(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> Path:
    """Copy ``src`` to ``dst`` so that the copy appears only complete."""
    with open(src, "rb") as source:
        return atomic_write(Path(dst), lambda fh: shutil.copyfileobj(source, fh))


def atomic_write(path: Path, write: Callable[[Any], object]) -> Path:
    """The one way every file of a data folder is written (datasets, state, manifests)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path_for(path)
    try:
        with open(tmp, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)
    return path


def file_schema(schema: pa.Schema) -> pa.Schema:
    """The schema of the files of a partitioned table: the table's, without ``run_id``."""
    if PARTITION_KEY not in schema.names:
        return schema
    return schema.remove(schema.get_field_index(PARTITION_KEY))


def atomic_write_partition(table: pa.Table, path: Path, *, schema: pa.Schema) -> Path:
    """Check ``table`` against the full ``schema``, then write it without the partition key.

    The caller has placed ``path`` in the folder ``run_id=<the rows' run id>``.
    """
    table = conform(table, schema)
    values = table[PARTITION_KEY].unique().to_pylist()
    if len(values) > 1 or (values and Path(path).parent.name != f"{PARTITION_KEY}={values[0]}"):
        raise ValueError(f"{path}: rows of run(s) {values} do not belong in this folder")
    stored = table.drop_columns([PARTITION_KEY])
    return atomic_write_table(stored, path, schema=file_schema(schema))


def cleanup_temp_files(root: str | os.PathLike[str], *, older_than: float = 0.0) -> int:
    """Remove temporaries left by killed writers under ``root``; return how many.

    Call it when no writer is running (e.g. at the start of a run), or pass ``older_than``
    seconds to spare files that a live writer may still be filling.
    """
    root = Path(root)
    if not root.exists():
        return 0
    limit = dt.datetime.now().timestamp() - older_than
    removed = 0
    for tmp in root.rglob(f".*.parquet.*{TEMP_SUFFIX}"):
        if tmp.is_file() and tmp.stat().st_mtime <= limit:
            tmp.unlink(missing_ok=True)
            removed += 1
    if removed:
        log.info("removed %d temporary file(s) left by an interrupted run under %s", removed, root)
    return removed


# --- partitioned datasets --------------------------------------------------------------------


def partition_dir(root: str | os.PathLike[str], table_name: str, run_id: str) -> Path:
    return Path(root) / table_name / f"{PARTITION_KEY}={check_run_id(run_id)}"


class DatasetWriter:
    """Buffer rows of one table for one run and write them as complete Parquet files.

    Files are ``<root>/<table>/run_id=<run_id>/part-NNNNN.parquet`` with ``rows_per_file`` rows
    each (the last one fewer). Rows still buffered when the process is killed are lost; every
    file on disk is complete. One writer per (table, run) at a time: numbering continues after
    the parts already in the folder, so a resumed run adds files instead of replacing them.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        table_name: str,
        schema: pa.Schema,
        run_id: str,
        rows_per_file: int = 10_000,
    ) -> None:
        if rows_per_file <= 0:
            raise ValueError(f"rows_per_file must be positive, got {rows_per_file}")
        if PARTITION_KEY not in schema.names:
            raise ValueError(
                f"{table_name}: schema has no {PARTITION_KEY!r} column to partition by"
            )
        self.table_name = table_name
        self.schema = schema
        self.run_id = check_run_id(run_id)
        self.rows_per_file = rows_per_file
        self.folder = partition_dir(root, table_name, run_id)
        self._names = frozenset(schema.names)
        self._rows: list[dict[str, Any]] = []
        self._tables: list[pa.Table] = []
        self._buffered = 0
        self._next_part = self._first_free_part()
        self.files_written: list[Path] = []
        self.rows_written = 0
        self.closed = False

    def _first_free_part(self) -> int:
        if not self.folder.is_dir():
            return 0
        numbers = [
            int(m.group(1)) for p in self.folder.iterdir() if (m := _PART_NAME.match(p.name))
        ]
        return max(numbers, default=-1) + 1

    def write(self, row: Mapping[str, Any]) -> None:
        """Buffer one row (a mapping of column -> value; run_id may be left out)."""
        self.write_rows((row,))

    def write_rows(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """Buffer rows given as mappings; unknown keys are an error, missing ones are null."""
        self._check_open()
        for row in rows:
            unknown = row.keys() - self._names
            if unknown:
                raise SchemaMismatchError(f"{self.table_name}: unknown column(s) {sorted(unknown)}")
            run_id = row.get(PARTITION_KEY, self.run_id)
            if run_id != self.run_id:
                raise ValueError(
                    f"{self.table_name}: row has run_id {run_id!r}, writer is for {self.run_id!r}"
                )
            self._rows.append({**row, PARTITION_KEY: self.run_id})
            self._buffered += 1
        self._flush_full()

    def _rows_to_table(self) -> None:
        if self._rows:
            self._tables.append(pa.Table.from_pylist(self._rows, schema=self.schema))
            self._rows = []

    def _flush_full(self) -> None:
        if self._buffered >= self.rows_per_file:
            self._flush(final=False)

    def flush(self) -> None:
        """Write everything buffered now, the last file possibly short."""
        self._check_open()
        self._flush(final=True)

    def _flush(self, *, final: bool) -> None:
        self._rows_to_table()
        if not self._tables:
            return
        # conform() validates non-null columns of the rows built from mappings too.
        table = conform(pa.concat_tables(self._tables), self.schema)
        start = 0
        while table.num_rows - start >= self.rows_per_file or (final and start < table.num_rows):
            piece = table.slice(start, self.rows_per_file)
            path = self.folder / f"part-{self._next_part:05d}.parquet"
            atomic_write_partition(piece, path, schema=self.schema)
            self._next_part += 1
            self.files_written.append(path)
            self.rows_written += piece.num_rows
            start += piece.num_rows
        rest = table.slice(start)
        self._tables = [rest] if rest.num_rows else []
        self._buffered = rest.num_rows

    @property
    def buffered(self) -> int:
        """Rows written to this writer and not yet to a file."""
        return self._buffered

    def close(self) -> None:
        """Write the remaining rows; safe to call twice."""
        if not self.closed:
            self._flush(final=True)
            self.closed = True

    def _check_open(self) -> None:
        if self.closed:
            raise ValueError(f"{self.table_name}: writer for run {self.run_id} is closed")

    def __enter__(self) -> DatasetWriter:
        return self

    def __exit__(self, *exc_info: object) -> None:
        # Rows buffered before an exception are complete rows: keep them.
        self.close()


def write_run_record(root: str | os.PathLike[str], row: Mapping[str, Any]) -> Path:
    """Write or replace the one-row file of a run in the runs table.

    Called with status ``running`` when a run starts and again with its end status, so the
    file on disk always holds the run's latest known state.
    """
    schema = schema_for("runs")
    run_id = check_run_id(row[PARTITION_KEY])
    unknown = row.keys() - set(schema.names)
    if unknown:
        raise SchemaMismatchError(f"runs: unknown column(s) {sorted(unknown)}")
    table = pa.Table.from_pylist([dict(row)], schema=schema)
    path = partition_dir(root, "runs", run_id) / "part-00000.parquet"
    return atomic_write_partition(table, path, schema=schema)


def write_cluster_history(
    root: str | os.PathLike[str], rows: list[Mapping[str, Any]], *, run_id: str
) -> Path:
    """Write the clusters rows one run created or changed to ``cluster_history/run_id=<run>/``.

    Only changed rows, so history grows with what happened rather than with runs x clusters;
    the state of any cluster after run R is its latest history row with ``run_id <= R``.
    """
    check_run_id(run_id)
    schema = cluster_history_schema()
    table = pa.Table.from_pylist([{**row, PARTITION_KEY: run_id} for row in rows], schema=schema)
    return atomic_write_partition(
        table, partition_dir(root, "cluster_history", run_id) / "part-00000.parquet", schema=schema
    )


# --- reading ---------------------------------------------------------------------------------


def dataset(root: str | os.PathLike[str], table_name: str) -> ds.Dataset:
    """A ``pyarrow.dataset`` over one table; run_id is declared a string partition key."""
    partitioning = None
    if table_name in PARTITIONED_TABLES:
        # Declared rather than inferred, so pyarrow never guesses another type for run_id.
        partitioning = ds.partitioning(pa.schema([(PARTITION_KEY, pa.string())]), flavor="hive")
    return ds.dataset(Path(root) / table_name, format="parquet", partitioning=partitioning)


def read_table(
    root: str | os.PathLike[str],
    table_name: str,
    *,
    columns: list[str] | None = None,
    num_perm: int = 128,
) -> pa.Table:
    """Read a table (all columns, or only ``columns``: pages' html is large); absent = empty.

    Raises ``ValueError`` when the files were written with another schema version.
    ``num_perm`` only shapes the empty documents table.
    """
    folder = Path(root) / table_name
    if not folder.is_dir() or not any(folder.rglob("*.parquet")):
        return _project(schema_for(table_name, num_perm=num_perm), columns).empty_table()
    data = dataset(root, table_name)
    version = (data.schema.metadata or {}).get(VERSION_KEY)
    if version != str(SCHEMA_VERSION).encode():
        found = version.decode() if version else "none"
        raise ValueError(
            f"{folder}: written with schema version {found}, this code reads {SCHEMA_VERSION}"
        )
    expected = _project(
        schema_for(table_name, num_perm=_num_perm_of(data.schema, num_perm)), columns
    )
    # The partition key comes back nullable from pyarrow; conform() restores the exact schema
    # so that what was read can be written again.
    return conform(data.to_table(columns=expected.names), expected)


def stored_versions(root: str | os.PathLike[str]) -> dict[str, str]:
    """Schema version of each table's files under ``root`` (read from one file per table)."""
    out = {}
    for table in TABLES_ON_DISK:
        folder = Path(root) / table
        first = next(iter(sorted(folder.rglob("*.parquet"))), None) if folder.is_dir() else None
        if first is not None:
            version = (pq.read_schema(first).metadata or {}).get(VERSION_KEY, b"none")
            out[table] = version.decode()
    return out


def _project(schema: pa.Schema, columns: list[str] | None) -> pa.Schema:
    if columns is None:
        return schema
    unknown = [c for c in columns if c not in schema.names]
    if unknown:
        raise KeyError(f"{_table_name(schema)} has no column(s) {unknown}")
    return pa.schema([schema.field(c) for c in columns], metadata=schema.metadata)


def _num_perm_of(schema: pa.Schema, default: int) -> int:
    if "minhash" not in schema.names:
        return default
    return schema.field("minhash").type.byte_width // 4
