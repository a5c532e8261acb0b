#!/usr/bin/env python
"""
Deployment speed: six variants of a model, PyTorch and ONNX Runtime, dense and pruned, float32 and int8.

- `--task sst2|imdb --model DIR --teacher DIR`: a trained pruned model and its dense teacher, on the task's real
  evaluation texts at their natural lengths. For each variant (`pytorch dense` (the teacher, float32), `pytorch
  pruned`, `ort dense fp32`, `ort pruned fp32`, `ort dense int8`, `ort pruned int8`): accuracy on every evaluation
  text, the FLOPs reduction on their real tokens, the batch-1 latency (median over the first `--latency_texts`
  texts, one at a time) and the batch-32 throughput (texts/s, batches in data order and sorted by length).
- `--synthetic`: a bert-base-shaped model with random weights at 512 tokens, fixed plans at `--targets` FLOPs
  reductions (the `front` and `gradual` plans of `benchmarks/latency.py`), batch sizes `--batch_sizes`: the latency
  of the same six variants.

Timings interleave the variants round by round and record how long each run waited for a CPU (other processes make
a 2-thread timing on 2 cores unreliable), as `benchmarks/latency.py` does. The exports are cached in `--work_dir`.
Results go to `benchmarks/results/<--name>.json`.

```bash
python benchmarks/deployment.py --task sst2 --model benchmarks/work/demo/model --teacher benchmarks/work/demo/teacher
python benchmarks/deployment.py --synthetic --targets 4 --batch_sizes 1 8
```
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch
from common import REPO_ROOT, SHARED_DATA, run_delay_seconds, save_results
from latency import BERT_BASE, CONTENTION_LIMIT, make_inputs, solve_plan, top_model_like
from transformers import AutoModelForSequenceClassification, AutoTokenizer, BertConfig, BertForSequenceClassification

from transformers_top import top_model_class
from transformers_top.models.flops import flops_metrics
from transformers_top.onnx import TopOnnxModelForSequenceClassification, export_onnx

#: The evaluation texts of each task (relative to ../shared/data), their text column and truncation length.
TASKS = {"sst2": ("sst2/dev.tsv", "sentence", 64), "imdb": ("imdb/test_2k_seed13.jsonl", "text", 512)}
VARIANTS = (
    "pytorch dense",
    "pytorch pruned",
    "ort dense fp32",
    "ort pruned fp32",
    "ort dense int8",
    "ort pruned int8",
)
THROUGHPUT_BATCH = 32


def load_texts(task: str) -> tuple[list[str], list[int]]:
    """The task's evaluation texts and labels, read from ../shared/data."""
    path, column, _ = TASKS[task]
    path = SHARED_DATA / path
    if path.suffix == ".jsonl":
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        return [row[column] for row in rows], [int(row["label"]) for row in rows]
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    rows = [dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:] if line]
    return [row[column] for row in rows], [int(row["label"]) for row in rows]


def variants(model_dir: Path, teacher_dir: Path, work_dir: Path, threads: int) -> dict[str, object]:
    """The six callables, each taking tokenizer outputs (torch) and returning logits."""
    teacher = AutoModelForSequenceClassification.from_pretrained(teacher_dir).eval()
    model_type = json.loads((model_dir / "config.json").read_text())["model_type"]
    pruned = top_model_class(model_type).from_pretrained(model_dir).eval()
    return variants_of(teacher, pruned, work_dir, threads)


def logits_of(run, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    with torch.inference_mode():
        return run(**batch).logits


def timed(run, batches: list[dict[str, torch.Tensor]]) -> tuple[float, float]:
    """Seconds of one pass over `batches`, and the fraction of it this process waited for a CPU."""
    waited, start = run_delay_seconds(), time.perf_counter()
    for batch in batches:
        logits_of(run, batch)
    elapsed = time.perf_counter() - start
    return elapsed, (run_delay_seconds() - waited) / elapsed


def interleaved(runs: dict[str, object], batches: list[dict[str, torch.Tensor]], repeats: int) -> dict[str, dict]:
    """Median pass time of each run over `batches`, interleaved round by round (order rotated), after a warm-up."""
    names = list(runs)
    seconds, contended = {name: [] for name in names}, dict.fromkeys(names, 0)
    for name in names:
        timed(runs[name], batches[:2])
    for round_index in range(repeats):
        shift = round_index % len(names)
        for name in names[shift:] + names[:shift]:
            elapsed, waited = timed(runs[name], batches)
            seconds[name].append(elapsed)
            contended[name] += waited > CONTENTION_LIMIT
    return {
        name: {"median_s": statistics.median(seconds[name]), "runs_s": seconds[name], "contended": contended[name]}
        for name in names
    }


def task_benchmark(args: argparse.Namespace) -> dict:
    texts, labels = load_texts(args.task)
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    max_length = TASKS[args.task][2]
    runs = variants(args.model, args.teacher, args.work_dir / args.name, args.threads)

    def encode(chunk: list[str]) -> dict[str, torch.Tensor]:
        return dict(tokenizer(chunk, padding=True, truncation=True, max_length=max_length, return_tensors="pt"))

    lengths = [len(ids) for ids in tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]]
    by_length = sorted(range(len(texts)), key=lambda index: lengths[index])
    data_order = [encode(texts[i : i + THROUGHPUT_BATCH]) for i in range(0, len(texts), THROUGHPUT_BATCH)]
    sorted_batches = [encode([texts[j] for j in by_length[i : i + THROUGHPUT_BATCH]])
                      for i in range(0, len(texts), THROUGHPUT_BATCH)]  # fmt: skip
    singles = [encode([text]) for text in texts[: args.latency_texts]]
    pruned_config = runs["pytorch pruned"].config
    reduction = flops_metrics(pruned_config, lengths, prefix="eval")["eval_flops_reduction"]
    rows = {}
    for name, run in runs.items():
        predictions = torch.cat([logits_of(run, batch) for batch in sorted_batches]).argmax(-1)
        expected = torch.tensor([labels[index] for index in by_length])
        rows[name] = {"accuracy": float((predictions == expected).float().mean()),
                      "flops_reduction": reduction if "pruned" in name else 1.0}  # fmt: skip
    for label, batches, per in (
        ("batch1", singles, len(singles)),
        ("throughput_data_order", data_order, len(texts)),
        ("throughput_sorted", sorted_batches, len(texts)),
    ):
        for name, timing in interleaved(runs, batches, args.repeats).items():
            value = 1000 * timing["median_s"] / per if label == "batch1" else per / timing["median_s"]
            rows[name][f"{label}_{'ms' if label == 'batch1' else 'texts_per_s'}"] = value
            rows[name][f"{label}_contended_rounds"] = timing["contended"]
    return {
        "task": args.task,
        "model": str(args.model),
        "teacher": str(args.teacher),
        "plan": pruned_config.plan_dict(),
        "texts": len(texts),
        "lengths": {"mean": sum(lengths) / len(lengths), "max": max(lengths), "truncated_to": max_length},
        "latency_texts": len(singles),
        "throughput_batch_size": THROUGHPUT_BATCH,
        "rows": [{"variant": name, **values} for name, values in rows.items()],
    }


def synthetic_benchmark(args: argparse.Namespace) -> dict:
    torch.manual_seed(0)
    dense = BertForSequenceClassification(BertConfig(**BERT_BASE, attn_implementation="sdpa")).eval()
    top = top_model_like(dense)
    cases = []
    for family in ("front", "gradual"):
        for target in args.targets:
            plan = solve_plan(top.config, family, target, 512)
            top.config.token_keep_ratios = plan
            runs = variants_of(dense, top, args.work_dir / args.name / f"{family}-{target:g}", args.threads)
            for batch_size in args.batch_sizes:
                inputs = make_inputs(dense.config.vocab_size, batch_size, 512, ragged=False)
                inputs["token_type_ids"] = torch.zeros_like(inputs["input_ids"])
                for name, timing in interleaved(runs, [inputs], args.repeats).items():
                    cases.append({"family": family, "target_flops_reduction": target, "token_keep_ratios": plan,
                                  "batch_size": batch_size, "variant": name, **timing})  # fmt: skip
    return {"model": "bert-base shape, random weights", "sequence_length": 512, "rows": cases}


def variants_of(dense, pruned, work_dir: Path, threads: int) -> dict[str, object]:
    """The six variants of a dense model and its pruned copy (the ONNX exports cached in `work_dir`)."""
    runs = {"pytorch dense": dense, "pytorch pruned": pruned}
    for kind, model in (("dense", dense), ("pruned", pruned)):
        for quantize, suffix in ((None, "fp32"), ("int8", "int8")):
            folder = work_dir / f"{kind}-{suffix}"
            if not folder.is_dir():
                export_onnx(model, folder, quantize=quantize)
            runs[f"ort {kind} {suffix}"] = TopOnnxModelForSequenceClassification(folder, num_threads=threads)
    return runs


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
    parser.add_argument("--task", choices=sorted(TASKS))
    parser.add_argument("--model", type=Path, help="the trained pruned model's folder")
    parser.add_argument("--teacher", type=Path, help="its dense teacher's folder")
    parser.add_argument("--synthetic", action="store_true", help="bert-base shape, random weights, fixed plans")
    parser.add_argument("--targets", type=float, nargs="+", default=[4.0], help="FLOPs reductions (--synthetic)")
    parser.add_argument("--batch_sizes", type=int, nargs="+", default=[1, 8], help="batch sizes (--synthetic)")
    parser.add_argument("--latency_texts", type=int, default=300, help="texts timed one at a time")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--work_dir", type=Path, default=REPO_ROOT / "benchmarks" / "work" / "deployment")
    parser.add_argument("--name", help="results file stem (default: deployment_TASK or deployment_bert_base)")
    args = parser.parse_args(argv)
    if args.synthetic == bool(args.task):
        parser.error("give --task with --model and --teacher, or --synthetic")
    if args.task and not (args.model and args.teacher):
        parser.error("--task needs --model (the pruned model) and --teacher (its dense teacher)")
    if args.repeats < 1 or args.threads < 1 or args.latency_texts < 1:
        parser.error("--repeats, --threads and --latency_texts must be positive")
    args.name = args.name or ("deployment_bert_base" if args.synthetic else f"deployment_{args.task}")
    torch.set_num_threads(args.threads)
    results = synthetic_benchmark(args) if args.synthetic else task_benchmark(args)
    for row in results["rows"]:
        print({key: value for key, value in row.items() if key not in ("runs_s", "token_keep_ratios")}, flush=True)
    results["settings"] = {key: str(value) for key, value in vars(args).items()}
    print(f"saved {save_results(args.name, results)}")
    return results


if __name__ == "__main__":
    main()
