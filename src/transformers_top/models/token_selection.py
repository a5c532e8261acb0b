"""Ranking tokens by importance and choosing which to keep (see `docs/method.md`, "Which tokens a plan keeps").

All functions work on a batch: `alive` is a `(batch, length)` bool tensor of the tokens still in the sequence
(real, not padding, not pruned earlier); position 0 is [CLS], never ranked and never pruned. Counts are integer
arithmetic (a ratio is read as a fraction), so they are exact, and symbolic when a graph is exported.
"""

from __future__ import annotations

from fractions import Fraction
from functools import lru_cache

import torch

#: A keep ratio is read as the nearest fraction with a denominator up to this (exact for `k / num_bins` and decimals).
MAX_RATIO_DENOMINATOR = 10**6


@lru_cache(maxsize=256)
def keep_fraction(keep_ratio: float) -> tuple[int, int]:
    """`keep_ratio` as `(numerator, denominator)`: 0.7 is 7/10, so 0.7 of 10 tokens is exactly 7."""
    fraction = Fraction(keep_ratio).limit_denominator(MAX_RATIO_DENOMINATOR)
    return fraction.numerator, fraction.denominator


def rank_alive_tokens(importance: torch.Tensor, alive: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """
    Rank the alive non-[CLS] tokens of each sample by decreasing importance.

    Args:
        importance (`torch.Tensor` of shape `(batch, length)`): token importance (non-negative).
        alive (`torch.Tensor` of shape `(batch, length)`, bool): tokens still in the sequence.

    Returns:
        `(ranks, num_alive)`: `ranks[b, j]` is the 0-based rank of token `j` among the `num_alive[b]` alive non-[CLS]
        tokens (ranks `>= num_alive[b]` for [CLS] and dead tokens); `num_alive` has shape `(batch,)`.
    """
    candidates = alive.clone()
    candidates[:, 0] = False
    # Dead tokens score below every alive one (importance is >= 0), so they rank last; [CLS] goes to the very end.
    scores = torch.where(candidates, importance.detach(), torch.full_like(importance, -1.0))
    scores[:, 0] = -2.0
    order = _stable_descending_order(scores, scores.shape[1])
    ranks = torch.empty_like(order)
    positions = torch.arange(order.shape[1], device=order.device).expand_as(order)
    ranks.scatter_(1, order, positions)
    return ranks, candidates.sum(dim=1)


def rank_bins(ranks: torch.Tensor, num_alive: torch.Tensor, num_bins: int) -> torch.Tensor:
    """Bin of each rank: `floor(rank * num_bins / num_alive)`, clamped to the last bin for dead tokens."""
    bins = torch.div(ranks * num_bins, num_alive.clamp(min=1)[:, None], rounding_mode="floor")
    return bins.clamp(max=num_bins - 1)


def kept_by_plan(
    ranks: torch.Tensor, num_alive: torch.Tensor, keep_ratio: float, keep_bins: list[int] | None
) -> torch.Tensor:
    """
    Which ranks a fixed plan keeps.

    With a bin pattern, rank `r` is kept when its bin is kept; otherwise the `ceil(keep_ratio * num_alive)` best
    ranks are kept (the same as a prefix pattern of `keep_ratio * num_bins` bins), `keep_ratio` read as a fraction.

    Returns:
        `torch.Tensor` of shape `ranks.shape`, bool; always `False` where `ranks >= num_alive`.
    """
    in_range = ranks < num_alive[:, None]
    if keep_bins is not None:
        pattern = torch.tensor(keep_bins, dtype=torch.bool, device=ranks.device)
        return in_range & pattern[rank_bins(ranks, num_alive, len(keep_bins))]
    numerator, denominator = keep_fraction(keep_ratio)
    num_kept = torch.div(num_alive * numerator + denominator - 1, denominator, rounding_mode="floor")
    return ranks < num_kept[:, None]


def count_kept(num_alive, keep_ratio: float, keep_bins: list[int] | None):
    """
    Number of non-[CLS] tokens a fixed plan keeps out of `num_alive` (the scalar form of `kept_by_plan`), in integer
    arithmetic only, so that `num_alive` may be an `int` or a symbolic size of an exported graph.
    """
    if keep_bins is None:
        numerator, denominator = keep_fraction(keep_ratio)
        return (num_alive * numerator + denominator - 1) // denominator
    # Ranks r with floor(r K / A) = b are those in [ceil(b A / K), ceil((b + 1) A / K)).
    num_bins = len(keep_bins)
    return sum(
        ((b + 1) * num_alive + num_bins - 1) // num_bins - (b * num_alive + num_bins - 1) // num_bins
        for b, kept in enumerate(keep_bins)
        if kept
    )


def gather_kept_tokens(keep: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """
    Indices of the kept tokens of each sample, in their original order, padded to the batch maximum (eagerly; an
    exported graph selects with `select_tokens_in_graph`).

    Args:
        keep (`torch.Tensor` of shape `(batch, length)`, bool): tokens to keep ([CLS] included).

    Returns:
        `(index, valid)`, both of shape `(batch, max_kept)`, `max_kept` the most tokens a sample keeps: `index`
        points into the current sequence (padding entries point to position 0), `valid` tells the real entries from
        the padding.
    """
    num_kept = keep.sum(dim=1)
    max_kept = int(num_kept.max())
    # Kept positions first, each group in its original order.
    index = torch.argsort(keep.to(torch.uint8), dim=1, descending=True, stable=True)[:, :max_kept]
    valid = torch.arange(max_kept, device=keep.device)[None, :] < num_kept[:, None]
    return index.masked_fill(~valid, 0), valid


def select_tokens_in_graph(
    scores: torch.Tensor, alive: torch.Tensor, keep_ratio: float, keep_bins: list[int] | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """
    `gather_kept_tokens` of `kept_by_plan` of `rank_alive_tokens`, [CLS] kept, as an exported graph computes it: the
    same tokens in the same order, in few operations (a graph runs every operation on every input; see
    `docs/deployment.md`, "What the graph costs").

    One `topk` sorts the alive tokens: slot `s` of the order holds the token of rank `s`, so a plan keeps slot `s`
    when `s < num_alive` and the bin of `s` is kept (or `s < ceil(keep_ratio * num_alive)`). A second `topk` brings
    the kept tokens back into their original order, its values encoding the positions. The result is at least 2
    wide (one column of padding for a 1-token sequence), so that attention's `query_length > 1` is known.

    Args:
        scores (`torch.Tensor` of shape `(batch, length)`): the ranking scores (non-negative).
        alive (`torch.Tensor` of shape `(batch, length)`, bool): tokens still in the sequence.
        keep_ratio (`float`), keep_bins (`list[int]`, *optional*): the layer's plan.

    Returns:
        `(index, valid)` as `gather_kept_tokens` returns them.
    """
    length = scores.shape[1]
    position = torch.arange(length, device=scores.device)
    candidates = alive & (position > 0)
    order = torch.topk(torch.where(candidates, scores, -1.0), length, dim=1).indices
    # Slot s holds rank s: the plan keeps the slots whose rank it keeps.
    kept = kept_by_plan(position, candidates.sum(dim=1), keep_ratio, keep_bins) | (order == 0)
    # Kept slots score `length` or more, the earlier token higher; the extra column scores below every slot.
    key = kept.long() * length + (length - 1 - order)
    key = torch.cat([key, key.new_full((key.shape[0], 1), -1)], dim=1)
    max_kept = kept.sum(dim=1).max().item()
    torch._check(max_kept >= 1)
    torch._check(max_kept <= length)
    values = torch.topk(key, torch.sym_max(max_kept, 2), dim=1).values
    valid = values >= length
    return torch.where(valid, 2 * length - 1 - values, 0), valid


def _stable_descending_order(values: torch.Tensor, count) -> torch.Tensor:
    """
    Positions of the `count` largest values of each row, equal values by position: a stable sort eagerly, `topk` in
    an exported graph (ONNX's TopK orders equal values by position, and has no stable sort).
    """
    if torch.jit.is_tracing() or torch.compiler.is_compiling():
        return torch.topk(values, count, dim=1, largest=True, sorted=True).indices
    return torch.argsort(values, dim=1, descending=True, stable=True)[:, :count]


def gather_tokens(states: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """Gather `states[b, index[b, k]]` for a `(batch, length, ...)` tensor."""
    # Whole rows of the flattened `(batch * length, ...)` tensor: several times faster than `torch.gather` with an
    # index expanded over the hidden dimension.
    batch, length = states.shape[:2]
    offsets = torch.arange(batch, device=index.device)[:, None] * length
    rows = states.reshape(batch * length, *states.shape[2:]).index_select(0, (index + offsets).flatten())
    return rows.view(*index.shape, *states.shape[2:])


__all__ = [
    "count_kept",
    "gather_kept_tokens",
    "gather_tokens",
    "keep_fraction",
    "kept_by_plan",
    "rank_alive_tokens",
    "rank_bins",
    "select_tokens_in_graph",
]
