"""What a copy changed against its cluster's origin, sentence by sentence (plain functions).

A text is split into paragraphs (its lines) and each paragraph into sentences at a full stop,
question or exclamation mark followed by a space and a capital, a digit or an opening quote.
Two sentences are the same when their normalised forms are equal (pipelines.core.textnorm:
case, accents, punctuation and spacing do not count), so a copy that only re-types the quotes
changes nothing, and a sentence with one word changed is one sentence removed and one added.

`copy_change` gives the `copy_changes` row of one copy: the sentences it added and removed, the
share of the origin's words it kept (by whole sentences) and its relation: ``excerpt`` when it
kept less than `EXCERPT_KEPT` of the origin's text and nearly all its own text comes from the
origin (at least `EXCERPT_OWN_FROM_ORIGIN` of its words), ``duplicate`` otherwise.
"""

from __future__ import annotations

import re
from typing import Any

from pipelines.core.textnorm import normalise

EXCERPT_KEPT = 0.8
EXCERPT_OWN_FROM_ORIGIN = 0.8

# The end of a sentence: . ! ? or an ellipsis, maybe a closing quote or bracket, then a space
# and something a sentence starts with. "Mr. Smith" splits too; both halves then compare as
# they are, which is the same on both sides of a comparison.
_SENTENCE_END = re.compile(
    r"(?<=[.!?\u2026])[\"'\u201d\u2019)\]]*\s+(?=[\"'\u201c\u2018(\[]?[A-Z0-9\u00c0-\u00de])"
)


def sentences(text: str) -> list[str]:
    """The sentences of `text` in order, stripped, empty ones left out."""
    out: list[str] = []
    for paragraph in text.splitlines():
        for part in _SENTENCE_END.split(paragraph.strip()):
            part = part.strip()
            if part:
                out.append(part)
    return out


def _keyed(text: str) -> dict[str, str]:
    """normalised sentence -> its first form in `text` (sentences that normalise to nothing,
    a lone dash or bullet, are left out)."""
    out: dict[str, str] = {}
    for sentence in sentences(text):
        key = normalise(sentence)
        if key and key not in out:
            out[key] = sentence
    return out


def _words(key: str) -> int:
    return len(key.split())


def same_headline(a: str | None, b: str | None) -> bool | None:
    """Whether two headlines are the same once normalised; None when either is missing."""
    if not a or not b:
        return None
    return normalise(a) == normalise(b)


def copy_change(origin_text: str, copy_text: str) -> dict[str, Any]:
    """How `copy_text` differs from `origin_text`: sentences_added / sentences_removed (in the
    order of the text they come from), share_kept (the share of the origin's words in sentences
    the copy kept, 0..1) and relation (excerpt or duplicate, see the module docstring)."""
    origin = _keyed(origin_text)
    copy = _keyed(copy_text)
    origin_words = sum(_words(k) for k in origin)
    copy_words = sum(_words(k) for k in copy)
    kept_words = sum(_words(k) for k in origin if k in copy)
    share_kept = kept_words / origin_words if origin_words else (1.0 if not copy else 0.0)
    own_from_origin = kept_words / copy_words if copy_words else 1.0
    excerpt = share_kept < EXCERPT_KEPT and own_from_origin >= EXCERPT_OWN_FROM_ORIGIN
    return {
        "sentences_added": [s for k, s in copy.items() if k not in origin],
        "sentences_removed": [s for k, s in origin.items() if k not in copy],
        "share_kept": share_kept,
        "relation": "excerpt" if excerpt else "duplicate",
    }
