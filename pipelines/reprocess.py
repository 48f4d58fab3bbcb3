"""`make reprocess`: rebuild documents, edges and clusters from the stored pages, without crawling.

Same code as the crawl: `pipelines.extract.process_page` in a process pool, the same grouper and
the same writers. The derived tables are written into a staging folder and then swapped in,
table by table, so a reprocess that fails half way leaves the previous tables in place.

    python -m pipelines.reprocess [--data data] [--workers N]
"""

from __future__ import annotations

import argparse
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.compute as pc

from pipelines.config import GroupingConfig
from pipelines.extract import ExtractOptions, _is_html, make_pool, process_page, worker_count
from pipelines.furniture import FurnitureModel
from pipelines.group import document_row, finish_run
from pipelines.grouping import Grouper
from pipelines.run import RunContext
from pipelines.store import decompress_html, new_run_id, read_table
from pipelines.urls import canonical_doc_id

DERIVED_TABLES = ("documents", "edges", "clusters", "cluster_history", "state")


def _job(args: tuple[bytes, str | None, str, str | None]) -> dict[str, Any]:
    body, encoding, url, hint = args
    return process_page(decompress_html(body), encoding, url, hint)


def _encoding(content_type: str | None) -> str | None:
    if content_type and "charset=" in content_type.lower():
        return content_type.lower().split("charset=", 1)[1].split(";")[0].strip().strip('"') or None
    return None


def reprocess(
    data_dir: str | Path, workers: int = 0, grouping: GroupingConfig | None = None
) -> dict[str, Any]:
    """Rebuild the derived tables under `data_dir`; return counts."""
    root = Path(data_dir)
    grouping = grouping or GroupingConfig()
    pages = read_table(root, "pages")
    if pages.num_rows == 0:
        raise SystemExit(f"error: no pages under {root}/pages: run `make crawl` first")
    ok = pc.and_(pc.equal(pages["status"], 200), pc.is_valid(pages["html"]))
    pages = pages.filter(ok).sort_by([("run_id", "ascending"), ("fetched_at", "ascending")])
    rows = [r for r in pages.to_pylist() if _is_html(r["content_type"])]
    jobs = [
        (r["html"], _encoding(r["content_type"]), r["final_url"], r["page_kind_hint"]) for r in rows
    ]

    ctx = RunContext(
        run_id=rows[-1]["run_id"] if rows else new_run_id(),
        data_dir=root / f".reprocess-{new_run_id()}",
        grouping=grouping,
        started_at=datetime.now(UTC),
    )
    documents: dict[str, dict[str, Any]] = {}
    config_str = str(grouping)
    errors = 0
    pool = make_pool(worker_count(workers), ExtractOptions(grouping.to_dict()))
    try:
        for row, x in zip(rows, pool.map(_job, jobs, chunksize=8), strict=True):
            if x.get("error"):
                errors += 1
            if not x.get("is_article"):
                continue
            doc_id = canonical_doc_id(row["final_url"])
            if doc_id in documents:
                continue
            documents[doc_id] = document_row(
                row["final_url"], row["fetched_at"], x, doc_id, row["run_id"], config_str
            )
    finally:
        pool.shutdown()

    from pipelines.write import furniture_model_path, write_results

    # The furniture model is rebuilt from the stored pages, like everything derived from them.
    model = FurnitureModel()
    grouper = Grouper(grouping)
    edges = finish_run(documents, model, grouping, grouper)
    counts = write_results(ctx, documents, grouper, edges)
    model.save(furniture_model_path(ctx.data_dir))
    swap_in(ctx.data_dir, root)
    return {"pages": len(rows), "errors": errors, **counts}


def swap_in(staging: Path, root: Path) -> None:
    """Replace each derived table folder of `root` by the one in `staging`."""
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.reprocess", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--data", default="data", help="data folder (default: %(default)s)")
    parser.add_argument(
        "--workers", type=int, default=0, help="extraction processes (0 = one per core)"
    )
    args = parser.parse_args(argv)
    counts = reprocess(args.data, args.workers)
    print(
        f"Reprocessed {counts['pages']} pages: {counts['documents_new']} documents, "
        f"{counts['clusters_new']} clusters, {counts['errors']} extraction errors."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
