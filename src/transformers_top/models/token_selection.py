"""Ranking tokens by importance and choosing which to keep (see `docs/method.md`, "Which tokens a plan keeps").

All functions work on a batch: `alive` is a `(batch, length)` bool tensor of the tokens still in the sequence
(real, not padding, not pruned earlier); position 0 is [CLS], never ranked and never pruned.
"""

from __future__ import annotations

import math

import torch

_EPS = 1e-9


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
    order = torch.argsort(scores, dim=1, descending=True, stable=True)
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
    ranks are kept (the same as a prefix pattern of `keep_ratio * num_bins` bins).

    Returns:
        `torch.Tensor` of shape `ranks.shape`, bool; always `False` where `ranks >= num_alive`.
    """
    in_range = ranks < num_alive[:, None]
    if keep_bins is not None:
        pattern = torch.tensor(keep_bins, dtype=torch.bool, device=ranks.device)
        return in_range & pattern[rank_bins(ranks, num_alive, len(keep_bins))]
    num_kept = torch.ceil(num_alive.double() * keep_ratio - _EPS).long()
    return ranks < num_kept[:, None]


def count_kept(num_alive: int, keep_ratio: float, keep_bins: list[int] | None) -> int:
    """Number of non-[CLS] tokens a fixed plan keeps out of `num_alive` (the scalar form of `kept_by_plan`)."""
    if keep_bins is None:
        return max(0, math.ceil(num_alive * keep_ratio - _EPS))
    num_bins = len(keep_bins)
    return sum(keep_bins[rank * num_bins // num_alive] for rank in range(num_alive))


def gather_kept_tokens(keep: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """
    Indices of the kept tokens of each sample, in their original order, padded to the batch maximum.

    Args:
        keep (`torch.Tensor` of shape `(batch, length)`, bool): tokens to keep ([CLS] included).

    Returns:
        `(index, valid)`, both of shape `(batch, max_kept)`: `index` points into the current sequence (padding
        entries point to position 0), `valid` tells the real entries from the padding.
    """
    num_kept = keep.sum(dim=1)
    max_kept = int(num_kept.max())
    # A stable sort of "not kept" brings the kept positions first without reordering them.
    index = torch.argsort((~keep).to(torch.uint8), dim=1, stable=True)[:, :max_kept]
    valid = torch.arange(max_kept, device=keep.device)[None, :] < num_kept[:, None]
    return index.masked_fill(~valid, 0), valid


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
    "kept_by_plan",
    "rank_alive_tokens",
    "rank_bins",
]
