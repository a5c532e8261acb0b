"""How a [`TopTrainer`] student and its teacher fit together: the teacher's checks, the rank-distilled layers."""

from __future__ import annotations

import math

from transformers import PreTrainedModel

from ..models.pruned_encoder import TokenPruningPreTrainedMixin


def resolve_rank_layers(layers: list[int] | None, config) -> list[int]:
    """
    `layers`, checked, or by default the layers whose importance feeds the first `ceil(L / 4)` pruning decisions
    (`prune_layers[i] - 1`): layers 1, 2, 3 of 12 with the default prune layers 2..11, as the authors distil.
    """
    num_layers = config.num_hidden_layers
    if layers is None:
        return [layer - 1 for layer in config.prune_layers[: math.ceil(num_layers / 4)]]
    if any(layer >= num_layers for layer in layers):
        raise ValueError(f"rank_distill_layers must be within 0..{num_layers - 1}, got {list(layers)}")
    return sorted(set(layers))


def check_teacher(teacher: PreTrainedModel | None, student: TokenPruningPreTrainedMixin) -> None:
    """The teacher must be an unpruned model of the student's family and head, with its vocabulary and labels."""
    if not isinstance(teacher, PreTrainedModel):
        raise ValueError(f"teacher_model must be a transformers PreTrainedModel, got {type(teacher).__name__}")
    if isinstance(teacher, TokenPruningPreTrainedMixin) and (teacher.config.is_pruned or teacher.config.pruning_masks):
        raise ValueError(
            "teacher_model is itself pruned (it has a token_keep_ratios plan or masks): use the dense model"
        )
    try:
        teacher.base_model.encoder.layer[-1].attention.self.query  # noqa: B018  (architecture probe)
    except AttributeError:
        raise ValueError(
            f"teacher_model must have a BERT architecture (encoder.layer[i].attention.self), got "
            f"{type(teacher).__name__}"
        ) from None
    family = (student.config.model_type, *type(student.config).source_model_types)
    if teacher.config.model_type not in family:
        raise ValueError(
            f"teacher_model is a {teacher.config.model_type!r} model, but a {type(student).__name__} student distils "
            f"{' or '.join(map(repr, family))} teachers: start the student from the teacher's own checkpoint"
        )
    student_answers, teacher_answers = hasattr(student, "qa_outputs"), hasattr(teacher, "qa_outputs")
    if student_answers != teacher_answers:
        kinds = {True: "a question-answering model", False: "not a question-answering model"}
        raise ValueError(
            f"the student ({type(student).__name__}) is {kinds[student_answers]} but the teacher "
            f"({type(teacher).__name__}) is {kinds[teacher_answers]}: both must have the same head"
        )
    for field in ("vocab_size", "num_labels", "type_vocab_size"):
        teacher_value, student_value = getattr(teacher.config, field), getattr(student.config, field)
        if teacher_value != student_value:
            raise ValueError(
                f"teacher and student differ in {field}: teacher {teacher_value}, student {student_value}"
            )


__all__ = ["check_teacher", "resolve_rank_layers"]
