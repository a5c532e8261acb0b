"""Hard-concrete (L0) masks: layer gates and rank bins (see `docs/method.md`, "Masks" and "Freezing the masks")."""

from __future__ import annotations

import math

import torch
from torch import nn

#: Hard-concrete temperature, lower and upper stretch limits (Louizos et al., 2018).
BETA = 2.0 / 3.0
GAMMA = -0.1
ZETA = 1.1
#: log-alphas are clamped to this range after every optimizer step.
LOG_ALPHA_RANGE = (math.log(0.01), math.log(100.0))
#: Initial log-alphas (the authors' values): gates start closed, bins start open.
GATE_LOG_ALPHA_INIT = -10.0
BIN_LOG_ALPHA_INIT = 10.0
_UNIFORM_EPS = 1e-6
#: Rules that turn trained masks into a deterministic plan (see `TokenPruningMasks.frozen_plan`).
FREEZE_RULES = ("threshold", "expected")
#: How the rank bins' log-alphas map to the ranking: `"free"`, each bin its own (the method), or `"sorted"`, the
#: largest log-alpha at bin 0 and so on down, so the kept bins are always a prefix of the ranking.
BIN_ORDERS = ("free", "sorted")


def hard_concrete_sample(log_alpha: torch.Tensor) -> torch.Tensor:
    """
    One differentiable sample `z` in `[0, 1]` per log-alpha.

    `u ~ U(eps, 1 - eps)`, `s = sigmoid((log u - log(1 - u) + log_alpha) / beta)`,
    `z = clamp(s * (zeta - gamma) + gamma, 0, 1)`.
    """
    uniform = torch.rand_like(log_alpha).clamp(_UNIFORM_EPS, 1.0 - _UNIFORM_EPS)
    stretched = torch.sigmoid((torch.log(uniform) - torch.log1p(-uniform) + log_alpha) / BETA)
    return (stretched * (ZETA - GAMMA) + GAMMA).clamp(0.0, 1.0)


def prob_nonzero(log_alpha: torch.Tensor) -> torch.Tensor:
    """`P(z > 0) = sigmoid(log_alpha - beta * log(-gamma / zeta))`, differentiable."""
    return torch.sigmoid(log_alpha - BETA * math.log(-GAMMA / ZETA))


class TokenPruningMasks(nn.Module):
    """
    The trainable masks of one model: at each prune location a layer gate and `num_bins` rank bins, plus the two
    Lagrange multipliers of the FLOPs constraint (kept here so that DDP, checkpoints and optimizers see them).

    Args:
        num_locations (`int`): number of prune layers.
        num_bins (`int`): rank bins per prune layer.
        bin_order (`str`, *optional*, defaults to `"free"`):
            `"free"`: bin `b` of a location samples from its own log-alpha `bin_log_alpha[p, b]`, as in the method.
            `"sorted"`: each location's log-alphas are sorted in decreasing order before they are used, so bin 0
            (the most important tokens) samples from the largest and the frozen plan always keeps a prefix of the
            ranking; which parameter serves which bin changes as they are trained (see `docs/method.md`).
    """

    def __init__(self, num_locations: int, num_bins: int, bin_order: str = "free") -> None:
        super().__init__()
        if bin_order not in BIN_ORDERS:
            raise ValueError(f"bin_order must be one of {BIN_ORDERS}, got {bin_order!r}")
        self.bin_order = bin_order
        self.gate_log_alpha = nn.Parameter(torch.full((num_locations,), GATE_LOG_ALPHA_INIT))
        self.bin_log_alpha = nn.Parameter(torch.full((num_locations, num_bins), BIN_LOG_ALPHA_INIT))
        self.lagrange_multipliers = nn.Parameter(torch.zeros(2))
        self.plan_frozen = False

    def reset_parameters(self) -> None:
        """Set the initial values: gates closed, bins open, multipliers at zero."""
        with torch.no_grad():
            self.gate_log_alpha.fill_(GATE_LOG_ALPHA_INIT)
            self.bin_log_alpha.fill_(BIN_LOG_ALPHA_INIT)
            self.lagrange_multipliers.zero_()

    def rank_bin_log_alpha(self) -> torch.Tensor:
        """
        The log-alpha of each rank bin, of shape `(num_locations, num_bins)`, differentiable: `bin_log_alpha` itself
        with `bin_order="free"`, each row sorted in decreasing order with `"sorted"` (equal values keep their order).
        """
        if self.bin_order == "free":
            return self.bin_log_alpha
        return torch.sort(self.bin_log_alpha, dim=1, descending=True, stable=True).values

    def sample(self) -> tuple[torch.Tensor, torch.Tensor]:
        """
        One fresh sample of every mask, for one training step.

        Returns:
            `(gates, bins)`: `gates` of shape `(num_locations,)` is a hard 0/1 (on iff `z > 0`, the event whose
            probability is `P(z > 0)`) with the straight-through gradient of the soft sample; `bins` of shape
            `(num_locations, num_bins)` is the soft sample in `[0, 1]` of `rank_bin_log_alpha()`.
        """
        soft_gates = hard_concrete_sample(self.gate_log_alpha)
        hard_gates = (soft_gates > 0).to(soft_gates.dtype)
        gates = hard_gates + soft_gates - soft_gates.detach()
        return gates, hard_concrete_sample(self.rank_bin_log_alpha())

    def expected_keep_ratios(self) -> torch.Tensor:
        """`rho_p = 1 - (1 - mean_b P(z_b > 0)) * P(g_p > 0)` per location, differentiable, of shape `(locations,)`."""
        bins_kept = prob_nonzero(self.bin_log_alpha).mean(dim=1)
        return 1.0 - (1.0 - bins_kept) * prob_nonzero(self.gate_log_alpha)

    @torch.no_grad()
    def clamp_(self) -> None:
        """Clamp the log-alphas to `[ln 0.01, ln 100]` (after every optimizer step)."""
        low, high = LOG_ALPHA_RANGE
        self.gate_log_alpha.clamp_(low, high)
        self.bin_log_alpha.clamp_(low, high)

    @torch.no_grad()
    def frozen_plan(self, rule: str = "threshold") -> list[list[int] | None]:
        """
        The deterministic plan: per location, `None` when it does not prune, else a 0/1 list that drops the bins with
        the lowest log-alpha (among equal log-alphas, the later bins, which hold the less important ranks), read from
        `rank_bin_log_alpha()`: with `bin_order="sorted"` the kept bins are always a prefix. At least one bin is
        always kept, so a location never leaves only [CLS].

        Args:
            rule (`str`, defaults to `"threshold"`):
                How many bins each location drops. `"threshold"` is the method's: the gate is on iff
                `P(g > 0) >= 0.5`, and an open gate drops `round(K - sum_b P(z_b > 0))` bins. `"expected"` drops
                `round(K * (1 - rho))` bins, `rho` being the expected keep ratio that the FLOPs constraint trains
                (`expected_keep_ratios`), so the plan's FLOPs match the expected sparsity whatever the gates'
                probabilities.
        """
        if rule not in FREEZE_RULES:
            raise ValueError(f"rule must be one of {FREEZE_RULES}, got {rule!r}")
        num_bins = self.bin_log_alpha.shape[1]
        if rule == "threshold":
            gate_on = prob_nonzero(self.gate_log_alpha) >= 0.5
            bins_dropped = (num_bins - prob_nonzero(self.bin_log_alpha).sum(dim=1)) * gate_on
        else:
            bins_dropped = num_bins * (1.0 - self.expected_keep_ratios())
        plan: list[list[int] | None] = []
        for log_alpha, dropped in zip(self.rank_bin_log_alpha(), bins_dropped.tolist(), strict=True):
            num_dropped = min(round(dropped), num_bins - 1)
            if num_dropped == 0:
                plan.append(None)
                continue
            keep = [1] * num_bins
            # Equal log-alphas (common at the clamp bounds) drop the later bins first: they hold the lower ranks.
            for reversed_index in torch.argsort(log_alpha.flip(0), stable=True)[:num_dropped].tolist():
                keep[num_bins - 1 - reversed_index] = 0
            plan.append(keep)
        return plan


__all__ = ["BIN_ORDERS", "FREEZE_RULES", "TokenPruningMasks", "hard_concrete_sample", "prob_nonzero"]
