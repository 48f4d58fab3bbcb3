"""Name the likely original of a copy family, and say why (plain functions).

Rules, strongest first:

- `canonical`: other copies' <link rel=canonical> point at this document's URL;
- `credit`: other copies credit this document's outlet ("first appeared on ...", JSON-LD
  isBasedOn / sourceOrganization), matched against its site name or domain;
- `earliest`: the earliest publication time, when it is unique;
- `first_seen`: the document the crawler met first, as a last resort.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from pipelines.core.furniture import credited_source
from pipelines.core.urls import canonicalise_url


def _norm_name(value: str | None) -> str:
    """'The Harbor Ledger' -> 'harborledger'; a domain's first label reads the same way."""
    name = (value or "").casefold().strip()
    if name.startswith("the "):
        name = name[4:]
    return "".join(ch for ch in name if ch.isalnum())


def choose_origin(docs: Sequence[dict[str, Any]]) -> tuple[dict[str, Any], str]:
    """Return (origin document, reason) for the documents of one cluster, in first-seen order.

    Each document is a mapping with at least doc_id, url, domain, site_name, published_at,
    canonical_url and credited_source.
    """
    if not docs:
        raise ValueError("choose_origin needs at least one document")
    if len(docs) == 1:
        return docs[0], "first_seen"
    by_url = {canonicalise_url(d["url"]): d for d in docs}
    votes: Counter[str] = Counter()
    for d in docs:
        for target in {d.get("canonical_url"), d.get("based_on_url")} - {None, ""}:
            key = canonicalise_url(target)
            if key in by_url and key != canonicalise_url(d["url"]):
                votes[key] += 1
    if votes:
        best = max(votes.items(), key=lambda kv: (kv[1], -_index(docs, by_url[kv[0]])))[0]
        return by_url[best], "canonical"
    credits: Counter[int] = Counter()
    for d in docs:
        credit = _norm_name(d.get("credited_source"))
        if not credit:
            continue
        for i, other in enumerate(docs):
            if other is d:
                continue
            names = {_norm_name(other.get("site_name")), _norm_name(other.get("domain"))}
            names |= {_norm_name((other.get("domain") or "").split(".")[0])}
            if credit in names - {""}:
                credits[i] += 1
    if credits:
        best_i = max(credits.items(), key=lambda kv: (kv[1], -kv[0]))[0]
        return docs[best_i], "credit"
    dated = [
        (d["published_at"], i) for i, d in enumerate(docs) if d.get("published_at") is not None
    ]
    if dated:
        dated.sort()
        if len(dated) == 1 or dated[0][0] < dated[1][0]:
            return docs[dated[0][1]], "earliest"
    return docs[0], "first_seen"


def _index(docs: Sequence[dict[str, Any]], doc: dict[str, Any]) -> int:
    for i, d in enumerate(docs):
        if d is doc:
            return i
    return len(docs)


def edge_direction(a: dict[str, Any], b: dict[str, Any], origin_id: str | None) -> str | None:
    """Which document of an edge is the likely source: 'a', 'b' or None when unknown."""
    if origin_id is not None:
        if a["doc_id"] == origin_id:
            return "a"
        if b["doc_id"] == origin_id:
            return "b"
    pa_, pb = a.get("published_at"), b.get("published_at")
    if pa_ is not None and pb is not None and pa_ != pb:
        return "a" if pa_ < pb else "b"
    return None


def provenance_hints(tree: Any, ld: Sequence[object]) -> dict[str, Any]:
    """What a page says about where it came from, read before the extractor prunes the tree.

    - a credit line anywhere in the page ("This article first appeared on The X");
    - JSON-LD `isBasedOn` (a URL, or an object with a url/name) and `sourceOrganization`;
    - the publication time with its clock time (JSON-LD datePublished, article:published_time,
      a `<time datetime>` marked as the publication's), which the extractor reduces to a date.

    ``ld`` is the page's parsed JSON-LD (`pagekind.json_ld`).
    """
    blocks = []
    for el in tree.iter("p", "div", "span", "em", "i", "small", "footer", "aside", "section"):
        own = " ".join(
            t.strip() for t in [el.text or "", *(c.tail or "" for c in el)] if t and t.strip()
        )
        if own and len(own) < 400:
            blocks.append(own)
    hints: dict[str, Any] = {
        "credited_source": credited_source(blocks),
        "based_on_url": None,
        "published_time": None,
    }
    for data in ld:
        for obj in data if isinstance(data, list) else [data]:
            if not isinstance(obj, dict):
                continue
            based = obj.get("isBasedOn")
            if isinstance(based, dict):
                url = based.get("url") or based.get("@id")
                hints["based_on_url"] = hints["based_on_url"] or url
                hints["credited_source"] = hints["credited_source"] or _name(based.get("publisher"))
            elif isinstance(based, str):
                hints["based_on_url"] = hints["based_on_url"] or based
            source = _name(obj.get("sourceOrganization"))
            hints["credited_source"] = hints["credited_source"] or source
            published = obj.get("datePublished")
            if isinstance(published, str) and "T" in published:
                hints["published_time"] = hints["published_time"] or published
    if hints["published_time"] is None:
        meta = tree.xpath('string(//meta[@property="article:published_time"]/@content)').strip()
        hints["published_time"] = meta if "T" in meta else None
    if hints["published_time"] is None:
        # A <time datetime> that marks the publication (WordPress's "posted-on" / "entry-date",
        # schema.org's itemprop, HTML's pubdate), not any date on the page: a masthead shows
        # today's date, a sidebar the dates of other stories.
        for value in tree.xpath(_PUBLISHED_TIME_XPATH)[:1]:
            value = value.strip()
            hints["published_time"] = value if "T" in value else None
    return hints


_PUBLISHED_TIME_XPATH = (
    "//time[@datetime][@itemprop='datePublished' or @pubdate"
    " or contains(@class, 'published') or contains(@class, 'entry-date')"
    " or ancestor::*[contains(@class, 'posted-on') or contains(@class, 'dateline')]]/@datetime"
)


def _name(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("name")
    return value.strip() if isinstance(value, str) and value.strip() else None
