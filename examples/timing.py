"""Measuring inference latency honestly for the example scripts: warm-up, interleaved rounds, min / median / max."""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class LatencyStats:
    """Wall-clock seconds of one full pass over a list of batches, over several rounds."""

    min: float
    median: float
    max: float
    rounds: int
    num_batches: int

    @property
    def per_batch_ms(self) -> float:
        """Median milliseconds per batch."""
        return 1000.0 * self.median / self.num_batches

    def to_dict(self) -> dict[str, float]:
        return {**asdict(self), "per_batch_ms": self.per_batch_ms}


def _run_pass(model: nn.Module, batches: Sequence[dict[str, torch.Tensor]]) -> float:
    start = time.perf_counter()
    for batch in batches:
        model(**batch)
    return time.perf_counter() - start


def compare_latency(
    models: dict[str, nn.Module],
    batches: Sequence[dict[str, torch.Tensor]],
    rounds: int = 3,
    warmup_batches: int = 5,
) -> dict[str, LatencyStats]:
    """
    Time full passes of several models over the same batches, interleaving the models round by round so that
    machine noise hits all of them alike.

    Args:
        models (`dict[str, nn.Module]`): models by name; put in eval mode and run under `torch.inference_mode`.
        batches (`Sequence[dict]`): model inputs, e.g. one sentence per batch for batch-1 latency.
        rounds (`int`, defaults to 3): timed passes per model.
        warmup_batches (`int`, defaults to 5): untimed batches per model first.

    Returns:
        `dict[str, LatencyStats]` by model name.
    """
    if not models or not batches:
        raise ValueError("compare_latency needs at least one model and one batch")
    if rounds < 1 or warmup_batches < 0:
        raise ValueError(f"rounds must be >= 1 and warmup_batches >= 0, got {rounds} and {warmup_batches}")
    times: dict[str, list[float]] = {name: [] for name in models}
    with torch.inference_mode():
        for model in models.values():
            model.eval()
            _run_pass(model, batches[:warmup_batches])
        for _ in range(rounds):
            for name, model in models.items():
                times[name].append(_run_pass(model, batches))
    return {
        name: LatencyStats(min(values), statistics.median(values), max(values), rounds, len(batches))
        for name, values in times.items()
    }


__all__ = ["LatencyStats", "compare_latency"]
