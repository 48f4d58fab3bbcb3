"""The end-of-run summary that `make crawl` prints, read back from the datasets with DuckDB."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import duckdb


def print_summary(data_dir: Path, run_id: str | None) -> None:
    root = Path(data_dir)
    con = duckdb.connect()
    g = lambda t: f"'{root / t}/**/*.parquet'"  # noqa: E731
    if run_id is None:
        print("No run was recorded.")
        return
    run = con.execute(
        f"select pages_fetched, pages_new, pages_not_modified, pages_failed, documents_new, "
        f"documents_changed, clusters_new, clusters_grown, clusters_merged, status, "
        f"epoch(finished_at - started_at), error from {g('runs')} where run_id = ?",
        [run_id],
    ).fetchone()
    if run is None:
        print(f"No runs row for {run_id}.")
        return
    pages, new, not_modified, failed, docs, changed, c_new, grown, merged, status, secs, err = run
    print()
    print(f"Run {run_id}: {status}" + (f" ({err})" if err else ""))
    rate = f" ({pages / secs:.0f} pages/s)" if secs else ""
    print(f"  pages fetched   {pages}{rate}")
    print(f"                  {new} new or changed, {not_modified} not modified, {failed} failed")
    print(f"  documents       {docs} new, {changed} changed")
    print(f"  clusters        {c_new} new, {grown} grown, {merged} merged into older ones")
    if (root / "clusters").is_dir():
        (live,) = con.execute(
            f"select count(*) from {g('clusters')} where merged_into is null"
        ).fetchone()
        print(f"  all clusters    {live}")
    if not any((root / "documents").glob("run_id=*/*.parquet")):
        top = []  # no article yet (a run that found none): nothing to join
    else:
        top = con.execute(
            f"""
            select c.cluster_id, c.size, c.n_domains, c.title,
                   string_agg(distinct d.domain, ', ' order by d.domain) as domains
            from {g("clusters")} c join {g("documents")} d using (cluster_id)
            where c.size > 1 and d.run_id = ?
            group by all order by c.size desc, c.cluster_id limit 5
            """,
            [run_id],
        ).fetchall()
    if top:
        print("  largest clusters:")
        for cid, size, ndom, title, domains in top:
            print(f"    {cid}  {size} copies on {ndom} domains  {(title or '')[:60]!r}")
            print(f"      {domains[:110]}")
    hits_dir = root / "watch_hits" / f"run_id={run_id}"
    if hits_dir.is_dir():
        hits = con.execute(
            f"""select watch_name, count(*), string_agg(distinct domain, ', ' order by domain)
                from {g("watch_hits")} where run_id = ? group by 1 order by 1""",
            [run_id],
        ).fetchall()
        print("  watch list      new documents of watched stories and phrases:")
        for name, n, domains in hits:
            print(f"    {name}: {n} new on {domains[:100]}")
    print(f"  data            {root.resolve()}/{{pages,documents,clusters,edges,runs}}")
    print("  start with:")
    print(f"    {start_with(root)}")


def start_with(root: Path) -> str:
    """A command that works from a fresh clone (DuckDB's own CLI is not installed)."""
    code = (
        f'import duckdb; duckdb.read_parquet("{root.resolve()}/clusters/*.parquet")'
        '.order("size desc").limit(10)'
        '.select("cluster_id, size, n_domains, origin_domain, title").show()'
    )
    return f"{shlex.quote(sys.executable)} -c {shlex.quote(code)}"
