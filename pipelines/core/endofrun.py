"""The end of a run: clean each article of its site's furniture, fingerprint it, group the copies.

`finish_run` does, in order:

1. learn the per-site furniture model from this run's pages (on top of what earlier runs
   taught it) and remove furniture, generic promo/credit lines and the repeated headline;
2. group provisionally, to see which lines recur across *different* copy families (furniture
   that several sites share), and remove those too;
3. fingerprint the clean texts (again only those step 2 changed) and add them to the grouper:
   LSH candidates, verification (Jaccard or containment) before any union, union-find.

Cleaning before grouping is what keeps two short briefs that share heavy furniture apart. A
crawl (pipelines/write.py), `make reprocess` and a corpus (pipelines/corpus.py) all call it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pipelines.core.config import GroupingConfig
from pipelines.core.extract import content_hash
from pipelines.core.fingerprint import fingerprints_and_leads, to_bytes
from pipelines.core.furniture import (
    GLOBAL_EXACT,
    GLOBAL_SHAPE,
    FurnitureModel,
    clean_text,
    line_key,
    shape_key,
    split_lines,
)
from pipelines.core.grouping import Edge, Grouper


def arrival_order(documents: dict[str, dict[str, Any]]) -> list[str]:
    """Doc ids by (fetched_at, doc_id): the same order for a crawl and for its reprocess."""
    return sorted(documents, key=lambda d: (documents[d]["fetched_at"], d))


def _can_fire(model: FurnitureModel, domain: str) -> bool:
    """Whether the model has any table that could call a line of ``domain`` furniture."""
    return bool(
        model.domains.get(domain)
        or model.domains.get(GLOBAL_EXACT)
        or model.domains.get(GLOBAL_SHAPE)
    )


def _clean_all(
    documents: dict[str, dict[str, Any]],
    order: Sequence[str],
    lines: dict[str, list[str]],
    model: FurnitureModel,
) -> dict[str, tuple[list[str], list[str]]]:
    out = {}
    for d in order:
        row = documents[d]
        # A model with no table for the site and no cross-site table calls nothing furniture:
        # the generic rules and the headline alone give the same result, without its lookups.
        active = model if _can_fire(model, row["domain"]) else None
        out[d] = clean_text(lines[d], row["domain"], active, row["title"])
    return out


def _clean_again(
    documents: dict[str, dict[str, Any]],
    order: Sequence[str],
    lines: dict[str, list[str]],
    model: FurnitureModel,
    cleaned: dict[str, tuple[list[str], list[str]]],
) -> dict[str, tuple[list[str], list[str]]]:
    """The second cleaning, after ``observe_clusters``: the result of ``clean_text`` again,
    asking the model only about the lines it can have changed its mind on.

    Between the two cleanings only the cross-site tables grew, and they only add furniture: a
    line removed stays removed, and a kept line becomes furniture only if its exact or shape key
    now reaches a cross-site threshold (``hot``, a superset of what ``is_furniture`` will say
    yes to). Equal lines get equal answers, so the new kept and removed lists follow from the
    set of newly removed lines. A full second pass cost as much as fingerprinting.
    """
    exact = model.domains.get(GLOBAL_EXACT, {})
    shapes = model.domains.get(GLOBAL_SHAPE, {})
    hot_exact = {k for k, e in exact.items() if e.pages >= model.min_clusters}
    hot_shape = {k for k, e in shapes.items() if e.pages >= model.min_variants}
    out = dict(cleaned)
    if not hot_exact and not hot_shape:
        return out
    for d in order:
        kept, removed = cleaned[d]
        domain = documents[d]["domain"]
        newly = {
            ln
            for ln in kept
            if (line_key(ln) in hot_exact or shape_key(ln) in hot_shape)
            and model.is_furniture(domain, ln)
        }
        if newly:
            gone = newly | set(removed)
            out[d] = ([ln for ln in kept if ln not in newly], [ln for ln in lines[d] if ln in gone])
    return out


def finish_run(
    documents: dict[str, dict[str, Any]],
    model: FurnitureModel,
    config: GroupingConfig,
    grouper: Grouper,
    *,
    observe_sites: bool = True,
) -> list[Edge]:
    """Clean, fingerprint and group this run's documents in place; return the new edges.

    `documents` rows hold the extractor's raw text in `text`; on return they hold the clean
    text, `furniture_removed`, word count, content hash, signature and shingle count.
    `observe_sites=False` skips counting lines per site: for a corpus whose every text is its
    own pseudo-site (`pipelines.corpus.group_table` without a domain column), where a line seen
    on one page can never reach the model's two-page threshold.
    """
    order = arrival_order(documents)
    lines = {d: split_lines(documents[d]["text"]) for d in order}
    if observe_sites:
        for d in order:
            model.observe(documents[d]["domain"], d, lines[d])
    cleaned = _clean_all(documents, order, lines, model)

    # Provisional grouping: which kept lines recur across different copy families?
    # Thrown away after this pass: the fastest index storage, not the most compact.
    provisional = Grouper(config, storage="tuple")
    texts = ["\n".join(cleaned[d][0]) for d in order]
    sigs, counts, leads = fingerprints_and_leads(texts, config)
    provisional.add_many(order, sigs, counts, leads=leads)
    for d in order:
        model.observe_clusters(provisional.cluster_of(d), cleaned[d][0])
    cleaned = _clean_again(documents, order, lines, model, cleaned)

    # Only the texts the second cleaning changed need new fingerprints (128 of 939 on the
    # default demo web).
    previous, texts = texts, ["\n".join(cleaned[d][0]) for d in order]
    changed = [i for i, (old, new) in enumerate(zip(previous, texts, strict=True)) if old != new]
    if changed:
        redone = fingerprints_and_leads([texts[i] for i in changed], config)
        sigs[changed], counts[changed], leads[changed] = redone
    for i, d in enumerate(order):
        row = documents[d]
        kept, removed = cleaned[d]
        row["text"] = texts[i]
        row["furniture_removed"] = [*row.get("furniture_removed", ()), *removed]
        row["word_count"] = len(texts[i].split())
        row["content_hash"] = content_hash(texts[i])
        row["minhash"] = to_bytes(sigs[i])
        row["n_shingles"] = int(counts[i])
    dates = [documents[d]["published_at"] for d in order]
    return grouper.add_many(order, sigs, counts, dates, leads)
