"""The furniture model and the generic patterns (pipelines.core.furniture), as plain functions."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from demoweb import DemoWeb
from pipelines.core import furniture
from pipelines.core.furniture import (
    GENERIC_PATTERNS,
    FurnitureModel,
    clean_text,
    credited_source,
    generic_furniture_flags,
    is_generic_furniture,
    split_lines,
)
from pipelines.storage.state import load_furniture, save_furniture


@pytest.mark.parametrize(
    "line",
    [
        "Advertisement",
        "SPONSORED: Save on your energy bill",
        "Read more: Council approves budget",
        "Sign up for our morning newsletter to get updates in your inbox",
        "This article first appeared on The Harbor Ledger.",
        "Photo credit: Jane Doe / Agency",
        "Continue reading",
        "\u00a9 2026 The Daily Bugle",
    ],
)
def test_generic_furniture_lines(line: str) -> None:
    assert is_generic_furniture(line)


@pytest.mark.parametrize(
    "line",
    [
        "The council voted to sign up for the regional scheme on Tuesday.",
        "Readers who subscribe to the paper's newsletter were not told.",
        "She said the advertisement had been misleading.",
        "",
    ],
)
def test_body_sentences_are_not_generic_furniture(line: str) -> None:
    assert not is_generic_furniture(line)


def test_one_alternation_answers_as_every_pattern_in_turn() -> None:
    """The combined pattern is a speed-up only: on every line of a demo web (bodies and the
    furniture the generator puts in) it decides exactly as `any(p.search(line))`."""
    web = DemoWeb(seed=2, sites=12, stories=80)
    lines: set[str] = set()
    for row in web.truth_rows():
        lines.update(split_lines(row.get("clean_text") or ""))
        lines.update(row.get("furniture") or ())
        if row.get("credit_line"):
            lines.add(row["credit_line"])
    lines.update(["ad: buy now", "AD | shoes", "read the full article here", "promoted"])
    assert len(lines) > 1000
    decided = {line: is_generic_furniture(line) for line in lines}
    assert decided == {line: any(p.search(line) for p in GENERIC_PATTERNS) for line in lines}
    assert sum(decided.values()) > 20  # the sample holds furniture, not only bodies


def _committed_real_page_lines() -> list[list[str]]:
    """The text lines of the 50 committed real pages (scripts and styles dropped)."""
    import gzip

    import lxml.html

    pages = []
    for path in sorted((Path(__file__).parent / "realpages" / "html").glob("*.html.gz")):
        doc = lxml.html.fromstring(gzip.open(path).read())
        for node in doc.xpath("//script|//style"):
            node.drop_tree()
        pages.append(split_lines(doc.text_content()))
    return pages


def test_page_flags_answer_as_every_pattern_in_turn_on_real_pages() -> None:
    """`generic_furniture_flags` (patterns chosen by a line's first character, literals looked
    for in the whole page first) is a speed-up only: on every text line of the 50 committed
    real pages, menus and footers included, in six languages, it decides as every pattern
    tried in turn, and so does `is_generic_furniture`."""
    pages = _committed_real_page_lines()
    lines = [line for page in pages for line in page]
    assert len(lines) > 5000
    every = [any(p.search(line) for p in GENERIC_PATTERNS) for line in lines]
    assert [f for page in pages for f in generic_furniture_flags(page)] == every
    assert [is_generic_furniture(line) for line in lines] == every
    assert sum(every) > 100


def _generic_fuzz_lines(seed: int, n: int) -> list[str]:
    """Lines built from the patterns' own words, with their letters case-changed or swapped for
    the characters Python's IGNORECASE matches to them (Kelvin sign, long s, Turkish i), and
    with the characters where RE2 and Python disagree put in between: non-ASCII spaces, digits
    and letters, the ASCII separators, line breaks."""
    import random
    import re

    words = sorted({w for p in GENERIC_PATTERNS for w in re.findall(r"[^\W\d_]{2,}", p.pattern)})
    odd = list("\u212a\u017f\u0130\u0131\u00a0\u2009\u3000\x1c\x0b\x85\u0663\u00b2\u00c9")
    odd += list("\u00e9\u00fc\u00dc\u1e9e\u00df\u00a9\u00a1\U0001d400 :|/.-()*!?0123456789")
    rng = random.Random(seed)

    def word() -> str:
        w = rng.choice(words)
        w = "".join(c.upper() if rng.random() < 0.3 else c for c in w)
        w = w.replace("k", rng.choice("k\u212a")).replace("s", rng.choice("s\u017f"))
        return w.replace("i", rng.choice("i\u0130\u0131I"))

    lines = []
    for _ in range(n):
        parts = [rng.choice([word, lambda: rng.choice(odd)])() for _ in range(rng.randint(1, 8))]
        lines.append(rng.choice(["", " ", "  "]).join(parts))
    return lines


def test_the_re2_batch_decides_as_every_pattern_in_turn() -> None:
    """`generic_flags_many` (RE2 supersets of the patterns over all lines at once, the Python
    patterns on its hits) decides exactly as every pattern tried in turn: on every line of the
    committed real pages and on lines made of the patterns' words and the characters where the
    two engines' classes, case folding and word boundaries differ."""
    from pipelines.core import furniture

    pages = _committed_real_page_lines()
    fuzz = _generic_fuzz_lines(3, 30000)
    pages += [fuzz[i : i + 25] for i in range(0, len(fuzz), 25)]
    pages += [["Advertisement\n"], [], ["a\ud800 Advertisement", "Sponsored"]]  # break, surrogate
    for pattern in GENERIC_PATTERNS:  # each has a superset of its own (none is "any line")
        assert furniture.re2_superset(pattern) not in ("", "^")
    got = furniture.generic_flags_many(pages)
    want = [[any(p.search(ln) for p in GENERIC_PATTERNS) for ln in page] for page in pages]
    assert got == want
    assert sum(map(sum, want)) > 1000  # the fuzz holds many matches, not only misses
    assert furniture.generic_flags_many([]) == []


def test_the_re2_supersets_miss_a_match_when_a_rule_is_left_out(monkeypatch) -> None:
    """The check above can fail: without the characters that IGNORECASE folds to ASCII
    letters, the supersets miss lines that Python's patterns match."""
    from pipelines.core import furniture

    pages = [_generic_fuzz_lines(3, 30000)]
    want = [[any(p.search(ln) for p in GENERIC_PATTERNS) for ln in page] for page in pages]
    monkeypatch.setattr(furniture, "_IGNORECASE_FOLDS", {})
    monkeypatch.setattr(furniture, "_RE2_CHARS", {})
    furniture._generic_re2.cache_clear()
    try:
        assert furniture.generic_flags_many(pages) != want
    finally:
        furniture._generic_re2.cache_clear()
        furniture._RE2_CHARS.clear()


def test_the_re2_folds_are_every_character_ignorecase_matches_to_ascii() -> None:
    """`_IGNORECASE_FOLDS` lists, for each ASCII character, what beyond ASCII Python's re.IGNORECASE
    takes for it: checked against the whole code space."""
    import re

    from pipelines.core import furniture

    plane = "".join(chr(c) for c in range(0x80, 0x110000) if not 0xD800 <= c < 0xE000)
    found = {}
    for c in range(128):
        hits = "".join(m.group() for m in re.finditer(re.escape(chr(c)), plane, re.IGNORECASE))
        if hits:
            found[chr(c).lower()] = "".join(sorted(set(hits)))
    assert found == {k: "".join(sorted(v)) for k, v in furniture._IGNORECASE_FOLDS.items()}


def test_credited_source_names_the_outlet() -> None:
    assert credited_source(["Body.", "This story first appeared on The Harbor Ledger."]) == (
        "The Harbor Ledger"
    )
    assert credited_source(["Republished with permission from Midland Review and partners"]) == (
        "Midland Review"
    )
    assert credited_source(["No credit here."]) is None


def test_a_line_on_two_pages_of_a_site_is_furniture_there_only() -> None:
    model = FurnitureModel()
    promo = "Kingsfield homeowners are switching to solar panels this winter"
    model.observe("a.test", "p1", ["Story one begins here.", promo])
    assert not model.is_furniture("a.test", promo)  # one page: could be the article
    model.observe("a.test", "p2", ["Story two begins elsewhere.", promo])
    model.observe("a.test", "p2", [promo])  # the same page again counts once
    assert model.domains["a.test"]
    assert model.is_furniture("a.test", promo)
    assert not model.is_furniture("b.test", promo)
    assert not model.is_furniture("a.test", "Story one begins here.")


def test_a_template_needs_three_pages() -> None:
    model = FurnitureModel()
    for i, town in enumerate(["Kingsfield", "Dunmere", "Ashby"]):
        line = f"{town} homeowners are switching to solar panels this winter"
        assert not model.is_furniture("a.test", line)  # two pages are not enough
        model.observe("a.test", f"p{i}", [line, f"Body sentence number {i} of a story."])
    assert model.is_furniture(
        "a.test", "Lowbridge homeowners are switching to solar panels this winter"
    )


def test_short_lines_in_three_copy_families_are_furniture_on_any_site() -> None:
    model = FurnitureModel()
    line = "Get the day's stories in one short email"
    for cluster in ("c1", "c2"):
        model.observe_clusters(cluster, [line, f"A sentence only {cluster} has."])
    assert not model.is_furniture("new.test", line)
    model.observe_clusters("c3", [line])
    assert model.is_furniture("new.test", line)
    assert not model.is_furniture("new.test", "A sentence only c1 has.")


def test_clean_text_removes_model_and_generic_furniture_and_the_headline() -> None:
    model = FurnitureModel()
    for page in ("p1", "p2"):
        model.observe("a.test", page, ["Share this story with a friend today", f"Body {page}."])
    lines = [
        "Council Approves Budget",
        "The council approved the budget on Tuesday.",
        "Share this story with a friend today",
        "Advertisement",
        "It passed by seven votes to two.",
    ]
    kept, removed = clean_text(lines, "a.test", model, title="Council approves budget")
    assert kept == [
        "The council approved the budget on Tuesday.",
        "It passed by seven votes to two.",
    ]
    assert removed == [lines[0], lines[2], lines[3]]


def test_model_round_trips_through_its_file(tmp_path: Path) -> None:
    model = FurnitureModel()
    for page in ("p1", "p2"):
        model.observe("a.test", page, ["A line on every page of the site", f"Body {page}."])
    model.observe_clusters("c1", ["Shared promo line"])
    path = tmp_path / "model.json"
    save_furniture(model, path)
    loaded = load_furniture(path)
    assert loaded == model
    assert loaded.furniture_lines("a.test") == ["A line on every page of the site"]
    path.write_text("{not json")
    with pytest.raises(ValueError, match="make reprocess"):
        load_furniture(path)
    assert load_furniture(tmp_path / "missing.json") == FurnitureModel()


def test_page_at_once_keys_shapes_and_masks_equal_the_line_by_line_ones() -> None:
    """`mask_variables` (the regex only on words that can hold a name, number, handle or
    link), `line_keys` and `line_shapes` (a page's lines in one pass) are speed-ups only: on
    random strings of the characters that matter to the masks and on every text line of the
    committed real pages they give what the regex and the per-line functions give."""
    import gzip
    import random

    import lxml.html
    import xxhash

    from pipelines.core import furniture
    from pipelines.core.textnorm import normalise

    rng = random.Random(5)
    alphabet = list("aZ9 @:/.,-'h_tps\u00a0\u2009\n\tX(\u0663\u00e9\u0130\U0001d7ce\U0001f600")
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30))) for _ in range(20000)]
    texts += ["http://x.com/a b", "@user hi", "Foo.com/2024 x", "e.g. 10:30", "x https://T.co/A9"]
    want = [furniture._VARIABLE.sub("X", t) for t in texts]
    assert [furniture.mask_variables(t) for t in texts] == want
    # The RE2 batch (each character mapped to its class): every character class the pattern
    # tells apart, in and beyond the BMP, and the ASCII separators that Python's \s takes and
    # RE2's does not.
    odd = list("\x0b\x0c\x1c\x1f\x85\u2028\u3000\x00\x7f\u00b2\u2160\u00c9\U0001d400\U00010400")
    batch = [
        "".join(rng.choice(alphabet + odd) for _ in range(rng.randint(0, 30))).replace("\n", " ")
        for _ in range(20000)
    ]
    batch += [t.replace("\n", " ") for t in texts]
    batch += [
        f"http://x.co/a{c}b A{c}Cd x{c}Y 1{c}2 @u{c}v {c}Z9" for c in odd + alphabet if c != "\n"
    ]
    assert furniture.mask_many(batch) == [furniture._VARIABLE.sub("X", t) for t in batch]
    assert furniture.mask_many(["a\ud800 Bc 12"]) == ["a\ud800 X X"]  # a lone surrogate
    with pytest.raises(ValueError, match="line break"):
        furniture.mask_many(["one\ntwo"])

    def key(line: str) -> str:
        norm = normalise(line)
        return xxhash.xxh64_hexdigest(norm.encode()) if norm else ""

    def shape(line: str) -> tuple[str, int]:
        masked = furniture._VARIABLE.sub("X", line.strip())
        own = sum(1 for w in masked.split() if w.strip("X .,:;-|@()"))
        return ("s" + key(masked) if masked.strip("X .,:;-") else ""), own

    furniture.forget_lines()
    pages = []
    for path in sorted((Path(__file__).parent / "realpages" / "html").glob("*.html.gz")):
        doc = lxml.html.fromstring(gzip.open(path).read())
        pages.append(split_lines(doc.text_content()))
    pages += [split_lines(t) for t in texts[:2000]]
    for lines in pages:
        assert furniture.mask_variables("\n".join(lines)) == furniture._VARIABLE.sub(
            "X", "\n".join(lines)
        )
        assert furniture.line_keys(lines) == [key(line) for line in lines]
        assert furniture.line_shapes(lines) == [shape(line) for line in lines]
    furniture.forget_lines()
    assert [furniture.line_shape(ln) for ln in pages[0]] == [shape(ln) for ln in pages[0]]
    # Many pages' shapes computed in one batch, then read back page by page.
    furniture.forget_lines()
    furniture.prime_shapes(pages)
    assert len(furniture._SHAPES) == len({ln for page in pages for ln in page})
    for lines in pages:
        assert furniture.line_shapes(lines) == [shape(line) for line in lines]
    furniture.forget_lines()


def test_the_per_line_caches_overflowing_mid_page_lose_no_line(monkeypatch) -> None:
    """When a page's new lines would take a per-line cache past its bound it is emptied, and
    the page's lines it held before must still come back (they did not: a KeyError on a
    crawl of more than 2^18 distinct lines)."""
    from pipelines.core import furniture

    pages = [[f"Line {i} of page {p}, with 12 numbers" for i in range(p, p + 6)] for p in range(8)]
    want_keys = [[furniture.line_key(ln) for ln in page] for page in pages]
    want_shapes = [[furniture.line_shape(ln) for ln in page] for page in pages]
    want_masks = [furniture._VARIABLE.sub("X", "\n".join(page)) for page in pages]
    furniture.forget_lines()
    monkeypatch.setattr(furniture, "_MAX_KEYS", 8)
    for _ in range(2):
        furniture.prime_shapes(pages)  # more new lines than the bound: it primes none
        furniture.prime_shapes(pages[:1])
        for page, keys, shapes, mask in zip(pages, want_keys, want_shapes, want_masks, strict=True):
            assert furniture.line_keys(page) == keys
            assert furniture.line_shapes(page) == shapes
            assert furniture.mask_variables("\n".join(page)) == mask
            assert len(furniture._KEYS) <= 8 and len(furniture._SHAPES) <= 8
    furniture.forget_lines()


def test_the_wide_spaces_are_every_space_str_split_knows_beyond_ascii() -> None:
    """`_shape_of` counts a line's own words on its UTF-8 bytes unless the line holds one of
    `_WIDE_SPACE`, the characters beyond ASCII that str.split() splits at: the table is built
    from the Basic Multilingual Plane only, which must hold all of them."""
    from pipelines.core import furniture

    wide = {chr(c) for c in range(0x80, 0x110000) if chr(c).isspace()}
    assert wide and all(furniture._WIDE_SPACE.fullmatch(ch) for ch in wide)
    assert furniture._shape_of("a\u3000b\u00a0X c", "a b x c")[1] == 3
    assert (
        furniture._shape_of("\u00e9t\u00e9 X., (X) \u00fcber", "\u00e9t\u00e9 x x \u00fcber")[1]
        == 2
    )


def _cluster_pages(rng: random.Random) -> tuple[list[str], list[list[str]]]:
    """Real page lines regrouped as copies: pages of a few dozen clusters, each page the lines
    of one real page plus shared promo lines, templated lines and lines of its cluster."""
    real = _committed_real_page_lines()
    outlets = ["Harbor Ledger", "Metro Wire", "Valley Courier", "Lakeside Post", "Capital Dispatch"]
    clusters, pages = [], []
    for i in range(300):
        cluster = f"c{rng.randrange(40)}"
        page = list(rng.choice(real)[: rng.randint(0, 40)])
        page += [f"Read the rest of this story on The {rng.choice(outlets)}"] * rng.randint(0, 2)
        page += [f"Story line {rng.randrange(3)} of {cluster}", "Sign up for our newsletter"]
        page += [f"Only page {i} has this line", ""] if rng.random() < 0.3 else []
        rng.shuffle(page)
        clusters.append(cluster)
        pages.append(page)
    return clusters, pages


def test_counting_clusters_at_once_decides_as_line_by_line() -> None:
    """`count_clusters` (a corpus's model, all pages at once) and `observe_clusters` page by
    page (a crawl's) give every line the same answer, and every recurring entry the same count
    as far as a kept model's table counts exactly (up to _KEEP_IDS families: past them it
    counts a family again when it is not among the ids it kept), on real pages' lines
    regrouped into copy families, at several thresholds."""
    cap = furniture._KEEP_IDS + 1
    rng = random.Random(5)
    clusters, pages = _cluster_pages(rng)
    for thresholds in ({}, {"min_clusters": 2, "min_variants": 2}, {"min_clusters": 4}):
        one_by_one, at_once = FurnitureModel(**thresholds), FurnitureModel(**thresholds)
        for cluster, page in zip(clusters, pages, strict=True):
            one_by_one.observe_clusters(cluster, page)
        furniture.forget_lines()
        at_once.count_clusters(clusters, pages)
        lines = {ln for page in pages for ln in page} | {"A line never seen", "The Metro Wire"}
        said = [ln for ln in sorted(lines) if one_by_one.is_furniture("any.test", ln)]
        assert said == [ln for ln in sorted(lines) if at_once.is_furniture("any.test", ln)]
        assert len(said) >= 3, said  # promo, newsletter and templated lines
        for name in (
            furniture.GLOBAL_EXACT,
            furniture.GLOBAL_SHAPE,
            furniture.GLOBAL_SHAPE_FAMILIES,
        ):
            table = one_by_one.domains[name]
            recurring = {k: min(e.pages, cap) for k, e in table.items() if e.pages >= 2}
            counted = {k: min(e.pages, cap) for k, e in at_once.domains[name].items()}
            assert counted == recurring, name
            assert any(e.pages > cap for e in at_once.domains[name].values()), name
    with pytest.raises(ValueError, match="not empty"):
        at_once.count_clusters(clusters, pages)
    with pytest.raises(ValueError, match="one cluster per page"):
        FurnitureModel().count_clusters(clusters[:-1], pages)


def test_counting_at_once_is_not_bounded_like_a_kept_model() -> None:
    """A kept model forgets its oldest singletons past MAX_SINGLETONS_PER_DOMAIN; a corpus's
    counts are exact: a promo line seen once early and in two more families after more new
    lines than the bound is furniture to the corpus, not to the bounded table."""
    promo = "Get our daily briefing in your inbox every morning"
    fill = [[f"Unique filler line number {i} of {j}" for i in range(100)] for j in range(520)]
    clusters = ["first", *(f"f{j}" for j in range(len(fill))), "second", "third"]
    pages = [[promo], *fill, [promo], [promo]]
    bounded = FurnitureModel()
    for cluster, page in zip(clusters, pages, strict=True):
        bounded.observe_clusters(cluster, page)
    exact = FurnitureModel()
    exact.count_clusters(clusters, pages)
    assert exact.is_furniture("any.test", promo)
    assert not bounded.is_furniture("any.test", promo)
