"""Stage 2: article text and metadata of a page (trafilatura) and its kind.

`process_page` is a plain function that runs in a worker process: parse once, read the page's
signals and provenance hints, extract with trafilatura, decide whether it is an article (so the
Scrapy reactor thread never does CPU-heavy work). Fingerprints are made at the end of the run,
after the furniture model has cleaned the text (pipelines/group.py). `ExtractPipeline` is the
thin Scrapy glue that sends pages to a process pool and awaits the result.

Command line, to check what the pipeline would store for one page or a folder of HTML files
(cleaned by the furniture step as a crawl's end of run cleans them; --raw skips that step):

    python -m pipelines.extract page.html --url https://example.com/a
    python -m pipelines.extract folder/ [--json] [--raw]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import multiprocessing
import os
import re
import signal
import sys
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pipelines.core.decode import decode_html, looks_binary

# Options of the extraction, recorded with the data (see settings_digest in the runs table).
# include_comments=False: comment threads are not the article. deduplicate=False: trafilatura's
# dedup cache is module-level state, so results would depend on page order (its issue #778).
# Not favor_precision: on the demo web (seed 1, 150 stories, 649 article pages) it returned no
# text at all for 29 pages (table layouts) and lowered F1 from 0.929 to 0.879; the furniture it
# drops is removed by our own furniture step instead.
# include_tables=True: tables in real articles are content (results, timetables, prices).
TRAFILATURA_OPTIONS: dict[str, Any] = {
    "include_comments": False,
    "deduplicate": False,
    "include_tables": True,
    "with_metadata": True,
}

# Embedded social posts and players, by the markup their providers publish: the post's text is
# someone else's words, not the article's, and its "pic.twitter.com/... - Name (@handle) date"
# lines survive a general extractor. Removed from the tree before extraction and recorded in
# `furniture_removed`.
_EMBED_CLASSES = {
    "blockquote": (
        "twitter-tweet", "twitter-video", "twitter-timeline", "instagram-media",
        "tiktok-embed", "reddit-card", "reddit-embed-bq", "text-post-media",
        "bluesky-embed", "wp-embedded-content", "imgur-embed-pub", "mastodon-embed",
    ),
    # only Facebook's own classes: themes reuse names such as "instagram-media" on the
    # article's container (frolleinherr.com)
    "div": ("fb-post", "fb-video", "fb-page", "fb-comments", "fb-like", "fb-share-button"),
    "a": ("twitter-timeline", "twitter-follow-button", "twitter-share-button"),
}  # fmt: skip
_EMBED_SOURCES = re.compile(
    r"//(www\.)?(youtube\.com|youtube-nocookie\.com|youtu\.be|player\.vimeo\.com|"
    r"(platform\.)?twitter\.com|x\.com|instagram\.com|(www\.)?facebook\.com/plugins|"
    r"tiktok\.com/embed|dailymotion\.com/embed|open\.spotify\.com/embed|w\.soundcloud\.com|"
    r"embed\.bsky\.app)",
    re.IGNORECASE,
)


_MAX_EMBED_WORDS = 400  # a post's text; a longer element is no embed


def _class_test(name: str) -> str:
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


_EMBED_XPATH = " | ".join(
    f"//{tag}[{' or '.join(_class_test(c) for c in classes)}]"
    for tag, classes in _EMBED_CLASSES.items()
)


def remove_embeds(tree: Any) -> list[str]:
    """Take embedded social posts and players out of a parsed page; return what they said.

    One entry per embed: its text with whitespace collapsed, or `embed: <src>` for a player
    that has no text of its own.
    """
    found = list(tree.xpath(_EMBED_XPATH))
    found += [f for f in tree.iter("iframe") if _EMBED_SOURCES.search(f.get("src") or "")]
    removed: list[str] = []
    for el in found:
        parent = el.getparent()
        if parent is None or any(a in found for a in el.iterancestors()):
            continue  # the root, or inside an embed already taken out
        text = " ".join(el.text_content().split())
        if len(text.split()) > _MAX_EMBED_WORDS:
            continue  # a container that borrowed the name, not a post

        removed.append(text or f"embed: {el.get('src') or el.get('data-href') or el.tag}")
        el.drop_tree()  # keeps the tail text, which belongs to the article
    return removed


_MAX_HTML_BYTES = 5_000_000  # larger bodies are not articles; parsing them would stall a worker


def extract_html(html: str, url: str | None = None, hint: str | None = None) -> dict[str, Any]:
    """Text, metadata and kind of one HTML page; a plain function (no Scrapy, no I/O)."""
    import trafilatura
    from lxml import html as lxml_html

    from pipelines.core.origin import provenance_hints
    from pipelines.core.pagekind import classify, page_signals

    if not html.strip():
        return {"is_article": False, "article_reason": "empty", "text": ""}
    tree = lxml_html.fromstring(html)
    embeds = remove_embeds(tree)
    unwrap_layout_tables(tree)
    signals = page_signals(tree)
    hints = provenance_hints(tree)  # before trafilatura prunes the tree
    doc = trafilatura.bare_extraction(
        tree, url=url, date_extraction_params=_DATE_PARAMS, **TRAFILATURA_OPTIONS
    )
    meta = doc.as_dict() if doc is not None else {}
    text = (meta.get("text") or "").strip()
    words = len(text.split())
    is_article, reason = classify(signals, hint, words)
    host = (urlsplit(url).hostname or "") if url else ""
    canonical = _canonical_link(tree, url)
    published = parse_date(meta.get("date"))
    precise = parse_date(hints["published_time"])
    if precise is not None and (published is None or precise.date() == published.date()):
        published = precise
    return {
        "is_article": is_article,
        "article_reason": reason,
        "title": meta.get("title"),
        "author": meta.get("author"),
        "published_at": published,
        "site_name": meta.get("sitename"),
        "canonical_url": canonical,
        "canonical_off_site": bool(canonical and (urlsplit(canonical).hostname or "") != host),
        "language": meta.get("language"),
        "description": meta.get("description"),
        "credited_source": hints["credited_source"],
        "based_on_url": hints["based_on_url"],
        "text": text,
        "word_count": words,
        "content_hash": content_hash(text),
        "embeds_removed": embeds,
        "signals": signals.to_dict(),
    }


# htmldate: prefer the original publication date over "updated" dates.
_DATE_PARAMS = {"original_date": True, "extensive_search": False}


def _canonical_link(tree: Any, url: str | None) -> str | None:
    from urllib.parse import urljoin

    hrefs = tree.xpath('//link[@rel="canonical"]/@href')
    if not hrefs:
        return None
    href = hrefs[0].strip()
    return urljoin(url, href) if url else href


_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def parse_date(value: str | None) -> datetime | None:
    """trafilatura gives `YYYY-MM-DD` (or with a time); anything else is dropped, not guessed."""
    if not value or not _DATE_RE.match(value):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def content_hash(text: str) -> str:
    """Hash of the whitespace-normalised text: unchanged text, unchanged hash."""
    return hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()[:32]


# A table used for page layout holds the page's columns (navigation, article, sidebar) in its
# cells; extracted with include_tables=True it would come out as one row "| nav | article |
# sidebar |". Its cells hold paragraphs and headings, or other tables; a data table's cells hold
# short values.
_LAYOUT_BLOCKS = {"p", "div", "table", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6",
                  "blockquote", "article", "section", "form", "dl"}  # fmt: skip
_LAYOUT_CELL_WORDS = 80
_TABLE_PARTS = ("table", "thead", "tbody", "tfoot", "tr", "td", "th", "caption")


def _is_layout_table(table: Any) -> bool:
    if (table.get("role") or "").lower() in ("presentation", "none"):
        return True
    for cell in table.iter("td", "th"):
        owner = next(cell.iterancestors("table"), None)
        if owner is not table:
            continue
        blocks = sum(1 for el in cell.iterdescendants() if el.tag in _LAYOUT_BLOCKS)
        if blocks >= 2 or any(el.tag == "table" for el in cell.iterdescendants()):
            return True
        if len(cell.text_content().split()) >= _LAYOUT_CELL_WORDS:
            return True
    return False


def unwrap_layout_tables(tree: Any) -> int:
    """Turn layout tables into plain blocks (data tables stay tables); return how many."""
    n = 0
    for table in reversed(list(tree.iter("table"))):  # inner tables first
        if not _is_layout_table(table):
            continue
        parts = [table] + [
            el
            for el in table.iter(*_TABLE_PARTS[1:])
            if next(el.iterancestors("table"), None) is table
        ]
        for el in parts:
            el.tag = "div"
            for attr in ("width", "cellpadding", "cellspacing", "valign", "colspan", "rowspan"):
                el.attrib.pop(attr, None)
        n += 1
    return n


# -- the worker ------------------------------------------------------------------------------


def _init_worker() -> None:
    # A stop signal is for the crawl, not for its workers: `systemctl stop` (and a Ctrl-C in a
    # terminal) signals the whole process group, and workers that died with it lost the pages
    # they held. The crawl shuts the pool down itself once its graceful stop is done.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # Import once per worker, not per page.
    import trafilatura  # noqa: F401

    import pipelines.core.origin  # noqa: F401
    import pipelines.core.pagekind  # noqa: F401


def process_page(
    body: bytes, content_type: str | None, url: str, hint: str | None
) -> dict[str, Any]:
    """Extract one page in a worker process; errors are returned, not raised.

    The crawl and `make reprocess` both call this with the stored body and Content-Type, so a
    page is decoded (pipelines/core/decode.py) and classified the same way by both.
    """
    try:
        if len(body) > _MAX_HTML_BYTES:
            return {"is_article": False, "article_reason": "too-large", "text": ""}
        if looks_binary(body):
            return {"is_article": False, "article_reason": "binary", "text": ""}
        return extract_html(decode_html(body, content_type), url, hint)
    except Exception as exc:  # one broken page must not stop the crawl; it is counted
        return {
            "is_article": False,
            "article_reason": "error",
            "error": f"{type(exc).__name__}: {exc}",
        }


def make_pool(workers: int) -> ProcessPoolExecutor:
    # spawn, not fork: forking a process that runs the Twisted/asyncio reactor and its threads
    # can deadlock the children.
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_init_worker,
    )


def worker_count(setting: int) -> int:
    return setting if setting and setting > 0 else (os.cpu_count() or 1)


# -- Scrapy glue -----------------------------------------------------------------------------


class ExtractPipeline:
    """Send each fetched HTML page to the process pool; attach the result to the item."""

    def __init__(self, crawler: Any) -> None:
        from pipelines.run import RunContext

        self.crawler = crawler
        self.run = RunContext.of(crawler)
        self.workers = worker_count(crawler.settings.getint("EXTRACT_WORKERS"))
        self.timeout = crawler.settings.getfloat("EXTRACT_TIMEOUT", 60.0)
        self.pool: ProcessPoolExecutor | None = None

    @classmethod
    def from_crawler(cls, crawler: Any) -> ExtractPipeline:
        return cls(crawler)

    def open_spider(self) -> None:
        self.pool = make_pool(self.workers)

    def close_spider(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)

    async def process_item(self, item: Any) -> Any:
        stats = self.crawler.stats
        if item.status != 200 or not item.body or not _is_html(item.content_type):
            return item
        assert self.pool is not None
        try:
            future = self.pool.submit(
                process_page, item.body, item.content_type, item.final_url, item.hint
            )
            result = await asyncio.wait_for(asyncio.wrap_future(future), self.timeout)
        except TimeoutError:
            stats.inc_value("failures/extract_timeout")
            result = {
                "is_article": False,
                "article_reason": "timeout",
                "error": "extraction timed out",
            }
        except BrokenProcessPool as exc:
            # A worker died (out of memory, a crash in a C extension): count the page as failed
            # and start a fresh pool so the rest of the crawl goes on.
            stats.inc_value("failures/extract_pool_restart")
            result = {
                "is_article": False,
                "article_reason": "worker-died",
                "error": f"worker died: {exc}",
            }
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = make_pool(self.workers)
        if result.get("error"):
            # Not recorded as seen (pipelines/group.note_seen): the next run fetches the page
            # again without validators and extracts it again; `make reprocess` does too.
            if result.get("article_reason") == "error":
                stats.inc_value("failures/extract_error")
            self.crawler.spider.logger.warning(
                "Extraction failed for %s: %s", item.final_url, result["error"]
            )
        stats.inc_value("extract/pages")
        if result.get("is_article"):
            stats.inc_value("extract/articles")
        item.extraction = result
        return item


def _is_html(content_type: str | None) -> bool:
    return content_type is None or "html" in content_type.lower()


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
    """Run the end-of-run cleaning of a crawl (pipelines.group.finish_run, through
    pipelines.corpus.group_table) over these pages' articles; texts are replaced in place."""
    import pyarrow as pa

    from pipelines.corpus import group_table

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
        r["furniture_removed"] = [*r.get("embeds_removed", ()), *row["furniture_removed"]]


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
            result = extract_html(
                decode_html(f.read_bytes(), None), args.url or f.resolve().as_uri()
            )
        except Exception as exc:  # reported like a crawl reports it, the other files go on
            result = {"is_article": False, "article_reason": "error", "text": "",
                      "error": f"{type(exc).__name__}: {exc}"}  # fmt: skip
        result.pop("signals", None)
        result["furniture_removed"] = list(result.get("embeds_removed", ()))
        results.append(result)
        sites.append(page_site(result, args.url, f"local:{f.resolve().parent.name}"))
    if not args.raw:
        clean_like_a_crawl(results, sites)
    for f, result in zip(files, results, strict=True):
        result.pop("embeds_removed", None)
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
