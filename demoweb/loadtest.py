"""How many pages a second the demo web server delivers on one core.

``python -m demoweb.loadtest --seconds 10 --concurrency 32`` starts ``python -m demoweb serve``
in a subprocess pinned to one core, drives it from the other core with keep-alive
connections over a fixed sample of the web's URLs (proxy-form requests asking for gzip, as
Scrapy sends them), after one warm-up pass so every answer comes from the cache, and prints
the median pages/s of several runs.

The load generator is ``wrk`` when installed (Debian package ``wrk``: C, so it is never the
limit) and otherwise a small asyncio client in Python, which on a 2-core machine may itself
be the limit; the output says which one ran.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

REPO_ROOT = Path(__file__).resolve().parent.parent

_WRK_SCRIPT = r"""
local urls = {}
local i = 0
function init(args)
  for line in io.lines(args[1]) do
    if #line > 0 then urls[#urls + 1] = line end
  end
  -- threads start at different offsets so they do not all ask for the same page at once
  i = math.random(0, #urls - 1)
end
function request()
  i = i % #urls + 1
  return wrk.format("GET", urls[i], {["Accept-Encoding"] = "gzip"})
end
"""

_LINK_PATTERNS = (
    re.compile(rb"<loc>\s*([^<\s]+)\s*</loc>"),
    re.compile(rb"<link>\s*([^<\s]+)\s*</link>"),
    re.compile(rb"<link[^>]*\shref=\"([^\"]+)\""),
)


@dataclass(frozen=True)
class RunResult:
    """One timed run: pages answered, seconds, and answers that were not 2xx/3xx."""

    pages: int
    seconds: float
    errors: int

    @property
    def pages_per_second(self) -> float:
        return self.pages / self.seconds if self.seconds > 0 else 0.0


def links_in(body: bytes) -> list[str]:
    """Absolute http URLs listed in a feed or sitemap body (RSS link, Atom href, <loc>)."""
    found: list[str] = []
    for pattern in _LINK_PATTERNS:
        for match in pattern.findall(body):
            url = match.decode("utf-8", "replace").replace("&amp;", "&")
            if url.startswith("http://"):
                found.append(url)
    return found


def sample_urls(web: object, limit: int) -> list[str]:
    """A fixed, mixed sample: robots, homes, feeds, sitemaps and the pages they list.

    Built through the web's public API only (respond), in order, so the same parameters
    always give the same sample.
    """
    seeds: list[str] = []
    for host in sorted(getattr(web, "hosts", [])):
        seeds.append(f"http://{host}/robots.txt")
    seeds += list(web.home_urls()) + list(web.feed_urls()) + list(web.sitemap_urls())
    seen: set[str] = set()
    ordered: list[str] = []
    queue = list(seeds)
    while queue and len(ordered) < limit * 4:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        response = web.respond(url)
        if response.status != 200:
            continue
        ordered.append(url)
        if url.endswith(".xml") or "feed" in url or "sitemap" in url or "rss" in url:
            queue.extend(links_in(response.body))
    if len(ordered) <= limit:
        return ordered
    step = len(ordered) / limit
    return [ordered[int(k * step)] for k in range(limit)]


# ---------------------------------------------------------------------------------------------
# Server subprocess


def start_server(
    args: argparse.Namespace, workdir: Path, core: int | None
) -> tuple[subprocess.Popen[bytes], int]:
    """Start the server pinned to `core`; returns the process and its port."""
    from demoweb.spawn import serve_command, server_env, wait_until_ready

    ready, log_path = workdir / "ready", workdir / "server.log"
    command = serve_command(
        seed=args.seed, sites=args.sites, stories=args.stories, day=args.day, ready_file=ready
    )

    def pin() -> None:
        if core is not None:
            os.sched_setaffinity(0, {core})

    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command, cwd=REPO_ROOT, env=server_env(), stdout=log, stderr=subprocess.STDOUT,
            preexec_fn=pin,
        )  # fmt: skip
    try:
        address = wait_until_ready(process, ready, log_path)
    except RuntimeError as exc:
        raise SystemExit(str(exc)) from exc
    return process, int(address.rpartition(":")[2])


# ---------------------------------------------------------------------------------------------
# Load generators


def run_wrk(
    wrk: str, port: int, urls_file: Path, script: Path, seconds: float, concurrency: int, core: int
) -> RunResult:
    command = [
        wrk,
        "-t1",
        f"-c{concurrency}",
        f"-d{max(1, round(seconds))}s",
        "-s",
        str(script),
        f"http://127.0.0.1:{port}/",
        "--",
        str(urls_file),
    ]
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        check=True,
        preexec_fn=lambda: os.sched_setaffinity(0, {core}),
    )
    out = done.stdout
    total = re.search(r"(\d+) requests in ([\d.]+)(\w+),", out)
    if total is None:
        raise RuntimeError(f"cannot read wrk output:\n{out}\n{done.stderr}")
    unit = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[total.group(3)]
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    errors = int(bad.group(1)) if bad else 0
    if socket_errors:
        errors += sum(int(n) for n in re.findall(r"\d+", socket_errors.group(1)))
    return RunResult(int(total.group(1)), float(total.group(2)) * unit, errors)


async def _client(
    port: int, urls: list[str], offset: int, stop_at: float, counts: list[int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    requests = [
        (
            f"GET {url} HTTP/1.1\r\nHost: {urlsplit(url).netloc}\r\n"
            "Accept-Encoding: gzip\r\nUser-Agent: demoweb-loadtest\r\n\r\n"
        ).encode("ascii")
        for url in urls
    ]
    k = offset
    try:
        while time.monotonic() < stop_at:
            writer.write(requests[k % len(requests)])
            k += 1
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            match = re.search(rb"\r\ncontent-length: *(\d+)", head, re.IGNORECASE)
            if match:
                await reader.readexactly(int(match.group(1)))
            counts[0 if 200 <= status < 400 else 1] += 1
    finally:
        writer.close()


async def _python_load(port: int, urls: list[str], seconds: float, concurrency: int) -> RunResult:
    counts = [0, 0]
    start = time.monotonic()
    stop_at = start + seconds
    step = max(1, len(urls) // concurrency)
    await asyncio.gather(
        *(_client(port, urls, k * step, stop_at, counts) for k in range(concurrency))
    )
    elapsed = time.monotonic() - start
    return RunResult(counts[0] + counts[1], elapsed, counts[1])


def run_python(port: int, urls: list[str], seconds: float, concurrency: int) -> RunResult:
    return asyncio.run(_python_load(port, urls, seconds, concurrency))


def _warm(port: int, urls: list[str]) -> RunResult:
    """One pass over every URL so the timed runs measure the cached path."""

    async def one_pass() -> RunResult:
        counts = [0, 0]
        start = time.monotonic()
        await _client_once(port, urls, counts)
        return RunResult(sum(counts), time.monotonic() - start, counts[1])

    return asyncio.run(one_pass())


async def _client_once(port: int, urls: list[str], counts: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for url in urls:
            writer.write(
                (
                    f"GET {url} HTTP/1.1\r\nHost: {urlsplit(url).netloc}\r\n"
                    "Accept-Encoding: gzip\r\n\r\n"
                ).encode("ascii")
            )
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            match = re.search(rb"\r\ncontent-length: *(\d+)", head, re.IGNORECASE)
            if match:
                await reader.readexactly(int(match.group(1)))
            counts[0 if 200 <= status < 400 else 1] += 1
    finally:
        writer.close()


# ---------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m demoweb.loadtest",
        description="Pages/s of the demo web server on one core (median of several runs).",
    )
    parser.add_argument("--seconds", type=float, default=10.0, help="length of one run (10)")
    parser.add_argument("--concurrency", type=int, default=32, help="keep-alive connections (32)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs; the median is printed")
    parser.add_argument("--urls", type=int, default=500, help="size of the URL sample (500)")
    parser.add_argument("--generator", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--sites", type=int, default=12)
    parser.add_argument("--stories", type=int, default=300)
    parser.add_argument("--day", type=int, default=1)
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.concurrency < 1 or args.runs < 1 or args.urls < 1:
        parser.error("--seconds, --concurrency, --runs and --urls must be positive")

    from demoweb import DemoWeb

    web = DemoWeb(seed=args.seed, sites=args.sites, stories=args.stories, day=args.day)
    urls = sample_urls(web, args.urls)
    if not urls:
        print("error: the demo web lists no URLs to fetch", file=sys.stderr)
        return 1
    cores = sorted(os.sched_getaffinity(0))
    server_core = cores[0]
    client_core = cores[1] if len(cores) > 1 else cores[0]
    wrk = shutil.which("wrk") if args.generator in ("auto", "wrk") else None
    if args.generator == "wrk" and wrk is None:
        print("error: --generator wrk but wrk is not installed (apt-get install wrk)")
        return 2
    generator = "wrk" if wrk else "python (asyncio; may itself be the limit)"

    with tempfile.TemporaryDirectory(prefix="demoweb-load-") as tmp:
        workdir = Path(tmp)
        process, port = start_server(args, workdir, server_core if len(cores) > 1 else None)
        try:
            if wrk is None:
                os.sched_setaffinity(0, {client_core})
            warm_result = _warm(port, urls)
            raw_kb, gzip_kb = _mean_sizes_kb(web, urls)
            print(
                f"Server: pid {process.pid} on core {server_core}; load: {generator} on core "
                f"{client_core}; {len(urls)} URLs (mean {raw_kb:.1f} KB, "
                f"{gzip_kb:.1f} KB gzipped), "
                f"{args.concurrency} keep-alive connections, warm-up {warm_result.pages} pages "
                f"({warm_result.errors} not 2xx/3xx)",
                flush=True,
            )
            results = []
            urls_file = workdir / "urls.txt"
            urls_file.write_text("\n".join(urls) + "\n")
            script = workdir / "urls.lua"
            script.write_text(_WRK_SCRIPT)
            for run in range(1, args.runs + 1):
                if wrk:
                    result = run_wrk(
                        wrk, port, urls_file, script, args.seconds, args.concurrency, client_core
                    )
                else:
                    result = run_python(port, urls, args.seconds, args.concurrency)
                results.append(result)
                print(
                    f"run {run}: {result.pages} pages in {result.seconds:.2f} s = "
                    f"{result.pages_per_second:,.0f} pages/s ({result.errors} errors)",
                    flush=True,
                )
        finally:
            process.terminate()
            process.wait(timeout=10)
    median = statistics.median(r.pages_per_second for r in results)
    print(f"Median: {median:,.0f} pages/s (generator: {generator.split()[0]})")
    return 0


def _mean_sizes_kb(web: object, urls: list[str]) -> tuple[float, float]:
    """Mean raw and gzipped body size of the sample, so figures can be compared fairly."""
    import gzip

    bodies = [web.respond(url).body for url in urls[:200]]
    raw = statistics.mean(len(b) for b in bodies) / 1024
    packed = statistics.mean(len(gzip.compress(b, 6)) for b in bodies) / 1024
    return raw, packed


if __name__ == "__main__":
    sys.exit(main())
