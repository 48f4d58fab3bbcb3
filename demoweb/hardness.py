"""How hard is the demo web? Measures a plain extractor against the ground truth.

Run: python -m demoweb.hardness --seed 1 [--sites 12 --stories 300 --day 1] [--heavy]

Reports: the furniture leak share of plain `trafilatura.extract(html, include_comments=False)`
over article pages and its token F1 against clean_text (bag of whitespace tokens, averaged over
pages); word 5-shingle Jaccard (min/median/max) of original-vs-copy pairs per copy kind and of
rewrite-vs-original pairs; the same for pairs of briefs of one site (clean text vs what
trafilatura keeps: the hard negatives); page counts per page_kind and article counts per copy_kind.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import time
from collections import Counter, defaultdict

from demoweb.web import DemoWeb


def normalise(s: str) -> str:
    return " ".join(s.split())


def token_prf(extracted: str, clean: str) -> tuple[float, float, float]:
    """Bag-of-tokens precision, recall and F1 (the article-extraction benchmark definition)."""
    got, want = Counter(extracted.split()), Counter(clean.split())
    overlap = sum((got & want).values())
    if not got or not want or not overlap:
        return 0.0, 0.0, 0.0
    p, r = overlap / sum(got.values()), overlap / sum(want.values())
    return p, r, 2 * p * r / (p + r)


def leaked_lines(extracted: str, furniture: list[str]) -> list[str]:
    """Furniture lines that appear verbatim (whitespace-normalised) in the extracted text."""
    text = normalise(extracted)
    return [line for line in furniture if normalise(line) in text]


def shingles(text: str, k: int = 5) -> set[tuple[str, ...]]:
    toks = text.lower().split()
    return {tuple(toks[i : i + k]) for i in range(max(1, len(toks) - k + 1))}


def jaccard(a: str, b: str, k: int = 5) -> float:
    sa, sb = shingles(a, k), shingles(b, k)
    return len(sa & sb) / len(sa | sb) if sa | sb else 1.0


def summary(values: list[float]) -> str:
    if not values:
        return "n=0"
    return (
        f"n={len(values)} min={min(values):.3f} median={statistics.median(values):.3f} "
        f"max={max(values):.3f}"
    )


def measure(web: DemoWeb, extract: bool = True) -> dict:
    """All figures as a dict (also used by tests with a small web)."""
    rows = list(web.truth_rows())
    articles = [r for r in rows if r["page_kind"] == "article"]
    out: dict = {
        "pages_per_kind": dict(sorted(Counter(r["page_kind"] for r in rows).items())),
        "articles_per_copy_kind": dict(sorted(Counter(r["copy_kind"] for r in articles).items())),
    }
    by_story: dict[int, list[dict]] = defaultdict(list)
    for r in articles:
        by_story[r["story_id"]].append(r)
    pair_j: dict[str, list[float]] = defaultdict(list)
    for pages in by_story.values():
        originals = {r["family_id"]: r for r in pages if r["url"] == r["original_url"]}
        main = next((r for r in pages if r["copy_kind"] == "original"), None)
        for r in pages:
            if r["copy_kind"] in ("original", "brief"):
                continue
            if r["copy_kind"] == "rewrite":
                if main is not None:
                    pair_j["rewrite"].append(jaccard(main["clean_text"], r["clean_text"]))
                continue
            orig = originals[r["family_id"]]
            pair_j[r["copy_kind"]].append(jaccard(orig["clean_text"], r["clean_text"]))
    out["jaccard"] = {k: summary(v) for k, v in sorted(pair_j.items())}
    if extract:
        import trafilatura

        leaks, f1s, precs, recs, cpu = 0, [], [], [], 0.0
        leak_kinds: Counter[str] = Counter()
        for r in articles:
            html = web.respond(r["url"]).body.decode()
            t0 = time.process_time()
            got = trafilatura.extract(html, include_comments=False) or ""
            cpu += time.process_time() - t0
            lines = leaked_lines(got, r["furniture"])
            if lines:
                leaks += 1
                leak_kinds[r["template"]] += 1
            p, rec, f = token_prf(got, r["clean_text"])
            precs.append(p)
            recs.append(rec)
            f1s.append(f)
        # Briefs of one site: different texts, but alike once their furniture is kept.
        briefs: dict[str, list[dict]] = defaultdict(list)
        for r in articles:
            if r["copy_kind"] == "brief":
                briefs[r["site"]].append(r)
        clean_j, extracted_j = [], []
        for group in briefs.values():
            texts = {
                r["url"]: trafilatura.extract(
                    web.respond(r["url"]).body.decode(), include_comments=False
                )
                or ""
                for r in group
            }
            for a, b in itertools.combinations(group, 2):
                clean_j.append(jaccard(a["clean_text"], b["clean_text"]))
                extracted_j.append(jaccard(texts[a["url"]], texts[b["url"]]))
        out["brief_pairs_same_site"] = {
            "clean_text": summary(clean_j),
            "trafilatura_text": summary(extracted_j),
        }
        n = len(articles)
        out["trafilatura"] = {
            "article_pages": n,
            "leak_share": leaks / n,
            "precision": statistics.fmean(precs),
            "recall": statistics.fmean(recs),
            "f1": statistics.fmean(f1s),
            "ms_per_page": 1000 * cpu / n,
            "leaking_pages_per_template": dict(sorted(leak_kinds.items())),
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--sites", type=int, default=12)
    ap.add_argument("--stories", type=int, default=300)
    ap.add_argument("--day", type=int, default=1)
    ap.add_argument("--heavy", action="store_true", help="the heavy web (DemoWeb(heavy=True))")
    ap.add_argument("--no-extract", action="store_true", help="skip the trafilatura run")
    a = ap.parse_args()
    web = DemoWeb(seed=a.seed, sites=a.sites, stories=a.stories, day=a.day, heavy=a.heavy)
    res = measure(web, extract=not a.no_extract)
    heavy = " heavy" if a.heavy else ""
    print(f"demo web seed={a.seed} sites={a.sites} stories={a.stories} day={a.day}{heavy}")
    for key, value in res.items():
        if isinstance(value, dict):
            print(f"{key}:")
            for k, v in value.items():
                print(f"  {k}: {v:.3f}" if isinstance(v, float) else f"  {k}: {v}")
        else:
            print(f"{key}: {value}")


if __name__ == "__main__":
    main()
