"""Group an existing corpus (texts that did not come from a crawl) with the crawl's own code.

    python -m pipelines.group INPUT.parquet --id-column ID --text-column TEXT --out DIR
        [--domain-column SITE] [--published-column DATE] [--title-column TITLE]

Reads a Parquet file (or a folder of them), cleans each text with the furniture model when a
domain column is given (lines that recur across a site's texts are furniture there), groups the
copies with the same GroupingConfig, verification and lead index as `make crawl`
(pipelines.core.corpus.group_table), and writes `DIR/assignments.parquet` (one row per input
id) and `DIR/edges.parquet`, atomically.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds

from pipelines.core.config import GroupingConfig
from pipelines.corpus import group_table
from pipelines.storage.schemas import ASSIGNMENTS_SCHEMA, CORPUS_EDGES_SCHEMA
from pipelines.storage.store import atomic_write_table


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
