"""Bytes -> text as a browser would read them (pipelines/core/decode.py), and the fetch helpers."""

from __future__ import annotations

import pytest

from crawler.middlewares import retry_after_seconds
from crawler.sources import is_trap
from pipelines.core.decode import decode_html, looks_binary, sniff_encoding
from pipelines.core.urls import request_url

NAIVE = "naïve café €5 “quoted”"


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (NAIVE.encode("cp1252"), "text/html", "cp1252"),  # no charset anywhere: windows-1252
        (NAIVE.encode("utf-8"), "text/html", "utf-8"),  # no charset, valid UTF-8
        (NAIVE.encode("cp1252"), "text/html; charset=ISO-8859-1", "cp1252"),  # WHATWG label
        (b'<meta charset="koi8-r">' + "привет".encode("koi8-r"), None, "koi8-r"),
        (b"\xef\xbb\xbf" + NAIVE.encode("utf-8"), "text/html; charset=cp1252", "utf-8"),  # BOM
        (b'<meta charset="utf-8">' + NAIVE.encode("cp1252"), None, "cp1252"),  # mislabelled
        (b"plain ascii", None, "utf-8"),
    ],
)
def test_sniff_encoding(body: bytes, content_type: str | None, expected: str) -> None:
    assert sniff_encoding(body, content_type) == expected


def test_decode_html_reads_what_lxml_refuses() -> None:
    xhtml = b'<?xml version="1.0" encoding="utf-8"?>\n<html><body><p>caf\xc3\xa9</p></body></html>'
    assert decode_html(xhtml, "application/xhtml+xml").lstrip().startswith("<html>")
    assert decode_html(b"a\x00b\x07c\td", None) == "abc\td"
    assert decode_html(NAIVE.encode("cp1252"), "text/html; charset=bogus-charset") == NAIVE
    from lxml import html

    assert html.fromstring(decode_html(xhtml, None)).text_content() == "café"


def test_looks_binary() -> None:
    assert looks_binary(b"\x89PNG\r\n\x1a\n" + bytes(100))
    assert looks_binary(bytes(range(256)) * 4)
    assert not looks_binary("<html><body>Grüße</body></html>".encode())
    assert not looks_binary(b"")


def test_retry_after_seconds() -> None:
    assert retry_after_seconds(b"120") == 120.0
    assert retry_after_seconds(" 7 ") == 7.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412490.0) == 0.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_request_url_keeps_the_query_as_linked() -> None:
    assert request_url("http://h.test/q?b=2&a=1&utm_source=x#top") == "http://h.test/q?b=2&a=1"
    assert request_url("http://h.test/q?fbclid=1") == "http://h.test/q"
    assert request_url("http://h.test") == "http://h.test/"


@pytest.mark.parametrize(
    ("url", "trap"),
    [
        ("http://h.test/2026/12/01/a-story", False),
        ("http://h.test/a/b/a/b/a/", True),  # a segment three times: relative links looping
        ("http://h.test/" + "x/" * 26, True),
        ("http://h.test/?q=" + "x" * 2100, True),
        ("http://h.test/page/2/page/3", False),
    ],
)
def test_is_trap(url: str, trap: bool) -> None:
    assert is_trap(url) is trap
