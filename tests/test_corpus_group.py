"""`python -m pipelines.group`: grouping a corpus that did not come from a crawl."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from demoweb import DemoWeb
from pipelines.core.metrics import pairwise_prf
from pipelines.corpus import group_table

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def corpus() -> pa.Table:
    """Clean texts of every article page of a small demo web, with their copy families.

    The furniture lines of each page are appended to its text, so the corpus looks like raw
    extractor output and the per-site furniture model has work to do.
    """
    web = DemoWeb(seed=5, sites=12, stories=50)
    rows = []
    for r in web.truth_rows():
        if r["page_kind"] != "article":
            continue
        furniture = [f for f in r["furniture"] if len(f.split()) >= 6][:3]
        paragraphs = r["clean_text"].split("\n")
        text = "\n".join(paragraphs[:1] + furniture + paragraphs[1:])
        rows.append(
            {
                "page": r["url"],
                "body": text,
                "site": r["site"],
                "family": r["family_id"],
                "story": r["story_id"],
            }
        )
    return pa.Table.from_pylist(rows)


def group_cli(src: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """`python -m pipelines.group SRC ARGS...` from the repository root."""
    command = [sys.executable, "-m", "pipelines.group", str(src), *args]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)


def test_cli_groups_copy_families(corpus: pa.Table, tmp_path: Path) -> None:
    src = tmp_path / "corpus.parquet"
    pq.write_table(corpus, src)
    out = tmp_path / "out"
    proc = group_cli(src, "--id-column", "page", "--text-column", "body", "--domain-column",
                     "site", "--out", str(out))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "clusters" in proc.stdout
    got = duckdb.sql(
        f"select a.page, a.family, b.cluster_id, b.furniture_removed from '{src}' a "
        f"join '{out}/assignments.parquet' b on a.page = b.id order by a.page"
    ).fetchall()
    assert len(got) == corpus.num_rows
    p, r, f1 = pairwise_prf([g[1] for g in got], [g[2] for g in got])
    assert p >= 0.97 and r >= 0.95, (p, r, f1)
    assert sum(1 for g in got if g[3]) > 0  # the furniture model removed lines
    ((n_edges, n_excerpts),) = duckdb.sql(
        f"select count(*), count(*) filter (relation = 'excerpt') from '{out}/edges.parquet'"
    ).fetchall()
    assert n_edges > 0 and n_excerpts > 0


def test_rewrites_stay_apart(corpus: pa.Table) -> None:
    assignments, _ = group_table(corpus, "page", "body", domain_column="site")
    cluster = dict(
        zip(assignments["id"].to_pylist(), assignments["cluster_id"].to_pylist(), strict=True)
    )
    rows = corpus.to_pylist()
    pairs = [
        (a["page"], b["page"])
        for i, a in enumerate(rows)
        for b in rows[i + 1 :]
        if a["story"] == b["story"] and a["family"] != b["family"]
    ]
    assert pairs, "the corpus should hold rewrites"
    assert not [p for p in pairs if cluster[p[0]] == cluster[p[1]]]


def test_bad_columns_are_clear_errors(corpus: pa.Table, tmp_path: Path) -> None:
    src = tmp_path / "corpus.parquet"
    pq.write_table(corpus, src)
    proc = group_cli(
        src, "--id-column", "nope", "--text-column", "body", "--out", str(tmp_path / "o")
    )
    assert proc.returncode == 2
    assert "no column 'nope'" in proc.stderr and "page" in proc.stderr
    with pytest.raises(ValueError, match="not unique"):
        group_table(pa.table({"i": ["a", "a"], "t": ["x", "y"]}), "i", "t")
