"""`make evaluate`: score a demo-web crawl against the demo web's ground truth.

    python -m pipelines.evaluate --crawl [--seed 1 --sites 12 --stories 300] [--data data]
    python -m pipelines.evaluate --data DIR      # score an existing demo-web crawl in DIR

With `--crawl`, a fresh crawl of that demo web goes to `DATA/evaluation/seed<S>-sites<N>-
stories<K>/` (your own `DATA` datasets are not touched). The table is printed and written to
`DATA/evaluation.json` (keys listed in README). Plain trafilatura is scored on the same stored
pages in the same run, so every extraction figure has its baseline beside it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterable
from itertools import combinations
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from pipelines.core.decode import decode_html
from pipelines.core.extract import make_pool, worker_count
from pipelines.core.metrics import (
    EvaluationSummary,
    ExtractionCase,
    network_scores,
    score_extraction,
    summarise,
)
from pipelines.core.urls import canonicalise_url
from pipelines.storage.store import decompress_html, read_table

COPY_KINDS = ("verbatim", "excerpt", "edited", "ads_inserted")


def _baseline_job(args: tuple[bytes, str | None]) -> str:
    """Plain trafilatura, as a user would call it, on one stored page."""
    import trafilatura

    body, content_type = args
    html = decode_html(decompress_html(body), content_type)
    return trafilatura.extract(html, include_comments=False) or ""


def baseline_texts(bodies: list[tuple[bytes, str | None]], workers: int = 0) -> list[str]:
    pool = make_pool(worker_count(workers))
    try:
        return list(pool.map(_baseline_job, bodies, chunksize=8))
    finally:
        pool.shutdown()


def _paragraphs(clean: str) -> list[str]:
    return [p for p in clean.split("\n") if p.strip()]


def _pairs_within(groups: Iterable[list[str]]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for members in groups:
        out.extend(combinations(sorted(members), 2))
    return out


def evaluate(
    data_dir: Path, truth_path: Path, web: dict[str, int], workers: int = 0
) -> EvaluationSummary:
    truth = pq.read_table(truth_path).to_pylist()
    by_url = {canonicalise_url(r["url"]): r for r in truth}
    articles = {
        u: r for u, r in by_url.items() if r["page_kind"] == "article" and not r["disallowed"]
    }

    docs = read_table(data_dir, "documents").select(["url", "text", "cluster_id", "run_id"])
    clusters = read_table(data_dir, "clusters").to_pylist()
    pages = read_table(data_dir, "pages").to_pylist()

    # A page that changed has one documents row per version: score the latest version against
    # the latest 200 answer of its page. Cluster ids come from the current clusters table
    # (a document's cluster may have been merged into an older one since it was written).
    live = {c["cluster_id"]: c["merged_into"] or c["cluster_id"] for c in clusters}
    doc_by_url: dict[str, dict[str, Any]] = {}
    for d in sorted(docs.to_pylist(), key=lambda d: d["run_id"]):
        d["cluster_id"] = live.get(d["cluster_id"], d["cluster_id"])
        doc_by_url[canonicalise_url(d["url"])] = d
    fetched_ok: dict[str, dict[str, Any]] = {}
    for p in sorted(pages, key=lambda p: (p["run_id"], p["fetched_at"])):
        if p["status"] == 200 and p["html"] is not None:
            fetched_ok[canonicalise_url(p["final_url"])] = p

    # extraction, on every truth article that became a document, with plain trafilatura beside it
    scored = sorted(u for u in articles if u in doc_by_url and u in fetched_ok)
    if not scored:
        raise SystemExit(f"error: no document of {data_dir} matches the ground truth {truth_path}")
    cases = []
    bodies = []
    for u in scored:
        t = articles[u]
        cases.append((t["clean_text"], list(t["furniture"] or []), _paragraphs(t["clean_text"])))
        p = fetched_ok[u]
        bodies.append((p["html"], p["content_type"]))
    ours = score_extraction(
        ExtractionCase(doc_by_url[u]["text"], c, f, ps)
        for u, (c, f, ps) in zip(scored, cases, strict=True)
    )
    base = baseline_texts(bodies, workers)
    baseline = score_extraction(
        ExtractionCase(b, c, f, ps) for b, (c, f, ps) in zip(base, cases, strict=True)
    )

    # grouping, over article documents that the truth knows
    keys = sorted(u for u in articles if u in doc_by_url)
    true_labels = [articles[u]["family_id"] for u in keys]
    pred = {u: doc_by_url[u]["cluster_id"] for u in keys}
    pred_labels = [pred[u] for u in keys]
    family_members: dict[str, list[str]] = defaultdict(list)
    for u in keys:
        family_members[articles[u]["family_id"]].append(u)
    copy_pairs: dict[str, list[tuple[str, str]]] = {k: [] for k in COPY_KINDS}
    for u in keys:
        t = articles[u]
        kind = t["copy_kind"]
        original = canonicalise_url(t["original_url"]) if t["original_url"] else None
        if kind in copy_pairs and original and original != u and original in pred:
            copy_pairs[kind].append((original, u))
    by_story: dict[Any, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for u in keys:
        by_story[articles[u]["story_id"]][articles[u]["family_id"]].append(u)
    rewrite_pairs = [
        (a, b)
        for fams in by_story.values()
        if len(fams) > 1
        for fa, fb in combinations(sorted(fams), 2)
        for a in fams[fa]
        for b in fams[fb]
    ]
    by_negative: dict[str, list[str]] = defaultdict(list)
    for u in keys:
        if articles[u].get("hard_negative_group"):
            by_negative[articles[u]["hard_negative_group"]].append(u)
    negative_pairs = [
        (a, b)
        for members in by_negative.values()
        for a, b in combinations(sorted(members), 2)
        if articles[a]["family_id"] != articles[b]["family_id"]
    ]

    # origin: clusters of two or more documents; right when the named origin is the true
    # original of the cluster's majority family
    origin_right = origin_total = 0
    members_of: dict[str, list[str]] = defaultdict(list)
    for u in keys:
        members_of[pred[u]].append(u)
    for c in clusters:
        members = members_of.get(c["cluster_id"], [])
        if len(members) < 2 or not c.get("origin_url"):
            continue
        fams: dict[str, int] = defaultdict(int)
        for u in members:
            fams[articles[u]["family_id"]] += 1
        family = max(fams.items(), key=lambda kv: (kv[1], kv[0]))[0]
        true_origin = canonicalise_url(articles[family_members[family][0]]["original_url"])
        origin_total += 1
        origin_right += canonicalise_url(c["origin_url"]) == true_origin

    networks = _network_scores(data_dir, web)
    non_article_docs = sum(1 for u in doc_by_url if u not in articles)
    fetched_articles = [u for u in articles if u in fetched_ok]
    return summarise(
        extraction=ours,
        baseline=baseline,
        true_labels=true_labels,
        pred_labels=pred_labels,
        copy_pairs_by_kind=copy_pairs,
        rewrite_pairs=rewrite_pairs,
        hard_negative_pairs=negative_pairs,
        pred_by_key=pred,
        article_pages=max(len(fetched_articles), 1),
        article_pages_as_documents=sum(1 for u in fetched_articles if u in doc_by_url),
        non_article_pages_as_documents=non_article_docs,
        origin_accuracy=origin_right / origin_total if origin_total else None,
        seed=web["seed"],
        sites=web["sites"],
        stories=web["stories"],
    ).with_networks(networks)


def _network_scores(data_dir: Path, web: dict[str, Any]) -> dict[str, Any]:
    """`network_scores` of the crawl's `sites` view against the web's planted network."""
    from demoweb.world import make_sites
    from pipelines.analyst.views import publish_views, view_path, views_stale

    if views_stale(data_dir):
        publish_views(data_dir)
    planted = {s.host: s.network for s in make_sites(web["seed"], web["sites"])}
    path = view_path(data_dir, "sites")
    rows = pq.read_table(path, columns=["domain", "network_id"]).to_pylist()
    found = {r["domain"]: r["network_id"] for r in rows}
    return network_scores(found, planted)


def format_table(s: EvaluationSummary) -> str:
    d = s.to_dict()
    lines = [
        f"Demo web: seed {s.seed}, {s.sites} sites, {s.stories} stories; "
        f"{s.n_documents} documents in {s.n_clusters} clusters",
        "",
        f"{'extraction (article pages)':<34}{'pipeline':>10}{'trafilatura':>13}",
    ]
    for key, label in (
        ("extraction_precision", "token precision"),
        ("extraction_recall", "token recall"),
        ("extraction_f1", "token F1"),
        ("leak_share", "furniture leak share"),
        ("body_loss", "body loss"),
    ):
        lines.append(f"  {label:<32}{d[key]:>10.4f}{d['baseline_' + key]:>13.4f}")
    lines += ["", "grouping"]
    for key in ("pairwise_precision", "pairwise_recall", "pairwise_f1", "ari"):
        lines.append(f"  {key.replace('_', ' '):<32}{d[key]:>10.4f}")
    for kind, value in sorted(s.recall_by_copy_kind.items()):
        lines.append(f"  {'recall, ' + kind:<32}{_fmt(value):>10}")
    lines.append(f"  {'false merge share':<32}{_fmt(s.false_merge_share):>10}")
    lines.append(f"  {'  rewrite pairs merged':<32}{s.false_merges_rewrite:>10}")
    lines.append(f"  {'  hard-negative pairs merged':<32}{s.false_merges_hard_negative:>10}")
    lines += ["", "pages and origins"]
    lines.append(f"  {'article pages -> documents':<32}{s.article_pages_as_documents:>10.4f}")
    lines.append(f"  {'non-article pages -> documents':<32}{s.non_article_pages_as_documents:>10}")
    lines.append(f"  {'origin right (clusters >= 2)':<32}{_fmt(s.origin_accuracy):>10}")
    lines += ["", "site networks (sites.network_id)"]
    lines.append(f"  {'pairs precision':<32}{_fmt(s.network_pair_precision):>10}")
    lines.append(f"  {'pairs recall':<32}{_fmt(s.network_pair_recall):>10}")
    found = f"{s.networks_found_exactly} of {s.networks_planted}"
    lines.append(f"  {'planted networks found exactly':<32}{found:>10}")
    return "\n".join(lines)


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4f}"


def crawl_demo(
    data_dir: Path, seed: int, sites: int, stories: int, bench: bool = True, heavy: bool = False
) -> Path:
    """A fresh crawl of one demo web into its own folder under `data_dir/evaluation/`."""
    name = f"seed{seed}-sites{sites}-stories{stories}" + ("-heavy" if heavy else "")
    out = data_dir / "evaluation" / name
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    sources = out / "sources.yaml"
    extra = ", heavy: true" if heavy else ""
    sources.write_text(
        f"demo_web: {{seed: {seed}, sites: {sites}, stories: {stories}, day: 1{extra}}}\n"
    )
    cmd = [
        sys.executable,
        "-m",
        "crawler.run",
        "--sources",
        str(sources),
        "--data",
        str(out / "data"),
        "--quiet",
    ]
    if bench:
        cmd.append("--bench")
    subprocess.run(cmd, check=True)
    return out / "data"


def find_truth(data_dir: Path) -> tuple[Path, dict[str, int]]:
    info = data_dir / "demo-web" / "web.json"
    if not info.is_file():
        raise SystemExit(
            f"error: {data_dir} holds no demo-web crawl ({info} is missing); "
            "run `make evaluate` to crawl one, or `make crawl` with the default sources"
        )
    web = json.loads(info.read_text())
    truth = data_dir / "demo-web" / web["truth"]
    if not truth.is_file():  # deterministic: written from the web's parameters when first needed
        from demoweb import DemoWeb
        from demoweb.truth import write_truth

        params = {k: web[k] for k in ("seed", "sites", "stories", "day")}
        write_truth(DemoWeb(**params, heavy=bool(web.get("heavy", False))), truth)
    return truth, web


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.evaluate", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--data", type=Path, default=Path("data"), help="data folder (default: %(default)s)"
    )
    parser.add_argument("--crawl", action="store_true", help="crawl a fresh demo web first")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sites", type=int, default=12)
    parser.add_argument("--stories", type=int, default=300)
    parser.add_argument(
        "--heavy",
        action="store_true",
        help="crawl the heavy demo web (pages as heavy as real ones)",
    )
    parser.add_argument(
        "--workers", type=int, default=0, help="processes for the baseline (0 = cores)"
    )
    parser.add_argument(
        "--json", type=Path, help="where to write the JSON (default: DATA/evaluation.json)"
    )
    args = parser.parse_args(argv)
    crawled = (
        crawl_demo(args.data, args.seed, args.sites, args.stories, heavy=args.heavy)
        if args.crawl
        else args.data
    )
    truth_path, web = find_truth(crawled)
    summary = evaluate(crawled, truth_path, web, args.workers)
    print(format_table(summary))
    outs = [args.json or args.data / "evaluation.json"]
    if args.crawl:  # also next to that web's crawl, so several webs can be compared
        outs.append(crawled.parent / "evaluation.json")
    for out in outs:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(summary.to_json(indent=2) + "\n")
    print(f"\nwritten: {', '.join(map(str, outs))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
