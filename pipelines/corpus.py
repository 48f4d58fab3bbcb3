"""Group an existing corpus (texts that did not come from a crawl) with the crawl's own code.

    python -m pipelines.group INPUT.parquet --id-column ID --text-column TEXT --out DIR
        [--domain-column SITE] [--published-column DATE] [--title-column TITLE]

Reads a Parquet file (or a folder of them), cleans each text with the furniture model when a
domain column is given (lines that recur across a site's texts are furniture there), groups the
copies with the same GroupingConfig, verification and lead index as `make crawl`, and writes
`DIR/assignments.parquet` (one row per input id) and `DIR/edges.parquet`, atomically.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.dataset as ds

from pipelines.core.config import GroupingConfig
from pipelines.core.endofrun import finish_run
from pipelines.core.furniture import FurnitureModel
from pipelines.core.grouping import Grouper
from pipelines.storage.store import atomic_write_table

ASSIGNMENTS_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("cluster_id", pa.string(), nullable=False),
        pa.field("cluster_size", pa.int32(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("furniture_removed", pa.list_(pa.string()), nullable=False),
    ],
    metadata={b"syndication_tracker.table": b"assignments"},
)
CORPUS_EDGES_SCHEMA = pa.schema(
    [
        pa.field("id_a", pa.string(), nullable=False),
        pa.field("id_b", pa.string(), nullable=False),
        pa.field("jaccard", pa.float32(), nullable=False),
        pa.field("a_in_b", pa.float32(), nullable=False),
        pa.field("b_in_a", pa.float32(), nullable=False),
        pa.field("relation", pa.string(), nullable=False),
    ],
    metadata={b"syndication_tracker.table": b"corpus_edges"},
)


def group_table(
    table: pa.Table,
    id_column: str,
    text_column: str,
    *,
    domain_column: str | None = None,
    published_column: str | None = None,
    title_column: str | None = None,
    config: GroupingConfig | None = None,
) -> tuple[pa.Table, pa.Table]:
    """(assignments, edges) of a corpus table; input order decides founding order."""

    config = config or GroupingConfig()
    for name in (id_column, text_column, domain_column, published_column, title_column):
        if name is not None and name not in table.column_names:
            raise ValueError(
                f"no column {name!r} in the input; columns: {', '.join(table.column_names)}"
            )
    ids = [None if v is None else str(v) for v in table[id_column].to_pylist()]
    if any(v is None for v in ids):
        raise ValueError(f"column {id_column!r} has empty ids")
    dupes = [i for i, n in Counter(ids).items() if n > 1]
    if dupes:
        raise ValueError(f"column {id_column!r} is not unique, e.g. {dupes[:3]}")
    texts = table[text_column].to_pylist()
    domains = table[domain_column].to_pylist() if domain_column else [""] * len(ids)
    dates = table[published_column].to_pylist() if published_column else [None] * len(ids)
    titles = table[title_column].to_pylist() if title_column else [None] * len(ids)
    documents: dict[str, dict[str, Any]] = {}
    for i, doc_id in enumerate(ids):
        documents[doc_id] = {
            "doc_id": doc_id,
            # Without a domain column each text is its own pseudo-site: the per-site rules then
            # never fire (a line repeated in two unrelated texts is not called furniture), while
            # the generic and cross-family rules still do.
            "domain": (domains[i] or "") if domain_column else f"text:{i}",
            "text": texts[i] or "",
            "title": titles[i],
            "published_at": dates[i],
            "fetched_at": i,  # input order
        }
    model = FurnitureModel()
    grouper = Grouper(config)
    edges = finish_run(documents, model, config, grouper, observe_sites=domain_column is not None)
    assignments = grouper.assignments()
    sizes = Counter(assignments.values())
    out = pa.Table.from_pylist(
        [
            {
                "id": d,
                "cluster_id": assignments[d],
                "cluster_size": sizes[assignments[d]],
                "text": documents[d]["text"],
                "furniture_removed": documents[d]["furniture_removed"],
            }
            for d in ids
        ],
        schema=ASSIGNMENTS_SCHEMA,
    )
    edge_table = pa.Table.from_pylist(
        [
            {
                "id_a": e.doc_a,
                "id_b": e.doc_b,
                "jaccard": e.jaccard,
                "a_in_b": e.a_in_b,
                "b_in_a": e.b_in_a,
                "relation": e.relation,
            }
            for e in edges
        ],
        schema=CORPUS_EDGES_SCHEMA,
    )
    return out, edge_table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.group",
        description="Group the copies in an existing corpus (a Parquet file or folder).",
    )
    parser.add_argument("input", type=Path, help="a Parquet file or a folder of Parquet files")
    parser.add_argument("--id-column", required=True, help="unique id of each text")
    parser.add_argument("--text-column", required=True, help="the text to group")
    parser.add_argument("--out", type=Path, required=True, help="output folder")
    parser.add_argument("--domain-column", help="site of each text: enables the furniture model")
    parser.add_argument("--published-column", help="publication time (timestamp) of each text")
    parser.add_argument("--title-column", help="headline, removed when repeated in the text")
    args = parser.parse_args(argv)
    if not args.input.exists():
        parser.error(f"no such file or folder: {args.input}")
    try:
        table = ds.dataset(args.input, format="parquet").to_table()
        assignments, edges = group_table(
            table,
            args.id_column,
            args.text_column,
            domain_column=args.domain_column,
            published_column=args.published_column,
            title_column=args.title_column,
        )
    except (ValueError, pa.ArrowInvalid) as exc:
        print(f"error: {args.input}: {exc}", file=sys.stderr)
        return 2
    atomic_write_table(assignments, args.out / "assignments.parquet", schema=ASSIGNMENTS_SCHEMA)
    atomic_write_table(edges, args.out / "edges.parquet", schema=CORPUS_EDGES_SCHEMA)
    sizes = Counter(assignments["cluster_id"].to_pylist())
    multi = sum(1 for n in sizes.values() if n > 1)
    print(
        f"{assignments.num_rows} texts -> {len(sizes)} clusters ({multi} with copies), "
        f"{edges.num_rows} edges; config {GroupingConfig()}\n"
        f"written: {args.out / 'assignments.parquet'}, {args.out / 'edges.parquet'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
