"""`TopTrainingArguments`: spec defaults, validation of every pruning field, command-line parsing."""

from __future__ import annotations

import pytest
from transformers import HfArgumentParser

from transformers_top import TopTrainingArguments


def make_args(tmp_path, **overrides) -> TopTrainingArguments:
    return TopTrainingArguments(output_dir=str(tmp_path), report_to=[], use_cpu=True, **overrides)


def test_defaults_are_the_recipe_of_docs_training(tmp_path):
    args = make_args(tmp_path)
    # The method's losses: tau = 2, top-k 20, alpha 1e-2, ARP-2, frozen embeddings.
    assert args.distill_temperature == 2.0
    assert args.rank_distill_topk == 20
    assert args.rank_distill_alpha == 1e-2
    assert args.rank_distill_schedule == "decay"
    assert args.rank_distill_loss == "arp2"
    assert args.freeze_embeddings is True
    # The short-run recipe the benchmarks found best (docs/training.md, "The default recipe").
    assert args.learning_rate == 3e-5
    assert args.num_bins == 25
    assert args.mask_learning_rate == 0.1 and args.lagrangian_learning_rate == 0.05
    assert args.lagrangian_anti_windup is True
    assert args.sparsity_warmup_steps == 0 and args.sparsity_warmup_ratio == 0.5
    assert args.frozen_plan_steps == 0 and args.frozen_plan_ratio is None  # 0.3, after the warm-up
    assert args.prune_layers is None and args.rank_distill_layers is None
    assert 0.0 <= args.target_sparsity < 1.0


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("target_sparsity", 1.0),
        ("target_sparsity", -0.1),
        ("target_sparsity", True),
        ("target_sparsity", "0.5"),
        ("target_sparsity_tolerance", -0.01),
        ("target_sparsity_tolerance", 1.0),
        ("sparsity_warmup_steps", -1),
        ("sparsity_warmup_steps", 2.5),
        ("sparsity_warmup_ratio", 1.5),
        ("sparsity_warmup_ratio", -0.1),
        ("frozen_plan_steps", -1),
        ("frozen_plan_steps", 1.0),
        ("frozen_plan_ratio", 1.0),
        ("frozen_plan_ratio", -0.5),
        ("mask_learning_rate", 0.0),
        ("mask_learning_rate", -0.01),
        ("lagrangian_learning_rate", 0.0),
        ("distill_temperature", 0.0),
        ("distill_temperature", False),
        ("rank_distill_alpha", -1e-3),
        ("rank_distill_alpha", None),
        ("rank_distill_topk", 1),
        ("rank_distill_topk", 3.0),
        ("rank_distill_loss", "listnet"),
        ("rank_distill_schedule", "linear"),
        ("freeze_embeddings", "yes"),
        ("lagrangian_anti_windup", 1),
        ("num_bins", 0),
        ("num_bins", 2.0),
        ("prune_layers", []),
        ("prune_layers", [-1]),
        ("prune_layers", [1.5]),
        ("prune_layers", 2),
        ("rank_distill_layers", []),
        ("rank_distill_layers", [True]),
        ("flops_padded_length", 0),
        ("plan_freeze_rule", "mean"),
        ("bin_order", "prefix"),
        ("rank_distill_score", "sqrt"),
        ("rank_distill_pairs", "rest"),
        ("rank_distill_target", "attention"),
        ("masked_token_output", "zeroed"),
        ("label_loss_weight", -0.1),
        ("label_loss_weight", 1.5),
        ("label_loss_weight", "0.5"),
    ],
)
def test_bad_values_raise_naming_the_field(tmp_path, field, value):
    with pytest.raises(ValueError, match=field) as error:
        make_args(tmp_path, **{field: value})
    assert repr(value) in str(error.value)


def test_boundary_values_are_accepted(tmp_path):
    args = make_args(
        tmp_path,
        target_sparsity=0.0,
        sparsity_warmup_ratio=1.0,
        rank_distill_alpha=0.0,
        rank_distill_topk=2,
        rank_distill_loss="ndcg",
        num_bins=1,
        prune_layers=[1],
        rank_distill_layers=[0],
        flops_padded_length=1,
        plan_freeze_rule="expected",
        bin_order="sorted",
        rank_distill_score="log",
        rank_distill_pairs="all",
        rank_distill_target="answer_span",
        rank_distill_schedule="constant",
        masked_token_output="carried",
        label_loss_weight=1.0,
    )
    assert args.target_sparsity == 0.0 and args.rank_distill_loss == "ndcg" and args.prune_layers == [1]


def test_command_line_lists_and_flags(tmp_path):
    parser = HfArgumentParser(TopTrainingArguments)
    (args,) = parser.parse_args_into_dataclasses(
        [
            "--output_dir",
            str(tmp_path),
            "--prune_layers",
            "2",
            "3",
            "--rank_distill_layers",
            "1",
            "--target_sparsity",
            "0.3",
            "--freeze_embeddings",
            "false",
            "--report_to",
            "none",
        ]
    )
    assert args.prune_layers == [2, 3]
    assert args.rank_distill_layers == [1]
    assert args.target_sparsity == 0.3
    assert args.freeze_embeddings is False


def test_command_line_validates(tmp_path):
    parser = HfArgumentParser(TopTrainingArguments)
    with pytest.raises(ValueError, match="num_bins"):
        parser.parse_args_into_dataclasses(["--output_dir", str(tmp_path), "--num_bins", "0", "--report_to", "none"])
