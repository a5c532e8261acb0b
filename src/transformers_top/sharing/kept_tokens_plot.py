"""The kept-tokens plot: the fraction of a dataset's real tokens that enters each layer under a pruning plan."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from ..models.flops import plan_lengths
from ..models.pruning_config import TokenPruningConfigMixin


def kept_token_fractions(config: TokenPruningConfigMixin, lengths: Sequence[int]) -> list[float]:
    """
    Fraction of the real tokens of sequences of `lengths` that enters each layer under `config`'s plan
    (`sum_b L_l(b) / sum_b n_b`, [CLS] included; 1.0 for every layer of a dense model).

    Raises:
        `ValueError`: when `lengths` is empty or holds a length below 1.
    """
    if not lengths or any(length < 1 for length in lengths):
        raise ValueError(f"lengths must be a non-empty list of positive sequence lengths, got {list(lengths)[:10]}")
    counts = Counter(int(length) for length in lengths)
    entering = [0] * config.num_hidden_layers
    for length, count in counts.items():
        for layer, kept in enumerate(plan_lengths(config, length)):
            entering[layer] += kept * count
    total = sum(length * count for length, count in counts.items())
    return [kept / total for kept in entering]


def plot_kept_tokens(
    config: TokenPruningConfigMixin, lengths: Sequence[int], path: str | Path, title: str | None = None
) -> Path:
    """
    Draw [`kept_token_fractions`] as a bar chart and save it (PNG by default, any matplotlib format by suffix).

    Returns:
        `Path`: where the plot was written.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fractions = kept_token_fractions(config, lengths)
    figure, axes = plt.subplots(figsize=(6, 3.5))
    layers = range(len(fractions))
    axes.bar(layers, fractions, color="#4c72b0")
    for layer, fraction in enumerate(fractions):
        axes.text(layer, fraction + 0.01, f"{fraction:.0%}", ha="center", va="bottom", fontsize=8)
    axes.set_xticks(list(layers))
    axes.set_xlabel("layer")
    axes.set_ylabel("fraction of real tokens entering")
    axes.set_ylim(0, 1.1)
    axes.set_title(
        title or f"Tokens kept per layer ({len(lengths)} sequences, mean length {sum(lengths) / len(lengths):.0f})"
    )
    figure.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


__all__ = ["kept_token_fractions", "plot_kept_tokens"]
