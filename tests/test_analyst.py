"""The analyst's views: what each copy changed (copy_changes), on a real crawl of the demo web
and in the plain functions behind it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest

from pipelines.analyst.changes import copy_change, same_headline, sentences
from pipelines.analyst.views import AS_OF_KEY, publish_views, view_path, views_stale
from pipelines.evaluate import find_truth
from pipelines.storage.state import current_version

REPO = Path(__file__).resolve().parent.parent

ORIGIN = (
    "The council voted 7-2 on Tuesday. Dr. Lee said the plan is \u201cfair.\u201d\n"
    "Repairs start in May! Costs are $4.5 million?\n"
    "Residents may comment until Friday."
)


def test_sentences_split_at_stops_and_lines() -> None:
    assert sentences(ORIGIN) == [
        "The council voted 7-2 on Tuesday.",
        "Dr.",
        "Lee said the plan is \u201cfair.\u201d",
        "Repairs start in May!",
        "Costs are $4.5 million?",
        "Residents may comment until Friday.",
    ]
    assert sentences("  \n\n") == []


def test_a_verbatim_copy_changes_nothing_even_retyped() -> None:
    retyped = ORIGIN.replace("\u201c", '"').replace("\u201d", '"').upper()
    change = copy_change(ORIGIN, retyped)
    assert change == {
        "sentences_added": [],
        "sentences_removed": [],
        "share_kept": 1.0,
        "relation": "duplicate",
    }


def test_an_excerpt_keeps_a_part_and_adds_little() -> None:
    # A lead with a line of its own (5 of its 11 words): more of its own than an excerpt has.
    with_own = copy_change(ORIGIN, "The council voted 7-2 on Tuesday.\nRead more at the Herald.")
    assert with_own["sentences_added"] == ["Read more at the Herald."]
    assert with_own["relation"] == "duplicate"
    lead_only = copy_change(ORIGIN, "The council voted 7-2 on Tuesday.")
    assert lead_only["relation"] == "excerpt"
    assert lead_only["sentences_added"] == []
    assert lead_only["sentences_removed"][0] == "Dr."
    words = [len(s.split()) for s in sentences(ORIGIN)]
    assert lead_only["share_kept"] == pytest.approx(6 / sum(words))


def test_an_edited_copy_lists_what_it_added_and_removed_in_order() -> None:
    edited = ORIGIN.replace("Repairs start in May!", "Repairs start in June!") + (
        "\nThis story was updated."
    )
    change = copy_change(ORIGIN, edited)
    assert change["sentences_removed"] == ["Repairs start in May!"]
    assert change["sentences_added"] == ["Repairs start in June!", "This story was updated."]
    assert change["relation"] == "duplicate"
    assert 0.8 < change["share_kept"] < 1.0


def test_a_copy_that_mostly_adds_its_own_text_is_not_an_excerpt() -> None:
    own = "\n".join(f"Local reporter line number {i} about the ward." for i in range(20))
    change = copy_change(ORIGIN, "The council voted 7-2 on Tuesday.\n" + own)
    assert change["relation"] == "duplicate"
    assert len(change["sentences_added"]) == 20


def test_headlines_compare_normalised() -> None:
    assert same_headline("Council Votes 7-2", "council votes 7\u20132") is True
    assert same_headline("Council \u201cVotes\u201d", 'council "votes"') is True
    assert same_headline("Council votes", "Council delays vote") is False
    assert same_headline(None, "x") is None
    assert same_headline("x", "") is None


# -- on a crawl of the demo web ----------------------------------------------------------------


def test_copy_changes_of_the_demo_crawl(demo_crawl: dict[str, Any]) -> None:
    data = demo_crawl["data"]
    table = f"'{data}/copy_changes/*.parquet'"
    clusters = f"'{data}/clusters/*.parquet'"
    con = duckdb.connect()
    # One row per document of a live cluster of two or more that is not its origin.
    (expected,) = con.sql(
        f"select sum(size - 1) from {clusters} where merged_into is null and size > 1"
    ).fetchall()[0]
    (rows, docs) = con.sql(f"select count(*), count(distinct doc_id) from {table}").fetchall()[0]
    assert rows == docs == expected > 100
    # The origin is the cluster's, never the copy itself.
    wrong = con.sql(
        f"""select count(*) from {table} cc join {clusters} c using (cluster_id)
            where c.origin_doc_id <> cc.origin_doc_id or cc.doc_id = cc.origin_doc_id
               or c.merged_into is not null"""
    ).fetchall()[0][0]
    assert wrong == 0
    (as_of,) = con.sql(f"select distinct as_of_run from {table}").fetchall()[0]
    assert as_of == current_version(data)
    assert views_stale(data) == []

    # Against the demo web's truth: the kind of copy each page is.
    truth, _ = find_truth(data)
    by_kind = dict(
        con.sql(
            f"""select t.copy_kind, avg((cc.relation = 'excerpt')::int)
                from {table} cc join '{truth}' t on t.url = cc.url group by 1"""
        ).fetchall()
    )
    assert by_kind["excerpt"] >= 0.95  # excerpts are called excerpts
    assert by_kind["verbatim"] == 0.0 and by_kind["ads_inserted"] == 0.0
    kept = dict(
        con.sql(
            f"""select t.copy_kind, median(cc.share_kept)
                from {table} cc join '{truth}' t on t.url = cc.url group by 1"""
        ).fetchall()
    )
    assert kept["verbatim"] == 1.0 and kept["ads_inserted"] == 1.0
    assert kept["excerpt"] < 0.5
    # A verbatim copy's headline is the origin's; an edited copy's is rewritten in the demo web.
    changed = dict(
        con.sql(
            f"""select t.copy_kind, avg(cc.headline_changed::int)
                from {table} cc join '{truth}' t on t.url = cc.url
                join '{truth}' o on o.url = cc.origin_url
                where o.copy_kind = 'original' group by 1"""
        ).fetchall()
    )
    assert changed["verbatim"] == 0.0 and changed["edited"] == 1.0


def test_views_rebuild_the_same_from_the_command(demo_crawl: dict[str, Any]) -> None:
    data = demo_crawl["data"]
    before = pq.read_table(view_path(data, "copy_changes"))
    proc = subprocess.run(
        [sys.executable, "-m", "pipelines.analyst.views", "--data", str(data)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    after = pq.read_table(view_path(data, "copy_changes"))
    assert after.equals(before)
    assert after.schema.metadata[AS_OF_KEY] == current_version(data).encode()


def test_a_folder_without_commit_has_no_views(tmp_path: Path) -> None:
    assert publish_views(tmp_path) == []
    assert views_stale(tmp_path) == []
    proc = subprocess.run(
        [sys.executable, "-m", "pipelines.analyst.views", "--data", str(tmp_path / "nope")],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2 and "is not a data folder" in proc.stderr
