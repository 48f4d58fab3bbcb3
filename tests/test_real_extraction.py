"""What real pages taught the extractor and the furniture step (issue 11), as plain functions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lxml import html as lxml_html

from demoweb import DemoWeb
from pipelines import extract
from pipelines.core.extract import extract_html, remove_embeds, unwrap_layout_tables
from pipelines.core.furniture import FurnitureModel, clean_text, shape_key
from pipelines.core.pagekind import classify, page_signals, word_count

PROSE = (
    "The council met on Tuesday evening and voted by seven to two to approve the new budget, "
    "which raises spending on schools and roads while keeping the local tax rate unchanged."
)


def test_lines_of_one_template_on_one_page_are_not_furniture() -> None:
    """Tour dates: one template filled many ways, but on one page of one copy family."""
    model = FurnitureModel()
    dates = [  # one template: "X X - X, X @ X X"
        "June 9 \u2013 Tampa, FL @ Coral Amphitheatre",
        "June 10 \u2013 Miami, FL @ Bayfront Park",
        "June 12 \u2013 Atlanta, GA @ Lakewood Amphitheatre",
        "June 13 \u2013 Raleigh, NC @ Walnut Creek",
    ]
    assert len({shape_key(d) for d in dates}) == 1
    model.observe("band.test", "p1", [PROSE, *dates])
    model.observe_clusters("c1", [PROSE, *dates])
    kept, removed = clean_text([PROSE, *dates], "band.test", model)
    assert removed == [] and kept == [PROSE, *dates]


def test_a_promo_template_in_three_families_is_furniture_anywhere() -> None:
    model = FurnitureModel()
    # (names are masked word by word: outlets of two words share one template)
    for cluster, outlet in (("c1", "Harbor Ledger"), ("c2", "Midland Review"), ("c3", "Elm Post")):
        assert not model.is_furniture("new.test", "Read the rest of the story on Oak Times")
        model.observe_clusters(cluster, [f"Read the rest of the story on {outlet}"])
    assert model.is_furniture("new.test", "Read the rest of the story on Oak Times")
    # a template that keeps almost no words of its own never counts across sites
    for cluster, line in (("c1", "Aufbau und Inhalt"), ("c2", "Ablauf und Kosten"), ("c3", "A")):
        model.observe_clusters(cluster, [line])
    model.observe_clusters("c4", ["Ziele und Wege"])
    assert not model.is_furniture("new.test", "Fragen und Antworten")


def test_embedded_social_posts_are_removed_and_recorded() -> None:
    page = f"""<html><body><article><p>{PROSE}</p>
    <blockquote class="twitter-tweet"><p>BREAKING: No NATO membership pic.twitter.com/pkVq</p>
    &mdash; Libs of TikTok (@libsoftiktok) <a href="#">February 12, 2025</a></blockquote>
    <blockquote class="instagram-media"><p>Sieh dir diesen Beitrag auf Instagram an</p></blockquote>
    <iframe src="https://www.youtube.com/embed/xyz"></iframe>
    <p>{PROSE.replace("Tuesday", "Friday")}</p></article></body></html>"""
    x = extract_html(page, "https://news.test/a")
    assert "pic.twitter.com" not in x.text and "Instagram" not in x.text
    assert "Friday" in x.text and "Tuesday" in x.text
    assert len(x.markup_removed) == 3
    assert x.markup_removed[0].startswith("BREAKING: No NATO membership")
    assert x.markup_removed[2] == "embed: https://www.youtube.com/embed/xyz"


def test_a_theme_class_named_like_an_embed_on_the_article_is_kept() -> None:
    words = " ".join([PROSE] * 20)  # far longer than any post
    tree = lxml_html.fromstring(f'<html><body><div class="fb-post"><p>{words}</p></div></body>')
    assert remove_embeds(tree) == []
    assert PROSE in tree.text_content()


def test_layout_tables_are_unwrapped_and_data_tables_kept() -> None:
    tree = lxml_html.fromstring(
        "<html><body><table><tr><td><p><a href='/'>Home</a></p><p><a href='/n'>News</a></p></td>"
        f"<td><p>{PROSE}</p><p>{PROSE}</p>"
        "<table><tr><th>Team</th><th>Points</th></tr><tr><td>Ajax</td><td>12</td></tr></table>"
        "</td></tr></table></body></html>"
    )
    assert unwrap_layout_tables(tree) == 1
    tables = tree.xpath("//table")
    assert len(tables) == 1 and "Ajax" in tables[0].text_content()


def test_real_content_pages_are_articles_whatever_they_declare() -> None:
    page = (
        '<html><head><meta property="og:type" content="website"></head><body>'
        f"<nav>{'<a href=/x>Link text here</a> ' * 80}</nav><p>{PROSE}</p></body></html>"
    )
    signals = page_signals(lxml_html.fromstring(page))
    assert signals.link_text_share > 0.5
    assert classify(signals, None, 40) == (True, "shape")
    listing = (
        '<html><head><meta property="og:type" content="website"></head><body>'
        + "<p><a href=/a>A headline of a story</a> A teaser of ten words about the story.</p>" * 9
        + "</body></html>"
    )
    assert classify(page_signals(lxml_html.fromstring(listing)), None, 90) == (
        False,
        "declared-listing",
    )


def test_chinese_text_counts_words_without_spaces() -> None:
    assert word_count("新华社北京2月19日电 记者从国家卫生健康委员会获悉") >= 10
    assert word_count("plain words here") == 3


def test_command_line_cleans_a_folder_as_a_crawl_would(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    web = DemoWeb(seed=1, sites=12, stories=60)
    rows = [r for r in web.truth_rows() if r["page_kind"] == "article"]
    site = rows[0]["site"]
    rows = [r for r in rows if r["site"] == site][:6]
    for i, r in enumerate(rows):
        (tmp_path / f"p{i}.html").write_bytes(web.respond(r["url"]).body)

    def run(*flags: str) -> list[dict[str, object]]:
        assert extract.main([str(tmp_path), "--json", *flags]) == 0
        return [json.loads(line) for line in capsys.readouterr().out.splitlines()]

    clean, raw = run(), run("--raw")
    assert len(clean) == len(rows) == 6
    removed = [line for page in clean for line in page["furniture_removed"]]
    assert removed, "six pages of one site share furniture lines"
    assert all(line not in page["text"] for page in clean for line in page["furniture_removed"])
    assert sum(len(p["text"]) for p in raw) > sum(len(p["text"]) for p in clean)


def test_cross_links_inside_the_article_are_removed_by_their_markup() -> None:
    """A label, a colon and one link to another story's headline: in any language."""
    page = f"""<html><body><article><p>{PROSE}</p>
    <p>Lea más: <a href="/otra">Juan Carlos Ortega propone legalizar la marihuana</a></p>
    <p><b>Auch lesen:</b> <a href="/x">Diese drei Sternzeichen verschenken ihr Herz</a></p>
    <p>Earcuff: <a href="/shop">Zoeca</a></p>
    <p>The report, <a href="/r">published by the ministry on Monday</a>, says so.</p>
    <p>{PROSE.replace("Tuesday", "Friday")}</p></article></body></html>"""
    x = extract_html(page, "https://news.test/a")
    assert "Juan Carlos" not in x.text and "Sternzeichen" not in x.text
    # a label that names a thing, and a sentence with a link in it, are article text
    assert "Earcuff: Zoeca" in x.text
    assert "published by the ministry on Monday" in x.text
    assert x.markup_removed == (
        "Lea más: Juan Carlos Ortega propone legalizar la marihuana",
        "Auch lesen: Diese drei Sternzeichen verschenken ihr Herz",
    )
    assert x.word_count == len(x.text.split())


@pytest.mark.parametrize(
    ("line", "furniture"),
    [
        ("Schon gelesen?", True),
        ("NOTAS RELACIONADAS", True),
        ("PUEDES VER: ¿Qué es la Sunedu, cómo está conformada?", True),
        ("23.10.2018", True),
        ("Aktualisiert am 17.01.2021.", True),
        ("Kategorie: News", True),
        ("Fot. Lukasz Nowaczyk / Agencja Gazeta", True),
        ("Marco Odermatt, Ski-Star aus der Schweiz. © AFP / MARCO BERTORELLO", True),
        ("Subscribe now to our eNATION edition for the full story.", True),
        ("Follow The Gleaner on Twitter and Instagram @JamaicaGleaner", True),
        ("*Werbung. Dieser Beitrag enthält Werbung für MYMARINI.", True),
        ("January 13, 2020 at 08:45 AM | categories: Python, Mercurial | View Comments", True),
        ("Klicken Sie auf den unteren Button, um den Inhalt von www.komoot.de zu laden.", True),
        ("By clicking subscribe, I agree to receive news updates.", True),
        ("aja/PAP", True),
        ("Keine Kommentare (Kommentare erscheinen erst nach unserer Freigabe)", True),
        # article sentences that start alike stay
        ("Datum und Uhrzeit der Sitzung stehen noch nicht fest.", False),
        ("The minister said voters should click here and there less and read more.", False),
        ("Werbung nervt. Tracking nervt. Nerven nervt.", False),
        ("Veröffentlicht am 16.08.2019", False),
        ("Follow the money, the prosecutor told the jury on Tuesday.", False),
        ("Temas como la inflación dominaron el debate.", False),
        ("Mira cómo cambió la ciudad en diez años.", False),
    ],
)
def test_generic_furniture_lines_of_real_pages(line: str, furniture: bool) -> None:
    from pipelines.core.furniture import GENERIC_PATTERNS, is_generic_furniture

    assert is_generic_furniture(line) is furniture
    # the literal pre-test of the unanchored patterns changes no answer
    assert any(p.match(line) for p in GENERIC_PATTERNS) is furniture
