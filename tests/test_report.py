"""`make report` opened in a real headless Chromium (Playwright driving the system's chromium,
which `make test` installs when missing): every page renders (a screenshot that is not blank,
its charts drawn), logs no console error, requests nothing outside the report folder, and every
number it shows equals a DuckDB query on the same data."""

from __future__ import annotations

import io
import shutil
from pathlib import Path
from typing import Any

import duckdb
import pytest
from PIL import Image

from pipelines.report import build_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def report(demo_crawl: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report") / "report"
    build_report(demo_crawl["data"], out)
    return out


@pytest.fixture(scope="module")
def browser() -> Any:
    from playwright.sync_api import sync_playwright

    assert CHROMIUM, "no chromium on PATH: `make test` installs it (apt-get install chromium)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


def open_page(browser: Any, report: Path, name: str) -> dict[str, Any]:
    """Load one page of the report; return its metrics, problems and a screenshot."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    outside: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("requestfailed", lambda r: problems.append(f"failed: {r.url}"))
    folder = report.resolve().as_uri() + "/"
    page.on("request", lambda r: None if r.url.startswith(folder) else outside.append(r.url))
    page.goto(folder + name)
    page.wait_for_load_state("networkidle")
    metrics = dict(
        page.eval_on_selector_all(
            "[data-metric]", "els => els.map(e => [e.dataset.metric, e.dataset.value])"
        )
    )
    charts = page.eval_on_selector_all(".chart", "els => els.length")
    drawn = page.eval_on_selector_all(".chart .main-svg", "els => els.length")
    png = page.screenshot(full_page=True)
    out = {"page": page, "metrics": metrics, "problems": problems, "outside": outside}
    out.update(charts=charts, drawn=drawn, png=png)
    return out


def assert_rendered(result: dict[str, Any], min_charts: int) -> None:
    assert result["problems"] == [], result["problems"]
    assert result["outside"] == [], result["outside"]
    assert result["charts"] >= min_charts
    assert result["drawn"] >= result["charts"]  # plotly drew an SVG in each chart
    image = Image.open(io.BytesIO(result["png"])).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 24) or []
    top = max(n for n, _ in colours)
    assert len(colours) > 50 and top < 0.97 * image.width * image.height  # not blank


def sql(data: Path, query: str) -> list[tuple]:
    return duckdb.sql(query.replace("DATA", str(data))).fetchall()


LATEST = """(select d.doc_id, d.domain, coalesce(c.merged_into, c.cluster_id) as cluster_now
  from 'DATA/documents/**/*.parquet' d join 'DATA/clusters/*.parquet' c using (cluster_id)
  qualify row_number() over (partition by d.doc_id order by d.run_id desc) = 1)"""


def test_overview(browser: Any, report: Path, demo_crawl: dict[str, Any]) -> None:
    data = demo_crawl["data"]
    result = open_page(browser, report, "index.html")
    assert_rendered(result, min_charts=3)
    m = result["metrics"]
    runs_sql = "select count(*), sum(pages_fetched) from 'DATA/runs/**/*.parquet'"
    (runs, pages) = sql(data, runs_sql)[0]
    (documents,) = sql(data, "select count(distinct doc_id) from 'DATA/documents/**/*.parquet'")[0]
    (live, stories, copies) = sql(
        data,
        "select count(*), count(*) filter (where size > 1), sum(size - 1) filter (where size > 1)"
        " from 'DATA/clusters/*.parquet' where merged_into is null",
    )[0]
    assert int(m["runs"]) == runs and int(m["pages_fetched"]) == pages
    assert int(m["documents"]) == documents and int(m["clusters"]) == live
    assert int(m["stories"]) == stories and int(m["copies"]) == copies
    assert int(m["originals"]) == documents - copies
    # README's query of originals and copies per site.
    per_site = sql(
        data,
        f"""with docs as {LATEST}
        select docs.domain, count(*) filter (where not is_copy), count(*) filter (where is_copy)
        from (select docs.domain, live.size > 1 and docs.doc_id <> live.origin_doc_id is_copy
              from docs join 'DATA/clusters/*.parquet' live on live.cluster_id = docs.cluster_now)
             docs group by 1""",
    )
    assert len(per_site) == 12
    for domain, originals, copies_here in per_site:
        assert int(m[f"site.{domain}.originals"]) == originals
        assert int(m[f"site.{domain}.copies"]) == copies_here
    for run_id, new in sql(data, "select run_id, documents_new from 'DATA/runs/**/*.parquet'"):
        assert int(m[f"run.{run_id}.documents_new"]) == new
    # The suite's crawl runs from the repository, so it used watch.yaml.
    hits = sql(data, "select watch_name, count(*) from 'DATA/watch_hits/**/*.parquet' group by 1")
    assert int(m["watch_hits"]) == sum(n for _, n in hits) > 0
    for name, n in hits:
        assert int(m[f"watch.{name}.hits"]) == n


def test_stories_and_their_search(browser: Any, report: Path, demo_crawl: dict[str, Any]) -> None:
    data = demo_crawl["data"]
    result = open_page(browser, report, "stories.html")
    assert_rendered(result, min_charts=0)
    m = result["metrics"]
    rows = sql(
        data,
        "select cluster_id, size - 1, n_domains, title from 'DATA/clusters/*.parquet' "
        "where merged_into is null and size > 1",
    )
    assert int(m["stories"]) == len(rows)
    for cid, copies, domains, _ in rows:
        assert int(m[f"story.{cid}.copies"]) == copies
        assert int(m[f"story.{cid}.domains"]) == domains
    page = result["page"]
    title = rows[0][3]
    page.fill("#filter", title)
    shown = int(page.inner_text("#shown"))
    assert 1 <= shown < len(rows)
    assert page.is_visible(f"table.filtered tr:has-text({title!r})")


def test_the_most_spread_story(browser: Any, report: Path, demo_crawl: dict[str, Any]) -> None:
    data = demo_crawl["data"]
    listing = open_page(browser, report, "stories.html")["page"]
    first = listing.eval_on_selector("table.filtered tbody tr a", "a => a.getAttribute('href')")
    cid = first.removeprefix("story/").removesuffix(".html")
    (size, domains) = sql(
        data, f"select size, n_domains from 'DATA/clusters/*.parquet' where cluster_id = '{cid}'"
    )[0]
    (most,) = sql(
        data,
        "select max((n_domains, size)) from 'DATA/clusters/*.parquet' where merged_into is null",
    )[0]
    assert (domains, size) == tuple(most)  # ranked first by domains, then copies
    result = open_page(browser, report, f"story/{cid}.html")
    assert_rendered(result, min_charts=2)  # the timeline and the graph
    m = result["metrics"]
    assert int(m["copies"]) == size - 1 and int(m["domains"]) == domains
    changes = sql(
        data,
        "select doc_id, len(sentences_added), len(sentences_removed), round(share_kept, 3) "
        f"from 'DATA/copy_changes/*.parquet' where cluster_id = '{cid}'",
    )
    assert len(changes) == size - 1
    for doc_id, added, removed, kept in changes:
        assert int(m[f"copy.{doc_id}.added"]) == added
        assert int(m[f"copy.{doc_id}.removed"]) == removed
        assert float(m[f"copy.{doc_id}.share_kept"]) == pytest.approx(kept, abs=1e-6)
    marked = result["page"].eval_on_selector_all(".added", "els => els.length")
    assert marked >= sum(c[1] for c in changes)  # each added sentence highlighted in its copy


def test_sites_and_networks(browser: Any, report: Path, demo_crawl: dict[str, Any]) -> None:
    data = demo_crawl["data"]
    result = open_page(browser, report, "sites.html")
    assert_rendered(result, min_charts=0)
    m = result["metrics"]
    rows = sql(data, "select domain, pages, articles, copied_by_others from 'DATA/sites/*.parquet'")
    assert int(m["sites"]) == len(rows) == 12
    for domain, pages, articles, copied in rows:
        assert int(m[f"site.{domain}.pages"]) == pages
        assert int(m[f"site.{domain}.articles"]) == articles
        assert int(m[f"site.{domain}.copied_by_others"]) == copied
    result = open_page(browser, report, "networks.html")
    assert_rendered(result, min_charts=1)
    groups = sql(
        data,
        "select network_id, count(*) from 'DATA/sites/*.parquet' where network_id is not null "
        "group by 1",
    )
    assert int(result["metrics"]["networks"]) == len(groups) == 1
    for network_id, n in groups:
        assert int(result["metrics"][f"network.{network_id}.sites"]) == n == 3


def test_the_command_says_what_is_missing(tmp_path: Path) -> None:
    import subprocess
    import sys

    repo = Path(__file__).resolve().parent.parent
    run = lambda *a: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "pipelines.report", *a], cwd=repo, capture_output=True, text=True
    )
    missing = run("--data", str(tmp_path / "nope"))
    assert missing.returncode == 2 and "is not a data folder" in missing.stderr
    empty = run("--data", str(tmp_path))
    assert empty.returncode == 1 and "has no documents dataset yet" in empty.stderr
    assert not (tmp_path / "report").exists()
