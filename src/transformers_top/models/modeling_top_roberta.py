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
from .modeling_outputs import TopSequenceClassifierOutput, sequence_classification_loss
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

    def __init__(self, config: TopRobertaConfig, add_pooling_layer: bool = True) -> None:
        super().__init__(config)
        if config.is_decoder or config.add_cross_attention:
            raise ValueError("TopRobertaModel is an encoder: is_decoder and add_cross_attention must be False")
        self.embeddings = RobertaEmbeddings(config)
        self.encoder = RobertaEncoder(config)
        self.pooler = RobertaPooler(config) if add_pooling_layer else None
        self.init_token_masks()
        self.post_init()

    def get_input_embeddings(self) -> nn.Embedding:
        return self.embeddings.word_embeddings

    def set_input_embeddings(self, value: nn.Embedding) -> None:
        self.embeddings.word_embeddings = value

    def max_input_length(self) -> int:
        """RoBERTa's positions start after the padding index: `max_position_embeddings - pad_token_id - 1` tokens."""
        return self.config.max_position_embeddings - self.config.pad_token_id - 1


class TopRobertaForSequenceClassification(TopRobertaPreTrainedModel):
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
            labels (`torch.LongTensor` of shape `(batch_size,)`, *optional*): as in `RobertaForSequenceClassification`
                (regression when `num_labels == 1`).
            importance_layers (`list[int]`, *optional*): layers whose token importance to return.
            output_kept_tokens (`bool`, *optional*): return the tokens entering each layer, per row.

        The other arguments are those of [`TopRobertaModel.forward`].
        """
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        outputs = self.roberta(
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
            restore_pruned_tokens=False,  # the head reads <s> alone, position 0 of the shortened sequence
        )
        logits = self.classifier(outputs.last_hidden_state)
        loss = sequence_classification_loss(self.config, logits, labels) if labels is not None else None
        result = TopSequenceClassifierOutput(
            loss=loss,
            logits=logits,
            hidden_states=outputs.hidden_states,
            token_importance=outputs.token_importance,
            kept_tokens=outputs.kept_tokens,
        )
        return result if return_dict else result.to_tuple()


TopRobertaModel.register_for_auto_class("AutoModel")
TopRobertaForSequenceClassification.register_for_auto_class("AutoModelForSequenceClassification")

__all__ = [
    "TopRobertaForSequenceClassification",
    "TopRobertaModel",
    "TopRobertaPreTrainedModel",
]
