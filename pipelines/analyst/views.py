"""The analyst's views of a data folder: snapshot tables derived from the committed datasets.

`publish_views` rebuilds each view from the datasets as the last commit left them and writes it
atomically as one file, `<table>/<table>.parquet`, whose `as_of_run` column names that commit.
Every front door has it done after its commit (pipelines/storage/commit.write_run, `make
reprocess`) by `rebuild_views`, in a process of its own (`python -m pipelines.analyst.views
--data DIR`): the texts it reads and DuckDB stay out of the crawl's process (whose objects
are frozen after the crawl, crawler/run.py), and a view that fails is logged without failing
the committed run. A run killed between its commit and its views gets them from the next
run's recovery (pipelines/storage/state.recover), and `views_stale` tells a reader that they
lag. A view is never the only copy of anything: deleting one loses nothing.

- `copy_changes`: one row per document of a cluster of two or more that is not the cluster's
  origin (pipelines/analyst/changes.py says what is compared);
- `sites`: one row per domain with documents: its counts, the sites whose copies it carries,
  the ids and template read from its latest pages, its bylines and furniture lines, and the
  network it was found in (pipelines/analyst/sites.py);
- `site_links`: one row per pair of sites with copies, an id or a furniture line in common.

Reads go through DuckDB, one live cluster at a time in cluster order, so memory holds the
texts of one batch of clusters, not of the whole folder.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.analyst.changes import copy_change, same_headline
from pipelines.storage.schemas import schema_for
from pipelines.storage.state import current_version
from pipelines.storage.store import atomic_write_table

VIEWS = ("copy_changes", "sites", "site_links")
BATCH_ROWS = 2_000


def view_path(data_dir: str | os.PathLike[str], table: str) -> Path:
    return Path(data_dir) / table / f"{table}.parquet"


def _has_files(root: Path, table: str) -> bool:
    return any((root / table).glob("**/*.parquet"))


def latest_documents_sql(root: Path, columns: str) -> str:
    """The latest version of every document with the live cluster it belongs to now."""
    return f"""
        with d as (
            select {columns}, cluster_id
            from read_parquet('{root}/documents/**/*.parquet', hive_partitioning = true)
            qualify row_number() over (partition by doc_id order by run_id desc) = 1
        ), c as (
            select cluster_id, coalesce(merged_into, cluster_id) as cluster_now
            from read_parquet('{root}/clusters/clusters.parquet')
        )
        select d.* exclude (cluster_id), c.cluster_now
        from d join c using (cluster_id)
    """


_DOC_COLUMNS = ("doc_id", "url", "domain", "title", "text", "published_at")


def _clusters_of_copies(con: Any, root: Path) -> Iterator[list[dict]]:
    """The latest documents of each live cluster of two or more, one list per cluster."""
    sql = f"""
        with docs as ({latest_documents_sql(root, ", ".join(_DOC_COLUMNS))})
        select docs.*, k.origin_doc_id
        from docs join read_parquet('{root}/clusters/clusters.parquet') k
             on k.cluster_id = docs.cluster_now
        where k.merged_into is null and k.size > 1 and k.origin_doc_id is not null
        order by docs.cluster_now, docs.doc_id
    """  # noqa: E501
    cursor = con.execute(sql)
    names = [*_DOC_COLUMNS, "cluster_now", "origin_doc_id"]
    group: list[dict] = []
    while batch := cursor.fetchmany(BATCH_ROWS):
        for values in batch:
            row = dict(zip(names, values, strict=True))
            if group and group[0]["cluster_now"] != row["cluster_now"]:
                yield group
                group = []
            group.append(row)
    if group:
        yield group


def copy_change_rows(data_dir: str | os.PathLike[str], as_of_run: str) -> list[dict[str, Any]]:
    """The `copy_changes` rows of a data folder (see pipelines/analyst/changes.py)."""
    root = Path(data_dir).resolve()
    if not _has_files(root, "documents") or not (root / "clusters" / "clusters.parquet").is_file():
        return []
    import duckdb  # here: extraction workers import this module's importers, not DuckDB

    with duckdb.connect() as con:
        return [
            {**row, "as_of_run": as_of_run}
            for members in _clusters_of_copies(con, root)
            for row in cluster_changes(members)
        ]


def cluster_changes(members: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The `copy_changes` rows (less as_of_run) of one cluster's latest documents, each with
    doc_id, url, domain, title, text, published_at, cluster_now and the cluster's origin_doc_id."""
    origin = next((m for m in members if m["doc_id"] == m["origin_doc_id"]), None)
    if origin is None:  # the origin is not among the documents (never: documents are kept)
        return []
    rows: list[dict[str, Any]] = []
    for doc in members:
        if doc is origin:
            continue
        change = copy_change(origin["text"], doc["text"])
        lag = None
        if doc["published_at"] is not None and origin["published_at"] is not None:
            lag = int((doc["published_at"] - origin["published_at"]).total_seconds())
        same = same_headline(doc["title"], origin["title"])
        rows.append({
            "doc_id": doc["doc_id"],
            "url": doc["url"],
            "domain": doc["domain"],
            "cluster_id": doc["cluster_now"],
            "origin_doc_id": origin["doc_id"],
            "origin_url": origin["url"],
            "origin_domain": origin["domain"],
            "relation": change["relation"],
            "title": doc["title"],
            "origin_title": origin["title"],
            "headline_changed": None if same is None else not same,
            "sentences_added": change["sentences_added"],
            "sentences_removed": change["sentences_removed"],
            "share_kept": change["share_kept"],
            "lag_seconds": lag,
        })  # fmt: skip
    return rows


# -- sites and site_links ------------------------------------------------------------------------

SAMPLE_PAGES = 30  # a site's latest article pages whose HTML is read for ids and template
FURNITURE_MIN_DOCS = 3  # a site's furniture line: removed from this many of its documents,
FURNITURE_MIN_SHARE = 0.1  # and from this share of them
BYLINE_MIN_DOCS = 3
LIST_LIMIT = 20


def _site_counts(con: Any, root: Path) -> list[tuple]:
    """Per domain: articles, originals, copies, copies of its originals on other sites, the most
    common site name."""
    docs = latest_documents_sql(root, "doc_id, domain, site_name")
    return con.execute(f"""
        with docs as ({docs}), marked as (
            select docs.domain, docs.site_name, docs.doc_id, k.origin_doc_id, k.size,
                   k.size > 1 and docs.doc_id <> k.origin_doc_id as is_copy
            from docs join read_parquet('{root}/clusters/clusters.parquet') k
                 on k.cluster_id = docs.cluster_now
        )
        select domain, count(*), count(*) filter (where not is_copy),
               count(*) filter (where is_copy),
               coalesce(sum(size - 1) filter (where size > 1 and doc_id = origin_doc_id), 0),
               mode(site_name)
        from marked group by domain order by domain
    """).fetchall()


def _recurring_lists(con: Any, root: Path) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Per domain: its recurring bylines and its furniture lines (see the constants above)."""
    docs = latest_documents_sql(root, "doc_id, domain, author, furniture_removed")
    con.execute(f"create or replace temp table st_docs as {docs}")
    bylines: dict[str, list[str]] = {}
    for domain, author, _ in con.execute(f"""
        select domain, author, count(*) n from st_docs where author is not null
        group by all having n >= {BYLINE_MIN_DOCS} order by domain, n desc, author
    """).fetchall():
        if len(bylines.setdefault(domain, [])) < LIST_LIMIT:
            bylines[domain].append(author)
    furniture: dict[str, list[str]] = {}
    for domain, line, _ in con.execute(f"""
        with sizes as (select domain, count(*) docs from st_docs group by domain),
        lines as (
            select domain, line, count(distinct doc_id) n
            from (select domain, doc_id, unnest(furniture_removed) as line from st_docs)
            group by all
        )
        select lines.domain, line, n from lines join sizes using (domain)
        where n >= {FURNITURE_MIN_DOCS} and n >= {FURNITURE_MIN_SHARE} * docs
        order by lines.domain, n desc, line
    """).fetchall():
        if len(furniture.setdefault(domain, [])) < LIST_LIMIT:
            furniture[domain].append(line)
    return bylines, furniture


def _sampled_pages(con: Any, root: Path) -> dict[str, list[bytes]]:
    """Per domain: the bodies of its latest `SAMPLE_PAGES` article pages (answered 200)."""
    from pipelines.storage.store import decompress_html

    if not _has_files(root, "pages"):
        return {}

    docs = latest_documents_sql(root, "doc_id, url, domain")
    pages = f"read_parquet('{root}/pages/**/*.parquet', hive_partitioning = true)"
    wanted = con.execute(f"""
        with docs as ({docs})
        select p.run_id, p.url, docs.domain from {pages} p join docs on docs.url = p.url
        where p.status = 200 and p.content_hash is not null
        qualify row_number() over (partition by docs.domain order by p.fetched_at desc,
                                   p.url) <= {SAMPLE_PAGES}
    """).fetchall()
    by_run: dict[str, dict[str, str]] = {}
    for run_id, url, domain in wanted:
        by_run.setdefault(run_id, {})[url] = domain
    out: dict[str, list[bytes]] = {}
    for run_id, urls in sorted(by_run.items()):
        folder = root / "pages" / f"run_id={run_id}"
        rows = con.execute(
            f"select url, html from read_parquet('{folder}/*.parquet') "
            "where html is not null and url in (select unnest(?))",
            [sorted(urls)],
        ).fetchall()
        for url, blob in rows:
            out.setdefault(urls[url], []).append(decompress_html(blob))
    return out


def _page_counts(con: Any, root: Path) -> dict[str, int]:
    """Per domain: the distinct URLs that answered 200."""
    if not _has_files(root, "pages"):
        return {}
    host = r"lower(regexp_extract(url, '^[A-Za-z][A-Za-z0-9+.-]*://(?:[^@/]*@)?([^/?#:]+)', 1))"
    rows = con.execute(f"""
        select {host} as domain, count(distinct url)
        from read_parquet('{root}/pages/**/*.parquet', hive_partitioning = true)
        where status = 200 group by 1
    """).fetchall()
    return dict(rows)


def site_rows(
    data_dir: str | os.PathLike[str], as_of_run: str, copies: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The `sites` and `site_links` rows of a data folder, given its `copy_changes` rows."""
    from pipelines.analyst import sites as S

    root = Path(data_dir).resolve()
    if not _has_files(root, "documents") or not (root / "clusters" / "clusters.parquet").is_file():
        return [], []
    import duckdb

    with duckdb.connect() as con:
        counts = _site_counts(con, root)
        bylines, furniture = _recurring_lists(con, root)
        samples = _sampled_pages(con, root)
        page_counts = _page_counts(con, root)
    flows: dict[tuple[str, str], int] = {}  # (origin domain, copying domain) -> copies
    copied_from: dict[str, dict[str, int]] = {}
    for row in copies:
        if row["origin_domain"] != row["domain"]:
            key = (row["origin_domain"], row["domain"])
            flows[key] = flows.get(key, 0) + 1
            into = copied_from.setdefault(row["domain"], {})
            into[row["origin_domain"]] = into.get(row["origin_domain"], 0) + 1
    ids: dict[str, dict[str, list[str]]] = {}
    templates: dict[str, set[str]] = {}
    for domain, bodies in samples.items():
        found: dict[str, set[str]] = {"analytics": set(), "ads": set()}
        for body in bodies:
            for kind, values in S.page_ids(body.decode("utf-8", "replace")).items():
                found[kind].update(values)
        ids[domain] = {kind: sorted(v) for kind, v in found.items()}
        templates[domain] = S.site_template([S.template_tokens(b) for b in bodies])
    domains = [c[0] for c in counts]
    links = _link_rows(domains, flows, ids, templates, furniture, as_of_run)
    id_sites: dict[str, int] = {}
    for found in ids.values():
        for value in {*found["analytics"], *found["ads"]}:
            id_sites[value] = id_sites.get(value, 0) + 1
    common = S.common_ids(id_sites, len(domains))
    for link in links:
        link["link_reason"] = S.link_reason(link, common)
    network_of = S.networks(domains, links)
    for link in links:
        same = network_of.get(link["site_a"])
        link["network_id"] = same if same and same == network_of.get(link["site_b"]) else None
    sites = []
    for domain, articles, originals, n_copies, copied_by_others, site_name in counts:
        template = templates.get(domain, set())
        sources = copied_from.get(domain, {})
        sites.append({
            "domain": domain,
            "site_name": site_name,
            "pages": page_counts.get(domain, 0),
            "articles": articles,
            "originals": originals,
            "copies": n_copies,
            "copied_by_others": int(copied_by_others),
            "copied_from": sorted(sources, key=lambda d: (-sources[d], d))[:LIST_LIMIT],
            "analytics_ids": ids.get(domain, {}).get("analytics", []),
            "ad_ids": ids.get(domain, {}).get("ads", []),
            "template_fingerprint": (
                hashlib.sha1("\n".join(sorted(template)).encode()).hexdigest()[:16]
                if template else None
            ),
            "template_size": len(template),
            "pages_sampled": len(samples.get(domain, [])),
            "bylines": bylines.get(domain, []),
            "furniture_lines": furniture.get(domain, []),
            "network_id": network_of.get(domain),
            "as_of_run": as_of_run,
        })  # fmt: skip
    return sites, links


def _link_rows(
    domains: list[str],
    flows: dict[tuple[str, str], int],
    ids: dict[str, dict[str, list[str]]],
    templates: dict[str, set[str]],
    furniture: dict[str, list[str]],
    as_of_run: str,
) -> list[dict[str, Any]]:
    """One `site_links` row per pair of sites with copies, an id or a furniture line in common
    (found through inverted indexes: no pass over every pair)."""
    from pipelines.analyst import sites as S

    pairs: set[tuple[str, str]] = {tuple(sorted(k)) for k in flows if k[0] != k[1]}  # type: ignore[misc]
    by_value: dict[str, set[str]] = {}
    for domain in domains:
        own = {*ids.get(domain, {}).get("analytics", []), *ids.get(domain, {}).get("ads", [])}
        for value in own | {f"furniture:{line}" for line in furniture.get(domain, [])}:
            by_value.setdefault(value, set()).add(domain)
    for members in by_value.values():
        ordered = sorted(members)
        pairs.update((a, b) for i, a in enumerate(ordered) for b in ordered[i + 1 :])
    rows = []
    for a, b in sorted(pairs):
        ids_a = {*ids.get(a, {}).get("analytics", []), *ids.get(a, {}).get("ads", [])}
        ids_b = {*ids.get(b, {}).get("analytics", []), *ids.get(b, {}).get("ads", [])}
        rows.append({
            "site_a": a,
            "site_b": b,
            "copies_a_to_b": flows.get((a, b), 0),
            "copies_b_to_a": flows.get((b, a), 0),
            "shared_ids": sorted(ids_a & ids_b),
            "shared_furniture": sorted(set(furniture.get(a, [])) & set(furniture.get(b, []))),
            "template_similarity": S.jaccard(templates.get(a, set()), templates.get(b, set())),
            "link_reason": None,
            "network_id": None,
            "as_of_run": as_of_run,
        })  # fmt: skip
    return rows


def _all_rows(data_dir: str | os.PathLike[str], run_id: str) -> dict[str, list[dict[str, Any]]]:
    copies = copy_change_rows(data_dir, run_id)
    sites, links = site_rows(data_dir, run_id, copies)
    return {"copy_changes": copies, "sites": sites, "site_links": links}


AS_OF_KEY = b"syndication_tracker.as_of_run"


def publish_views(data_dir: str | os.PathLike[str], run_id: str | None = None) -> list[Path]:
    """Rebuild every view of `data_dir` as of its last commit (or `run_id`); return the files.
    The run is in each file's `as_of_run` column and its schema metadata (for an empty view)."""
    run_id = run_id or current_version(data_dir)
    if run_id is None:
        return []
    rows = _all_rows(data_dir, run_id)
    out = []
    for table in VIEWS:
        schema = schema_for(table)
        schema = schema.with_metadata({**(schema.metadata or {}), AS_OF_KEY: run_id.encode()})
        data = pa.Table.from_pylist(rows[table], schema=schema)
        out.append(atomic_write_table(data, view_path(data_dir, table), schema=schema))
    return out


def views_stale(data_dir: str | os.PathLike[str]) -> list[str]:
    """The views that do not describe the last commit (missing, or of an older run)."""
    run_id = current_version(data_dir)
    if run_id is None:
        return []
    stale = []
    for table in VIEWS:
        path = view_path(data_dir, table)
        meta = pq.read_schema(path).metadata or {} if path.is_file() else {}
        if meta.get(AS_OF_KEY) != run_id.encode():
            stale.append(table)
    return stale


def rebuild_views(data_dir: str | os.PathLike[str], run_id: str) -> str | None:
    """`publish_views` in a child process; None when it worked, else what went wrong."""
    cmd = [sys.executable, "-m", "pipelines.analyst.views", "--data", str(data_dir)]
    cmd += ["--run", run_id]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode == 0:
        return None
    lines = [line.strip() for line in (done.stderr or done.stdout).splitlines() if line.strip()]
    errors = [line for line in lines if "Error" in line or line.startswith("error")]
    return (errors or lines or [f"exit {done.returncode}"])[-1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.analyst.views",
        description="Rebuild the analyst's views (copy_changes) of a data folder.",
    )
    parser.add_argument("--data", default="data", help="data folder (default: %(default)s)")
    parser.add_argument("--run", help="the committed run they describe (default: the last)")
    args = parser.parse_args(argv)
    if not Path(args.data).is_dir():
        print(f"error: {args.data} is not a data folder", file=sys.stderr)
        return 2
    files = publish_views(args.data, args.run)
    if not files:
        print(f"{args.data}: nothing committed yet, no views to build", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
