"""Token importance from attention probabilities (ToP spec, section 1).

The importance of token `j` at a layer is the attention it receives, averaged over heads and over the query rows
of the real, alive tokens: `s[j] = mean_{h, i alive} A[h, i, j]`. Padding and pruned queries are excluded, in
training and at inference alike.
"""

from __future__ import annotations

import torch
from torch import nn


def additive_attention_mask(keys_alive: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """`(batch, 1, 1, length)` additive mask: 0 for alive keys, the dtype's minimum for the others."""
    mask = torch.zeros(keys_alive.shape, dtype=dtype, device=keys_alive.device)
    return mask.masked_fill(~keys_alive, torch.finfo(dtype).min)[:, None, None, :]


def attention_probabilities(
    self_attention: nn.Module, hidden_states: torch.Tensor, additive_mask: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """
    Post-softmax attention of a transformers `BertSelfAttention` module, computed explicitly (the fast kernels do
    not return it). The scaling is applied to the queries rather than to the `length x length` scores (exact for
    power-of-two head sizes, within float rounding otherwise).

    Args:
        self_attention (`BertSelfAttention`): the query/key/value projections.
        hidden_states (`torch.Tensor` of shape `(batch, length, hidden)`): the block input.
        additive_mask (`torch.Tensor`, *optional*): broadcastable to `(batch, heads, length, length)`; `None` when
            every key may be attended to.

    Returns:
        `(probs, values)`: probabilities of shape `(batch, heads, length, length)` and the value projections of shape
        `(batch, heads, length, head_size)`.
    """
    batch, length, _ = hidden_states.shape
    shape = (batch, length, -1, self_attention.attention_head_size)
    query = (self_attention.query(hidden_states) * self_attention.scaling).view(shape).transpose(1, 2)
    key = self_attention.key(hidden_states).view(shape).transpose(1, 2)
    value = self_attention.value(hidden_states).view(shape).transpose(1, 2)
    scores = torch.matmul(query, key.transpose(2, 3))
    if additive_mask is not None:
        scores = scores + additive_mask
    return torch.softmax(scores, dim=-1), value


def importance_from_probabilities(probs: torch.Tensor, queries_alive: torch.Tensor) -> torch.Tensor:
    """Average attention received by each key over heads and alive queries; shape `(batch, length)`."""
    weights = queries_alive.to(probs.dtype)
    # A (1 x length) @ (length x length) product per head, summed over heads: one read of `probs` (an einsum over
    # these subscripts permutes `probs` into a copy first, several times slower).
    received = torch.matmul(weights[:, None, None, :], probs).sum(dim=1)[:, 0]
    return received / (probs.shape[1] * weights.sum(dim=1, keepdim=True).clamp(min=1.0))


def attention_with_importance(
    attention: nn.Module, hidden_states: torch.Tensor, alive: torch.Tensor, keys_alive: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """
    Run a transformers `BertAttention` block with explicit probabilities, returning its output and the token
    importance. Numerically the same as the eager attention path.

    Args:
        attention (`BertAttention`): the block (`.self` projections, `.output` dense + LayerNorm).
        hidden_states (`torch.Tensor` of shape `(batch, length, hidden)`): the block input.
        alive (`torch.Tensor` of shape `(batch, length)`, bool): the queries that count for the importance.
        keys_alive (`torch.Tensor`, *optional*): the keys that may be attended to; defaults to `alive`.

    Returns:
        `(attention_output, importance)` of shapes `(batch, length, hidden)` and `(batch, length)`.
    """
    self_attention = attention.self
    keys = alive if keys_alive is None else keys_alive
    # Adding a mask of zeros changes nothing: skip it when every key is alive (e.g. batch 1 before any pruning).
    mask = None if bool(keys.all()) else additive_attention_mask(keys, hidden_states.dtype)
    probs, value = attention_probabilities(self_attention, hidden_states, mask)
    importance = importance_from_probabilities(probs, alive)
    context = torch.matmul(self_attention.dropout(probs), value).transpose(1, 2)
    context = context.reshape(*hidden_states.shape[:-1], -1)
    return attention.output(context, hidden_states), importance


__all__ = [
    "additive_attention_mask",
    "attention_probabilities",
    "attention_with_importance",
    "importance_from_probabilities",
]
