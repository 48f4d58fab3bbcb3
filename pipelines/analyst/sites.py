"""What a site's pages say about who runs it, and which sites look run together (plain functions).

Researchers find networks of outlets run by one operator (the "pink slime" local-news networks)
by what the outlets share behind the articles:

- **ids**: the analytics and advertising accounts a page loads, read from its HTML: Google
  Analytics (`UA-1234567-1`, GA4 `G-XXXXXXXXXX`), Google Tag Manager (`GTM-XXXXXXX`) and AdSense
  publisher ids (`ca-pub-<digits>`, also written `pub-<digits>` in ads.txt-style snippets);
- **a template**: the markup skeleton of the pages, as the set of `tag.class` / `tag#id` names
  and stylesheet paths found on most of a site's pages (`template_tokens`); two sites' template
  similarity is the Jaccard similarity of those sets;
- **furniture lines**: the lines the furniture model removed on many of a site's documents
  (pipelines/core/furniture.py), such as a shared footer or "part of the X network" line.

`link_reason` says whether a pair of sites is linked (an analytics id in common; an AdSense id
with a second sign; near-identical templates with furniture in common) and `networks` returns
the connected components of the linked pairs (networkx). A template alone does not link two
sites: unrelated outlets run the same stock theme. Copies between two sites do not link them
either: syndication is what the rest of the product tracks. An id on many of the sites seen
(`common_ids`) is a platform's or an ad network's and links nothing.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import networkx as nx
from lxml import html as lxml_html

# Ids as they appear in tags and scripts. GA4 and GTM ids need a digit: an all-letter
# "G-ABCDEFGH" is more likely a word than an account.
ID_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("analytics", re.compile(r"\bUA-\d{4,10}-\d{1,4}\b")),
    ("analytics", re.compile(r"\bG-(?=[A-Z]*\d)[A-Z0-9]{8,12}\b")),
    ("analytics", re.compile(r"\bGTM-(?=[A-Z]*\d)[A-Z0-9]{4,9}\b")),
    ("ads", re.compile(r"\b(?:ca-)?pub-\d{10,20}\b")),
)
TEMPLATE_SHARE = 0.5  # a token on at least half of a site's sampled pages is its template
TEMPLATE_LINK = 0.8  # template similarity at which shared furniture links two sites
AD_ID_TEMPLATE = 0.5  # template similarity at which a shared AdSense id links two sites
MIN_SHARED_FURNITURE = 1
COMMON_ID_SITES = 10  # an id on more sites than this and than COMMON_ID_SHARE of them
COMMON_ID_SHARE = 0.01  # is a platform's or an ad network's (common_ids)
MAX_TOKENS_PER_PAGE = 2_000


def page_ids(html: str) -> dict[str, list[str]]:
    """The analytics and ad ids in one page's HTML: {"analytics": [...], "ads": [...]}, each
    sorted and distinct; AdSense ids are given as `ca-pub-<digits>`."""
    out: dict[str, set[str]] = {"analytics": set(), "ads": set()}
    for kind, pattern in ID_PATTERNS:
        for found in pattern.findall(html):
            if kind == "ads" and not found.startswith("ca-"):
                found = "ca-" + found
            out[kind].add(found)
    return {kind: sorted(values) for kind, values in out.items()}


def template_tokens(html: str) -> set[str]:
    """The markup names of one page: `tag.class` for each class, `tag#id`, and the path of each
    stylesheet; ids and classes with digits beyond a short suffix (generated per article) are
    left out."""
    try:
        tree = lxml_html.fromstring(html)
    except (ValueError, lxml_html.etree.ParserError):
        return set()
    tokens: set[str] = set()
    for el in tree.iter():
        tag = el.tag if isinstance(el.tag, str) else None
        if tag is None:
            continue
        for name in (el.get("class") or "").split():
            if not _generated(name):
                tokens.add(f"{tag}.{name}")
        ident = el.get("id")
        if ident and not _generated(ident):
            tokens.add(f"{tag}#{ident}")
        if tag == "link" and "stylesheet" in (el.get("rel") or "").lower():
            path = urlsplit(el.get("href") or "").path
            if path:
                tokens.add(f"css:{path}")
        if len(tokens) >= MAX_TOKENS_PER_PAGE:
            break
    return tokens


def _generated(name: str) -> bool:
    """A class or id that names one article or one render (post-12345, a hash) rather than the
    template: more than four digits, or longer than 40 characters."""
    return len(name) > 40 or sum(ch.isdigit() for ch in name) > 4


def site_template(pages: Sequence[set[str]], share: float = TEMPLATE_SHARE) -> set[str]:
    """The tokens found on at least `share` of a site's pages (all of them for one page)."""
    if not pages:
        return set()
    counts = Counter(token for page in pages for token in page)
    need = max(1, share * len(pages))
    return {token for token, n in counts.items() if n >= need}


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def recurring(values: Iterable[str | None], min_count: int, limit: int) -> list[str]:
    """Values seen at least `min_count` times, most frequent first (ties by value), at most
    `limit` of them."""
    counts = Counter(v for v in values if v)
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return [v for v, n in ranked if n >= min_count][:limit]


def common_ids(id_sites: Mapping[str, int], n_sites: int) -> set[str]:
    """Ids found on more than `COMMON_ID_SITES` sites and more than `COMMON_ID_SHARE` of all
    sites: a platform's own tracker (WordPress.com's `UA-52447-2` is on every *.wordpress.com
    blog) or an ad network's account, which says nothing about who runs a site."""
    cap = max(COMMON_ID_SITES, COMMON_ID_SHARE * n_sites)
    return {value for value, n in id_sites.items() if n > cap}


def link_reason(link: Mapping[str, Any], common: set[str] = frozenset()) -> str | None:  # type: ignore[assignment]
    """Why a `site_links` row puts both sites in one network, or None when it does not.

    - an analytics or tag manager id in common (a property is set up for one operator's sites);
    - an AdSense id in common with a second sign (another id, a template similarity of at least
      `AD_ID_TEMPLATE`, or a furniture line): platforms and plugins put one AdSense account on
      the pages of unrelated sites;
    - near-identical templates (`TEMPLATE_LINK`) with a furniture line in common.
    Ids in `common` (see `common_ids`) count for nothing.
    """
    shared = [i for i in link["shared_ids"] if i not in common]
    analytics = [i for i in shared if not i.startswith("ca-pub-")]
    template = link["template_similarity"]
    furniture = len(link["shared_furniture"]) >= MIN_SHARED_FURNITURE
    if analytics:
        return "analytics id"
    if shared and (len(shared) > 1 or template >= AD_ID_TEMPLATE or furniture):
        return "ad id and " + (
            "another id"
            if len(shared) > 1
            else "template"
            if template >= AD_ID_TEMPLATE
            else "furniture"
        )
    if template >= TEMPLATE_LINK and furniture:
        return "template and furniture"
    return None


def networks(domains: Iterable[str], links: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """domain -> network id for every site in a group of two or more sites joined by links with
    a `link_reason`; the id is `net:` and the group's first domain in sorted order."""
    graph = nx.Graph()
    graph.add_nodes_from(domains)
    graph.add_edges_from((row["site_a"], row["site_b"]) for row in links if row["link_reason"])
    out: dict[str, str] = {}
    for component in nx.connected_components(graph):
        if len(component) < 2:
            continue
        name = "net:" + min(component)
        out.update(dict.fromkeys(component, name))
    return out
