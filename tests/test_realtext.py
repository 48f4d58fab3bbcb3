"""The real-text syndication benchmark on the committed sample of real prose: a quality floor.

Copies of 36 real articles (tests/data/realtext_sample.jsonl) at the three levels of
``bench.realtext``; the pipeline's ``group_table`` must keep its pairwise F1 above fixed floors,
keep rewrites of one event apart, and score at least rensa's F1 on the same copies. No timing:
speed is measured by ``make bench`` only.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from bench import realtext

SAMPLE = Path(__file__).resolve().parent / "data" / "realtext_sample.jsonl"
# Measured with seed 1 (pipeline F1: light 1.000, heavy 1.000, noisy 0.935; rensa 0.956, 0.932,
# 0.801), less a margin. With the word lead (lead_chars=0) noisy was 0.838: the floor holds
# the character lead to what it gave.
FLOORS = {"light": 0.98, "heavy": 0.97, "noisy": 0.90}


@pytest.fixture(scope="module")
def articles() -> list[dict]:
    return realtext.load_articles(SAMPLE)


@pytest.fixture(scope="module", params=list(realtext.LEVELS))
def level_scores(request, articles) -> tuple[str, dict, dict, list]:
    level = request.param
    docs = realtext.build_corpus(articles, level, seed=1)
    table = realtext.corpus_table(docs)
    ours = realtext.score(docs, realtext.group_pipeline(table))
    rensa = realtext.score(docs, realtext.group_rensa(table))
    return level, ours, rensa, docs


def test_sample_is_real_prose_without_shared_furniture(articles):
    assert len(articles) == 36
    assert {a["category"] for a in articles} == {"Politics", "Sports"}
    words = sum(len(a["text"].split()) for a in articles)
    assert 8_000 < words < 14_000


def test_quality_floor_per_level(level_scores):
    level, ours, _, docs = level_scores
    kinds = {d.kind for d in docs}
    assert {"original", "copy", "excerpt", "rewrite"} <= kinds, kinds
    assert ours["f1"] >= FLOORS[level], (level, ours)
    assert ours["precision"] >= 0.99, (level, ours)
    assert ours["rewrite_pairs"] > 0 and ours["rewrite_pairs_merged"] <= 0.01, (level, ours)
    assert ours["same_category_pairs_merged"] <= 0.001, (level, ours)


def test_at_least_rensas_f1_on_the_same_copies(level_scores):
    level, ours, rensa, _ = level_scores
    assert ours["f1"] >= rensa["f1"], (level, ours["f1"], rensa["f1"])


def test_the_cleaning_earns_its_cost_over_the_bare_grouping_core(articles):
    """`--tools pipeline-core` (normalise, fingerprint, group; no furniture model) on the noisy
    copies: it finds less than the whole `group_table` (seed 1: 0.892 against 0.935) and still
    more than rensa (0.801), one label per row."""
    docs = realtext.build_corpus(articles, "noisy", seed=1)
    table = realtext.corpus_table(docs)
    core = realtext.group_core(table)
    assert len(core) == len(docs)
    f1 = {
        "core": realtext.score(docs, core)["f1"],
        "pipeline": realtext.score(docs, realtext.group_pipeline(table))["f1"],
        "rensa": realtext.score(docs, realtext.group_rensa(table))["f1"],
    }
    assert f1["rensa"] < f1["core"] < f1["pipeline"], f1


def test_an_unknown_tool_is_refused_with_the_known_ones(capsys):
    with pytest.raises(SystemExit) as exit_:
        realtext.main(["--articles", str(SAMPLE), "--tools", "pipeline,rensa-typo"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "unknown tool(s): rensa-typo" in err and "pipeline-core" in err


def test_corpus_is_deterministic_and_seeded(articles):
    a = realtext.build_corpus(articles, "heavy", seed=1)
    assert a == realtext.build_corpus(articles, "heavy", seed=1)
    b = realtext.build_corpus(articles, "heavy", seed=2)
    assert [d.text for d in a] != [d.text for d in b]
    # Originals come before their copies; every family has its original.
    seen = set()
    for d in a:
        if d.kind == "original":
            seen.add(d.family)
        elif d.kind != "rewrite":
            assert d.family in seen
    # Rewrites carry quotes of their source (heavy: no character noise on them).
    sources = {d.source: d for d in a if d.kind == "original"}
    rewrites = [d for d in a if d.kind == "rewrite"]
    assert rewrites

    def flat(text: str) -> str:
        return " ".join(text.split())

    for r in rewrites:
        quoted = realtext.quotes(sources[r.source].text)
        assert any(flat(q) in flat(r.text) for q in quoted), r.id


def test_edits_at_their_rates():
    rng = random.Random(5)
    text = " ".join(f"w{i}" for i in range(20_000))
    edited = realtext.word_edits(text, 0.03, ["x"], rng).split()
    changed = sum(1 for w in edited if w == "x") + abs(20_000 - len(edited))
    assert 0.015 < changed / 20_000 < 0.045
    letters = "abcdefghij" * 5_000
    noisy = realtext.char_noise(letters, 0.02, rng)
    differ = sum(1 for x, y in zip(letters, noisy, strict=False) if x != y)
    assert noisy != letters and differ > 0
    assert realtext.word_edits(text, 0.0, ["x"], rng) == text
    assert realtext.char_noise(letters, 0.0, rng) == letters


def test_prose_keeps_sentences_and_drops_shared_furniture():
    shared = "Subscribe now to our newsletter for the latest headlines every single morning."

    def story(i: int) -> str:
        return "  ".join(" ".join(f"T{i}x{j}y{k}" for k in range(8)) + "." for j in range(12))

    rows = [{"id": i, "category": "Politics", "text": f"{shared}  {story(i)}"} for i in range(4)]
    prose = realtext.prose_articles(rows, max_df=2, min_words=20)
    assert len(prose) == 4
    assert all(shared not in p["text"] and p["text"].startswith("T") for p in prose)
    assert len(realtext.prose_articles(rows[:1] * 2, max_df=2, min_words=20)) == 1  # a duplicate
