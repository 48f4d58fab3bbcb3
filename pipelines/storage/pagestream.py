"""The hand-over from crawl workers to the grouping service: one Redis stream per crawl.

Plain class over a Redis client (the worker's Scrapy glue is crawler/handoff.py, the service is
pipelines/service.py). Keys, under the crawl's prefix `st:<crawl>` beside the frontier's
(crawler/frontier.py, which leaves them alone):

- `P:run`, a hash: the run the service has open (`run_id`, `started_at`, `protocol`). Workers
  wait for it before they fetch anything, and stamp their pages with its run id.
- `P:seen-state`: the committed seen state of the service's data folder (validators, body
  hashes, the links of pages that are not articles), as a Parquet file (SEEN_SCHEMA). Workers
  read it once, so conditional requests and the links of a 304 work as in one process, on
  every machine.
- `P:pages`, a stream with the consumer group `service`: what the workers hand over, one entry
  per fetched page (`kind` page: the `pages` row, the extracted PageItem without its body, the
  worker's failure counters since its last entry), plus one `hello` when a worker starts and
  one `bye` when it ends. The service reads it through the group and acknowledges entries only
  once the run that holds them is committed, so what a killed service had read is delivered
  again (`read(pending=True)`).

Entries are pickled Python objects: workers and the service must run the same version of this
code (`protocol` is checked when a worker starts).
"""

from __future__ import annotations

import io
import pickle
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import redis

PROTOCOL = 2  # 2: the bye entry hands over the links not followed ("unfollowed"), not text

_ADD = """
-- KEYS: run, stream; ARGV: run_id, kind, worker, data. Only into the run that is still open.
if redis.call('HGET', KEYS[1], 'run_id') ~= ARGV[1] then return false end
return redis.call('XADD', KEYS[2], '*', 'kind', ARGV[2], 'worker', ARGV[3], 'data', ARGV[4])
"""
GROUP = "service"
CONSUMER = "service"  # one service per crawl: its pending entries survive its restarts


class NoService(RuntimeError):
    """No grouping service has opened a run for this crawl (a worker waited in vain)."""


class PageStream:
    """The stream of one crawl (`st:<crawl>`), as a worker or the service sees it."""

    def __init__(self, client: redis.Redis, crawl: str) -> None:
        self.r = client
        self.crawl = crawl
        self.prefix = f"st:{crawl}"
        self.stream = f"{self.prefix}:pages"
        self.run_key = f"{self.prefix}:run"
        self.seen_key = f"{self.prefix}:seen-state"
        self._add = client.register_script(_ADD)

    # -- the service's side ------------------------------------------------------------------

    def open_run(self, run_id: str, started_at: datetime, seen: pa.Table) -> None:
        """Publish the open run and the seen state its workers need (a restarted service
        publishes them again for the same run)."""
        sink = io.BytesIO()
        pq.write_table(seen, sink, compression="zstd")
        pipe = self.r.pipeline(transaction=True)
        pipe.set(self.seen_key, sink.getvalue())
        pipe.hset(
            self.run_key,
            mapping={
                "run_id": run_id,
                "started_at": started_at.isoformat(),
                "protocol": str(PROTOCOL),
            },
        )
        pipe.execute()
        self.ensure_group()

    def ensure_group(self) -> None:
        try:  # from the stream's start: entries added before the group existed count too
            self.r.xgroup_create(self.stream, GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def read(
        self, *, after: bytes | str | None = None, count: int = 500, block: float = 1.0
    ) -> list[Any]:
        """Entries for the service, oldest first, as [(entry id, fields)]: with `after` (an
        entry id, "0" for the start), those it was given before and has not acknowledged, from
        there on (after a restart); without, new ones, waiting up to `block` seconds."""
        got = self.r.xreadgroup(
            GROUP,
            CONSUMER,
            {self.stream: after if after is not None else ">"},
            count=count,
            block=None if after is not None else max(int(block * 1000), 1),
        )
        if not got:
            return []
        return list(got[0][1])

    def ack(self, ids: Iterable[bytes | str]) -> int:
        """Acknowledge entries (after the commit of the run that holds them)."""
        done, batch = 0, []
        for entry in ids:
            batch.append(entry)
            if len(batch) == 5000:
                done += int(self.r.xack(self.stream, GROUP, *batch))
                batch = []
        if batch:
            done += int(self.r.xack(self.stream, GROUP, *batch))
        return done

    def close_run(self) -> None:
        """The run is committed and its entries acknowledged: drop the stream and the run."""
        self.r.delete(self.stream, self.run_key, self.seen_key)

    def backlog(self) -> int:
        """Entries in the stream (read or not) of the open run."""
        return int(self.r.xlen(self.stream))

    # -- both --------------------------------------------------------------------------------

    def run_info(self) -> dict[str, str] | None:
        raw = self.r.hgetall(self.run_key)
        if not raw:
            return None
        return {k.decode(): v.decode() for k, v in raw.items()}

    # -- a worker's side ---------------------------------------------------------------------

    def wait_for_run(self, timeout: float, poll: float = 0.2) -> dict[str, str]:
        """The open run, once the service has published it; NoService after `timeout` s."""
        deadline = time.monotonic() + timeout
        while True:
            info = self.run_info()
            if info is not None and self.r.exists(self.seen_key):
                if info.get("protocol") != str(PROTOCOL):
                    raise NoService(
                        f"the grouping service of crawl {self.crawl!r} speaks protocol "
                        f"{info.get('protocol')}, this worker {PROTOCOL}: run the same version "
                        "of the code on every machine"
                    )
                return info
            if time.monotonic() >= deadline:
                raise NoService(
                    f"no grouping service has opened a run for crawl {self.crawl!r} after "
                    f"{timeout:g} s: start `python -m pipelines.service --redis URL --crawl "
                    f"{self.crawl} --data DIR` first"
                )
            time.sleep(poll)

    def published_seen(self) -> pa.Table:
        blob = self.r.get(self.seen_key)
        if blob is None:
            raise NoService(f"the grouping service of crawl {self.crawl!r} has closed its run")
        return pq.read_table(io.BytesIO(blob))

    def add(self, run_id: str, kind: str, worker: str, payload: Any) -> bytes | None:
        """Append one entry to run `run_id`; its id, or None when that run is closed (the
        service ended it: the crawl was over, the entry is a late worker's)."""
        blob = pickle.dumps(payload, protocol=5)
        got = self._add(keys=[self.run_key, self.stream], args=[run_id, kind, worker, blob])
        return None if got is None else bytes(got)


def decode_entry(fields: dict[bytes, bytes]) -> tuple[str, str, Any]:
    """(kind, worker, payload) of one entry."""
    return (
        fields[b"kind"].decode(),
        fields[b"worker"].decode(),
        pickle.loads(fields[b"data"]),
    )
