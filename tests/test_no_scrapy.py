"""The core's command lines run where Scrapy cannot be imported (a grouping service, a Spark
executor, a notebook): `python -m pipelines.group` and `python -m pipelines.extract`."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
REALPAGE = ROOT / "tests" / "realpages" / "html" / "uebermedien.de-Israel.html.gz"

# `sys.modules["scrapy"] = None` makes every `import scrapy` (and twisted, used only by the
# Scrapy glue) raise ImportError, as on a machine where it is not installed.
BLOCK = (
    "import runpy, sys\n"
    "for name in ('scrapy', 'twisted'):\n"
    "    sys.modules[name] = None\n"
    "module = sys.argv.pop(1)\n"
    "sys.argv[0] = module\n"
    "runpy.run_module(module, run_name='__main__', alter_sys=True)\n"
)


def run_without_scrapy(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", BLOCK, module, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_blocking_works() -> None:
    # The guard itself can fail: a module that imports Scrapy dies under it.
    done = run_without_scrapy("crawler.middlewares")
    assert done.returncode != 0
    assert "ModuleNotFoundError" in done.stderr or "ImportError" in done.stderr


def test_group_runs_without_scrapy(tmp_path: Path) -> None:
    story = " ".join(f"word{i} of the council budget story number {i % 7}" for i in range(80))
    other = " ".join(f"unrelated{i} football report about the league {i % 5}" for i in range(80))
    table = pa.table({"id": ["a", "b", "c"], "text": [story, story + " An added line.", other]})
    pq.write_table(table, tmp_path / "corpus.parquet")
    out = tmp_path / "out"
    done = run_without_scrapy(
        "pipelines.group", str(tmp_path / "corpus.parquet"),
        "--id-column", "id", "--text-column", "text", "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    files = sorted(p.name for p in out.iterdir())
    assert files, done.stdout
    assignments = pq.read_table(next(out.glob("*assign*.parquet"))).to_pylist()
    cluster = {row["id"]: row["cluster_id"] for row in assignments}
    assert cluster["a"] == cluster["b"] != cluster["c"]


def test_extract_runs_without_scrapy(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_bytes(gzip.decompress(REALPAGE.read_bytes()))
    done = run_without_scrapy("pipelines.extract", str(page))
    assert done.returncode == 0, done.stderr
    assert "words" in done.stdout and len(done.stdout) > 1000
