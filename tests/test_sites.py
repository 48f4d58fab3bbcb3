"""Sites and their networks: the `sites` and `site_links` views on a crawl of the demo web (its
planted network found, no other site in it), the plain functions behind them, and the ids they
read on real pages."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import duckdb
import pytest

from demoweb.world import NETWORK, NETWORK_LINE
from pipelines.analyst import sites as S
from pipelines.analyst.realnetworks import real_networks
from pipelines.core.metrics import network_scores

REALPAGES = Path(__file__).resolve().parent / "realpages"


def test_ids_are_read_from_tags_and_scripts() -> None:
    page = """<html><head>
    <script async src="https://www.googletagmanager.com/gtag/js?id=G-Q13JKJED7S"></script>
    <script>ga('create', 'UA-1122582-1', 'auto');</script>
    <script>(function(w,d,s,l,i){})(window,document,'script','dataLayer','GTM-KG4TPQM');</script>
    <script async src="https://pagead2.googlesyndication.com/pagead/js/adsbygoogle.js?client=ca-pub-7891165885018162"></script>
    <ins class="adsbygoogle" data-ad-client="pub-5205395249730975"></ins>
    </head><body><p>The G-STRINGS band played UA-55 and GTM-ABCDEF tonight.</p></body></html>"""
    assert S.page_ids(page) == {
        "analytics": ["G-Q13JKJED7S", "GTM-KG4TPQM", "UA-1122582-1"],
        "ads": ["ca-pub-5205395249730975", "ca-pub-7891165885018162"],
    }
    assert S.page_ids("<p>no accounts here</p>") == {"analytics": [], "ads": []}


def test_ids_on_the_real_pages_of_the_suite() -> None:
    snippets = json.loads((REALPAGES / "snippets.json").read_text())
    with_ids = 0
    for entry in snippets.values():
        body = gzip.decompress((REALPAGES / entry["file"]).read_bytes()).decode("utf-8", "replace")
        found = S.page_ids(body)
        with_ids += bool(found["analytics"] or found["ads"])
        for value in found["analytics"]:
            assert value.startswith(("UA-", "G-", "GTM-")) and value in body
        for value in found["ads"]:
            assert value.removeprefix("ca-") in body
    assert with_ids == 34  # of the 50 pages (pipelines.analyst.realnetworks prints the same)
    assert real_networks(REALPAGES)["sites_with_ids"] == 34


def test_template_tokens_leave_out_names_of_one_article() -> None:
    page = (
        '<html><head><link rel="stylesheet" href="/static/5.css?v=3"></head>'
        '<body class="t5 c2"><div id="site"><article class="post-18180 post"><p class="x">'
        "Text</p></article></div></body></html>"
    )
    assert S.template_tokens(page) == {
        "css:/static/5.css",
        "body.t5",
        "body.c2",
        "div#site",
        "article.post",
        "p.x",
    }
    assert S.template_tokens("") == set()
    pages = [{"a", "b", "c"}, {"a", "b"}, {"a", "d"}]
    assert S.site_template(pages) == {"a", "b"}
    assert S.jaccard({"a", "b"}, {"b", "c"}) == pytest.approx(1 / 3)


def _link(ids: list[str], template: float, furniture: list[str]) -> dict[str, Any]:
    return {"shared_ids": ids, "template_similarity": template, "shared_furniture": furniture}


def test_what_links_two_sites() -> None:
    assert S.link_reason(_link(["GTM-RGWGT1V"], 0.1, [])) == "analytics id"
    assert S.link_reason(_link(["UA-1-1"], 0.0, []), common={"UA-1-1"}) is None  # a platform's
    # An AdSense account alone is shared by platforms and plugins: it needs a second sign.
    assert S.link_reason(_link(["ca-pub-1234567890123456"], 0.2, [])) is None
    assert S.link_reason(_link(["ca-pub-1234567890123456"], 0.6, [])) == "ad id and template"
    assert S.link_reason(_link(["ca-pub-1234567890123456"], 0.1, ["x"])) == "ad id and furniture"
    # A stock theme alone, or a common promo line alone, links nothing.
    assert S.link_reason(_link([], 0.95, [])) is None
    assert S.link_reason(_link([], 0.3, ["Share this story"])) is None
    assert S.link_reason(_link([], 0.85, ["part of our network"])) == "template and furniture"
    counts = {"UA-52447-2": 22, "GTM-A1": 3}
    assert S.common_ids(counts, 969) == {"UA-52447-2"}
    assert S.common_ids(counts, 5000) == set()  # 22 of 5,000 sites is not common


def test_networks_are_the_linked_groups() -> None:
    links = [
        {"site_a": "a.test", "site_b": "b.test", "link_reason": "analytics id"},
        {"site_a": "b.test", "site_b": "c.test", "link_reason": "template and furniture"},
        {"site_a": "c.test", "site_b": "d.test", "link_reason": None},
    ]
    found = S.networks(["a.test", "b.test", "c.test", "d.test", "e.test"], links)
    assert found == {"a.test": "net:a.test", "b.test": "net:a.test", "c.test": "net:a.test"}


def test_network_scores() -> None:
    planted = {"a": "n", "b": "n", "c": "n", "d": None, "e": None}
    assert network_scores({"a": "x", "b": "x", "c": "x"}, planted) == {
        "network_pair_precision": 1.0,
        "network_pair_recall": 1.0,
        "networks_planted": 1,
        "networks_found_exactly": 1,
    }
    wrong = network_scores({"a": "x", "b": "x", "d": "x"}, planted)
    assert wrong["network_pair_precision"] == pytest.approx(1 / 3)
    assert wrong["network_pair_recall"] == pytest.approx(1 / 3)
    assert wrong["networks_found_exactly"] == 0
    assert network_scores({}, planted)["network_pair_precision"] is None


# -- on a crawl of the demo web ----------------------------------------------------------------


def test_the_planted_network_is_found(demo_crawl: dict[str, Any]) -> None:
    data = demo_crawl["data"]
    web = demo_crawl["web"]
    planted = {s.host for s in web.sites if s.network == NETWORK}
    assert len(planted) == 3
    con = duckdb.connect()
    sites = f"'{data}/sites/*.parquet'"
    groups = con.sql(
        f"select network_id, list(domain order by domain) from {sites} "
        "where network_id is not null group by 1"
    ).fetchall()
    assert [set(members) for _, members in groups] == [planted]  # no other site, no other group
    # What the network's sites share, as the view shows it.
    for ads, analytics, furniture in con.sql(
        f"select ad_ids, analytics_ids, furniture_lines from {sites} where network_id is not null"
    ).fetchall():
        assert len(ads) == 1 and any(a.startswith("GTM-") for a in analytics)
        assert NETWORK_LINE in furniture
    links = f"'{data}/site_links/*.parquet'"
    inside = con.sql(
        f"select template_similarity, len(shared_ids), link_reason from {links} "
        "where network_id is not null"
    ).fetchall()
    assert len(inside) == 3
    assert all(t >= 0.8 and n == 2 and reason == "analytics id" for t, n, reason in inside)
    (outside,) = con.sql(
        f"select max(template_similarity) from {links} where network_id is null"
    ).fetchall()[0]
    assert outside < 0.6


def test_site_counts_add_up(demo_crawl: dict[str, Any]) -> None:
    data = demo_crawl["data"]
    con = duckdb.connect()
    sites = f"'{data}/sites/*.parquet'"
    bad = con.sql(
        f"select count(*) from {sites} where articles <> originals + copies or pages < articles "
        "or pages_sampled = 0 or template_fingerprint is null"
    ).fetchall()[0][0]
    assert bad == 0
    (n_sites, copies, docs) = con.sql(
        f"select count(*), sum(copies), sum(articles) from {sites}"
    ).fetchall()[0]
    assert n_sites == 12
    (copy_rows,) = con.sql(f"select count(*) from '{data}/copy_changes/*.parquet'").fetchall()[0]
    assert copies == copy_rows
    (latest,) = con.sql(
        f"select count(distinct doc_id) from '{data}/documents/**/*.parquet'"
    ).fetchall()[0]
    assert docs == latest
    # Copies between two sites: the links count them both ways, as copy_changes does.
    (from_links,) = con.sql(
        f"select sum(copies_a_to_b + copies_b_to_a) from '{data}/site_links/*.parquet'"
    ).fetchall()[0]
    (cross_site,) = con.sql(
        f"select count(*) from '{data}/copy_changes/*.parquet' where domain <> origin_domain"
    ).fetchall()[0]
    assert from_links == cross_site
