"""choose_origin and edge_direction (pipelines/core/origin.py): the rules, strongest first."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pipelines.core.origin import choose_origin, edge_direction

T0 = datetime(2026, 11, 1, 8, tzinfo=UTC)


def doc(name: str, **kw: Any) -> dict[str, Any]:
    base = {
        "doc_id": name,
        "url": f"http://{name}.test/story",
        "domain": f"{name}.test",
        "site_name": f"The {name.capitalize()} Times",
        "published_at": None,
        "canonical_url": None,
        "based_on_url": None,
        "credited_source": None,
    }
    return {**base, **kw}


def test_one_document_is_its_own_origin() -> None:
    only = doc("a")
    assert choose_origin([only]) == (only, "first_seen")
    with pytest.raises(ValueError):
        choose_origin([])


def test_canonical_links_win_over_credits_and_dates() -> None:
    a = doc("a", published_at=T0)
    b = doc("b", published_at=T0 + timedelta(hours=1), credited_source="The A Times")
    c = doc("c", canonical_url="http://origin.test/story?utm_source=x")
    origin = doc("origin", published_at=T0 + timedelta(hours=5))
    d = doc("d", canonical_url="http://ORIGIN.test:80/story")
    assert choose_origin([a, b, c, origin, d]) == (origin, "canonical")


def test_a_canonical_pointing_at_itself_is_no_vote() -> None:
    a = doc("a", canonical_url="http://a.test/story", published_at=T0 + timedelta(hours=1))
    b = doc("b", published_at=T0)
    assert choose_origin([a, b]) == (b, "earliest")


def test_json_ld_is_based_on_counts_as_a_canonical_vote() -> None:
    a = doc("a")
    b = doc("b", based_on_url="http://a.test/story")
    assert choose_origin([b, a]) == (a, "canonical")


def test_credit_lines_match_site_name_or_domain() -> None:
    wire = doc("wire", site_name="Harbor Wire Service")
    copy1 = doc("c1", credited_source="Harbor Wire Service", published_at=T0)
    copy2 = doc("c2", credited_source="wire", published_at=T0 + timedelta(hours=1))
    assert choose_origin([copy1, copy2, wire]) == (wire, "credit")


def test_earliest_needs_a_unique_earliest_date() -> None:
    a, b = doc("a", published_at=T0), doc("b", published_at=T0 - timedelta(minutes=5))
    assert choose_origin([a, b]) == (b, "earliest")
    tie = [doc("a", published_at=T0), doc("b", published_at=T0), doc("c")]
    assert choose_origin(tie) == (tie[0], "first_seen")


def test_edge_direction() -> None:
    a, b = doc("a", published_at=T0), doc("b", published_at=T0 + timedelta(hours=2))
    assert edge_direction(a, b, "b") == "b"  # the named origin wins over dates
    assert edge_direction(a, b, None) == "a" and edge_direction(b, a, "x") == "b"
    assert edge_direction(doc("a"), doc("b"), None) is None


def test_the_publication_time_in_the_markup_beats_a_day_month_swap() -> None:
    """A visible "11/01/2026" (US order) was read as 11 January; the page's <time datetime>
    marked as the publication's says November 1 (the demo web's unionbulletin.test)."""
    from pipelines.core.extract import day_month_swapped, extract_html

    body = " ".join(
        f"Sentence {i} of the council story, with enough words in it." for i in range(40)
    )
    page = (
        "<html><head><title>Council vote</title></head><body>"
        '<div class="masthead"><time datetime="2026-12-03T08:00:00Z">Today</time></div>'
        '<article><h1>Council vote</h1><div class="entry-meta"><span class="posted-on">'
        '<time datetime="2026-11-01T04:38:29Z">11/01/2026</time></span></div>'
        f"<p>{body}</p></article></body></html>"
    )
    got = extract_html(page, "http://example.test/council-vote").published_at
    assert got == datetime(2026, 11, 1, 4, 38, 29, tzinfo=UTC)
    assert day_month_swapped(datetime(2026, 1, 11, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC))
    assert not day_month_swapped(datetime(2026, 5, 5, tzinfo=UTC), datetime(2026, 5, 5, tzinfo=UTC))
    assert not day_month_swapped(
        datetime(2026, 1, 12, tzinfo=UTC), datetime(2026, 11, 1, tzinfo=UTC)
    )
