"""What the pipeline would store for one page or a folder of HTML files: the extraction of
pipelines.core.extract without a crawl.

To check what the pipeline would store for one page or a folder of HTML files
(cleaned by the furniture step as a crawl's end of run cleans them; --raw skips that step):

    python -m pipelines.extract page.html --url https://example.com/a
    python -m pipelines.extract folder/ [--json] [--raw]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pipelines.core.decode import decode_html
from pipelines.core.extract import (
    content_hash,
    extract_html,
)
from pipelines.core.records import Extraction
from pipelines.corpus import group_table

# -- command line ----------------------------------------------------------------------------


def page_site(result: dict[str, Any], url: str | None, fallback: str) -> str:
    """The site a page belongs to, for the furniture model: its URL's host, else its
    canonical link's, else `fallback` (a local file has no host)."""
    for u in (url, result.get("canonical_url")):
        host = (urlsplit(u).hostname or "") if u else ""
        if host:
            return host.lower()
    return fallback


def clean_like_a_crawl(results: list[dict[str, Any]], sites: list[str]) -> None:
    """Run the end-of-run cleaning of a crawl (pipelines.core.endofrun.finish_run, through
    pipelines.corpus.group_table) over these pages' articles; texts are replaced in place."""
    import pyarrow as pa

    keep = [i for i, r in enumerate(results) if r.get("is_article")]
    if not keep:
        return
    table = pa.table(
        {
            "id": [str(i) for i in keep],
            "text": [results[i].get("text") or "" for i in keep],
            "site": [sites[i] for i in keep],
            "title": [results[i].get("title") for i in keep],
        }
    )
    assignments, _ = group_table(table, "id", "text", domain_column="site", title_column="title")
    for row in assignments.to_pylist():
        r = results[int(row["id"])]
        r["text"] = row["text"]
        r["word_count"] = len(row["text"].split())
        r["content_hash"] = content_hash(row["text"])
        r["furniture_removed"] = [*r.get("markup_removed", ()), *row["furniture_removed"]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.extract",
        description="Print the text and metadata the pipeline would store for HTML files.",
        epilog="The text is cleaned as a crawl's end of run cleans it: articles only, the "
        "furniture model learnt from the pages given here (one site per host, from --url, the "
        "page's canonical link or else the folder), generic furniture lines, the repeated "
        "headline, lines shared by several copy families. A crawl's model also remembers the "
        "pages of earlier runs, so one page alone keeps furniture that a crawl of its site "
        "removes. --raw prints the extractor's text before that step.",
    )
    parser.add_argument("path", help="an HTML file or a folder of *.html files")
    parser.add_argument(
        "--url", help="the page's URL (for relative links and the site); one file only"
    )
    parser.add_argument(
        "--raw", action="store_true", help="the extractor's text, without the furniture step"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object per file")
    args = parser.parse_args(argv)
    path = Path(args.path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in (".html", ".htm"))
        if args.url:
            parser.error("--url applies to one file, not a folder")
    elif path.is_file():
        files = [path]
    else:
        parser.error(f"no such file or folder: {path}")
    results, sites = [], []
    for f in files:
        try:
            x = extract_html(decode_html(f.read_bytes(), None), args.url or f.resolve().as_uri())
        except Exception as exc:  # reported like a crawl reports it, the other files go on
            x = Extraction.failed("error", f"{type(exc).__name__}: {exc}")
        result = x.to_dict()
        result.pop("signals", None)
        result["furniture_removed"] = list(result.get("markup_removed", ()))
        results.append(result)
        sites.append(page_site(result, args.url, f"local:{f.resolve().parent.name}"))
    if not args.raw:
        clean_like_a_crawl(results, sites)
    for f, result in zip(files, results, strict=True):
        result.pop("markup_removed", None)
        if args.json:
            print(json.dumps({"file": str(f), **result}, default=str, ensure_ascii=False))
            continue
        kind = "article" if result["is_article"] else "not an article: no document"
        print(f"== {f}  [{kind}: {result['article_reason']}]")
        for key in ("title", "author", "published_at", "site_name", "canonical_url", "language"):
            print(f"{key:>14}: {result.get(key)}")
        print(f"{'words':>14}: {result.get('word_count')}")
        if result.get("error"):
            print(f"{'error':>14}: {result['error']}")
        removed = result.get("furniture_removed") or []
        print(f"{'furniture':>14}: {len(removed)} line(s) removed")
        for line in removed:
            print(f"{'':>16}- {line[:120]}")
        print()
        print(result.get("text", ""))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
