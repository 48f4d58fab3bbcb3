"""Canonical URLs: the same page gets the same doc_id, different pages never share one."""

from __future__ import annotations

import hashlib

import pytest

from pipelines.core.urls import canonical_doc_id, canonicalise_url


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("HTTP://Harbor.TEST/News/A-1", "http://harbor.test/News/A-1"),
        ("http://harbor.test:80/a", "http://harbor.test/a"),
        ("https://harbor.test:443/a", "https://harbor.test/a"),
        ("http://harbor.test:8080/a", "http://harbor.test:8080/a"),
        ("https://harbor.test:80/a", "https://harbor.test:80/a"),
        ("http://harbor.test", "http://harbor.test/"),
        ("http://harbor.test./a#comments", "http://harbor.test/a"),
        ("http://user:pw@harbor.test/a", "http://harbor.test/a"),
        ("http://harbor.test/a?utm_source=rss&utm_Medium=feed&id=7", "http://harbor.test/a?id=7"),
        ("http://harbor.test/a?fbclid=x&GCLID=y&b=2&a=1", "http://harbor.test/a?a=1&b=2"),
        ("http://harbor.test/a?utm_campaign=z", "http://harbor.test/a"),
        ("http://harbor.test/a?b=&a=1", "http://harbor.test/a?a=1&b="),
        ("http://harbor.test/caf%c3%a9", "http://harbor.test/caf%C3%A9"),
        ("http://harbor.test/a/", "http://harbor.test/a/"),
        ("http://[::1]:80/a", "http://[::1]/a"),
    ],
)
def test_canonicalise(url: str, canonical: str) -> None:
    assert canonicalise_url(url) == canonical


def test_doc_id_is_16_hex_of_sha1_of_canonical_url() -> None:
    url = "http://harbor.test/news/a-1"
    assert canonical_doc_id(url) == hashlib.sha1(url.encode()).hexdigest()[:16]
    assert canonical_doc_id("HTTP://harbor.test:80/news/a-1?utm_source=x#top") == canonical_doc_id(
        url
    )


def test_distinct_pages_keep_distinct_ids() -> None:
    urls = [
        "http://harbor.test/a",
        "http://harbor.test/a/",
        "https://harbor.test/a",
        "http://harbor.test/A",
        "http://harbor.test/a?page=2",
        "http://www.harbor.test/a",
    ]
    assert len({canonical_doc_id(u) for u in urls}) == len(urls)


@pytest.mark.parametrize(
    "bad", ["/relative/path", "harbor.test/a", "", "http://harbor.test:99999/"]
)
def test_urls_without_scheme_or_host_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="cannot canonicalise"):
        canonicalise_url(bad)
