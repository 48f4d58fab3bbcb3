"""`make crawl`: validate the sources, start the demo web when configured, crawl, summarise.

    python -m crawler.run [--sources sources.yaml] [--data data] [--bench] [--demo-day N]
        [--proxy URL] [--watch watch.yaml] [--watch-json FILE] [--report]

One run at a time per data folder: the run holds `DATA/.lock` (fcntl.flock, released by the
kernel however the process ends). Before any request it finishes what a killed run left
(pipelines/storage/state.recover) and checks that the saved grouping state is comparable with this
run's config. The run's log goes to stderr and to `DATA/logs/<run_id>.log`.

Exit codes (for cron and systemd):
    0  the run finished and its datasets and state are committed
    1  the crawl failed (the runs table and the log say why)
    2  bad configuration or arguments (nothing was requested or written)
    3  another run holds the data folder's lock (nothing was done)
    4  the saved state cannot be used as it is: old signatures are not comparable with this
       run's grouping config, or a `make reprocess` was interrupted; run `make reprocess`
       (nothing was requested)
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import logging
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from crawler.sources import (
    DemoWebConfig,
    SourcesConfig,
    SourcesError,
    load_sources,
    with_demo_day,
)

EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_LOCKED, EXIT_STATE = 0, 1, 2, 3, 4


def bench_settings() -> dict[str, Any]:
    """Politeness off, for benchmarks on loopback: no AutoThrottle, no per-domain cap."""
    return {
        "AUTOTHROTTLE_ENABLED": False,
        "CONCURRENT_REQUESTS": 32,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 32,
        "DOWNLOAD_DELAY": 0,
    }


@contextlib.contextmanager
def demo_web_server(cfg: DemoWebConfig, faults: float = 0.0) -> Iterator[str]:
    """Start `python -m demoweb serve` on a free loopback port; yield its proxy URL; stop it."""
    from demoweb.spawn import serve_command, server_env, terminate, wait_until_ready

    with tempfile.TemporaryDirectory(prefix="demoweb-") as tmp:
        ready, log_path = Path(tmp) / "ready", Path(tmp) / "server.log"
        cmd = serve_command(
            seed=cfg.seed, sites=cfg.sites, stories=cfg.stories, day=cfg.day,
            ready_file=ready, faults=faults, heavy=cfg.heavy,
        )  # fmt: skip
        with open(log_path, "wb") as log:
            proc = subprocess.Popen(cmd, env=server_env(), stdout=log, stderr=subprocess.STDOUT)
        try:
            yield "http://" + wait_until_ready(proc, ready, log_path)
        finally:
            terminate(proc)


def write_demo_truth(cfg: DemoWebConfig, data_dir: Path, *, write: bool = False) -> Path:
    """Name the crawled demo web next to the datasets, for `make evaluate`.

    `data/demo-web/web.json` names the web of the latest demo crawl and its truth file. The
    truth itself is deterministic and written on demand by `make evaluate`
    (pipelines.evaluate.find_truth), so a crawl spends no CPU on it; `write=True` writes it now.
    """
    from demoweb import DemoWeb
    from demoweb.truth import write_truth
    from pipelines.storage.store import atomic_write_json

    folder = data_dir / "demo-web"
    heavy = "-heavy" if cfg.heavy else ""
    name = f"truth-seed{cfg.seed}-sites{cfg.sites}-stories{cfg.stories}-day{cfg.day}{heavy}.parquet"
    out = folder / name
    folder.mkdir(parents=True, exist_ok=True)
    if write and not out.exists():
        web = DemoWeb(
            seed=cfg.seed, sites=cfg.sites, stories=cfg.stories, day=cfg.day, heavy=cfg.heavy
        )
        write_truth(web, out)
    info = {
        "seed": cfg.seed,
        "sites": cfg.sites,
        "stories": cfg.stories,
        "day": cfg.day,
        "truth": name,
    }
    if cfg.heavy:  # only when on: web.json of a light crawl stays as it was
        info["heavy"] = True
    atomic_write_json(folder / "web.json", info)
    return out


def crawl_settings(
    sources: str,
    data_dir: str,
    *,
    proxy: str | None = None,
    bench: bool = False,
    extra_settings: dict[str, Any] | None = None,
) -> Any:
    """The Scrapy settings of one run: the project's, then these overrides."""
    from scrapy.utils.project import get_project_settings

    os.environ.setdefault("SCRAPY_SETTINGS_MODULE", "crawler.settings")
    settings = get_project_settings()
    settings.set("DATA_DIR", data_dir, priority="cmdline")
    settings.set("SOURCES_FILE", sources, priority="cmdline")
    if proxy:
        settings.set("PROXY", proxy, priority="cmdline")
    if bench:
        settings.set("BENCH_MODE", True, priority="cmdline")
        for k, v in bench_settings().items():
            settings.set(k, v, priority="cmdline")
    for k, v in (extra_settings or {}).items():
        settings.set(k, v, priority="cmdline")
    return settings


def run_crawl(
    sources: str,
    data_dir: str,
    *,
    proxy: str | None = None,
    bench: bool = False,
    extra_settings: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run the `news` spider in this process; return the runs-table row it wrote."""
    from scrapy.crawler import CrawlerProcess

    settings = crawl_settings(
        sources, data_dir, proxy=proxy, bench=bench, extra_settings=extra_settings
    )
    process = CrawlerProcess(settings)  # LOG_INSTALL_ROOT_HANDLER (default True): log to stderr
    crawler = process.create_crawler("news")
    process.crawl(crawler, sources=sources)
    # The modules and objects of start-up live as long as the process: frozen, the cyclic
    # garbage collector's full collections stop walking them again and again during the crawl
    # (perf on the default demo web: 12% of the main process's samples were in the collector).
    gc.freeze()
    process.start()
    from pipelines.stages.context import RunContext

    return RunContext.of(crawler).run_row or {"status": "failed", "error": "no run row"}


def main(
    argv: list[str] | None = None,
    *,
    prog: str = "python -m crawler.run",
    extra_settings: dict[str, Any] | None = None,
) -> int:
    """The runner's command line; `extra_settings` (Scrapy settings) is how `python -m
    crawler.worker` reuses it."""
    args = run_parser(prog).parse_args(argv)
    config = sources_of(args.sources, args.demo_day)
    if config is None:
        return EXIT_CONFIG
    from pipelines.analyst.watch import watch_file

    watch = watch_file(args.watch)
    if watch is False:
        return EXIT_CONFIG
    extra_settings = {**(extra_settings or {}), **({"WATCH_FILE": str(watch)} if watch else {})}
    data_dir = Path(args.data)
    from pipelines.storage.state import RunLockedError, run_lock

    try:
        lock = run_lock(data_dir, "crawl")
        lock.__enter__()
    except RunLockedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_LOCKED
    try:
        return _locked_run(args, config, data_dir, extra_settings or {})
    finally:
        lock.__exit__(None, None, None)


def sources_of(path: str, demo_day: int | None) -> SourcesConfig | None:
    """The sources config, moved to `demo_day` when given; None once the error is printed."""
    try:
        config = load_sources(path)
        return config if demo_day is None else with_demo_day(config, demo_day)
    except SourcesError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None


def demo_web_proxy(
    stack: contextlib.ExitStack, config: SourcesConfig, proxy: str | None
) -> str | None:
    """The proxy to fetch through: `proxy`, or the demo web started now (stopped with `stack`)
    when the sources configure one and name no proxy of their own."""
    if config.demo_web is not None and not (config.proxy or proxy):
        print(f"Starting the demo web ({config.demo_web}) ...", file=sys.stderr)
        return stack.enter_context(demo_web_server(config.demo_web))
    return proxy


def run_parser(prog: str) -> argparse.ArgumentParser:
    """The runner's options (crawler.worker passes on those it does not know itself)."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description=__doc__.split("\n")[0],
        epilog="Exit codes: 0 ok, 1 crawl failed, 2 bad configuration, 3 another run holds the "
        "lock, 4 state needs `make reprocess`.",
    )
    parser.add_argument(
        "--sources", default="sources.yaml", help="sources config (default: %(default)s)"
    )
    parser.add_argument("--data", default="data", help="output folder (default: %(default)s)")
    parser.add_argument(
        "--bench", action="store_true", help="politeness off (benchmarks on loopback)"
    )
    parser.add_argument(
        "--demo-day",
        type=int,
        default=None,
        metavar="N",
        help="crawl day N of the demo web (overrides demo_web.day of the sources file)",
    )
    parser.add_argument(
        "--proxy",
        default=None,
        metavar="URL",
        help="fetch through this HTTP proxy (a demo web already running: nothing is started)",
    )
    parser.add_argument("--quiet", action="store_true", help="no summary at the end")
    parser.add_argument(
        "--report", action="store_true", help="rebuild DATA/report/ after the run (make report)"
    )
    parser.add_argument(
        "--watch",
        metavar="FILE",
        help="the watch list (default: watch.yaml when there is one)",
    )
    parser.add_argument(
        "--watch-json",
        metavar="FILE",
        help="write the run's watch list hits to FILE as JSON (for an alerting hook)",
    )
    return parser


def run_for_service(argv: list[str], *, prog: str, extra_settings: dict[str, Any]) -> int:
    """A crawl worker that hands its pages to a grouping service (crawler/worker.py --service):
    no data folder of its own (no lock, no recovery, no summary: the service has them)."""
    args = run_parser(prog).parse_args(argv)
    if args.watch or args.watch_json or args.report:
        print("error: --watch, --watch-json and --report belong to the grouping service "
              "(python -m pipelines.service), not to a crawl worker", file=sys.stderr)  # fmt: skip
        return EXIT_CONFIG
    config = sources_of(args.sources, args.demo_day)
    if config is None:
        return EXIT_CONFIG
    extra = dict(extra_settings)
    if args.demo_day is not None:
        extra["DEMO_DAY"] = args.demo_day
    with contextlib.ExitStack() as stack:
        proxy = demo_web_proxy(stack, config, args.proxy)
        scratch = stack.enter_context(tempfile.TemporaryDirectory(prefix="crawl-worker-"))
        row = run_crawl(args.sources, scratch, proxy=proxy, bench=args.bench, extra_settings=extra)
    if row.get("status") not in ("ok", "interrupted"):
        print(f"error: the worker failed: {row.get('error')}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _locked_run(
    args: argparse.Namespace, config: SourcesConfig, data_dir: Path, more: dict[str, Any]
) -> int:
    from pipelines.core.config import GroupingConfig, IncompatibleStateError
    from pipelines.storage.state import StateError, prepare_folder
    from pipelines.storage.store import new_run_id

    run_id = new_run_id()
    # The folder is locked (main) and prepared here; the write stage then only writes.
    extra: dict[str, Any] = {**more, "RUN_ID": run_id, "DATA_FOLDER_PREPARED": True}
    if args.demo_day is not None:
        extra["DEMO_DAY"] = args.demo_day
    grouping = crawl_settings(args.sources, str(data_dir), extra_settings=extra).get("GROUPING")
    grouping = GroupingConfig.from_dict(grouping) if grouping else GroupingConfig()
    done: list[str] = []

    def report(line: str) -> None:  # on stderr for cron mail and journald, and in the run's log
        print(f"recovery: {line}", file=sys.stderr)
        done.append(line)

    try:
        prepare_folder(data_dir, grouping, report=report)
    except (IncompatibleStateError, StateError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_STATE
    with contextlib.ExitStack() as stack:
        log_path = stack.enter_context(run_log(data_dir, run_id))
        for line in done:
            logging.getLogger("recovery").warning("%s", line)
        if config.demo_web is not None:
            write_demo_truth(config.demo_web, data_dir)
        proxy = demo_web_proxy(stack, config, args.proxy)
        row = run_crawl(
            args.sources, str(data_dir), proxy=proxy, bench=args.bench, extra_settings=extra
        )
        # Everything is written, closed and committed. Frozen, what the crawl left is not walked
        # by the collections of interpreter shutdown (0.3-0.4 s of one core on the default demo
        # web). Before the summary imports duckdb: frozen duckdb objects would never be freed,
        # and its bindings report every one of them as a leak at exit.
        gc.freeze()
        logging.getLogger("run").info(
            "run %s: %s (log %s)", row.get("run_id"), row.get("status"), log_path
        )
    if not args.quiet:
        from pipelines.summary import print_summary

        print_summary(data_dir, row.get("run_id"))
    if args.watch_json:
        from pipelines.analyst.watch import write_watch_json

        write_watch_json(data_dir, row.get("run_id"), Path(args.watch_json))
    if args.report and row.get("status") in ("ok", "interrupted"):
        # A process of its own, as the views: DuckDB and the report's reads stay out of this one.
        done = subprocess.run([sys.executable, "-m", "pipelines.report", "--data", str(data_dir)])
        if done.returncode:
            print(f"warning: the report was not rebuilt (exit {done.returncode})", file=sys.stderr)
    if row.get("status") not in ("ok", "interrupted"):
        print(f"error: run {row.get('run_id')} failed: {row.get('error')}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


@contextlib.contextmanager
def run_log(data_dir: Path, run_id: str) -> Iterator[Path]:
    """Copy everything logged during the run to `DATA/logs/<run_id>.log` (stderr keeps it too)."""
    from crawler import settings as defaults

    folder = data_dir / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{run_id}.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter(defaults.LOG_FORMAT, "%Y-%m-%d %H:%M:%S"))
    handler.setLevel(logging.INFO)
    root = logging.getLogger()
    root.addHandler(handler)
    if root.level > logging.INFO or root.level == logging.NOTSET:
        root.setLevel(logging.INFO)
    try:
        yield path
    finally:
        root.removeHandler(handler)
        handler.close()


if __name__ == "__main__":
    sys.exit(main())
