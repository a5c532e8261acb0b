#!/usr/bin/env python
"""
How closely a model's early layers rank tokens like its teacher's last layer: the agreement that ranking
distillation trains (see `docs/method.md`, "Ranking distillation").

For each model and each of its layers, over SQuAD validation windows (question and context, one window per
question, the context truncated to `--max_seq_length`) or the sentences of a GLUE-style TSV, run one at a time and
without a plan: the share of the teacher's top-k tokens that are also the layer's top-k (`overlap`, against `chance`,
`k / (n - 1)` for a window of `n` tokens), and the ranking loss of the layer's importance against the teacher's
last-layer importance, computed on the importance itself (the method's, `arp2`) and on its logarithm (`arp2_log`).
A model whose overlap stays at the teacher's own has not learnt to rank like the teacher's last layer. Results go to
`benchmarks/results/ranking_agreement.json` (`--name` picks another stem).

```bash
python benchmarks/ranking_agreement.py --teacher benchmarks/work/squad/teacher \
    --models benchmarks/work/squad/top-0.5 benchmarks/work/squad/top-0.5-ranklog --texts 400
```
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import torch
from common import SHARED_DATA, environment, save_results
from question_tokens import first_answers
from transformers import AutoConfig, AutoTokenizer

from transformers_top import top_model_class
from transformers_top.training.losses import rank_distillation_loss, teacher_final_importance, teacher_top_k


def squad_inputs(path: Path, count: int) -> list[tuple[str, str]]:
    """`(question, context)` of the first `count` answerable questions of a SQuAD file."""
    return [(row["question"], row["context"]) for row in first_answers(path, count)]


def tsv_inputs(path: Path, count: int) -> list[tuple[str]]:
    """The first `count` sentences (column `sentence`, else the first column) of a TSV file with a header."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    if not rows:
        raise ValueError(f"{path} has no rows")
    column = "sentence" if "sentence" in rows[0] else next(iter(rows[0]))
    return [(row[column],) for row in rows[:count]]


def load_dense(path: Path):
    """
    The ToP base model of a checkpoint (a ToP one, or the plain teacher it was distilled from) with no plan, so every
    layer sees every token and returns its importance.
    """
    config = AutoConfig.from_pretrained(path)
    model_class = top_model_class(config.model_type, "AutoModel")
    return model_class.from_pretrained(path, token_keep_ratios=None, token_keep_bins=None).eval()


@torch.no_grad()
def measure(teacher, models: dict[str, torch.nn.Module], tokenizer, texts: list[tuple], k: int, max_length: int):
    """Per model and layer: mean overlap of the top-k with the teacher's, and the two ranking losses."""
    num_layers = teacher.config.num_hidden_layers
    layers = list(range(num_layers))
    sums = {name: {key: [0.0] * num_layers for key in ("overlap", "arp2", "arp2_log")} for name in models}
    chance = 0.0
    for text in texts:
        inputs = tokenizer(*text, truncation="only_second" if len(text) == 2 else True, max_length=max_length,
                           return_tensors="pt")  # fmt: skip
        alive = inputs["attention_mask"].bool()
        hidden = teacher(**inputs, output_hidden_states=True).hidden_states
        target = teacher_final_importance(teacher, hidden[-2], alive)
        positions, _, valid = teacher_top_k(target, alive, k)
        teacher_top = set(positions[valid].tolist())
        candidates = int(alive.sum()) - 1
        chance += min(k, candidates) / candidates
        for name, model in models.items():
            importance = model(**inputs, importance_layers=layers).token_importance
            for layer in layers:
                scores = importance[layer].clone()
                scores[:, 0] = -1.0  # [CLS] is never ranked
                student_top = set(scores.topk(len(teacher_top), dim=1).indices[0].tolist())
                sums[name]["overlap"][layer] += len(student_top & teacher_top) / len(teacher_top)
                for key, score in (("arp2", "importance"), ("arp2_log", "log")):
                    loss = rank_distillation_loss(importance[layer], target, alive, k, "arp2", score)
                    sums[name][key][layer] += float(loss)
    count = len(texts)
    per_model = {
        name: {key: [round(value / count, 4) for value in values] for key, values in metrics.items()}
        for name, metrics in sums.items()
    }
    return {"texts": count, "chance_overlap": round(chance / count, 4), "models": per_model}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
    parser.add_argument("--teacher", type=Path, required=True, help="the dense teacher the models were distilled from")
    parser.add_argument("--models", type=Path, nargs="+", required=True, help="ToP model folders to compare")
    parser.add_argument("--validation_file", type=Path, default=SHARED_DATA / "squad" / "validation-v1.1.json",
                        help="a SQuAD JSON file, or a TSV of sentences (GLUE dev.tsv)")  # fmt: skip
    parser.add_argument("--texts", type=int, default=400, help="how many windows or sentences (the first)")
    parser.add_argument("--max_seq_length", type=int, default=384)
    parser.add_argument("--topk", type=int, default=20, help="the teacher's top-k tokens (rank_distill_topk)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--name", default="ranking_agreement", help="results file stem")
    args = parser.parse_args(argv)
    for path in (args.teacher, *args.models):
        if not (path / "config.json").is_file():
            parser.error(f"{path} is not a saved model folder")
    if not args.validation_file.is_file():
        parser.error(f"--validation_file {args.validation_file} not found")
    if args.texts < 1 or args.topk < 2 or args.threads < 1 or args.max_seq_length < 8:
        parser.error("--texts and --threads must be >= 1, --topk >= 2, --max_seq_length >= 8")
    torch.set_num_threads(args.threads)
    if args.validation_file.suffix == ".json":
        texts = squad_inputs(args.validation_file, args.texts)
    else:
        texts = tsv_inputs(args.validation_file, args.texts)
    try:
        models = {"teacher": load_dense(args.teacher)} | {path.name: load_dense(path) for path in args.models}
    except ValueError as error:
        parser.error(str(error))
    teacher = models["teacher"]  # the ToP model of the teacher's checkpoint, dense: it also returns hidden states
    tokenizer = AutoTokenizer.from_pretrained(args.teacher)
    result = measure(teacher, models, tokenizer, texts, args.topk, args.max_seq_length)
    print(f"top-{args.topk} overlap with the teacher's last layer (chance {result['chance_overlap']:.3f}), by layer:")
    for name, metrics in result["models"].items():
        print(f"{name:24} " + " ".join(f"{value:.3f}" for value in metrics["overlap"]))
    settings = {key: str(value) for key, value in vars(args).items()}
    record = {"environment": environment(threads=args.threads), "settings": settings} | result
    print(f"saved {save_results(args.name, record)}")
    return record


if __name__ == "__main__":
    main()
