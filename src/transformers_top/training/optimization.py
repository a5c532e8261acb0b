"""The optimizer and learning-rate schedule of [`TopTrainer`]: four parameter groups, masks at constant rates."""

from __future__ import annotations

from collections.abc import Iterable

from torch import nn
from torch.optim.lr_scheduler import LambdaLR
from transformers import TrainerCallback

from ..models.hard_concrete import TokenPruningMasks

#: Indices of the mask and multiplier groups in the optimizer (after the model's two weight-decay groups).
MASK_GROUPS = (2, 3)


def parameter_groups(
    model: nn.Module,
    masks: TokenPruningMasks,
    decay_parameter_names: Iterable[str],
    weight_decay: float,
    mask_learning_rate: float,
    lagrangian_learning_rate: float,
) -> list[dict]:
    """
    The model's trainable weights with and without weight decay (the optimizer's learning rate), the mask
    log-alphas (`mask_learning_rate`, no decay) and the Lagrange multipliers (`lagrangian_learning_rate`, gradient
    ascent through `maximize=True`).
    """
    mask_ids = {id(masks.gate_log_alpha), id(masks.bin_log_alpha), id(masks.lagrange_multipliers)}
    decay = set(decay_parameter_names)
    trainable = [(n, p) for n, p in model.named_parameters() if p.requires_grad and id(p) not in mask_ids]
    return [
        {"params": [p for n, p in trainable if n in decay], "weight_decay": weight_decay},
        {"params": [p for n, p in trainable if n not in decay], "weight_decay": 0.0},
        {"params": [masks.gate_log_alpha, masks.bin_log_alpha], "lr": mask_learning_rate, "weight_decay": 0.0},
        {
            "params": [masks.lagrange_multipliers],
            "lr": lagrangian_learning_rate,
            "weight_decay": 0.0,
            "maximize": True,
        },
    ]


class MaskSchedule:
    """Learning-rate factor of the masks and multipliers: 1 until the plan is frozen (`freeze_step`), then 0."""

    def __init__(self, freeze_step: int | None) -> None:
        self.freeze_step = freeze_step

    def __call__(self, step: int) -> float:
        return 1.0 if self.freeze_step is None or step < self.freeze_step else 0.0


def hold_mask_learning_rates(scheduler: LambdaLR, freeze_step: int | None) -> LambdaLR:
    """Give the mask and multiplier groups of `scheduler` constant learning rates until `freeze_step`, 0 after."""
    for index in MASK_GROUPS:
        scheduler.lr_lambdas[index] = MaskSchedule(freeze_step)
        group = scheduler.optimizer.param_groups[index]
        group["lr"] = group["initial_lr"] * scheduler.lr_lambdas[index](scheduler.last_epoch)
    scheduler._last_lr = [group["lr"] for group in scheduler.optimizer.param_groups]
    return scheduler


class ClampLogAlphas(TrainerCallback):
    """Clamp the mask log-alphas to `[ln 0.01, ln 100]` after every optimizer step."""

    def __init__(self, masks: TokenPruningMasks) -> None:
        self.masks = masks

    def on_optimizer_step(self, args, state, control, **kwargs):
        self.masks.clamp_()


def check_optimizer_kwargs(optim: str, optimizer_kwargs: dict) -> None:
    """`TopTrainer` builds its own parameter groups: refuse the optimizers that need to build theirs."""
    if {"params", "model", "optimizer_dict"} & set(optimizer_kwargs):
        raise ValueError(f"optim={optim!r} builds its own parameter groups; TopTrainer needs AdamW-like")


__all__ = ["ClampLogAlphas", "MaskSchedule", "check_optimizer_kwargs", "hold_mask_learning_rates", "parameter_groups"]
