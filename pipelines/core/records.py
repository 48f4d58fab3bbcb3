"""The records that flow through a run: what extracting a page found (`Extraction`), the
`documents` row built from it, and when a known article is a new version.

Shared by the crawl's stages (pipelines.stages) and `make reprocess`, so both build the same
row from the same extraction.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Extraction:
    """What extracting one page found (pipelines.core.extract.process_page): its text, metadata
    and kind. Crosses the process pool by pickling; the crawl and `make reprocess` build the
    same `documents` row from it (document_row).

    `is_article` and `article_reason` say whether the page makes a document and why
    (pagekind.classify's reasons, "announced" when a feed or news sitemap made it one, or
    "empty", "too-large", "binary", "timeout", "worker-died", "error"); `error` is set when the
    extraction failed, so the page is not recorded as seen and is extracted again next time.
    `content_hash` hashes the extractor's text (before cleaning); `markup_removed` holds the
    lines found by their markup (embedded posts, cross-link lines); `signals` the page-kind
    signals (pagekind.PageSignals.to_dict()).
    """

    is_article: bool
    article_reason: str
    text: str = ""
    title: str | None = None
    author: str | None = None
    published_at: datetime | None = None
    site_name: str | None = None
    canonical_url: str | None = None
    canonical_off_site: bool = False
    language: str | None = None
    description: str | None = None
    credited_source: str | None = None
    based_on_url: str | None = None
    word_count: int = 0
    content_hash: str | None = None
    markup_removed: tuple[str, ...] = ()
    signals: dict[str, Any] = field(default_factory=dict, repr=False)
    error: str | None = None

    @classmethod
    def failed(cls, reason: str, error: str | None = None) -> Extraction:
        """No document: a page that could not be extracted (`error`) or was not tried."""
        return cls(is_article=False, article_reason=reason, error=error)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def document_row(
    url: str, fetched_at: Any, x: Extraction, doc_id: str, run_id: str, grouping_config: str
) -> dict[str, Any]:
    """The `documents` row of an extracted article `x`, before cleaning and grouping."""
    return {
        "doc_id": doc_id,
        "url": url,
        "canonical_url": x.canonical_url,
        "domain": (urlsplit(url).hostname or "").lower(),
        "site_name": x.site_name,
        "title": x.title,
        "author": x.author,
        "published_at": x.published_at,
        "language": x.language,
        "text": x.text,
        "word_count": 0,
        "content_hash": None,
        "minhash": None,
        "n_shingles": 0,
        "cluster_id": None,
        "run_id": run_id,
        "fetched_at": fetched_at,
        "credited_source": x.credited_source,
        "based_on_url": x.based_on_url,
        "canonical_off_site": x.canonical_off_site,
        # embedded social posts the extractor took out of the page; the furniture step adds
        # the lines it removes
        "furniture_removed": list(x.markup_removed),
        "grouping_config": grouping_config,
    }


def is_new_version(known: dict[str, Any] | None, extract_hash: str) -> bool:
    """A document is new, or a new version, unless the extractor's text hashes as last time.

    The raw extracted text is compared, not the clean text: cleaning depends on the furniture
    model, which keeps learning, so the same page could otherwise look changed.
    """
    return known is None or known["extract_hash"] != extract_hash
