"""Evaluation maths against hand-computed cases and brute-force pair enumeration."""

from __future__ import annotations

import itertools
import json
from collections import Counter

import numpy as np
import pytest

from pipelines.core import metrics
from pipelines.core.metrics import (
    ExtractionCase,
    adjusted_rand_index,
    body_loss,
    false_merge_share,
    leaks,
    pair_recall,
    pairwise_prf,
    score_extraction,
    summarise,
    token_prf,
)

# --- extraction ------------------------------------------------------------------------------


def test_token_prf_counts_repeated_tokens_as_a_multiset() -> None:
    # overlap: "a" min(2, 1) + "b" min(1, 2) = 2 of 4 tokens on each side
    assert token_prf("a a b c", "a b b d") == (0.5, 0.5, 0.5)
    p, r, f = token_prf("the cat the", "the cat sat on\nthe\tmat")
    assert (p, r) == (1.0, 0.5) and f == pytest.approx(2 / 3)


def test_token_prf_edge_cases() -> None:
    assert token_prf("", "  \n") == (1.0, 1.0, 1.0)
    assert token_prf("", "some text") == (0.0, 0.0, 0.0)
    assert token_prf("some text", "") == (0.0, 0.0, 0.0)
    assert token_prf("x y", "z w") == (0.0, 0.0, 0.0)
    assert token_prf("Same words", "same words")[0] == 0.5  # case counts: tokens are compared as is


def test_token_prf_matches_a_brute_force_count() -> None:
    rng = np.random.default_rng(3)
    vocab = [f"w{i}" for i in range(12)]
    for _ in range(50):
        a = list(rng.choice(vocab, size=rng.integers(1, 40)))
        b = list(rng.choice(vocab, size=rng.integers(1, 40)))
        remaining, overlap = list(b), 0
        for token in a:  # greedy matching of tokens one by one
            if token in remaining:
                remaining.remove(token)
                overlap += 1
        p, r, _ = token_prf(" ".join(a), " ".join(b))
        assert (p, r) == (overlap / len(a), overlap / len(b))


def test_leaks_normalise_whitespace_and_report_each_line_once() -> None:
    text = "Body starts.\nSponsored   by\nAcme Corp. More body.  Share this"
    furniture = ["Sponsored by Acme Corp.", "Share this", "Share  this", "Newsletter", "  "]
    assert leaks(text, furniture) == ["Sponsored by Acme Corp.", "Share this"]
    assert leaks("Sponsored by Acme", ["Sponsored by Acme Corp."]) == []
    assert leaks("anything", []) == []


def test_body_loss_is_the_share_of_missing_paragraphs() -> None:
    text = "First para here.\n\nSecond   para\nhere. Fourth para."
    paragraphs = ["First para here.", "Second para here.", "Third para here.", "Fourth para.", ""]
    assert body_loss(text, paragraphs) == 0.25
    assert body_loss("", []) == 0.0
    assert body_loss("", ["lost"]) == 1.0


def test_score_extraction_macro_averages_pages() -> None:
    scores = score_extraction(
        [
            ExtractionCase("a b c d", "a b c d", ["Share this"], ["a b", "c d"]),
            ExtractionCase("a b Share this", "a b x y", ["Share this"], ["a b", "x y"]),
        ]
    )
    assert scores.precision == pytest.approx((1 + 0.5) / 2)
    assert scores.recall == pytest.approx((1 + 0.5) / 2)
    assert scores.f1 == pytest.approx((1 + 0.5) / 2)
    assert scores.leak_share == 0.5 and scores.body_loss == 0.25 and scores.n_pages == 2
    with pytest.raises(ValueError, match="at least one"):
        score_extraction([])


# --- grouping: references --------------------------------------------------------------------


def brute_pairs(true: list, pred: list) -> tuple[int, int, int, int]:
    """(tp, fp, fn, tn) by looking at every pair."""
    tp = fp = fn = tn = 0
    for i, j in itertools.combinations(range(len(true)), 2):
        same_t, same_p = true[i] == true[j], pred[i] == pred[j]
        tp += same_t and same_p
        fp += same_p and not same_t
        fn += same_t and not same_p
        tn += not same_t and not same_p
    return tp, fp, fn, tn


def brute_ari(true: list, pred: list) -> float:
    """ARI in its pair-confusion form (Steinley 2004), independent of the contingency formula."""
    tp, fp, fn, tn = brute_pairs(true, pred)
    denominator = (tp + fn) * (fn + tn) + (tp + fp) * (fp + tn)
    return 1.0 if denominator == 0 else 2 * (tp * tn - fn * fp) / denominator


def test_hand_computed_example() -> None:
    true = [0, 0, 0, 1, 1, 1]
    pred = [0, 0, 1, 1, 2, 2]
    # pairs together in truth: 3 + 3 = 6; in prediction: 3; in both: (0,1) and (4,5)
    p, r, f = pairwise_prf(true, pred)
    assert (p, r) == (2 / 3, 1 / 3) and f == pytest.approx(4 / 9)
    # (2 - 6 * 3 / 15) / ((6 + 3) / 2 - 6 * 3 / 15) = 0.8 / 3.3
    assert adjusted_rand_index(true, pred) == pytest.approx(0.8 / 3.3)


@pytest.mark.parametrize("seed", range(8))
def test_contingency_formulas_match_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 80))
    true = [f"family-{x}" for x in rng.integers(0, rng.integers(1, 12), size=n)]
    # Predictions near the truth with random splits and merges, so scores spread over [0, 1].
    pred = [t if rng.random() < 0.7 else int(rng.integers(0, 5)) for t in true]
    tp, fp, fn, _ = brute_pairs(true, pred)
    p, r, f = pairwise_prf(true, pred)
    assert p == (tp / (tp + fp) if tp + fp else 1.0)
    assert r == (tp / (tp + fn) if tp + fn else 1.0)
    assert f == pytest.approx(2 * p * r / (p + r) if p + r else 0.0)
    assert adjusted_rand_index(true, pred) == pytest.approx(brute_ari(true, pred), abs=1e-12)
    assert adjusted_rand_index(np.array(pred, dtype=object), true) == pytest.approx(
        brute_ari(pred, true), abs=1e-12
    )


def test_scores_ignore_label_names() -> None:
    true = [0, 0, 1, 1, 2, 5, 5, 5]
    pred = [9, 9, 9, 1, 1, 3, 3, 7]
    renamed = [{9: "x", 1: "y", 3: "z", 7: "w"}[x] for x in pred]
    assert pairwise_prf(true, pred) == pairwise_prf(true, renamed)
    assert adjusted_rand_index(true, pred) == adjusted_rand_index(np.array(true), renamed)


def test_trivial_partitions() -> None:
    singletons, one = list(range(5)), [0] * 5
    assert pairwise_prf(singletons, singletons) == (1.0, 1.0, 1.0)
    assert adjusted_rand_index(singletons, singletons) == 1.0
    assert adjusted_rand_index(one, one) == 1.0
    assert pairwise_prf(one, singletons) == (1.0, 0.0, 0.0)  # no pair claimed, none found
    assert pairwise_prf(singletons, one) == (0.0, 1.0, 0.0)
    assert adjusted_rand_index(one, singletons) == 0.0 == brute_ari(one, singletons)
    assert adjusted_rand_index([], []) == 1.0 and adjusted_rand_index([1], [2]) == 1.0
    with pytest.raises(ValueError, match="differ in length"):
        pairwise_prf([1, 2], [1])


def test_worse_than_chance_is_negative() -> None:
    true = [0, 0, 1, 1]
    pred = [0, 1, 0, 1]  # every true pair split, every predicted pair wrong
    assert adjusted_rand_index(true, pred) == pytest.approx(brute_ari(true, pred))
    assert adjusted_rand_index(true, pred) < 0


def test_a_million_documents_without_enumerating_pairs() -> None:
    n = 1_000_000
    idx = np.arange(n)
    true, pred = idx // 10, idx // 5  # every predicted cluster is half of a true one
    counts = metrics.pair_counts(true, pred)
    assert counts.same_true == (n // 10) * 45 and counts.same_pred == (n // 5) * 10
    assert counts.same_both == counts.same_pred and counts.total == n * (n - 1) // 2
    p, r, _ = pairwise_prf(true, pred)
    assert (p, r) == (1.0, 2 * 10 / 45)  # two predicted halves of 10 pairs in 45
    # the same with string labels, through the dictionary path
    p2, r2, _ = pairwise_prf([str(x) for x in true[:200_000]], list(pred[:200_000]))
    assert (p2, r2) == (1.0, 2 * 10 / 45)


# --- listed pairs ----------------------------------------------------------------------------


def test_pair_recall_and_false_merges_with_missing_documents() -> None:
    clusters = {"a": "c1", "b": "c1", "c": "c2", "d": None, "e": None}
    copies = [("a", "b"), ("a", "c"), ("d", "e"), ("a", "zz"), ("zz", "yy")]
    # only (a, b) shares a cluster: no cluster (None) and absent documents are with no one
    assert pair_recall(copies, clusters) == 1 / 5
    assert false_merge_share([("b", "a"), ("c", "d")], clusters) == 1 / 2
    assert pair_recall([], clusters) is None and false_merge_share(iter([]), clusters) is None
    assert pair_recall([(0, 1), (1, 2)], ["x", "x", "y"]) == 0.5  # a sequence indexed by position


# --- the evaluation table --------------------------------------------------------------------

JSON_KEYS = [
    "extraction_precision",
    "extraction_recall",
    "extraction_f1",
    "leak_share",
    "body_loss",
    "baseline_extraction_precision",
    "baseline_extraction_recall",
    "baseline_extraction_f1",
    "baseline_leak_share",
    "baseline_body_loss",
    "pairwise_precision",
    "pairwise_recall",
    "pairwise_f1",
    "ari",
    "recall_by_copy_kind",
    "false_merge_share",
    "false_merges_rewrite",
    "false_merges_hard_negative",
    "article_pages_as_documents",
    "non_article_pages_as_documents",
    "origin_accuracy",
    "seed",
    "sites",
    "stories",
    "n_documents",
    "n_clusters",
    "network_pair_precision",
    "network_pair_recall",
    "networks_planted",
    "networks_found_exactly",
]


def _summary(origin_accuracy: float | None = 0.75) -> metrics.EvaluationSummary:
    ours = score_extraction([ExtractionCase("a b c", "a b c", ["ad"], ["a b c"])])
    base = score_extraction([ExtractionCase("a b c ad", "a b c", ["ad"], ["a b c"])])
    docs = ["d1", "d2", "d3", "d4", "d5"]
    true = ["s1", "s1", "s1", "s2", "s3"]
    pred = ["c1", "c1", "c2", "c2", "c3"]
    return summarise(
        extraction=ours,
        baseline=base,
        true_labels=true,
        pred_labels=pred,
        copy_pairs_by_kind={"verbatim": [("d1", "d2")], "excerpt": [("d1", "d3"), ("d2", "d3")]},
        rewrite_pairs=[("d3", "d4")],
        hard_negative_pairs=[("d4", "d5"), ("d1", "d5")],
        pred_by_key=dict(zip(docs, pred, strict=True)),
        article_pages=8,
        article_pages_as_documents=5,
        non_article_pages_as_documents=1,
        origin_accuracy=origin_accuracy,
        seed=1,
        sites=12,
        stories=300,
    )


def test_summary_figures() -> None:
    s = _summary()
    assert (s.extraction_f1, s.leak_share) == (1.0, 0.0)
    assert (s.baseline_extraction_precision, s.baseline_leak_share) == (0.75, 1.0)
    assert (s.pairwise_precision, s.pairwise_recall) == (0.5, 1 / 3)
    assert s.recall_by_copy_kind == {"verbatim": 1.0, "excerpt": 0.0}
    assert (s.false_merges_rewrite, s.false_merges_hard_negative) == (1, 0)
    assert s.false_merge_share == 1 / 3
    assert s.article_pages_as_documents == 5 / 8 and s.non_article_pages_as_documents == 1
    assert (s.n_documents, s.n_clusters) == (5, 3)


def test_summary_json_has_exactly_the_agreed_keys() -> None:
    data = json.loads(_summary(origin_accuracy=None).to_json())
    assert list(data) == JSON_KEYS
    assert data["origin_accuracy"] is None and data["recall_by_copy_kind"]["verbatim"] == 1.0


def test_summary_text_is_aligned() -> None:
    lines = _summary().to_text().splitlines()
    assert len(lines) == len(JSON_KEYS) + 2  # two copy kinds under their heading
    assert len({len(line) for line in lines if not line.startswith("recall_by")}) == 1
    assert any(line.startswith("  excerpt") and line.endswith("0.0000") for line in lines)
    assert Counter(line.split()[0] for line in lines)["ari"] == 1
