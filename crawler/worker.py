"""A crawl worker on a frontier shared through Redis: any number of them crawl one set of sources.

    python -m crawler.worker --redis redis://HOST:6379/0 [--worker NAME] [--crawl NAME] [--fresh]
        [--delay SECONDS] [--lease SECONDS] [--service [--wait SECONDS]]
        [crawler.run options: --sources, --data, --proxy, --demo-day, ...]

Every worker runs `make crawl`'s runner (`python -m crawler.run`, with its options and exit
codes) with Scrapy's scheduler replaced by the shared frontier (crawler/frontier.py,
crawler/scheduler.py): the request queue and the seen set live in Redis under `--crawl` (one
name per crawl), so no page is fetched twice whichever worker finds its link first; every
domain gets one request per `--delay` seconds from all workers together (AutoThrottle is off:
its delays are per process); a worker killed with -9 loses nothing, since what it had taken
goes back to the queue `--lease` seconds after its last sign of life. A worker ends when the
whole crawl has nothing queued and nothing in flight; the name is then marked finished, and a
worker started under it later stops with exit code 2 (`--fresh` clears it first).

With `--service`, the worker hands every page, extracted in its own process pool, to the
crawl's grouping service (python -m pipelines.service, which owns the data folder; crawler/
handoff.py), and crawls under the run the service opened (it waits up to `--wait` seconds for
one). Without, it writes the pages it fetched to a `--data` folder of its own (a test bed for
the frontier: its documents are grouped apart from the other workers').
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from typing import Any

from crawler import run


def worker_settings(args: argparse.Namespace) -> dict[str, Any]:
    from crawler import settings as defaults

    middlewares = dict(defaults.DOWNLOADER_MIDDLEWARES)
    middlewares["crawler.scheduler.SharedPolitenessMiddleware"] = 900  # last: just before fetching
    return {
        "SCHEDULER": "crawler.scheduler.RedisScheduler",
        "REDIS_URL": args.redis,
        "FRONTIER_PREFIX": f"st:{args.crawl}",
        "WORKER_ID": args.worker,
        "FRONTIER_LEASE": args.lease,
        "CLUSTER_DOMAIN_DELAY": args.delay,
        "AUTOTHROTTLE_ENABLED": False,
        "DOWNLOADER_MIDDLEWARES": middlewares,
    }


def service_settings(args: argparse.Namespace, run_id: str) -> dict[str, Any]:
    """With --service: extract here, hand each page to the service (crawler/handoff.py)."""
    return {
        "ITEM_PIPELINES": {
            "pipelines.stages.extract.ExtractPipeline": 200,
            "crawler.handoff.HandoffPipeline": 500,
        },
        "SERVICE_CRAWL": args.crawl,
        "RUN_ID": run_id,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m crawler.worker",
        description=__doc__.split("\n")[0],
        epilog="Other options are those of python -m crawler.run (--sources, --data, ...).",
    )
    parser.add_argument("--redis", required=True, help="the Redis server, redis://HOST:PORT/DB")
    parser.add_argument(
        "--worker",
        default=f"{socket.gethostname()}-{os.getpid()}",
        help="this worker's name, unique in the crawl (default: host-pid)",
    )
    parser.add_argument("--crawl", default="crawl", help="the shared crawl's name in Redis")
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="clear what Redis holds of this crawl name first (a finished crawl's seen set)",
    )
    parser.add_argument(
        "--delay",
        type=float,
        default=0.25,
        help="seconds between two requests to one domain, all workers together (default 0.25)",
    )
    parser.add_argument(
        "--service",
        action="store_true",
        help="hand every page to the crawl's grouping service (python -m pipelines.service) "
        "instead of writing a data folder of this worker's own",
    )
    parser.add_argument(
        "--wait",
        type=float,
        default=60.0,
        help="with --service: seconds to wait for the service to open its run (default 60)",
    )
    parser.add_argument(
        "--lease",
        type=float,
        default=15.0,
        help="seconds after a worker's last sign of life before its requests go back (15)",
    )
    args, rest = parser.parse_known_args(argv)
    if "\n" in args.worker or not args.worker:
        parser.error("--worker must be a non-empty name on one line")
    if args.delay < 0 or args.lease <= 0:
        parser.error("--delay must be >= 0 and --lease > 0")
    import redis

    from crawler.frontier import RedisFrontier

    if args.service and args.fresh:
        parser.error("--fresh and --service: the grouping service starts each crawl afresh")
    settings = worker_settings(args)
    try:
        client = redis.Redis.from_url(args.redis, socket_connect_timeout=5)
        client.ping()
        frontier = RedisFrontier(client, f"st:{args.crawl}", args.worker)
        if args.service:
            from pipelines.storage.pagestream import NoService, PageStream

            try:
                info = PageStream(client, args.crawl).wait_for_run(args.wait)
            except NoService as exc:
                print(f"error: {exc}", file=sys.stderr)
                return run.EXIT_CONFIG
            settings.update(service_settings(args, info["run_id"]))
            if (who := frontier.finished_by()) is not None:
                # the run is still open (the service is ending it), the crawl itself is over
                print(
                    f"crawl {args.crawl!r} is over (seen ending by {who}); the service is "
                    f"ending run {info['run_id']}: nothing left to fetch",
                    file=sys.stderr,
                )
                return run.EXIT_OK
        if args.fresh:
            live = frontier.live_workers()
            if live:
                print(f"error: --fresh: workers of crawl {args.crawl!r} are running: "
                      f"{', '.join(live)}", file=sys.stderr)  # fmt: skip
                return run.EXIT_CONFIG
            frontier.clear()
        elif (who := frontier.finished_by()) is not None:
            print(
                f"error: the crawl {args.crawl!r} in Redis has finished (seen ending by {who}); "
                "its seen set would make this worker fetch nothing: give a new --crawl name, "
                "or --fresh to clear it",
                file=sys.stderr,
            )
            return run.EXIT_CONFIG
    except (redis.RedisError, ValueError) as exc:
        print(f"error: cannot reach Redis at {args.redis}: {exc}", file=sys.stderr)
        return run.EXIT_CONFIG
    if args.service:
        code = run.run_for_service(rest, prog="python -m crawler.worker", extra_settings=settings)
    else:
        code = run.main(rest, prog="python -m crawler.worker", extra_settings=settings)
    from crawler import scheduler

    if scheduler.LOST:
        print(f"error: worker {args.worker} stopped: {scheduler.LOST[0]}", file=sys.stderr)
        return run.EXIT_FAILED
    return code


if __name__ == "__main__":
    sys.exit(main())
