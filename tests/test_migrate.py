"""`make migrate`: a data folder of schema version 1 is rewritten in place and reads as new."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from demoweb.spawn import REPO_ROOT, server_env
from pipelines.storage import store
from pipelines.storage.migrate import migrate
from pipelines.storage.schemas import PARTITIONED_TABLES, VERSION_KEY

TABLES = ("pages", "documents", "edges", "runs", "clusters", "cluster_history")


def to_version_1(data: Path) -> None:
    """What version 1 wrote: run_id inside each partition file too, no runs.failures/cut_short."""
    for path in sorted(data.rglob("*.parquet")):
        table = pq.read_table(path)
        meta = table.schema.metadata or {}
        if VERSION_KEY not in meta:
            continue  # state files, the demo web's truth
        name = meta[b"syndication_tracker.table"].decode()
        if name in PARTITIONED_TABLES and path.parent.name.startswith("run_id="):
            run_id = path.parent.name.split("=", 1)[1]
            table = table.append_column("run_id", pa.array([run_id] * table.num_rows))
        if name == "runs":
            table = table.drop_columns(["failures", "cut_short"])
        pq.write_table(table.replace_schema_metadata({**meta, VERSION_KEY: b"1"}), path)


def test_migrate_rewrites_a_version_1_folder(demo_crawl: dict[str, Any], tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(demo_crawl["data"], data)
    before = {t: store.read_table(data, t) for t in TABLES}
    to_version_1(data)

    sources = tmp_path / "sources.yaml"
    sources.write_text("sources: [{name: a, start_urls: ['http://unused.test/']}]\n")
    cmd = [sys.executable, "-m", "crawler.run", "--sources", str(sources), "--data", str(data)]
    refused = subprocess.run(cmd, cwd=REPO_ROOT, env=server_env(), capture_output=True, text=True)
    assert refused.returncode == 4 and "make migrate" in refused.stderr, refused.stderr[-2000:]

    done = migrate(data)
    assert all(done[t] > 0 for t in TABLES), done
    assert sum(migrate(data).values()) == 0  # idempotent
    for t in TABLES:
        after = store.read_table(data, t)
        if t == "runs":
            assert after.drop_columns(["failures", "cut_short"]).equals(
                before[t].drop_columns(["failures", "cut_short"])
            )
        else:
            assert after.sort_by(after.column_names[0]).equals(
                before[t].sort_by(before[t].column_names[0])
            ), t
    assert len(pd.read_parquet(data / "documents")) == before["documents"].num_rows
