"""Where each token stands while a model prunes: its soft keep value in training, its last state for restoring."""

from __future__ import annotations

import torch

from .hard_concrete import TokenPruningMasks
from .token_selection import gather_tokens, rank_alive_tokens, rank_bins

#: What a position's final state is while soft masks train, where the outputs cover every position
#: (`restore_pruned_tokens=True`, the question-answering heads): `"last_layer"`, the last layer's output as for every
#: token (the method: a masked token's scaled state runs on through the remaining layers), or `"carried"`, the soft
#: counterpart of inference's carry-over (`SoftTokenRestorer`).
MASKED_TOKEN_OUTPUTS = ("last_layer", "carried")


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

    def keep_values(self) -> torch.Tensor:
        """Each token's current soft keep value, of shape `(batch, length)` (0 for padding, 1 for [CLS])."""
        return self.keep

    def alive_queries(self) -> torch.Tensor:
        return self.alive & (self.keep > 0)

    def apply(self, layer: int, scores: torch.Tensor, layer_input: torch.Tensor) -> torch.Tensor:
        location = self.location[layer]
        ranks, num_alive = rank_alive_tokens(scores, self.alive_queries())
        bin_values = self.bins[location][rank_bins(ranks, num_alive, self.bins.shape[1])]
        keep = (1.0 - (1.0 - bin_values) * self.gates[location]) * self.keep
        self.keep = torch.where(self.is_cls, torch.ones_like(keep), keep)
        return layer_input * self.keep[..., None].to(layer_input.dtype)


class SoftTokenRestorer:
    """
    The training counterpart of [`TokenRestorer`] under soft masks (`masked_token_output="carried"`): a position's
    output is the state it entered each masking decision with, weighted by the keep value that decision took from
    it, plus its last-layer state weighted by the keep value it ends with. With masks of 0 and 1 a dropped token's
    output is the state it carried when it was dropped and a kept token's its last-layer state, as at inference.
    """

    def __init__(self, hidden_states: torch.Tensor) -> None:
        self.carried = torch.zeros_like(hidden_states)

    def record(self, keep_before: torch.Tensor, keep_after: torch.Tensor, decision_input: torch.Tensor) -> None:
        """Carry the part of `decision_input` (the deciding layer's input) that the decision masked."""
        dropped = (keep_before - keep_after).to(decision_input.dtype)
        self.carried = self.carried + dropped[..., None] * decision_input

    def output(self, keep: torch.Tensor, last_hidden_state: torch.Tensor) -> torch.Tensor:
        return self.carried + keep.to(last_hidden_state.dtype)[..., None] * last_hidden_state


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


__all__ = ["MASKED_TOKEN_OUTPUTS", "SoftMasking", "SoftTokenRestorer", "TokenRestorer"]
