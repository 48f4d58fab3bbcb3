"""The bench's extraction baseline: trafilatura alone on stored HTML, in a process pool.

    python -m bench.extract_only PAGES.parquet --workers N

``PAGES.parquet`` holds ``url`` and ``html`` (plain bytes) of the pages the pipeline sent to
extraction. Each worker runs ``trafilatura.bare_extraction`` with the pipeline's
``TRAFILATURA_OPTIONS`` on the decoded page and nothing else, so the process tree's CPU is
trafilatura's own cost plus one interpreter and pool start-up, as in the crawl.
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
from concurrent.futures import ProcessPoolExecutor


def _init() -> None:
    import trafilatura  # noqa: F401 - once per worker, as the pipeline's pool does


def extract_one(html: bytes, url: str) -> int:
    """Length of the text trafilatura extracts (returned so the work cannot be skipped)."""
    import trafilatura

    from pipelines.core.decode import decode_html
    from pipelines.core.extract import TRAFILATURA_OPTIONS

    doc = trafilatura.bare_extraction(decode_html(html, None), url=url, **TRAFILATURA_OPTIONS)
    return len(doc.text or "") if doc is not None else 0


def main(argv: list[str] | None = None) -> int:
    import pyarrow.parquet as pq

    parser = argparse.ArgumentParser(prog="python -m bench.extract_only", description=__doc__)
    parser.add_argument("pages")
    parser.add_argument("--workers", type=int, required=True)
    args = parser.parse_args(argv)
    table = pq.read_table(args.pages, columns=["url", "html"])
    urls, bodies = table["url"].to_pylist(), table["html"].to_pylist()
    with ProcessPoolExecutor(
        max_workers=args.workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init,
    ) as pool:
        total = sum(pool.map(extract_one, bodies, urls, chunksize=8))
    print(f"pages {len(urls)} text_chars {total}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
