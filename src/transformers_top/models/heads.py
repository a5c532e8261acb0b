"""The heads of the ToP models that every encoder family shares: sequence classification and extractive question
answering. Each family's head class mixes one in and gives the family-specific part (`classify`, `qa_outputs`)."""

from __future__ import annotations

import torch
from torch import nn

from .modeling_outputs import TopModelOutput, TopQuestionAnsweringModelOutput, TopSequenceClassifierOutput
from .pipeline_question_answering import custom_pipelines_entry


class SequenceClassifierMixin:
    """
    The forward pass of a ToP sequence classifier, mixed into each family's head class, which gives `classify`: the
    logits from the base model's output (BERT: a linear layer on the pooled [CLS]; RoBERTa: its classification head
    on `<s>`). The base model runs with `restore_pruned_tokens=False`: the heads read [CLS] alone.
    """

    def classify(self, outputs: TopModelOutput) -> torch.Tensor:
        raise NotImplementedError

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
            labels (`torch.LongTensor` of shape `(batch_size,)`, *optional*): as in transformers' sequence
                classifiers (regression when `num_labels == 1`).
            importance_layers (`list[int]`, *optional*): layers whose token importance to return.
            output_kept_tokens (`bool`, *optional*): return the tokens entering each layer, per row.

        The other arguments are those of the base model's forward ([`TokenPrunedEncoderMixin.forward`]).
        """
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        outputs = self.base_model(
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
        logits = self.classify(outputs)
        loss = sequence_classification_loss(self.config, logits, labels) if labels is not None else None
        result = TopSequenceClassifierOutput(
            loss=loss,
            logits=logits,
            hidden_states=outputs.hidden_states,
            token_importance=outputs.token_importance,
            kept_tokens=outputs.kept_tokens,
        )
        return result if return_dict else result.to_tuple()


class QuestionAnsweringMixin:
    """
    The forward pass of a ToP extractive question-answering model, mixed into each family's head class, which defines
    `qa_outputs` (a linear layer to the start and end logits, as transformers' `*ForQuestionAnswering`). The base model
    runs with `restore_pruned_tokens=True`: the span logits cover every input position, a pruned token's from the
    hidden state it carried when it was dropped. Question and context tokens alike may be pruned (see
    `docs/method.md`, "Question answering"); [CLS], whose logits score the null answer, never is.
    """

    qa_outputs: nn.Linear

    def save_pretrained(self, save_directory, *args, **kwargs):
        """
        Save as transformers does, listing [`TopQuestionAnsweringPipeline`] in `config.custom_pipelines` (its file is
        copied with the model code), so `pipeline("question-answering", model=...)` finds it.
        """
        self.config.custom_pipelines = custom_pipelines_entry()
        return super().save_pretrained(save_directory, *args, **kwargs)

    def check_span_head(self) -> None:
        """Called by the family's `__init__`: the span head has two outputs, the start and the end logits."""
        if self.config.num_labels != 2:
            raise ValueError(
                f"a question-answering model has num_labels=2 (start and end logits), got {self.config.num_labels}"
            )

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        start_positions: torch.Tensor | None = None,
        end_positions: torch.Tensor | None = None,
        output_attentions: bool | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        importance_layers: list[int] | tuple[int, ...] | None = None,
        output_kept_tokens: bool = False,
    ) -> TopQuestionAnsweringModelOutput | tuple:
        r"""
        Args:
            start_positions, end_positions (`torch.LongTensor` of shape `(batch_size,)`, *optional*): the answer
                span's first and last token, for the loss (positions outside the sequence are ignored, as in
                transformers' question-answering models).
            importance_layers (`list[int]`, *optional*): layers whose token importance to return.
            output_kept_tokens (`bool`, *optional*): return the tokens entering each layer, per row.

        The other arguments are those of the base model's forward ([`TokenPrunedEncoderMixin.forward`]).
        """
        if (start_positions is None) != (end_positions is None):
            raise ValueError("start_positions and end_positions go together: pass both or neither")
        return_dict = return_dict if return_dict is not None else self.config.return_dict
        outputs = self.base_model(
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
            restore_pruned_tokens=True,
        )
        start_logits, end_logits = self.qa_outputs(outputs.last_hidden_state).split(1, dim=-1)
        start_logits = start_logits.squeeze(-1).contiguous()
        end_logits = end_logits.squeeze(-1).contiguous()
        loss = None
        if start_positions is not None:
            loss = span_loss(start_logits, end_logits, start_positions, end_positions)
        result = TopQuestionAnsweringModelOutput(
            loss=loss,
            start_logits=start_logits,
            end_logits=end_logits,
            hidden_states=outputs.hidden_states,
            token_importance=outputs.token_importance,
            kept_tokens=outputs.kept_tokens,
        )
        return result if return_dict else result.to_tuple()


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


def span_loss(
    start_logits: torch.Tensor, end_logits: torch.Tensor, start_positions: torch.Tensor, end_positions: torch.Tensor
) -> torch.Tensor:
    """
    The loss of transformers' question-answering models: the mean of the start and end cross-entropies, positions
    outside the sequence ignored.
    """
    length = start_logits.shape[1]
    start_positions = start_positions.reshape(-1).clamp(0, length)
    end_positions = end_positions.reshape(-1).clamp(0, length)
    start_loss = nn.functional.cross_entropy(start_logits, start_positions, ignore_index=length)
    end_loss = nn.functional.cross_entropy(end_logits, end_positions, ignore_index=length)
    return (start_loss + end_loss) / 2


__all__ = ["QuestionAnsweringMixin", "SequenceClassifierMixin", "sequence_classification_loss", "span_loss"]
