"""Every SQL block and Python block in README runs on a real crawl (README is the manual)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import duckdb
import pytest

from demoweb.spawn import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
SQL_BLOCKS = re.findall(r"^ *```sql\n(.*?)^ *```", README, re.S | re.M)
PYTHON_BLOCKS = re.findall(r"^ *```python\n(.*?)^ *```", README, re.S | re.M)


def statements(block: str) -> list[str]:
    text = "\n".join(line for line in block.splitlines() if not line.strip().startswith("--"))
    return [s.strip() for s in text.split(";") if s.strip()]


def on_data(code: str, data: Path) -> str:
    return code.replace("'data/", f"'{data}/").replace('"data/', f'"{data}/')


def test_readme_has_code_blocks() -> None:
    assert len(SQL_BLOCKS) >= 4 and PYTHON_BLOCKS


@pytest.mark.parametrize("index", range(len(SQL_BLOCKS)))
def test_sql_block_runs(demo_crawl: dict[str, Any], index: int) -> None:
    some_run = duckdb.sql(
        f"select min(run_id) from '{demo_crawl['data']}/runs/**/*.parquet'"
    ).fetchall()[0][0]
    for sql in statements(SQL_BLOCKS[index]):
        sql = on_data(sql, demo_crawl["data"]).replace("'R'", f"'{some_run}'")
        duckdb.sql(sql).fetchall()


@pytest.mark.parametrize("index", range(len(PYTHON_BLOCKS)))
def test_python_block_runs(demo_crawl: dict[str, Any], index: int) -> None:
    exec(compile(on_data(PYTHON_BLOCKS[index], demo_crawl["data"]), "README", "exec"), {})


def test_the_originals_and_copies_query_adds_up(demo_crawl: dict[str, Any]) -> None:
    """README's "with and without copies" counts: every document once, one original per story."""
    (block,) = [b for b in SQL_BLOCKS if "originals and copies per site" in b]
    data = demo_crawl["data"]
    rows = duckdb.sql(on_data(statements(block)[0], data)).fetchall()
    overall = {r[0]: r[1:] for r in rows}["all sites"]
    originals, copies = overall[0], overall[1]
    live = duckdb.sql(
        f"select count(*), coalesce(sum(size - 1) filter (where size > 1), 0) "
        f"from '{data}/clusters/*.parquet' where merged_into is null"
    ).fetchall()[0]
    n_docs = duckdb.sql(
        f"select count(distinct doc_id) from '{data}/documents/**/*.parquet'"
    ).fetchall()[0][0]
    assert originals + copies == n_docs
    assert (originals, copies) == live  # one original per live story, the rest copies
    assert copies > 0 and sum(r[2] for r in rows if r[0] != "all sites") == copies
