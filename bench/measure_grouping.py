"""Measure grouping quality of GroupingConfig choices on synthetic syndication-like text.

Not part of the product: the script behind the defaults in ``pipelines.core.config``.

    .venv/bin/python -m bench.measure_grouping [--stories 400] [--seed 1] [--grid]

The corpus: English-like stories (Zipf-distributed pseudo-words, names, quotes), each with a
heavy-tailed number of copies of these kinds:

- ``verbatim``: same text plus one or two leaked furniture lines;
- ``light``: about 2% of words changed, a paragraph dropped, a sentence inserted;
- ``heavy``: about 8% of words changed, a paragraph dropped, ad sentences inserted mid-body;
- ``noisy``: about 15% of words changed (OCR-like damage) and ad sentences;
- ``excerpt``: the first two to four paragraphs and a "read the full article" line;
- ``truncated``: the first 50-80% of the words;
- ``brief_copy``: a short brief (three sentences) syndicated with different leaked furniture;

and hard negatives that belong to *other* families: independent rewrites of a story (same quotes
and names, new prose), other stories on the same topic (shared topic vocabulary), and short briefs
of one site that share a leaked furniture block of two sentences.
Quality is pairwise precision/recall/F1 over all documents, recall per copy kind, and the number
of false pairs joining a rewrite to its source story.
"""

from __future__ import annotations

import argparse
import itertools
import time
from collections import Counter
from dataclasses import dataclass

import numpy as np

from pipelines.core.config import GroupingConfig
from pipelines.core.fingerprint import fingerprints
from pipelines.core.grouping import Grouper

COPY_KINDS = ("verbatim", "light", "heavy", "noisy", "excerpt", "truncated", "brief_copy")


@dataclass
class Doc:
    doc_id: str
    family: str
    kind: str  # "original", one of COPY_KINDS, "rewrite", "topic"
    text: str


class TextMaker:
    """Deterministic English-like text: Zipf words, capitalised names, quoted sentences."""

    def __init__(self, seed: int, vocab_size: int = 8000, n_topics: int = 40) -> None:
        self.rng = np.random.default_rng(seed)
        syllables = [c + v for c in "bcdfghjklmnprstvwz" for v in ("a", "e", "i", "o", "u", "ou")]
        words = set()
        while len(words) < vocab_size:
            n = int(self.rng.integers(1, 4))
            words.add("".join(self.rng.choice(syllables, size=n)))
        self.vocab = np.array(sorted(words))
        self.rng.shuffle(self.vocab)
        ranks = np.arange(1, vocab_size + 1)
        self.p = (1.0 / ranks**1.07) / np.sum(1.0 / ranks**1.07)
        self.names = [w.capitalize() for w in self.rng.choice(self.vocab[2000:], 400)]
        self.topics = [self.rng.choice(self.vocab[200:3000], 120) for _ in range(n_topics)]

    def sentence(self, topic: int, names: list[str]) -> str:
        n = int(self.rng.integers(8, 25))
        words = list(self.rng.choice(self.vocab, size=n, p=self.p))
        for i in range(n):
            r = self.rng.random()
            if r < 0.2:
                words[i] = str(self.rng.choice(self.topics[topic]))
            elif r < 0.25:
                words[i] = str(self.rng.choice(names))
        s = " ".join(words)
        s = s[0].upper() + s[1:] + "."
        if self.rng.random() < 0.15:
            s = f'"{s}" said {self.rng.choice(names)}.'
        return s

    def story(self, topic: int) -> tuple[list[list[str]], list[str]]:
        names = list(self.rng.choice(self.names, 4))
        paragraphs = [
            [self.sentence(topic, names) for _ in range(int(self.rng.integers(2, 5)))]
            for _ in range(int(self.rng.integers(5, 11)))
        ]
        return paragraphs, names

    def edit_words(self, text: str, rate: float) -> str:
        words = text.split()
        for i in range(len(words)):
            r = self.rng.random()
            if r < rate / 2:
                words[i] = str(self.rng.choice(self.vocab, p=self.p))
            elif r < rate * 0.75:
                words[i] = ""
            elif r < rate:
                words[i] = words[i] + " " + str(self.rng.choice(self.vocab, p=self.p))
        return " ".join(w for w in words if w)


def _join(paragraphs: list[list[str]]) -> str:
    return "\n\n".join(" ".join(p) for p in paragraphs)


def make_corpus(n_stories: int, seed: int) -> list[Doc]:
    """Originals, copies and hard negatives, shuffled so originals do not always come first."""
    tm = TextMaker(seed)
    rng = tm.rng
    furniture = [tm.sentence(0, ["Daily"])[:40] for _ in range(30)]
    docs: list[Doc] = []
    for s in range(n_stories):
        topic = int(rng.integers(len(tm.topics)))
        paragraphs, names = tm.story(topic)
        family = f"f{s}"
        docs.append(Doc(f"s{s}-orig", family, "original", _join(paragraphs)))
        n_copies = min(int(rng.geometric(0.45)), 25)
        for c in range(n_copies):
            kind = str(rng.choice(COPY_KINDS))
            paras = [list(p) for p in paragraphs]
            if kind == "verbatim":
                text = _join(paras) + "\n" + " ".join(rng.choice(furniture, 2))
            elif kind in ("light", "heavy", "noisy"):
                rate = {"light": 0.02, "heavy": 0.08, "noisy": 0.15}[kind]
                if kind != "noisy" and len(paras) > 3:
                    del paras[int(rng.integers(1, len(paras)))]
                inserts = {"light": 1, "heavy": 3, "noisy": 2}[kind]
                for _ in range(inserts):
                    where = int(rng.integers(1, len(paras)))
                    paras.insert(where, [tm.sentence(int(rng.integers(len(tm.topics))), ["Ad"])])
                text = tm.edit_words(_join(paras), rate)
            elif kind == "excerpt":
                keep = int(rng.integers(2, 5))
                text = _join(paras[:keep]) + "\nRead the full article at the original site."
            else:  # truncated
                words = _join(paras).split()
                text = " ".join(words[: int(len(words) * rng.uniform(0.5, 0.8))])
            docs.append(Doc(f"s{s}-c{c}", family, kind, text))
        if rng.random() < 0.3:
            # An independent rewrite: same quotes and names, new prose.
            quotes = [x for p in paragraphs for x in p if x.startswith('"')][:3]
            new_paras, _ = tm.story(topic)
            for q in quotes:
                new_paras[int(rng.integers(len(new_paras)))].append(q)
            docs.append(Doc(f"s{s}-rw", f"f{s}-rw", "rewrite", _join(new_paras)))
    # Hard negatives: short briefs of one site that share a leaked furniture block (a newsletter
    # box the extractor kept), each its own family; some are syndicated to a second site whose
    # leaked block differs.
    for site in range(max(1, n_stories // 20)):
        blocks = [" ".join(tm.sentence(0, ["Newsletter"]) for _ in range(2)) for _ in range(2)]
        for b in range(6):
            paragraphs, _ = tm.story(int(rng.integers(len(tm.topics))))
            brief = " ".join(paragraphs[0][:3])
            family = f"site{site}-brief{b}"
            docs.append(Doc(f"{family}-orig", family, "original", brief + "\n" + blocks[0]))
            if rng.random() < 0.5:
                docs.append(Doc(f"{family}-c0", family, "brief_copy", brief + "\n" + blocks[1]))
    order = rng.permutation(len(docs))
    return [docs[i] for i in order]


def pair_counts(labels: list[str]) -> int:
    return sum(n * (n - 1) // 2 for n in Counter(labels).values())


def evaluate(docs: list[Doc], assignment: dict[str, str]) -> dict[str, float]:
    """Pairwise precision/recall/F1, recall per copy kind, rewrite false merges."""
    pred = [assignment[d.doc_id] for d in docs]
    true = [d.family for d in docs]
    tp = pair_counts([f"{p}|{t}" for p, t in zip(pred, true, strict=True)])
    n_pred, n_true = pair_counts(pred), pair_counts(true)
    precision = tp / n_pred if n_pred else 1.0
    recall = tp / n_true if n_true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    out = {"precision": precision, "recall": recall, "f1": f1}
    originals = {d.family: assignment[d.doc_id] for d in docs if d.kind == "original"}
    for kind in COPY_KINDS:
        copies = [d for d in docs if d.kind == kind]
        joined = sum(assignment[d.doc_id] == originals[d.family] for d in copies)
        out[f"recall_{kind}"] = joined / len(copies) if copies else float("nan")
    rewrites = [d for d in docs if d.kind == "rewrite"]
    briefs = [d for d in docs if d.kind == "original" and d.family.startswith("site")]
    out["brief_false_pairs"] = pair_counts([assignment[d.doc_id] for d in briefs]) - pair_counts(
        [f"{assignment[d.doc_id]}|{d.family}" for d in briefs]
    )
    out["rewrite_false_merges"] = sum(
        assignment[d.doc_id] == originals[d.family[: -len("-rw")]] for d in rewrites
    )
    return out


def run_config(docs: list[Doc], config: GroupingConfig, sigs, counts) -> dict[str, float]:
    grouper = Grouper(config)
    for d, sig, n in zip(docs, sigs, counts.tolist(), strict=True):
        grouper.add(d.doc_id, sig, n)
    return evaluate(docs, grouper.assignments())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stories", type=int, default=400)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--grid", action="store_true", help="try a grid of settings")
    args = parser.parse_args(argv)
    docs = make_corpus(args.stories, args.seed)
    print(f"{len(docs)} documents: {dict(Counter(d.kind for d in docs))}")
    if args.grid:
        grid = {
            "shingle_size": [3, 5],
            "num_perm": [128],
            "lsh_threshold": [0.2, 0.3, 0.5],
            "duplicate_jaccard": [0.4, 0.5, 0.6],
            "excerpt_containment": [0.7, 0.8, 0.9],
        }
    else:
        grid = {k: [v] for k, v in GroupingConfig().to_dict().items() if k != "lsh_weights"}
    sig_cache: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
    keys = list(grid)
    print("config  precision recall f1 | recall per kind | rewrite false merges")
    for values in itertools.product(*(grid[k] for k in keys)):
        config = GroupingConfig(**dict(zip(keys, values, strict=True)))
        sk = (config.shingle_size, config.num_perm)
        if sk not in sig_cache:
            sig_cache[sk] = fingerprints([d.text for d in docs], config)
        t0 = time.perf_counter()
        r = run_config(docs, config, *sig_cache[sk])
        dt = time.perf_counter() - t0
        kinds = " ".join(f"{k[:4]}={r[f'recall_{k}']:.2f}" for k in COPY_KINDS)
        print(
            f"{config}  P={r['precision']:.3f} R={r['recall']:.3f} F1={r['f1']:.3f} | {kinds} | "
            f"rw={r['rewrite_false_merges']} briefs={r['brief_false_pairs']} | {dt:.1f}s"
        )


if __name__ == "__main__":
    main()
