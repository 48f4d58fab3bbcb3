"""Is a fetched page an article? Plain functions over the page's own signals.

Only articles become documents; home, section, tag, search and feed pages are still stored in
`pages`. The decision uses, strongest first:

1. what the page says of itself: JSON-LD `@type` (NewsArticle, Article, ...) or `og:type`;
2. what discovery said: a URL listed in a feed item or a news-sitemap entry is an article;
3. its shape: an article has a block of running prose; a listing page has teasers and links.

Real pages declare themselves badly: many real articles say `og:type=website` or declare
nothing (README, "Quality on real pages"). So a page with a paragraph of running prose is an
article whatever it declares, and the share of link text (big navigation menus) does not count
against it; what the demo web's home, section, tag and search pages hold are teasers of at most
15 words.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from lxml import html as lxml_html

ARTICLE_TYPES = {
    "article",
    "newsarticle",
    "reportagenewsarticle",
    "analysisnewsarticle",
    "opinionnewsarticle",
    "blogposting",
    "report",
}
MIN_ARTICLE_PARAGRAPH = 20  # words of running text in one block
LISTING_TYPES = {
    "website",
    "webpage",
    "collectionpage",
    "itemlist",
    "searchresultspage",
    "profilepage",
}


@dataclass(frozen=True)
class PageSignals:
    schema_types: tuple[str, ...]  # JSON-LD @type values, lower case
    og_type: str | None
    link_text_share: float  # share of the body's words that sit inside <a>
    body_words: int
    prose_paragraphs: int  # blocks with >= 12 words of their own running text (not links)
    longest_paragraph: int = 0  # words of running text in the longest such block

    def to_dict(self) -> dict[str, object]:
        return {
            "schema_types": list(self.schema_types),
            "og_type": self.og_type,
            "link_text_share": round(self.link_text_share, 4),
            "body_words": self.body_words,
            "prose_paragraphs": self.prose_paragraphs,
            "longest_paragraph": self.longest_paragraph,
        }


def json_ld(tree: lxml_html.HtmlElement) -> list[object]:
    """The parsed value of each JSON-LD block of a page (unparsable blocks are skipped).

    Parsed once per page: `page_signals` reads the types, `origin.provenance_hints` the
    provenance (isBasedOn, sourceOrganization, datePublished)."""
    values: list[object] = []
    for script in tree.xpath('//script[@type="application/ld+json"]'):
        try:
            values.append(json.loads(script.text_content() or "null"))
        except ValueError:
            continue
    return values


def page_signals(tree: lxml_html.HtmlElement, ld: list[object] | None = None) -> PageSignals:
    """Read the signals from a parsed page (does not modify the tree); ``ld``: its `json_ld`."""
    types: list[str] = []
    for data in json_ld(tree) if ld is None else ld:
        types.extend(_ld_types(data))
    og = tree.xpath('string(//meta[@property="og:type"]/@content)').strip().lower() or None
    body = tree.find("body")
    if body is None:
        body = tree
    total = _words(body.xpath(".//text()[not(ancestor::script or ancestor::style)]"))
    link = _words(body.xpath(".//a//text()"))
    prose = longest = 0
    for el in body.iter(*_BLOCKS):
        words = _own_words(el)
        if words >= 12:
            prose += 1
        longest = max(longest, words)
    return PageSignals(
        schema_types=tuple(sorted(set(types))),
        og_type=og,
        link_text_share=(link / total) if total else 1.0,
        body_words=total,
        prose_paragraphs=prose,
        longest_paragraph=longest,
    )


_BLOCKS = ("p", "div", "td", "li", "section", "article", "blockquote", "main", "font")
_INLINE = {
    "b",
    "i",
    "em",
    "strong",
    "span",
    "q",
    "small",
    "sup",
    "sub",
    "u",
    "mark",
    "abbr",
    "time",
}


# Chinese and Japanese do not separate words by spaces: about two such characters make a word.
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def word_count(text: str) -> int:
    """Whitespace words, with runs of CJK characters counted as about two characters a word."""
    if not text:
        return 0
    n = len(text.split())
    if text.isascii():  # no CJK: skip the regex (called for every block and text node)
        return n
    cjk = len(_CJK.findall(text))
    return n + cjk // 2 if cjk else n


def _own_words(el: lxml_html.HtmlElement) -> int:
    """Words of an element's own running text: its text, inline children, tails; no links."""
    n = word_count(el.text or "")
    for child in el:
        if isinstance(child.tag, str) and child.tag in _INLINE:
            n += word_count(child.text_content()) - sum(
                word_count(a.text_content()) for a in child.iter("a")
            )
        n += word_count(child.tail or "")
    return n


def _words(texts: list[str]) -> int:
    return sum(word_count(t) for t in texts)


def _ld_types(data: object) -> list[str]:
    out: list[str] = []
    if isinstance(data, list):
        for x in data:
            out.extend(_ld_types(x))
    elif isinstance(data, dict):
        t = data.get("@type")
        if isinstance(t, str):
            out.append(t.lower())
        elif isinstance(t, list):
            out.extend(str(x).lower() for x in t)
        if "@graph" in data:
            out.extend(_ld_types(data["@graph"]))
    return out


def classify(signals: PageSignals, hint: str | None, text_words: int) -> tuple[bool, str]:
    """Return (is_article, reason). `text_words` is the extractor's word count for the page."""
    if ARTICLE_TYPES & set(signals.schema_types):
        return True, "json-ld"
    if signals.og_type == "article":
        return True, "og:type"
    if text_words == 0:
        return False, "no-text"
    if hint == "article":
        return True, "discovery"
    # Listing pages (home, section, tag, search) carry teasers and notices of at most about 15
    # words on the demo web; its shortest article paragraphs (excerpts) had 24. A page with one
    # real paragraph of running text is an article, even one that calls itself a website.
    if signals.longest_paragraph >= MIN_ARTICLE_PARAGRAPH:
        return True, "shape"
    if LISTING_TYPES & set(signals.schema_types) or signals.og_type in ("website", "profile"):
        return False, "declared-listing"
    return False, "shape"
