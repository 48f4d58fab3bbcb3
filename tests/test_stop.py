"""`systemctl stop` as it really happens: one SIGTERM to the whole process group of a crawl.

The crawl (and the demo web it started, and its extraction workers) all get the signal. The
run must commit what it fetched, and the next run must end with exactly the documents of a
clean crawl of the same web: no page stored without its document.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import duckdb

from demoweb.spawn import REPO_ROOT, server_env
from tests.conftest import DEMO_SEED, DEMO_SITES, DEMO_STORIES


def doc_ids(data: Path) -> set[str]:
    return {
        r[0] for r in duckdb.sql(f"select doc_id from '{data}/documents/**/*.parquet'").fetchall()
    }


def test_one_sigterm_to_the_process_group_loses_no_document(
    demo_crawl: dict[str, Any], tmp_path: Path
) -> None:
    sources = tmp_path / "sources.yaml"  # no proxy: the run starts its own demo web, as make crawl
    sources.write_text(
        f"demo_web: {{seed: {DEMO_SEED}, sites: {DEMO_SITES}, stories: {DEMO_STORIES}}}\n"
    )
    data = tmp_path / "data"
    cmd = [sys.executable, "-m", "crawler.run", "--sources", str(sources), "--data", str(data)]
    proc = subprocess.Popen(
        cmd, cwd=REPO_ROOT, env=server_env(), stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    assert proc.stderr is not None
    deadline = time.monotonic() + 240
    log = []
    for line in proc.stderr:  # wait until extraction is well under way
        log.append(line)
        m = re.search(r"progress: pages \d+ \| articles (\d+)", line)
        if (m and int(m.group(1)) >= 50) or time.monotonic() > deadline:
            break
    os.killpg(proc.pid, signal.SIGTERM)  # once, to every process of the group
    log.extend(proc.stderr)
    assert proc.wait(timeout=300) == 0, "".join(log[-60:])
    (status,) = duckdb.sql(f"select status from '{data}/runs/**/*.parquet'").fetchall()[0]
    assert status == "interrupted"
    stopped = doc_ids(data)
    assert stopped, "nothing was committed before the stop"

    again = subprocess.run(
        cmd, cwd=REPO_ROOT, env=server_env(), capture_output=True, text=True, timeout=600
    )
    assert again.returncode == 0, again.stderr[-3000:]
    assert doc_ids(data) == doc_ids(demo_crawl["data"])
    assert len(doc_ids(data)) > len(stopped)
