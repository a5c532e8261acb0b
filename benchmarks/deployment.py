#!/usr/bin/env python
"""
Deployment speed: six variants of a model, PyTorch and ONNX Runtime, dense and pruned, float32 and int8.

- `--task sst2|imdb --model DIR --teacher DIR`: a trained pruned model and its dense teacher, on the task's real
  evaluation texts at their natural lengths. For each variant (`pytorch dense` (the teacher, float32), `pytorch
  pruned`, `ort dense fp32`, `ort pruned fp32`, `ort dense int8`, `ort pruned int8`): accuracy on every evaluation
  text, the FLOPs reduction on their real tokens, the batch-1 latency (median over the first `--latency_texts`
  texts, one at a time) and the batch-32 throughput (texts/s, batches in data order and sorted by length). Beside
  them, `pruning_operations`: the batch-1 latency of each pruned variant under a plan that decides at the same
  layers but keeps every token, against its dense variant: what ranking, selecting and gathering cost by themselves.
- `--task sst2|imdb --model DIR --plan_from RESULTS_JSON --plan_setting SETTING`: the latency of a plan without its
  trained model: `--model` is a dense checkpoint (a random classifier head on MiniLM-L6, say) and the pruned variants
  are the same weights under the plan of the `top` point `SETTING` of an `accuracy.py` results file. A pass costs the
  same for any weights of one shape (the plan and the texts' lengths fix every kept-token count), so the latencies and
  FLOPs are those of the trained model; its accuracy is in the results file, not measured here (`null`).
- `--task squad --model DIR --teacher DIR`: a pruned question-answering model and its teacher on the windows (384
  tokens, stride 128) of the SQuAD v1.1 validation questions: SQuAD F1 and exact match, the FLOPs reduction on the
  windows' real tokens and padded to 384, the batch-1 latency per window and the batch-32 throughput (windows/s).
- `--synthetic`: a bert-base-shaped model with random weights at 512 tokens, fixed plans at `--targets` FLOPs
  reductions (the `front` and `gradual` plans of `benchmarks/latency.py`), batch sizes `--batch_sizes`: the latency
  of the same six variants.

Timings interleave the variants round by round and record how long each run waited for a CPU (other processes make
a 2-thread timing on 2 cores unreliable), as `benchmarks/latency.py` does. The exports are cached in `--work_dir`.
Results go to `benchmarks/results/<--name>.json`.

```bash
python benchmarks/deployment.py --task sst2 --model benchmarks/work/demo/model --teacher benchmarks/work/demo/teacher
python benchmarks/deployment.py --task imdb --model MINILM_DIR --plan_from benchmarks/results/accuracy_imdb_p1.json \
    --plan_setting "target 0.7" --name deployment_imdb_p1_plan
python benchmarks/deployment.py --task squad --model benchmarks/work/squad/top-0.5 \
    --teacher benchmarks/work/squad/teacher
python benchmarks/deployment.py --synthetic --targets 4 --batch_sizes 1 8
```
"""

from __future__ import annotations

import argparse
import copy
import importlib
import json
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from common import REPO_ROOT, RESULTS_DIR, SHARED_DATA, recorded_plan, run_delay_seconds, save_results
from latency import BERT_BASE, CONTENTION_LIMIT, make_inputs, solve_plan, top_model_like
from transformers import (
    AutoModelForQuestionAnswering,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    BertConfig,
    BertForSequenceClassification,
)

from transformers_top import top_model_class
from transformers_top.models.flops import encoder_flops, flops_metrics
from transformers_top.onnx import (
    TopOnnxModelForQuestionAnswering,
    TopOnnxModelForSequenceClassification,
    export_onnx,
    quantize_exported,
)

#: The evaluation texts of each classification task (relative to ../shared/data), their text column and truncation
#: length.
TASKS = {"sst2": ("sst2/dev.tsv", "sentence", 64), "imdb": ("imdb/test_2k_seed13.jsonl", "text", 512)}
#: The question-answering task's validation questions (relative to ../shared/data).
SQUAD_FILE = "squad/validation-v1.1.json"
VARIANTS = (
    "pytorch dense",
    "pytorch pruned",
    "ort dense fp32",
    "ort pruned fp32",
    "ort dense int8",
    "ort pruned int8",
)
THROUGHPUT_BATCH = 32


def load_texts(task: str, data_dir: Path = SHARED_DATA) -> tuple[list[str], list[int]]:
    """The task's evaluation texts and labels in `data_dir` (../shared/data), read as the example scripts do."""
    path, column, _ = TASKS[task]
    rows = examples_module("task_files").read_data_file(data_dir / path)
    return list(rows[column]), [int(label) for label in rows["label"]]


def variants(
    model_dir: Path, teacher_dir: Path, work_dir: Path, threads: int, question_answering: bool = False
) -> dict[str, object]:
    """The six callables (classifiers, or question-answering models), each taking tokenizer outputs (torch)."""
    auto_class = AutoModelForQuestionAnswering if question_answering else AutoModelForSequenceClassification
    teacher = auto_class.from_pretrained(teacher_dir).eval()
    model_type = json.loads((model_dir / "config.json").read_text())["model_type"]
    pruned = top_model_class(model_type, auto_class.__name__).from_pretrained(model_dir).eval()
    ort_class = TopOnnxModelForQuestionAnswering if question_answering else TopOnnxModelForSequenceClassification
    return variants_of(teacher, pruned, work_dir, threads, ort_class)


def plan_variants(model_dir: Path, plan: dict, work_dir: Path, threads: int) -> dict[str, object]:
    """
    The six variants of the dense classifier in `model_dir` (a head it lacks drawn with seed 0) and of its weights
    under `plan`.
    """
    torch.manual_seed(0)
    dense = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    pruned = top_model_like(dense, **plan)
    return variants_of(dense, pruned, work_dir, threads)


def outputs_of(run, batch: dict[str, torch.Tensor]):
    with torch.inference_mode():
        return run(**batch)


def logits_of(run, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    return outputs_of(run, batch).logits


def timed(run, batches: list[dict[str, torch.Tensor]]) -> tuple[float, float]:
    """Seconds of one pass over `batches`, and the fraction of it this process waited for a CPU."""
    waited, start = run_delay_seconds(), time.perf_counter()
    for batch in batches:
        outputs_of(run, batch)
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


def flops_reduction_bounds(config, lengths: list[int]) -> dict[str, float]:
    """
    The most a plan could save on texts of `lengths` real tokens, by the first layer it prunes at: FLOPs reduction if
    every token but [CLS] left at that layer (the layers before it, and its own attention, stay whole). Keyed by
    layer index (a string, for JSON).
    """
    layers, counts = config.num_hidden_layers, Counter(lengths)

    def flops(length: int, first: int) -> int:
        return encoder_flops([length] * first + [1] * (layers - first), config.hidden_size, config.intermediate_size)

    dense = sum(count * flops(length, layers) for length, count in counts.items())
    return {
        str(first): dense / sum(count * flops(length, first) for length, count in counts.items())
        for first in range(1, layers)
    }


def task_benchmark(args: argparse.Namespace) -> dict:
    texts, labels = load_texts(args.task, args.data_dir)
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    max_length = TASKS[args.task][2]
    if args.plan_from:
        runs = plan_variants(args.model, args.plan, args.work_dir / args.name, args.threads)
    else:
        runs = variants(args.model, args.teacher, args.work_dir / args.name, args.threads)

    def encode(indices: list[int]) -> dict[str, torch.Tensor]:
        chunk = [texts[index] for index in indices]
        return dict(tokenizer(chunk, padding=True, truncation=True, max_length=max_length, return_tensors="pt"))

    lengths = [len(ids) for ids in tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]]
    singles = [encode([index]) for index in range(min(args.latency_texts, len(texts)))]
    pruned_config = runs["pytorch pruned"].config
    reduction = flops_metrics(pruned_config, lengths, prefix="eval")["eval_flops_reduction"]
    bounds = flops_reduction_bounds(pruned_config, lengths)
    rows = {name: {"accuracy": None, "flops_reduction": reduction if "pruned" in name else 1.0} for name in runs}
    if not args.plan_from:  # a plan's latency alone: the weights are not the trained ones
        by_length, sorted_batches = batches_by_length(encode, range(len(texts)), lengths)
        expected = torch.tensor([labels[index] for index in by_length])
        for name, run in runs.items():
            predictions = torch.cat([logits_of(run, batch) for batch in sorted_batches]).argmax(-1)
            rows[name]["accuracy"] = float((predictions == expected).float().mean())
    timed_texts = time_variants(runs, rows, encode, lengths, singles, args)
    operations = pruning_operations_latency(runs, args.work_dir / args.name, args.threads, singles, args.repeats)
    return {
        "task": args.task,
        "model": str(args.model),
        "teacher": str(args.teacher) if args.teacher else None,
        "plan_from": {"file": str(args.plan_from), "setting": args.plan_setting} if args.plan_from else None,
        "plan": pruned_config.plan_dict(),
        "texts": len(texts),
        "lengths": {"mean": sum(lengths) / len(lengths), "max": max(lengths), "truncated_to": max_length},
        "flops_reduction_bounds": bounds,
        "latency_texts": len(singles),
        "throughput_texts": timed_texts,
        "throughput_batch_size": THROUGHPUT_BATCH,
        "rows": [{"variant": name, **values} for name, values in rows.items()],
        "pruning_operations": operations,
    }


def batches_by_length(encode, indices, lengths: list[int]) -> tuple[list[int], list[dict[str, torch.Tensor]]]:
    """`indices` sorted by length, and `encode`d in batches of `THROUGHPUT_BATCH` in that order."""
    by_length = sorted(indices, key=lambda index: lengths[index])
    chunks = range(0, len(by_length), THROUGHPUT_BATCH)
    return by_length, [encode(by_length[start : start + THROUGHPUT_BATCH]) for start in chunks]


def time_variants(
    runs: dict[str, object], rows: dict[str, dict], encode, lengths: list[int], singles: list, args: argparse.Namespace
) -> int:
    """
    Add to each variant's row its batch-1 latency (ms per input, median of `--repeats` interleaved passes over
    `singles`) and its throughput over the first `--throughput_texts` inputs (all by default; inputs/s, batches of
    `THROUGHPUT_BATCH` in data order and sorted by length). `encode` makes a batch of the inputs at some indices.

    Returns:
        `int`: how many inputs the throughput passes ran.
    """
    count = min(args.throughput_texts or len(lengths), len(lengths))
    data_order = [encode(list(range(start, min(start + THROUGHPUT_BATCH, count))))
                  for start in range(0, count, THROUGHPUT_BATCH)]  # fmt: skip
    sorted_batches = batches_by_length(encode, range(count), lengths)[1]
    for label, batches, per in (
        ("batch1", singles, len(singles)),
        ("throughput_data_order", data_order, count),
        ("throughput_sorted", sorted_batches, count),
    ):
        for name, timing in interleaved(runs, batches, args.repeats).items():
            value = 1000 * timing["median_s"] / per if label == "batch1" else per / timing["median_s"]
            rows[name][f"{label}_{'ms' if label == 'batch1' else 'texts_per_s'}"] = value
            rows[name][f"{label}_contended_rounds"] = timing["contended"]
    return count


def keep_everything(pruned):
    """
    A copy of `pruned` whose plan decides at the same layers but keeps every token: each deciding layer keeps the
    ratio `1 - 1 / (2 * max_position_embeddings)`, `ceil` of which is every token of any input the model accepts.
    """
    keep_all = 1 - 1 / (2 * pruned.config.max_position_embeddings)
    ratios = [1.0 if plan is None else keep_all for plan in pruned.base_model.current_layer_plans()]
    model = copy.deepcopy(pruned)
    model.config.token_keep_bins = None
    model.config.token_keep_ratios = ratios
    model.config.check_pruning_plan()
    return model


def pruning_operations_latency(
    runs: dict[str, object], work_dir: Path, threads: int, singles: list[dict[str, torch.Tensor]], repeats: int
) -> dict[str, dict]:
    """
    What the pruning's own operations cost: each pruned variant of the plan that keeps every token
    (`keep_everything`: the same importance, ranking, selection and gathering at the same layers, on every token)
    against its dense variant, batch 1 over `singles`, interleaved (median of `repeats` rounds).

    Returns:
        `{pruned variant: {"keep_everything_batch1_ms", "dense_batch1_ms", "contended_rounds"}}`.
    """
    keep_all = keep_everything(runs["pytorch pruned"])
    timed_runs = {name: runs[name] for name in ("pytorch dense", "ort dense fp32", "ort dense int8")}
    timed_runs["pytorch pruned"] = keep_all
    ort_class = type(runs["ort pruned fp32"])
    fp32, int8 = exported_pair(keep_all, work_dir, "keep-everything")
    timed_runs["ort pruned fp32"] = ort_class(fp32, num_threads=threads)
    timed_runs["ort pruned int8"] = ort_class(int8, num_threads=threads)
    timings = interleaved(timed_runs, singles, repeats)
    results = {}
    for name in ("pytorch pruned", "ort pruned fp32", "ort pruned int8"):
        pruned_timing, dense_timing = timings[name], timings[name.replace("pruned", "dense")]
        results[name] = {
            "keep_everything_batch1_ms": 1000 * pruned_timing["median_s"] / len(singles),
            "dense_batch1_ms": 1000 * dense_timing["median_s"] / len(singles),
            "contended_rounds": pruned_timing["contended"] + dense_timing["contended"],
        }
    return results


def examples_module(name: str):
    """A module of `examples/` (the example scripts' data reading, windowing and metrics), imported by name."""
    if str(REPO_ROOT / "examples") not in sys.path:
        sys.path.insert(0, str(REPO_ROOT / "examples"))
    return importlib.import_module(name)


def squad_modules():
    """The SQuAD reading, windowing and post-processing, and the official metrics, of `examples/` (run_qa_top.py's)."""
    return examples_module("squad_data"), examples_module("squad_metrics")


def squad_windows(tokenizer, path: Path, max_seq_length: int, doc_stride: int, max_questions: int | None = None):
    """
    The questions of a SQuAD v1.1 file (the first `max_questions`) and their windows, as `examples/run_qa_top.py`
    evaluates them.
    """
    squad_data, _ = squad_modules()
    examples = squad_data.read_squad_file(path)
    if max_questions is not None:
        examples = examples.select(range(min(max_questions, len(examples))))
    settings = {"tokenizer": tokenizer, "max_seq_length": max_seq_length, "doc_stride": doc_stride}
    features = examples.map(
        squad_data.prepare_validation_features, batched=True, remove_columns=examples.column_names, fn_kwargs=settings
    )
    return examples, features


def window_encoder(tokenizer, features):
    """
    A function that pads the windows at some indices into one batch of model inputs (torch), and every window's
    length in tokens.
    """
    columns = [name for name in ("input_ids", "token_type_ids", "attention_mask") if name in features.column_names]
    windows = features.select_columns(columns)[:]

    def encode(indices: list[int]) -> dict[str, torch.Tensor]:
        chosen = {name: [windows[name][index] for index in indices] for name in columns}
        return dict(tokenizer.pad(chosen, return_tensors="pt"))

    return encode, [len(ids) for ids in windows["input_ids"]]


def squad_scores(run, batches: list[dict[str, torch.Tensor]], order: list[int], examples, features) -> dict:
    """SQuAD v1.1 exact match and F1 (percent) of one variant, from its span logits over the windows' `batches`."""
    squad_data, squad_metrics = squad_modules()
    lengths = [len(ids) for ids in features["input_ids"]]
    start = np.full((len(lengths), max(lengths)), -100.0, dtype=np.float32)
    end = np.full_like(start, -100.0)
    position = 0
    for batch in batches:
        output = outputs_of(run, batch)
        for row in range(len(batch["input_ids"])):
            window = order[position]
            start[window, : lengths[window]] = output.start_logits[row, : lengths[window]].numpy()
            end[window, : lengths[window]] = output.end_logits[row, : lengths[window]].numpy()
            position += 1
    predictions = squad_data.postprocess_predictions(examples, features, start, end)
    references = {row["id"]: row["answers"]["text"] for row in examples}
    return squad_metrics.squad_metrics(predictions, references)


def squad_benchmark(args: argparse.Namespace) -> dict:
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    windowing = {"max_seq_length": args.max_seq_length, "doc_stride": args.doc_stride}
    examples, features = squad_windows(
        tokenizer, args.data_dir / SQUAD_FILE, **windowing, max_questions=args.max_questions
    )
    runs = variants(args.model, args.teacher, args.work_dir / args.name, args.threads, question_answering=True)
    encode, lengths = window_encoder(tokenizer, features)
    by_length, sorted_batches = batches_by_length(encode, range(len(lengths)), lengths)
    singles = [encode([index]) for index in range(min(args.latency_texts, len(lengths)))]
    pruned_config = runs["pytorch pruned"].config
    flops = flops_metrics(pruned_config, lengths, padded_length=args.max_seq_length, prefix="eval")
    rows = {}
    for name, run in runs.items():
        scores = squad_scores(run, sorted_batches, by_length, examples, features)
        reduction = flops["eval_flops_reduction"] if "pruned" in name else 1.0
        rows[name] = {"f1": scores["f1"], "exact_match": scores["exact_match"], "flops_reduction": reduction}
    timed_windows = time_variants(runs, rows, encode, lengths, singles, args)
    return {
        "task": "squad",
        "model": str(args.model),
        "teacher": str(args.teacher),
        "plan": pruned_config.plan_dict(),
        "questions": len(examples),
        "windows": len(lengths),
        "windowing": windowing,
        # The pruned model's FLOPs against the dense model's on the same windows, and against dense windows padded
        # to max_seq_length (the paper's convention).
        "flops_reduction": flops["eval_flops_reduction"],
        "flops_reduction_padded": flops["eval_flops_reduction_padded"],
        "lengths": {"mean": sum(lengths) / len(lengths), "max": max(lengths)},
        "latency_windows": len(singles),
        "throughput_windows": timed_windows,
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


def variants_of(
    dense,
    pruned,
    work_dir: Path,
    threads: int,
    ort_class=TopOnnxModelForSequenceClassification,
    attn_implementation: str = "eager",
) -> dict[str, object]:
    """
    The six variants of a dense model and its pruned copy, the ONNX graphs traced with `attn_implementation` (cached
    in `work_dir`, one folder per graph and attention).
    """
    runs = {"pytorch dense": dense, "pytorch pruned": pruned}
    for kind, model in (("dense", dense), ("pruned", pruned)):
        fp32, int8 = exported_pair(model, work_dir, kind, attn_implementation)
        runs[f"ort {kind} fp32"] = ort_class(fp32, num_threads=threads)
        runs[f"ort {kind} int8"] = ort_class(int8, num_threads=threads)
    return runs


def exported_pair(model, work_dir: Path, kind: str, attn_implementation: str = "eager") -> tuple[Path, Path]:
    """
    The float32 and int8 ONNX folders of `model` (`work_dir / f"{kind}-fp32-{attn_implementation}"` and `-int8-`),
    exported once and kept: the int8 graph is the float32 one quantized (`quantize_exported`), not traced again.
    """
    fp32, int8 = (work_dir / f"{kind}-{suffix}-{attn_implementation}" for suffix in ("fp32", "int8"))
    if not fp32.is_dir():
        export_onnx(model, fp32, attn_implementation=attn_implementation)
    if not int8.is_dir():
        quantize_exported(fp32, int8)
    return fp32, int8


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
    parser.add_argument("--task", choices=[*sorted(TASKS), "squad"])
    parser.add_argument("--model", type=Path, help="the trained pruned model's folder (--plan_from: a dense one)")
    parser.add_argument("--teacher", type=Path, help="its dense teacher's folder")
    parser.add_argument("--plan_from", type=Path, help="an accuracy.py results file: time a plan of it on --model")
    parser.add_argument("--plan_setting", help="with --plan_from: the setting of its `top` point, e.g. 'target 0.7'")
    parser.add_argument("--synthetic", action="store_true", help="bert-base shape, random weights, fixed plans")
    parser.add_argument("--targets", type=float, nargs="+", default=[4.0], help="FLOPs reductions (--synthetic)")
    parser.add_argument("--batch_sizes", type=int, nargs="+", default=[1, 8], help="batch sizes (--synthetic)")
    parser.add_argument("--latency_texts", type=int, default=300, help="texts (SQuAD: windows) timed one at a time")
    parser.add_argument("--max_questions", type=int, help="SQuAD: only the first questions (a quick run)")
    parser.add_argument(
        "--throughput_texts", type=int, help="the batch-32 throughput over the first texts only (default: all)"
    )
    parser.add_argument("--max_seq_length", type=int, default=384, help="SQuAD: the windows' length (tokens)")
    parser.add_argument("--doc_stride", type=int, default=128, help="SQuAD: context tokens consecutive windows share")
    parser.add_argument("--data_dir", type=Path, default=SHARED_DATA, help="where the task's files are")
    parser.add_argument("--results_dir", type=Path, default=RESULTS_DIR, help=argparse.SUPPRESS)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--work_dir", type=Path, default=REPO_ROOT / "benchmarks" / "work" / "deployment")
    parser.add_argument("--name", help="results file stem (default: deployment_TASK or deployment_bert_base)")
    args = parser.parse_args(argv)
    if args.synthetic == bool(args.task):
        parser.error("give --task with --model and --teacher, or --synthetic")
    if args.plan_from:
        if args.task not in TASKS or not args.model or args.teacher or not args.plan_setting:
            parser.error("--plan_from needs --task sst2|imdb, --model (a dense checkpoint), --plan_setting and no "
                         "--teacher")  # fmt: skip
        if not args.plan_from.is_file():
            parser.error(f"--plan_from {args.plan_from} is not a file")
        try:
            args.plan = recorded_plan(args.plan_from, args.plan_setting)
        except ValueError as error:
            parser.error(str(error))
    elif args.task and not (args.model and args.teacher):
        parser.error("--task needs --model (the pruned model) and --teacher (its dense teacher)")
    counts = (args.repeats, args.threads, args.latency_texts, args.max_questions or 1, args.throughput_texts or 1)
    if min(counts) < 1:
        parser.error("--repeats, --threads, --latency_texts, --max_questions and --throughput_texts must be positive")
    args.name = args.name or ("deployment_bert_base" if args.synthetic else f"deployment_{args.task}")
    torch.set_num_threads(args.threads)
    benchmark = synthetic_benchmark if args.synthetic else squad_benchmark if args.task == "squad" else task_benchmark
    results = benchmark(args)
    for row in results["rows"]:
        print({key: value for key, value in row.items() if key not in ("runs_s", "token_keep_ratios")}, flush=True)
    if "pruning_operations" in results:
        print({"pruning_operations": results["pruning_operations"]}, flush=True)
    results["settings"] = {key: str(value) for key, value in vars(args).items()}
    print(f"saved {save_results(args.name, results, args.results_dir)}")
    return results


if __name__ == "__main__":
    main()
