"""A redis-server of our own, on a free loopback port, for `make crawl-cluster` and the tests.

Debian's `redis-server` package (installed by the Makefile when missing). The server keeps no
file (`--save ""`, no append-only file) unless a folder is given for them: the frontier and the
streams live as long as the crawl that uses them.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import redis

INSTALL_HINT = (
    "install it with `apt-get install -y redis-server` (make crawl-cluster and make test do)"
)


class RedisUnavailable(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def start_redis(workdir: Path, port: int = 0, timeout: float = 20.0) -> Iterator[str]:
    """Run redis-server on 127.0.0.1 until the block ends; yields its URL (redis://host:port/0).

    Its log goes to `workdir/redis.log`; it is stopped (and killed if it does not stop) on exit.
    """
    binary = shutil.which("redis-server")
    if binary is None:
        raise RedisUnavailable(f"redis-server is not installed: {INSTALL_HINT}")
    workdir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    log = workdir / "redis.log"
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
            "--logfile",
            str(log),
            "--protected-mode",
            "yes",
        ],  # fmt: skip
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        client = redis.Redis.from_url(url)
        deadline = time.monotonic() + timeout
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                    raise RedisUnavailable(
                        f"redis-server did not start on {port}: {tail}"
                    ) from None
                time.sleep(0.05)
        client.close()
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
