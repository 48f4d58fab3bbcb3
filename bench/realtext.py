"""Real-text syndication benchmark: copies of real news prose, grouped by three tools.

    python -m bench.realtext [--articles ../shared/realtext/news_2025.parquet] [--repeat 3]
                             [--seed 1] [--levels light,heavy,noisy] [--out FILE.json]

Copy families are built deterministically (seeded) from real articles. Every source article is
published once by its first outlet (headline and outlet boilerplate around the text) and copied
by a few others (a heavy tail: most stories one to three copies), each copy with the edits of
its level and a random set of the web's own edits:

- levels: ``light`` keeps at least 75% of the sentences (editor truncation from the end) with 1%
  word edits; ``heavy`` keeps at least 50% with 3% word edits; ``noisy`` is light plus 2%
  OCR-like character noise (confusable letters, dropped and doubled characters, split words);
- the web's edits: an excerpt of the first paragraphs with a "read the full article" link line
  (instead of the truncation), inserted ad lines, a rewritten headline, a sentence dropped,
  sentences inserted from another story, and the outlet's own boilerplate (header and footer);
- hard negatives: independent rewrites of one event (the source's quotes, other prose taken from
  articles kept aside, so no other document shares it): a copy family of their own; and two
  articles of one category are different families too.

Each tool groups the same table: this project's ``pipelines.corpus.group_table(table, "id",
"text")`` with the default ``GroupingConfig``; rensa's ``RMinHashDeduplicator`` (word 3-shingles,
threshold 0.3, 128 permutations, LSH; each document's duplicates among the earlier ones joined
by union-find); plain datasketch (``MinHash`` of word 3-shingles, ``MinHashLSH`` at 0.3, each
candidate's estimated Jaccard checked against 0.3 before a union); and, with ``--tools
pipeline-core``, this project's grouping core without the furniture model (what the cleaning
costs and gives). Scores: pairwise precision,
recall and F1 over copy families, the share of rewrite pairs (rewrite, member of its source's
family) merged, and CPU seconds per 1,000 documents for the whole call (``time.process_time``,
median of ``--repeat`` runs, the tools interleaved in one process).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parent.parent
DEFAULT_ARTICLES = REPO.parent / "shared" / "realtext" / "news_2025.parquet"


@dataclass(frozen=True)
class Level:
    """How far the copies of one level drift from their source."""

    min_kept: float  # share of the sentences a truncated copy keeps at least
    word_edits: float  # probability of an edit per word
    char_noise: float  # probability of OCR-like noise per character


LEVELS = {
    "light": Level(0.75, 0.01, 0.0),
    "heavy": Level(0.50, 0.03, 0.0),
    "noisy": Level(0.75, 0.01, 0.02),
}

# Copies per story beside its first publication: most one to three, a few many.
COPIES = (1, 1, 1, 1, 2, 2, 2, 3, 3, 4, 5, 7, 10)

OUTLETS = (
    ("The Harbor Ledger", "harborledger.example"),
    ("Metro Daily Wire", "metrodailywire.example"),
    ("Valley Courier", "valleycourier.example"),
    ("Northern Standard", "northernstandard.example"),
    ("Capital Dispatch", "capitaldispatch.example"),
    ("The Lakeside Post", "lakesidepost.example"),
    ("Coastline Herald", "coastlineherald.example"),
    ("Prairie Times", "prairietimes.example"),
    ("Summit News Network", "summitnews.example"),
    ("The Evening Chronicle", "eveningchronicle.example"),
    ("Riverbend Gazette", "riverbendgazette.example"),
    ("Global Newsline", "globalnewsline.example"),
)
HEADERS = (
    "{name} | Staff and wire reports",
    "Published by {name}. Updated a few minutes ago.",
    "{name} - News you can trust since 1998",
    "From the {name} newsroom",
)
FOOTERS = (
    "Copyright 2025 {name}. All rights reserved. This material may not be published, broadcast, "
    "rewritten or redistributed without permission.",
    "Sign up for the {name} morning newsletter to get the day's top stories delivered to your "
    "inbox every weekday.",
    "Have a news tip? Contact the {name} newsroom at tips@{domain} or call our hotline.",
    "Follow {name} on social media for breaking news, live updates and exclusive coverage.",
)
ADS = (
    "ADVERTISEMENT",
    "Story continues below advertisement",
    "Sponsored: Homeowners are switching to this new solar plan. See if you qualify.",
    "Sponsored: Seniors could save hundreds on car insurance this year. Compare quotes now.",
    "Read more: Top stories from {name} this week",
    "Recommended: The 10 best travel credit cards of 2025",
    "Subscribe to {name} for unlimited access to award-winning journalism.",
)
LINK_LINES = (
    "Read the full article at {url}",
    "Continue reading the full story on {source}: {url}",
    "This is an excerpt. Read the full article here: {url}",
)

_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'\u201d\u2019)]*\s+(?=[\"'\u201c\u2018(]?[A-Z0-9])")
_PARAGRAPH = re.compile(r"\s{2,}|\n+")
_QUOTE = re.compile(r"[\"\u201c][^\"\u201c\u201d]{20,400}[\"\u201d]")
_WORD = re.compile(r"\w+")
# OCR confusions, both ways.
_CONFUSABLE = {
    "e": "c",
    "c": "e",
    "l": "1",
    "1": "l",
    "i": "l",
    "o": "0",
    "0": "o",
    "a": "o",
    "s": "5",
    "5": "s",
    "m": "rn",
    "n": "h",
    "h": "b",
    "u": "v",
    "t": "f",
    "g": "q",
    "B": "8",
    "S": "5",
    "O": "0",
    "I": "l",
}


# ---------------------------------------------------------------------------------------------
# Splitting real prose.


def sentences(text: str) -> list[str]:
    """Sentences of a paragraph (a sentence end followed by a capital or digit)."""
    return [s.strip() for s in _SENTENCE_END.split(text.strip()) if s.strip()]


def paragraphs(text: str) -> list[list[str]]:
    """Paragraphs (runs of 2+ spaces or line breaks) as lists of sentences.

    A text without paragraph breaks is cut into paragraphs of three sentences.
    """
    paras = [sentences(p) for p in _PARAGRAPH.split(text) if p.strip()]
    paras = [p for p in paras if p]
    if len(paras) == 1 and len(paras[0]) > 4:
        flat = paras[0]
        paras = [flat[i : i + 3] for i in range(0, len(flat), 3)]
    return paras


def quotes(text: str) -> list[str]:
    """Quoted passages of 20-400 characters, quote marks included."""
    return _QUOTE.findall(text)


def headline(words: Sequence[str], rng: random.Random) -> str:
    """A headline-like line of 6-10 of ``words`` (title case)."""
    n = min(len(words), rng.randint(6, 10))
    start = rng.randint(0, max(0, len(words) - n))
    return " ".join(w.capitalize() for w in words[start : start + n])


# ---------------------------------------------------------------------------------------------
# Edits: plain functions of a text and a seeded random generator.


def word_edits(text: str, p: float, vocabulary: Sequence[str], rng: random.Random) -> str:
    """Each word replaced, deleted, or followed by an inserted word with probability ``p``."""
    if p <= 0:
        return text
    out = []
    for word in text.split(" "):
        if rng.random() >= p:
            out.append(word)
            continue
        kind = rng.random()
        if kind < 0.4:
            out.append(rng.choice(vocabulary))
        elif kind < 0.7:
            continue
        else:
            out += [word, rng.choice(vocabulary)]
    return " ".join(out)


def char_noise(text: str, q: float, rng: random.Random) -> str:
    """OCR-like noise: each letter or digit confused, dropped or doubled with probability ``q``;
    each space dropped (two words run together) with probability ``q / 2``."""
    if q <= 0:
        return text
    out = []
    for ch in text:
        if ch == " ":
            if rng.random() >= q / 2:
                out.append(ch)
            continue
        if not ch.isalnum() or rng.random() >= q:
            out.append(ch)
            continue
        kind = rng.random()
        if kind < 0.6:
            out.append(_CONFUSABLE.get(ch, ch.swapcase() if ch.isalpha() else ch))
        elif kind < 0.8:
            continue
        elif kind < 0.9:
            out.append(ch + ch)
        else:
            out.append(ch + " ")
    return "".join(out)


# ---------------------------------------------------------------------------------------------
# The corpus.


@dataclass(frozen=True)
class Doc:
    id: str
    text: str
    family: str  # copy family: documents that are copies of one publication
    source: str  # the real article it came from (rewrites: the one whose quotes they carry)
    kind: str  # original, copy, excerpt, rewrite
    category: str


def load_articles(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Rows (id, category, text) of a Parquet (or JSON lines) file of real articles, in id
    order, as prose (``prose_articles``)."""
    if str(path).endswith(".jsonl"):  # the test suite's sample (tests/data/)
        with open(path, encoding="utf-8") as fh:
            table_rows = [json.loads(line) for line in fh if line.strip()]
        table_rows = [{k: r[k] for k in ("id", "category", "text")} for r in table_rows]
    else:
        table_rows = pq.read_table(path, columns=["id", "category", "text"]).to_pylist()
    rows = [r for r in table_rows if r["text"] and len(r["text"].split()) >= 40]
    return prose_articles(sorted(rows, key=lambda r: str(r["id"])))


def prose_articles(
    rows: Sequence[dict[str, Any]], max_df: int = 2, min_words: int = 50
) -> list[dict[str, Any]]:
    """The real prose of scraped articles: their sites' furniture out, near-duplicates dropped.

    Scraped article texts carry their site's furniture (teaser lists, share labels, newsletter
    lines), and two articles of one site can share most of their shingles: left in, they would
    be "copies" of each other with different family labels. A sentence most of whose word
    3-shingles occur in more than ``max_df`` articles is furniture and goes; an article left
    with fewer than ``min_words`` words goes; of two articles that still share more than 10% of
    the shorter one's shingles, the later (by id) goes.
    """
    df: dict[str, int] = {}
    for r in rows:
        for s in set(word_shingles(r["text"])):
            df[s] = df.get(s, 0) + 1
    kept: list[dict[str, Any]] = []
    kept_sets: list[set[str]] = []
    for r in rows:
        paras = []
        for p in paragraphs(r["text"]):
            good = []
            for s in p:
                sh = word_shingles(s)
                if sh and sum(df.get(x, 0) > max_df for x in sh) * 2 < len(sh):
                    good.append(s)
            if good:
                paras.append("  ".join(good))
        text = "  ".join(paras)
        if len(text.split()) < min_words:
            continue
        sh = set(word_shingles(text))
        if any(len(sh & o) > 0.1 * min(len(sh), len(o)) for o in kept_sets):
            continue
        kept.append({**r, "text": text})
        kept_sets.append(sh)
    return kept


def build_corpus(articles: Sequence[dict[str, Any]], level: str, seed: int = 1) -> list[Doc]:
    """Documents of one level, in publication order (originals before their copies, shuffled).

    A sixth of the articles is kept aside: their sentences are the "other prose" of the
    independent rewrites (each used once), so a rewrite shares only its quotes with any document.
    """
    lv = LEVELS[level]
    rng = random.Random(f"realtext-{seed}-{level}")
    order = list(articles)
    random.Random(f"realtext-split-{seed}").shuffle(order)  # the same split at every level
    n_aside = max(1, len(order) // 6)
    aside, sources = order[:n_aside], order[n_aside:]
    prose = [s for a in aside for p in paragraphs(a["text"]) for s in p if not quotes(s)]
    random.Random(f"realtext-prose-{seed}").shuffle(prose)
    vocabulary = sorted({w for a in sources for w in a["text"].split() if w.isalpha()})
    docs: list[tuple[float, Doc]] = []  # (publication time, document)

    def outlet(index: int) -> tuple[str, str, str, str]:
        name, domain = OUTLETS[index % len(OUTLETS)]
        header = HEADERS[index % len(HEADERS)].format(name=name, domain=domain)
        footer = FOOTERS[(index // 2) % len(FOOTERS)].format(name=name, domain=domain)
        return name, domain, header, footer

    long_sources = [a for a in sources if sum(map(len, paragraphs(a["text"]))) >= 10]
    for n, art in enumerate(sources):
        sid = str(art["id"])
        paras = paragraphs(art["text"])
        words = art["text"].split()
        family = f"f{sid}"
        first = rng.randrange(len(OUTLETS))
        name0, domain0, header0, footer0 = outlet(first)
        title = headline(words[:20], rng)
        body = ["  ".join(p) for p in paras]
        t0 = n * 10.0 + rng.random()
        text = "\n".join([header0, title, *body, footer0])
        docs.append((t0, Doc(f"{sid}-0", text, family, sid, "original", art["category"])))
        long_others = [a for a in long_sources if a is not art]
        for c in range(1, rng.choice(COPIES) + 1):
            o = (first + rng.randrange(1, len(OUTLETS))) % len(OUTLETS)
            name, domain, header, footer = outlet(o)
            kind = "excerpt" if rng.random() < 0.15 else "copy"
            ps = [list(p) for p in paras]
            if kind == "excerpt":
                keep, total = [], 0
                for p in ps:
                    keep.append(p)
                    total += sum(len(s.split()) for s in p)
                    if total >= rng.randint(50, 120):
                        break
                ps = keep
            else:
                n_sent = sum(len(p) for p in ps)
                kept = max(1, round(n_sent * rng.uniform(lv.min_kept, 1.0)))
                out, left = [], kept
                for p in ps:
                    if left <= 0:
                        break
                    out.append(p[:left])
                    left -= len(p)
                ps = out
                flat = [(i, j) for i, p in enumerate(ps) for j in range(len(p))]
                if len(flat) > 4 and rng.random() < 0.4:  # a sentence dropped
                    i, j = rng.choice(flat[1:-1])
                    del ps[i][j]
                if rng.random() < 0.3 and ps:  # sentences inserted from another story
                    # A related story's sentences go into the body (never before the lede),
                    # taken from a story long enough that they are a small part of it.
                    pool = [s for p in paragraphs(rng.choice(long_others)["text"]) for s in p]
                    for s in rng.sample(pool, min(len(pool), rng.randint(1, 2))):
                        i = rng.randrange(1, len(ps)) if len(ps) > 1 else 0
                        ps[i].insert(rng.randint(1 if i == 0 else 0, len(ps[i])), s)
            lines = ["  ".join(p) for p in ps if p]
            lines = [word_edits(line, lv.word_edits, vocabulary, rng) for line in lines]
            if kind == "copy" and rng.random() < 0.4:  # ad lines inside the body
                for _ in range(rng.randint(1, 3)):
                    ad = rng.choice(ADS).format(name=name)
                    lines.insert(rng.randint(1, max(1, len(lines))), ad)
            if kind == "excerpt":
                url = f"https://{domain0}/news/{sid}"
                lines.append(rng.choice(LINK_LINES).format(url=url, source=name0))
            new_title = headline(words, rng) if rng.random() < 0.5 else title
            text = "\n".join([header, new_title, *lines, footer])
            text = char_noise(text, lv.char_noise, rng)
            doc = Doc(f"{sid}-{c}", text, family, sid, kind, art["category"])
            docs.append((t0 + c + rng.random(), doc))
        found = [q for q in quotes(art["text"]) if len(q.split()) >= 6]
        if len(found) >= 2 and prose and rng.random() < 0.5:
            # An independent rewrite of the same event: the quotes, other prose.
            picked = found[: rng.randint(2, 3)]
            quoted = sum(len(q.split()) for q in picked)
            lines, total = [], 0
            for q in picked:
                para = []
                while prose and sum(len(s.split()) for s in para) < 25:
                    para.append(prose.pop())
                lines.append("  ".join([*para, f"{q} said one official."]))
                total += sum(len(s.split()) for s in para)
            while prose and total < 1.5 * quoted:  # quotes at most 40% of the words
                s = prose.pop()
                lines.append(s)
                total += len(s.split())
            o = (first + rng.randrange(1, len(OUTLETS))) % len(OUTLETS)
            name, _, header, footer = outlet(o)
            text = "\n".join([header, headline(words, rng), *lines, footer])
            text = char_noise(text, lv.char_noise, rng)
            docs.append(
                (t0 + 0.5, Doc(f"{sid}-r", text, f"r{sid}", sid, "rewrite", art["category"]))
            )
    docs.sort(key=lambda td: td[0])
    return [d for _, d in docs]


def corpus_table(docs: Sequence[Doc]) -> pa.Table:
    """The input table of every tool: ``id`` and ``text`` only (no truth leaks in)."""
    return pa.table({"id": [d.id for d in docs], "text": [d.text for d in docs]})


# ---------------------------------------------------------------------------------------------
# The tools, each a function of the table that returns one cluster label per row.


def word_shingles(text: str, k: int = 3) -> list[str]:
    """Lower-case word k-shingles (``\\w+`` words), the tokens given to rensa and datasketch."""
    words = _WORD.findall(text.lower())
    if len(words) <= k:
        return [" ".join(words)] if words else []
    return [" ".join(words[i : i + k]) for i in range(len(words) - k + 1)]


def _roots(n: int, pairs: Sequence[tuple[int, int]] | Any) -> list[int]:
    parent = list(range(n))

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return [find(i) for i in range(n)]


def group_pipeline(table: pa.Table) -> list[Hashable]:
    """This project: ``pipelines.corpus.group_table(table, "id", "text")``, default config."""
    from pipelines.corpus import group_table

    assignments, _ = group_table(table, "id", "text")
    return assignments["cluster_id"].to_pylist()


def group_core(table: pa.Table) -> list[Hashable]:
    """This project's grouping core alone, no cleaning: each text normalised, fingerprinted and
    added to a ``Grouper`` (default config) in one pass. Not a front door: it shows what the
    furniture model costs and gives (``--tools pipeline-core``; not run by default)."""
    from pipelines.core.config import GroupingConfig
    from pipelines.core.fingerprint import fingerprints_and_leads
    from pipelines.core.grouping import Grouper
    from pipelines.core.textnorm import normalise

    config = GroupingConfig()
    ids = table["id"].to_pylist()
    texts = [normalise(t or "") for t in table["text"].to_pylist()]
    grouper = Grouper(config)
    sigs, counts, leads = fingerprints_and_leads(texts, config, normalised=True)
    grouper.add_many(ids, sigs, counts, [None] * len(ids), leads)
    assignments = grouper.assignments()
    return [assignments[d] for d in ids]


def group_rensa(table: pa.Table, threshold: float = 0.3, num_perm: int = 128) -> list[Hashable]:
    """rensa's ``RMinHashDeduplicator`` (LSH on), each document's duplicates joined."""
    from rensa import RMinHash, RMinHashDeduplicator

    texts = table["text"].to_pylist()
    dedup = RMinHashDeduplicator(threshold=threshold, num_perm=num_perm, use_lsh=True)
    pairs = []
    for i, text in enumerate(texts):
        m = RMinHash(num_perm=num_perm, seed=42)
        m.update(word_shingles(text))
        pairs += [(int(k), i) for k in dedup.get_duplicates(m)]
        dedup.add(str(i), m)
    return _roots(len(texts), pairs)


def group_datasketch(
    table: pa.Table, threshold: float = 0.3, num_perm: int = 128
) -> list[Hashable]:
    """datasketch: ``MinHash`` (its default hash) + ``MinHashLSH``, candidates verified."""
    from datasketch import MinHash, MinHashLSH

    texts = table["text"].to_pylist()
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    sketches = []
    pairs = []
    for i, text in enumerate(texts):
        m = MinHash(num_perm=num_perm)
        m.update_batch([s.encode("utf-8") for s in word_shingles(text)])
        sketches.append(m)
        pairs += [(j, i) for j in lsh.query(m) if sketches[j].jaccard(m) >= threshold]
        lsh.insert(i, m)
    return _roots(len(texts), pairs)


TOOLS: dict[str, Callable[[pa.Table], list[Hashable]]] = {
    "pipeline": group_pipeline,
    "pipeline-core": group_core,
    "rensa": group_rensa,
    "datasketch": group_datasketch,
}
DEFAULT_TOOLS = ("pipeline", "rensa", "datasketch")


# ---------------------------------------------------------------------------------------------
# Scores.


def score(docs: Sequence[Doc], labels: Sequence[Hashable]) -> dict[str, Any]:
    """Pairwise P/R/F1 over copy families, recall per copy kind, rewrite pairs merged."""
    from pipelines.core.metrics import pairwise_prf

    p, r, f1 = pairwise_prf([d.family for d in docs], list(labels))
    by_family: dict[str, list[int]] = {}
    for i, d in enumerate(docs):
        by_family.setdefault(d.family, []).append(i)
    origin = {d.family: i for i, d in enumerate(docs) if d.kind == "original"}
    kind_recall: dict[str, list[int]] = {}
    for i, d in enumerate(docs):
        if d.kind in ("copy", "excerpt"):
            hit = labels[i] == labels[origin[d.family]]
            kind_recall.setdefault(d.kind, []).append(int(hit))
    rewrite_pairs = merged = 0
    for i, d in enumerate(docs):
        if d.kind == "rewrite":
            for j in by_family[f"f{d.source}"]:
                rewrite_pairs += 1
                merged += labels[i] == labels[j]
    same_cat = diff_family_merged = 0
    n = len(docs)
    cats = np.array([d.category for d in docs])
    fam = np.array([d.family for d in docs])
    lab = np.array([str(x) for x in labels])
    for i in range(n):
        other = (cats[i + 1 :] == cats[i]) & (fam[i + 1 :] != fam[i])
        same_cat += int(other.sum())
        diff_family_merged += int((other & (lab[i + 1 :] == lab[i])).sum())
    return {
        "precision": p,
        "recall": r,
        "f1": f1,
        "recall_by_kind": {k: sum(v) / len(v) for k, v in sorted(kind_recall.items())},
        "rewrite_pairs": rewrite_pairs,
        "rewrite_pairs_merged": merged / rewrite_pairs if rewrite_pairs else None,
        "same_category_pairs": same_cat,
        "same_category_pairs_merged": diff_family_merged / same_cat if same_cat else None,
    }


def corpus_stats(docs: Sequence[Doc]) -> dict[str, Any]:
    kinds: dict[str, int] = {}
    for d in docs:
        kinds[d.kind] = kinds.get(d.kind, 0) + 1
    return {
        "documents": len(docs),
        "families": len({d.family for d in docs}),
        "kinds": kinds,
        "mean_words": sum(len(d.text.split()) for d in docs) / len(docs),
    }


def forget_lines() -> None:
    """Empty the furniture model's per-line caches (line keys, shapes, generic rules).

    They live for the process; a repetition on the same texts would find every line's key
    already computed, which no first run on new texts does.
    """
    from pipelines.core import furniture

    furniture.forget_lines()


def run(
    articles: Sequence[dict[str, Any]],
    levels: Sequence[str] = tuple(LEVELS),
    repeat: int = 3,
    seed: int = 1,
    tools: Sequence[str] = DEFAULT_TOOLS,
    log: Callable[[str], None] = lambda msg: print(msg, file=sys.stderr, flush=True),
) -> dict[str, Any]:
    """Scores and CPU of every tool on every level: the JSON record."""
    record: dict[str, Any] = {"levels": {}, "repeat": repeat, "seed": seed}
    # Imports before any timing: the first repetition would otherwise pay them.
    import datasketch  # noqa: F401
    import rensa  # noqa: F401

    import pipelines.core.endofrun  # noqa: F401

    for level in levels:
        docs = build_corpus(articles, level, seed)
        table = corpus_table(docs)
        log(f"realtext {level}: {len(docs)} documents")
        cpu: dict[str, list[float]] = {t: [] for t in tools}
        labels: dict[str, list[Hashable]] = {}
        for _ in range(repeat):  # interleaved: each repetition runs every tool once
            for t in tools:
                forget_lines()
                t0 = time.process_time()
                labels[t] = TOOLS[t](table)
                cpu[t].append(time.process_time() - t0)
        out: dict[str, Any] = {"corpus": {**corpus_stats(docs), **vars(LEVELS[level])}}
        for t in tools:
            times = sorted(cpu[t])
            out[t] = {
                **score(docs, labels[t]),
                "cpu_s_per_1k_docs": times[len(times) // 2] / len(docs) * 1000,
                "cpu_s": cpu[t],
            }
        record["levels"][level] = out
    return record


def format_table(record: dict[str, Any]) -> str:
    tools = [t for t in TOOLS if any(t in v for v in record["levels"].values())]
    head = ["level", "docs"]
    for t in tools:
        head += [f"{t} F1 (P / R)", f"{t} CPU s/1k"]
    first = "pipeline" if "pipeline" in tools else tools[0]  # whose rewrite merges are shown
    head += [f"rewrites merged ({first})"]
    rows = [head]
    for level, v in record["levels"].items():
        row = [level, str(v["corpus"]["documents"])]
        for t in tools:
            s = v[t]
            row += [
                f"{s['f1']:.4f} ({s['precision']:.3f} / {s['recall']:.3f})",
                f"{s['cpu_s_per_1k_docs']:.3f}",
            ]
        pipe = v[first]
        merged = pipe["rewrite_pairs_merged"]
        row.append("-" if merged is None else f"{merged:.3f} of {pipe['rewrite_pairs']}")
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.realtext", description=__doc__)
    parser.add_argument("--articles", type=Path, default=DEFAULT_ARTICLES)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--levels", default=",".join(LEVELS))
    parser.add_argument(
        "--tools",
        default=",".join(DEFAULT_TOOLS),
        help=f"comma-separated, of {', '.join(TOOLS)} (default: %(default)s)",
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if not args.articles.exists():
        parser.error(f"no such file: {args.articles}")
    unknown = sorted(set(args.tools.split(",")) - set(TOOLS))
    if unknown:
        parser.error(f"unknown tool(s): {', '.join(unknown)}; known: {', '.join(TOOLS)}")
    record = run(
        load_articles(args.articles),
        args.levels.split(","),
        args.repeat,
        args.seed,
        args.tools.split(","),
    )
    print(format_table(record))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(record, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
