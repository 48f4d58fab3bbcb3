"""``finish_run`` for a corpus without sites, over arrays: the same clean texts and signatures.

A corpus grouped by ``pipelines.corpus.group_table`` without a domain column is cleaned by the
rules that need no site: the generic patterns, the repeated headline, and the cross-family
rules (a short line in ``min_clusters`` copy families, a template filled in ``min_variants``
ways in as many families), counted exactly over the whole corpus with a model thrown away
after the call. ``finish_run`` does this line by line through the model's per-line caches,
which is the crawl's way (a model kept from run to run); here every distinct line is
normalised, keyed and shaped once by the compiled kernels (pipelines/core/kernels.py), the
rules are numpy over the lines' occurrences, and the texts to fingerprint are joined from the
lines' normal forms without a Python string each. tests/test_cleancorpus.py checks that the
texts, removed lines, signatures and groups are ``finish_run``'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import xxhash

from pipelines.core import kernels
from pipelines.core.config import GroupingConfig
from pipelines.core.fingerprint import _MASK64, _OPH_SPLIT, LEAD_CHAR_SHINGLE
from pipelines.core.furniture import (
    DEFAULT_MIN_CLUSTERS,
    DEFAULT_MIN_VARIANTS,
    GLOBAL_MAX_WORDS,
    GLOBAL_SHAPE_MIN_WORDS,
    generic_flags_lines,
    line_shape,
    split_lines,
)
from pipelines.core.grouping import Grouper
from pipelines.core.textnorm import normalise


def applies(config: GroupingConfig) -> bool:
    """Whether this path can stand in for ``finish_run``: the kernels are in use and the
    signatures are the default kind (one-permutation MinHash with a character lead)."""
    return kernels.enabled() and config.scheme == "oph" and config.lead_chars > 0


@dataclass
class CleanCorpus:
    """Clean texts (kept lines joined by line breaks), removed lines, and fingerprints."""

    texts: list[str]
    removed: list[list[str]]
    signatures: np.ndarray
    counts: np.ndarray
    leads: np.ndarray


def _codes_of(values: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, int]:
    """Dense codes of ``values`` where ``valid`` (-1 elsewhere), and how many there are."""
    codes = np.full(values.size, -1, dtype=np.int64)
    if valid.any():
        _, inverse = np.unique(values[valid], return_inverse=True)
        codes[valid] = inverse
        return codes, int(inverse.max()) + 1
    return codes, 0


def _distinct_counts(groups: np.ndarray, ids: np.ndarray, n_groups: int) -> np.ndarray:
    """For each group code below ``n_groups``: how many distinct ids its events carry."""
    if groups.size == 0:
        return np.zeros(n_groups, dtype=np.int64)
    width = int(ids.max()) + 1
    pairs = np.unique(groups * width + ids)
    return np.bincount(pairs // width, minlength=n_groups)


class _Lines:
    """Every distinct line of the corpus once: its normal form (UTF-8, in one buffer), whether
    that is empty, its key (xxh64 of the form), its template (shape) and own words, its
    whitespace words, and whether a generic pattern calls it furniture."""

    def __init__(self, lines: list[str]) -> None:
        n = len(lines)
        try:
            encoded: bytes | None = "\n".join(lines).encode("utf-8")
            got = kernels.decode_lines(encoded, n)  # type: ignore[arg-type]
            left = np.zeros(n, dtype=bool)
        except UnicodeEncodeError:  # a lone surrogate somewhere: every line on the Python path
            encoded = None
            got = kernels.decode_lines(b"\n" * max(n - 1, 0), n)
            left = np.ones(n, dtype=bool)
        classes, norm, wordtab = kernels._shape_tables()
        done, forms, key = kernels._compiled_shapes()[1](*got, norm, wordtab)
        kind, shape, own, words = kernels._compiled_shapes()[0](*got, classes, norm, wordtab)
        left |= ~done
        # Line i's form is forms[starts[i]:ends[i]] (the kernel ends each with a line break).
        ends = np.flatnonzero(forms == 10)
        starts = np.concatenate([[0], ends[:-1] + 1]).astype(np.int64)
        if left.any():  # lines the kernels leave to Python: their forms go after the rest
            extra, at = [], forms.size
            for i in np.flatnonzero(left).tolist():
                form = normalise(lines[i]).encode("utf-8")
                key[i] = xxhash.xxh64_intdigest(form) if form else 0
                extra.append(form)
                starts[i], ends[i] = at, at + len(form)
                at += len(form)
                sh, own[i] = line_shape(lines[i])
                kind[i] = 1 if not sh else 2 if sh == "s" else 3
                shape[i] = int(sh[1:], 16) if len(sh) > 1 else 0
                words[i] = len(lines[i].split())
            forms = np.concatenate([forms, np.frombuffer(b"".join(extra), dtype=np.uint8)])
        self.forms, self.starts, self.ends = forms, starts, ends
        self.has_form = ends > starts
        self.key = key
        self.shape_kind, self.shape, self.own, self.words = kind, shape, own, words
        self.generic = np.array(generic_flags_lines(lines, encoded), dtype=bool)


def clean_corpus(
    ids: Sequence[str],
    texts: Sequence[str],
    titles: Sequence[str | None],
    config: GroupingConfig,
) -> CleanCorpus:
    """What ``finish_run(..., observe_sites=False, records=False, exact_counts=True)`` leaves
    in each document (clean text, removed lines) and hands to the grouper (signatures, distinct
    shingle counts, leads), for documents ``ids`` in arrival order with a fresh
    ``FurnitureModel`` (its default thresholds)."""
    if not applies(config):
        raise ValueError("clean_corpus needs the compiled kernels and an oph config")
    n_docs = len(texts)
    pages = [split_lines(t) for t in texts]
    index: dict[str, int] = {}
    occurrence = np.fromiter(
        (index.setdefault(ln, len(index)) for page in pages for ln in page), dtype=np.int64
    )
    sizes = np.fromiter(map(len, pages), dtype=np.int64, count=n_docs)
    docs = np.zeros(n_docs + 1, dtype=np.int64)
    np.cumsum(sizes, out=docs[1:])
    doc_of = np.repeat(np.arange(n_docs, dtype=np.int64), sizes)
    distinct = list(index)
    lines = _Lines(distinct)

    # 1. Generic lines and the repeated headline (clean_text without a model).
    removed = lines.generic[occurrence]
    title_key = np.zeros(n_docs, dtype=np.uint64)
    has_title = np.zeros(n_docs, dtype=bool)
    for d, title in enumerate(titles):
        form = normalise(title) if title else ""
        if form:
            title_key[d] = xxhash.xxh64_intdigest(form.encode("utf-8"))
            has_title[d] = True
    if has_title.any():
        occ_key = lines.key[occurrence]
        removed |= has_title[doc_of] & lines.has_form[occurrence] & (occ_key == title_key[doc_of])
    kept = ~removed

    # 2. Provisional groups of the first clean texts.
    sigs, counts, leads = _fingerprints(lines, occurrence, kept, docs, config)
    provisional = Grouper(config, storage="tuple")
    order = list(ids)
    provisional.add_many(order, sigs, counts, leads=leads)
    cluster_ids: dict[str, int] = {}
    cluster = np.fromiter(
        (cluster_ids.setdefault(provisional.cluster_of(d), len(cluster_ids)) for d in order),
        dtype=np.int64,
        count=n_docs,
    )[doc_of]

    # 3. The cross-family counts (FurnitureModel.count_clusters) over the kept occurrences.
    key_code, n_keys = _codes_of(lines.key, lines.has_form)
    # Shapes: the hashed ones by their hash, and the shape "s" (a masked line whose normal
    # form is empty) one code of its own.
    hashed, bare = lines.shape_kind == 3, lines.shape_kind == 2
    shape_code, n_shapes = _codes_of(lines.shape, hashed)
    if bare.any():
        shape_code[bare] = n_shapes
        n_shapes += 1
    k_occ, s_occ = key_code[occurrence], shape_code[occurrence]
    has_key = kept & (k_occ >= 0)
    exact = _distinct_counts(k_occ[has_key], cluster[has_key], n_keys)
    templated = has_key & (s_occ >= 0) & (lines.own[occurrence] >= GLOBAL_SHAPE_MIN_WORDS)
    variants = _distinct_counts(s_occ[templated], k_occ[templated], n_shapes)
    families = _distinct_counts(s_occ[templated], cluster[templated], n_shapes)

    # 4. The second cleaning (is_furniture's cross-site rules) of the kept occurrences.
    long = lines.words[occurrence] > GLOBAL_MAX_WORDS
    by_exact = (k_occ >= 0) & ~long
    by_exact[by_exact] = exact[k_occ[by_exact]] >= DEFAULT_MIN_CLUSTERS
    need = DEFAULT_MIN_VARIANTS + long.astype(np.int64)
    by_shape = s_occ >= 0
    at = s_occ[by_shape]
    by_shape[by_shape] = (variants[at] >= need[by_shape]) & (families[at] >= need[by_shape])
    newly = kept & (by_exact | by_shape)
    if newly.any():
        kept &= ~newly
        changed = np.flatnonzero(
            np.bincount(doc_of[newly & lines.has_form[occurrence]], minlength=n_docs)
        )
        if changed.size:
            again = np.zeros(n_docs, dtype=bool)
            again[changed] = True
            mask = kept & again[doc_of]
            sub_docs = np.zeros(changed.size + 1, dtype=np.int64)
            pick = np.concatenate([np.arange(docs[d], docs[d + 1]) for d in changed.tolist()])
            np.cumsum(sizes[changed], out=sub_docs[1:])
            redone = _fingerprints(lines, occurrence[pick], mask[pick], sub_docs, config)
            sigs[changed], counts[changed], leads[changed] = redone

    keep = kept.tolist()
    out_texts, out_removed = [], []
    for d, page in enumerate(pages):
        flags = keep[docs[d] : docs[d + 1]]
        out_texts.append("\n".join([ln for ln, k in zip(page, flags, strict=True) if k]))
        out_removed.append([ln for ln, k in zip(page, flags, strict=True) if not k])
    return CleanCorpus(out_texts, out_removed, sigs, counts, leads)


def _fingerprints(
    lines: _Lines,
    occurrence: np.ndarray,
    kept: np.ndarray,
    docs: np.ndarray,
    config: GroupingConfig,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fingerprints of each document's kept lines' forms joined by spaces (as finish_run's
    ``_normalised_text``), joined and hashed by the kernels."""
    join = kernels._compiled_shapes()[3]
    data, offsets = join(lines.forms, lines.starts, lines.ends, occurrence, kept, docs)
    return kernels.oph_fingerprints_joined(
        data,
        offsets,
        shingle_size=config.shingle_size,
        num_perm=config.num_perm,
        mult=(_OPH_SPLIT * (2 * config.seed + 1)) & _MASK64,
        lead_bytes=config.lead_chars,
        lead_perm=config.lead_perm,
        lead_shingle=LEAD_CHAR_SHINGLE,
    )
