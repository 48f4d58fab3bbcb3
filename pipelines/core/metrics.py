"""Evaluation maths: extraction and grouping scores against the demo web's ground truth.

Pure functions on strings, label sequences and pairs; no I/O. The definitions follow DESIGN.md
"Measuring quality":

* extraction: precision/recall/F1 over the *bag* of whitespace tokens (multiset overlap), as the
  public article-extraction benchmarks score it; a furniture line *leaks* when it is still in
  the text after whitespace is normalised; body loss is the share of clean paragraphs missing;
* grouping: pair counting. A pair of documents is positive when both are in one copy family;
  precision, recall and F1 count pairs, and the adjusted Rand index corrects the pair agreement
  for chance. Both come from the contingency table of (true, predicted) labels, which needs one
  pass over the labels, so they run on a million documents where enumerating the ~5e11 pairs
  could not.

Conventions for empty denominators, so that a score never divides by zero: a clustering that
predicts no pair has pairwise precision 1 (it claimed nothing false); a truth without pairs gives
recall 1; two identical trivial partitions (all singletons, or one cluster) have ARI 1.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from itertools import combinations
from typing import Any

import numpy as np

Labels = Sequence[Hashable] | np.ndarray
Pair = tuple[Hashable, Hashable]

_SPACE = re.compile(r"\s+")


# --- extraction ------------------------------------------------------------------------------


def _f1(p: float, r: float) -> float:
    return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def token_prf(extracted: str, clean: str) -> tuple[float, float, float]:
    """Precision, recall and F1 of the extracted tokens against the clean ones (as multisets).

    A token repeated three times in the clean text and twice in the extraction counts two
    matches. Both texts empty scores (1, 1, 1): nothing to find, nothing wrong. Exactly one
    empty scores (0, 0, 0).
    """
    got, want = Counter(extracted.split()), Counter(clean.split())
    n_got, n_want = sum(got.values()), sum(want.values())
    if n_got == 0 and n_want == 0:
        return 1.0, 1.0, 1.0
    if n_got == 0 or n_want == 0:
        return 0.0, 0.0, 0.0
    overlap = sum((got & want).values())
    p, r = overlap / n_got, overlap / n_want
    return p, r, _f1(p, r)


def normalise_space(text: str) -> str:
    """Collapse every run of whitespace (newlines included) into one space, and strip."""
    return _SPACE.sub(" ", text).strip()


def leaks(text: str, furniture_lines: Iterable[str]) -> list[str]:
    """The furniture lines still present in ``text`` (both whitespace-normalised).

    Matching is exact otherwise (case and punctuation count): the demo web injects these lines
    verbatim, so any change to them means the extractor did something to them. Blank lines are
    ignored; each leaking line is reported once, in input order.
    """
    haystack = normalise_space(text)
    found: list[str] = []
    for line in furniture_lines:
        needle = normalise_space(line)
        if needle and needle in haystack and needle not in found:
            found.append(needle)
    return found


def body_loss(text: str, clean_paragraphs: Sequence[str]) -> float:
    """Share of the clean paragraphs not found (whitespace-normalised) in ``text``.

    Blank paragraphs are ignored; no paragraph at all loses nothing (0.0).
    """
    haystack = normalise_space(text)
    paragraphs = [p for p in (normalise_space(p) for p in clean_paragraphs) if p]
    if not paragraphs:
        return 0.0
    missing = sum(1 for p in paragraphs if p not in haystack)
    return missing / len(paragraphs)


@dataclass(frozen=True)
class ExtractionScores:
    """Extraction scores averaged over article pages (see :func:`score_extraction`)."""

    precision: float
    recall: float
    f1: float
    leak_share: float
    body_loss: float
    n_pages: int


@dataclass(frozen=True)
class ExtractionCase:
    """One article page: what the extractor returned and the ground truth for it."""

    extracted: str
    clean: str
    furniture_lines: Sequence[str] = ()
    clean_paragraphs: Sequence[str] = ()


def score_extraction(cases: Iterable[ExtractionCase]) -> ExtractionScores:
    """Macro-average token P/R/F1 and body loss over pages; leak share = pages with any leak.

    Averaging per page (not pooling tokens) keeps long articles from hiding failures on short
    ones. No page at all is an error rather than a perfect score.
    """
    totals = np.zeros(4)
    leaking = n = 0
    for case in cases:
        p, r, f = token_prf(case.extracted, case.clean)
        totals += (p, r, f, body_loss(case.extracted, case.clean_paragraphs))
        leaking += bool(leaks(case.extracted, case.furniture_lines))
        n += 1
    if n == 0:
        raise ValueError("score_extraction needs at least one article page")
    p, r, f, loss = (float(x) for x in totals / n)
    return ExtractionScores(p, r, f, leaking / n, loss, n)


# --- grouping --------------------------------------------------------------------------------


def _codes(labels: Labels) -> np.ndarray:
    """Dense integer codes 0..k-1 for any hashable labels, in one pass."""
    if isinstance(labels, np.ndarray) and labels.dtype.kind in "iub":
        return np.unique(labels, return_inverse=True)[1].ravel()
    index: dict[Hashable, int] = {}
    return np.fromiter(
        (index.setdefault(x, len(index)) for x in labels), dtype=np.int64, count=len(labels)
    )


def _pairs(counts: np.ndarray) -> int:
    """Sum over counts of C(n, 2); int64 is exact while every count stays below 3e9."""
    c = counts.astype(np.int64)
    return int((c * (c - 1) // 2).sum())


@dataclass(frozen=True)
class PairCounts:
    """Pair totals of a contingency table.

    ``same_both``: pairs together in truth and prediction; ``same_true`` / ``same_pred``: pairs
    together in truth / in prediction; ``total``: all pairs, C(n, 2).
    """

    same_both: int
    same_true: int
    same_pred: int
    total: int


def pair_counts(true_labels: Labels, pred_labels: Labels) -> PairCounts:
    """Pair totals from the contingency table: O(n log n) time, O(n) memory, no pair loop."""
    if len(true_labels) != len(pred_labels):
        raise ValueError(
            f"labels differ in length: {len(true_labels)} true, {len(pred_labels)} predicted"
        )
    n = len(true_labels)
    t, p = _codes(true_labels), _codes(pred_labels)
    if n == 0:
        return PairCounts(0, 0, 0, 0)
    cells = np.unique(t * (int(p.max()) + 1) + p, return_counts=True)[1]
    return PairCounts(
        same_both=_pairs(cells),
        same_true=_pairs(np.bincount(t)),
        same_pred=_pairs(np.bincount(p)),
        total=n * (n - 1) // 2,
    )


def pairwise_prf(true_labels: Labels, pred_labels: Labels) -> tuple[float, float, float]:
    """Pairwise precision, recall and F1 (conventions for empty sets in the module docstring)."""
    c = pair_counts(true_labels, pred_labels)
    p = c.same_both / c.same_pred if c.same_pred else 1.0
    r = c.same_both / c.same_true if c.same_true else 1.0
    return p, r, _f1(p, r)


def adjusted_rand_index(true_labels: Labels, pred_labels: Labels) -> float:
    """Hubert and Arabie's adjusted Rand index, from the contingency table.

    ARI = (index - expected) / (max - expected), with index = sum C(n_ij, 2),
    expected = sum C(a_i, 2) * sum C(b_j, 2) / C(n, 2), max = (sum C(a_i, 2) + sum C(b_j, 2)) / 2.
    1 for identical partitions, about 0 for a random one, negative when worse than chance.
    """
    c = pair_counts(true_labels, pred_labels)
    if c.total == 0:
        return 1.0
    expected = c.same_true * c.same_pred / c.total
    maximum = (c.same_true + c.same_pred) / 2
    if maximum == expected:  # only when both partitions are the same trivial one
        return 1.0
    return (c.same_both - expected) / (maximum - expected)


def _together(pair: Pair, pred: Mapping[Hashable, Hashable] | Sequence[Hashable]) -> bool:
    a, b = pair
    if isinstance(pred, Mapping):
        ca, cb = pred.get(a), pred.get(b)
    else:
        ca, cb = pred[a], pred[b]  # type: ignore[index]
    # A document missing from the prediction (or without a cluster) is with no one.
    return ca is not None and ca == cb


def merged_pairs(
    pairs: Iterable[Pair], pred_labels: Mapping[Hashable, Hashable] | Sequence[Hashable]
) -> tuple[int, int]:
    """(pairs put in one predicted cluster, pairs listed).

    ``pred_labels`` maps a document key to its cluster (a mapping, or a sequence indexed by
    integer keys). A key absent from a mapping, or a ``None`` cluster, is in no cluster.
    """
    together = listed = 0
    for pair in pairs:
        listed += 1
        together += _together(pair, pred_labels)
    return together, listed


def pair_recall(
    pairs: Iterable[Pair], pred_labels: Mapping[Hashable, Hashable] | Sequence[Hashable]
) -> float | None:
    """Share of pairs that belong together (true copies) that were put together; None if none."""
    together, listed = merged_pairs(pairs, pred_labels)
    return together / listed if listed else None


def false_merge_share(
    pairs: Iterable[Pair], pred_labels: Mapping[Hashable, Hashable] | Sequence[Hashable]
) -> float | None:
    """Share of pairs that must stay apart (rewrites, hard negatives) put together; None if none.

    The same count as :func:`pair_recall`; the name says which way is good.
    """
    together, listed = merged_pairs(pairs, pred_labels)
    return together / listed if listed else None


# --- the evaluation table --------------------------------------------------------------------


@dataclass(frozen=True)
class EvaluationSummary:
    """Every figure of one evaluation; ``to_json()`` is what the quality gate and CI read.

    Shares are in [0, 1]. ``false_merges_rewrite`` / ``false_merges_hard_negative`` are counts
    of pairs put together; ``false_merge_share`` is their share of all such pairs listed.
    ``article_pages_as_documents`` is the share of article pages that became a document;
    ``non_article_pages_as_documents`` the number of non-article pages that did.
    """

    extraction_precision: float
    extraction_recall: float
    extraction_f1: float
    leak_share: float
    body_loss: float
    baseline_extraction_precision: float
    baseline_extraction_recall: float
    baseline_extraction_f1: float
    baseline_leak_share: float
    baseline_body_loss: float
    pairwise_precision: float
    pairwise_recall: float
    pairwise_f1: float
    ari: float
    recall_by_copy_kind: dict[str, float | None] = field(default_factory=dict)
    false_merge_share: float | None = None
    false_merges_rewrite: int = 0
    false_merges_hard_negative: int = 0
    article_pages_as_documents: float = 0.0
    non_article_pages_as_documents: int = 0
    origin_accuracy: float | None = None
    seed: int = 0
    sites: int = 0
    stories: int = 0
    n_documents: int = 0
    n_clusters: int = 0
    # Site networks (sites.network_id against the web's planted network): pairs of sites put in
    # one network, and planted networks found exactly (all their sites and no other).
    network_pair_precision: float | None = None
    network_pair_recall: float | None = None
    networks_planted: int = 0
    networks_found_exactly: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def with_networks(self, scores: Mapping[str, Any]) -> EvaluationSummary:
        """This summary with the site-network figures of `network_scores`."""
        return replace(self, **scores)

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), allow_nan=False, **kwargs)

    def to_text(self) -> str:
        """An aligned two-column table (the per-kind recalls indented under their heading)."""
        rows: list[tuple[str, str]] = []
        for name, value in self.to_dict().items():
            if isinstance(value, dict):
                rows.append((name, ""))
                rows.extend((f"  {kind}", _fmt(v)) for kind, v in sorted(value.items()))
            else:
                rows.append((name, _fmt(value)))
        width = max(len(name) for name, _ in rows)
        vwidth = max(len(v) for _, v in rows)
        return "\n".join(f"{name:<{width}}  {v:>{vwidth}}" for name, v in rows)


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def network_scores(
    found: Mapping[str, str | None], planted: Mapping[str, str | None]
) -> dict[str, Any]:
    """How well the networks found (site -> network id or None) match the planted ones, over
    the sites of `planted`: pairwise precision and recall of "same network", and how many
    planted networks came out exactly (one found group holding all their sites and no other).
    Precision is None when no pair was put together, recall when nothing was planted."""

    def groups(labels: Mapping[str, str | None]) -> dict[str, frozenset[str]]:
        out: dict[str, set[str]] = {}
        for site in planted:
            if labels.get(site) is not None:
                out.setdefault(str(labels[site]), set()).add(site)
        return {k: frozenset(v) for k, v in out.items()}

    def pairs(gs: Iterable[frozenset[str]]) -> set[tuple[str, str]]:
        return {p for g in gs for p in combinations(sorted(g), 2)}

    true_groups, found_groups = groups(planted), groups(found)
    true_pairs, found_pairs = pairs(true_groups.values()), pairs(found_groups.values())
    both = len(true_pairs & found_pairs)
    return {
        "network_pair_precision": both / len(found_pairs) if found_pairs else None,
        "network_pair_recall": both / len(true_pairs) if true_pairs else None,
        "networks_planted": len(true_groups),
        "networks_found_exactly": sum(
            1 for g in true_groups.values() if g in set(found_groups.values())
        ),
    }


def summarise(
    *,
    extraction: ExtractionScores,
    baseline: ExtractionScores,
    true_labels: Labels,
    pred_labels: Labels,
    copy_pairs_by_kind: Mapping[str, Iterable[Pair]],
    rewrite_pairs: Iterable[Pair],
    hard_negative_pairs: Iterable[Pair],
    pred_by_key: Mapping[Hashable, Hashable] | Sequence[Hashable],
    article_pages: int,
    article_pages_as_documents: int,
    non_article_pages_as_documents: int,
    origin_accuracy: float | None,
    seed: int,
    sites: int,
    stories: int,
) -> EvaluationSummary:
    """Assemble the evaluation table.

    ``true_labels`` / ``pred_labels``: copy family and predicted cluster of every article
    document, aligned. ``copy_pairs_by_kind``: pairs (document keys) that should be together,
    by copy kind (verbatim, excerpt, edited, ...); ``rewrite_pairs`` and
    ``hard_negative_pairs``: pairs that must stay apart; all are looked up in ``pred_by_key``.
    ``article_pages``: article pages in the ground truth; ``article_pages_as_documents``: how
    many of them became a document.
    """
    if article_pages <= 0:
        raise ValueError("summarise needs the number of article pages in the ground truth (> 0)")
    p, r, f = pairwise_prf(true_labels, pred_labels)
    rewrites_together, rewrites = merged_pairs(rewrite_pairs, pred_by_key)
    negatives_together, negatives = merged_pairs(hard_negative_pairs, pred_by_key)
    apart = rewrites + negatives
    n_docs = len(pred_labels)
    return EvaluationSummary(
        extraction_precision=extraction.precision,
        extraction_recall=extraction.recall,
        extraction_f1=extraction.f1,
        leak_share=extraction.leak_share,
        body_loss=extraction.body_loss,
        baseline_extraction_precision=baseline.precision,
        baseline_extraction_recall=baseline.recall,
        baseline_extraction_f1=baseline.f1,
        baseline_leak_share=baseline.leak_share,
        baseline_body_loss=baseline.body_loss,
        pairwise_precision=p,
        pairwise_recall=r,
        pairwise_f1=f,
        ari=adjusted_rand_index(true_labels, pred_labels),
        recall_by_copy_kind={
            kind: pair_recall(pairs, pred_by_key) for kind, pairs in copy_pairs_by_kind.items()
        },
        false_merge_share=(rewrites_together + negatives_together) / apart if apart else None,
        false_merges_rewrite=rewrites_together,
        false_merges_hard_negative=negatives_together,
        article_pages_as_documents=article_pages_as_documents / article_pages,
        non_article_pages_as_documents=non_article_pages_as_documents,
        origin_accuracy=origin_accuracy,
        seed=seed,
        sites=sites,
        stories=stories,
        n_documents=n_docs,
        n_clusters=int(_codes(pred_labels).max()) + 1 if n_docs else 0,
    )
