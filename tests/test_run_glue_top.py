"""examples/run_glue_top.py: argument validation, and a full tiny job in a subprocess."""

from __future__ import annotations

import importlib.util
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import TINY_BERT
from safetensors import safe_open
from safetensors.torch import load_file
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    BertConfig,
    BertForSequenceClassification,
    BertModel,
    BertTokenizer,
    Trainer,
    TrainerCallback,
)

from transformers_top import TopBertForSequenceClassification, TopTrainingArguments

SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "run_glue_top.py"
WORDS = [f"w{index}" for index in range(TINY_BERT["vocab_size"] - 5)]


@pytest.fixture(scope="module")
def run_glue_top():
    """The example script imported as a module (its `main(argv)` runs in-process)."""
    spec = importlib.util.spec_from_file_location("run_glue_top", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses resolve their annotations through sys.modules
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def _save_tokenizer(path: Path) -> None:
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]
    tokenizer = BertTokenizer(vocab={token: index for index, token in enumerate(vocab)}, model_max_length=512)
    tokenizer.save_pretrained(path)


@pytest.fixture(scope="module")
def pretrained_dir(tmp_path_factory) -> Path:
    """A tiny random `BertModel` without a classification head (like a pretrained checkpoint) and its tokenizer."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("tiny-pretrained")
    BertModel(BertConfig(**TINY_BERT)).save_pretrained(path)
    _save_tokenizer(path)
    return path


@pytest.fixture(scope="module")
def classifier_dir(tiny_bert_dir, tmp_path_factory) -> Path:
    """The tiny `BertForSequenceClassification` of conftest (a "fine-tuned" teacher) with a tokenizer."""
    path = tmp_path_factory.mktemp("tiny-classifier") / "model"
    shutil.copytree(tiny_bert_dir, path)
    _save_tokenizer(path)
    return path


@pytest.fixture(scope="module")
def train_tsv(tmp_path_factory) -> Path:
    """32 SST-2-style rows of 3 to 20 random words."""
    generator = random.Random(0)
    rows = [" ".join(generator.choices(WORDS, k=generator.randint(3, 20))) + f"\t{index % 2}\n" for index in range(32)]
    path = tmp_path_factory.mktemp("data") / "train.tsv"
    path.write_text("sentence\tlabel\n" + "".join(rows))
    return path


def _common_args(output_dir: Path) -> list[str]:
    return ["--output_dir", str(output_dir), "--report_to", "none", "--use_cpu", "--disable_tqdm", "true"]


@pytest.mark.parametrize(
    ("extra_args", "message"),
    [
        (["--task_name", "sst-2"], "unknown task 'sst-2': supported tasks are cola, sst2"),
        ([], "give --task_name (data from the Hub) or --train_file and/or --validation_file"),
        (["--task_name", "sst2", "--train_file", "/no/such/train.tsv"], "--train_file '/no/such/train.tsv' does not"),
        (["--task_name", "sst2", "--max_seq_length", "0"], "--max_seq_length must be a positive integer, got 0"),
        (["--task_name", "sst2", "--target_sparsity", "1.5"], "target_sparsity must be a number in [0.0, 1.0)"),
        (["--task_name", "sst2", "--do_finetune_teacher", "--teacher_name_or_path", "t"], "cannot be combined"),
        (["--task_name", "sst2", "--config_overrides", "[1, 2]"], "--config_overrides must be a JSON object, got '[1"),
        (["--task_name", "sst2", "--config_overrides", "{num_bins: 4}"], "--config_overrides must be a JSON object"),
    ],
)
def test_bad_arguments_exit_with_a_usage_error(run_glue_top, capsys, tmp_path, pretrained_dir, extra_args, message):
    argv = ["--model_name_or_path", str(pretrained_dir), *extra_args, *_common_args(tmp_path)]
    with pytest.raises(SystemExit) as exit_info:
        run_glue_top.main(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("model", "extra_args", "message"),
    [
        ("classifier", ["--max_seq_length", "128"], "max_seq_length=128 is larger than the model's "),
        (
            "pretrained",
            [],
            "is not a fine-tuned sequence classifier (architectures ['BertModel']): pass --do_finetune",
        ),
        ("classifier", ["--do_eval"], "--do_eval needs validation data: give --validation_file"),
        ("classifier", ["--train_file", "THREE_LABELS"], "model' has 2 labels but the data has 3"),
        ("classifier", ["--push_to_hub"], "--push_to_hub uploads the pruned model of --do_train: add --do_train"),
    ],
)
def test_inputs_that_do_not_fit_the_model_exit_with_a_usage_error(
    run_glue_top, capsys, tmp_path, pretrained_dir, classifier_dir, train_tsv, model, extra_args, message
):
    model_dir = classifier_dir if model == "classifier" else pretrained_dir
    three_labels = tmp_path / "three_labels.tsv"
    three_labels.write_text("sentence\tlabel\nw1 w2\t0\nw3\t1\nw4\t2\n")
    extra_args = [str(three_labels) if arg == "THREE_LABELS" else arg for arg in extra_args]
    argv = ["--model_name_or_path", str(model_dir), "--train_file", str(train_tsv), "--max_seq_length", "32"]
    with pytest.raises(SystemExit) as exit_info:
        run_glue_top.main([*argv, *extra_args, *_common_args(tmp_path)])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_full_job_fine_tunes_the_teacher_prunes_and_saves_a_deployable_model(
    run_glue_top, caplog, tmp_path, pretrained_dir, train_tsv
):
    output_dir = tmp_path / "out"
    argv = [
        "--model_name_or_path", str(pretrained_dir),
        "--task_name", "sst2", "--train_file", str(train_tsv), "--validation_file", str(train_tsv),
        "--max_seq_length", "32",
        "--do_finetune_teacher", "--teacher_max_steps", "2",
        "--do_train", "--do_eval", "--max_steps", "4", "--per_device_train_batch_size", "8",
        "--sparsity_warmup_steps", "2", "--num_bins", "5", "--save_steps", "2", "--seed", "0", "--log_level", "info",
        *_common_args(output_dir),
    ]  # fmt: skip
    environment = os.environ | {"OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), *argv], env=environment, capture_output=True, text=True, timeout=600
    )
    assert completed.returncode == 0, completed.stderr[-3000:]

    teacher_dir = output_dir.with_name(output_dir.name + "-teacher")
    assert json.loads((teacher_dir / "config.json").read_text())["architectures"] == ["BertForSequenceClassification"]
    assert (output_dir / "checkpoint-4").is_dir()
    config = json.loads((output_dir / "config.json").read_text())
    assert config["model_type"] == "top_bert"
    assert config["pruning_masks"] is False
    assert len(config["token_keep_ratios"]) == TINY_BERT["num_hidden_layers"]
    with safe_open(output_dir / "model.safetensors", "pt") as weights:
        names = weights.keys()
    assert not [name for name in names if "mask" in name or "log_alpha" in name or "lagrange" in name]

    model = AutoModelForSequenceClassification.from_pretrained(output_dir).eval()
    assert isinstance(model, TopBertForSequenceClassification)
    tokenizer = AutoTokenizer.from_pretrained(output_dir)
    batch = tokenizer(["w1 w2 w3 w4 w5", "w6 w7"], padding=True, return_tensors="pt")
    with torch.no_grad():
        assert model(**batch).logits.shape == (2, 2)

    results = json.loads((output_dir / "all_results.json").read_text())
    assert 0.0 <= results["eval_accuracy"] <= 1.0
    assert 0.0 <= results["teacher_eval_accuracy"] <= 1.0
    assert results["eval_flops_reduction"] >= 1.0
    assert results["epoch"] == pytest.approx(1.0)  # 4 steps of 8 rows over 32 rows, not the teacher evaluator's 0

    # Run again: the finished teacher is reused and training resumes from the last checkpoint (nothing left to do);
    # the teacher's known metric need not be evaluated again.
    with caplog.at_level("INFO", logger="run_glue_top"):
        metrics = run_glue_top.main([*argv, "--eval_teacher", "false"])
    assert "teacher_eval_accuracy" not in metrics
    assert f"Reusing the fine-tuned teacher in {teacher_dir}" in caplog.text
    assert f"Checkpoint detected, resuming training at {output_dir / 'checkpoint-4'}" in caplog.text
    assert metrics["eval_accuracy"] == pytest.approx(results["eval_accuracy"])


@pytest.mark.parametrize(("extra_args", "expected"), [([], "accuracy"), (["--metric_for_best_model", "loss"], "loss")])
def test_best_checkpoint_is_chosen_on_the_task_metric_unless_told_otherwise(
    run_glue_top, tmp_path, classifier_dir, train_tsv, extra_args, expected
):
    # transformers alone would pick the evaluation loss whenever --load_best_model_at_end has no metric.
    output_dir = tmp_path / "out"
    argv = [
        "--model_name_or_path", str(classifier_dir), "--task_name", "sst2",
        "--train_file", str(train_tsv), "--validation_file", str(train_tsv), "--max_seq_length", "32",
        "--do_train", "--max_steps", "2", "--per_device_train_batch_size", "8", "--num_bins", "5",
        "--eval_strategy", "steps", "--eval_steps", "1", "--save_steps", "1", "--load_best_model_at_end",
        *extra_args, *_common_args(output_dir),
    ]  # fmt: skip
    run_glue_top.main(argv)
    saved_args = json.loads((output_dir / "training_args.json").read_text())
    assert saved_args["metric_for_best_model"] == expected
    assert saved_args["greater_is_better"] is (expected == "accuracy")


def test_a_given_teacher_distils_on_unlabeled_training_text(run_glue_top, capsys, tmp_path, classifier_dir, train_tsv):
    unlabeled = tmp_path / "unlabeled.tsv"
    unlabeled.write_text(
        "sentence\n" + "".join(line.split("\t")[0] + "\n" for line in train_tsv.read_text().splitlines()[1:])
    )
    argv = [
        "--model_name_or_path", str(classifier_dir), "--task_name", "sst2",
        "--train_file", str(unlabeled), "--validation_file", str(train_tsv), "--max_seq_length", "32",
        "--do_train", "--do_eval", "--max_steps", "2", "--per_device_train_batch_size", "8", "--num_bins", "5",
        "--sparsity_warmup_steps", "1", "--eval_teacher", "false",
    ]  # fmt: skip
    metrics = run_glue_top.main([*argv, *_common_args(tmp_path / "out")])
    assert json.loads((tmp_path / "out" / "trainer_state.json").read_text())["global_step"] == 2
    assert 0.0 <= metrics["eval_accuracy"] <= 1.0
    # With the task named, no labeled file is needed at all: its classes are the task's.
    train_only = [arg for arg in argv if arg not in ("--validation_file", str(train_tsv), "--do_eval")]
    run_glue_top.main([*train_only, *_common_args(tmp_path / "train-only")])
    assert json.loads((tmp_path / "train-only" / "trainer_state.json").read_text())["global_step"] == 2
    # Fine-tuning a teacher needs labels: the same file is then refused, naming it.
    with pytest.raises(SystemExit) as exit_info:
        run_glue_top.main([*argv, "--do_finetune_teacher", *_common_args(tmp_path / "finetuned")])
    assert exit_info.value.code == 2
    assert "unlabeled.tsv: missing column 'label'" in capsys.readouterr().err


def test_argument_given_reads_the_command_line_and_json_files(run_glue_top, tmp_path):
    assert run_glue_top.argument_given(["--metric_for_best_model", "f1"], "metric_for_best_model")
    assert run_glue_top.argument_given(["--metric_for_best_model=f1"], "metric_for_best_model")
    assert not run_glue_top.argument_given(["--metric_for_best_model_x", "f1"], "metric_for_best_model")
    arguments = tmp_path / "args.json"
    arguments.write_text(json.dumps({"metric_for_best_model": "f1"}))
    assert run_glue_top.argument_given([str(arguments)], "metric_for_best_model")
    assert not run_glue_top.argument_given([str(arguments)], "seed")


def test_evaluation_only_runs_the_model_as_loaded_with_config_overrides(
    run_glue_top, tmp_path, classifier_dir, train_tsv
):
    """`--do_eval` alone evaluates the checkpoint with the overrides (a plan, a ranking) and reports its FLOPs."""

    def evaluate(name: str, *extra: str) -> dict:
        argv = ["--model_name_or_path", str(classifier_dir), "--validation_file", str(train_tsv)]
        argv += ["--max_seq_length", "32", "--do_eval", "--eval_teacher", "false", *_common_args(tmp_path / name)]
        return run_glue_top.main([*argv, *extra])

    plan = {"token_keep_ratios": [1, 1, 0.5, 0.5]}
    dense = evaluate("dense")
    pruned = evaluate("plan", "--config_overrides", json.dumps(plan))
    random_tokens = evaluate("random", "--config_overrides", json.dumps(plan | {"token_ranking": "random"}))
    assert dense["eval_flops_reduction"] == 1.0 and dense["eval_sparsity"] == 0.0
    assert pruned["eval_flops_reduction"] > 1.5 and pruned["eval_sparsity"] > 0.3
    assert random_tokens["eval_flops_reduction"] == pruned["eval_flops_reduction"]
    assert (
        json.loads((tmp_path / "plan" / "eval_results.json").read_text())["eval_sparsity"] == pruned["eval_sparsity"]
    )
    assert not (tmp_path / "plan" / "config.json").exists()  # nothing was trained, nothing saved


class _Interrupted(Exception):
    """Stands for a killed process: raised by `_InterruptAfterStep` in the middle of training."""


class _InterruptAfterStep(TrainerCallback):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:  # before the step's checkpoint would be written
            raise _Interrupted


def _teacher_trainer(run_glue_top, output_dir: Path, callbacks: list[TrainerCallback]) -> Trainer:
    """A plain Trainer fine-tuning a fresh tiny classifier for 6 steps, checkpoints every 2, as the job's teacher."""
    torch.manual_seed(0)
    model = BertForSequenceClassification(BertConfig(**TINY_BERT))
    generator = torch.Generator().manual_seed(0)
    rows = [
        {"input_ids": torch.randint(5, TINY_BERT["vocab_size"], (12,), generator=generator), "labels": index % 2}
        for index in range(24)
    ]
    pruning_args = TopTrainingArguments(
        output_dir=str(output_dir.with_name("student")), save_steps=2, save_strategy="best", eval_strategy="steps",
        metric_for_best_model="loss", per_device_train_batch_size=4, seed=3, report_to="none", use_cpu=True,
    )  # fmt: skip
    model_args = run_glue_top.ModelArguments(
        model_name_or_path="unused", teacher_output_dir=str(output_dir), teacher_max_steps=6
    )
    teacher_args = run_glue_top.teacher_training_args(model_args, pruning_args)
    return Trainer(model=model, args=teacher_args, train_dataset=rows, callbacks=callbacks)


def test_an_interrupted_teacher_fine_tuning_resumes_from_its_last_checkpoint(run_glue_top, tmp_path, caplog):
    """A teacher fine-tuning of hours survives the end of a session: run again, it resumes where it stopped."""
    uninterrupted = run_glue_top.train_teacher(_teacher_trainer(run_glue_top, tmp_path / "whole" / "teacher", []))
    interrupted = tmp_path / "interrupted" / "teacher"
    with pytest.raises(_Interrupted):
        run_glue_top.train_teacher(_teacher_trainer(run_glue_top, interrupted, [_InterruptAfterStep(5)]))
    assert sorted(path.name for path in interrupted.iterdir()) == ["checkpoint-2", "checkpoint-4"]

    with caplog.at_level("INFO", logger="run_glue_top"):
        run_glue_top.train_teacher(_teacher_trainer(run_glue_top, interrupted, []))
    assert f"resuming at {interrupted / 'checkpoint-4'}" in caplog.text
    state = json.loads((interrupted / "checkpoint-6" / "trainer_state.json").read_text())
    assert state["global_step"] == 6
    expected = load_file(Path(uninterrupted) / "model.safetensors")
    resumed = load_file(interrupted / "model.safetensors")
    assert max((expected[name] - resumed[name]).abs().max().item() for name in expected) < 1e-6
