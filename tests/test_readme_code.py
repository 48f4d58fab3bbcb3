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
