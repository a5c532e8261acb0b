"""Whether a run reached its FLOPs target, and what it says when it did not (the target is a constraint)."""

from __future__ import annotations

from typing import Any

from ..sharing.model_card import target_miss


def missed_target_message(realized: float, args: Any) -> str | None:
    """
    The warning for a final model whose realized sparsity is further from `args.target_sparsity` than
    `args.target_sparsity_tolerance`, on either side, else `None`. Short of the target, the model is slower than
    asked; past it, it removes more FLOPs than asked and usually pays for them in accuracy.
    """
    target, tolerance = args.target_sparsity, args.target_sparsity_tolerance
    miss = target_miss(realized, target, tolerance)
    if miss == "short":
        return (
            f"The final model removes {realized:.4f} of the encoder FLOPs on real tokens, short of target_sparsity "
            f"{target:g} by more than target_sparsity_tolerance {tolerance:g}. Train longer, with a higher "
            "mask_learning_rate, or with a slightly higher target_sparsity."
        )
    if miss == "past":
        return (
            f"The final model removes {realized:.4f} of the encoder FLOPs on real tokens, past target_sparsity "
            f"{target:g} by more than target_sparsity_tolerance {tolerance:g}: it prunes more than asked, which "
            "usually costs accuracy. Train longer (so that the masks settle on the target before the plan is "
            "frozen), or ask for a slightly lower target_sparsity."
        )
    return None


def no_evaluation_reached_target_message(
    log_history: list[dict[str, Any]], args: Any, best_model_checkpoint: str | None
) -> str | None:
    """
    With `load_best_model_at_end`, the warning for a run in which no evaluation reached the target (so no checkpoint
    could become the best one and the last model is kept), else `None`.
    """
    evaluations = [entry for entry in log_history if "eval_sparsity" in entry]
    if not (args.load_best_model_at_end and evaluations and best_model_checkpoint is None):
        return None
    closest = max(evaluations, key=lambda entry: entry["eval_sparsity"])
    return (
        f"load_best_model_at_end: no evaluation reached target_sparsity {args.target_sparsity:g} (within "
        f"{args.target_sparsity_tolerance:g}; the highest realized sparsity was {closest['eval_sparsity']:.4f} at "
        f"step {closest['step']}), so the model at the end of training is kept. Train longer, or ask for a slightly "
        "higher target_sparsity."
    )


__all__ = ["missed_target_message", "no_evaluation_reached_target_message"]
