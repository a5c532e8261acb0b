"""Configuration of the token-pruned BERT models (ToP)."""

from __future__ import annotations

from typing import Any, ClassVar

from transformers import BertConfig

from .pruning_config import TokenPruningConfigMixin


class TopBertConfig(TokenPruningConfigMixin, BertConfig):
    r"""
    Configuration of [`TopBertModel`] and its heads: a BERT configuration plus a token pruning plan (ToP,
    "Constraint-aware and Ranking-distilled Token Pruning", KDD 2023).

    Every field of [`~transformers.BertConfig`] is accepted unchanged, so any BERT checkpoint loads into this
    configuration (its `model_type` becomes `"top_bert"`). The pruning fields (`prune_layers`, `num_bins`, `bin_order`,
    `token_keep_ratios`, `token_keep_bins`, `plan_freeze_rule`, `token_ranking`, `protected_token_type`,
    `masked_token_output`, `pruning_masks`) are those of
    [`~transformers_top.models.pruning_config.TokenPruningConfigMixin`].

    Example:

    ```python
    >>> from transformers_top import TopBertConfig

    >>> config = TopBertConfig(num_hidden_layers=4, token_keep_ratios=[1.0, 1.0, 0.5, 0.5])
    >>> config.prune_layers
    [2, 3]
    ```
    """

    model_type = "top_bert"
    source_model_types: ClassVar[tuple[str, ...]] = ("bert",)

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
        return cls(**(bert_config.to_dict() | overrides))


TopBertConfig.register_for_auto_class("AutoConfig")

__all__ = ["TopBertConfig"]
