#!/usr/bin/env python
"""
Which tokens a pruned question-answering model keeps: at each layer, the fraction of the question's tokens, of the
context's and of the gold answer's that are still in the sequence, over SQuAD validation windows.

A ToP question-answering model may prune question tokens like any other token (see `docs/method.md`, "Question
answering"); this measures what its ranking does with them, and how often the answer itself leaves before the last
layer (its span logits then come from the state it carried when it was dropped). One window per question (the
context truncated to `--max_seq_length`), the questions whose first answer lies inside it, one at a time; which
tokens a decision keeps is read from the model's own importance (`importance_layers`) and plan, with the library's
ranking functions. Results go to `benchmarks/results/question_tokens.json` (`--name` picks another stem).

```bash
python benchmarks/question_tokens.py --model benchmarks/work/squad/top-0.5 --questions 400
python benchmarks/question_tokens.py --model benchmarks/work/squad/teacher --plan_of benchmarks/work/squad/top-0.5
```
The second runs the dense teacher under the pruned model's plan and ranking settings (`--plan_of`): what the ranking
keeps before any pruning-aware training.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from common import SHARED_DATA, environment, save_results
from transformers import AutoConfig, AutoModelForQuestionAnswering, AutoTokenizer

from transformers_top import top_model_class
from transformers_top.models.token_selection import kept_by_plan, rank_alive_tokens


def first_answers(path: Path, count: int) -> list[dict]:
    """The first `count` questions of a SQuAD file with their context and first answer (character span)."""
    rows = []
    for article in json.loads(path.read_text(encoding="utf-8"))["data"]:
        for paragraph in article["paragraphs"]:
            for qa in paragraph["qas"]:
                if qa["answers"]:
                    answer = qa["answers"][0]
                    start = answer["answer_start"]
                    span = (start, start + len(answer["text"]))
                    rows.append({"question": qa["question"], "context": paragraph["context"], "answer": span})
    return rows[:count]


def surviving_positions(model, inputs: dict[str, torch.Tensor]) -> list[torch.Tensor]:
    """The original positions of the tokens entering each layer, for one unpadded window."""
    base = model.base_model
    plans = model.config.layer_plans()
    deciding = [layer - 1 for layer, plan in enumerate(plans) if plan is not None]
    with torch.no_grad():
        importance = model(**inputs, importance_layers=deciding).token_importance
    token_type_ids = inputs.get("token_type_ids")
    positions = torch.arange(inputs["input_ids"].shape[1])
    entering = []
    for layer, plan in enumerate(plans):
        if plan is not None:
            alive = torch.ones_like(importance[layer - 1], dtype=torch.bool)
            types = None if token_type_ids is None else token_type_ids[:, positions]
            # The model's own scores: pooled and with its protected tokens first, when it is so configured.
            scores = base.ranking_scores(importance[layer - 1], base.protected_tokens(alive, types))
            ranks, num_alive = rank_alive_tokens(scores, alive)
            keep = kept_by_plan(ranks, num_alive, plan.keep_ratio, plan.keep_bins)[0]
            keep[0] = True  # [CLS]
            positions = positions[keep]
        entering.append(positions)
    return entering


def measure(model, tokenizer, rows: list[dict], max_seq_length: int) -> dict:
    """Per layer, the kept fractions of question, context and answer tokens over the windows holding their answer."""
    num_layers = model.config.num_hidden_layers
    kept = {part: [0] * num_layers for part in ("question", "context", "answer")}
    totals = dict.fromkeys(kept, 0)
    windows = 0
    for row in rows:
        encoded = tokenizer(
            row["question"], row["context"], truncation="only_second", max_length=max_seq_length,
            return_offsets_mapping=True, return_tensors="pt",
        )  # fmt: skip
        offsets = encoded.pop("offset_mapping")[0].tolist()
        parts = encoded.sequence_ids(0)
        start, end = row["answer"]
        answer = {i for i, (a, b) in enumerate(offsets) if parts[i] == 1 and a < end and b > start}
        if not answer or max(offsets[i][1] for i in answer) < end:
            continue  # the answer is cut off by the truncation
        windows += 1
        groups = {
            "question": {i for i, part in enumerate(parts) if part == 0},
            "context": {i for i, part in enumerate(parts) if part == 1},
            "answer": answer,
        }
        for part, members in groups.items():
            totals[part] += len(members)
        for layer, positions in enumerate(surviving_positions(model, dict(encoded))):
            alive = set(positions.tolist())
            for part, members in groups.items():
                kept[part][layer] += len(members & alive)
    return {
        "windows": windows,
        "tokens": totals,
        "kept_fraction": {part: [count / totals[part] for count in counts] for part, counts in kept.items()},
    }


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
    parser.add_argument("--model", type=Path, required=True, help="a pruned question-answering model folder")
    parser.add_argument("--validation_file", type=Path, default=SHARED_DATA / "squad" / "validation-v1.1.json")
    parser.add_argument("--questions", type=int, default=400, help="how many questions (the first of the file)")
    parser.add_argument("--max_seq_length", type=int, default=384)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--name", default="question_tokens", help="results file stem")
    parser.add_argument(
        "--plan_of",
        type=Path,
        help="a pruned model folder whose plan and ranking settings --model (then any question-answering model of the "
        "same family, such as the dense teacher) runs under",
    )
    args = parser.parse_args(argv)
    for option in ("model", "plan_of"):
        folder = getattr(args, option)
        if folder is not None and not (folder / "config.json").is_file():
            parser.error(f"--{option} {folder} is not a saved model folder")
    if not args.validation_file.is_file():
        parser.error(f"--validation_file {args.validation_file} not found")
    if args.questions < 1 or args.max_seq_length < 8 or args.threads < 1:
        parser.error("--questions and --threads must be >= 1, --max_seq_length >= 8")
    torch.set_num_threads(args.threads)
    if args.plan_of is None:
        model = AutoModelForQuestionAnswering.from_pretrained(args.model).eval()
    else:
        plan = AutoConfig.from_pretrained(args.plan_of).plan_dict()
        model_class = top_model_class(
            AutoConfig.from_pretrained(args.model).model_type, "AutoModelForQuestionAnswering"
        )
        model = model_class.from_pretrained(args.model, **plan).eval()
    if not getattr(model.config, "is_pruned", False):
        parser.error(f"{args.plan_of or args.model} holds no pruning plan")
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    result = measure(model, tokenizer, first_answers(args.validation_file, args.questions), args.max_seq_length)
    for part, fractions in result["kept_fraction"].items():
        print(f"{part:9} " + " ".join(f"{fraction:.3f}" for fraction in fractions))
    record = {
        "environment": environment(threads=args.threads),
        "settings": {key: str(value) for key, value in vars(args).items()},
        "plan": model.config.plan_dict(),
    } | result
    print(f"saved {save_results(args.name, record)}")
    return record


if __name__ == "__main__":
    main()
