"""Token importance from attention probabilities (see `docs/method.md`, "Token importance").

The importance of token `j` at a layer is the attention it receives, averaged over heads and over the query rows
of the real, alive tokens: `s[j] = mean_{h, i alive} A[h, i, j]`. Padding and pruned queries are excluded, in
training and at inference alike.
"""

from __future__ import annotations

import torch
from torch import nn

#: Attention scores computed at once by `self_attention_with_importance`, in elements (4 MB in float32): a block
#: this size stays in cache from the score product through the softmax, the importance and the weighted sum of the
#: values, where the whole `(batch, heads, length, length)` tensor (100 MB at batch 8, length 512) would go to memory
#: and back.
SCORE_CHUNK_ELEMENTS = 2**20


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
    query, key, value = _projections(self_attention, hidden_states)
    scores = torch.matmul(query, key.transpose(2, 3))
    if additive_mask is not None:
        scores = scores + additive_mask
    return torch.softmax(scores, dim=-1), value


#: Model dtypes whose deciding layers compute queries, keys, scores, softmax and importance in float32.
REDUCED_PRECISION = (torch.bfloat16, torch.float16)


def _projections(self_attention: nn.Module, hidden_states: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """
    Scaled queries, keys and values, each of shape `(batch, heads, length, head_size)`. For a reduced-precision model
    the queries and keys are computed in float32 (from the same inputs and weights), the values in the model's dtype.
    """
    batch, length, _ = hidden_states.shape
    shape = (batch, length, -1, self_attention.attention_head_size)

    def project(linear: nn.Linear) -> torch.Tensor:
        if hidden_states.dtype not in REDUCED_PRECISION:
            return linear(hidden_states)
        bias = None if linear.bias is None else linear.bias.float()
        return nn.functional.linear(hidden_states.float(), linear.weight.float(), bias)

    query = (project(self_attention.query) * self_attention.scaling).view(shape).transpose(1, 2)
    key = project(self_attention.key).view(shape).transpose(1, 2)
    value = self_attention.value(hidden_states).view(shape).transpose(1, 2)
    return query, key, value


def _received_attention(probs: torch.Tensor, query_weights: torch.Tensor) -> torch.Tensor:
    """
    Attention received by each key, summed over the weighted queries: `(..., 1, length) @ (..., length, length)`.
    One read of `probs` (an einsum over these subscripts first permutes `probs` into a copy, several times slower).

    Under autocast (`--bf16` training) the sum is taken in float32 with autocast off: a bfloat16 result keeps about
    three significant digits, which ties the ranks of a third of the tokens of a 300-token text, so training would
    rank tokens differently from the float32 inference. Without autocast (inference) the product runs as it is.
    """
    device_type = probs.device.type
    if not torch.is_autocast_enabled(device_type):
        return torch.matmul(query_weights, probs)
    with torch.autocast(device_type, enabled=False):
        return torch.matmul(query_weights.float(), probs.float())


def _mean_over_heads_and_queries(received: torch.Tensor, queries_alive: torch.Tensor) -> torch.Tensor:
    """From the attention received per head, `(batch, heads, length)`, to the importance, `(batch, length)`."""
    num_queries = queries_alive.sum(dim=1, keepdim=True).clamp(min=1).to(received.dtype)
    return received.sum(dim=1) / (received.shape[1] * num_queries)


def importance_from_probabilities(probs: torch.Tensor, queries_alive: torch.Tensor) -> torch.Tensor:
    """Average attention received by each key over heads and alive queries; shape `(batch, length)`."""
    weights = queries_alive.to(probs.dtype)[:, None, None, :]
    return _mean_over_heads_and_queries(_received_attention(probs, weights)[:, :, 0], queries_alive)


def self_attention_with_importance(
    self_attention: nn.Module, hidden_states: torch.Tensor, alive: torch.Tensor, keys_alive: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """
    Run a transformers `BertSelfAttention` module with explicit probabilities, returning its context (the attention
    output before the output projection) and the token importance. Numerically the same as the eager attention path
    (within float rounding). The probabilities are computed a few heads at a time (`SCORE_CHUNK_ELEMENTS`) and never
    held whole.

    For a model in a reduced precision (bfloat16 or float16 weights), the queries, keys, scores, softmax and
    importance are computed in float32 and only the context goes on in the model's dtype: rounded to bfloat16 they
    tie and reorder close tokens differently in a batch than one by one. (Under autocast the hidden states are float32
    and the products follow autocast; `_received_attention` keeps the sum in float32.)

    The caller applies the block's output projection (`BertAttention.output(context, hidden_states)`), so that at a
    pruning decision it runs on the kept tokens only: the projection is per token.

    Args:
        self_attention (`BertSelfAttention`): the query/key/value projections.
        hidden_states (`torch.Tensor` of shape `(batch, length, hidden)`): the block input.
        alive (`torch.Tensor` of shape `(batch, length)`, bool): the queries that count for the importance.
        keys_alive (`torch.Tensor`, *optional*): the keys that may be attended to; defaults to `alive`.

    Returns:
        `(context, importance)` of shapes `(batch, length, hidden)` and `(batch, length)`; the importance is float32
        for a reduced-precision model.
    """
    batch, length, _ = hidden_states.shape
    keys = alive if keys_alive is None else keys_alive
    score_dtype = torch.float32 if hidden_states.dtype in REDUCED_PRECISION else hidden_states.dtype
    if torch.jit.is_tracing() or torch.compiler.is_compiling():
        return _traced_attention_with_importance(self_attention, hidden_states, alive, keys, score_dtype)
    # One row per (sample, head): (batch * heads, length, head_size).
    query, key, value = (states.flatten(0, 1) for states in _projections(self_attention, hidden_states))
    heads = hidden_states.shape[-1] // self_attention.attention_head_size
    # Adding a mask of zeros changes nothing: skip it when every key is alive (e.g. batch 1 before any pruning).
    mask = None
    if not bool(keys.all()):
        mask = additive_attention_mask(keys, score_dtype)[:, 0].repeat_interleave(heads, dim=0)
    query_weights = alive.to(score_dtype).repeat_interleave(heads, dim=0)[:, None, :]

    def attend(rows: slice) -> tuple[torch.Tensor, torch.Tensor]:
        scores = torch.bmm(query[rows], key[rows].transpose(1, 2))
        if mask is not None:
            scores = scores + mask[rows]
        probs = torch.softmax(scores, dim=-1)
        context = torch.bmm(self_attention.dropout(probs).to(value.dtype), value[rows])
        return _received_attention(probs, query_weights[rows]), context

    step = max(1, SCORE_CHUNK_ELEMENTS // length**2)
    parts = [attend(slice(start, start + step)) for start in range(0, query.shape[0], step)]
    received, context = (torch.cat(part) for part in zip(*parts, strict=True))
    importance = _mean_over_heads_and_queries(received.view(batch, heads, length), alive)
    context = context.view(batch, heads, length, -1).transpose(1, 2).reshape(batch, length, -1)
    return context, importance


def _traced_attention_with_importance(
    self_attention: nn.Module,
    hidden_states: torch.Tensor,
    alive: torch.Tensor,
    keys: torch.Tensor,
    score_dtype: torch.dtype,
) -> tuple[torch.Tensor, torch.Tensor]:
    """
    `self_attention_with_importance` as an exported graph computes it, in one block of `(batch, heads, length,
    length)` scores. The key mask rides in the score product: each query gets a last component of 1 and each key its
    additive mask value (0, or the dtype's minimum for a dead key), so that the product is the masked score without
    a pass of its own over the scores; the query weights broadcast over the heads rather than being repeated. See
    `docs/deployment.md`, "What the graph costs".
    """
    batch, length, _ = hidden_states.shape
    query, key, value = _projections(self_attention, hidden_states)
    # (batch, heads, length, 1): each key's additive mask value, the last component of its key vector.
    mask = additive_attention_mask(keys, score_dtype).transpose(2, 3).expand(-1, query.shape[1], -1, -1)
    query = torch.cat([query, torch.ones_like(query[..., :1])], dim=-1)
    key = torch.cat([key, mask.to(key.dtype)], dim=-1)
    probs = torch.softmax(torch.matmul(query, key.transpose(2, 3)), dim=-1)
    context = torch.matmul(self_attention.dropout(probs).to(value.dtype), value)
    context = context.transpose(1, 2).reshape(batch, length, -1)
    received = _received_attention(probs, alive.to(score_dtype)[:, None, None, :])[:, :, 0]
    return context, _mean_over_heads_and_queries(received, alive)


__all__ = [
    "additive_attention_mask",
    "attention_probabilities",
    "importance_from_probabilities",
    "self_attention_with_importance",
]
