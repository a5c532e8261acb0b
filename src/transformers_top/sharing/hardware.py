"""The machine a latency was measured on, as the model card and every published figure must name it."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import torch
import transformers


def cpu_model() -> str:
    """The CPU model name from `/proc/cpuinfo`, or `platform.processor()` where that file does not exist."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def describe_hardware() -> dict[str, str | int]:
    """CPU model, logical cores, torch intra-op threads and library versions of this machine."""
    return {
        "cpu": cpu_model(),
        "logical_cores": os.cpu_count() or 1,
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "python": platform.python_version(),
    }


def hardware_line(hardware: dict[str, str | int] | None = None) -> str:
    """One line for a model card's `latency_hardware`: CPU, threads and torch version."""
    hardware = hardware or describe_hardware()
    return f"{hardware['cpu']}, {hardware['torch_threads']} threads, torch {hardware['torch']}"


__all__ = ["cpu_model", "describe_hardware", "hardware_line"]
