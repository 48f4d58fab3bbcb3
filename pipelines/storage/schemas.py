"""The Parquet schemas of every dataset: the contract with analysts.

Schemas are written out here, never inferred from data, so that a column keeps its type when a
run happens to see only nulls in it, and so that README can be generated from one place
(``python -m pipelines.storage.schemas`` prints the README section). Every field carries a
``description`` in its metadata, and every file records the table name and
:data:`SCHEMA_VERSION` in its schema metadata. Any change to a schema here must bump
:data:`SCHEMA_VERSION`.

Columns marked ``nullable=False`` are checked before a file is written (pyarrow itself accepts
nulls in them silently).
"""

from __future__ import annotations

import pyarrow as pa

from pipelines.core.urls import canonical_doc_id, canonicalise_url

__all__ = [
    "SCHEMA_VERSION",
    "VERSION_KEY",
    "TABLE_KEY",
    "PARTITION_KEY",
    "DEFAULT_NUM_PERM",
    "TABLES",
    "PARTITIONED_TABLES",
    "ORIGIN_REASONS",
    "EDGE_RELATIONS",
    "EDGE_DIRECTIONS",
    "RUN_STATUSES",
    "schema_for",
    "pages_schema",
    "documents_schema",
    "clusters_schema",
    "cluster_history_schema",
    "edges_schema",
    "runs_schema",
    "copy_changes_schema",
    "sites_schema",
    "site_links_schema",
    "watch_hits_schema",
    "schema_markdown",
    "canonical_doc_id",
    "canonicalise_url",
]

# 2: run_id only in the partition folder name, not inside the files; runs.failures, cut_short.
# New tables (copy_changes, sites, site_links, watch_hits) leave the existing files: no bump.
SCHEMA_VERSION = 2
VERSION_KEY = b"syndication_tracker.schema_version"
TABLE_KEY = b"syndication_tracker.table"
# Tables that grow per run live under <root>/<table>/run_id=<run_id>/ (Hive partitions).
PARTITION_KEY = "run_id"
DEFAULT_NUM_PERM = 128

ORIGIN_REASONS = ("canonical", "credit", "earliest", "first_seen")
EDGE_RELATIONS = ("duplicate", "excerpt")
EDGE_DIRECTIONS = ("a", "b")
RUN_STATUSES = ("running", "ok", "failed", "interrupted")

_TS = pa.timestamp("us", tz="UTC")


def _f(name: str, type_: pa.DataType, description: str, *, nullable: bool = True) -> pa.Field:
    return pa.field(name, type_, nullable=nullable, metadata={"description": description})


def _schema(table: str, fields: list[pa.Field], **extra: str) -> pa.Schema:
    # Readers give the partition column back after the stored ones: the schema says the same.
    fields = [f for f in fields if f.name != PARTITION_KEY] + [
        f for f in fields if f.name == PARTITION_KEY
    ]
    metadata = {VERSION_KEY: str(SCHEMA_VERSION).encode(), TABLE_KEY: table.encode()}
    metadata.update({f"syndication_tracker.{k}".encode(): v.encode() for k, v in extra.items()})
    return pa.schema(fields, metadata=metadata)


def _run_id_field(what: str) -> pa.Field:
    return _f(
        "run_id",
        pa.string(),
        f"the run that {what}; stored as the Hive partition folder name (run_id=...)",
        nullable=False,
    )


def pages_schema() -> pa.Schema:
    """One row per fetch (including errors and 304 answers)."""
    return _schema(
        "pages",
        [
            _f("url", pa.string(), "the URL requested", nullable=False),
            _f("final_url", pa.string(), "the URL answered after redirects", nullable=False),
            _f("status", pa.int16(), "HTTP status of the final answer; null when none came"),
            _f("content_type", pa.string(), "Content-Type header of the answer"),
            _f("etag", pa.string(), "ETag header, kept for the next conditional GET"),
            _f("last_modified", pa.string(), "Last-Modified header as sent by the server"),
            _f("fetched_at", _TS, "when the answer arrived (UTC)", nullable=False),
            _run_id_field("fetched the page"),
            _f(
                "source",
                pa.string(),
                "name of the sources.yaml entry that led here",
                nullable=False,
            ),
            _f(
                "html",
                pa.binary(),
                "body as one zstd frame (storage.store.decompress_html); null on error or 304",
            ),
            _f("error", pa.string(), "why the fetch failed (exception or reason); null on success"),
            _f(
                "content_hash", pa.string(), "SHA-1 hex of the uncompressed body; null without body"
            ),
            _f("depth", pa.int16(), "link depth from the start URL (0 for feeds, sitemaps, seeds)"),
            _f("referer", pa.string(), "the page or feed that linked here"),
            _f(
                "page_kind_hint",
                pa.string(),
                "what the spider took the page for (article, section, ...)",
            ),
        ],
    )


def documents_schema(num_perm: int = DEFAULT_NUM_PERM) -> pa.Schema:
    """One row per new or changed article; ``num_perm`` fixes the width of the signature."""
    if num_perm <= 0:
        raise ValueError(f"num_perm must be positive, got {num_perm}")
    return _schema(
        "documents",
        [
            _f(
                "doc_id",
                pa.string(),
                "16 hex of SHA-1 of the canonicalised URL (pipelines.core.urls.canonical_doc_id)",
                nullable=False,
            ),
            _f("url", pa.string(), "the URL the article was fetched from", nullable=False),
            _f(
                "canonical_url",
                pa.string(),
                "the page's canonical link (rel=canonical) or og:url, if any",
            ),
            _f("domain", pa.string(), "host of url, lowercased", nullable=False),
            _f("site_name", pa.string(), "publisher name from metadata (og:site_name, JSON-LD)"),
            _f("title", pa.string(), "headline"),
            _f("author", pa.string(), "byline"),
            _f("published_at", _TS, "publication time from metadata (UTC); null when none found"),
            _f("language", pa.string(), "language code from metadata or detection"),
            _f("text", pa.string(), "article text without the site's furniture", nullable=False),
            _f("word_count", pa.int32(), "whitespace tokens in text", nullable=False),
            _f("content_hash", pa.string(), "hash of the normalised text: equal text, equal hash"),
            _f(
                "minhash",
                pa.binary(num_perm * 4),
                f"MinHash signature: {num_perm} uint32 values, little-endian",
                nullable=False,
            ),
            _f("n_shingles", pa.int32(), "number of distinct shingles hashed", nullable=False),
            _f("cluster_id", pa.string(), "copy family this document was put in", nullable=False),
            _run_id_field("extracted the document"),
            _f("fetched_at", _TS, "when the page was fetched (UTC)", nullable=False),
            _f(
                "credited_source",
                pa.string(),
                "outlet named in a credit line ('first appeared on')",
            ),
            _f(
                "based_on_url",
                pa.string(),
                "URL the page says it is based on (JSON-LD isBasedOn)",
            ),
            _f(
                "canonical_off_site",
                pa.bool_(),
                "true when canonical_url points to another host (a hint at the original)",
                nullable=False,
            ),
            _f(
                "furniture_removed",
                pa.list_(pa.string()),
                "lines removed as the site's furniture",
                nullable=False,
            ),
            _f(
                "grouping_config",
                pa.string(),
                "short form of the GroupingConfig that made minhash (pipelines.core.config)",
                nullable=False,
            ),
        ],
        num_perm=str(num_perm),
    )


def _cluster_fields() -> list[pa.Field]:
    return [
        _f("cluster_id", pa.string(), "stable id of the copy family", nullable=False),
        _f("size", pa.int32(), "documents in the cluster", nullable=False),
        _f("n_domains", pa.int32(), "distinct domains among them", nullable=False),
        _f("origin_doc_id", pa.string(), "doc_id of the likely original"),
        _f("origin_url", pa.string(), "its URL"),
        _f("origin_domain", pa.string(), "its domain"),
        _f(
            "origin_reason",
            pa.string(),
            "why it was chosen: " + ", ".join(ORIGIN_REASONS) + " (strongest first)",
        ),
        _f("first_published", _TS, "earliest published_at in the cluster (UTC)"),
        _f("last_published", _TS, "latest published_at in the cluster (UTC)"),
        _f("title", pa.string(), "title of the origin document"),
        _f(
            "created_run", pa.string(), "run_id of the run that created the cluster", nullable=False
        ),
        _f("updated_run", pa.string(), "run_id of the last run that changed it", nullable=False),
        _f("merged_into", pa.string(), "cluster_id that absorbed this one; null while it lives"),
    ]


def clusters_schema() -> pa.Schema:
    """The current state of every cluster: one snapshot file, replaced by each run."""
    return _schema("clusters", _cluster_fields())


def cluster_history_schema() -> pa.Schema:
    """The clusters snapshot as each run left it, partitioned by that run."""
    return _schema(
        "cluster_history", [*_cluster_fields(), _run_id_field("created or changed this row")]
    )


def edges_schema() -> pa.Schema:
    """Verified similarity between two documents of one cluster."""
    return _schema(
        "edges",
        [
            _f("doc_a", pa.string(), "doc_id of one document", nullable=False),
            _f("doc_b", pa.string(), "doc_id of the other", nullable=False),
            _f("jaccard", pa.float32(), "estimated Jaccard similarity of shingles", nullable=False),
            _f(
                "a_in_b", pa.float32(), "estimated share of a's shingles found in b", nullable=False
            ),
            _f(
                "b_in_a", pa.float32(), "estimated share of b's shingles found in a", nullable=False
            ),
            _f("relation", pa.string(), "duplicate or excerpt", nullable=False),
            _f("direction", pa.string(), "likely source: 'a' (doc_a), 'b' (doc_b), or null"),
            _f("lag_seconds", pa.int64(), "published_at of doc_b minus that of doc_a"),
            _run_id_field("found the edge"),
        ],
    )


def runs_schema() -> pa.Schema:
    """One row per run; rewritten in place as the run goes from running to its end status."""
    count = pa.int64()
    return _schema(
        "runs",
        [
            _run_id_field("this row describes"),
            _f("started_at", _TS, "start time (UTC)", nullable=False),
            _f("finished_at", _TS, "end time (UTC); null while running"),
            _f("status", pa.string(), " / ".join(RUN_STATUSES), nullable=False),
            _f("sources", pa.string(), "the sources config used (path), or 'demo'"),
            _f("pages_fetched", count, "responses received (any status)"),
            _f("pages_new", count, "pages whose body was new or changed"),
            _f(
                "pages_not_modified",
                count,
                "304 answers to conditional GETs, and 200 answers whose body did not change",
            ),
            _f("pages_failed", count, "fetches that ended in an error"),
            _f(
                "requests_skipped",
                count,
                "requests never sent: forbidden by robots.txt or filtered (offsite)",
            ),
            _f("status_counts", pa.map_(pa.string(), count), "HTTP status -> responses"),
            _f("documents_new", count, "articles seen for the first time"),
            _f("documents_changed", count, "known articles whose text changed"),
            _f("clusters_new", count, "clusters created"),
            _f("clusters_grown", count, "existing clusters that gained documents"),
            _f("clusters_merged", count, "clusters absorbed into older ones"),
            _f("settings_digest", pa.string(), "hash of the effective crawl settings"),
            _f("grouping_config", pa.string(), "short form of the GroupingConfig used"),
            _f(
                "package_versions",
                pa.map_(pa.string(), pa.string()),
                "package -> version (scrapy, trafilatura, datasketch, ...)",
            ),
            _f(
                "failures",
                pa.map_(pa.string(), count),
                "reason -> count of what failed: fetch_error, redirect_loop, too_many_redirects, "
                "retry_after_too_long, robots_unavailable (hosts), extract_error, "
                "extract_timeout, extract_pool_restart, sitemap_unparseable",
            ),
            _f(
                "cut_short",
                pa.map_(pa.string(), pa.string()),
                "source -> the limits (max_depth, max_pages, trap) that left links unfollowed",
            ),
            _f("error", pa.string(), "why the run failed; null otherwise"),
        ],
    )


def copy_changes_schema() -> pa.Schema:
    """One row per document that is not its cluster's origin: what the copy changed."""
    return _schema(
        "copy_changes",
        [
            _f("doc_id", pa.string(), "the copy (documents.doc_id, its latest version)",
               nullable=False),
            _f("url", pa.string(), "its URL", nullable=False),
            _f("domain", pa.string(), "its domain", nullable=False),
            _f("cluster_id", pa.string(), "the live cluster it belongs to now", nullable=False),
            _f("origin_doc_id", pa.string(), "doc_id of the cluster's origin", nullable=False),
            _f("origin_url", pa.string(), "the origin's URL", nullable=False),
            _f("origin_domain", pa.string(), "the origin's domain", nullable=False),
            _f("relation", pa.string(),
               "duplicate, or excerpt: the copy kept under 80% of the origin's text and nearly "
               "all of its own comes from it", nullable=False),
            _f("title", pa.string(), "the copy's headline"),
            _f("origin_title", pa.string(), "the origin's headline"),
            _f("headline_changed", pa.bool_(),
               "headlines differ once normalised; null when either is missing"),
            _f("sentences_added", pa.list_(pa.string()),
               "sentences of the copy not in the origin, in the copy's order", nullable=False),
            _f("sentences_removed", pa.list_(pa.string()),
               "sentences of the origin not in the copy, in the origin's order", nullable=False),
            _f("share_kept", pa.float32(),
               "share of the origin's words in sentences the copy kept (0..1)", nullable=False),
            _f("lag_seconds", pa.int64(),
               "published_at of the copy minus that of the origin; null when either is unknown"),
            _f("as_of_run", pa.string(), "the committed run this snapshot describes",
               nullable=False),
        ],
    )  # fmt: skip


def sites_schema() -> pa.Schema:
    """One row per domain with documents: what it publishes and who seems to run it."""
    count = pa.int64()
    strings = pa.list_(pa.string())
    return _schema(
        "sites",
        [
            _f("domain", pa.string(), "host, lowercased (documents.domain)", nullable=False),
            _f("site_name", pa.string(), "the publisher name its pages give most often"),
            _f("pages", count, "distinct URLs of the domain that answered 200", nullable=False),
            _f("articles", count, "documents (latest versions)", nullable=False),
            _f("originals", count, "documents that are no other document's copy",
               nullable=False),
            _f("copies", count, "documents that copy another site's or its own original",
               nullable=False),
            _f("copied_by_others", count, "copies, anywhere, of the originals it published",
               nullable=False),
            _f("copied_from", strings, "domains whose originals it carries, most copies first",
               nullable=False),
            _f("analytics_ids", strings, "Google Analytics (UA-, G-) and Tag Manager (GTM-) ids "
               "on its sampled pages", nullable=False),
            _f("ad_ids", strings, "AdSense publisher ids (ca-pub-) on its sampled pages",
               nullable=False),
            _f("template_fingerprint", pa.string(),
               "16 hex of SHA-1 of its template tokens (tag.class names on half its sampled "
               "pages); equal fingerprints, same template; null when no page was sampled"),
            _f("template_size", pa.int32(), "number of template tokens", nullable=False),
            _f("pages_sampled", pa.int32(), "latest article pages read for ids and template "
               "(at most 30)", nullable=False),
            _f("bylines", strings, "authors on 3 or more of its documents, most first",
               nullable=False),
            _f("furniture_lines", strings, "lines removed as furniture from 3 or more and 10% of "
               "its documents, most first", nullable=False),
            _f("network_id", pa.string(), "the network of sites it was found in "
               "(site_links); null when none"),
            _f("as_of_run", pa.string(), "the committed run this snapshot describes",
               nullable=False),
        ],
    )  # fmt: skip


def site_links_schema() -> pa.Schema:
    """One row per pair of sites with copies, an id or a furniture line in common."""
    count = pa.int64()
    strings = pa.list_(pa.string())
    return _schema(
        "site_links",
        [
            _f("site_a", pa.string(), "one domain (site_a < site_b)", nullable=False),
            _f("site_b", pa.string(), "the other", nullable=False),
            _f("copies_a_to_b", count, "copies on site_b of originals of site_a", nullable=False),
            _f("copies_b_to_a", count, "copies on site_a of originals of site_b", nullable=False),
            _f("shared_ids", strings, "analytics and ad ids found on both", nullable=False),
            _f("shared_furniture", strings, "furniture lines of both (sites.furniture_lines)",
               nullable=False),
            _f("template_similarity", pa.float32(),
               "Jaccard similarity of their template tokens (0..1)", nullable=False),
            _f("link_reason", pa.string(),
               "why the pair is linked into a network: analytics id, ad id and another id / "
               "template / furniture, template and furniture; null when it is not"),
            _f("network_id", pa.string(), "the network both belong to; null otherwise"),
            _f("as_of_run", pa.string(), "the committed run this snapshot describes",
               nullable=False),
        ],
    )  # fmt: skip


def watch_hits_schema() -> pa.Schema:
    """One row per new document a run found for an item of the watch list (watch.yaml)."""
    return _schema(
        "watch_hits",
        [
            _f("watch_name", pa.string(), "the watch list item's name", nullable=False),
            _f("watch_kind", pa.string(), "url (a story) or phrase", nullable=False),
            _f("watched", pa.string(), "the watched URL or phrase, as written", nullable=False),
            _f("doc_id", pa.string(), "the new document (documents.doc_id)", nullable=False),
            _f("url", pa.string(), "its URL", nullable=False),
            _f("domain", pa.string(), "its domain", nullable=False),
            _f("title", pa.string(), "its headline"),
            _f("cluster_id", pa.string(), "the story it belongs to", nullable=False),
            _f("is_origin", pa.bool_(), "whether it is its story's likely original",
               nullable=False),
            _f("published_at", _TS, "its publication time (UTC), if known"),
            _f("fetched_at", _TS, "when it was fetched (UTC)", nullable=False),
            _run_id_field("found it"),
        ],
    )  # fmt: skip


# Builders by table name. documents takes num_perm; the others take no argument.
TABLES = {
    "pages": pages_schema,
    "documents": documents_schema,
    "clusters": clusters_schema,
    "cluster_history": cluster_history_schema,
    "edges": edges_schema,
    "runs": runs_schema,
    "copy_changes": copy_changes_schema,
    "sites": sites_schema,
    "site_links": site_links_schema,
    "watch_hits": watch_hits_schema,
}
PARTITIONED_TABLES = frozenset(
    {"pages", "documents", "cluster_history", "edges", "runs", "watch_hits"}
)


def schema_for(table: str, *, num_perm: int = DEFAULT_NUM_PERM) -> pa.Schema:
    """The schema of ``table``; raises ``KeyError`` naming the known tables otherwise."""
    try:
        builder = TABLES[table]
    except KeyError:
        raise KeyError(f"unknown table {table!r}; known: {', '.join(TABLES)}") from None
    return documents_schema(num_perm) if table == "documents" else builder()


def _type_name(type_: pa.DataType) -> str:
    if isinstance(type_, pa.MapType):
        return f"map<{type_.key_type}, {type_.item_type}>"
    if isinstance(type_, pa.ListType):
        return f"list<{type_.value_type}>"
    return str(type_)


def schema_markdown(num_perm: int = DEFAULT_NUM_PERM) -> str:
    """One markdown table per dataset, one line per column, from the field descriptions."""
    out: list[str] = []
    for table in TABLES:
        schema = schema_for(table, num_perm=num_perm)
        out.append(f"#### {table}\n")
        out.append("| column | type | null | meaning |")
        out.append("|---|---|---|---|")
        for field in schema:
            meaning = (field.metadata or {}).get(b"description", b"").decode()
            null = "yes" if field.nullable else "no"
            out.append(f"| `{field.name}` | `{_type_name(field.type)}` | {null} | {meaning} |")
        out.append("")
    return "\n".join(out)


# `python -m pipelines.group` (a corpus, not a data folder): one file each in its --out folder.
ASSIGNMENTS_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("cluster_id", pa.string(), nullable=False),
        pa.field("cluster_size", pa.int32(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("furniture_removed", pa.list_(pa.string()), nullable=False),
    ],
    metadata={b"syndication_tracker.table": b"assignments"},
)
CORPUS_EDGES_SCHEMA = pa.schema(
    [
        pa.field("id_a", pa.string(), nullable=False),
        pa.field("id_b", pa.string(), nullable=False),
        pa.field("jaccard", pa.float32(), nullable=False),
        pa.field("a_in_b", pa.float32(), nullable=False),
        pa.field("b_in_a", pa.float32(), nullable=False),
        pa.field("relation", pa.string(), nullable=False),
    ],
    metadata={b"syndication_tracker.table": b"corpus_edges"},
)


if __name__ == "__main__":
    print(schema_markdown())
