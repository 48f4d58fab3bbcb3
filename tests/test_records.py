"""The records of a run (pipelines/core/records.py): the extraction and the documents row."""

from __future__ import annotations

import gzip
import pickle
from datetime import UTC, datetime
from pathlib import Path

from pipelines.core.extract import make_pool, process_page
from pipelines.core.records import Extraction, document_row, is_new_version

REALPAGES = Path(__file__).parent / "realpages"


def test_a_failed_extraction_is_no_article_and_says_why() -> None:
    x = Extraction.failed("timeout", "extraction timed out")
    assert not x.is_article and x.article_reason == "timeout" and x.error
    assert x.text == "" and x.content_hash is None and x.markup_removed == ()
    assert process_page(b"\x00\x01\x02" * 1000, None, "http://a.test/x", None).article_reason == (
        "binary"
    )
    empty = process_page(b"   ", "text/html", "http://a.test/x", None)
    assert empty == Extraction.failed("empty")


def test_a_real_page_crosses_the_process_pool_as_it_was() -> None:
    """The worker's record arrives whole (pickled), with the extractor's text and its hash."""
    page = sorted((REALPAGES / "html").glob("*.gz"))[0]
    body = gzip.decompress(page.read_bytes())
    here = process_page(body, None, "https://news.test/a", None)
    pool = make_pool(1)
    try:
        there = pool.submit(process_page, body, None, "https://news.test/a", None).result()
    finally:
        pool.shutdown()
    assert there == here and pickle.loads(pickle.dumps(here)) == here
    assert here.text and here.word_count == len(here.text.split()) and here.content_hash


def test_the_documents_row_comes_from_the_extraction() -> None:
    x = Extraction(
        is_article=True,
        article_reason="shape",
        text="Body text.",
        title="A title",
        canonical_url="https://other.test/a",
        canonical_off_site=True,
        markup_removed=("embed: https://www.youtube.com/embed/xyz",),
        content_hash="h1",
    )
    at = datetime(2026, 1, 1, tzinfo=UTC)
    row = document_row("https://News.test/a", at, x, "d1", "run-1", "cfg")
    assert (
        row["domain"] == "news.test" and row["title"] == "A title" and row["text"] == "Body text."
    )
    assert row["canonical_off_site"] and row["furniture_removed"] == [x.markup_removed[0]]
    assert row["content_hash"] is None  # hashed after cleaning, at the end of the run
    assert is_new_version(None, "h1") and not is_new_version({"extract_hash": "h1"}, "h1")
    assert is_new_version({"extract_hash": "h0"}, "h1")
    assert x.to_dict()["markup_removed"] == x.markup_removed
