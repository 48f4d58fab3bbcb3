"""Run `python -m demoweb serve` in a subprocess: its command, waiting until it listens, stopping.

One implementation for the crawl runner (`make crawl`), the test fixtures and the load test. The
server writes `host:port` to its ready file once listening (atomically), so waiting for that
file is waiting for a server that accepts connections.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def serve_command(
    *,
    seed: int,
    sites: int,
    stories: int,
    day: int,
    ready_file: Path,
    faults: float = 0.0,
    fault_delay: float | None = None,
    heavy: bool = False,
) -> list[str]:
    """The command line of a server on a free loopback port (`--port 0`)."""
    command = [
        sys.executable, "-m", "demoweb", "serve", "--port", "0",
        "--seed", str(seed), "--sites", str(sites), "--stories", str(stories), "--day", str(day),
        "--ready-file", str(ready_file),
    ]  # fmt: skip
    if faults:
        command += ["--faults", str(faults)]
    if fault_delay is not None:
        command += ["--fault-delay", str(fault_delay)]
    if heavy:
        command.append("--heavy")
    return command


def server_env() -> dict[str, str]:
    """This environment with the repository on PYTHONPATH, so `-m demoweb` imports from here."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    return env


def wait_until_ready(
    process: subprocess.Popen[bytes], ready_file: Path, log_path: Path, timeout: float = 60.0
) -> str:
    """`host:port` once the server listens; RuntimeError with its output if it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ready_file.exists():
            text = ready_file.read_text(encoding="utf-8").strip()
            if text:
                return text
        if process.poll() is not None:
            raise RuntimeError(
                f"demo web server exited with code {process.returncode} before it was ready; "
                f"its output:\n{log_path.read_text(errors='replace')}"
            )
        time.sleep(0.05)
    process.kill()
    process.wait()
    raise RuntimeError(
        f"demo web server not ready after {timeout:.0f} s (no {ready_file}); "
        f"its output:\n{log_path.read_text(errors='replace')}"
    )


def terminate(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGTERM (the server exits cleanly), then SIGKILL if it has not after `timeout` s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
