"""PyTorch BERT with ToP token pruning: tokens are physically removed at inference.

Built from transformers' own BERT blocks (`BertEmbeddings`, `BertEncoder`, `BertPooler`), so every BERT checkpoint
loads under the same parameter names; the pruning itself is the family-neutral `pruned_encoder.py`. This file and
the ones it imports are copied next to `config.json` by `save_pretrained`, so they import each other with
single-dot relative imports only.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn
from transformers.models.bert.modeling_bert import BertEmbeddings, BertEncoder, BertPooler, BertPreTrainedModel

from .configuration_top_bert import TopBertConfig
from .heads import QuestionAnsweringMixin, SequenceClassifierMixin
from .modeling_outputs import TopModelOutput, TopSequenceClassifierOutput
from .pruned_encoder import TokenPrunedEncoderMixin, TokenPruningPreTrainedMixin

#: The output of [`TopBertModel`] (the family-neutral [`TopModelOutput`]).
TopBertModelOutput = TopModelOutput


class TopBertPreTrainedModel(TokenPruningPreTrainedMixin, BertPreTrainedModel):
    """Base class of the ToP BERT models: weight initialisation (mask parameters included) and the full `auto_map`."""

    config_class = TopBertConfig
    config: TopBertConfig
    base_model_prefix = "bert"
    auto_map: ClassVar[dict[str, str]] = {
        "AutoConfig": "configuration_top_bert.TopBertConfig",
        "AutoModel": "modeling_top_bert.TopBertModel",
        "AutoModelForSequenceClassification": "modeling_top_bert.TopBertForSequenceClassification",
        "AutoModelForQuestionAnswering": "modeling_top_bert.TopBertForQuestionAnswering",
    }


class TopBertModel(TokenPrunedEncoderMixin, TopBertPreTrainedModel):
    """
    BERT encoder that prunes tokens layer by layer.

    - No plan and no masks: exactly transformers' `BertModel`.
    - A plan (`config.token_keep_ratios`, `config.token_keep_bins`), or trainable masks in eval mode: at each prune
      layer the least important tokens are gathered out of the sequence, so later layers run on fewer tokens.
    - Trainable masks in training mode: a fresh hard-concrete sample per forward multiplies each prune layer's input
      (soft masking, the sequence keeps its length) so the masks can be learnt; once `token_masks.plan_frozen` is
      set, training prunes with the masks' deterministic plan, as evaluation does.

    Args:
        config ([`TopBertConfig`]): model configuration.
        add_pooling_layer (`bool`, *optional*, defaults to `True`): whether to add the [CLS] pooler.
    """

    _no_split_modules = ("BertEmbeddings", "BertLayer")
    embeddings_class = BertEmbeddings
    encoder_class = BertEncoder
    pooler_class = BertPooler


class TopBertForSequenceClassification(SequenceClassifierMixin, TopBertPreTrainedModel):
    """
    [`TopBertModel`] with a linear head on the pooled [CLS] state, weight-compatible with transformers'
    `BertForSequenceClassification`.

    Args:
        config ([`TopBertConfig`]): model configuration (`num_labels`, `problem_type` as in BERT).
    """

    def __init__(self, config: TopBertConfig) -> None:
        super().__init__(config)
        self.num_labels = config.num_labels
        self.bert = TopBertModel(config)
        dropout = config.classifier_dropout if config.classifier_dropout is not None else config.hidden_dropout_prob
        self.dropout = nn.Dropout(dropout)
        self.classifier = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()

    def classify(self, outputs: TopModelOutput) -> torch.Tensor:
        """BERT's head: a linear layer on the pooled [CLS] state."""
        return self.classifier(self.dropout(outputs.pooler_output))


class TopBertForQuestionAnswering(QuestionAnsweringMixin, TopBertPreTrainedModel):
    """
    [`TopBertModel`] with a linear span head (start and end logits at every position), weight-compatible with
    transformers' `BertForQuestionAnswering`.

    Args:
        config ([`TopBertConfig`]): model configuration (`num_labels` must be 2).
    """

    def __init__(self, config: TopBertConfig) -> None:
        super().__init__(config)
        self.check_span_head()
        self.num_labels = config.num_labels
        self.bert = TopBertModel(config, add_pooling_layer=False)
        self.qa_outputs = nn.Linear(config.hidden_size, config.num_labels)
        self.post_init()


TopBertModel.register_for_auto_class("AutoModel")
TopBertForSequenceClassification.register_for_auto_class("AutoModelForSequenceClassification")
TopBertForQuestionAnswering.register_for_auto_class("AutoModelForQuestionAnswering")

__all__ = [
    "TopBertForQuestionAnswering",
    "TopBertForSequenceClassification",
    "TopBertModel",
    "TopBertModelOutput",
    "TopBertPreTrainedModel",
    "TopSequenceClassifierOutput",
]
