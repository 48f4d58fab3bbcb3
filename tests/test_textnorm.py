"""Normalisation and shingling rules (pipelines.core.textnorm)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from demoweb.web import DemoWeb
from pipelines.core.textnorm import (
    _normalise_ascii,
    _normalise_bmp,
    _normalise_regex,
    _prepare,
    normalise,
    normalise_lines,
    normalise_pages,
    shingles,
    tokens,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello,   World!\n\nNew  line.", "hello world new line"),
        ("\u201cDon\u2019t,\u201d she said \u2014 twice.", "don't she said twice"),
        ("well\u2011known and well-known", "well-known and well-known"),
        ("a \u2013 b", "a b"),
        ("It rose 3.5% to 1,000 at 10:30.", "it rose 3.5 to 1,000 at 10:30"),
        ("AT&T and e-mail: user@example.test", "at&t and e-mail user@example.test"),
        ("U.S. officials (e.g. him)", "u.s officials e.g him"),
        ("\ufb01nal \uff26\uff55\uff4c\uff4c", "final full"),  # ligature, full-width
        ("co\u00adoperate zero\u200bwidth", "cooperate zerowidth"),  # soft hyphen, ZWSP
        ("STRASSE Stra\u00dfe", "strasse strasse"),
        ("caf\u0065\u0301 caf\u00e9", "caf\u00e9 caf\u00e9"),  # decomposed and composed
        ("\u0928\u092e\u0938\u094d\u0924\u0947 \u0926\u0941\u0928\u093f\u092f\u093e", None),
        ("'quoted' \"twice\" ...and -dash- --", "quoted twice and dash"),
        ("", ""),
        ("  \n\t ", ""),
        ("!!! ??? ---", ""),
    ],
)
def test_normalise_cases(text, expected):
    if expected is None:  # Devanagari: vowel signs are combining marks and must not split words
        expected = text
    assert normalise(text) == expected


def test_normalise_is_idempotent():
    samples = [
        "\u201cIt\u2019s 3.5\u00a0%,\u201d said \u0130stanbul\u2019s mayor \u2014 AT&T\u2026",
        "Stra\u00dfe \ufb01 \u00bd \u2460 x\u00b2",
        "\u0928\u092e\u0938\u094d\u0924\u0947, \u0926\u0941\u0928\u093f\u092f\u093e!",
    ]
    for text in samples:
        once = normalise(text)
        assert normalise(once) == once


def test_copies_with_different_typography_normalise_equal():
    a = "\u201cWe will rebuild,\u201d the mayor said\u2014and the crowd cheered.\n"
    b = '"We   will rebuild," the MAYOR said - and the crowd cheered.'
    assert normalise(a) == normalise(b)


def test_tokens():
    assert tokens("Read more: the city\u2019s plan.") == ["read", "more", "the", "city's", "plan"]
    assert tokens("") == []


def test_shingles_in_order_with_duplicates():
    words = "a b c a b c".split()
    assert shingles(words, 3) == ["a b c", "b c a", "c a b", "a b c"]
    assert shingles(words, 1) == words


def test_short_and_empty_documents():
    assert shingles(["only", "two"], 3) == ["only two"]
    assert shingles(["three", "words", "exactly"], 3) == ["three words exactly"]
    assert shingles([], 3) == []


def test_shingle_size_must_be_positive():
    with pytest.raises(ValueError, match="shingle size must be >= 1"):
        shingles(["a"], 0)


def _soup(rng: np.random.Generator, n: int, alphabet: str) -> list[str]:
    """Random strings over ``alphabet`` with short runs, so marks meet words in every way."""
    chars = np.array(list(alphabet))
    return ["".join(rng.choice(chars, size=int(rng.integers(0, 60)))) for _ in range(n)]


def test_ascii_fast_path_gives_the_regex_words():
    """The byte-level path must give exactly the general path's words on any ASCII text."""
    rng = np.random.default_rng(11)
    web = DemoWeb(seed=3, sites=12, stories=30)
    demo = [r["clean_text"] for r in web.truth_rows() if r["page_kind"] == "article"]
    ascii_all = "".join(map(chr, range(128)))
    texts = [
        *demo,
        *_soup(rng, 3000, ascii_all),
        *_soup(rng, 3000, "aZ9_ -'.,:/@&`\t\n"),  # words, joining marks, backtick, whitespace
        *_soup(rng, 1000, "ab-."),
        "",
        " ",
        "a",
        ".",
        "-a-",
        "a.-b",
        "a..b",
        "x. y",
        "'quoted' `back` \"q\"",
        "A&B&&C",
    ]
    assert len(demo) > 50 and all(t.isascii() for t in texts)
    for text in texts:
        assert _normalise_ascii(text) == _normalise_regex(_prepare(text)), repr(text)
        assert normalise(text) == _normalise_regex(_prepare(text)), repr(text)


def test_text_that_becomes_ascii_takes_the_fast_path_with_the_same_words():
    rng = np.random.default_rng(12)
    # Typographic quotes, dashes, no-break and soft hyphens vanish into ASCII under rules 1-4.
    texts = _soup(rng, 2000, "ab .-'\u2019\u201c\u2013\u2014\u00a0\u00ad\ufb01A")
    for text in texts:
        prepared = _prepare(text)
        assert normalise(text) == _normalise_regex(prepared), repr(text)
        if prepared.isascii():
            assert _normalise_ascii(prepared) == _normalise_regex(prepared), repr(text)
    assert sum(_prepare(t).isascii() and not t.isascii() for t in texts) > 1000


def test_code_point_path_gives_the_regex_words_on_any_script():
    """Non-ASCII text takes the code-point masks; they must give exactly the regex's words."""
    rng = np.random.default_rng(13)
    scripts = (
        "ab -'.,:/@&_\u00e9\u00fc\u00df\u0301\u0308\u0915\u093f\u094d\u0e01\u0e31"
        "\u65e5\u672c\u00b2\u00bd\u0663\u2167\u00a0\u2019\u201c\u2014!?\u00a3\u2022"
        # beyond the BMP: an emoji, a Deseret letter (a word character), a variation selector
        # of plane 14 (a mark)
        "\U0001f600\U00010400\U000e0100"
    )
    texts = [
        *_soup(rng, 4000, scripts),
        *_soup(rng, 500, "a\u0301 .-"),  # marks next to words, joiners and spaces
        "caf\u00e9 na\u00efve \u2014 \u00a3120,000 \u2022 r\u00e9sum\u00e9s",
        "\u0928\u092e\u0938\u094d\u0924\u0947 \u0926\u0941\u0928\u093f\u092f\u093e",
        "emoji \U0001f600 and \U00020000 beyond the plane",
    ]
    texts += [" ".join(texts[i : i + 40]) for i in range(0, 800, 40)]  # long: the masks path
    for text in texts:
        prepared = _prepare(text)
        assert normalise(text) == _normalise_regex(prepared), repr(text)
        assert _normalise_bmp(prepared) == _normalise_regex(prepared), repr(text)
    assert sum(not _prepare(t).isascii() for t in texts) > 3000


def test_combining_marks_class_covers_every_plane_with_marks() -> None:
    """Import scans only MARK_PLANES; a scan of the whole code space finds nothing more."""
    import sys

    from pipelines.core.textnorm import _MARKS, _combining_marks_class

    every_plane = tuple(range((sys.maxunicode >> 16) + 1))
    assert _combining_marks_class(every_plane) == _MARKS
    marks = re.compile(f"[{_MARKS}]")
    assert marks.fullmatch("\u0301") and marks.fullmatch("\U000e0100")  # accent, selector
    assert not marks.fullmatch("a") and not marks.fullmatch("\u0928")  # a letter, a consonant


def test_normalise_lines_gives_each_lines_normalise() -> None:
    """One pass over a page's lines is a speed-up only: on random lines of word characters,
    joining marks, invisible and combining characters, typographic quotes, ligatures,
    characters beyond the BMP and other breaks, and on the text lines of the committed real
    pages, each output line is ``normalise`` of its input line."""
    import gzip
    import random
    from pathlib import Path

    import lxml.html

    from pipelines.core.furniture import split_lines

    rng = random.Random(7)
    alphabet = list(
        "aZ9 _-'.,:/@&\t\u00e9\u0301\u00ad\u200b\u2019\u201c\u2014\ufb01\u00df\u0130"
        "\u1100\u1161\U0001f600\U00010400\U000e0100\u2028\u0085\u00a0"
    )
    pages = [
        ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14))) for _ in range(n)]
        for n in (rng.randint(1, 6) for _ in range(5000))
    ]
    for path in sorted((Path(__file__).parent / "realpages" / "html").glob("*.html.gz")):
        doc = lxml.html.fromstring(gzip.open(path).read())
        pages.append(split_lines(doc.text_content()))
    pages.append(["x" * 300 + "\u2019s", "", "plain ascii line that is long " * 10])
    for lines in pages:
        assert normalise_lines(lines) == [normalise(line) for line in lines], lines
    assert normalise_lines([]) == []
    # Many pages at once (their ASCII lines in one call): each page's normalise_lines.
    want = [[normalise(line) for line in lines] for lines in pages]
    assert normalise_pages(pages) == want
    assert normalise_pages(pages[::-1] + [[]]) == want[::-1] + [[]]
    with pytest.raises(ValueError, match="line break"):
        normalise_lines(["two\nlines"])


def test_a_lone_surrogate_is_dropped_not_a_crash() -> None:
    """A lone surrogate (a string from a broken decoder) is no word character: every path drops
    it (the code-point path cannot encode it and hands the text to the regex)."""
    long_text = "\ud800 caf\u00e9 " + "word " * 60
    assert normalise(long_text) == _normalise_regex(_prepare(long_text))
    assert normalise(long_text).startswith("caf\u00e9 word")
    assert normalise_pages([["\ud800 a", "b\u2019c"], ["d\ud800e"]]) == [["a", "b'c"], ["d e"]]
