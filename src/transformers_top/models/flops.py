"""FLOPs model of a (token-pruned) encoder (see `docs/method.md`, "FLOPs model").

Per sequence and layer, with hidden size `d` and feed-forward size `d_ff`::

    MACs_attention(L) = 4 * L * d^2 + 2 * L^2 * d
    MACs_ffn(L)       = 2 * L * d * d_ff
    layer l costs MACs_attention(L_l) + MACs_ffn(L_{l+1})

`L_l` is the number of tokens entering layer `l`; tokens are pruned inside layer `l - 1` after its attention, so
its feed-forward network already runs at `L_l` (the last layer's at its own input length). FLOPs = 2 * MACs.
Only the encoder layers are counted: embedding lookups do no multiply-adds, and the pooler and classifier act on
[CLS] alone and cost the same with and without pruning.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence

import torch

from .pruning_config import TokenPruningConfigMixin, is_int
from .token_selection import count_kept


def encoder_flops(lengths: Sequence[float] | torch.Tensor, hidden_size: int, intermediate_size: int):
    """
    FLOPs of the encoder for the token counts entering each layer.

    Args:
        lengths: `num_layers` values (or a tensor whose last dimension is the layers), floats or ints; tensors keep
            their gradient, so this is also the differentiable expected-FLOPs model used in training.
        hidden_size (`int`): `d`.
        intermediate_size (`int`): `d_ff`.

    Returns:
        FLOPs with the type of `lengths` (a tensor without the last dimension, or a number).
    """
    d, d_ff = hidden_size, intermediate_size
    if isinstance(lengths, torch.Tensor):
        ffn_lengths = torch.cat([lengths[..., 1:], lengths[..., -1:]], dim=-1)
        macs = 4 * lengths * d * d + 2 * lengths**2 * d + 2 * ffn_lengths * d * d_ff
        return 2 * macs.sum(dim=-1)
    lengths = list(lengths)
    ffn_lengths = lengths[1:] + lengths[-1:]
    return 2 * sum(4 * n * d * d + 2 * n * n * d + 2 * m * d * d_ff for n, m in zip(lengths, ffn_lengths, strict=True))


def plan_lengths(config: TokenPruningConfigMixin, seq_len: int) -> list[int]:
    """Number of tokens entering each layer for one sequence of `seq_len` real tokens under the config's plan."""
    _check_seq_len(seq_len)
    if not isinstance(config, TokenPruningConfigMixin):
        raise ValueError(
            f"a pruning plan needs a ToP configuration (e.g. TopBertConfig), got {type(config).__name__} "
            "(count_flops(..., dense=True) accepts any encoder configuration)"
        )
    lengths = [seq_len]
    for plan in config.layer_plans()[1:]:
        alive = lengths[-1] - 1
        kept = count_kept(alive, plan.keep_ratio, plan.keep_bins) if plan is not None and alive > 0 else alive
        lengths.append(1 + kept)
    return lengths


def count_flops(config: TokenPruningConfigMixin, seq_len: int, dense: bool = False) -> int:
    """
    FLOPs (2 x multiply-accumulates) of one forward pass of the encoder on one sequence of `seq_len` real tokens.

    Counts the attention projections, attention scores and weighted sums, and the feed-forward networks of every
    layer, each at the number of tokens it really processes under `config.token_keep_ratios` /
    `config.token_keep_bins` ([CLS] always kept). Embeddings, pooler and classifier are not counted.

    Args:
        config ([`TopBertConfig`]): architecture and pruning plan (with `dense=True`, any configuration with
            `num_hidden_layers`, `hidden_size` and `intermediate_size`, e.g. a `BertConfig`).
        seq_len (`int`): real tokens in the sequence, [CLS] and [SEP] included.
        dense (`bool`, *optional*, defaults to `False`): ignore the plan (the unpruned cost).

    Returns:
        `int`: the FLOPs.

    Raises:
        `ValueError`: for a bad `seq_len`, a config without an encoder's sizes, or an invalid plan.
    """
    if not all(hasattr(config, name) for name in ("num_hidden_layers", "hidden_size", "intermediate_size")):
        raise ValueError(
            f"count_flops expects a TopBertConfig (or an encoder configuration with dense=True), got "
            f"{type(config).__name__}"
        )
    _check_seq_len(seq_len)
    lengths = [seq_len] * config.num_hidden_layers if dense else plan_lengths(config, seq_len)
    return encoder_flops(lengths, config.hidden_size, config.intermediate_size)


def total_flops(config: TokenPruningConfigMixin, seq_lengths: Iterable[int], dense: bool = False) -> int:
    """
    FLOPs of [`count_flops`] summed over sequences of `seq_lengths` real tokens (e.g. an evaluation set), each
    distinct length counted once.

    Raises:
        `ValueError`: for an empty `seq_lengths`, and as [`count_flops`].
    """
    counts = Counter(seq_lengths)
    if not counts:
        raise ValueError("total_flops needs at least one sequence length")
    return sum(count * count_flops(config, length, dense=dense) for length, count in counts.items())


def flops_metrics(
    config: TokenPruningConfigMixin, lengths: Sequence[int], padded_length: int | None = None, prefix: str = "eval"
) -> dict[str, float]:
    """
    Realized FLOPs reduction of `config`'s plan on sequences of `lengths` real tokens, in both conventions: against
    dense on the same real tokens, and against dense padded to `padded_length` (default: the longest sequence).

    Returns:
        `{prefix}_flops_reduction`, `{prefix}_flops_reduction_padded` and `{prefix}_sparsity` (`1 - pruned / dense`,
        real tokens).

    Raises:
        `ValueError`: for no lengths, and as [`count_flops`].
    """
    if not lengths:
        raise ValueError("cannot measure FLOPs on an empty evaluation set")
    padded_length = padded_length or max(lengths)
    pruned, dense = total_flops(config, lengths), total_flops(config, lengths, dense=True)
    padded = count_flops(config, padded_length, dense=True) * len(lengths)
    return {
        f"{prefix}_flops_reduction": dense / pruned,
        f"{prefix}_flops_reduction_padded": padded / pruned,
        f"{prefix}_sparsity": 1.0 - pruned / dense,
    }


def _check_seq_len(seq_len: int) -> None:
    if not is_int(seq_len) or seq_len < 1:
        raise ValueError(f"seq_len must be a positive integer, got {seq_len!r}")


def expected_lengths(layer_keep_ratios: torch.Tensor, seq_lengths: torch.Tensor) -> torch.Tensor:
    """
    Expected tokens entering each layer: `(n - 1) * R_l + 1`, with `R_l` the cumulative product of the per-layer
    expected keep ratios.

    Args:
        layer_keep_ratios (`torch.Tensor` of shape `(num_layers,)`): expected keep ratio at each layer's input (1 for
            layers that do not prune).
        seq_lengths (`torch.Tensor` of shape `(batch,)`): real tokens per sample.

    Returns:
        `torch.Tensor` of shape `(batch, num_layers)`.
    """
    cumulative = torch.cumprod(layer_keep_ratios, dim=0)
    return (seq_lengths[:, None].to(cumulative.dtype) - 1) * cumulative[None, :] + 1


def expected_sparsity(
    config: TokenPruningConfigMixin, layer_keep_ratios: torch.Tensor, seq_lengths: torch.Tensor
) -> torch.Tensor:
    """
    `s_hat = 1 - mean_b FLOPs(expected pruned lengths) / FLOPs(unpruned, same real lengths)`, differentiable in
    `layer_keep_ratios`.

    Args:
        config: the architecture (`hidden_size`, `intermediate_size`, `num_hidden_layers`).
        layer_keep_ratios (`torch.Tensor` of shape `(num_layers,)`): expected keep ratio at each layer's input.
        seq_lengths (`torch.Tensor` of shape `(batch,)`): real tokens per sample, each at least 1.

    Raises:
        `ValueError`: when a shape or a length is wrong.
    """
    num_layers = config.num_hidden_layers
    if tuple(layer_keep_ratios.shape) != (num_layers,):
        raise ValueError(
            f"layer_keep_ratios must have shape ({num_layers},) (one ratio per layer), "
            f"got {tuple(layer_keep_ratios.shape)}"
        )
    if seq_lengths.dim() != 1 or seq_lengths.numel() == 0 or bool((seq_lengths < 1).any()):
        raise ValueError(f"seq_lengths must be a non-empty 1-D tensor of lengths >= 1, got {seq_lengths.tolist()}")
    pruned = encoder_flops(
        expected_lengths(layer_keep_ratios, seq_lengths), config.hidden_size, config.intermediate_size
    )
    dense_lengths = seq_lengths[:, None].to(pruned.dtype).expand(-1, num_layers)
    dense = encoder_flops(dense_lengths, config.hidden_size, config.intermediate_size)
    return 1.0 - (pruned / dense).mean()


__all__ = [
    "count_flops",
    "encoder_flops",
    "expected_lengths",
    "expected_sparsity",
    "flops_metrics",
    "plan_lengths",
    "total_flops",
]
