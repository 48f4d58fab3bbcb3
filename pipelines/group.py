"""Stage 4: group articles into copy families as they arrive (Scrapy glue over pipelines.grouping).

Each article's signature is checked against the in-memory LSH index; candidates are verified
(estimated Jaccard and containment) before any union, so a low LSH threshold finds edited and
truncated copies without chaining unrelated pages. Cluster ids are final only at the end of the
run (a later page can bridge two clusters); the write stage reads them then.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from pipelines.fingerprint import from_bytes
from pipelines.grouping import Grouper
from pipelines.run import RunContext
from pipelines.urls import canonical_doc_id


def document_row(
    url: str, fetched_at: Any, x: dict[str, Any], doc_id: str, run_id: str, grouping_config: str
) -> dict[str, Any]:
    """The `documents` row of an extracted article `x`, without its cluster id (plain function)."""
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
        "text": x["text"],
        "word_count": x["word_count"],
        "content_hash": x.get("content_hash"),
        "minhash": x["minhash"],
        "n_shingles": x["n_shingles"],
        "cluster_id": None,
        "run_id": run_id,
        "fetched_at": fetched_at,
        "credited_source": x.get("credited_source"),
        "canonical_off_site": bool(x.get("canonical_off_site")),
        "furniture_removed": list(x.get("furniture_removed") or []),
        "grouping_config": grouping_config,
    }


class GroupPipeline:
    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler
        self.run = RunContext.of(crawler)
        self.grouper = Grouper(self.run.grouping)
        self.run.extra["grouper"] = self.grouper
        self.run.extra["documents"] = {}  # doc_id -> row, in arrival order
        self.run.extra["edges"] = []
        self.config_str = str(self.run.grouping)

    @classmethod
    def from_crawler(cls, crawler: Any) -> GroupPipeline:
        return cls(crawler)

    def process_item(self, item: Any) -> Any:
        x = item.extraction
        if not x or not x.get("is_article") or "minhash" not in x:
            return item
        stats = self.crawler.stats
        doc_id = canonical_doc_id(item.final_url)
        documents = self.run.extra["documents"]
        if doc_id in documents:
            # The same article reached twice in one run (e.g. through a redirect alias).
            stats.inc_value("documents/duplicate_url")
            return item
        documents[doc_id] = document_row(
            item.final_url, item.fetched_at, x, doc_id, self.run.run_id, self.config_str
        )
        sig = from_bytes(x["minhash"], self.run.grouping.num_perm)
        edges = self.grouper.add(doc_id, sig, x["n_shingles"], x.get("published_at"))
        self.run.extra["edges"].extend(edges)
        stats.inc_value("documents/new")
        stats.set_value("clusters/current", self.grouper.n_clusters)
        return item
