"""The grouping service: one process owns a data folder, any number of crawl workers feed it.

    python -m pipelines.service --redis redis://HOST:6379/0 [--crawl NAME] [--data DIR]
        [--quiet]

Crawl workers (`python -m crawler.worker --service`, on this machine or others) fetch and
extract; they hand every page to this service through the crawl's Redis stream
(pipelines/storage/pagestream.py). The service owns what one `make crawl` process owns: the
data folder's lock, its state (the seen pages, the index, the furniture model), the `pages`
dataset and the end of the run, which is the crawl's own (pipelines/storage/commit.py): one
run, the same `runs`, `documents`, `edges`, `clusters` datasets, cluster ids stable across runs.

One invocation is one run. The service opens the run (a new run id, published with the seen
state the workers need for conditional requests), takes the workers' entries as they come,
and when the crawl is over (the shared frontier has nothing queued or in flight and no worker
is left) groups, commits, and only then acknowledges the run's entries and closes the stream.

Nothing is lost and nothing is doubled, whoever is killed when:
- a worker killed with -9: the requests it held go back to the queue after the lease; a page
  it had handed over but not yet acknowledged is fetched again by another worker, and the
  service keeps only the first entry of a request (by its frontier ticket);
- the service killed with -9 (or stopped with SIGTERM / Ctrl-C): the workers go on, the stream
  keeps their entries; started again, the service resumes the same run: it drops the pages it
  had written of that run and takes every entry again from the stream's start, then the new
  ones. Killed after its commit, it finishes the run's records and closes the stream;
- a document already grouped (same doc id, same content hash) is not a new version and adds
  nothing (pipelines/stages/group.py, add_document).

Exit codes: 0 the run is committed; 1 it failed; 2 bad arguments or Redis unreachable;
3 another run holds the data folder's lock; 4 the state needs `make reprocess`.
"""

from __future__ import annotations

import argparse
import logging
import shutil
import signal
import socket
import sys
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis

from crawler.frontier import RedisFrontier
from crawler.sources import cut_short_text
from pipelines.analyst.watch import WatchItem, load_watch, watch_file, write_watch_json
from pipelines.core.config import GroupingConfig, IncompatibleStateError
from pipelines.core.urls import canonicalise_url
from pipelines.stages.context import RunContext
from pipelines.stages.group import add_announced, take_page
from pipelines.stages.pages import count_page
from pipelines.stages.write import nothing_fetched, runs_row
from pipelines.storage.commit import end_run_on_state, write_run
from pipelines.storage.pagestream import PageStream, decode_entry
from pipelines.storage.schemas import schema_for
from pipelines.storage.state import (
    DERIVED_PARTITIONED,
    CrawlState,
    RunLockedError,
    StateError,
    prepare_folder,
    read_manifest,
    run_lock,
    seen_table,
)
from pipelines.storage.store import (
    DatasetWriter,
    new_run_id,
    partition_dir,
    write_run_record,
)

EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_LOCKED, EXIT_STATE = 0, 1, 2, 3, 4
logger = logging.getLogger("service")


class Stats:
    """Scrapy's stats API (inc_value, get_value, get_stats) over a Counter: what the shared
    stage functions count into, and the workers' counters merged."""

    def __init__(self) -> None:
        self.values: Counter[str] = Counter()

    def inc_value(self, key: str, count: int = 1, start: int = 0) -> None:
        self.values[key] += count

    def get_value(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def get_stats(self) -> dict[str, Any]:
        return dict(self.values)


class ServiceStopped(Exception):
    """SIGTERM or SIGINT: stop without committing; a restart resumes the run."""


class GroupingService:
    def __init__(
        self,
        client: redis.Redis,
        crawl: str,
        data_dir: Path,
        grouping: GroupingConfig,
        *,
        report: Any = None,
        watch: Sequence[WatchItem] = (),
    ) -> None:
        self.watch = tuple(watch)
        self.client = client
        self.crawl = crawl
        self.data_dir = data_dir
        self.grouping = grouping
        self.stream = PageStream(client, crawl)
        self.frontier = RedisFrontier(client, f"st:{crawl}", f"service-{socket.gethostname()}")
        self.report = report or (lambda line: print(line, file=sys.stderr))
        self.stats = Stats()
        self.tickets: set[str] = set()  # requests taken once (a refetch is a duplicate)
        self.entry_ids: list[bytes] = []
        self.announced: set[str] = set()
        # links the workers' limits refused: source -> limit -> (value, canonical URLs), less
        # those another worker requested after all (`requested`)
        self.unfollowed: dict[str, dict[str, tuple[str, set[str]]]] = {}
        self.requested: set[str] = set()
        self.hello: dict[str, Any] = {}
        self.first_error: str | None = None
        self.workers_seen: set[str] = set()
        self.ctx: RunContext | None = None
        self.pages: DatasetWriter | None = None
        self.resumed = False  # open() took up the run a stopped service left
        self.busy = 0.0  # seconds spent taking entries (the service's own work)
        self.entry_bytes = 0

    # -- opening -----------------------------------------------------------------------------

    def open(self) -> str | None:
        """Open a new run, or resume the one a killed service left; its id. None: the run the
        stream names was committed already (its records are finished now, nothing else to do).
        """
        info = self.stream.run_info()
        if info is not None:
            rid = info["run_id"]
            manifest = read_manifest(self.data_dir) or {}
            if rid in manifest.get("committed_runs", []):
                prepare_folder(self.data_dir, self.grouping, report=self.report)
                self.stream.close_run()  # its entries are acknowledged with the stream's end
                self.frontier.mark_finished()
                self.report(f"run {rid} was committed before the service stopped: its records "
                            "are finished and its stream closed")  # fmt: skip
                return None
            started = datetime.fromisoformat(info["started_at"])
            self._prepare(rid, started, resume=True)
            self.resumed = True
            self.report(f"resuming run {rid}: {self.stream.backlog()} entr(ies) in the stream")
            return rid
        live = self.frontier.live_workers()
        if live:
            raise StateError(
                f"workers of crawl {self.crawl!r} are still running ({', '.join(live)}) and no "
                "run is open: stop them, or give the service their crawl name once they end"
            )
        self.frontier.clear()  # the last run's finished mark: this is a new crawl
        self.stream.close_run()
        rid = new_run_id()
        self._prepare(rid, datetime.now(UTC), resume=False)
        return rid

    def _prepare(self, rid: str, started: datetime, *, resume: bool) -> None:
        prepare_folder(self.data_dir, self.grouping, current_run=rid, report=self.report)
        if resume:
            # Everything of the run is taken again from the stream: what was written of it goes.
            for table in ("pages", *DERIVED_PARTITIONED):
                shutil.rmtree(partition_dir(self.data_dir, table, rid), ignore_errors=True)
        ctx = RunContext(run_id=rid, data_dir=self.data_dir, grouping=self.grouping,
                         started_at=started)  # fmt: skip
        ctx._state = CrawlState.load(self.data_dir)
        self.ctx = ctx
        self.pages = DatasetWriter(self.data_dir, "pages", schema_for("pages"), rid,
                                   rows_per_file=500)  # fmt: skip
        ctx.pages_writer = self.pages
        write_run_record(self.data_dir, self._row("running"))
        self.stream.open_run(rid, started, seen_table(ctx.state.seen))

    # -- the entries -------------------------------------------------------------------------

    def take(self, entry_id: bytes, fields: dict[bytes, bytes]) -> None:
        t0 = time.perf_counter()
        try:
            self._take(entry_id, fields)
        finally:
            self.busy += time.perf_counter() - t0

    def _take(self, entry_id: bytes, fields: dict[bytes, bytes]) -> None:
        assert self.ctx is not None and self.pages is not None
        self.entry_ids.append(entry_id)
        self.entry_bytes += len(fields[b"data"])
        kind, worker, payload = decode_entry(fields)
        self.workers_seen.add(worker)
        if kind == "hello":
            if not self.hello and payload.get("demo_web") is not None:
                from crawler.run import write_demo_truth

                write_demo_truth(payload["demo_web"], self.data_dir)
            self.hello = self.hello or payload
            return
        if kind == "bye":
            self._merge(payload["counters"])
            for name, limits in payload["unfollowed"].items():
                for limit, (value, keys) in limits.items():
                    mine = self.unfollowed.setdefault(name, {}).setdefault(limit, (value, set()))
                    mine[1].update(keys)
            self.first_error = self.first_error or payload.get("first_error")
            return
        row, item, counters = payload
        self._merge(counters)
        if item.ticket is not None:
            if item.ticket in self.tickets:
                # fetched again after its worker died between handing it over and saying so
                self.stats.inc_value("service/duplicate_entries")
                return
            self.tickets.add(item.ticket)
        if row["run_id"] != self.ctx.run_id:
            self.stats.inc_value("service/other_run_entries")
            return
        self.pages.write(row)
        try:
            self.requested.add(canonicalise_url(row["url"]))
        except ValueError:
            pass
        count_page(self.ctx.counts, self.ctx.state.seen, item)
        take_page(self.ctx, item, self.stats)
        self.announced.update(item.announced)
        if item.error:
            self.first_error = self.first_error or f"{item.final_url}: {item.error}"
        self.stats.inc_value("service/pages")

    def _merge(self, counters: dict[str, int]) -> None:
        for k, v in counters.items():
            self.stats.inc_value(k, v)

    # -- the loop ----------------------------------------------------------------------------

    def crawl_over(self) -> bool:
        """The shared frontier has nothing queued or in flight, and no worker is left."""
        self.frontier.requeue_dead()  # what a dead worker held goes back, even if all are dead
        if self.frontier.live_workers():
            return False
        if self.frontier.finished_by() is not None:
            return True
        return self.frontier.seen_count() > 0 and self.frontier.done()

    def serve(self, *, poll: float = 1.0) -> dict[str, Any]:
        """Take entries until the crawl is over, then end the run; its runs row."""
        if self.resumed:  # what the stopped service was given, from the stream's start
            after: bytes | str = "0"
            while got := self.stream.read(after=after):
                for entry_id, fields in got:
                    self.take(entry_id, fields)
                after = got[-1][0]
        last_note = time.monotonic()
        while True:
            got = self.stream.read(block=poll)
            for entry_id, fields in got:
                self.take(entry_id, fields)
            if got:
                continue
            if self.crawl_over():
                # every worker handed its pages over before it acknowledged them: what is left
                # in the stream now is all there is
                tail = self.stream.read(block=0.01)
                if not tail:
                    break
                for entry_id, fields in tail:
                    self.take(entry_id, fields)
                continue
            if time.monotonic() - last_note > 30:
                last_note = time.monotonic()
                self.report(
                    f"waiting: {self.stats.get_value('service/pages', 0)} page(s) taken, "
                    f"{self.frontier.queued()} queued, {self.frontier.in_flight()} in flight, "
                    f"workers alive: {', '.join(self.frontier.live_workers()) or 'none'}"
                )
        return self.finish()

    # -- the end -----------------------------------------------------------------------------

    def cut_short(self) -> dict[str, str]:
        """runs.cut_short of the whole crawl: each link counted once, whichever worker's limit
        refused it, and not at all when some worker requested it after all."""
        return cut_short_text({
            name: {limit: (value, sorted(keys - self.requested))
                   for limit, (value, keys) in limits.items()}
            for name, limits in self.unfollowed.items()
        })  # fmt: skip

    def _row(self, status: str, **extra: Any) -> dict[str, Any]:
        assert self.ctx is not None
        return runs_row(
            self.ctx,
            status,
            stats=self.stats.get_stats(),
            sources=self.hello.get("sources"),
            cut_short=self.cut_short(),
            settings_values=self.hello.get("settings") or {"grouping": self.grouping.to_dict()},
            **extra,
        )

    def finish(self) -> dict[str, Any]:
        ctx = self.ctx
        assert ctx is not None and self.pages is not None

        def final_row(counts: dict[str, int]) -> dict[str, Any]:
            row = self._row("ok", finished_at=datetime.now(UTC), **counts)
            if nothing_fetched(row):
                tried = row["pages_failed"] + row["requests_skipped"]
                row["status"] = "failed"
                row["error"] = (f"no page could be fetched: all {tried} request(s) failed; "
                                f"first: {self.first_error or 'no error recorded'}")  # fmt: skip
            return row

        t0 = time.perf_counter()
        try:
            self.pages.close()
            add_announced(ctx, self.announced, self.stats)
            result = end_run_on_state(
                ctx.run_id, ctx.grouping, ctx.state, ctx.documents, ctx.extract_hashes
            )
            row = write_run(self.data_dir, result, ctx.state, ctx.seen, final_row, watch=self.watch)
        except Exception as exc:
            row = self._row("failed", finished_at=datetime.now(UTC),
                            error=f"{type(exc).__name__}: {exc}")  # fmt: skip
            write_run_record(self.data_dir, row)
            raise
        write_run_record(self.data_dir, row)
        # committed: only now are the run's entries acknowledged and the stream closed
        self.stream.ack(self.entry_ids)
        self.stream.close_run()
        self.frontier.mark_finished()
        ctx.run_row = row
        self.report(
            f"took {len(self.entry_ids)} entries ({self.entry_bytes} bytes) in {self.busy:.2f} s "
            f"of work; end of run {time.perf_counter() - t0:.2f} s for {len(ctx.documents)} "
            f"document(s); {self.stats.get_value('service/duplicate_entries', 0)} duplicate "
            "entr(ies) dropped"
        )
        return row


def _stop(signum: int, frame: Any) -> None:
    raise ServiceStopped(signal.Signals(signum).name)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.service",
        description=__doc__.split("\n")[0],
        epilog="Exit codes: 0 committed, 1 failed, 2 bad arguments or Redis unreachable, "
        "3 another run holds the lock, 4 state needs `make reprocess`.",
    )
    parser.add_argument("--redis", required=True, help="the Redis server, redis://HOST:PORT/DB")
    parser.add_argument(
        "--crawl", default="crawl", help="the crawl's name in Redis (default: crawl)"
    )
    parser.add_argument("--data", default="data", help="the data folder (default: data)")
    parser.add_argument("--poll", type=float, default=1.0, help=argparse.SUPPRESS)
    parser.add_argument("--quiet", action="store_true", help="no summary at the end")
    parser.add_argument(
        "--watch", metavar="FILE", help="the watch list (default: watch.yaml when there is one)"
    )
    parser.add_argument(
        "--watch-json", metavar="FILE", help="write the run's watch list hits to FILE as JSON"
    )
    parser.add_argument("--report", action="store_true", help="rebuild DATA/report/ after it")
    args = parser.parse_args(argv)
    watch_path = watch_file(args.watch)
    if watch_path is False:
        return EXIT_CONFIG
    watch = load_watch(watch_path) if watch_path else ()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s [%(name)s] %(levelname)s: %(message)s"
    )
    from pipelines.reprocess import project_grouping

    grouping = project_grouping()
    data_dir = Path(args.data)
    try:
        client = redis.Redis.from_url(args.redis, socket_connect_timeout=5)
        client.ping()
    except (redis.RedisError, ValueError) as exc:
        print(f"error: cannot reach Redis at {args.redis}: {exc}", file=sys.stderr)
        return EXIT_CONFIG

    def report(line: str) -> None:
        print(f"service: {line}", file=sys.stderr, flush=True)

    service = GroupingService(client, args.crawl, data_dir, grouping, report=report, watch=watch)
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        with run_lock(data_dir, "grouping service"):
            rid = service.open()
            if rid is None:
                return EXIT_OK
            print(f"service: run {rid} open for crawl {args.crawl!r}; waiting for workers",
                  file=sys.stderr, flush=True)  # fmt: skip
            row = service.serve(poll=args.poll)
    except RunLockedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_LOCKED
    except (IncompatibleStateError, StateError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_STATE
    except ServiceStopped as exc:
        print(f"service: stopped by {exc} before the end of the run; nothing is lost: start "
              "the service again to resume it", file=sys.stderr)  # fmt: skip
        return EXIT_FAILED
    except redis.RedisError as exc:
        print(f"error: Redis lost: {exc}; start the service again once Redis is back",
              file=sys.stderr)  # fmt: skip
        return EXIT_FAILED
    if not args.quiet:
        from pipelines.summary import print_summary

        print_summary(data_dir, row.get("run_id"))
    if args.watch_json:
        write_watch_json(data_dir, row.get("run_id"), Path(args.watch_json))
    if args.report and row.get("status") == "ok":
        import subprocess

        done = subprocess.run([sys.executable, "-m", "pipelines.report", "--data", str(data_dir)])
        if done.returncode:
            print(f"warning: the report was not rebuilt (exit {done.returncode})", file=sys.stderr)
    if row.get("status") != "ok":
        print(f"error: run {row.get('run_id')} failed: {row.get('error')}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
