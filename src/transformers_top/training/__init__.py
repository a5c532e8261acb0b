"""Training a pruned student: the arguments, the trainer and its distillation losses."""

from .losses import (
    RANKING_LOSSES,
    lagrangian_term,
    logit_distillation_loss,
    rank_distillation_loss,
    span_distillation_loss,
    teacher_answer_span_scores,
)
from .trainer import TopTrainer, TrainingDivergedError
from .training_args import TopTrainingArguments

__all__ = [
    "RANKING_LOSSES",
    "TopTrainer",
    "TopTrainingArguments",
    "TrainingDivergedError",
    "lagrangian_term",
    "logit_distillation_loss",
    "rank_distillation_loss",
    "span_distillation_loss",
    "teacher_answer_span_scores",
]
