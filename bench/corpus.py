"""Copy families without HTTP, cheap enough for a million documents.

Why not the demo web's own text: its prose comes from sentence templates, so unrelated stories
share many word 3-shingles. Grouped at scale that makes chance LSH candidates grow with the
corpus: measured with ``DemoWeb(stories=...).page_content`` on 12,000 documents, 112 candidates
per query on average and 210 over the last 1,000 (a million documents would need thousands per
query), and pairwise F1 0.19 over 20,000 documents from chained clusters. That is a property of
the test generator, not of news text, so the scale run uses this generator instead.

Text: words drawn from a Zipf law (exponent 1.0) over 60,000 pseudo-words, a fifth of each
story's words from a topic's own vocabulary (stories on one topic share words, as real ones
do), sentences of 8-25 words. Each story has a heavy-tailed number of copies: ``verbatim``
(with a leaked furniture line), ``light`` (2 % of words replaced or dropped), ``heavy`` (8 %
and an inserted sentence), ``noisy`` (15 %), ``excerpt`` (the first 25-50 % of the words plus a
"read more" line) and ``truncated`` (the first 50-80 %). About a third of the stories also get
an independent rewrite (new prose around two of the original's sentences) that is its own
family: a hard negative. The label of a document is its family number.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from pipelines.core.config import GroupingConfig

COPY_KINDS = ("verbatim", "light", "heavy", "noisy", "excerpt", "truncated")
_EDIT_RATE = {"light": 0.02, "heavy": 0.08, "noisy": 0.15}


class Generator:
    """Deterministic documents of copy families; ``batch(first_story, n_stories)``."""

    def __init__(self, seed: int = 1, vocab_size: int = 60_000, n_topics: int = 200) -> None:
        rng = np.random.default_rng(seed)
        letters = np.array(list("bcdfghjklmnprstvwzaeiou"))
        lengths = rng.integers(2, 9, size=vocab_size * 2).tolist()
        chars = rng.choice(letters, size=(vocab_size * 2, 8)).tolist()
        words = {"".join(row[:n]) for row, n in zip(chars, lengths, strict=True)}
        self.vocab = np.array(sorted(words))[:vocab_size]
        rng.shuffle(self.vocab)
        ranks = np.arange(1, len(self.vocab) + 1, dtype=np.float64)
        self.cdf = np.cumsum(1.0 / ranks)
        self.cdf /= self.cdf[-1]
        self.topics = rng.integers(500, len(self.vocab), size=(n_topics, 150))
        self.furniture = [self._text(rng, rng.integers(0, len(self.vocab), 12)) for _ in range(50)]
        self.seed = seed

    def _words(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.searchsorted(self.cdf, rng.random(n))

    def _text(self, rng: np.random.Generator, idx: np.ndarray) -> str:
        return " ".join(self.vocab[idx].tolist())

    def _story(self, rng: np.random.Generator) -> np.ndarray:
        n = int(rng.integers(150, 900))
        idx = self._words(rng, n)
        topic = self.topics[int(rng.integers(len(self.topics)))]
        own = rng.random(n) < 0.2
        idx[own] = rng.choice(topic, size=int(own.sum()))
        return idx

    def _edit(self, rng: np.random.Generator, idx: np.ndarray, rate: float) -> np.ndarray:
        r = rng.random(idx.size)
        out = idx.copy()
        replace = r < rate / 2
        out[replace] = self._words(rng, int(replace.sum()))
        return out[~((r >= rate / 2) & (r < rate))]  # the other half of the edits: dropped

    def batch(self, first_story: int, n_stories: int) -> tuple[list[str], np.ndarray]:
        """Texts and family labels of stories ``first_story .. first_story + n_stories - 1``.

        Family ``2 * story`` is the story and its copies, ``2 * story + 1`` its rewrite.
        """
        texts: list[str] = []
        families: list[int] = []
        for s in range(first_story, first_story + n_stories):
            rng = np.random.default_rng((self.seed, s))
            idx = self._story(rng)
            texts.append(self._text(rng, idx))
            families.append(2 * s)
            for _ in range(min(int(rng.geometric(0.45)) - 1, 25)):
                kind = COPY_KINDS[int(rng.integers(len(COPY_KINDS)))]
                if kind == "verbatim":
                    text = self._text(rng, idx) + " " + self.furniture[int(rng.integers(50))]
                elif kind in _EDIT_RATE:
                    edited = self._edit(rng, idx, _EDIT_RATE[kind])
                    if kind == "heavy":
                        at = int(rng.integers(1, edited.size))
                        edited = np.concatenate(
                            [edited[:at], self._words(rng, int(rng.integers(8, 25))), edited[at:]]
                        )
                    text = self._text(rng, edited)
                elif kind == "excerpt":
                    keep = int(idx.size * rng.uniform(0.25, 0.5))
                    text = self._text(rng, idx[:keep]) + " read the full article at the source"
                else:  # truncated
                    text = self._text(rng, idx[: int(idx.size * rng.uniform(0.5, 0.8))])
                texts.append(text)
                families.append(2 * s)
            if rng.random() < 0.33:
                new = self._story(rng)
                for _ in range(2):  # two quoted sentences of the original
                    start = int(rng.integers(0, idx.size - 20))
                    at = int(rng.integers(0, new.size))
                    new = np.concatenate([new[:at], idx[start : start + 15], new[at:]])
                texts.append(self._text(rng, new))
                families.append(2 * s + 1)
        return texts, np.asarray(families, dtype=np.int64)


@dataclass(frozen=True)
class Chunk:
    """Signatures of the documents of stories ``[start, stop)``, in story order."""

    start: int
    stop: int
    signatures: np.ndarray  # uint32[n, num_perm]
    n_shingles: np.ndarray  # int64[n]
    families: np.ndarray  # int64[n]
    generate_cpu_s: float
    fingerprint_cpu_s: float
    leads: np.ndarray | None = None  # uint32[n, lead_perm] (the grouper's lead index)


_generators: dict[int, Generator] = {}


def generator(seed: int) -> Generator:
    """One generator per process and seed (building the vocabulary takes about a second)."""
    if seed not in _generators:
        _generators[seed] = Generator(seed)
    return _generators[seed]


def make_chunk(seed: int, start: int, stop: int, config: dict) -> Chunk:
    """Generate and fingerprint stories ``[start, stop)`` (runs in a worker process)."""
    from pipelines.core.fingerprint import fingerprints_and_leads

    cfg = GroupingConfig.from_dict(config)
    gen = generator(seed)
    t0 = time.process_time()
    texts, families = gen.batch(start, stop - start)
    t1 = time.process_time()
    sigs, counts, leads = fingerprints_and_leads(texts, cfg)
    leads = leads if cfg.lead_words else None
    t2 = time.process_time()
    return Chunk(start, stop, sigs, counts, families, t1 - t0, t2 - t1, leads)


def texts_and_families(n_docs: int, seed: int = 1) -> tuple[list[str], np.ndarray]:
    """The first ``n_docs`` documents of the generator, in process."""
    texts, families = generator(seed).batch(0, n_docs)  # never fewer documents than stories
    return texts[:n_docs], families[:n_docs]
