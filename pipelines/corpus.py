"""Group an existing corpus (texts that did not come from a crawl) with the crawl's own code.

`group_table(table, id_column, text_column, ...)` takes a pyarrow table and returns the
(assignments, edges) tables: the corpus front door, as the crawl is the web's;
`python -m pipelines.group` is its command line. Each text is cleaned with the furniture model
(per site when a domain column is given: lines that recur across a site's texts are furniture
there) and grouped with the same GroupingConfig, verification and lead index as `make crawl`.
No disk I/O.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pyarrow as pa

from pipelines.core import cleancorpus
from pipelines.core.config import GroupingConfig
from pipelines.core.endofrun import finish_run
from pipelines.core.furniture import FurnitureModel
from pipelines.core.grouping import Grouper
from pipelines.storage.schemas import ASSIGNMENTS_SCHEMA, CORPUS_EDGES_SCHEMA


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
    grouper = Grouper(config)
    if domain_column is None and cleancorpus.applies(config):
        # No sites: finish_run's cleaning over arrays, the same texts and signatures.
        clean = cleancorpus.clean_corpus(
            ids, [d["text"] for d in documents.values()], titles, config
        )
        for row, text, removed in zip(documents.values(), clean.texts, clean.removed, strict=True):
            row["text"], row["furniture_removed"] = text, removed
        edges = grouper.add_many(ids, clean.signatures, clean.counts, dates, clean.leads)
    else:
        edges = _finish(documents, config, grouper, observe=domain_column is not None)
    return _tables(ids, documents, grouper, edges)


def _finish(
    documents: dict[str, dict[str, Any]], config: GroupingConfig, grouper: Grouper, observe: bool
) -> list[Any]:
    model = FurnitureModel()
    return finish_run(
        documents,
        model,
        config,
        grouper,
        observe_sites=observe,
        records=False,
        exact_counts=True,
    )


def _tables(
    ids: list[str], documents: dict[str, dict[str, Any]], grouper: Grouper, edges: list[Any]
) -> tuple[pa.Table, pa.Table]:
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
