"""The outputs of the ToP models, and what their heads share (family-neutral)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from transformers.modeling_outputs import BaseModelOutputWithPooling, SequenceClassifierOutput


@dataclass
class TopModelOutput(BaseModelOutputWithPooling):
    """
    Output of a ToP base model (e.g. [`TopBertModel`]).

    Args:
        last_hidden_state (`torch.FloatTensor` of shape `(batch_size, sequence_length, hidden_size)`):
            Hidden states of the last layer. With pruning, a pruned token carries its hidden state from the last
            layer it fully went through (unless `restore_pruned_tokens=False`, which returns the shortened sequence).
        pooler_output (`torch.FloatTensor` of shape `(batch_size, hidden_size)`): the pooled [CLS] state.
        hidden_states (`tuple(torch.FloatTensor)`, *optional*): embedding output and each layer's output, at the
            length each layer really ran on.
        token_importance (`tuple(torch.FloatTensor | None)`, *optional*): one entry per layer, the token importance
            of the layers listed in `importance_layers` (shape `(batch_size, length at that layer)`), `None` elsewhere.
    """

    token_importance: tuple[torch.Tensor | None, ...] | None = None


@dataclass
class TopSequenceClassifierOutput(SequenceClassifierOutput):
    """`SequenceClassifierOutput` plus `token_importance` (see [`TopModelOutput`])."""

    token_importance: tuple[torch.Tensor | None, ...] | None = None


def sequence_classification_loss(config, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The loss of transformers' sequence classifiers, by `config.problem_type` (inferred as they infer it)."""
    num_labels = config.num_labels
    if config.problem_type is None:
        if num_labels == 1:
            config.problem_type = "regression"
        elif labels.dtype in (torch.long, torch.int):
            config.problem_type = "single_label_classification"
        else:
            config.problem_type = "multi_label_classification"
    if config.problem_type == "regression":
        return nn.functional.mse_loss(logits.squeeze(-1), labels.squeeze(-1).to(logits.dtype))
    if config.problem_type == "single_label_classification":
        return nn.functional.cross_entropy(logits.view(-1, num_labels), labels.view(-1))
    return nn.functional.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))


__all__ = ["TopModelOutput", "TopSequenceClassifierOutput", "sequence_classification_loss"]
