"""Checks of a ToP model's inputs, each failing with a `ValueError` that names the bad value.

Shapes, dtypes and lengths are checked on every call (they cost nothing). Values inside the tensors (token ids, token
types and positions within their embedding tables) are only read when the embedding lookup has failed, to say which
value was wrong: valid inputs pay nothing for them. See `docs/reliability.md`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from .pruning_config import is_int

_INTEGER_DTYPES = (torch.int64, torch.int32)


def check_encoder_inputs(
    *,
    input_ids: torch.Tensor | None,
    inputs_embeds: torch.Tensor | None,
    attention_mask: torch.Tensor | None,
    token_type_ids: torch.Tensor | None,
    position_ids: torch.Tensor | None,
    output_attentions: bool | None,
    hidden_size: int,
    max_length: int,
    max_length_name: str = "max_position_embeddings",
) -> tuple[int, int]:
    """
    Check the shapes and dtypes of an encoder's inputs.

    Args:
        input_ids, inputs_embeds, attention_mask, token_type_ids, position_ids, output_attentions:
            the forward's arguments.
        hidden_size (`int`): the width `inputs_embeds` must have.
        max_length (`int`): the longest sequence the position embeddings allow.
        max_length_name (`str`): how the error message names that limit.

    Returns:
        `(batch_size, sequence_length)`.
    """
    if (input_ids is None) == (inputs_embeds is None):
        raise ValueError("You must specify exactly one of input_ids or inputs_embeds")
    if output_attentions:
        raise ValueError(
            "output_attentions is not supported by ToP models (pruned layers see different tokens); "
            "pass importance_layers=[...] to get the token importance instead"
        )
    shape = tuple(input_ids.shape) if input_ids is not None else tuple(inputs_embeds.shape[:-1])
    if len(shape) != 2 or shape[0] == 0 or shape[1] == 0:
        raise ValueError(f"inputs must have shape (batch_size, sequence_length) with both > 0, got {shape}")
    if inputs_embeds is not None and inputs_embeds.shape[-1] != hidden_size:
        raise ValueError(f"inputs_embeds must end with hidden_size={hidden_size}, got {tuple(inputs_embeds.shape)}")
    if shape[1] > max_length:
        raise ValueError(
            f"sequence length {shape[1]} exceeds {max_length_name}={max_length}; truncate the input "
            "(e.g. tokenizer(..., truncation=True))"
        )
    for name, tensor in (("attention_mask", attention_mask), ("token_type_ids", token_type_ids)):
        if tensor is not None and tuple(tensor.shape) != shape:
            raise ValueError(f"{name} has shape {tuple(tensor.shape)}, expected {shape}")
    if position_ids is not None and tuple(position_ids.shape) not in ((1, shape[1]), shape):
        expected = f"{shape} or {(1, shape[1])}" if shape[0] > 1 else str(shape)
        raise ValueError(f"position_ids has shape {tuple(position_ids.shape)}, expected {expected}")
    for name, ids in (("input_ids", input_ids), ("token_type_ids", token_type_ids), ("position_ids", position_ids)):
        if ids is not None and ids.dtype not in _INTEGER_DTYPES:
            raise ValueError(f"{name} must be an integer (int64 or int32) tensor, got {ids.dtype}")
    return shape


def embed_checked(
    embed: Callable[[], torch.Tensor], tables: dict[str, tuple[torch.Tensor | None, int]]
) -> torch.Tensor:
    """
    Run the embedding lookup `embed()`; when it fails, find the input whose values fall outside its table and raise
    a `ValueError` naming them.

    Args:
        embed: the lookup, e.g. `lambda: self.embeddings(input_ids=..., ...)`.
        tables (`dict[str, tuple[torch.Tensor | None, int]]`): per input name, the ids given (or `None`) and the size
            of the table they index (valid ids are `0 .. size - 1`).
    """
    try:
        return embed()
    except (IndexError, RuntimeError) as error:
        for name, (ids, size) in tables.items():
            if ids is not None and (bool((ids < 0).any()) or bool((ids >= size).any())):
                raise ValueError(
                    f"{name} must be within 0..{size - 1}, got values from {int(ids.min())} to {int(ids.max())}"
                ) from error
        raise


def check_first_tokens_are_real(alive: torch.Tensor) -> None:
    """Every row must start with a real token ([CLS]): one reduction over the batch, the row list only on failure."""
    if not bool(alive[:, 0].all()):
        rows = (~alive[:, 0]).nonzero().flatten().tolist()
        raise ValueError(
            f"rows {rows} of attention_mask are padding at position 0: every row needs a real first token ([CLS]); "
            "all-padding rows and left padding are not supported"
        )


def check_importance_layers(importance_layers, num_layers: int) -> frozenset[int]:
    """`importance_layers` as a set of layer indices, or a `ValueError` naming the bad value."""
    if importance_layers is None:
        return frozenset()
    if not isinstance(importance_layers, (list, tuple, set, frozenset)) or not all(
        is_int(layer) for layer in importance_layers
    ):
        raise ValueError(f"importance_layers must be a list of layer indices, got {importance_layers!r}")
    if any(not 0 <= layer < num_layers for layer in importance_layers):
        raise ValueError(f"importance_layers must be within 0..{num_layers - 1}, got {sorted(importance_layers)}")
    return frozenset(int(layer) for layer in importance_layers)


__all__ = ["check_encoder_inputs", "check_first_tokens_are_real", "check_importance_layers", "embed_checked"]
