"""`make evaluate-real`: score the pipeline on real pages, beside plain trafilatura.

    python -m pipelines.evaluate_real [--pages ../shared/realpages] [--crawl] [--data data]

The set is a folder with `snippets.json` (`{url: {"file": "html/NAME.gz", "with": [...],
"without": [...]}}`, trafilatura's own evaluation set) and the gzip-compressed pages. Scoring as
trafilatura's `tests/eval_common.py` does: a `with` snippet found in the output (as a substring)
is a true positive, missed a false negative; a `without` snippet found is a false positive,
absent a true negative; sums over the set give precision, recall, F1 and the leak rate
FP / (FP + TN). A page that makes no document scores as empty text.

Offline (always), in one run on the same decoded pages:

* `trafilatura`: plain `trafilatura.extract(html, include_comments=False)`, as a user calls it;
* `extract_html`: this project's extractor alone, whatever the page kind;
* `pipeline`: what a crawl stores: pages called articles, then the furniture step
  (`pipelines.corpus.group_table` with the page's host as domain); other pages score empty.

With `--crawl` (pipelines/realweb.py), the pages are also served at their own URLs on a
loopback proxy and crawled by `crawler.run`; the stored `documents` are scored the same way,
with plain trafilatura on the stored pages of the same crawl.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

DEFAULT_PAGES = Path("../shared/realpages")


@dataclass(frozen=True)
class RealPage:
    url: str
    path: Path
    with_: tuple[str, ...]
    without: tuple[str, ...]


@dataclass
class SnippetCounts:
    """Sums over a set of pages, as trafilatura's eval_common.py counts them."""

    tp: int = 0
    fn: int = 0
    fp: int = 0
    tn: int = 0
    pages: int = 0
    documents: int = 0  # pages that gave any text (or, for the pipeline, made a document)

    def add(self, text: str, page: RealPage, *, document: bool = True) -> None:
        tp, fn, fp, tn = snippet_counts(text, page.with_, page.without)
        self.tp += tp
        self.fn += fn
        self.fp += fp
        self.tn += tn
        self.pages += 1
        self.documents += bool(document)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def leak(self) -> float:
        return self.fp / (self.fp + self.tn) if self.fp + self.tn else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "leak": round(self.leak, 4),
        }


def snippet_counts(
    text: str | None, with_: Sequence[str], without: Sequence[str]
) -> tuple[int, int, int, int]:
    """(TP, FN, FP, TN) of one page: snippets are looked for as substrings of the output."""
    if not text:
        return 0, len(with_), 0, len(without)
    tp = sum(1 for s in with_ if s in text)
    fp = sum(1 for s in without if s in text)
    return tp, len(with_) - tp, fp, len(without) - fp


def load_pages(folder: Path) -> list[RealPage]:
    index = folder / "snippets.json"
    if not index.is_file():
        raise SystemExit(
            f"error: {index} not found: --pages must name a folder with snippets.json and "
            "the pages it lists (trafilatura's evaluation set, see README)"
        )
    data = json.loads(index.read_text(encoding="utf-8"))
    return [
        RealPage(url, folder / v["file"], tuple(v.get("with", ())), tuple(v.get("without", ())))
        for url, v in data.items()
    ]


def read_page(page: RealPage) -> bytes:
    raw = page.path.read_bytes()
    return gzip.decompress(raw) if page.path.suffix == ".gz" else raw


def host_of(url: str) -> str:
    """The page's site; the set's few pages without a real URL ("hard::name") are their own."""
    return (urlsplit(url).hostname or url).lower()


# -- offline ---------------------------------------------------------------------------------


def _offline_job(args: tuple[str, str]) -> dict[str, Any]:
    """Plain trafilatura and extract_html on one page (in a worker process)."""
    import trafilatura

    from pipelines.core.decode import decode_html
    from pipelines.core.extract import process_page

    url, path = args
    page = RealPage(url, Path(path), (), ())
    body = read_page(page)
    html = decode_html(body, None)
    plain = trafilatura.extract(html, include_comments=False) or ""
    x = process_page(body, None, url, None)
    return {
        "plain": plain,
        "text": x.text,
        "is_article": x.is_article,
        "reason": x.article_reason,
        "title": x.title,
        "error": x.error,
    }


def extract_all(pages: Sequence[RealPage], workers: int = 0) -> list[dict[str, Any]]:
    from pipelines.core.extract import make_pool, worker_count

    pool = make_pool(worker_count(workers))
    try:
        jobs = [(p.url, str(p.path)) for p in pages]
        return list(pool.map(_offline_job, jobs, chunksize=4))
    finally:
        pool.shutdown()


def furniture_step(pages: Sequence[RealPage], results: Sequence[dict[str, Any]]) -> list[str]:
    """The clean text of each article page (None for pages that make no document).

    What a crawl's end of run does, the way `python -m pipelines.extract` runs it
    (`clean_like_a_crawl`, the host as site); each result gets the lines removed as `removed`.
    """
    from pipelines.extract import clean_like_a_crawl

    cleaned = [{k: r[k] for k in ("is_article", "text", "title")} for r in results]
    clean_like_a_crawl(cleaned, [host_of(p.url) for p in pages])
    for r, c in zip(results, cleaned, strict=True):
        if r["is_article"]:
            r["removed"] = c["furniture_removed"]
    return [c["text"] if c["is_article"] else None for c in cleaned]


def evaluate_offline(pages: Sequence[RealPage], workers: int = 0) -> dict[str, Any]:
    results = extract_all(pages, workers)
    cleaned = furniture_step(pages, results)
    plain, alone, pipeline = SnippetCounts(), SnippetCounts(), SnippetCounts()
    for page, r, clean in zip(pages, results, cleaned, strict=True):
        plain.add(r["plain"], page, document=bool(r["plain"]))
        alone.add(r["text"], page, document=bool(r["text"]))
        pipeline.add(clean or "", page, document=clean is not None)
    return {
        "pages": len(pages),
        "trafilatura": plain.to_dict(),
        "extract_html": alone.to_dict(),
        "pipeline": pipeline.to_dict(),
        "not_articles": sorted(
            (p.url, r["reason"]) for p, r in zip(pages, results, strict=True) if not r["is_article"]
        ),
        "_results": results,  # per-page detail for diagnosis; not written to JSON
    }


def format_rows(title: str, rows: Iterable[tuple[str, dict[str, Any]]]) -> str:
    out = [title, f"  {'':<16}{'precision':>10}{'recall':>8}{'F1':>8}{'leak':>8}{'documents':>12}"]
    for name, d in rows:
        out.append(
            f"  {name:<16}{d['precision']:>10.4f}{d['recall']:>8.4f}{d['f1']:>8.4f}"
            f"{d['leak']:>8.4f}{d['documents']:>7} / {d['pages']}"
        )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.evaluate_real", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--pages",
        type=Path,
        default=DEFAULT_PAGES,
        help="folder with snippets.json and the pages (default: %(default)s)",
    )
    parser.add_argument(
        "--crawl", action="store_true", help="also serve the pages and crawl them (slower)"
    )
    parser.add_argument(
        "--data", type=Path, default=Path("data"), help="data folder (default: %(default)s)"
    )
    parser.add_argument("--workers", type=int, default=0, help="processes (0 = cores)")
    parser.add_argument(
        "--json", type=Path, help="where to write the JSON (default: DATA/evaluation-real.json)"
    )
    args = parser.parse_args(argv)
    pages = load_pages(args.pages)
    offline = evaluate_offline(pages, args.workers)
    offline.pop("_results")
    report: dict[str, Any] = {"pages_folder": str(args.pages), "offline": offline}
    print(
        format_rows(
            f"Real pages ({args.pages}), offline: {len(pages)} pages",
            [(k, offline[k]) for k in ("trafilatura", "extract_html", "pipeline")],
        )
    )
    if args.crawl:
        from pipelines.realweb import crawl_and_score

        crawl = crawl_and_score(pages, args.pages, args.data, args.workers)
        report["crawl"] = crawl
        print()
        print(
            format_rows(
                f"Real pages, crawled at their own URLs on a loopback proxy: "
                f"{crawl['served']} pages served",
                [(k, crawl[k]) for k in ("trafilatura", "pipeline")],
            )
        )
    out = args.json or args.data / "evaluation-real.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"\nwritten: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
