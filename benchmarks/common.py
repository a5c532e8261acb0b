"""Helpers shared by the benchmark scripts: the environment record every result carries, and JSON output.

Every result file written with [`save_results`] holds the command line, git commit, library versions, CPU model,
thread count, date and machine load next to the numbers, so a result can be traced and repeated.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

from transformers_top.sharing.hardware import cpu_features, cpu_model

REPO_ROOT = Path(__file__).resolve().parents[1]
#: The real data sets beside the repository (see its README); the benchmarks read them from there.
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
RESULTS_DIR = REPO_ROOT / "benchmarks" / "results"
LIBRARIES = ("torch", "transformers", "transformers-top", "accelerate", "numpy")


def git_commit() -> str:
    """The checked-out commit, with `+dirty` when tracked files differ from it (`unknown` outside a git checkout)."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout

    try:
        commit = git("rev-parse", "HEAD").strip()
        dirty = bool(git("status", "--porcelain", "--untracked-files=no").strip())
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages (other processes sharing the CPU make timings noisy)."""
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return None


def run_delay_seconds() -> float:
    """
    Total time the threads of this process have spent runnable but waiting for a CPU (Linux `schedstat`), in
    seconds; `0.0` where the kernel does not report it. The increase across a timed run tells a run slowed down by
    other processes from a clean one.
    """
    total_ns = 0
    try:
        threads = os.listdir("/proc/self/task")
    except OSError:
        return 0.0
    for thread in threads:
        try:
            total_ns += int(Path(f"/proc/self/task/{thread}/schedstat").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue  # the thread ended meanwhile, or no schedstat
    return total_ns / 1e9


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries the numbers depend on, plus Python's."""
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def environment(threads: int | None = None) -> dict[str, Any]:
    """
    Where and how a benchmark ran: command, commit, versions, CPU, threads, date, load average.

    Args:
        threads (`int`, *optional*): the intra-op threads the measured code ran with, when it ran in other processes
            (default: this process's `torch.get_num_threads()`).
    """
    return {
        "command": shlex.join([Path(sys.executable).name, *sys.argv]),
        "git_commit": git_commit(),
        "versions": library_versions(),
        "cpu_model": cpu_model(),
        "cpu_features": cpu_features(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads() if threads is None else threads,
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "load_average": load_average(),
    }


def timing_summary(seconds: Sequence[float]) -> dict[str, Any]:
    """Minimum, median and maximum of repeated timings, in milliseconds, with the raw values."""
    if not seconds:
        raise ValueError("timing_summary needs at least one timing")
    milliseconds = [value * 1000.0 for value in seconds]
    return {
        "min_ms": min(milliseconds),
        "median_ms": statistics.median(milliseconds),
        "max_ms": max(milliseconds),
        "runs_ms": milliseconds,
    }


def save_results(name: str, payload: dict[str, Any], results_dir: Path = RESULTS_DIR) -> Path:
    """
    Write `payload` as indented JSON to `results_dir / f"{name}.json"`, with the environment record under
    `"environment"` when the payload does not have one yet.

    Returns:
        `Path`: the file written.
    """
    if not name or "/" in name or name.startswith("."):
        raise ValueError(f"name must be a plain file stem, got {name!r}")
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"{name}.json"
    record = {"environment": environment(), **payload} if "environment" not in payload else payload
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path


def recorded_plan(path: Path, setting: str | None = None) -> dict[str, Any]:
    """
    The plan (configuration fields) of the `top` point of an `accuracy.py` results file whose setting is `setting`
    (e.g. `"target 0.7"`; may be left out when the file holds one `top` point).

    Raises:
        `ValueError`: unless exactly one `top` point matches, naming the file's `top` settings.
    """
    points = [point for point in json.loads(path.read_text())["points"] if point["method"] == "top"]
    chosen = [point for point in points if setting is None or point["setting"] == setting]
    if len(chosen) != 1:
        settings = ", ".join(repr(point["setting"]) for point in points)
        raise ValueError(f"{path} holds {len(chosen)} top points for setting {setting!r}; its settings: {settings}")
    return chosen[0]["plan"]
