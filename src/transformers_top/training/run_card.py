"""What a [`TopTrainer`] run puts in its model card: its metrics, FLOPs, sparsity and hyper-parameters."""

from __future__ import annotations

from typing import Any

from ..sharing.model_card import TopModelCardData
from ..sharing.repo_ids import is_hub_model_id

#: Training arguments listed in the model card.
CARD_HYPERPARAMETERS = (
    "target_sparsity",
    "target_sparsity_tolerance",
    "learning_rate",
    "mask_learning_rate",
    "lagrangian_learning_rate",
    "lagrangian_anti_windup",
    "num_train_epochs",
    "max_steps",
    "per_device_train_batch_size",
    "gradient_accumulation_steps",
    "sparsity_warmup_steps",
    "sparsity_warmup_ratio",
    "frozen_plan_steps",
    "frozen_plan_ratio",
    "distill_temperature",
    "label_loss_weight",
    "rank_distill_alpha",
    "rank_distill_schedule",
    "rank_distill_topk",
    "rank_distill_loss",
    "rank_distill_score",
    "rank_distill_pairs",
    "rank_distill_target",
    "num_bins",
    "bin_order",
    "plan_freeze_rule",
    "masked_token_output",
    "seed",
)


def card_data_from_run(
    args: Any,
    log_history: list[dict[str, Any]],
    teacher_name: str,
    *,
    model_name: str | None = None,
    language: str | list[str] | None = None,
    license: str | None = None,
    tags: str | list[str] | None = None,
    finetuned_from: str | None = None,
    dataset_tags: str | list[str] | None = None,
    dataset_args: str | list[str] | None = None,
) -> TopModelCardData:
    """
    The card of a run from what it logged: the last evaluation's `metric_for_best_model` and FLOPs reductions, the
    realized and target sparsity of the final model, and the pruning hyper-parameters.

    Args:
        args ([`TopTrainingArguments`]): the run's arguments.
        log_history (`list[dict]`): `trainer.state.log_history`.
        teacher_name (`str`): the teacher's `name_or_path`; named as the base model when it is a Hub id.
        model_name, language, license, tags, finetuned_from, dataset_tags, dataset_args:
            as in [`~transformers.Trainer.create_model_card`].
    """
    evaluations = [entry for entry in log_history if "eval_flops_reduction" in entry]
    last = evaluations[-1] if evaluations else {}
    final = next((entry for entry in reversed(log_history) if "realized_sparsity" in entry), {})
    metric = args.metric_for_best_model
    metric = metric.removeprefix("eval_") if metric and f"eval_{metric.removeprefix('eval_')}" in last else None
    if metric is None and "eval_f1" in last and "eval_exact_match" in last:
        metric = "f1"  # question answering, without a best-model metric
    # Question answering reports exact match beside F1.
    extra = (
        {"exact_match": {"pruned": last["eval_exact_match"]}}
        if metric == "f1" and "eval_exact_match" in last
        else None
    )
    teacher = finetuned_from or teacher_name
    return TopModelCardData(
        model_name=model_name,
        base_model=teacher if is_hub_model_id(teacher) else None,
        dataset=_first(dataset_tags),
        dataset_config=_first(dataset_args),
        metric_name=metric,
        pruned_metric=last.get(f"eval_{metric}") if metric else None,
        extra_metrics=extra,
        flops_reduction=last.get("eval_flops_reduction"),
        flops_reduction_padded=last.get("eval_flops_reduction_padded") if args.flops_padded_length else None,
        padded_length=args.flops_padded_length,
        target_sparsity=args.target_sparsity,
        realized_sparsity=final.get("realized_sparsity"),
        target_sparsity_tolerance=args.target_sparsity_tolerance,
        training_hyperparameters={
            name: getattr(args, name)
            for name in CARD_HYPERPARAMETERS
            if isinstance(getattr(args, name), (str, int, float, bool))
        },
        license=license,
        language=[language] if isinstance(language, str) else language,
        tags=[tags] if isinstance(tags, str) else tags,
    )


def _first(value: str | list[str] | None) -> str | None:
    return value[0] if isinstance(value, list) and value else value or None


__all__ = ["CARD_HYPERPARAMETERS", "card_data_from_run"]
