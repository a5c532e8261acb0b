"""The distillation losses of ToP: logit distillation, and ranking distillation of the teacher's final-layer token
importance into the student's early layers (see `docs/method.md`, "Ranking distillation")."""

from __future__ import annotations

import math

import torch
from torch import nn

from ..models.token_importance import additive_attention_mask, attention_probabilities, importance_from_probabilities


def logit_distillation_loss(
    student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float
) -> torch.Tensor:
    """
    Logit distillation: `KL(softmax(z_T / tau) || softmax(z_S / tau)) * tau^2`, batch mean.

    Args:
        student_logits, teacher_logits (`torch.Tensor` of shape `(batch_size, num_labels)`): the two models' logits.
        temperature (`float`): `tau`.
    """
    return (
        nn.functional.kl_div(
            nn.functional.log_softmax(student_logits / temperature, dim=-1),
            nn.functional.log_softmax(teacher_logits / temperature, dim=-1),
            reduction="batchmean",
            log_target=True,
        )
        * temperature**2
    )


def span_distillation_loss(student_outputs, teacher_outputs, alive: torch.Tensor, temperature: float) -> torch.Tensor:
    """
    Logit distillation of an extractive question-answering model: the KL divergence of the start distributions and
    that of the end distributions (each `KL * tau^2` over the real positions of each window, batch mean), averaged.

    Args:
        student_outputs, teacher_outputs: outputs with `start_logits` and `end_logits` of shape
            `(batch_size, sequence_length)`.
        alive (`torch.BoolTensor` of shape `(batch_size, sequence_length)`): the real (non-padding) positions.
        temperature (`float`): `tau`.
    """
    start = _position_distillation(student_outputs.start_logits, teacher_outputs.start_logits, alive, temperature)
    end = _position_distillation(student_outputs.end_logits, teacher_outputs.end_logits, alive, temperature)
    return (start + end) / 2


def _position_distillation(
    student_logits: torch.Tensor, teacher_logits: torch.Tensor, alive: torch.Tensor, temperature: float
) -> torch.Tensor:
    """`KL(softmax(z_T / tau) || softmax(z_S / tau)) * tau^2` over the positions of each row where `alive`."""
    student = _position_log_probabilities(student_logits, alive, temperature)
    teacher = _position_log_probabilities(teacher_logits, alive, temperature)
    terms = torch.where(alive, teacher.exp() * (teacher - student), 0.0)
    return terms.sum(dim=-1).mean() * temperature**2


def _position_log_probabilities(logits: torch.Tensor, alive: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Float32 log-softmax of `logits / temperature` over the positions of each row where `alive` (padding: ~-inf)."""
    scaled = (logits / temperature).float()
    return nn.functional.log_softmax(scaled.masked_fill(~alive, torch.finfo(torch.float32).min), dim=-1)


def teacher_final_importance(
    teacher: nn.Module,
    last_layer_input: torch.Tensor,
    alive: torch.Tensor,
    queries: torch.Tensor | None = None,
) -> torch.Tensor:
    """
    Token importance of a BERT teacher's last layer, recomputed from that layer's input hidden states (so the
    teacher may run any attention kernel).

    Args:
        teacher: a BERT-architecture model (`base_model.encoder.layer[-1].attention.self`).
        last_layer_input (`torch.Tensor` of shape `(batch, length, hidden)`): `hidden_states[-2]` of the teacher.
        alive (`torch.Tensor` of shape `(batch, length)`, bool): the real tokens.
        queries (`torch.Tensor` of shape `(batch, length)`, bool, *optional*): the tokens whose attention makes the
            importance, as the student's (`importance_token_type`); `None`: every real token.
    """
    self_attention = teacher.base_model.encoder.layer[-1].attention.self
    mask = additive_attention_mask(alive, last_layer_input.dtype)
    probs, _ = attention_probabilities(self_attention, last_layer_input, mask)
    return importance_from_probabilities(probs, alive if queries is None else queries)


def teacher_answer_span_scores(
    start_logits: torch.Tensor, end_logits: torch.Tensor, alive: torch.Tensor
) -> torch.Tensor:
    """
    How likely each token lies inside a question-answering teacher's answer: `P(start <= i) * P(end >= i)`, with the
    start and end distributions the softmax of the teacher's span logits over each window's real positions (as the
    span distillation takes them) and the two taken as independent. A ranking target for the student's early layers
    that points at the answer rather than at the tokens the last layer attends to (`rank_distill_target`).

    Args:
        start_logits, end_logits (`torch.Tensor` of shape `(batch, length)`): the teacher's span logits.
        alive (`torch.Tensor` of shape `(batch, length)`, bool): the real tokens.

    Returns:
        `torch.Tensor` of shape `(batch, length)`, float32, in `[0, 1]`; 0 at padding.
    """
    started = _position_log_probabilities(start_logits, alive).exp().cumsum(dim=-1)
    not_ended = _position_log_probabilities(end_logits, alive).exp().flip(-1).cumsum(dim=-1).flip(-1)
    return (started * not_ended).clamp(0.0, 1.0).masked_fill(~alive, 0.0)


def teacher_top_k(teacher_importance: torch.Tensor, alive: torch.Tensor, k: int):
    """
    The teacher's `k` most important non-[CLS] real tokens per sample, with integer relevance `k, k-1, ..., 1`.

    Returns:
        `(positions, relevance, valid)`, each of shape `(batch, min(k, length - 1))`; `valid` is `False` where a
        sample has fewer real tokens than `k`.
    """
    candidates = alive.clone()
    candidates[:, 0] = False
    scores = teacher_importance.masked_fill(~candidates, -math.inf)
    top = min(k, scores.shape[1] - 1)
    values, positions = scores.topk(top, dim=1)
    relevance = (k - torch.arange(top, device=scores.device, dtype=teacher_importance.dtype)).expand_as(values)
    return positions, relevance, torch.isfinite(values)


def teacher_ranking(teacher_importance: torch.Tensor, alive: torch.Tensor, k: int, pairs: str = "top_k"):
    """
    The list of tokens a ranking loss orders, with their relevance: the teacher's top `k` (`pairs="top_k"`, the
    method, see `teacher_top_k`), or every non-[CLS] real token in the teacher's order (`pairs="all"`), the top `k`
    at relevance `k, k-1, ..., 1` and the others at 0, so that the pairs also rank the top `k` above the rest.

    Returns:
        `(positions, relevance, valid)`, as `teacher_top_k`.
    """
    if pairs not in RANKING_PAIRS:
        raise ValueError(f"pairs must be one of {RANKING_PAIRS}, got {pairs!r}")
    if pairs == "top_k":
        return teacher_top_k(teacher_importance, alive, k)
    positions, _, valid = teacher_top_k(teacher_importance, alive, teacher_importance.shape[1])
    ranks = torch.arange(positions.shape[1], device=positions.device, dtype=teacher_importance.dtype)
    return positions, (k - ranks).clamp(min=0).expand_as(valid), valid


def _pairwise_logistic(student: torch.Tensor) -> torch.Tensor:
    """`log2(1 + exp(-(s_i - s_j)))` for every pair, shape `(batch, k, k)`."""
    return nn.functional.softplus(-(student[:, :, None] - student[:, None, :])) / math.log(2.0)


def arp2_loss(student: torch.Tensor, relevance: torch.Tensor, valid: torch.Tensor, k: int) -> torch.Tensor:
    """
    LambdaLoss ARP-2 with sigma = 1: `sum_{y_i > y_j} (y_i - y_j) * log2(1 + exp(-(s_i - s_j))) / (k * max(n, k))`,
    batch mean, with `n` a sample's number of valid entries. On the teacher's top-k (`n <= k`) the normaliser is the
    method's `k^2`; on a list that also holds the other tokens it grows with them, so that the loss keeps its scale
    across input lengths.

    Args:
        student (`torch.Tensor` of shape `(batch, n)`): student scores at the listed positions.
        relevance (`torch.Tensor` of shape `(batch, n)`): integer relevance by teacher rank.
        valid (`torch.Tensor` of shape `(batch, n)`, bool): real entries.
        k (`int`): the nominal top-k (normalisation).
    """
    gap = relevance[:, :, None] - relevance[:, None, :]
    pairs = (gap > 0) & valid[:, :, None] & valid[:, None, :]
    normaliser = k * valid.sum(dim=1).clamp(min=k)
    per_sample = (gap * _pairwise_logistic(student) * pairs).sum(dim=(1, 2)) / normaliser
    return per_sample.mean()


def ndcg_lambda_loss(student: torch.Tensor, relevance: torch.Tensor, valid: torch.Tensor, k: int) -> torch.Tensor:
    """
    NDCG-weighted LambdaLoss: each ordered pair is weighted by `|G_i - G_j| * |1/D_i - 1/D_j|`, with gains
    `G = (2^y - 1) / maxDCG` and discounts `D = log2(1 + rank)` of the student's current ranking; batch mean.
    """
    gains = (torch.pow(2.0, relevance) - 1.0) * valid
    ideal_discounts = torch.log2(torch.arange(2, gains.shape[1] + 2, device=gains.device, dtype=gains.dtype))
    max_dcg = (gains / ideal_discounts).sum(dim=1, keepdim=True).clamp(min=1e-12)
    gains = gains / max_dcg
    masked_scores = student.detach().masked_fill(~valid, -math.inf)
    ranks = torch.argsort(torch.argsort(masked_scores, dim=1, descending=True), dim=1) + 1
    inverse_discounts = 1.0 / torch.log2(1.0 + ranks.to(gains.dtype))
    weights = (gains[:, :, None] - gains[:, None, :]).abs() * (
        inverse_discounts[:, :, None] - inverse_discounts[:, None, :]
    ).abs()
    pairs = (relevance[:, :, None] > relevance[:, None, :]) & valid[:, :, None] & valid[:, None, :]
    return (weights * _pairwise_logistic(student) * pairs).sum(dim=(1, 2)).mean()


#: The ranking losses by name (`TopTrainingArguments.rank_distill_loss`).
RANKING_LOSSES = {"arp2": arp2_loss, "ndcg": ndcg_lambda_loss}


#: What the ranking losses compare (`TopTrainingArguments.rank_distill_score`): the student's importance itself (the
#: method), or its natural logarithm.
RANKING_SCORES = ("importance", "log")
#: Importance floor before the logarithm (an importance is a mean of attention probabilities, so it is never 0 in
#: float32 but may underflow in reduced precision).
LOG_IMPORTANCE_FLOOR = 1e-12
#: Which pairs of tokens the ranking losses compare (`TopTrainingArguments.rank_distill_pairs`): those within the
#: teacher's top-k (the method), or also each top-k token against every other real token.
RANKING_PAIRS = ("top_k", "all")


#: The teacher's scores the student layers learn to rank by (`TopTrainingArguments.rank_distill_target`): its
#: last layer's importance (the method), or, for question answering, how likely each token lies inside its answer.
RANKING_TARGETS = ("importance", "answer_span")
#: How the ranking weight moves over training (`TopTrainingArguments.rank_distill_schedule`): down with the sparsity
#: warm-up to a floor (the method), or not at all.
RANKING_SCHEDULES = ("decay", "constant")
#: The fraction of `rank_distill_alpha` the "decay" schedule keeps once the warm-up is over.
RANK_DISTILL_FLOOR = 0.01


def rank_distillation_loss(
    student_importance: torch.Tensor,
    teacher_importance: torch.Tensor,
    alive: torch.Tensor,
    k: int,
    loss: str = "arp2",
    score: str = "importance",
    pairs: str = "top_k",
) -> torch.Tensor:
    """
    Ranking loss of one student layer against the teacher's scores (its final-layer importance, the method, or any
    other per-token score such as `teacher_answer_span_scores`).

    Args:
        student_importance (`torch.Tensor` of shape `(batch, length)`): the student layer's importance (with grad).
        teacher_importance (`torch.Tensor` of shape `(batch, length)`): the teacher's scores, higher first.
        alive (`torch.Tensor` of shape `(batch, length)`, bool): real tokens.
        k (`int`): top-k of the teacher to distil.
        loss (`str`): `"arp2"` or `"ndcg"`.
        score (`str`, defaults to `"importance"`): the student scores `s` the loss compares, `"importance"` (the
            method) or `"log"` (`log(max(importance, 1e-12))`). The two rank tokens alike; they differ in scale: an
            importance sums to 1 over a sample's tokens, so on long inputs its pairwise differences are a few
            hundredths and `log2(1 + exp(-(s_i - s_j)))` stays near its equal-scores value, where a log-importance
            difference is the log of the two tokens' ratio (see `docs/method.md`).
        pairs (`str`, defaults to `"top_k"`): the pairs the loss compares: those of the teacher's top-k (the method),
            which order the top-k among themselves, or `"all"`, which also rank each of them above every other real
            token (see `teacher_ranking`).
    """
    if loss not in RANKING_LOSSES:
        raise ValueError(f"loss must be one of {sorted(RANKING_LOSSES)}, got {loss!r}")
    if score not in RANKING_SCORES:
        raise ValueError(f"score must be one of {RANKING_SCORES}, got {score!r}")
    positions, relevance, valid = teacher_ranking(teacher_importance, alive, k, pairs)
    student = student_importance.gather(1, positions)
    if score == "log":
        student = student.clamp(min=LOG_IMPORTANCE_FLOOR).log()
    return RANKING_LOSSES[loss](student, relevance, valid, k)


def ranking_weight(alpha: float, schedule: str, warmup_progress: float) -> float:
    """
    The ranking loss's weight at a point of training: `alpha * max(0.01, 1 - warmup_progress)` for the method's
    "decay" schedule, `alpha` for "constant" (`warmup_progress` runs from 0 to 1 over the sparsity warm-up).
    """
    if schedule not in RANKING_SCHEDULES:
        raise ValueError(f"rank_distill_schedule must be one of {RANKING_SCHEDULES}, got {schedule!r}")
    if schedule == "constant":
        return alpha
    return alpha * max(RANK_DISTILL_FLOOR, 1.0 - warmup_progress)


def lagrangian_term(
    lambda_1: torch.Tensor, lambda_2: torch.Tensor, gap: torch.Tensor, anti_windup: bool = False
) -> torch.Tensor:
    """
    The FLOPs constraint's Lagrangian `lambda_1 * gap + lambda_2 * gap**2`, with `gap` the expected sparsity minus
    the current target. The masks minimise it and the multipliers maximise it (their gradients are `gap` and
    `gap**2`).

    With `anti_windup`, the linear term exerts no force on the masks while `lambda_1` has the opposite sign of `gap`
    (it would push the expected sparsity further from the target, the overshoot left by a multiplier that grew while
    the masks lagged behind the ramp); `lambda_1` still receives its gradient `gap`, so it unwinds as before.
    """
    linear = lambda_1 * gap
    if anti_windup:
        unwinding = (lambda_1 - lambda_1.detach()) * gap.detach()  # value 0, gradient `gap` for lambda_1 only
        linear = torch.where(lambda_1.detach() * gap.detach() < 0, unwinding, linear)
    return linear + lambda_2 * gap**2


__all__ = [
    "RANKING_LOSSES",
    "RANKING_PAIRS",
    "RANKING_SCHEDULES",
    "RANKING_SCORES",
    "RANKING_TARGETS",
    "arp2_loss",
    "lagrangian_term",
    "logit_distillation_loss",
    "ndcg_lambda_loss",
    "rank_distillation_loss",
    "ranking_weight",
    "teacher_answer_span_scores",
    "teacher_final_importance",
    "teacher_ranking",
    "teacher_top_k",
]
