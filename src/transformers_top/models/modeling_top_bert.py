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
from .modeling_outputs import TopModelOutput, TopSequenceClassifierOutput, sequence_classification_loss
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

    def __init__(self, config: TopBertConfig, add_pooling_layer: bool = True) -> None:
        super().__init__(config)
        if config.is_decoder or config.add_cross_attention:
            raise ValueError("TopBertModel is an encoder: is_decoder and add_cross_attention must be False")
        self.embeddings = BertEmbeddings(config)
        self.encoder = BertEncoder(config)
        self.pooler = BertPooler(config) if add_pooling_layer else None
        self.init_token_masks()
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embeddings.word_embeddings

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.embeddings.word_embeddings = value


class TopBertForSequenceClassification(TopBertPreTrainedModel):
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

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        importance_layers: list[int] | tuple[int, ...] | None = None,
        output_kept_tokens: bool = False,
    ) -> TopSequenceClassifierOutput | tuple:
        r"""
        Args:
            labels (`torch.LongTensor` of shape `(batch_size,)`, *optional*): as in `BertForSequenceClassification`
                (regression when `num_labels == 1`).
            importance_layers (`list[int]`, *optional*): layers whose token importance to return.
            output_kept_tokens (`bool`, *optional*): return the tokens entering each layer, per row.

        The other arguments are those of [`TopBertModel.forward`].
        """
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        outputs = self.bert(
            input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            position_ids=position_ids,
            inputs_embeds=inputs_embeds,
            output_attentions=output_attentions,
            output_hidden_states=output_hidden_states,
            return_dict=True,
            importance_layers=importance_layers,
            output_kept_tokens=output_kept_tokens,
            restore_pruned_tokens=False,
        )
        logits = self.classifier(self.dropout(outputs.pooler_output))
        loss = sequence_classification_loss(self.config, logits, labels) if labels is not None else None
        result = TopSequenceClassifierOutput(
            loss=loss,
            logits=logits,
            hidden_states=outputs.hidden_states,
            token_importance=outputs.token_importance,
            kept_tokens=outputs.kept_tokens,
        )
        return result if return_dict else result.to_tuple()


TopBertModel.register_for_auto_class("AutoModel")
TopBertForSequenceClassification.register_for_auto_class("AutoModelForSequenceClassification")

__all__ = [
    "TopBertForSequenceClassification",
    "TopBertModel",
    "TopBertModelOutput",
    "TopBertPreTrainedModel",
    "TopSequenceClassifierOutput",
]
