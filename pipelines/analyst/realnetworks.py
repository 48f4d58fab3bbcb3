"""The site networks found in a set of real pages (`../shared/realpages/`, one page per URL).

`python -m pipelines.analyst.realnetworks [--realpages DIR]` reads each page's ids and template
as the `sites` view does (pipelines/analyst/sites.py), links the sites as the view does (no
furniture: a single page per site has no recurring lines), and prints the groups with the
reason that linked them. Two pages of one site (trafilatura's set names some `hard::...`)
count as two sites, so such a pair is a group that is right by construction.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pipelines.analyst import sites as S

DEFAULT = Path(__file__).resolve().parents[2] / ".." / "shared" / "realpages"


def site_of(url: str) -> str:
    """The site a page of the set stands for: its host without `www.`, or the `hard::` name."""
    if url.startswith("hard::"):
        return url.removeprefix("hard::").removesuffix(".html")
    return (urlsplit(url).hostname or url).lower().removeprefix("www.")


def real_networks(folder: Path) -> dict[str, Any]:
    snippets = json.loads((folder / "snippets.json").read_text(encoding="utf-8"))
    ids: dict[str, set[str]] = {}
    pages: dict[str, list[set[str]]] = {}
    for url, entry in snippets.items():
        body = gzip.decompress((folder / entry["file"]).read_bytes())
        site = site_of(url)
        found = S.page_ids(body.decode("utf-8", "replace"))
        ids.setdefault(site, set()).update(found["analytics"], found["ads"])
        pages.setdefault(site, []).append(S.template_tokens(body))
    templates = {site: S.site_template(p) for site, p in pages.items()}
    by_id: dict[str, set[str]] = {}
    for site, values in ids.items():
        for value in values:
            by_id.setdefault(value, set()).add(site)
    common = S.common_ids({k: len(v) for k, v in by_id.items()}, len(ids))
    pairs = {p for members in by_id.values() for p in itertools.combinations(sorted(members), 2)}
    links = []
    for a, b in sorted(pairs):
        row = {
            "site_a": a,
            "site_b": b,
            "shared_ids": sorted(ids[a] & ids[b]),
            "shared_furniture": [],
            "template_similarity": S.jaccard(templates[a], templates[b]),
        }
        row["link_reason"] = S.link_reason(row, common)
        links.append(row)
    network_of = S.networks(ids, links)
    groups: dict[str, list[str]] = {}
    for site, name in network_of.items():
        groups.setdefault(name, []).append(site)
    return {
        "pages": len(snippets),
        "sites": len(ids),
        "sites_with_ids": sum(1 for v in ids.values() if v),
        "common_ids": sorted(common),
        "groups": [
            {
                "sites": sorted(members),
                "reasons": sorted(
                    {r["link_reason"] for r in links if r["link_reason"] and r["site_a"] in members}
                ),
            }
            for _, members in sorted(groups.items())
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.analyst.realnetworks", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--realpages", type=Path, default=DEFAULT, help="default: %(default)s")
    args = parser.parse_args(argv)
    if not (args.realpages / "snippets.json").is_file():
        print(
            f"error: {args.realpages} holds no snippets.json (the real pages set)", file=sys.stderr
        )
        return 2
    out = real_networks(args.realpages)
    print(
        f"{out['pages']} pages, {out['sites']} sites, {out['sites_with_ids']} with analytics or ad "
        f"ids; ids too common to link: {', '.join(out['common_ids']) or 'none'}"
    )
    print(f"{len(out['groups'])} groups of linked sites:")
    for group in out["groups"]:
        print(f"  {', '.join(group['sites'])}  ({'; '.join(group['reasons'])})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
