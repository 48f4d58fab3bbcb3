"""The watch list: checked before any request, its hits written per run (watch_hits), printed,
and handed to a hook as JSON; on the demo web, the copies of a watched story that appear on
day 2 are exactly what run 2 reports."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import polars as pl
import pytest

from demoweb import DemoWeb
from pipelines.analyst.watch import WatchError, WatchItem, load_watch, watch_hit_rows
from pipelines.core.urls import canonicalise_url
from pipelines.storage.state import recover
from pipelines.storage.store import partition_dir

REPO = Path(__file__).resolve().parent.parent
STORY = "http://pinecrestpost.test/story?id=18496"  # watch.yaml's story: 5 copies on day 2


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "watch.yaml"
    path.write_text(text)
    return path


def test_a_good_watch_list(tmp_path: Path) -> None:
    items = load_watch(
        write(
            tmp_path,
            "watch:\n  - {name: a, url: 'http://x.test/a?utm_source=m'}\n"
            "  - {name: b, phrase: 'Floodlight  Repairs!'}\n",
        )  # fmt: skip
    )
    assert [(i.name, i.kind) for i in items] == [("a", "url"), ("b", "phrase")]
    assert items[0].doc_id == WatchItem("x", "url", "http://x.test/a").doc_id  # canonicalised
    assert items[1].needle == " floodlight repairs "
    assert load_watch(write(tmp_path, "")) == ()
    assert load_watch(REPO / "watch.yaml")[0].value == STORY


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("watch: [", "not valid YAML"),
        ("items: []", "one top-level key 'watch'"),
        ("watch: {name: a}", "must be a list"),
        ("watch:\n  - {name: a, url: 'http://x.test/', phrase: b}", "exactly one of"),
        ("watch:\n  - {name: a, link: 'http://x.test/'}", "unknown key(s) link"),
        ("watch:\n  - {url: 'http://x.test/'}", "'name' must be a non-empty string"),
        ("watch:\n  - {name: a, url: 'ftp://x.test/'}", "must start with http"),
        ("watch:\n  - {name: a, phrase: '!!'}", "no words once normalised"),
        ("watch:\n  - {name: a, phrase: x}\n  - {name: a, phrase: y}", "used twice"),
    ],
)
def test_a_bad_watch_list_names_file_and_item(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(WatchError) as err:
        load_watch(write(tmp_path, text))
    assert message in str(err.value) and str(tmp_path / "watch.yaml") in str(err.value)


def test_a_bad_watch_list_stops_the_crawl_before_any_request(tmp_path: Path) -> None:
    bad = write(tmp_path, "watch:\n  - {name: a}\n")
    proc = subprocess.run(
        [sys.executable, "-m", "crawler.run", "--data", str(tmp_path / "d"), "--watch", str(bad)],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "watch item 'a': give exactly one of 'url' or 'phrase'" in proc.stderr
    assert not (tmp_path / "d").exists()
    missing = subprocess.run(
        [sys.executable, "-m", "crawler.run", "--watch", str(tmp_path / "none.yaml")],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert missing.returncode == 2 and "cannot read the watch list" in missing.stderr


def _doc(doc_id: str, cluster: str, text: str, at: int) -> dict[str, Any]:
    return {
        "doc_id": doc_id, "url": f"http://s.test/{doc_id}", "domain": "s.test", "title": "T",
        "text": text, "cluster_id": cluster, "published_at": None,
        "fetched_at": datetime(2026, 12, 1, at, tzinfo=UTC),
    }  # fmt: skip


def test_hits_are_the_new_documents_of_the_story_or_phrase() -> None:
    story = WatchItem("story", "url", "http://s.test/origin")
    phrase = WatchItem("p", "phrase", "Bike Lanes")
    origin = story.doc_id
    documents = {
        "new1": _doc("new1", "c1", "copy of the origin", 2),
        "new2": _doc("new2", "c2", "the bike-lanes reopened", 1),
        "changed": _doc("changed", "c1", "an older copy, edited", 3),
    }
    docs = {origin: {"first_run": "R0"}, "new1": {"first_run": "R"}, "new2": {"first_run": "R"},
            "changed": {"first_run": "R0"}}  # fmt: skip
    clusters = {"c1": {"origin_doc_id": origin}, "c2": {"origin_doc_id": "new2"}}
    cluster_of = {origin: "c1", "new1": "c1", "new2": "c2", "changed": "c1"}.get
    rows = watch_hit_rows([story, phrase], "R", documents, docs, clusters, cluster_of)
    assert [(r["watch_name"], r["doc_id"], r["is_origin"]) for r in rows] == [
        ("story", "new1", False),  # a changed copy is no new copy
        ("p", "new2", True),
    ]
    assert all(r["run_id"] == "R" for r in rows)
    part = WatchItem("part", "phrase", "ike lanes")  # whole words only
    assert watch_hit_rows([part], "R", documents, docs, clusters, cluster_of) == []
    # A watched URL not crawled yet finds nothing, and nothing new finds nothing.
    unknown = WatchItem("u", "url", "http://s.test/never")
    assert watch_hit_rows([unknown], "R", documents, docs, clusters, cluster_of) == []
    assert watch_hit_rows([story], "R", {}, docs, clusters, cluster_of) == []


def test_a_run_that_never_committed_leaves_no_hits(tmp_path: Path) -> None:
    folder = partition_dir(tmp_path, "watch_hits", "20261203T000000Z-abcdef")
    folder.mkdir(parents=True)
    (folder / "part-00000.parquet").write_bytes(b"")
    done = recover(tmp_path)
    assert not folder.exists()
    assert any("watch_hits of run 20261203T000000Z-abcdef" in line for line in done)


# -- two days of the demo web ------------------------------------------------------------------


def crawl(sources: Path, data: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "crawler.run", "--sources", str(sources), "--data", str(data),
         "--bench", *extra],
        cwd=REPO, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def test_the_copies_of_a_watched_story_on_day_2(tmp_path: Path) -> None:
    sources = tmp_path / "sources.yaml"
    sources.write_text("demo_web: {seed: 1, sites: 12, stories: 300, day: 1}\n")
    data = tmp_path / "data"
    crawl(sources, data, "--watch", str(REPO / "watch.yaml"))
    day2 = crawl(
        sources, data, "--demo-day", "2", "--watch", str(REPO / "watch.yaml"),
        "--watch-json", str(tmp_path / "hits.json"),
    )  # fmt: skip
    runs = [r for (r,) in duckdb.sql(f"select run_id from '{data}/runs/**/*.parquet' order by 1")
            .fetchall()]  # fmt: skip
    assert len(runs) == 2
    hits = f"'{data}/watch_hits/**/*.parquet'"

    # The truth: the pages of the watched story's family that day 2 adds.
    def family_pages(day: int) -> set[str]:
        rows = DemoWeb(seed=1, sites=12, stories=300, day=day).truth_rows()
        origin = next(r for r in rows if r["url"] == STORY)
        return {
            canonicalise_url(r["url"])
            for r in DemoWeb(seed=1, sites=12, stories=300, day=day).truth_rows()
            if r["family_id"] == origin["family_id"] and r["page_kind"] == "article"
        }

    day1_pages, day2_pages = family_pages(1), family_pages(2)
    new_on_day2 = day2_pages - day1_pages
    assert len(new_on_day2) == 5
    found = {
        canonicalise_url(u)
        for (u,) in duckdb.sql(
            f"select url from {hits} where run_id = '{runs[1]}' and watch_name = 'summer-tutoring'"
        ).fetchall()
    }
    assert found == new_on_day2
    first = {
        canonicalise_url(u)
        for (u,) in duckdb.sql(
            f"select url from {hits} where run_id = '{runs[0]}' and watch_name = 'summer-tutoring'"
        ).fetchall()
    }
    assert first == day1_pages - {canonicalise_url(STORY)}  # day 1: its copies so far
    # The phrase item: new documents holding it, each run.
    phrase = duckdb.sql(
        f"select run_id, count(*) from {hits} where watch_kind = 'phrase' group by 1 order by 1"
    ).fetchall()
    assert [n for _, n in phrase] == [1, 3]
    # The summary prints them; the JSON for a hook holds exactly run 2's rows.
    assert "summer-tutoring: 5 new on" in day2.stdout
    payload = json.loads((tmp_path / "hits.json").read_text())
    assert len(payload) == 8 and {p["run_id"] for p in payload} == {runs[1]}
    assert {p["url"] for p in payload if p["watch_name"] == "summer-tutoring"} == {
        u for (u,) in duckdb.sql(
            f"select url from {hits} where run_id = '{runs[1]}' and watch_kind = 'url'"
        ).fetchall()
    }  # fmt: skip
    # The analysts' tools read the table.
    assert len(pd.read_parquet(data / "watch_hits")) == 11
    assert len(pl.read_parquet(f"{data}/watch_hits/**/*.parquet", hive_partitioning=True)) == 11
