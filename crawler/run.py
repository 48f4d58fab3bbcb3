"""`make crawl`: validate the sources, start the demo web when configured, crawl, summarise.

    python -m crawler.run [--sources sources.yaml] [--data data] [--bench]

Exit codes: 0 the run finished and its datasets are written; 1 the crawl failed (the runs table
says why); 2 bad configuration or arguments (nothing was requested or written).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from crawler.sources import DemoWebConfig, SourcesError, load_sources

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2


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
    with tempfile.TemporaryDirectory(prefix="demoweb-") as tmp:
        ready = Path(tmp) / "ready"
        cmd = [
            sys.executable,
            "-m",
            "demoweb",
            "serve",
            "--port",
            "0",
            "--ready-file",
            str(ready),
            "--seed",
            str(cfg.seed),
            "--sites",
            str(cfg.sites),
            "--stories",
            str(cfg.stories),
            "--day",
            str(cfg.day),
        ]
        if faults:
            cmd += ["--faults", str(faults)]
        log = open(Path(tmp) / "server.log", "w+b")  # noqa: SIM115 - closed below
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while not ready.exists():
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise RuntimeError(
                        "the demo web did not start: " + log.read().decode(errors="replace")[-2000:]
                    )
                time.sleep(0.05)
            yield "http://" + ready.read_text().strip()
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()


def write_demo_truth(cfg: DemoWebConfig, data_dir: Path) -> Path:
    """Ground truth of the crawled demo web next to the datasets, for `make evaluate`.

    `data/demo-web/web.json` names the web of the latest demo crawl and its truth file.
    """
    import json

    from demoweb.truth import write_truth

    from demoweb import DemoWeb

    folder = data_dir / "demo-web"
    name = f"truth-seed{cfg.seed}-sites{cfg.sites}-stories{cfg.stories}-day{cfg.day}.parquet"
    out = folder / name
    if not out.exists():
        folder.mkdir(parents=True, exist_ok=True)
        write_truth(DemoWeb(seed=cfg.seed, sites=cfg.sites, stories=cfg.stories, day=cfg.day), out)
    info = {
        "seed": cfg.seed,
        "sites": cfg.sites,
        "stories": cfg.stories,
        "day": cfg.day,
        "truth": name,
    }
    tmp = folder / ".web.json.tmp"
    tmp.write_text(json.dumps(info, indent=2) + "\n")
    os.replace(tmp, folder / "web.json")
    return out


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
    process = CrawlerProcess(settings, install_root_handler=True)
    crawler = process.create_crawler("news")
    process.crawl(crawler, sources=sources)
    process.start()
    from pipelines.run import RunContext

    return RunContext.of(crawler).extra.get("run_row", {"status": "failed", "error": "no run row"})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m crawler.run", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--sources", default="sources.yaml", help="sources config (default: %(default)s)"
    )
    parser.add_argument("--data", default="data", help="output folder (default: %(default)s)")
    parser.add_argument(
        "--bench", action="store_true", help="politeness off (benchmarks on loopback)"
    )
    parser.add_argument("--quiet", action="store_true", help="no summary at the end")
    args = parser.parse_args(argv)
    try:
        config = load_sources(args.sources)
    except SourcesError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    data_dir = Path(args.data)
    data_dir.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        proxy = None
        if config.demo_web is not None:
            write_demo_truth(config.demo_web, data_dir)
            if not config.proxy:
                print(f"Starting the demo web ({config.demo_web}) ...", file=sys.stderr)
                proxy = stack.enter_context(demo_web_server(config.demo_web))
        row = run_crawl(args.sources, str(data_dir), proxy=proxy, bench=args.bench)
    if not args.quiet:
        from pipelines.summary import print_summary

        print_summary(data_dir, row.get("run_id"))
    if row.get("status") != "ok":
        print(f"error: the run did not finish: {row.get('error')}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
