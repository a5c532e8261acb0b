"""Launching [`train_tiny`](train_tiny.py) from tests: shared flags, launchers and checkpoint readers."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import torch
from safetensors.torch import load_file

from transformers_top import TopTrainer

from . import train_tiny

SCRIPT = Path(__file__).with_name("train_tiny.py")
BIN_DIR = Path(sys.executable).parent
#: Every run of the tests: tiny masks (4 bins, prune layers 2 and 3), a short warm-up and mask learning rates high
#: enough for the masks to move visibly within a few steps; one log per step; CPU.
TRAINING_FLAGS = [
    "--num_bins", "4",
    "--rank_distill_topk", "8",
    "--per_device_train_batch_size", "4",
    "--learning_rate", "1e-3",
    "--mask_learning_rate", "0.1",
    "--lagrangian_learning_rate", "0.1",
    "--sparsity_warmup_steps", "4",
    "--target_sparsity", "0.5",
    "--logging_steps", "1",
    "--report_to", "none",
    "--disable_tqdm", "true",
    "--use_cpu",
]  # fmt: skip
#: Seconds a launched training may take before the test fails (startup dominates on a busy machine).
TIMEOUT = 300
MASK_PREFIX = "bert.token_masks."


def free_port() -> int:
    """A TCP port on the loopback that is free now, for the rendezvous of a multi-process launch."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def launch(launcher: list[str], flags: list[str]) -> subprocess.Popen:
    """Start `launcher + [train_tiny.py] + TRAINING_FLAGS + flags` with one thread per process; output is captured."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    return subprocess.Popen(
        [*launcher, str(SCRIPT), *TRAINING_FLAGS, *flags],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait(process: subprocess.Popen, expected_returncode: int = 0) -> str:
    """Wait for a launched run and check its return code; returns its output."""
    output, _ = process.communicate(timeout=TIMEOUT)
    assert process.returncode == expected_returncode, (
        f"{' '.join(process.args)} returned {process.returncode}, expected {expected_returncode}:\n{output[-6000:]}"
    )
    return output


def torchrun_launcher(num_processes: int) -> list[str]:
    return [str(BIN_DIR / "torchrun"), "--nproc_per_node", str(num_processes), "--master_port", str(free_port())]


def accelerate_launcher(num_processes: int) -> list[str]:
    """`accelerate launch --multi_gpu`: on a machine without GPUs (and `--use_cpu`), processes over gloo."""
    return [
        str(BIN_DIR / "accelerate"),
        "launch",
        "--multi_gpu",
        "--num_processes", str(num_processes),
        "--num_machines", "1",
        "--mixed_precision", "no",
        "--dynamo_backend", "no",
        "--main_process_port", str(free_port()),
    ]  # fmt: skip


def train_in_process(flags: list[str]) -> TopTrainer:
    """Run [`train_tiny.main`] in this process on one thread (tiny tensors only lose time to threading)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return train_tiny.main([*TRAINING_FLAGS, *flags])
    finally:
        torch.set_num_threads(threads)


def mask_tensors(checkpoint: Path) -> dict[str, torch.Tensor]:
    """The mask log-alphas and Lagrange multipliers stored in a training checkpoint's `model.safetensors`."""
    tensors = load_file(checkpoint / "model.safetensors")
    masks = {name.removeprefix(MASK_PREFIX): value for name, value in tensors.items() if name.startswith(MASK_PREFIX)}
    assert set(masks) == {"gate_log_alpha", "bin_log_alpha", "lagrange_multipliers"}, sorted(tensors)
    return masks


def max_difference(first: dict[str, torch.Tensor], second: dict[str, torch.Tensor]) -> float:
    """Largest absolute difference between two dicts of tensors with the same keys and shapes."""
    assert first.keys() == second.keys()
    return max(float((first[key].double() - second[key].double()).abs().max()) for key in first)


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]
