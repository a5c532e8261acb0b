"""`make demo`'s command line: its options are checked, and the pruning job it runs is the default recipe."""

from __future__ import annotations

from pathlib import Path

import demo
import pytest
from transformers import HfArgumentParser

from transformers_top import TopTrainingArguments


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--latency_sentences", "0", "--latency_sentences must be a positive integer, got 0"),
        ("--latency_rounds", "-1", "--latency_rounds must be a positive integer, got -1"),
        ("--prune_samples", "0", "--prune_samples must be a positive integer, got 0"),
        ("--target_sparsity", "1", "--target_sparsity must be in (0, 1), got 1.0"),
    ],
)
def test_bad_options_are_usage_errors_naming_the_value(option, value, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        demo.parse_args([option, value])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_the_pruning_job_is_the_default_recipe_evaluated_once_the_target_is_reached(tmp_path):
    args = demo.parse_args(["--output_dir", str(tmp_path), "--prune_samples", "6400", "--target_sparsity", "0.4"])
    job = demo.job_arguments(args, tmp_path / "model", tmp_path / "teacher")
    # `run_glue_top.py` parses it with TrainingArguments' own parser: the demo sets the budget, not the recipe.
    training_args = HfArgumentParser(TopTrainingArguments).parse_args_into_dataclasses(
        job, return_remaining_strings=True
    )[0]
    assert training_args.max_steps == 200
    assert training_args.target_sparsity == 0.4
    # The target is reached at half of the run (the default warm-up); evaluations before it could not be kept.
    assert training_args.sparsity_warmup_ratio == 0.5 and training_args.eval_delay == 100
    assert training_args.eval_steps == 25 and training_args.load_best_model_at_end
    assert training_args.lagrangian_anti_windup is True and training_args.plan_freeze_rule is None
    assert Path(job[job.index("--output_dir") + 1]) == tmp_path / "model"
