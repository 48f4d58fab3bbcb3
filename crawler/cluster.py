"""`make crawl-cluster WORKERS=N`: Redis, one grouping service and N crawl workers on this machine.

    python -m crawler.cluster [--workers N] [--sources sources.yaml] [--data data]
        [--demo-day N] [--redis URL] [--crawl NAME] [--delay SECONDS] [--lease SECONDS] [--quiet]

The same parts as on many machines (README, "Many machines"), started here and stopped at the
end: a redis-server of its own on a free loopback port (unless `--redis` names one), the demo
web once when the sources configure it (every worker fetches through it), the grouping service
(python -m pipelines.service) on `--data`, then N workers (python -m crawler.worker --service).
The result is the run a single `make crawl` of the same web makes: the same doc ids, the same
partition into clusters, in the same datasets. The service prints the summary; each worker's
log goes to `DATA/logs/<run_id>-<worker>.log`.

Exit code: the service's (0: the run is committed). If every worker has stopped and the crawl
is not over (all of them failed), the service is stopped too (its run can be resumed) and the
exit code is 1.
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from crawler.run import EXIT_CONFIG, EXIT_FAILED, demo_web_proxy, sources_of
from demoweb.spawn import terminate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m crawler.cluster", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--workers", type=int, default=2, help="crawl workers (default 2)")
    parser.add_argument("--sources", default="sources.yaml", help="sources config")
    parser.add_argument("--data", default="data", help="the service's data folder")
    parser.add_argument("--demo-day", type=int, default=None, metavar="N")
    parser.add_argument("--redis", default=None, help="a Redis server to use (default: start one)")
    parser.add_argument("--crawl", default="cluster", help="the crawl's name in Redis")
    parser.add_argument(
        "--delay", type=float, default=0.25, help="seconds between two requests to a domain"
    )
    parser.add_argument("--lease", type=float, default=15.0, help="a dead worker's lease (s)")
    parser.add_argument("--quiet", action="store_true", help="no summary at the end")
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    config = sources_of(args.sources, args.demo_day)
    if config is None:
        return EXIT_CONFIG
    from crawler.redisproc import RedisUnavailable, start_redis

    with contextlib.ExitStack() as stack:
        url = args.redis
        if url is None:
            scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="cluster-")))
            try:
                url = stack.enter_context(start_redis(scratch / "redis"))
            except RedisUnavailable as exc:
                print(f"error: {exc}", file=sys.stderr)
                return EXIT_CONFIG
        # one demo web for all the workers (each would otherwise start its own)
        return _run(args, url, demo_web_proxy(stack, config, None))
    return EXIT_FAILED  # not reached


def _run(args: argparse.Namespace, url: str, proxy: str | None) -> int:
    import redis

    from pipelines.storage.pagestream import NoService, PageStream

    py = sys.executable
    service_cmd = [py, "-m", "pipelines.service", "--redis", url, "--crawl", args.crawl,
                   "--data", args.data] + (["--quiet"] if args.quiet else [])  # fmt: skip
    service = subprocess.Popen(service_cmd)
    workers: list[subprocess.Popen[bytes]] = []
    try:
        stream = PageStream(redis.Redis.from_url(url), args.crawl)
        deadline = time.monotonic() + 120
        while True:  # the service opens its run (recovery of the data folder first)
            if service.poll() is not None:
                return int(service.returncode)
            try:
                info = stream.wait_for_run(timeout=0.5)
                break
            except NoService:
                if time.monotonic() > deadline:
                    print("error: the grouping service opened no run in 120 s", file=sys.stderr)
                    return EXIT_FAILED
        logs = Path(args.data) / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        print(f"crawl-cluster: run {info['run_id']}: {args.workers} worker(s) through {url}; "
              f"their logs: {logs}/{info['run_id']}-w*.log", file=sys.stderr)  # fmt: skip
        for i in range(args.workers):
            name = f"w{i + 1}"
            cmd = [py, "-m", "crawler.worker", "--redis", url, "--crawl", args.crawl, "--service",
                   "--worker", name, "--delay", str(args.delay), "--lease", str(args.lease),
                   "--sources", args.sources]  # fmt: skip
            if proxy:
                cmd += ["--proxy", proxy]
            if args.demo_day is not None:
                cmd += ["--demo-day", str(args.demo_day)]
            with open(logs / f"{info['run_id']}-{name}.log", "wb") as log:
                workers.append(subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT))
        for w in workers:
            w.wait()
        failed = [f"w{i + 1}" for i, w in enumerate(workers) if w.returncode != 0]
        if failed:
            print(f"crawl-cluster: worker(s) {', '.join(failed)} failed (see their logs)",
                  file=sys.stderr)  # fmt: skip
        if len(failed) == len(workers):
            print("error: every worker failed and the crawl is not over; the service is stopped "
                  "and its run can be resumed", file=sys.stderr)  # fmt: skip
            return EXIT_FAILED
        try:  # a worker ends when the whole crawl is over: the service ends the run now
            return int(service.wait(timeout=2 * args.lease + 300))
        except subprocess.TimeoutExpired:
            print("error: the workers stopped but the crawl is not over; the service is "
                  "stopped, its run can be resumed", file=sys.stderr)  # fmt: skip
            return EXIT_FAILED
    finally:
        for w in workers:
            terminate(w, timeout=30)
        terminate(service, timeout=120)


if __name__ == "__main__":
    sys.exit(main())
