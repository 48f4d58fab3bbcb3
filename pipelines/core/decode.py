"""Bytes of a fetched page -> the text a browser would show (plain functions, no Scrapy).

One function for the crawl and for `make reprocess`, so both read a page the same way. The
order is HTML5's encoding sniffing: a byte-order mark, the Content-Type charset, a `<meta>`
charset in the first bytes, then (where HTML5 allows "frequency analysis") UTF-8 when the bytes
are valid UTF-8, and windows-1252 otherwise, the default of browsers in Western locales.
Scrapy alone guesses with charset_normalizer, which read a windows-1252 page as cp1250
("naïve" became "naďve"). Labels map as the WHATWG Encoding standard says (iso-8859-1 and
ascii are windows-1252). A page labelled UTF-8 whose bytes are not UTF-8 is read as
windows-1252 (the usual mislabelling) rather than full of U+FFFD.
"""

from __future__ import annotations

import re

from w3lib.encoding import (
    html_body_declared_encoding,
    http_content_type_encoding,
    read_bom,
    resolve_encoding,
)

FALLBACK = "cp1252"
# Characters lxml refuses in a str (NUL and the C0 controls but tab, newline, return).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# `<?xml version="1.0" encoding="..."?>`: lxml.html.fromstring(str) raises ValueError on a str
# that declares an encoding (0.7% of a public set of 990 real pages begin with one).
_XML_DECLARATION = re.compile(rb"^\s*<\?xml[^>]*\?>", re.I)


def sniff_encoding(body: bytes, content_type: str | None) -> str:
    """The Python codec name to decode ``body`` with (see the module docstring)."""
    bom, _ = read_bom(body)
    if bom:
        return bom
    declared = None
    if content_type:
        declared = http_content_type_encoding(content_type)
    if declared is None:
        declared = html_body_declared_encoding(body[:4096])
        declared = resolve_encoding(declared) if declared else None
    if declared == "utf-8" or declared is None:
        try:
            body.decode("utf-8")
            return "utf-8"
        except UnicodeDecodeError:
            return FALLBACK
    return declared


def decode_html(body: bytes, content_type: str | None) -> str:
    """The page as text: sniffed encoding, no XML declaration, no NUL or control characters."""
    body = _XML_DECLARATION.sub(b"", body, count=1)
    encoding = sniff_encoding(body, content_type)
    try:
        text = body.decode(encoding, errors="replace")
    except LookupError:  # a charset name Python does not know
        text = body.decode(FALLBACK, errors="replace")
    text = text.removeprefix("\ufeff")
    return _CONTROL.sub("", text)


def looks_binary(body: bytes) -> bool:
    """True for a body that is not text at all (an image or archive served as text/html)."""
    head = body[:2048]
    if not head:
        return False
    if head.startswith((b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"PK\x03\x04", b"%PDF", b"\x1f\x8b")):
        return True
    controls = sum(1 for b in head if b < 9 or 13 < b < 32)
    return controls / len(head) > 0.1
