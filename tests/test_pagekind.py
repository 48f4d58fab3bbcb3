"""Is a page an article (pipelines/core/pagekind.py): its signals and the decision."""

from __future__ import annotations

from lxml import html as lxml_html

from pipelines.core.pagekind import PageSignals, classify, json_ld, page_signals, word_count

PROSE = (
    "The council voted on Tuesday to close the old bridge for repairs after engineers found "
    "cracks in two of its supports, and traffic will move to the ferry until spring."
)


def tree(body: str, head: str = "") -> lxml_html.HtmlElement:
    return lxml_html.fromstring(f"<html><head>{head}</head><body>{body}</body></html>")


def signals(**kw: object) -> PageSignals:
    base: dict[str, object] = dict(
        schema_types=(), og_type=None, link_text_share=0.1, body_words=300, prose_paragraphs=3
    )
    return PageSignals(**{**base, **kw})  # type: ignore[arg-type]


def test_json_ld_is_read_once_and_broken_blocks_are_skipped() -> None:
    t = tree(
        "<p>x</p>",
        '<script type="application/ld+json">{"@graph": [{"@type": ["NewsArticle", "X"]}]}'
        '</script><script type="application/ld+json">{not json</script>'
        '<meta property="og:type" content="Article">',
    )
    ld = json_ld(t)
    assert len(ld) == 1
    s = page_signals(t, ld)
    assert s.schema_types == ("newsarticle", "x") and s.og_type == "article"
    assert page_signals(t) == s  # without ld it parses the blocks itself


def test_prose_counts_own_words_not_links() -> None:
    teasers = "".join(f'<li><a href="/s{i}">A teaser headline of some eight words {i}</a></li>'
                      for i in range(20))  # fmt: skip
    listing = page_signals(tree(f"<ul>{teasers}</ul><p>Short notice.</p>"))
    assert listing.longest_paragraph < 12 and listing.link_text_share > 0.9
    article = page_signals(tree(f"<nav>{teasers}</nav><p>{PROSE} <b>{PROSE}</b></p>"))
    assert article.longest_paragraph == 2 * len(PROSE.split()) and article.prose_paragraphs >= 1


def test_the_decision_strongest_signal_first() -> None:
    assert classify(signals(schema_types=("newsarticle",)), None, 0) == (True, "json-ld")
    assert classify(signals(og_type="article"), None, 0) == (True, "og:type")
    assert classify(signals(), "article", 0) == (False, "no-text")
    assert classify(signals(), "article", 50) == (True, "discovery")
    # one real paragraph wins over a page that calls itself a website
    assert classify(signals(og_type="website", longest_paragraph=25), None, 300) == (True, "shape")
    assert classify(signals(og_type="website", longest_paragraph=10), None, 300) == (
        False,
        "declared-listing",
    )
    assert classify(signals(longest_paragraph=19), None, 300) == (False, "shape")


def test_cjk_words_are_counted_without_spaces() -> None:
    assert word_count("one two three") == 3
    assert word_count("東京都は月曜日に新しい計画を発表した") == 1 + 18 // 2
    assert word_count("") == 0
