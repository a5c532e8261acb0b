#!/usr/bin/env python
"""
ONNX Runtime graphs traced with eager attention (`export_onnx`'s default) against graphs traced with transformers'
sdpa attention, on a trained pruned model and its teacher.

Both graphs compute the same logits; sdpa's exported decomposition also guards every layer's attention probabilities
against the NaN of fully masked rows (`IsNaN` and `Where` over every score), work ONNX Runtime does on every input.
For the teacher and the pruned model, float32 and int8, each traced both ways: the batch-1 latency (median per text
over the first `--texts` evaluation texts, one at a time, `--repeats` interleaved rounds, contention recorded as in
`benchmarks/deployment.py`), with PyTorch's dense and pruned models as the reference, and how far the two graphs'
logits are apart on those texts. Results go to `benchmarks/results/<--name>.json`.

```bash
python benchmarks/onnx_attention.py --task imdb --teacher benchmarks/work/imdb/teacher \
    --model benchmarks/work/imdb/top-0.61-e3-dtrain_8k_seed13-frozen0-glen-bf16
```
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from common import REPO_ROOT, RESULTS_DIR, SHARED_DATA, save_results
from deployment import TASKS, interleaved, load_texts, logits_of, variants, variants_of
from transformers import AutoTokenizer

#: The ONNX Runtime variants of `benchmarks/deployment.py`, each traced with both attentions.
ORT_VARIANTS = ("ort dense fp32", "ort pruned fp32", "ort dense int8", "ort pruned int8")
ATTENTIONS = ("eager", "sdpa")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", choices=sorted(TASKS), required=True)
    parser.add_argument("--model", type=Path, required=True, help="the trained pruned model's folder")
    parser.add_argument("--teacher", type=Path, required=True, help="its dense teacher's folder")
    parser.add_argument("--texts", type=int, default=200, help="evaluation texts timed one at a time")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data_dir", type=Path, default=SHARED_DATA, help="where the task's files are")
    parser.add_argument("--work_dir", type=Path, default=REPO_ROOT / "benchmarks" / "work" / "deployment")
    parser.add_argument("--results_dir", type=Path, default=RESULTS_DIR, help=argparse.SUPPRESS)
    parser.add_argument("--name", help="results file stem (default: onnx_attention_TASK)")
    args = parser.parse_args(argv)
    if min(args.texts, args.repeats, args.threads) < 1:
        parser.error(f"--texts, --repeats and --threads must be positive, got {args.texts}, {args.repeats}, "
                     f"{args.threads}")  # fmt: skip
    args.name = args.name or f"onnx_attention_{args.task}"
    return args


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    texts = load_texts(args.task, args.data_dir)[0][: args.texts]
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    max_length = TASKS[args.task][2]
    singles = [dict(tokenizer([text], truncation=True, max_length=max_length, return_tensors="pt")) for text in texts]
    work_dir = args.work_dir / args.name
    eager = variants(args.model, args.teacher, work_dir, args.threads)
    dense, pruned = eager["pytorch dense"], eager["pytorch pruned"]
    sdpa = variants_of(dense, pruned, work_dir, args.threads, attn_implementation="sdpa")
    runs = {"pytorch dense": dense, "pytorch pruned": pruned}
    for name in ORT_VARIANTS:
        runs[f"{name} eager"], runs[f"{name} sdpa"] = eager[name], sdpa[name]
    timings = interleaved(runs, singles, args.repeats)
    rows = [{"variant": name, "batch1_ms": 1000 * timing["median_s"] / len(singles),
             "batch1_contended_rounds": timing["contended"]} for name, timing in timings.items()]  # fmt: skip
    pairs = []
    for name in ORT_VARIANTS:
        eager_logits = torch.cat([logits_of(runs[f"{name} eager"], batch) for batch in singles])
        sdpa_logits = torch.cat([logits_of(runs[f"{name} sdpa"], batch) for batch in singles])
        pairs.append({
            "variant": name,
            "sdpa_over_eager_time": timings[f"{name} sdpa"]["median_s"] / timings[f"{name} eager"]["median_s"],
            "max_logit_difference": float((eager_logits - sdpa_logits).abs().max()),
            "same_predictions": float((eager_logits.argmax(-1) == sdpa_logits.argmax(-1)).float().mean()),
        })  # fmt: skip
    lengths = [int(batch["input_ids"].shape[1]) for batch in singles]
    results = {
        "task": args.task,
        "model": str(args.model),
        "teacher": str(args.teacher),
        "texts": len(singles),
        "lengths": {"mean": sum(lengths) / len(lengths), "max": max(lengths), "truncated_to": max_length},
        "rows": rows,
        "pairs": pairs,
        "settings": {key: str(value) for key, value in vars(args).items()},
    }
    for row in rows + pairs:
        print(row, flush=True)
    print(f"saved {save_results(args.name, results, args.results_dir)}")
    return results


if __name__ == "__main__":
    main()
