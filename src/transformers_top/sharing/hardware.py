"""The machine a latency was measured on, as the model card and every published figure must name it."""

from __future__ import annotations

import os
import platform
from pathlib import Path

import torch
import transformers


def _cpuinfo_value(key: str) -> str | None:
    """The value of the first `key : value` line of `/proc/cpuinfo`, or `None` (no such line, or no such file)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return None
    return next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith(key)), None)


def cpu_model() -> str:
    """The CPU model name from `/proc/cpuinfo`, or `platform.processor()` where that file does not exist."""
    return _cpuinfo_value("model name") or platform.processor() or platform.machine() or "unknown"


#: The x86 instruction sets that decide the speed of float32, int8 and bfloat16 products, by `/proc/cpuinfo` flag,
#: widest first: two CPUs of one model name may differ in them (a virtual machine may hide some).
MATRIX_FEATURES = (
    ("amx_bf16", "AMX"),
    ("avx512_bf16", "AVX512-BF16"),
    ("avx512_vnni", "AVX512-VNNI"),
    ("avx_vnni", "AVX-VNNI"),
    ("avx512f", "AVX-512"),
    ("avx2", "AVX2"),
)


def cpu_flags() -> frozenset[str] | None:
    """This CPU's instruction-set flags from `/proc/cpuinfo` (e.g. `"avx2"`); `None` where that file does not exist."""
    flags = _cpuinfo_value("flags")
    return None if flags is None else frozenset(flags.split())


def cpu_features() -> str:
    """
    The matrix-relevant instruction sets of this CPU (`MATRIX_FEATURES`), e.g. `"AVX-512, AVX2"`, from the flags of
    `/proc/cpuinfo`; `"unknown"` where that file does not exist, `"none"` when it lists none of them.
    """
    flags = cpu_flags()
    if flags is None:
        return "unknown"
    present = [name for flag, name in MATRIX_FEATURES if flag in flags]
    return ", ".join(present) or "none"


def describe_hardware() -> dict[str, str | int]:
    """CPU model and instruction sets, logical cores, torch intra-op threads and library versions of this machine."""
    return {
        "cpu": cpu_model(),
        "cpu_features": cpu_features(),
        "logical_cores": os.cpu_count() or 1,
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "python": platform.python_version(),
    }


def hardware_line(hardware: dict[str, str | int] | None = None) -> str:
    """One line for a model card's `latency_hardware`: CPU (with its instruction sets when known), threads, torch."""
    hardware = hardware or describe_hardware()
    features = hardware.get("cpu_features")
    cpu = f"{hardware['cpu']} ({features})" if features and features != "unknown" else hardware["cpu"]
    return f"{cpu}, {hardware['torch_threads']} threads, torch {hardware['torch']}"


__all__ = ["MATRIX_FEATURES", "cpu_features", "cpu_flags", "cpu_model", "describe_hardware", "hardware_line"]
