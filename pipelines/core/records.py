"""The `documents` row of an extracted article, and when a known article is a new version.

Shared by the crawl's group stage (pipelines.stages.group) and `make reprocess`, so both build
the same row from the same extraction result.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit


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
        "furniture_removed": list(x.get("markup_removed") or ()),
        "grouping_config": grouping_config,
    }


def is_new_version(known: dict[str, Any] | None, extract_hash: str) -> bool:
    """A document is new, or a new version, unless the extractor's text hashes as last time.

    The raw extracted text is compared, not the clean text: cleaning depends on the furniture
    model, which keeps learning, so the same page could otherwise look changed.
    """
    return known is None or known["extract_hash"] != extract_hash
