"""The corpus path over arrays (pipelines/core/cleancorpus.py) gives finish_run's results.

``group_table`` without a domain column cleans and fingerprints with ``clean_corpus``; with
the kernels switched off it takes ``finish_run``, the crawl's path. Both must give the same
assignments (cluster, clean text, removed lines) and edges, on copies of real prose at the
three levels of the real-text benchmark, with and without headlines, and on texts that send
lines down the Python path (characters the kernels leave alone, a lone surrogate, blank and
repeated lines).
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from bench import realtext
from pipelines.core import cleancorpus, furniture
from pipelines.corpus import group_table

SAMPLE = Path(__file__).resolve().parent / "data" / "realtext_sample.jsonl"


def both_ways(table: pa.Table, monkeypatch, **columns) -> tuple[tuple, tuple]:
    furniture.forget_lines()
    fast = group_table(table, "id", "text", **columns)
    with monkeypatch.context() as m:
        m.setattr(cleancorpus, "applies", lambda config: False)
        furniture.forget_lines()
        slow = group_table(table, "id", "text", **columns)
    return fast, slow


@pytest.mark.parametrize("level", list(realtext.LEVELS))
def test_copies_of_real_prose_group_as_finish_run_groups_them(level, monkeypatch):
    docs = realtext.build_corpus(realtext.load_articles(SAMPLE), level, seed=1)
    table = realtext.corpus_table(docs)
    # Every third document is given its first line as headline (the repeated-headline rule).
    texts = table["text"].to_pylist()
    titles = [t.split("\n")[0] if i % 3 == 0 else None for i, t in enumerate(texts)]
    table = table.append_column("title", pa.array(titles, pa.string()))
    for columns in ({}, {"title_column": "title"}):
        (fast, fast_edges), (slow, slow_edges) = both_ways(table, monkeypatch, **columns)
        assert fast.equals(slow), columns
        assert fast_edges.equals(slow_edges), columns
        assert fast_edges.num_rows > 0
    removed = sum(len(r) for r in fast["furniture_removed"].to_pylist())
    assert removed > len(docs)  # outlet boilerplate and ad lines were found and removed


def test_lines_for_the_python_path_and_odd_texts(monkeypatch):
    """Shared boilerplate (an exact line and a template in many families) beside lines the
    kernels leave to Python: the results are still finish_run's."""
    prose = [a["text"] for a in realtext.load_articles(SAMPLE)][:12]
    texts = []
    for i, body in enumerate(prose):
        lines = [f"Stra\u00dfe news \U0001f600 {i}", body, "Share this story with a friend"]
        lines += [f"Read the rest of the story on Outlet {chr(65 + i)} today", body[:300]]
        lines += ["", "   ", "Share this story with a friend", "\u00bd of the \ufb01les"]
        texts.append("\n".join(lines))
    texts += ["", "   \n  ", "Share this story with a friend", prose[0]]
    ids = [f"d{i}" for i in range(len(texts))]
    titles = [t.split("\n")[0] if t.strip() else None for t in texts]
    table = pa.table({"id": ids, "text": texts, "title": titles})
    for columns in ({}, {"title_column": "title"}):
        (fast, fast_edges), (slow, slow_edges) = both_ways(table, monkeypatch, **columns)
        assert fast.equals(slow), columns
        assert fast_edges.equals(slow_edges), columns
    gone = {ln for r in fast["furniture_removed"].to_pylist() for ln in r}
    assert "Share this story with a friend" in gone
    assert any(ln.startswith("Read the rest of the story on Outlet") for ln in gone)


def test_a_lone_surrogate_takes_the_python_path():
    """pyarrow refuses lone surrogates, but a Python caller of clean_corpus may pass one: the
    lines then all take the Python path, with finish_run's answers."""
    from pipelines.core.config import GroupingConfig
    from pipelines.core.endofrun import finish_run
    from pipelines.core.furniture import FurnitureModel
    from pipelines.core.grouping import Grouper

    texts = ["lone \ud800 surrogate\nShare this story with a friend\nA body line here"] * 2
    texts.append("Another text\nShare this story with a friend")
    ids = ["a", "b", "c"]
    config = GroupingConfig()
    furniture.forget_lines()
    clean = cleancorpus.clean_corpus(ids, texts, [None] * 3, config)
    documents = {
        d: {"doc_id": d, "domain": f"text:{i}", "text": t, "title": None, "published_at": None,
            "fetched_at": i}
        for i, (d, t) in enumerate(zip(ids, texts, strict=True))
    }  # fmt: skip
    furniture.forget_lines()
    finish_run(documents, FurnitureModel(), config, Grouper(config), observe_sites=False,
               records=False, exact_counts=True)  # fmt: skip
    assert clean.texts == [documents[d]["text"] for d in ids]
    assert clean.removed == [documents[d]["furniture_removed"] for d in ids]
