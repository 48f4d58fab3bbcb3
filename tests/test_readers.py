"""Every table of a real crawl read with the most ordinary call of each analyst's tool.

pandas, polars, pyarrow.dataset, DuckDB and PySpark (local mode, on the machine's Java) read
the same rows, and the partitioned tables give `run_id` back from the folder name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import polars as pl
import pyarrow.dataset as ds
import pytest

from pipelines.storage.schemas import PARTITIONED_TABLES, TABLES

TABLE_NAMES = sorted(TABLES)


def counts_by_run(data: Path, table: str) -> dict[str, int]:
    rows = duckdb.sql(
        f"select run_id, count(*) from '{data}/{table}/**/*.parquet' group by run_id"
    ).fetchall()
    return dict(rows)


@pytest.mark.parametrize("table", TABLE_NAMES)
def test_every_reader_reads_every_table(demo_crawl: dict[str, Any], spark: Any, table: str) -> None:
    data = demo_crawl["data"]
    folder = data / table
    glob = f"{folder}/**/*.parquet"
    expected = duckdb.sql(f"select count(*) from '{glob}'").fetchall()[0][0]
    assert expected > 0

    frames = {
        "pandas": pd.read_parquet(folder),
        "polars": pl.read_parquet(glob, hive_partitioning=True).to_pandas(),
        "pyarrow": ds.dataset(folder, partitioning="hive").to_table().to_pandas(),
    }
    for name, frame in frames.items():
        assert len(frame) == expected, name
    sdf = spark.read.parquet(str(folder))
    assert sdf.count() == expected
    assert len(sdf.limit(3).collect()) == min(3, expected)  # every column decodes
    if table in PARTITIONED_TABLES:
        want = counts_by_run(data, table)
        for name, frame in frames.items():
            got = frame["run_id"].astype(str).value_counts().to_dict()
            assert got == want, name
        by_run = sdf.groupBy("run_id").count().collect()
        assert {r["run_id"]: r["count"] for r in by_run} == want
