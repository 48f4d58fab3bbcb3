"""Article text and metadata of a page (trafilatura) and its kind.

`process_page` is a plain function that runs in a worker process (`make_pool`): decode, parse
once, remove embedded posts and layout tables, read the page's signals and provenance hints,
extract with trafilatura, drop cross-link lines, decide whether it is an article. Every front
door calls it: the crawl (pipelines/extract.py, so the Scrapy reactor thread never does CPU-
heavy work), `make reprocess`, the evaluations. Fingerprints are made at the end of the run,
after the furniture model has cleaned the text (pipelines/group.py).
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import re
import signal
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from pipelines.core.decode import decode_html, looks_binary
from pipelines.core.records import Extraction

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


# A cross-link inside the article: a short label, a colon, and one link to another story, the
# whole block ("Lea más: <a>Juan Carlos Ortega propone ...</a>", "Auch lesen: <a>...</a>",
# "PUEDES VER: <a>...</a>"). Found by its markup, in any language: the label is text outside
# the link, the link text is a headline (four words or more) and nothing follows it. A label
# that names a thing ("Earcuff: <a>Zoeca</a>") or a sentence with a link in it is no cross-link.
# What it removes on real pages: README, "Quality on real pages".
_CROSSLINK_BLOCKS = ("p", "li", "div", "h2", "h3", "h4", "h5", "h6", "dd", "span", "strong", "b")
_CROSSLINK_MAX_WORDS = 30
_CROSSLINK_LABEL_WORDS = 4
_CROSSLINK_MIN_HEADLINE_WORDS = 4


def _squash(text: str) -> str:
    return " ".join(text.split())


def crosslink_lines(tree: Any) -> set[str]:
    """The whitespace-collapsed text of each cross-link block of a parsed page.

    Walks the links, not the blocks: the block of a cross-link is the nearest block around
    its one link (a menu of a hundred links costs a hundred short walks, not a text_content
    of every div around them).
    """
    found: set[str] = set()
    seen: set[Any] = set()
    for anchor in tree.iter("a"):
        headline = _squash(anchor.text_content())
        if len(headline.split()) < _CROSSLINK_MIN_HEADLINE_WORDS:
            continue  # menu entries, "more", a name: no headline
        block = anchor.getparent()
        for _ in range(3):  # <p><b>Label:</b> <a>...</a></p>, <li><span><a>...</a></span></li>
            if block is None or block.tag in _CROSSLINK_BLOCKS:
                break
            block = block.getparent()
        if block is None or block.tag not in _CROSSLINK_BLOCKS or block in seen:
            continue
        seen.add(block)
        if sum(1 for _ in block.iter("a")) != 1:
            continue
        text = _squash(block.text_content())
        if not text or len(text.split()) > _CROSSLINK_MAX_WORDS:
            continue
        at = text.find(headline)
        if at <= 0:
            continue
        label = text[:at].strip()
        if (
            label.endswith(":")
            and 1 <= len(label[:-1].split()) <= _CROSSLINK_LABEL_WORDS
            and len(text) - at - len(headline) <= 3  # at most a closing mark after the link
        ):
            found.add(text)
    return found


def drop_crosslinks(text: str, crosslinks: set[str]) -> tuple[str, list[str]]:
    """(text without the cross-link lines, the lines removed)."""
    if not crosslinks:
        return text, []
    kept, removed = [], []
    for line in text.split("\n"):
        (removed if _squash(line.lstrip("-").strip()) in crosslinks else kept).append(line)
    return "\n".join(kept), removed


_MAX_HTML_BYTES = 5_000_000  # larger bodies are not articles; parsing them would stall a worker


def extract_html(html: str, url: str | None = None, hint: str | None = None) -> Extraction:
    """Text, metadata and kind of one HTML page; a plain function (no Scrapy, no I/O)."""
    import trafilatura
    from lxml import html as lxml_html

    from pipelines.core.origin import provenance_hints
    from pipelines.core.pagekind import classify, json_ld, page_signals

    if not html.strip():
        return Extraction.failed("empty")
    tree = lxml_html.fromstring(html)
    embeds = remove_embeds(tree)
    unwrap_layout_tables(tree)
    ld = json_ld(tree)
    signals = page_signals(tree, ld)
    hints = provenance_hints(tree, ld)  # before trafilatura prunes the tree
    crosslinks = crosslink_lines(tree)
    doc = trafilatura.bare_extraction(
        tree, url=url, date_extraction_params=_DATE_PARAMS, **TRAFILATURA_OPTIONS
    )
    meta = doc.as_dict() if doc is not None else {}
    text, crosslinked = drop_crosslinks((meta.get("text") or "").strip(), crosslinks)
    text = text.strip()
    words = len(text.split())
    is_article, reason = classify(signals, hint, words)
    host = (urlsplit(url).hostname or "") if url else ""
    canonical = _canonical_link(tree, url)
    published = parse_date(meta.get("date"))
    precise = parse_date(hints["published_time"])
    if precise is not None and (
        published is None
        or precise.date() == published.date()
        or day_month_swapped(published, precise)
    ):
        published = precise
    return Extraction(
        is_article=is_article,
        article_reason=reason,
        title=meta.get("title"),
        author=meta.get("author"),
        published_at=published,
        site_name=meta.get("sitename"),
        canonical_url=canonical,
        canonical_off_site=bool(canonical and (urlsplit(canonical).hostname or "") != host),
        language=meta.get("language"),
        description=meta.get("description"),
        credited_source=hints["credited_source"],
        based_on_url=hints["based_on_url"],
        text=text,
        word_count=words,
        content_hash=content_hash(text),
        # found by their markup: embedded posts, then cross-link lines
        markup_removed=(*embeds, *crosslinked),
        signals=signals.to_dict(),
    )


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


def day_month_swapped(read: datetime, stated: datetime) -> bool:
    """Whether the date read from the page's text is the machine-readable one with day and month
    swapped: a visible "11/01/2026" (US: November 1) read as 11 January. The ISO timestamp of
    the markup is unambiguous, so it wins."""
    return (read.year, read.month, read.day) == (stated.year, stated.day, stated.month) and (
        stated.day != stated.month
    )


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


def is_html(content_type: str | None) -> bool:
    """Whether a page is extracted at all: the crawl and `make reprocess` ask the same."""
    return content_type is None or "html" in content_type.lower()


def process_page(body: bytes, content_type: str | None, url: str, hint: str | None) -> Extraction:
    """Extract one page in a worker process; errors are returned, not raised.

    The crawl and `make reprocess` both call this with the stored body and Content-Type, so a
    page is decoded (pipelines/core/decode.py) and classified the same way by both.
    """
    try:
        if len(body) > _MAX_HTML_BYTES:
            return Extraction.failed("too-large")
        if looks_binary(body):
            return Extraction.failed("binary")
        return extract_html(decode_html(body, content_type), url, hint)
    except Exception as exc:  # one broken page must not stop the crawl; it is counted
        return Extraction.failed("error", f"{type(exc).__name__}: {exc}")


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
