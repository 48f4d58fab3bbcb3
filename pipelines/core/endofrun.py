"""The end of a run: clean each article of its site's furniture, fingerprint it, group the copies.

`finish_run` does, in order:

1. learn the per-site furniture model from this run's pages (on top of what earlier runs
   taught it) and remove furniture, generic promo/credit lines and the repeated headline;
2. group provisionally, to see which lines recur across *different* copy families (furniture
   that several sites share), and remove those too;
3. fingerprint the clean texts (again only those step 2 changed) and add them to the grouper:
   LSH candidates, verification (Jaccard or containment) before any union, union-find.

Cleaning before grouping is what keeps two short briefs that share heavy furniture apart. A
corpus (pipelines/corpus.py) calls it alone.

`end_run` is the end of a crawl's run (and of each run `make reprocess` replays) as one step:
`finish_run` on the run's new and changed documents against the saved grouper and model, then
the cluster rows, the state's document records and the edges rows, returned as a `RunResult`.
It writes nothing: `pipelines.storage.commit.write_run` writes a result and commits it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pipelines.core.clusters import update_clusters
from pipelines.core.config import GroupingConfig
from pipelines.core.extract import content_hash
from pipelines.core.fingerprint import fingerprints_and_leads, to_bytes
from pipelines.core.furniture import (
    GLOBAL_EXACT,
    GLOBAL_SHAPE,
    FurnitureModel,
    clean_text,
    generic_flags_many,
    line_key,
    line_keys,
    prime_shapes,
    shape_key,
    split_lines,
)
from pipelines.core.grouping import Edge, Grouper
from pipelines.core.origin import edge_direction
from pipelines.core.textnorm import normalise_pages


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
    for batch in _chunks(order):
        flags = generic_flags_many([lines[d] for d in batch])
        for d, generic in zip(batch, flags, strict=True):
            row = documents[d]
            # A model with no table for the site and no cross-site table calls nothing
            # furniture: the generic rules and the headline alone give the same result, without
            # its lookups.
            active = model if _can_fire(model, row["domain"]) else None
            out[d] = clean_text(lines[d], row["domain"], active, row["title"], generic)
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


# Pages normalised in one batch (normalise_pages), and whose line shapes are computed in one
# batch (prime_shapes) just before they are counted: about 25,000 lines, well under the
# per-line caches' bound, so none is forgotten before use.
_BATCH = 1024


def _chunks(order: Sequence[str]) -> Iterable[Sequence[str]]:
    return (order[at : at + _BATCH] for at in range(0, len(order), _BATCH))


def _normalised_text(kept: Sequence[str], norms: dict[str, str]) -> str:
    """``normalise("\\n".join(kept))`` from the kept lines' own normalised forms: no word runs
    across a line break (``normalise_lines``)."""
    return " ".join(n for n in (norms[ln] for ln in kept) if n)


def finish_run(
    documents: dict[str, dict[str, Any]],
    model: FurnitureModel,
    config: GroupingConfig,
    grouper: Grouper,
    *,
    observe_sites: bool = True,
    records: bool = True,
    exact_counts: bool = False,
) -> list[Edge]:
    """Clean, fingerprint and group this run's documents in place; return the new edges.

    `documents` rows hold the extractor's raw text in `text`; on return they hold the clean
    text, `furniture_removed`, word count, content hash, signature and shingle count.
    `observe_sites=False` skips counting lines per site: for a corpus whose every text is its
    own pseudo-site (`pipelines.corpus.group_table` without a domain column), where a line seen
    on one page can never reach the model's two-page threshold. `records=False` leaves out
    what only the crawl's stored rows need (word count, content hash, signature bytes and
    shingle count): the clean text and `furniture_removed` are all a corpus returns.
    `exact_counts=True` counts the lines' copy families for all documents at once, exactly
    (`FurnitureModel.count_clusters`): for a model thrown away after the call (a corpus's),
    whose cross-site tables are empty; a crawl's model, kept from run to run, counts line by
    line into bounded tables.
    """
    order = arrival_order(documents)
    lines = {d: split_lines(documents[d]["text"]) for d in order}
    # Each page's lines normalised once: the keys of the furniture model and the texts the
    # fingerprints hash both come from them.
    norms = {}
    for batch in _chunks(order):
        for d, forms in zip(batch, normalise_pages([lines[d] for d in batch]), strict=True):
            norms[d] = dict(zip(lines[d], forms, strict=True))
    for d in order:
        line_keys(list(norms[d]), list(norms[d].values()))
    if observe_sites:
        for batch in _chunks(order):
            prime_shapes([lines[d] for d in batch])
            for d in batch:
                model.observe(documents[d]["domain"], d, lines[d])
    cleaned = _clean_all(documents, order, lines, model)

    # Provisional grouping: which kept lines recur across different copy families?
    # Thrown away after this pass: the fastest index storage, not the most compact.
    provisional = Grouper(config, storage="tuple")
    texts = [_normalised_text(cleaned[d][0], norms[d]) for d in order]
    sigs, counts, leads = fingerprints_and_leads(texts, config, normalised=True)
    provisional.add_many(order, sigs, counts, leads=leads)
    if exact_counts:
        model.count_clusters(
            [provisional.cluster_of(d) for d in order], [cleaned[d][0] for d in order]
        )
    else:
        for batch in _chunks(order):
            prime_shapes([cleaned[d][0] for d in batch])
            for d in batch:
                model.observe_clusters(provisional.cluster_of(d), cleaned[d][0])
    cleaned = _clean_again(documents, order, lines, model, cleaned)

    # Only the texts the second cleaning changed need new fingerprints (128 of 939 on the
    # default demo web).
    previous, texts = texts, [_normalised_text(cleaned[d][0], norms[d]) for d in order]
    changed = [i for i, (old, new) in enumerate(zip(previous, texts, strict=True)) if old != new]
    if changed:
        redone = fingerprints_and_leads([texts[i] for i in changed], config, normalised=True)
        sigs[changed], counts[changed], leads[changed] = redone
    for i, d in enumerate(order):
        row = documents[d]
        kept, removed = cleaned[d]
        text = "\n".join(kept)
        row["text"] = text
        row["furniture_removed"] = [*row.get("furniture_removed", ()), *removed]
        if not records:
            continue
        row["word_count"] = len(text.split())
        row["content_hash"] = content_hash(text)
        row["minhash"] = to_bytes(sigs[i])
        row["n_shingles"] = int(counts[i])
    dates = [documents[d]["published_at"] for d in order]
    return grouper.add_many(order, sigs, counts, dates, leads)


# -- the end of a crawl's run ----------------------------------------------------------------


@dataclass
class RunResult:
    """What a run's end produced, ready to be written (pipelines.storage.commit.write_run).

    `documents`: the run's new and changed `documents` rows, clean, fingerprinted, with their
    cluster ids; `docs`: the state's record of every document after the run; `clusters`: every
    published cluster row after the run, `changed_clusters` the ids this run changed; `edges`:
    the `edges` rows of this run; `counts`: the runs row's document and cluster counts. `model`
    and `grouper` are what the state commits; None when they were not loaded because the run
    had nothing new (the committed files are then reused unread).
    """

    run_id: str
    config: GroupingConfig
    documents: dict[str, dict[str, Any]]
    docs: dict[str, dict[str, Any]]
    clusters: dict[str, dict[str, Any]]
    changed_clusters: list[str]
    edges: list[dict[str, Any]]
    counts: dict[str, int]
    model: FurnitureModel | None = None
    grouper: Grouper | None = None


def end_run(
    run_id: str,
    documents: dict[str, dict[str, Any]],
    extract_hashes: dict[str, str],
    known_docs: dict[str, dict[str, Any]],
    known_clusters: dict[str, dict[str, Any]],
    config: GroupingConfig,
    model: FurnitureModel | None,
    grouper: Grouper | None,
) -> RunResult:
    """Clean, fingerprint and group a run's documents into the saved clusters; write nothing.

    `documents` (new and changed `documents` rows holding the extractor's text) are updated in
    place. `model` and `grouper` are the saved ones (updated in place); both may be None when
    `documents` is empty and the saved files are to be kept as they are. `known_docs` and
    `known_clusters` are the state's, left unchanged.
    """
    docs = dict(known_docs)
    edges: list[Edge] = []
    merges: list[tuple[str, str]] = []
    members: dict[str, list[str]] = {}
    if documents:
        if model is None or grouper is None:
            raise ValueError("end_run: documents to group need the saved model and grouper")
        merges_before = len(grouper.merges)
        edges = finish_run(documents, model, config, grouper)
        merges = grouper.merges[merges_before:]
        for doc_id, row in documents.items():
            row["cluster_id"] = grouper.cluster_of(doc_id)
            docs[doc_id] = doc_meta(row, extract_hashes[doc_id], known_docs.get(doc_id))
        members = {cid: [str(d) for d in ids] for cid, ids in grouper.clusters().items()}
    by_first_fetch = {d: {**m, "fetched_at": m["first_fetched_at"]} for d, m in docs.items()}
    touched = {row["cluster_id"] for row in documents.values()}
    clusters, changed, cluster_counts = update_clusters(
        known_clusters, members, touched, merges, by_first_fetch, run_id
    )
    origins = {cid: row["origin_doc_id"] for cid, row in clusters.items()}
    assignments = (
        {d: grouper.cluster_of(d) for e in edges for d in (e.doc_a, e.doc_b)}
        if (grouper is not None)
        else {}
    )
    n_changed = sum(1 for d in documents if d in known_docs)
    counts = {
        "documents_new": len(documents) - n_changed,
        "documents_changed": n_changed,
        "clusters_new": cluster_counts["clusters_new"],
        "clusters_grown": cluster_counts["clusters_grown"],
        "clusters_merged": cluster_counts["clusters_merged"],
    }
    return RunResult(
        run_id=run_id,
        config=config,
        documents=documents,
        docs=docs,
        clusters=clusters,
        changed_clusters=changed,
        edges=edge_rows(edges, docs, origins, assignments, run_id),
        counts=counts,
        model=model,
        grouper=grouper,
    )


def edge_rows(
    edges: Iterable[Edge],
    documents: dict[str, dict[str, Any]],
    origins: dict[str, str],
    assignments: dict[Any, str],
    run_id: str,
) -> list[dict[str, Any]]:
    rows = []
    for e in edges:
        a, b = documents[e.doc_a], documents[e.doc_b]
        origin = origins.get(assignments[e.doc_a])
        rows.append(
            {
                "doc_a": e.doc_a,
                "doc_b": e.doc_b,
                "jaccard": e.jaccard,
                "a_in_b": e.a_in_b,
                "b_in_a": e.b_in_a,
                "relation": e.relation,
                "direction": edge_direction(a, b, origin),
                "lag_seconds": None if e.lag_seconds is None else int(e.lag_seconds),
                "run_id": run_id,
            }
        )
    return rows


def doc_meta(
    row: dict[str, Any], extract_hash: str, known: dict[str, Any] | None
) -> dict[str, Any]:
    """The state's record of a document's latest version (pipelines/storage/state.DOCS_SCHEMA)."""
    return {
        "doc_id": row["doc_id"],
        "url": row["url"],
        "domain": row["domain"],
        "site_name": row["site_name"],
        "title": row["title"],
        "published_at": row["published_at"],
        "canonical_url": row["canonical_url"],
        "based_on_url": row["based_on_url"],
        "credited_source": row["credited_source"],
        "first_fetched_at": known["first_fetched_at"] if known else row["fetched_at"],
        "fetched_at": row["fetched_at"],
        "first_run": known["first_run"] if known else row["run_id"],
        "run_id": row["run_id"],
        "content_hash": row["content_hash"],
        "extract_hash": extract_hash,
    }
