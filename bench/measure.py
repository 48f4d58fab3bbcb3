"""Measuring processes: CPU of a subprocess and its children, wall time, peak memory.

A crawl's CPU is spread over the Scrapy process and its extraction workers. ``os.wait4`` gives
the child's own CPU plus that of every descendant it waited for (the pool joins its workers),
so one number covers the whole tree. Memory is sampled from ``/proc`` every 0.1 s while it runs:
the peak of the *sum* over the tree (Scrapy plus workers) and the largest single process's peak.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Measured:
    """One finished subprocess: what it cost."""

    returncode: int
    wall_s: float
    cpu_s: float  # user + system, the process and every child it reaped
    maxrss_bytes: int  # peak RSS (VmHWM) of the largest single process of the tree, sampled
    peak_tree_rss_bytes: int  # peak of the summed RSS of the tree, sampled every 0.1 s
    machine_busy_share: float  # all CPUs of the machine (other processes too) during the run

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _children_map() -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        out.setdefault(ppid, []).append(int(entry.name))
    return out


def tree_rss_bytes(pid: int) -> tuple[int, int]:
    """(summed resident memory now, largest single-process peak so far) of ``pid``'s tree.

    The single-process peak is each process's ``VmHWM``: unlike ``ru_maxrss`` of ``wait4`` it
    does not count the memory a child had between ``fork`` and ``exec`` (a copy of its parent).
    """
    children = _children_map()
    total, peak, todo = 0, 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/status", "rb") as fh:
                for line in fh:
                    if line.startswith(b"VmRSS:"):
                        total += int(line.split()[1]) * 1024
                    elif line.startswith(b"VmHWM:"):
                        peak = max(peak, int(line.split()[1]) * 1024)
        except OSError:
            pass
        todo.extend(children.get(p, ()))
    return total, peak


def _cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs from /proc/stat."""
    with open("/proc/stat") as fh:
        fields = [int(x) for x in fh.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def run_measured(
    cmd: Sequence[str], *, env: dict[str, str] | None = None, log: Path | None = None
) -> Measured:
    """Run ``cmd`` to the end; its output goes to ``log`` (or is discarded)."""
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 - closed below
    busy0, total0 = _cpu_ticks()
    t0 = time.perf_counter()
    proc = subprocess.Popen(list(cmd), stdout=out, stderr=subprocess.STDOUT, env=env)
    peak = single = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak, single
        while not stop.is_set():
            now, hwm = tree_rss_bytes(proc.pid)
            peak, single = max(peak, now), max(single, hwm)
            stop.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        stop.set()
        sampler.join()
        if log:
            out.close()  # type: ignore[union-attr]
    wall = time.perf_counter() - t0
    busy1, total1 = _cpu_ticks()
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Measured(
        returncode=proc.returncode,
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        maxrss_bytes=single,
        peak_tree_rss_bytes=peak,
        machine_busy_share=(busy1 - busy0) / max(1, total1 - total0),
    )


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def cpu_timed(fn: Callable[[], object], repeat: int) -> list[float]:
    """CPU seconds of this process for ``repeat`` calls of ``fn``."""
    times = []
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        times.append(time.process_time() - t0)
    return times


PACKAGES = ("scrapy", "trafilatura", "datasketch", "pyarrow", "numpy", "xxhash", "lxml")


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    from pipelines.stages.write import package_versions

    versions = package_versions(PACKAGES)
    return {
        "nproc": os.cpu_count(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "load_average_1_5_15": list(os.getloadavg()),  # other work on the machine
        "packages": versions,
    }


def python_env() -> dict[str, str]:
    """Environment for child Python processes: the repository importable, output unbuffered."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    return env
