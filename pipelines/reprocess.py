"""`make reprocess`: rebuild documents, edges, clusters and the state from the stored pages.

No request is made. Every run that stored pages is replayed in run order with the same code as
the end of a crawl (`pipelines.storage.commit.end_run_on_state`, then `write_run`): its article
pages are extracted in a process pool, a page whose text is unchanged since an earlier run adds no
document, the others are cleaned, fingerprinted and grouped into the clusters of the runs
before it. So documents keep the run that fetched them, versions stay versions, and cluster ids
come out as a sequence of crawls would have made them under the current grouping config. This
is the remedy when the grouping config changes in a way that makes saved signatures
incomparable.

Everything is written into a hidden staging folder and then swapped in, table by table, with
the state last. A reprocess that is killed leaves its staging folder behind; crawls refuse to
start until `make reprocess` has been run again (it removes the leftovers and starts over).
The pages' validators and the links of listing pages are kept from the old state when it can be
read, so the next crawl is still conditional.

    python -m pipelines.reprocess [--data data] [--workers N]
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from pipelines.analyst.views import rebuild_views
from pipelines.core.config import GroupingConfig, IncompatibleStateError
from pipelines.core.discovery import announce, announced_by
from pipelines.core.extract import (
    is_html,
    make_pool,
    process_page,
    worker_count,
)
from pipelines.core.records import Extraction, document_row, is_new_version
from pipelines.core.urls import canonicalise_url, doc_id_of_key
from pipelines.storage.commit import end_run_on_state, write_run
from pipelines.storage.state import (
    CrawlState,
    RunLockedError,
    SeenPage,
    prepare_folder,
    publish_clusters,
    run_lock,
)
from pipelines.storage.store import decompress_html, new_run_id, read_table

DERIVED_TABLES = ("documents", "edges", "clusters", "cluster_history", "state")
PAGE_COLUMNS = [
    "url",
    "final_url",
    "status",
    "content_type",
    "etag",
    "last_modified",
    "fetched_at",
    "run_id",
    "html",
    "content_hash",
    "page_kind_hint",
]


def _job(args: tuple[bytes, str | None, str, str | None]) -> Extraction:
    body, content_type, url, hint = args
    return process_page(decompress_html(body), content_type, url, hint)


def announced_by_run(root: Path) -> dict[str, set[str]]:
    """Per run, the canonical URLs its feeds and news sitemaps listed, as the crawl saw them.

    From the stored answers of the feeds and sitemaps (core.discovery, the spider's functions);
    an unchanged one (304) lists what its last stored body listed, as the spider's stored links
    do. Unlike the crawl, the sources' URL filters are not applied: a listed page the crawl did
    not fetch has no stored page to promote anyway.
    """
    cols = ["final_url", "status", "content_type", "run_id", "fetched_at", "html"]
    table = read_table(root, "pages", columns=[*cols, "page_kind_hint"])
    kinds = pc.is_in(table["page_kind_hint"], pa.array(["feed", "sitemap"]))
    table = table.filter(kinds).sort_by([("run_id", "ascending"), ("fetched_at", "ascending")])
    last: dict[str, list[str]] = {}
    out: dict[str, set[str]] = defaultdict(set)
    for r in table.to_pylist():
        key = canonicalise_url(r["final_url"])
        if r["status"] == 200 and r["html"] is not None:
            body = decompress_html(r["html"])
            urls = announced_by(r["page_kind_hint"], body, r["content_type"], r["final_url"])
            last[key] = [canonicalise_url(u) for u in urls]
        elif r["status"] != 304:
            continue
        out[r["run_id"]].update(last.get(key, ()))
    return out


def _old_seen(root: Path) -> dict[str, SeenPage]:
    """Validators and links of the old state, when it can still be read."""
    try:
        return CrawlState.load(root).seen
    except Exception:  # an unreadable old state only costs one unconditional crawl
        return {}


def reprocess(
    data_dir: str | Path, workers: int = 0, grouping: GroupingConfig | None = None
) -> dict[str, Any]:
    """Rebuild the derived tables and the state under `data_dir`; return counts.

    The caller holds the lock and has prepared the folder (see `main`).
    """
    root = Path(data_dir)
    grouping = grouping or GroupingConfig()
    pages = read_table(root, "pages", columns=PAGE_COLUMNS)
    if pages.num_rows == 0:
        raise SystemExit(f"error: no pages under {root}/pages: run `make crawl` first")
    ok = pc.and_(pc.equal(pages["status"], 200), pc.is_valid(pages["html"]))
    pages = pages.filter(ok).sort_by([("run_id", "ascending"), ("fetched_at", "ascending")])
    rows = [r for r in pages.to_pylist() if is_html(r["content_type"])]
    run_rows = {r["run_id"]: r for r in read_table(root, "runs").to_pylist()}
    jobs = [(r["html"], r["content_type"], r["final_url"], r["page_kind_hint"]) for r in rows]
    seen = _old_seen(root)

    staging = root / f".reprocess-{new_run_id()}"
    state = CrawlState(staging)
    config_str = str(grouping)
    by_run: dict[str, list[tuple[dict[str, Any], str, Extraction]]] = defaultdict(list)
    errors = 0
    pool = make_pool(worker_count(workers))
    try:
        announced = announced_by_run(root)
        for row, x in zip(rows, pool.map(_job, jobs, chunksize=8), strict=True):
            errors += bool(x.error)
            key = canonicalise_url(row["final_url"])
            if not x.is_article:
                x = announce(x, key, announced.get(row["run_id"], set()))
            if x is not None:
                by_run[row["run_id"]].append((row, key, x))
    finally:
        pool.shutdown()

    totals: dict[str, int] = defaultdict(int)
    for run_id in sorted(by_run):
        documents: dict[str, dict[str, Any]] = {}
        hashes: dict[str, str] = {}
        for row, key, x in by_run[run_id]:
            doc_id = doc_id_of_key(key)
            extract_hash = x.content_hash or ""  # the worker hashed the extractor text
            if doc_id in documents or not is_new_version(state.docs.get(doc_id), extract_hash):
                continue
            documents[doc_id] = document_row(
                row["final_url"], row["fetched_at"], x, doc_id, run_id, config_str
            )
            hashes[doc_id] = extract_hash
            if key not in seen:  # no old state: validators of article pages only (no links)
                seen[key] = SeenPage(
                    url=key,
                    etag=row["etag"],
                    last_modified=row["last_modified"],
                    body_hash=row["content_hash"],
                    doc_id=doc_id,
                    checked_at=row["fetched_at"],
                    changed_at=row["fetched_at"],
                )
        result = end_run_on_state(run_id, grouping, state, documents, hashes)
        counts = write_run(staging, result, state, {}, lambda c: c, commit=False)
        for k, v in counts.items():
            totals[k] += v

    if by_run:
        last = max(by_run)
        row = dict(run_rows.get(last) or {"run_id": last, "status": "ok"})
        row["finished_at"] = row.get("finished_at") or datetime.now(UTC)
        state.commit(
            last,
            seen=seen,
            docs=state.docs,
            clusters=state.clusters,
            grouper=state.grouper(grouping),
            model=state.furniture_model(),
            config=grouping,
            run_row=row,
        )
        publish_clusters(staging, state)
    swap_in(staging, root)
    if by_run:  # the views read the pages too, which stay in `root`
        failed = rebuild_views(root, max(by_run))
        if failed:
            print(f"warning: the analyst's views were not rebuilt: {failed}", file=sys.stderr)
    return {"pages": len(rows), "errors": errors, "runs": len(by_run), **totals}


def swap_in(staging: Path, root: Path) -> None:
    """Replace each derived table folder of `root`, then the state, by the one in `staging`."""
    for name in DERIVED_TABLES:
        new = staging / name
        old = root / name
        trash = root / f".old-{name}-{staging.name}"
        if old.exists():
            old.rename(trash)
        if new.exists():
            new.rename(old)
        shutil.rmtree(trash, ignore_errors=True)
    shutil.rmtree(staging, ignore_errors=True)


def project_grouping() -> GroupingConfig:
    """The grouping config a crawl would use: the GROUPING setting of the Scrapy project."""
    import os

    from scrapy.utils.project import get_project_settings

    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.settings")
    grouping = get_project_settings().get("GROUPING")
    return GroupingConfig.from_dict(grouping) if grouping else GroupingConfig()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.reprocess", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--data", default="data", help="data folder (default: %(default)s)")
    parser.add_argument(
        "--workers", type=int, default=0, help="extraction processes (0 = one per core)"
    )
    args = parser.parse_args(argv)

    root = Path(args.data)
    try:
        with run_lock(root, "reprocess"):
            # What an interrupted reprocess left is finished by starting again from the pages.
            for leftover in [*root.glob(".reprocess-*"), *root.glob(".old-*")]:
                shutil.rmtree(leftover, ignore_errors=True)
            prepare_folder(
                root, None, report=lambda line: print(f"recovery: {line}", file=sys.stderr)
            )
            counts = reprocess(root, args.workers, project_grouping())
    except RunLockedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    except IncompatibleStateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 4
    print(
        f"Reprocessed {counts['pages']} pages of {counts['runs']} runs: "
        f"{counts['documents_new']} documents, {counts['documents_changed']} new versions, "
        f"{counts['clusters_new']} clusters ({counts['clusters_merged']} merged), "
        f"{counts['errors']} extraction errors."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
