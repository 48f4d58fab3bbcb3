"""Text normalisation and word shingling for fingerprints (version 1).

Copies of one article differ in ways that say nothing about their content: typographic quotes
against straight ones, en dashes against hyphens, full-width or ligature characters, soft hyphens
from a CMS, letter case, punctuation spacing and line breaks. ``normalise`` removes those
differences so they do not break shingles; it keeps everything that distinguishes two texts.

Rules, in order (any change must bump ``GroupingConfig.normalisation_version``):

1. Unicode NFKC (ligatures, full-width and compatibility forms to their plain letters).
2. Delete invisible format characters that split words (soft hyphen, zero-width space and joiners,
   word joiner, byte-order mark).
3. Casefold (a stronger ``lower`` that also folds e.g. German sharp s).
4. Unify quotes and apostrophes to ``'`` / ``"``, hyphens, en dashes and minus signs to ``-``;
   em dashes become spaces (they separate words, often with no space around them).
5. Keep words: runs of letters, digits and underscores, joined by one of ``' - . , : / @ &``
   only when that mark sits between two word characters (``don't``, ``well-known``, ``3.5``,
   ``1,000``, ``10:30``, ``AT&T``). Every other mark is dropped.
6. Join the words with single spaces.

The result is idempotent: ``normalise(normalise(t)) == normalise(t)``.

Most text is ASCII once quotes and dashes are unified, and the word regex was most of the cost
(about 25 us per 1,000 characters). ASCII text takes a byte-level path instead (a translation
table and numpy masks, about 5x faster) that gives exactly the regex's words; the tests compare
both paths on generated and edge-case texts.
"""

from __future__ import annotations

import functools
import itertools
import re
import sys
import unicodedata
from collections.abc import Sequence

import numpy as np

NORMALISATION_VERSION = 1

_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u200c\u200d\u2060\ufeff"))
_QUOTES_AND_DASHES = str.maketrans(
    {
        **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u02bc`\u00b4", "'"),
        **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb", '"'),
        **dict.fromkeys("\u2010\u2011\u2012\u2013\u2212\ufe63", "-"),
        # An em dash often joins two words without spaces ("said\u2014and"): a break, not a hyphen.
        **dict.fromkeys("\u2014\u2015\ufe58", " "),
    }
)


# Unicode assigns combining marks in the Basic and Supplementary Multilingual Planes and in
# plane 14 (variation selectors); the other planes hold ideographs or private use only.
# tests/test_textnorm.py checks this against a scan of the whole code space.
MARK_PLANES = (0, 1, 14)


def _combining_marks_class(planes: tuple[int, ...] = MARK_PLANES) -> str:
    """Regex class body of every combining mark (categories Mn, Mc, Me) in ``planes``.

    ``re``'s ``\\w`` misses combining marks, which would split words in Devanagari, Thai or
    decomposed Latin at every vowel sign or accent. The standard library has no ``\\p{M}``, so
    the code points are scanned once at import: 0.03 s for the three planes that hold marks
    (0.2 s for the whole code space, paid by every process that imports this module).
    """
    ranges: list[str] = []
    for plane in planes:
        start = None
        first, end = plane << 16, min((plane + 1) << 16, sys.maxunicode + 1)
        for cp in range(first, end + 1):  # one past the end closes an open range
            is_mark = cp < end and unicodedata.category(chr(cp)).startswith("M")
            if is_mark and start is None:
                start = cp
            elif not is_mark and start is not None:
                ranges.append(f"{re.escape(chr(start))}-{re.escape(chr(cp - 1))}")
                start = None
    return "".join(ranges)


_MARKS = _combining_marks_class()
_WORD_WITH_MARKS = re.compile(rf"[\w{_MARKS}]+(?:[-'.,:/@&][\w{_MARKS}]+)*")
# The same pattern without marks is about 3x faster; it is used when the text has no marks.
_WORD = re.compile(r"\w+(?:[-'.,:/@&]\w+)*")

# The word patterns that also take each line break (``normalise_lines``).
_WORD_OR_BREAK = re.compile(rf"{_WORD.pattern}|\n")
_WORD_OR_BREAK_WITH_MARKS = re.compile(rf"{_WORD_WITH_MARKS.pattern}|\n")


def _has_marks(text: str) -> bool:
    if text.isascii():
        return False
    return any(unicodedata.category(ch)[0] == "M" for ch in set(text) if ord(ch) > 0x2FF)


_JOINERS = "-'.,:/@&"
_WORD_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789_"


def _ascii_tables() -> tuple[bytes, np.ndarray]:
    """Byte translation for ASCII text and a word-character mask of its output.

    The translation applies rules 3-4 to ASCII (lower case; the backtick is the only ASCII quote
    to unify) and turns every character that is neither a word character nor a joining mark
    into a space. NFKC and the invisible characters of rules 1-2 leave ASCII unchanged.
    """
    table = bytearray(range(256))
    is_word = np.zeros(256, dtype=bool)
    for code in range(128):
        ch = chr(code).lower()
        if ch in _WORD_CHARS:
            table[code] = ord(ch)
            is_word[ord(ch)] = True
        elif ch == "`":
            table[code] = ord("'")
        elif ch not in _JOINERS:
            table[code] = ord(" ")
    return bytes(table), is_word


_ASCII_TABLE, _ASCII_IS_WORD = _ascii_tables()
_ASCII_TABLE_BREAKS = _ASCII_TABLE[:10] + b"\n" + _ASCII_TABLE[11:]
_SPACE = np.uint8(ord(" "))
_NEWLINE = np.uint8(ord("\n"))


def _normalise_ascii(text: str, breaks: bool = False) -> str:
    """``normalise`` of ASCII text without the regex: the same words, about 5x faster.

    A joining mark survives only between two word characters, exactly where the word regex
    would take it into a word; every other non-word byte separates words and each run of them
    becomes one space. With ``breaks``, each line break is kept (``normalise_lines``).
    """
    table = _ASCII_TABLE_BREAKS if breaks else _ASCII_TABLE
    data = np.frombuffer(text.encode("ascii").translate(table), dtype=np.uint8)
    word = _ASCII_IS_WORD.take(data)
    sep = ~word
    sep[1:-1] &= ~(word[:-2] & word[2:])
    keep = ~sep  # word characters, joining marks, and the first separator after each of them
    if breaks:
        newline = data == _NEWLINE
        keep |= newline
        sep &= ~newline
    keep[1:] |= keep[:-1].copy()
    out = data.copy()
    out[sep] = _SPACE
    return out[keep].tobytes().strip(b" ").decode("ascii")


# Below this length the regex is faster than the numpy masks, whose cost is mostly per call:
# a line of under 100 characters (most lines the furniture model keys) took 5 us against 12 us.
_SHORT = 200


def normalise(text: str) -> str:
    """Normalised form of ``text`` (see the module docstring for the rules)."""
    if len(text) < _SHORT:
        return _normalise_regex(_prepare(text))
    return _normalise_long(text)


def _normalise_long(text: str, breaks: bool = False) -> str:
    """The numpy paths: ASCII bytes when the text is (or becomes) ASCII, else code points."""
    if text.isascii():
        return _normalise_ascii(text, breaks)
    text = _prepare(text)
    if text.isascii():  # typographic quotes and dashes were the only non-ASCII characters
        return _normalise_ascii(text, breaks)
    return _normalise_bmp(text, breaks)


# ``str.translate`` with a dict looks every character up in it: about 90 ns a character on
# non-ASCII text, most of the cost of normalising real prose. ``str.replace`` of the few
# characters that occur (each found by a C scan) gives the same text about 10x faster.
_INVISIBLE_CHARS = tuple(map(chr, _INVISIBLE))
_QUOTES_AND_DASHES_PAIRS = tuple((chr(c), v) for c, v in _QUOTES_AND_DASHES.items())


def _prepare(text: str) -> str:
    """Rules 1-4: NFKC, invisible characters deleted, casefold, quotes and dashes unified."""
    if not unicodedata.is_normalized("NFKC", text):  # the check is about 5x cheaper
        text = unicodedata.normalize("NFKC", text)
    for ch in _INVISIBLE_CHARS:
        if ch in text:
            text = text.replace(ch, "")
    text = text.casefold()
    for ch, to in _QUOTES_AND_DASHES_PAIRS:
        if ch in text:
            text = text.replace(ch, to)
    return text


def _bmp_word_table() -> np.ndarray:
    """Which code points of the Basic Multilingual Plane are word characters of the regexes.

    ``\\w`` or a combining mark: the characters of ``_WORD_WITH_MARKS``. ``_WORD`` differs from
    it only on marks, and it is used only for text without any, so one table serves both.
    """
    plane = "".join(map(chr, range(0x10000)))
    table = np.zeros(0x10000, dtype=bool)
    table[[m.start() for m in re.finditer(rf"[\w{_MARKS}]", plane)]] = True
    return table


_BMP_IS_WORD = _bmp_word_table()
_JOINER_CODES = np.zeros(0x10000, dtype=bool)
_JOINER_CODES[[ord(c) for c in _JOINERS]] = True
_SPACE32 = np.uint32(ord(" "))
_NEWLINE32 = np.uint32(ord("\n"))


def _normalise_bmp(prepared: str, breaks: bool = False) -> str:
    """Rules 5-6 with the byte path's masks on code points: the regex's words, faster.

    Characters beyond the Basic Multilingual Plane (rare: emoji, historic scripts) are looked
    up one distinct code point at a time against the regex's own class. With ``breaks``, each
    line break is kept (``normalise_lines``).
    """
    try:
        data = np.frombuffer(prepared.encode("utf-32-le"), dtype=np.uint32)
    except UnicodeEncodeError:  # a lone surrogate
        return _normalise_regex(prepared, breaks)
    if data.size == 0:
        return ""
    astral = np.flatnonzero(data > 0xFFFF)
    low = data
    if astral.size:
        low = data.copy()
        low[astral] = 0  # a control character: neither a word character nor a joining mark
    word = _BMP_IS_WORD.take(low)
    if astral.size:
        word[astral] = [_astral_is_word(c) for c in data[astral].tolist()]
    sep = ~word
    # A joining mark survives only between two word characters; anything else separates.
    inner = sep[1:-1] & _JOINER_CODES.take(low[1:-1]) & word[:-2] & word[2:]
    sep[1:-1] &= ~inner
    keep = ~sep
    if breaks:
        newline = data == _NEWLINE32
        keep |= newline
        sep &= ~newline
    keep[1:] |= keep[:-1].copy()
    out = data.copy()
    out[sep] = _SPACE32
    return out[keep].tobytes().decode("utf-32-le").strip(" ")


_WORD_CHAR_WITH_MARKS = re.compile(rf"[\w{_MARKS}]")


@functools.lru_cache(maxsize=4096)
def _astral_is_word(code: int) -> bool:
    """Whether a code point beyond the BMP is a word character of ``_WORD_WITH_MARKS``."""
    return _WORD_CHAR_WITH_MARKS.match(chr(code)) is not None


def _normalise_regex(prepared: str, breaks: bool = False) -> str:
    """Rules 5-6 on text that has been through rules 1-4: the general (any script) path.
    With ``breaks``, each line break is kept as a word of its own (``normalise_lines``)."""
    marks = _has_marks(prepared)
    if breaks:
        pattern = _WORD_OR_BREAK_WITH_MARKS if marks else _WORD_OR_BREAK
    else:
        pattern = _WORD_WITH_MARKS if marks else _WORD
    return " ".join(pattern.findall(prepared))


def normalise_lines(lines: Sequence[str]) -> list[str]:
    """``[normalise(line) for line in lines]``, normalising the lines as one text.

    No rule lets a word run across a line break, and rules 1-4 map a line break to itself (NFKC
    composes nothing across it), so the words of the joined text, cut at its line breaks, are
    each line's words. One pass over a page's text (the numpy paths, line breaks kept) costs
    about half of one call per line, most of whose cost is fixed per call; the lines are routed
    by kind as ``normalise_pages`` routes them (NFKC only on the lines that need it). No line
    may hold a line break itself.
    """
    return _normalise_flat(list(lines)) if lines else []


def normalise_pages(pages: Sequence[Sequence[str]]) -> list[list[str]]:
    """``[normalise_lines(page) for page in pages]``, all pages' lines in a few calls.

    Any grouping of lines gives each line's words (``normalise_lines``), so the lines are
    routed by what they are, not by page: the ASCII lines (and those that become ASCII once
    rules 1-4 unify their quotes and dashes) take the byte path together, the others the
    code-point path together. Rules 1-4 run over all the non-ASCII lines at once (NFKC only on
    the lines that need it). Real prose mostly holds a typographic quote or an accented name
    somewhere; page by page, about 2 us a line went to calls and routing. Callers bound the
    batch (its text is joined into one string).
    """
    flat = list(itertools.chain.from_iterable(pages))
    if not flat:
        return [[] for _ in pages]
    forms = _normalise_flat(flat)
    it = iter(forms)
    return [list(itertools.islice(it, len(page))) for page in pages]


# Below this many characters, non-ASCII lines are normalised as one text (``_normalise_long``):
# three short lines took 31 us routed against 13 us; a page of real prose (3,000 characters)
# about the same either way.
_ROUTED = 4096


def _normalise_flat(lines: list[str]) -> list[str]:
    """``normalise_lines(lines)`` with the lines routed by kind (``normalise_pages``)."""
    text = "\n".join(lines)
    if text.count("\n") != len(lines) - 1:
        raise ValueError("normalise_lines: a line holds a line break")
    from pipelines.core import kernels

    if kernels.enabled():  # most lines in one compiled pass, the rest as below
        forms, _ = kernels.normalise_lines(lines)
        left = [i for i, form in enumerate(forms) if form is None]
        if left:
            rest = _normalise_flat_python([lines[i] for i in left])
            for i, form in zip(left, rest, strict=True):
                forms[i] = form
        return forms  # type: ignore[return-value]
    return _normalise_flat_python(lines)


def _normalise_flat_python(lines: list[str]) -> list[str]:
    """``_normalise_flat`` without the kernel: the definition it must equal."""
    text = "\n".join(lines)
    if text.isascii():
        return _split_forms(_normalise_ascii(text, breaks=True))
    if len(text) < _ROUTED:  # one page's few lines: the routing costs more than it saves
        return _split_forms(_normalise_long(text, breaks=True))
    n = len(lines)
    is_ascii = np.fromiter(map(str.isascii, lines), dtype=bool, count=n)
    wide = np.flatnonzero(~is_ascii)
    prepared = _prepare_lines([lines[i] for i in wide.tolist()])
    now_ascii = np.fromiter(map(str.isascii, prepared), dtype=bool, count=len(prepared))
    out = np.empty(n, dtype=object)
    # The lines still beyond ASCII, together: the code-point path.
    other_at = wide[~now_ascii]
    if other_at.size:
        other = itertools.compress(prepared, (~now_ascii).tolist())
        out[other_at] = _split_forms(_normalise_bmp("\n".join(other), breaks=True))
    byte_at = np.concatenate([np.flatnonzero(is_ascii), wide[now_ascii]])
    if byte_at.size:
        byte_lines = itertools.chain(
            itertools.compress(lines, is_ascii.tolist()),
            itertools.compress(prepared, now_ascii.tolist()),
        )
        out[byte_at] = _split_forms(_normalise_ascii("\n".join(byte_lines), breaks=True))
    return out.tolist()


def _split_forms(text: str) -> list[str]:
    """The lines of a text the numpy paths normalised with its line breaks kept, each stripped
    of the space a run of separators at its either end became."""
    return [part.strip(" ") for part in text.split("\n")]


def _prepare_lines(lines: Sequence[str]) -> list[str]:
    """``[_prepare(line) for line in lines]``: rules 2-4 over the joined lines at once (no rule
    maps a character to or from a line break), NFKC line by line where a line needs it."""
    if not unicodedata.is_normalized("NFKC", text := "\n".join(lines)):
        text = "\n".join(
            ln if unicodedata.is_normalized("NFKC", ln) else unicodedata.normalize("NFKC", ln)
            for ln in lines
        )
    for ch in _INVISIBLE_CHARS:
        if ch in text:
            text = text.replace(ch, "")
    text = text.casefold()
    for ch, to in _QUOTES_AND_DASHES_PAIRS:
        if ch in text:
            text = text.replace(ch, to)
    return text.split("\n")


def tokens(text: str) -> list[str]:
    """Words of ``normalise(text)``."""
    return normalise(text).split()


def shingles(words: list[str], k: int) -> list[str]:
    """Word k-shingles of ``words`` in order, duplicates kept, each joined by one space.

    A document shorter than ``k`` words gives one shingle of all its words, so short texts still
    get a signature; an empty one gives none.
    """
    if k < 1:
        raise ValueError(f"shingle size must be >= 1, got {k}")
    if not words:
        return []
    if len(words) <= k:
        return [" ".join(words)]
    return [" ".join(words[i : i + k]) for i in range(len(words) - k + 1)]
