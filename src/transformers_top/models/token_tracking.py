"""Where each token stands while a model prunes: its soft keep value in training, its last state for restoring."""

from __future__ import annotations

import torch

from .hard_concrete import TokenPruningMasks
from .token_selection import gather_tokens, rank_alive_tokens, rank_bins


class SoftMasking:
    """Training-time soft token masks: `m_j = (1 - (1 - z_bin(j)) * g_p) * m_j(previous location)`, `m_[CLS] = 1`."""

    def __init__(self, masks: TokenPruningMasks, prune_layers: list[int], alive: torch.Tensor, dtype: torch.dtype):
        self.gates, self.bins = masks.sample()
        self.location = {layer: position for position, layer in enumerate(prune_layers)}
        self.alive = alive
        self.keep = alive.to(dtype)
        self.is_cls = torch.zeros_like(alive)
        self.is_cls[:, 0] = True

    def prunes(self, layer: int) -> bool:
        return layer in self.location

    def alive_queries(self) -> torch.Tensor:
        return self.alive & (self.keep > 0)

    def apply(self, layer: int, scores: torch.Tensor, layer_input: torch.Tensor) -> torch.Tensor:
        location = self.location[layer]
        ranks, num_alive = rank_alive_tokens(scores, self.alive_queries())
        bin_values = self.bins[location][rank_bins(ranks, num_alive, self.bins.shape[1])]
        keep = (1.0 - (1.0 - bin_values) * self.gates[location]) * self.keep
        self.keep = torch.where(self.is_cls, torch.ones_like(keep), keep)
        return layer_input * self.keep[..., None].to(layer_input.dtype)


class TokenRestorer:
    """Keeps each token's latest hidden state at its original position, so pruned tokens can be put back."""

    def __init__(self, alive: torch.Tensor, hidden_states: torch.Tensor) -> None:
        batch_size, seq_length, hidden_size = hidden_states.shape
        self.seq_length = seq_length
        # One spare column receives the writes of padding entries.
        self.buffer = hidden_states.new_zeros(batch_size, seq_length + 1, hidden_size)
        positions = torch.arange(seq_length, device=alive.device).expand(batch_size, -1)
        self.origin = positions.masked_fill(~alive, seq_length)
        self.row_offsets = torch.arange(batch_size, device=alive.device)[:, None] * (seq_length + 1)

    def record(self, hidden_states: torch.Tensor) -> None:
        # In place, whole rows of the flattened buffer (copying the buffer or scattering with an index expanded over
        # the hidden dimension costs more than the layers themselves at short lengths).
        rows = (self.origin + self.row_offsets).flatten()
        self.buffer.view(-1, self.buffer.shape[-1]).index_copy_(0, rows, hidden_states.flatten(0, 1))

    def gather(self, keep_index: torch.Tensor, alive: torch.Tensor) -> None:
        self.origin = gather_tokens(self.origin, keep_index).masked_fill(~alive, self.seq_length)

    def output(self) -> torch.Tensor:
        return self.buffer[:, : self.seq_length]


__all__ = ["SoftMasking", "TokenRestorer"]
