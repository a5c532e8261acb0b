"""Configuration of the token-pruned BERT models (ToP)."""

from __future__ import annotations

import math
from numbers import Real
from typing import Any

from transformers import BertConfig

from .hard_concrete import FREEZE_RULES

_IGNORED_DICT_KEYS = ("model_type",)


class TopBertConfig(BertConfig):
    r"""
    Configuration of [`TopBertModel`] and [`TopBertForSequenceClassification`]: a BERT configuration plus a token
    pruning plan (ToP, "Constraint-aware and Ranking-distilled Token Pruning", KDD 2023).

    Every field of [`~transformers.BertConfig`] is accepted unchanged, so any BERT checkpoint loads into this
    configuration. The pruning fields are:

    Args:
        prune_layers (`list[int]`, *optional*):
            Layers whose input may be pruned. Layer `l` is pruned with the token importance of layer `l - 1`, so
            layer 0 can never prune. Defaults to `2 .. num_hidden_layers - 1`, the paper's choice.
        num_bins (`int`, *optional*, defaults to 50):
            Number of rank bins per prune layer used by the trainable masks. A token ranked `r` among the `A` alive
            non-[CLS] tokens falls in bin `floor(r * num_bins / A)`.
        token_keep_ratios (`list[float]`, *optional*):
            One value in `(0, 1]` per layer: the fraction of the alive non-[CLS] tokens kept at that layer's input
            (`ceil(ratio * A)` of them, the most important first). Values below 1 are only allowed in
            `prune_layers`. `None` means dense (no pruning).
        token_keep_bins (`list[list[int] | None]`, *optional*):
            The exact trained plan where it is not a prefix of the ranking: one entry per layer, either `None` (use
            `token_keep_ratios`) or `num_bins` values in `{0, 1}` telling which rank bins are kept. Written by
            [`~TopBertModel.finalize_pruning`]; requires `token_keep_ratios` with `ratio == sum(bins) / num_bins`.
        plan_freeze_rule (`str`, *optional*, defaults to `"threshold"`):
            How trained masks become a deterministic plan (evaluation during training and `finalize_pruning`):
            `"threshold"`, the spec's rule (a location prunes iff its gate has `P(g > 0) >= 0.5`, then drops
            `round(K - sum_b P(z_b > 0))` bins), or `"expected"` (each location drops `round(K * (1 - rho))` bins,
            `rho` its expected keep ratio, so the plan's FLOPs match the expected sparsity the constraint trained).
            Unused once the plan is finalized.
        pruning_masks (`bool`, *optional*, defaults to `False`):
            Whether the model holds trainable hard-concrete masks (set by `add_pruning_masks`, cleared by
            `finalize_pruning`). Checkpoints written during training carry the mask parameters and this flag.

    Example:

    ```python
    >>> from transformers_top import TopBertConfig

    >>> config = TopBertConfig(num_hidden_layers=4, token_keep_ratios=[1.0, 1.0, 0.5, 0.5])
    >>> config.prune_layers
    [2, 3]
    ```
    """

    model_type = "top_bert"

    prune_layers: list[int] | None = None
    num_bins: int = 50
    token_keep_ratios: list[float] | None = None
    token_keep_bins: list[list[int] | None] | None = None
    plan_freeze_rule: str = "threshold"
    pruning_masks: bool = False

    def __post_init__(self, **kwargs: Any) -> None:
        for key in _IGNORED_DICT_KEYS:
            # A plain BERT config.json carries model_type="bert"; the class value must win in memory and on disk.
            kwargs.pop(key, None)
        super().__post_init__(**kwargs)
        if self.prune_layers is None:
            self.prune_layers = list(range(2, self.num_hidden_layers))
        self.check_pruning_plan()

    @classmethod
    def from_dict(cls, config_dict: dict[str, Any], **kwargs: Any) -> TopBertConfig | tuple[TopBertConfig, dict]:
        """
        As in transformers, then the pruning plan is checked again: keyword overrides (e.g.
        `from_pretrained(path, token_keep_ratios=[...])`) are assigned after construction.
        """
        result = super().from_dict(config_dict, **kwargs)
        (result[0] if isinstance(result, tuple) else result).check_pruning_plan()
        return result

    @classmethod
    def from_bert_config(cls, bert_config: BertConfig, **overrides: Any) -> TopBertConfig:
        """
        Build a `TopBertConfig` from a [`~transformers.BertConfig`] (or any config with BERT's fields).

        Args:
            bert_config ([`~transformers.BertConfig`]): the configuration to copy.
            overrides: fields to set on the result, e.g. `token_keep_ratios=[...]`.
        """
        if not isinstance(bert_config, BertConfig):
            raise ValueError(f"from_bert_config expects a BertConfig, got {type(bert_config).__name__}")
        values = bert_config.to_dict()
        values.update(overrides)
        return cls(**values)

    def check_pruning_plan(self) -> None:
        """
        Validate the pruning fields against the architecture.

        Called at construction and again by the models and `count_flops`, so a plan assigned after construction
        (`config.token_keep_ratios = [...]`) is checked before it is used.

        Raises:
            `ValueError`: naming the field and the bad value.
        """
        num_layers = self.num_hidden_layers
        layers = self.prune_layers
        if not isinstance(layers, (list, tuple)) or not all(_is_int(layer) for layer in layers):
            raise ValueError(f"prune_layers must be a list of layer indices, got {layers!r}")
        if list(layers) != sorted(set(layers)) or any(not 1 <= layer < num_layers for layer in layers):
            raise ValueError(
                f"prune_layers must be increasing, distinct and within 1..{num_layers - 1} "
                f"(layer 0 has no earlier importance to prune with), got {list(layers)!r}"
            )
        if not _is_int(self.num_bins) or self.num_bins < 1:
            raise ValueError(f"num_bins must be a positive integer, got {self.num_bins!r}")
        if self.plan_freeze_rule not in FREEZE_RULES:
            raise ValueError(f"plan_freeze_rule must be one of {FREEZE_RULES}, got {self.plan_freeze_rule!r}")
        if not isinstance(self.pruning_masks, bool):
            raise ValueError(f"pruning_masks must be a bool, got {self.pruning_masks!r}")
        ratios = self.token_keep_ratios
        if ratios is not None:
            if not isinstance(ratios, (list, tuple)) or len(ratios) != num_layers:
                raise ValueError(
                    f"token_keep_ratios must be a list of {num_layers} floats (one per layer), got {ratios!r}"
                )
            for layer, ratio in enumerate(ratios):
                if not isinstance(ratio, Real) or isinstance(ratio, bool) or not 0.0 < ratio <= 1.0:
                    raise ValueError(f"token_keep_ratios[{layer}] must be a number in (0, 1], got {ratio!r}")
                if ratio < 1.0 and layer not in layers:
                    raise ValueError(
                        f"token_keep_ratios[{layer}] = {ratio} prunes layer {layer}, which is not in "
                        f"prune_layers {list(layers)}"
                    )
        self._check_keep_bins()

    def _check_keep_bins(self) -> None:
        patterns = self.token_keep_bins
        if patterns is None:
            return
        num_layers = self.num_hidden_layers
        if not isinstance(patterns, (list, tuple)) or len(patterns) != num_layers:
            raise ValueError(f"token_keep_bins must be a list of {num_layers} entries, got {patterns!r}")
        if self.token_keep_ratios is None:
            raise ValueError("token_keep_bins requires token_keep_ratios (the kept fraction of each pattern)")
        for layer, pattern in enumerate(patterns):
            if pattern is None:
                continue
            if (
                not isinstance(pattern, (list, tuple))
                or len(pattern) != self.num_bins
                or any(bit not in (0, 1) or isinstance(bit, float) for bit in pattern)
            ):
                raise ValueError(
                    f"token_keep_bins[{layer}] must be a list of {self.num_bins} values in {{0, 1}}, got {pattern!r}"
                )
            if layer not in self.prune_layers:
                raise ValueError(f"token_keep_bins[{layer}] is set but layer {layer} is not in prune_layers")
            expected = sum(pattern) / self.num_bins
            if sum(pattern) == 0 or not math.isclose(self.token_keep_ratios[layer], expected, abs_tol=1e-9):
                raise ValueError(
                    f"token_keep_bins[{layer}] keeps {sum(pattern)} of {self.num_bins} bins, so "
                    f"token_keep_ratios[{layer}] must be {expected}, got {self.token_keep_ratios[layer]!r}"
                )

    @property
    def is_pruned(self) -> bool:
        """Whether the stored plan removes any token."""
        return self.token_keep_ratios is not None and any(ratio < 1.0 for ratio in self.token_keep_ratios)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


TopBertConfig.register_for_auto_class("AutoConfig")

__all__ = ["TopBertConfig"]
