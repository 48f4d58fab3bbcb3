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
"""

from __future__ import annotations

import re
import sys
import unicodedata

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


def _combining_marks_class() -> str:
    """Regex class body of every combining mark (categories Mn, Mc, Me).

    ``re``'s ``\\w`` misses combining marks, which would split words in Devanagari, Thai or
    decomposed Latin at every vowel sign or accent. Scanning the code space once costs about
    0.2 s at import; the standard library has no ``\\p{M}``.
    """
    ranges: list[str] = []
    start = None
    for cp in range(sys.maxunicode + 2):
        is_mark = cp <= sys.maxunicode and unicodedata.category(chr(cp)).startswith("M")
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


def _has_marks(text: str) -> bool:
    if text.isascii():
        return False
    return any(unicodedata.category(ch)[0] == "M" for ch in set(text) if ord(ch) > 0x2FF)


def normalise(text: str) -> str:
    """Normalised form of ``text`` (see the module docstring for the rules)."""
    text = unicodedata.normalize("NFKC", text).translate(_INVISIBLE).casefold()
    text = text.translate(_QUOTES_AND_DASHES)
    pattern = _WORD_WITH_MARKS if _has_marks(text) else _WORD
    return " ".join(pattern.findall(text))


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
