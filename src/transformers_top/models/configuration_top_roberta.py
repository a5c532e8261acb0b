"""Configuration of the token-pruned RoBERTa and XLM-RoBERTa models (ToP)."""

from __future__ import annotations

from typing import ClassVar

from transformers import RobertaConfig

from .pruning_config import TokenPruningConfigMixin


class TopRobertaConfig(TokenPruningConfigMixin, RobertaConfig):
    r"""
    Configuration of [`TopRobertaModel`] and its heads: a RoBERTa configuration plus a token pruning plan. RoBERTa and
    XLM-RoBERTa checkpoints both load into it (their architectures are the same; XLM-R only has a larger vocabulary),
    and their `model_type` becomes `"top_roberta"`. The pruning fields are those of
    [`~transformers_top.models.pruning_config.TokenPruningConfigMixin`]; `<s>` (position 0) plays the part of
    BERT's [CLS] and is never pruned.

    Example:

    ```python
    >>> from transformers_top import TopRobertaConfig

    >>> config = TopRobertaConfig(num_hidden_layers=4, token_keep_ratios=[1.0, 1.0, 0.5, 0.5])
    >>> config.prune_layers
    [2, 3]
    ```
    """

    model_type = "top_roberta"
    source_model_types: ClassVar[tuple[str, ...]] = ("roberta", "xlm-roberta")


TopRobertaConfig.register_for_auto_class("AutoConfig")

__all__ = ["TopRobertaConfig"]
