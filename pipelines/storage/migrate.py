"""`make migrate`: rewrite the datasets of a data folder in the current schema version, in place.

    python -m pipelines.storage.migrate --data DIR

Version 1 stored `run_id` inside the files of partitioned tables as well as in the folder name
(pandas and pyarrow refuse to merge the two) and had no `runs.failures` / `runs.cut_short`.
Each file is read, brought to the current schema (run_id from its folder, new columns null)
and replaced atomically, so a migration killed at any moment leaves every file readable and
is finished by running it again. Hold no crawl meanwhile: it takes the data folder's lock.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.storage.schemas import (
    PARTITION_KEY,
    PARTITIONED_TABLES,
    SCHEMA_VERSION,
    VERSION_KEY,
    schema_for,
)
from pipelines.storage.store import TABLES_ON_DISK, atomic_write_partition, atomic_write_table


def migrate_file(path: Path, table: str) -> bool:
    """Rewrite one file in the current schema; False when it already is."""
    stored = pq.read_table(path)
    if (stored.schema.metadata or {}).get(VERSION_KEY) == str(SCHEMA_VERSION).encode():
        return False
    num_perm = 128
    if "minhash" in stored.schema.names:
        num_perm = stored.schema.field("minhash").type.byte_width // 4
    schema = schema_for(table, num_perm=num_perm)
    columns = {}
    for field in schema:
        if field.name == PARTITION_KEY and table in PARTITIONED_TABLES:
            run_id = path.parent.name.split("=", 1)[1]
            columns[field.name] = pa.array([run_id] * stored.num_rows, pa.string())
        elif field.name in stored.schema.names:
            columns[field.name] = stored[field.name].cast(field.type)
        else:
            columns[field.name] = pa.nulls(stored.num_rows, field.type)
    new = pa.table(columns, schema=schema)
    if table in PARTITIONED_TABLES:
        atomic_write_partition(new, path, schema=schema)
    else:
        atomic_write_table(new, path, schema=schema)
    return True


def migrate(data_dir: Path) -> dict[str, int]:
    """Files rewritten per table."""
    done = {}
    for table in TABLES_ON_DISK:
        folder = data_dir / table
        files = sorted(folder.rglob("*.parquet")) if folder.is_dir() else []
        done[table] = sum(migrate_file(f, table) for f in files if not f.name.startswith("."))
    state = data_dir / "state"
    for f in sorted(state.glob("*/clusters.parquet")) if state.is_dir() else []:
        done["clusters"] += migrate_file(f, "clusters")
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.storage.migrate", description=__doc__
    )
    parser.add_argument("--data", default="data", type=Path, help="data folder (%(default)s)")
    args = parser.parse_args(argv)
    from pipelines.storage.state import RunLockedError, run_lock

    if not args.data.is_dir():
        print(f"error: no data folder {args.data}", file=sys.stderr)
        return 2
    try:
        with run_lock(args.data, "migrate"):
            done = migrate(args.data)
    except RunLockedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    total = sum(done.values())
    detail = ", ".join(f"{t} {n}" for t, n in done.items() if n)
    print(f"{args.data}: {total} file(s) rewritten in schema version {SCHEMA_VERSION}"
          + (f" ({detail})" if detail else ""))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
