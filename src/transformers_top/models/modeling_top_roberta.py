"""PyTorch RoBERTa and XLM-RoBERTa with ToP token pruning: tokens are physically removed at inference.

Built from transformers' own RoBERTa blocks (`RobertaEmbeddings`, `RobertaEncoder`, `RobertaPooler`,
`RobertaClassificationHead`), so every RoBERTa and XLM-R checkpoint loads under the same parameter names; the pruning
is the family-neutral `pruned_encoder.py`, shared with BERT. Hub-portable like `modeling_top_bert.py`.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn
from transformers.models.roberta.modeling_roberta import (
    RobertaClassificationHead,
    RobertaEmbeddings,
    RobertaEncoder,
    RobertaPooler,
    RobertaPreTrainedModel,
)

from .configuration_top_roberta import TopRobertaConfig
from .heads import QuestionAnsweringMixin, SequenceClassifierMixin
from .modeling_outputs import TopModelOutput
from .pruned_encoder import TokenPrunedEncoderMixin, TokenPruningPreTrainedMixin


class TopRobertaPreTrainedModel(TokenPruningPreTrainedMixin, RobertaPreTrainedModel):
    """Base class of the ToP RoBERTa models: weight initialisation (mask parameters included) and the `auto_map`."""

    config_class = TopRobertaConfig
    config: TopRobertaConfig
    base_model_prefix = "roberta"
    auto_map: ClassVar[dict[str, str]] = {
        "AutoConfig": "configuration_top_roberta.TopRobertaConfig",
        "AutoModel": "modeling_top_roberta.TopRobertaModel",
        "AutoModelForSequenceClassification": "modeling_top_roberta.TopRobertaForSequenceClassification",
        "AutoModelForQuestionAnswering": "modeling_top_roberta.TopRobertaForQuestionAnswering",
    }


class TopRobertaModel(TokenPrunedEncoderMixin, TopRobertaPreTrainedModel):
    """
    RoBERTa (or XLM-RoBERTa) encoder that prunes tokens layer by layer; without a plan and masks, exactly
    transformers' `RobertaModel`. See [`TopBertModel`] for the three ways it runs.

    Args:
        config ([`TopRobertaConfig`]): model configuration.
        add_pooling_layer (`bool`, *optional*, defaults to `True`): whether to add the `<s>` pooler.
    """

    _no_split_modules = ("RobertaEmbeddings", "RobertaLayer")
    embeddings_class = RobertaEmbeddings
    encoder_class = RobertaEncoder
    pooler_class = RobertaPooler

    def max_input_length(self) -> int:
        """RoBERTa's positions start after the padding index: `max_position_embeddings - pad_token_id - 1` tokens."""
        return self.config.max_position_embeddings - self.config.pad_token_id - 1


class TopRobertaForSequenceClassification(SequenceClassifierMixin, TopRobertaPreTrainedModel):
    """
    [`TopRobertaModel`] with transformers' RoBERTa classification head on the final `<s>` state, weight-compatible
    with `RobertaForSequenceClassification` and `XLMRobertaForSequenceClassification`.

    Args:
        config ([`TopRobertaConfig`]): model configuration (`num_labels`, `problem_type` as in RoBERTa).
    """

    def __init__(self, config: TopRobertaConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.roberta = TopRobertaModel(config, add_pooling_layer=False)
        self.classifier = RobertaClassificationHead(config)
        self.post_init()

    def classify(self, outputs: TopModelOutput) -> torch.Tensor:
        """RoBERTa's head on the final `<s>` state, position 0 of the shortened sequence."""
        return self.classifier(outputs.last_hidden_state)


class TopRobertaForQuestionAnswering(QuestionAnsweringMixin, TopRobertaPreTrainedModel):
    """
    [`TopRobertaModel`] with a linear span head (start and end logits at every position), weight-compatible with
    transformers' `RobertaForQuestionAnswering`.

    Args:
        config ([`TopRobertaConfig`]): model configuration (`num_labels` must be 2).
    """

    def __init__(self, config: TopRobertaConfig) -> None:
        super().__init__(config)
        self.check_span_head()
        self.num_labels = config.num_labels
        self.roberta = TopRobertaModel(config, add_pooling_layer=False)
        self.qa_outputs = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()


TopRobertaModel.register_for_auto_class("AutoModel")
TopRobertaForSequenceClassification.register_for_auto_class("AutoModelForSequenceClassification")
TopRobertaForQuestionAnswering.register_for_auto_class("AutoModelForQuestionAnswering")

__all__ = [
    "TopRobertaForQuestionAnswering",
    "TopRobertaForSequenceClassification",
    "TopRobertaModel",
    "TopRobertaPreTrainedModel",
]
