"""`make report`: a static HTML report of a data folder, in `DATA/report/`.

    python -m pipelines.report --data DIR [--out DIR/report] [--max-stories 2000]

Pages (every one opens from disk with no network: plotly.js and the style sheet are copied into
`report/assets/`, and no page loads anything from elsewhere):

- `index.html`, the overview: the figures of the last run and of all runs, runs over time
  (pages fetched, documents new and changed, clusters new / grown / merged), failures by kind,
  originals and copies overall and per site, the watch list's hits (all runs);
- `stories.html`: the stories (clusters of two or more documents) ranked by spread: domains,
  copies, hours from the first to the last copy; a search box filters them;
- `story/<cluster_id>.html`, one per story (the `--max-stories` most spread): the timeline of
  copies by site and publication time, the syndication graph (origin -> copies, relation and
  lag) and each copy's changes against the origin, side by side;
- `sites.html`: per domain, articles, share of originals and of copies, whose copies it carries,
  its ids, template and furniture;
- `networks.html`: the groups of sites linked by shared ids, templates and furniture.

Every number the pages show sits in an element with a `data-metric` attribute and comes from one
DuckDB query on the datasets (README, "The report", gives them); tests/test_report.py opens the
report in headless Chromium and compares them. The analyst's views are rebuilt first when they
lag behind the last commit (pipelines/analyst/views.py).
"""

from __future__ import annotations

import argparse
import html
import shutil
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import networkx as nx
import plotly.graph_objects as go
import plotly.offline

from pipelines.analyst.views import latest_documents_sql, publish_views, views_stale
from pipelines.storage.state import current_version

MAX_STORIES = 2_000
CSS = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 0; color: #1d2330; background: #f7f8fa; }
header { background: #1d2330; color: #fff; padding: 10px 24px; }
header a { color: #cfe0ff; margin-right: 18px; text-decoration: none; }
header a.here { color: #fff; font-weight: 600; }
main { padding: 12px 24px 40px; max-width: 1280px; }
h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 28px; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; }
.card { background: #fff; border: 1px solid #dde2ea; border-radius: 6px; padding: 10px 14px;
        min-width: 130px; }
.card b { display: block; font-size: 22px; }
table { border-collapse: collapse; background: #fff; width: 100%; margin: 8px 0; }
th, td { border: 1px solid #dde2ea; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #eef1f6; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
.side { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }
.side div { background: #fff; border: 1px solid #dde2ea; padding: 6px 10px; }
.added { background: #d9f5dd; } .removed { background: #fbdcdc; text-decoration: line-through; }
.muted { color: #69707d; } input[type=search] { padding: 6px; width: 320px; }
.chart { background: #fff; border: 1px solid #dde2ea; margin: 8px 0; }
"""
FILTER_JS = """
document.addEventListener('DOMContentLoaded', function () {
  var box = document.getElementById('filter');
  if (!box) return;
  box.addEventListener('input', function () {
    var q = box.value.toLowerCase(), shown = 0;
    document.querySelectorAll('table.filtered tbody tr').forEach(function (tr) {
      var hit = tr.textContent.toLowerCase().indexOf(q) >= 0;
      tr.style.display = hit ? '' : 'none'; shown += hit ? 1 : 0;
    });
    document.getElementById('shown').textContent = shown;
  });
});
"""
PAGES = (
    ("index.html", "Overview"),
    ("stories.html", "Stories"),
    ("sites.html", "Sites"),
    ("networks.html", "Networks"),
)


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def metric(name: str, value: Any, fmt: str = "{:,}") -> str:
    """A number the Chromium test reads back (`data-metric`, raw value in `data-value`)."""
    shown = fmt.format(value) if value is not None else "n/a"
    raw = "" if value is None else value
    return f'<span data-metric="{esc(name)}" data-value="{esc(raw)}">{esc(shown)}</span>'


def figure_html(fig: go.Figure, div_id: str, height: int = 360) -> str:
    fig.update_layout(
        height=height, margin={"l": 60, "r": 20, "t": 40, "b": 50}, template="plotly_white"
    )
    inner = fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=div_id,
        default_height=f"{height}px",
        config={"displaylogo": False, "responsive": True},
    )
    return f'<div class="chart" data-chart="{esc(div_id)}">{inner}</div>'


def page(title: str, here: str, body: str, depth: int = 0) -> str:
    up = "../" * depth
    nav = "".join(
        f'<a href="{up}{href}"{" class=here" if href == here else ""}>{esc(label)}</a>'
        for href, label in PAGES
    )
    return (
        "<!DOCTYPE html>\n<html lang=en><head><meta charset=utf-8>"
        f"<title>{esc(title)} | Syndication Tracker</title>"
        f'<link rel=stylesheet href="{up}assets/report.css">'
        f'<script src="{up}assets/plotly.min.js"></script>'
        f'<script src="{up}assets/report.js"></script></head>\n'
        f"<body><header>{nav}</header><main><h1>{esc(title)}</h1>\n{body}\n</main></body></html>\n"
    )


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    cls: str = "",
    numeric: frozenset[int] | set[int] = frozenset(),
) -> str:
    """An HTML table; cells are HTML already, columns in `numeric` align right."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)

    def cells(row: Sequence[str]) -> str:
        return "".join(
            f"<td{' class=n' if i in numeric else ''}>{cell}</td>" for i, cell in enumerate(row)
        )

    body = "".join(f"<tr>{cells(r)}</tr>\n" for r in rows)
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>\n{body}</tbody></table>'


class Report:
    """Reads a data folder with DuckDB and writes the report's pages."""

    def __init__(self, data_dir: Path, out: Path, max_stories: int = MAX_STORIES) -> None:
        self.root = data_dir.resolve()
        self.out = out
        self.max_stories = max_stories
        self.con = duckdb.connect()
        self._views()

    def g(self, table: str) -> str:
        """The glob of a table's files (snapshots and partitions alike)."""
        return f"read_parquet('{self.root}/{table}/**/*.parquet', hive_partitioning = true)"

    def q(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        return self.con.execute(sql, list(params)).fetchall()

    def _views(self) -> None:
        for table in ("documents", "clusters", "runs"):
            if not any((self.root / table).glob("**/*.parquet")):
                raise SystemExit(
                    f"error: {self.root} has no {table} dataset yet; run `make crawl` first"
                )
        if views_stale(self.root):
            publish_views(self.root)
        latest = latest_documents_sql(self.root, "* exclude (cluster_id)")
        self.con.execute(f"create temp table docs as {latest}")
        self.con.execute(
            f"create temp table stories as "
            f"select * from {self.g('clusters')} where merged_into is null and size > 1"
        )

    # -- pages ---------------------------------------------------------------------------------

    def write(self) -> Path:
        if self.out.exists():
            shutil.rmtree(self.out)
        (self.out / "assets").mkdir(parents=True)
        (self.out / "story").mkdir()
        (self.out / "assets" / "plotly.min.js").write_text(
            plotly.offline.get_plotlyjs(), encoding="utf-8"
        )
        (self.out / "assets" / "report.css").write_text(CSS, encoding="utf-8")
        (self.out / "assets" / "report.js").write_text(FILTER_JS, encoding="utf-8")
        self._write("index.html", page("Overview", "index.html", self.overview()))
        stories = self.ranked_stories()
        with_page = {s[0] for s in stories[: self.max_stories]}
        listing = self.stories(stories, with_page)
        self._write("stories.html", page("Stories", "stories.html", listing))
        for cluster_id in sorted(with_page):
            self._write(f"story/{cluster_id}.html", self.story(cluster_id))
        self._write("sites.html", page("Sites", "sites.html", self.sites()))
        self._write("networks.html", page("Networks", "networks.html", self.networks()))
        return self.out / "index.html"

    def _write(self, name: str, text: str) -> None:
        (self.out / name).write_text(text, encoding="utf-8")

    def overview(self) -> str:
        (n_runs, pages, last_run) = self.q(
            f"select count(*), sum(pages_fetched), max(run_id) from {self.g('runs')}"
        )[0]
        (documents,) = self.q("select count(*) from docs")[0]
        (live,) = self.q(f"select count(*) from {self.g('clusters')} where merged_into is null")[0]
        (stories, copies) = self.q("select count(*), coalesce(sum(size - 1), 0) from stories")[0]
        originals = documents - copies
        cards = [
            ("runs", n_runs, "runs"),
            ("pages fetched", pages or 0, "pages_fetched"),
            ("documents", documents, "documents"),
            ("clusters", live, "clusters"),
            ("stories copied (2+ documents)", stories, "stories"),
            ("originals", originals, "originals"),
            ("syndicated copies", copies, "copies"),
        ]
        body = [
            f"<p class=muted>Data folder {esc(self.root)}; last committed run "
            f"{esc(current_version(self.root))}.</p>",
            '<div class="cards">'
            + "".join(f'<div class="card"><b>{metric(m, v)}</b>{esc(label)}</div>'
                      for label, v, m in cards)
            + "</div>",
        ]  # fmt: skip
        runs = self.q(
            f"""select run_id, started_at, status, pages_fetched, documents_new,
                       documents_changed, clusters_new, clusters_grown, clusters_merged
                from {self.g("runs")} order by run_id"""
        )
        x = [f"{r[0][:15]}" for r in runs]  # one bar per run, labelled by its start (UTC)
        fig = go.Figure()
        fig.add_bar(x=x, y=[r[3] for r in runs], name="pages fetched")
        fig.add_scatter(x=x, y=[r[4] for r in runs], name="documents new", mode="lines+markers")
        fig.add_scatter(x=x, y=[r[5] for r in runs], name="documents changed", mode="lines+markers")
        fig.update_layout(title="Runs over time", xaxis={"type": "category", "title": "run"})
        body.append("<h2>Runs over time</h2>" + figure_html(fig, "runs-over-time"))
        fig = go.Figure()
        for i, name in ((6, "clusters new"), (7, "clusters grown"), (8, "clusters merged")):
            fig.add_bar(x=x, y=[r[i] for r in runs], name=name)
        fig.update_layout(barmode="group", title="Clusters per run", xaxis={"type": "category"})
        body.append(figure_html(fig, "clusters-per-run", 300))
        body.append(
            table(
                [
                    "run",
                    "status",
                    "pages",
                    "docs new",
                    "changed",
                    "clusters new",
                    "grown",
                    "merged",
                ],
                (
                    [esc(r[0]), esc(r[2])]
                    + [
                        metric(f"run.{r[0]}.{k}", r[i] or 0)
                        for i, k in (
                            (3, "pages_fetched"),
                            (4, "documents_new"),
                            (5, "documents_changed"),
                            (6, "clusters_new"),
                            (7, "clusters_grown"),
                            (8, "clusters_merged"),
                        )
                    ]
                    for r in reversed(runs)
                ),
                numeric={2, 3, 4, 5, 6, 7},
            )  # fmt: skip
        )
        failures = self.q(
            f"""select kind, sum(n)::bigint from (
                    select unnest(map_keys(failures)) kind, unnest(map_values(failures)) n
                    from {self.g("runs")}) group by kind order by 2 desc, 1"""
        )
        body.append("<h2>Failures by kind (all runs)</h2>")
        if failures:
            fig = go.Figure(go.Bar(x=[f[0] for f in failures], y=[f[1] for f in failures]))
            body.append(figure_html(fig, "failures", 280))
            body.append(
                table(["kind", "count"],
                      ([esc(k), metric(f"failures.{k}", n)] for k, n in failures), numeric={1})
            )  # fmt: skip
        else:
            body.append(f"<p>{metric('failures.total', 0)} failures in all runs.</p>")
        body.append(self.with_and_without_copies())
        body.append(self.watch_hits())
        return "\n".join(body)

    def watch_hits(self) -> str:
        if not any((self.root / "watch_hits").glob("**/*.parquet")):
            return (
                f"<h2>Watch list</h2><p>{metric('watch_hits', 0)} hits: no run had a watch list "
                '(watch.yaml, README "The watch list").</p>'
            )
        rows = self.q(
            f"""select run_id, watch_name, watched, domain, url, title, is_origin, published_at
                from {self.g("watch_hits")} order by run_id desc, watch_name, fetched_at"""
        )
        per = self.q(
            f"select watch_name, count(*) from {self.g('watch_hits')} group by 1 order by 1"
        )
        items = ", ".join(f"{esc(n)} {metric(f'watch.{n}.hits', c)}" for n, c in per)
        return (
            f"<h2>Watch list</h2><p>{metric('watch_hits', len(rows))} new documents of watched "
            f"stories and phrases over all runs ({items}).</p>"
            + table(
                ["run", "watched", "site", "document", "published"],
                (
                    [
                        esc(r[0]),
                        f"{esc(r[1])}<br><span class=muted>{esc(r[2])}</span>",
                        esc(r[3]) + (" (origin)" if r[6] else ""),
                        f'<a href="{esc(r[4])}">{esc(r[5] or r[4])}</a>',
                        esc(r[7]),
                    ]
                    for r in rows
                ),
            )  # fmt: skip
        )

    def with_and_without_copies(self) -> str:
        rows = self.q(
            f"""select domain, count(*) filter (where not is_copy), count(*) filter (where is_copy)
                from (select d.domain, k.size > 1 and d.doc_id <> k.origin_doc_id as is_copy
                      from docs d join {self.g("clusters")} k on k.cluster_id = d.cluster_now)
                group by domain"""
        )
        per = {domain: [originals, copies] for domain, originals, copies in rows}
        domains = sorted(per)
        fig = go.Figure()
        fig.add_bar(x=domains, y=[per[d][0] for d in domains], name="originals")
        fig.add_bar(x=domains, y=[per[d][1] for d in domains], name="syndicated copies")
        fig.update_layout(barmode="stack", title="Articles per site, with and without copies")
        rows_html = (
            [
                esc(d),
                metric(f"site.{d}.originals", per[d][0]),
                metric(f"site.{d}.copies", per[d][1]),
                f"{100 * per[d][1] / max(1, sum(per[d])):.1f}%",
            ]
            for d in domains
        )
        return (
            "<h2>With and without syndicated copies</h2><p>A copy is a document of a story of two "
            "or more documents that is not the story's likely original; every other document is "
            'an original (README, "Datasets").</p>'
            + figure_html(fig, "with-without-copies", 340)
            + table(["site", "originals", "copies", "copy share"], rows_html, numeric={1, 2, 3})
        )

    def ranked_stories(self) -> list[tuple]:
        return self.q(
            """select s.cluster_id, s.title, s.origin_domain, s.size, s.n_domains,
                      epoch(max(coalesce(d.published_at, d.fetched_at))
                            - min(coalesce(d.published_at, d.fetched_at))) / 3600.0 as hours
               from stories s join docs d on d.cluster_now = s.cluster_id
               group by all order by s.n_domains desc, s.size desc, hours desc, s.cluster_id"""
        )

    def stories(self, stories: list[tuple], with_page: set[str]) -> str:
        rows = []
        for cid, title, origin, size, n_domains, hours in stories:
            name = esc(title or cid)
            link = f'<a href="story/{esc(cid)}.html">{name}</a>' if cid in with_page else name
            rows.append([
                link, esc(origin), metric(f"story.{cid}.copies", size - 1),
                metric(f"story.{cid}.domains", n_domains),
                metric(f"story.{cid}.hours", round(hours or 0.0, 1), "{:,.1f}"),
            ])  # fmt: skip
        note = ""
        if len(stories) > len(with_page):
            note = (
                f"<p class=muted>{len(stories) - len(with_page)} less spread stories have no "
                "page of their own (--max-stories).</p>"
            )
        return (
            f"<p>{metric('stories', len(stories))} stories of two or more documents, ranked by "
            "the domains they reached, then copies, then hours from the first to the last copy. "
            f'<input type=search id=filter placeholder="filter by title or site"> '
            f'<span class=muted><span id=shown>{len(stories)}</span> shown</span></p>{note}'
            + table(["story", "origin", "copies", "domains", "hours first to last"], rows,
                    cls="filtered", numeric={2, 3, 4})
        )  # fmt: skip

    def story(self, cluster_id: str) -> str:
        (title, origin_id, origin_reason) = self.q(
            "select title, origin_doc_id, origin_reason from stories where cluster_id = ?",
            [cluster_id],
        )[0]
        members = self.q(
            """select d.doc_id, d.url, d.domain, d.title, d.text,
                      coalesce(d.published_at, d.fetched_at) as seen_at, d.published_at is null
               from docs d where d.cluster_now = ? order by seen_at, d.doc_id""",
            [cluster_id],
        )
        changes = {
            r[0]: r[1:]
            for r in self.q(
                f"""select doc_id, relation, headline_changed, sentences_added,
                           sentences_removed, share_kept, lag_seconds
                    from {self.g("copy_changes")} where cluster_id = ?""",
                [cluster_id],
            )
        }
        origin = next((m for m in members if m[0] == origin_id), members[0])
        kind = {m[0]: ("origin" if m[0] == origin[0] else changes.get(m[0], ("copy",))[0])
                for m in members}  # fmt: skip
        body = [
            f"<p>{metric('copies', len(members) - 1)} copies on "
            f"{metric('domains', len({m[2] for m in members}))} domains; origin "
            f'<a href="{esc(origin[1])}">{esc(origin[2])}</a> ({esc(origin_reason)}).</p>'
        ]
        fig = go.Figure()
        for relation in ("origin", "duplicate", "excerpt"):
            pts = [m for m in members if kind[m[0]] == relation]
            if pts:
                fig.add_scatter(
                    x=[m[5] for m in pts], y=[m[2] for m in pts], mode="markers",
                    name=relation, marker={"size": 13 if relation == "origin" else 10},
                    text=[m[3] for m in pts], hovertemplate="%{y}<br>%{x}<br>%{text}",
                )  # fmt: skip
        fig.update_layout(title="Timeline of copies (publication time; fetch time if none)")
        body.append("<h2>Timeline</h2>" + figure_html(fig, "timeline", 320))
        body.append("<h2>Syndication graph</h2>" + self.graph(origin, members, changes))
        body.append("<h2>What each copy changed</h2>")
        for m in members:
            if m[0] == origin[0]:
                continue
            relation, headline, added, removed, kept, lag = changes.get(
                m[0], ("duplicate", None, [], [], None, None)
            )
            lag_text = "n/a" if lag is None else f"{lag / 3600:.1f} h"
            share = None if kept is None else round(kept, 3)
            body.append(
                f"<h3>{esc(m[2])}: {esc(relation)}, kept "
                f"{metric(f'copy.{m[0]}.share_kept', share, '{:.0%}')}"
                f" of the origin, +{metric(f'copy.{m[0]}.added', len(added))} / "
                f"-{metric(f'copy.{m[0]}.removed', len(removed))} sentences, lag {lag_text}"
                f"{', headline changed' if headline else ''}</h3>"
                + self.side_by_side(origin, m, set(added), set(removed))
            )
        return page(title or cluster_id, "stories.html", "\n".join(body), depth=1)

    def graph(self, origin: tuple, members: list[tuple], changes: dict[str, tuple]) -> str:
        g = nx.DiGraph()
        g.add_node(origin[0])
        for m in members:
            if m[0] != origin[0]:
                g.add_edge(origin[0], m[0])
        pos = nx.spring_layout(g, seed=1) if len(g) > 1 else {origin[0]: (0.0, 0.0)}
        label = {m[0]: m[2] for m in members}
        fig = go.Figure()
        for relation, dash in (("duplicate", "solid"), ("excerpt", "dot")):
            xs: list[float | None] = []
            ys: list[float | None] = []
            for a, b in g.edges:
                if changes.get(b, ("duplicate",))[0] == relation:
                    xs += [pos[a][0], pos[b][0], None]
                    ys += [pos[a][1], pos[b][1], None]
            if xs:
                fig.add_scatter(x=xs, y=ys, mode="lines", name=relation,
                                line={"dash": dash, "width": 1.5}, hoverinfo="skip")  # fmt: skip
        nodes = list(g.nodes)
        hover = []
        for n in nodes:
            lag = changes.get(n, (None,) * 6)[5]
            hover.append(label[n] + ("" if lag is None else f"<br>lag {lag / 3600:.1f} h"))
        fig.add_scatter(
            x=[pos[n][0] for n in nodes], y=[pos[n][1] for n in nodes], mode="markers+text",
            text=[label[n] for n in nodes], textposition="top center", hovertext=hover,
            hoverinfo="text", name="sites",
            marker={"size": [18 if n == origin[0] else 11 for n in nodes]},
        )  # fmt: skip
        fig.update_layout(
            xaxis={"visible": False}, yaxis={"visible": False}, title="origin -> copies"
        )
        return figure_html(fig, "graph", 420)

    def side_by_side(self, origin: tuple, copy: tuple, added: set[str], removed: set[str]) -> str:
        from pipelines.analyst.changes import sentences

        def marked(text: str, mark: set[str], cls: str) -> str:
            return " ".join(
                f'<span class="{cls}">{esc(s)}</span>' if s in mark else esc(s)
                for s in sentences(text)
            )

        return (
            '<div class="side">'
            f"<div><b>origin</b> {esc(origin[3])}<br>{marked(origin[4], removed, 'removed')}</div>"
            f"<div><b>copy</b> {esc(copy[3])}<br>{marked(copy[4], added, 'added')}</div></div>"
        )

    def sites(self) -> str:
        rows = self.q(
            f"""select domain, site_name, pages, articles, originals, copies, copied_by_others,
                       copied_from, analytics_ids, ad_ids, template_fingerprint,
                       furniture_lines, network_id
                from {self.g("sites")} order by articles desc, domain"""
        )
        out = []
        for r in rows:
            d = r[0]
            share = r[4] / r[3] if r[3] else 0.0
            out.append([
                esc(d) + (f"<br><span class=muted>{esc(r[1])}</span>" if r[1] else ""),
                metric(f"site.{d}.pages", r[2]), metric(f"site.{d}.articles", r[3]),
                metric(f"site.{d}.originals", r[4]), metric(f"site.{d}.copies", r[5]),
                f"{100 * share:.0f}% / {100 - 100 * share:.0f}%",
                metric(f"site.{d}.copied_by_others", r[6]),
                esc(", ".join(r[7][:5])), esc(" ".join(r[8] + r[9])), esc(r[10]),
                "<br>".join(esc(line[:80]) for line in r[11][:3]), esc(r[12] or ""),
            ])  # fmt: skip
        return (
            f"<p>{metric('sites', len(rows))} sites. Originals and copies as on the overview; "
            "ids and template from each site's latest 30 article pages (README, \"Datasets\").</p>"
            + table(["site", "pages", "articles", "originals", "copies",
                     "originals / copies", "copied by others", "carries copies of",
                     "analytics and ad ids", "template", "furniture (first 3)", "network"],
                    out, numeric={1, 2, 3, 4, 6})
        )  # fmt: skip

    def networks(self) -> str:
        groups = self.q(
            f"""select network_id, list(domain order by domain), list(ad_ids), list(analytics_ids)
                from {self.g("sites")} where network_id is not null group by 1 order by 1"""
        )
        links = self.q(
            f"""select site_a, site_b, shared_ids, shared_furniture, template_similarity,
                       link_reason, network_id
                from {self.g("site_links")} where link_reason is not null order by 1, 2"""
        )
        body = [
            f"<p>{metric('networks', len(groups))} groups of sites linked by an analytics id, an "
            "ad id with a second sign, or a near-identical template with furniture in common "
            '(README, "Datasets", sites and site_links).</p>'
        ]
        if links:
            g = nx.Graph()
            g.add_edges_from((link[0], link[1]) for link in links)
            pos = nx.spring_layout(g, seed=1)
            xs: list[float | None] = []
            ys: list[float | None] = []
            for a, b in g.edges:
                xs += [pos[a][0], pos[b][0], None]
                ys += [pos[a][1], pos[b][1], None]
            fig = go.Figure()
            fig.add_scatter(x=xs, y=ys, mode="lines", name="linked", hoverinfo="skip")
            nodes = list(g.nodes)
            fig.add_scatter(
                x=[pos[n][0] for n in nodes], y=[pos[n][1] for n in nodes],
                mode="markers+text", text=nodes, textposition="top center", name="sites",
            )  # fmt: skip
            fig.update_layout(xaxis={"visible": False}, yaxis={"visible": False})
            body.append(figure_html(fig, "network-graph", 420))
        for network_id, members, ads, analytics in groups:
            shared = sorted(
                set.intersection(*[set(a) | set(b) for a, b in zip(ads, analytics, strict=True)])
            )
            body.append(
                f"<h2>{esc(network_id)}: {metric(f'network.{network_id}.sites', len(members))} "
                f"sites</h2><p>{esc(', '.join(members))}</p><p>ids on every site of the group: "
                f"{esc(', '.join(shared) or 'none')}</p>"
            )
        body.append("<h2>Linked pairs</h2>")
        body.append(
            table(
                [
                    "site a",
                    "site b",
                    "shared ids",
                    "shared furniture",
                    "template similarity",
                    "why linked",
                    "network",
                ],
                (
                    [
                        esc(r[0]),
                        esc(r[1]),
                        esc(", ".join(r[2])),
                        esc("; ".join(r[3])[:160]),
                        f"{r[4]:.2f}",
                        esc(r[5]),
                        esc(r[6]),
                    ]
                    for r in links
                ),
                numeric={4},
            )  # fmt: skip
        )
        return "\n".join(body)


def build_report(data_dir: Path, out: Path | None = None, max_stories: int = MAX_STORIES) -> Path:
    """Write the report of `data_dir` into `out` (default DATA/report); return its index."""
    return Report(Path(data_dir), Path(out or Path(data_dir) / "report"), max_stories).write()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.report", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--data", type=Path, default=Path("data"), help="default: %(default)s")
    parser.add_argument("--out", type=Path, help="default: DATA/report")
    parser.add_argument(
        "--max-stories",
        type=int,
        default=MAX_STORIES,
        help="stories with a page of their own, the most spread (default: %(default)s)",
    )
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"error: {args.data} is not a data folder; run `make crawl` first", file=sys.stderr)
        return 2
    started = datetime.now()
    index = build_report(args.data, args.out, args.max_stories)
    secs = (datetime.now() - started).total_seconds()
    n = sum(1 for _ in index.parent.rglob("*.html"))
    print(f"report: {index} ({n} pages, {secs:.1f} s); open it in a browser, no network needed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
