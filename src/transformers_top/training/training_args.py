"""Training arguments of [`TopTrainer`]."""

from __future__ import annotations

from dataclasses import dataclass, field

from transformers import TrainingArguments

from ..models.hard_concrete import BIN_ORDERS, FREEZE_RULES
from ..models.pruning_config import is_int, is_number
from ..models.token_tracking import MASKED_TOKEN_OUTPUTS
from .losses import RANKING_LOSSES, RANKING_PAIRS, RANKING_SCHEDULES, RANKING_SCORES, RANKING_TARGETS

#: Arguments written into the student's configuration when set (`None` keeps the config's value), with their choices.
STUDENT_CONFIG_CHOICES = {
    "bin_order": BIN_ORDERS,
    "plan_freeze_rule": FREEZE_RULES,
    "masked_token_output": MASKED_TOKEN_OUTPUTS,
}

#: Share of the steps trained on the frozen plan when `frozen_plan_ratio` is left unset.
DEFAULT_FROZEN_PLAN_RATIO = 0.3


@dataclass
class TopTrainingArguments(TrainingArguments):
    r"""
    [`~transformers.TrainingArguments`] plus the ToP pruning recipe. The defaults are the recipe the benchmarks
    found best for runs of a few hundred steps on a CPU (`docs/training.md`, "The default recipe"): a constant mask
    learning rate of 0.1 and multiplier learning rate of 0.05, the target reached at half of the run, the last 30%
    trained on the frozen plan, 25 rank bins and a model learning rate of 3e-5.

    Args:
        learning_rate (`float`, defaults to 3e-5):
            As in `TrainingArguments` (whose default is 5e-5): the learning rate of the model's weights.
        target_sparsity (`float`, defaults to 0.5):
            Fraction of the encoder FLOPs to remove, measured on real (non-padding) tokens; in `[0, 1)`.
        target_sparsity_tolerance (`float`, defaults to 0.01):
            How far below `target_sparsity` an evaluation's realized sparsity may be and still become the best model
            (`load_best_model_at_end`), and that a run may end below it without a warning. 0 keeps only models that
            reach the FLOPs budget itself.
        sparsity_warmup_steps (`int`, defaults to 0):
            Optimizer steps over which the sparsity target ramps linearly from 0 to `target_sparsity`. When 0,
            `sparsity_warmup_ratio` of the total steps is used instead.
        sparsity_warmup_ratio (`float`, defaults to 0.5):
            Fraction of the total training steps used for the ramp when `sparsity_warmup_steps` is 0.
        frozen_plan_steps (`int`, defaults to 0):
            Final optimizer steps trained with the plan frozen: the masks' deterministic plan drops tokens in
            training as at inference, the masks and multipliers stop moving and the loss is the logit distillation
            alone. Closes the gap between the soft-masked training forward and the pruned inference forward. When 0,
            `frozen_plan_ratio` of the total steps is used instead. Not in the original method; see
            `docs/method.md`.
        frozen_plan_ratio (`float`, *optional*):
            Fraction of the total training steps trained with the plan frozen when `frozen_plan_steps` is 0 (0: the
            masks are learnt until the end, as in the original method). Unset, it is 0.3 (`DEFAULT_FROZEN_PLAN_RATIO`)
            but the frozen phase never starts before the sparsity warm-up has ended; a value you set must leave the
            warm-up before the freeze, or training refuses to start.
        mask_learning_rate (`float`, defaults to 0.1):
            Constant learning rate of the mask log-alphas (AdamW, no weight decay).
        lagrangian_learning_rate (`float`, defaults to 0.05):
            Constant learning rate of the two Lagrange multipliers (AdamW, gradient ascent).
        lagrangian_anti_windup (`bool`, defaults to `True`):
            Let the linear multiplier `lambda_1` push the expected sparsity only towards the current target: while its
            sign would push it further past (or further short of) the target, its term exerts no force on the masks,
            though `lambda_1` itself keeps its gradient-ascent update and unwinds. Not in the original method (`False`
            gives the method's plain Lagrangian); see `docs/method.md`.
        distill_temperature (`float`, defaults to 2.0):
            Temperature `tau` of the logit distillation `KL(softmax(z_T / tau) || softmax(z_S / tau)) * tau^2`.
        label_loss_weight (`float`, defaults to 0.0):
            Weight `w` of the student's own loss on the labels in the task loss, `(1 - w) * distillation + w * label
            loss` (cross-entropy; the start and end cross-entropies for question answering). 0 is the method's
            distillation alone; the training batches must carry labels when it is above 0.
        rank_distill_alpha (`float`, defaults to 1e-2):
            Weight `alpha` of the ranking distillation (over time: `rank_distill_schedule`). 0 disables it.
        rank_distill_schedule (`str`, defaults to `"decay"`):
            How the ranking weight moves: `"decay"` (the method: `alpha * max(0.01, 1 - warm-up progress)`) or
            `"constant"` (`alpha` throughout). Either way the term stops while the plan is frozen.
        rank_distill_topk (`int`, defaults to 20):
            Number of the teacher's most important tokens whose order the student layers learn.
        rank_distill_layers (`list[int]`, *optional*):
            Student layers whose token importance is distilled. Defaults to the layers whose importance feeds the
            first `ceil(num_layers / 4)` prune layers (`prune_layers[i] - 1`): layers 1, 2, 3 of 12 with the default
            prune layers, the first quarter after layer 0, as the authors distil.
        rank_distill_loss (`str`, defaults to `"arp2"`):
            `"arp2"` (the authors' LambdaLoss ARP-2 variant) or `"ndcg"` (the NDCG-weighted LambdaLoss).
        rank_distill_score (`str`, defaults to `"importance"`):
            The student scores the ranking loss compares: `"importance"` (the method) or `"log"`, its logarithm,
            whose pairwise differences do not shrink with the input length (see `docs/method.md`).
        rank_distill_pairs (`str`, defaults to `"top_k"`):
            The token pairs the ranking loss compares: `"top_k"` (the method: pairs within the teacher's top-k, which
            orders them among themselves) or `"all"` (also each top-k token against every other real token, at
            relevance 0, so the loss lifts the top-k above the rest; the same as `"top_k"` on inputs of at most
            `rank_distill_topk + 1` tokens).
        rank_distill_target (`str`, defaults to `"importance"`):
            The teacher's scores the student layers learn to rank by: `"importance"` (the method: the teacher's
            last-layer importance) or `"answer_span"` (question answering only: how likely each token lies inside the
            teacher's answer, `P(start <= i) * P(end >= i)` from its span logits; see `docs/method.md`).
        freeze_embeddings (`bool`, defaults to `True`):
            Keep the student's embedding layer frozen.
        num_bins (`int`, defaults to 25):
            Rank bins per prune layer, written into the student's configuration when its masks are added.
        bin_order (`str`, *optional*):
            How the rank bins take their log-alphas, written into the student's configuration when its masks are
            added: `"free"` (the method: each bin its own, so the trained plan may keep any set of bins) or
            `"sorted"` (decreasing along the ranking, so the plan always keeps a prefix of it). Default: the
            student configuration's (`"free"`); a student that already holds masks must have the same.
        prune_layers (`list[int]`, *optional*):
            Layers that may prune their input. Defaults to `2 .. num_layers - 1`.
        plan_freeze_rule (`str`, *optional*):
            How the trained masks become the deterministic plan (evaluations, the frozen-plan steps, `save_model`):
            `"threshold"` (the method's: gate on iff `P(g > 0) >= 0.5`) or `"expected"` (each location keeps its
            expected keep ratio, so the plan's FLOPs match the constraint's expected sparsity). Written into the
            student's config; `None` keeps the config's value (`"threshold"` unless set).
        masked_token_output (`str`, *optional*):
            A masked token's output while the soft masks train, in question-answering students (whose span logits
            cover every position): `"last_layer"` (the method's: its scaled state runs on to the last layer) or
            `"carried"` (the state it entered the masking decision with, weighted by the keep value it lost, as
            inference carries a pruned token's state over). Written into the student's config; `None` keeps the
            config's value (`"last_layer"` unless set).
        flops_padded_length (`int`, *optional*):
            Sequence length of the padded FLOPs convention reported at evaluation (the paper's: SST-2 64, MRPC 128,
            RTE 256, long text 512). Defaults to the longest evaluation sequence.
    """

    learning_rate: float = field(default=3e-5, metadata={"help": "The initial learning rate of the model's weights."})
    target_sparsity: float = field(
        default=0.5, metadata={"help": "Fraction of encoder FLOPs to remove on real tokens, in [0, 1)."}
    )
    target_sparsity_tolerance: float = field(
        default=0.01,
        metadata={"help": "How far below target_sparsity an evaluation may be and still become the best model."},
    )
    sparsity_warmup_steps: int = field(
        default=0,
        metadata={"help": "Steps over which the sparsity target ramps from 0 (0: use sparsity_warmup_ratio)."},
    )
    sparsity_warmup_ratio: float = field(
        default=0.5, metadata={"help": "Fraction of total steps for the sparsity ramp when sparsity_warmup_steps=0."}
    )
    frozen_plan_steps: int = field(
        default=0,
        metadata={"help": "Final steps trained with the frozen plan, tokens dropped (0: use frozen_plan_ratio)."},
    )
    frozen_plan_ratio: float | None = field(
        default=None,
        metadata={
            "help": "Fraction of total steps trained with the frozen plan when frozen_plan_steps=0 (default: 0.3, "
            "never starting before the sparsity warm-up ends)."
        },
    )
    mask_learning_rate: float = field(default=0.1, metadata={"help": "Constant learning rate of mask log-alphas."})
    lagrangian_learning_rate: float = field(
        default=0.05, metadata={"help": "Constant learning rate of the Lagrange multipliers (gradient ascent)."}
    )
    lagrangian_anti_windup: bool = field(
        default=True,
        metadata={
            "help": "Let lambda_1 push the expected sparsity only towards the target (no overshoot from windup)."
        },
    )
    distill_temperature: float = field(default=2.0, metadata={"help": "Temperature of the logit distillation."})
    label_loss_weight: float = field(
        default=0.0,
        metadata={"help": "Weight w of the labels' loss: (1 - w) * distillation + w * label loss (0: the method)."},
    )
    rank_distill_alpha: float = field(
        default=1e-2, metadata={"help": "Weight of the ranking distillation loss (0 disables it)."}
    )
    rank_distill_schedule: str = field(
        default="decay",
        metadata={"help": "Ranking weight over time: 'decay' (the method's: with the warm-up) or 'constant'."},
    )
    rank_distill_topk: int = field(default=20, metadata={"help": "Teacher's top-k tokens used for ranking."})
    rank_distill_layers: list[int] | None = field(
        default=None,
        metadata={
            "help": "Student layers to rank-distill (default: those scoring the first ceil(L / 4) prune layers)."
        },
    )
    rank_distill_loss: str = field(
        default="arp2", metadata={"help": "Ranking loss: 'arp2' (authors') or 'ndcg' (NDCG-weighted LambdaLoss)."}
    )
    rank_distill_score: str = field(
        default="importance",
        metadata={"help": "Scores the ranking loss compares: 'importance' (the method's) or 'log' (log-importance)."},
    )
    rank_distill_pairs: str = field(
        default="top_k",
        metadata={"help": "Pairs the ranking loss compares: 'top_k' (the method's) or 'all' (top-k vs the rest too)."},
    )
    rank_distill_target: str = field(
        default="importance",
        metadata={
            "help": "Teacher scores the ranking loss follows: 'importance' (the method's: its last layer's) or "
            "'answer_span' (question answering: how likely each token is inside the teacher's answer)."
        },
    )
    freeze_embeddings: bool = field(default=True, metadata={"help": "Freeze the student's embeddings."})
    num_bins: int = field(default=25, metadata={"help": "Rank bins per prune layer."})
    bin_order: str | None = field(
        default=None,
        metadata={
            "help": "How rank bins take their log-alphas: 'free' (the method's) or 'sorted' (the plan keeps a prefix "
            "of the ranking). Default: the student config's ('free').",
        },
    )
    prune_layers: list[int] | None = field(
        default=None, metadata={"help": "Layers that may prune their input (default: 2 .. num_layers - 1)."}
    )
    plan_freeze_rule: str | None = field(
        default=None,
        metadata={
            "help": "How trained masks become the plan: 'threshold' (the method's) or 'expected' (FLOPs match the "
            "expected sparsity). Default: the student config's ('threshold').",
        },
    )
    masked_token_output: str | None = field(
        default=None,
        metadata={
            "help": "A masked token's output while soft masks train (question answering): 'last_layer' (the "
            "method's) or 'carried' (its state when masked, as inference carries it). Default: the student config's "
            "('last_layer').",
        },
    )
    flops_padded_length: int | None = field(
        default=None,
        metadata={"help": "Length of the padded FLOPs convention at evaluation (default: longest eval sequence)."},
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_range("target_sparsity", self.target_sparsity, 0.0, 1.0, high_inclusive=False)
        _check_range("target_sparsity_tolerance", self.target_sparsity_tolerance, 0.0, 1.0, high_inclusive=False)
        _check_int("sparsity_warmup_steps", self.sparsity_warmup_steps, minimum=0)
        _check_range("sparsity_warmup_ratio", self.sparsity_warmup_ratio, 0.0, 1.0)
        _check_int("frozen_plan_steps", self.frozen_plan_steps, minimum=0)
        if self.frozen_plan_ratio is not None:
            _check_range("frozen_plan_ratio", self.frozen_plan_ratio, 0.0, 1.0, high_inclusive=False)
        for name in ("mask_learning_rate", "lagrangian_learning_rate", "distill_temperature"):
            value = getattr(self, name)
            if not is_number(value) or not value > 0:
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        _check_range("label_loss_weight", self.label_loss_weight, 0.0, 1.0)
        alpha = self.rank_distill_alpha
        if not is_number(alpha) or not alpha >= 0:
            raise ValueError(f"rank_distill_alpha must be a number >= 0, got {alpha!r}")
        if self.rank_distill_schedule not in RANKING_SCHEDULES:
            raise ValueError(
                f"rank_distill_schedule must be one of {RANKING_SCHEDULES}, got {self.rank_distill_schedule!r}"
            )
        _check_int("rank_distill_topk", self.rank_distill_topk, minimum=2)
        if self.rank_distill_score not in RANKING_SCORES:
            raise ValueError(f"rank_distill_score must be one of {RANKING_SCORES}, got {self.rank_distill_score!r}")
        if self.rank_distill_pairs not in RANKING_PAIRS:
            raise ValueError(f"rank_distill_pairs must be one of {RANKING_PAIRS}, got {self.rank_distill_pairs!r}")
        if self.rank_distill_target not in RANKING_TARGETS:
            raise ValueError(f"rank_distill_target must be one of {RANKING_TARGETS}, got {self.rank_distill_target!r}")
        if self.rank_distill_loss not in RANKING_LOSSES:
            raise ValueError(
                f"rank_distill_loss must be one of {tuple(RANKING_LOSSES)}, got {self.rank_distill_loss!r}"
            )
        for name in ("freeze_embeddings", "lagrangian_anti_windup"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be a bool, got {getattr(self, name)!r}")
        _check_int("num_bins", self.num_bins, minimum=1)
        for name in ("rank_distill_layers", "prune_layers"):
            layers = getattr(self, name)
            if layers is not None and (
                not isinstance(layers, (list, tuple))
                or not layers
                or not all(is_int(layer) and layer >= 0 for layer in layers)
            ):
                raise ValueError(f"{name} must be a non-empty list of layer indices, got {layers!r}")
        for name, choices in STUDENT_CONFIG_CHOICES.items():
            value = getattr(self, name)
            if value is not None and value not in choices:
                raise ValueError(f"{name} must be one of {choices} or None, got {value!r}")
        if self.flops_padded_length is not None:
            _check_int("flops_padded_length", self.flops_padded_length, minimum=1)


def _check_int(name: str, value: object, minimum: int) -> None:
    if not is_int(value) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def _check_range(name: str, value: object, low: float, high: float, high_inclusive: bool = True) -> None:
    in_range = is_number(value) and low <= value
    in_range = in_range and (value <= high if high_inclusive else value < high)
    if not in_range:
        interval = f"[{low}, {high}]" if high_inclusive else f"[{low}, {high})"
        raise ValueError(f"{name} must be a number in {interval}, got {value!r}")


__all__ = ["TopTrainingArguments"]
