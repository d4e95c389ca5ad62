"""Shared helpers: timing, peak memory, machine details, markdown tables."""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_FEED = ROOT / "data" / "sample" / "wallstreetcn-2026-01-29.xml"
LIBRARIES = ("duckdb", "pandas", "numpy", "regex", "ahocorasick_rs", "pyahocorasick", "hyperscan",
             "feedparser")


class Timer:
    seconds: float = 0.0


@contextmanager
def timed() -> Iterator[Timer]:
    t = Timer()
    start = time.perf_counter()
    try:
        yield t
    finally:
        t.seconds = time.perf_counter() - start


def best_of(fn: Callable[[], Any], repeat: int, clock: Callable[[], float] = time.perf_counter) -> float:
    """Fastest of ``repeat`` runs: the least disturbed by the rest of the machine. ``clock`` may be
    ``time.process_time`` (CPU time) for A/B runs on a loaded machine."""
    times = []
    for _ in range(repeat):
        start = clock()
        fn()
        times.append(clock() - start)
    return min(times)


def peak_rss_mb() -> dict[str, float]:
    """Peak resident memory of this process and of its largest finished child (worker), in MB.

    Own peak from VmHWM: Linux's ru_maxrss carries the parent's high-water mark across fork and exec.
    The children's figure can only come from ru_maxrss, so it is an upper bound (it includes this
    process's size when the worker was started)."""
    with open("/proc/self/status", encoding="ascii") as status:
        hwm = next(line for line in status if line.startswith("VmHWM:"))
    own = int(hwm.split()[1]) / 1024
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"peak_rss_mb": round(own, 1), "peak_child_rss_mb": round(child, 1)}


def run_isolated(module: str, *args: str) -> dict:
    """Run ``python -m benchmarks.<module> ARGS`` in a fresh process (so its peak RSS is its own) and
    return the JSON object it prints last."""
    out = subprocess.run([sys.executable, "-m", f"benchmarks.{module}", *args], check=True,
                         stdout=subprocess.PIPE, text=True, cwd=ROOT).stdout
    return json.loads(out.strip().splitlines()[-1])


def machine() -> dict[str, str]:
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal"))
        mem = f"{mem_kb / 1024 / 1024:.0f} GB"
    except (OSError, StopIteration):
        mem = "?"
    versions = []
    for lib in LIBRARIES:
        try:
            versions.append(f"{lib} {metadata.version(lib)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{lib} (not installed)")
    return {"cpu": cpu, "cores": str(os.cpu_count()), "memory": mem,
            "python": f"{platform.python_implementation()} {platform.python_version()}",
            "os": f"{platform.system()} {platform.release()}", "libraries": ", ".join(versions)}


def table(headers: list[str], rows: list[list[Any]]) -> str:
    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:,.3g}" if abs(v) < 100 else f"{v:,.0f}"
        if isinstance(v, int):
            return f"{v:,}"
        return str(v)
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)
