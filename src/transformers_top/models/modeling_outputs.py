"""The outputs of the ToP models (family-neutral), and how a forward pass collects them."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers.modeling_outputs import (
    BaseModelOutputWithPooling,
    QuestionAnsweringModelOutput,
    SequenceClassifierOutput,
)


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
        kept_tokens (`torch.LongTensor` of shape `(batch_size, num_layers)`, *optional*): with
            `output_kept_tokens=True`, the number of real tokens ([CLS] included) entering each layer, per row.
    """

    token_importance: tuple[torch.Tensor | None, ...] | None = None
    kept_tokens: torch.Tensor | None = None


@dataclass
class TopSequenceClassifierOutput(SequenceClassifierOutput):
    """`SequenceClassifierOutput` plus `token_importance` and `kept_tokens` (see [`TopModelOutput`])."""

    token_importance: tuple[torch.Tensor | None, ...] | None = None
    kept_tokens: torch.Tensor | None = None


@dataclass
class TopQuestionAnsweringModelOutput(QuestionAnsweringModelOutput):
    """
    `QuestionAnsweringModelOutput` plus `token_importance` and `kept_tokens` (see [`TopModelOutput`]). The span logits
    cover every input position: a pruned token's logits come from the hidden state it carried when it was dropped.
    """

    token_importance: tuple[torch.Tensor | None, ...] | None = None
    kept_tokens: torch.Tensor | None = None


class OutputCollector:
    """What a forward returns besides the last hidden state: layer outputs, importances, kept token counts."""

    def __init__(
        self, embeddings, num_layers: int, importance_layers, output_hidden_states: bool, output_kept_tokens: bool
    ):
        self.num_layers = num_layers
        self.importance_layers = importance_layers
        self.hidden_states = (embeddings,) if output_hidden_states else None
        self.importances: dict[int, torch.Tensor] = {}
        self.kept_tokens: list[torch.Tensor] | None = [] if output_kept_tokens else None

    def wants_importance(self, layer: int) -> bool:
        return layer in self.importance_layers

    def importance(self, layer: int, value: torch.Tensor) -> None:
        if layer in self.importance_layers:
            self.importances[layer] = value

    def layer_input(self, alive: torch.Tensor) -> None:
        if self.kept_tokens is not None:
            self.kept_tokens.append(alive.sum(dim=1))

    def layer_output(self, hidden_states: torch.Tensor) -> None:
        if self.hidden_states is not None:
            self.hidden_states += (hidden_states,)

    def output(self, last_hidden_state: torch.Tensor) -> TopModelOutput:
        importances = None
        if self.importance_layers:
            importances = tuple(self.importances.get(layer) for layer in range(self.num_layers))
        return TopModelOutput(
            last_hidden_state=last_hidden_state,
            hidden_states=self.hidden_states,
            token_importance=importances,
            kept_tokens=None if self.kept_tokens is None else torch.stack(self.kept_tokens, dim=1),
        )


__all__ = ["OutputCollector", "TopModelOutput", "TopQuestionAnsweringModelOutput", "TopSequenceClassifierOutput"]
