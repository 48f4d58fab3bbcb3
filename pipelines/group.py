"""Stage 4: clean each article of its site's furniture, fingerprint it, group the copies.

During the crawl this stage only collects the extracted articles. At the end of the run
`finish_run` does, in order:

1. learn the per-site furniture model from this run's pages (on top of what earlier runs
   taught it) and remove furniture, generic promo/credit lines and the repeated headline;
2. group provisionally, to see which lines recur across *different* copy families (furniture
   that several sites share), and remove those too;
3. fingerprint the clean texts (again only those step 2 changed) and add them to the grouper:
   LSH candidates, verification (Jaccard or containment) before any union, union-find.

Cleaning before grouping is what keeps two short briefs that share heavy furniture apart.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

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
from pipelines.core.urls import canonical_doc_id, canonicalise_url
from pipelines.run import RunContext
from pipelines.storage.state import Link, SeenPage


def document_row(
    url: str, fetched_at: Any, x: dict[str, Any], doc_id: str, run_id: str, grouping_config: str
) -> dict[str, Any]:
    """The `documents` row of an extracted article `x`, before cleaning and grouping."""
    return {
        "doc_id": doc_id,
        "url": url,
        "canonical_url": x.get("canonical_url"),
        "domain": (urlsplit(url).hostname or "").lower(),
        "site_name": x.get("site_name"),
        "title": x.get("title"),
        "author": x.get("author"),
        "published_at": x.get("published_at"),
        "language": x.get("language"),
        "text": x.get("text") or "",
        "word_count": 0,
        "content_hash": None,
        "minhash": None,
        "n_shingles": 0,
        "cluster_id": None,
        "run_id": run_id,
        "fetched_at": fetched_at,
        "credited_source": x.get("credited_source"),
        "based_on_url": x.get("based_on_url"),
        "canonical_off_site": bool(x.get("canonical_off_site")),
        # embedded social posts the extractor took out of the page; the furniture step adds
        # the lines it removes
        "furniture_removed": list(x.get("embeds_removed") or ()),
        "grouping_config": grouping_config,
    }


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


class GroupPipeline:
    """Collect the run's new and changed articles and what every answer says about its page.

    A known article whose extracted text hashes as before is not a new version: it adds no
    document row. `WritePipeline` calls `finish_run` and commits the state at the end of the run.
    """

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.run = RunContext.of(crawler)
        self.config_str = str(self.run.grouping)

    @classmethod
    def from_crawler(cls, crawler: Any) -> GroupPipeline:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        x = item.extraction
        if x and not x.get("is_article") and x.get("article_reason") == "shape" and x.get("text"):
            # Reached through a link before the feed or news sitemap that lists it: the
            # announcement wins over the page's shape.
            announced = getattr(self.crawler.spider, "announced_articles", ())
            if canonicalise_url(item.final_url) in announced:
                x["is_article"], x["article_reason"] = True, "announced"
        is_article = bool(x and x.get("is_article"))
        doc_id = canonical_doc_id(item.final_url) if is_article else None
        note_seen(self.run.seen, self.run.state.seen, item, doc_id)
        if doc_id is None:
            return item
        stats = self.crawler.stats
        documents = self.run.documents
        if doc_id in documents:
            # The same article reached twice in one run (e.g. through a redirect alias).
            stats.inc_value("documents/duplicate_url")
            return item
        known = self.run.state.docs.get(doc_id)
        extract_hash = content_hash(x.get("text") or "")
        if not is_new_version(known, extract_hash):
            stats.inc_value("documents/unchanged")
            return item
        documents[doc_id] = document_row(
            item.final_url, item.fetched_at, x, doc_id, self.run.run_id, self.config_str
        )
        self.run.extract_hashes[doc_id] = extract_hash
        stats.inc_value("documents/changed" if known is not None else "documents/new")
        return item


def is_new_version(known: dict[str, Any] | None, extract_hash: str) -> bool:
    """A document is new, or a new version, unless the extractor's text hashes as last time.

    The raw extracted text is compared, not the clean text: cleaning depends on the furniture
    model, which keeps learning, so the same page could otherwise look changed.
    """
    return known is None or known["extract_hash"] != extract_hash


def note_seen(
    updates: dict[str, SeenPage], seen: dict[str, SeenPage], item: Any, doc_id: str | None
) -> None:
    """Record what one answer says about its page: validators, body hash, links (plain function).

    A 304 only refreshes `checked_at`; a 200 replaces the entry; anything else leaves the last
    good entry in place, so a page that failed once is still asked for conditionally.
    """
    if item.error or (item.extraction or {}).get("error"):
        # A failed fetch, or an extraction that failed (an exception, a timeout, a worker that
        # died): the last good entry stays, so the next run asks for the page again and
        # extracts it again instead of getting a 304 for a page that has no document.
        return
    key = canonicalise_url(item.final_url)
    previous = updates.get(key) or seen.get(key)
    if item.status == 304:
        if previous is not None:
            updates[key] = dataclasses.replace(previous, checked_at=item.fetched_at)
        return
    if item.status != 200 or item.body is None:
        return
    digest = item.body_hash()
    unchanged = previous is not None and previous.body_hash == digest
    links = () if doc_id else tuple(Link(u, k, h, d) for k, u, h, d in item.links)
    updates[key] = SeenPage(
        url=key,
        etag=item.etag,
        last_modified=item.last_modified,
        body_hash=digest,
        doc_id=doc_id,
        checked_at=item.fetched_at,
        changed_at=previous.changed_at if unchanged and previous else item.fetched_at,
        links=links,
    )


if __name__ == "__main__":  # python -m pipelines.group: group an existing corpus
    import sys

    from pipelines.corpus import main

    sys.exit(main())
