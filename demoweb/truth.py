"""Ground truth of the demo web as Parquet: one row per URL that answers 200.

The schema is explicit (never inferred) so that evaluation code can rely on column types even
when a column is all null in a small web.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from demoweb.web import DemoWeb

TRUTH_SCHEMA = pa.schema(
    [
        pa.field("url", pa.string(), nullable=False),  # absolute canonical URL of the page
        pa.field("site", pa.string(), nullable=False),  # host
        # article, home, section, tag, feed, sitemap_index, sitemap, robots, search
        pa.field("page_kind", pa.string(), nullable=False),
        pa.field("disallowed", pa.bool_(), nullable=False),  # robots.txt forbids it
        pa.field("story_id", pa.int64()),  # the event; a rewrite shares it
        pa.field("family_id", pa.string()),  # the copy family; a rewrite starts a new one
        # original, verbatim, excerpt, edited, ads_inserted, rewrite, brief
        pa.field("copy_kind", pa.string()),
        pa.field("original_url", pa.string()),  # the family's original page
        pa.field("title", pa.string()),
        pa.field("clean_text", pa.string()),  # body paragraphs joined by "\n"
        pa.field(
            "furniture", pa.list_(pa.string()), nullable=False
        ),  # boilerplate lines >= 4 words
        pa.field("credit_line", pa.string()),  # "first appeared on ..." (also in furniture)
        pa.field("canonical_url", pa.string()),  # <link rel=canonical> href
        pa.field("published_at", pa.timestamp("us", tz="UTC")),
        pa.field("hard_negative_group", pa.string()),  # briefs-<host> or theme-<block>
        pa.field("topic", pa.string()),
        pa.field("author", pa.string()),
        pa.field("variant", pa.int32()),  # page number within the story (0 = original)
        pa.field("template", pa.string()),  # the site's template family
    ]
)


def write_truth(web: DemoWeb, path: str | os.PathLike[str], batch_rows: int = 5000) -> int:
    """Write web.truth_rows() to a zstd Parquet file atomically; returns the number of rows.

    Rows are streamed in batches, so a large web does not hold its whole truth in memory.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    n = 0
    try:
        with pq.ParquetWriter(tmp, TRUTH_SCHEMA, compression="zstd") as writer:
            batch: list[dict] = []
            for row in web.truth_rows():
                batch.append(row)
                if len(batch) >= batch_rows:
                    writer.write_table(pa.Table.from_pylist(batch, schema=TRUTH_SCHEMA))
                    n += len(batch)
                    batch = []
            if batch or n == 0:
                writer.write_table(pa.Table.from_pylist(batch, schema=TRUTH_SCHEMA))
                n += len(batch)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return n
