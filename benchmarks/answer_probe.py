#!/usr/bin/env python
"""
Could a learnt scorer rank a pruned question-answering model's tokens better than attention? A probe (logistic
regression, or one hidden layer with `--probe_hidden`) is fitted, for each layer that takes a decision of a ToP
run's plan, on what that layer of the dense teacher holds for every token: its input state, its self-attention
context and its importance (the attention it receives, as the run ranks it), to tell the gold answers' tokens from the
others on SQuAD training windows. The teacher then runs under the plan ranking its tokens several ways (`VARIANTS`)
at the same kept-token counts, so the same FLOPs: by attention (the run's ranking settings: the plan on the teacher),
and by the probe's probability, with or without the question protected and the run's neighbourhood pool. Each is
scored with the official SQuAD F1 on the validation windows, beside the fraction of the gold answers' tokens that go
through the last layer.

This measures what a scoring head beside the attention could give before any pruning-aware training: the teacher's
states are a dense model's (the probe of a later decision is fitted on states that no earlier decision shortened),
and the ranking of every decision comes from a model that never trained under the plan. `answer_oracle.py` bounds it
from above (the gold answer ranked first).

```bash
python benchmarks/answer_probe.py --teacher benchmarks/work/squad/teacher \
    --plan_from benchmarks/results/answer_span_squad_frozen0.json --name answer_probe_squad
```
`--token_keep_ratios` runs a plan of one's own (one keep ratio per layer) with the run's ranking settings, and
`--variants` scores only some rankings. Results go to `benchmarks/results/answer_probe.json` (`--name` picks another
stem), with the plan's FLOPs reduction on the validation windows and the most any plan could save by the first layer
it prunes at (`flops_reduction_bounds`).
"""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

import torch
from answer_oracle import (
    AnswersFromLastLayer,
    answer_masks,
    batches_with_answers,
    checked_teacher_and_plan,
    last_layer_positions,
    plan_of,
    save_record,
    teacher_and_plan_parser,
)
from common import SHARED_DATA
from deployment import (
    batches_by_length,
    flops_reduction_bounds,
    squad_scores,
    squad_windows,
    window_encoder,
)
from torch import nn
from transformers import AutoConfig, AutoTokenizer

from transformers_top import top_model_class
from transformers_top.models.flops import flops_metrics

#: The configuration fields of a ToP run that make its plan and its ranking.
RANKING_FIELDS = (
    "prune_layers", "num_bins", "token_keep_ratios", "token_keep_bins",
    "protected_token_type", "importance_token_type", "ranking_pool_width",
)  # fmt: skip
TRAIN_FILE = "squad/train-v1.1.json"
#: The rankings the teacher runs the plan with: the run's configuration fields they change, and whether the probe
#: scores the tokens (rather than their attention).
VARIANTS = {
    "plan, attention ranking": ({}, False),
    "plan, attention ranking, question protected": ({"protected_token_type": 0}, False),
    "plan, probe ranking": ({"ranking_pool_width": 0, "protected_token_type": None}, True),
    "plan, probe ranking, question protected": ({"ranking_pool_width": 0, "protected_token_type": 0}, True),
    "plan, probe ranking, question protected, pooled": ({"protected_token_type": 0}, True),
}


def own_plan(plan: dict, ratios: list[float], teacher_dir: Path) -> dict:
    """
    `plan` with its keep ratios replaced by `ratios` (one per layer; the layers below 1 prune, without bin patterns)
    and its ranking settings kept.

    Raises:
        `ValueError`: as the configuration's plan check, naming the bad value.
    """
    prune_layers = [layer for layer, ratio in enumerate(ratios) if ratio < 1]
    plan = {**plan, "token_keep_ratios": ratios, "prune_layers": prune_layers}
    plan.pop("token_keep_bins", None)
    top_class = top_model_class(AutoConfig.from_pretrained(teacher_dir).model_type, "AutoModelForQuestionAnswering")
    top_class.config_class.from_pretrained(teacher_dir, **plan).check_pruning_plan()
    return plan


def deciding_layers(config) -> list[int]:
    """The layers whose attention takes a decision of the plan (the layer before each layer that prunes)."""
    return [layer - 1 for layer, plan in enumerate(config.layer_plans()) if plan is not None]


class Probe(nn.Module):
    """Standardised features to the logit that a token belongs to the answer: linear, or one hidden layer."""

    def __init__(self, mean: torch.Tensor, std: torch.Tensor, hidden: int) -> None:
        super().__init__()
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)
        width = mean.shape[0]
        self.net = nn.Linear(width, 1) if hidden == 0 else nn.Sequential(nn.Linear(width, hidden), nn.GELU(),
                                                                           nn.Linear(hidden, 1))  # fmt: skip

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.net((features - self.mean) / self.std).squeeze(-1)


def token_features(hidden_states: torch.Tensor, context: torch.Tensor, importance: torch.Tensor) -> torch.Tensor:
    """Per token: the layer's input state, its attention context and the log of its importance."""
    return torch.cat([hidden_states, context.to(hidden_states.dtype), importance.clamp(min=1e-9).log()[..., None]], -1)


class ProbedAttention:
    """
    Installed on a pruned model's base (`install`), it sees each deciding layer's state, context and importance.
    Without probes it records the features of the alive tokens (`recorded`); with probes, the decision ranks by the
    probe's probability instead of the importance (before the model's pool and protection, as the importance would be).
    """

    def __init__(self, model, layers: list[int], probes: dict[int, Probe] | None = None) -> None:
        self.base = model.base_model
        self.index = {id(layer): number for number, layer in enumerate(self.base.encoder.layer)}
        self.layers, self.probes = set(layers), probes
        self.recorded: dict[int, list[torch.Tensor]] = {layer: [] for layer in layers}
        self.original = self.base._attention_with_importance

    def __call__(self, layer, hidden_states, queries, keys):
        context, importance = self.original(layer, hidden_states, queries, keys)
        number = self.index[id(layer)]
        if number in self.layers:
            features = token_features(hidden_states, context, importance)
            if self.probes is None:
                self.recorded[number].append(features[keys])
            else:
                importance = torch.sigmoid(self.probes[number](features)).masked_fill(~keys, 0.0)
        return context, importance

    def install(self) -> ProbedAttention:
        self.base._attention_with_importance = self
        return self

    def remove(self) -> None:
        del self.base._attention_with_importance


def training_tokens(teacher_dir: Path, plan: dict, train_file: Path, questions: int, max_seq_length: int,
                    doc_stride: int) -> tuple[dict[int, torch.Tensor], torch.Tensor]:  # fmt: skip
    """
    The features of every real token of the first `questions` training questions' windows at each deciding layer of
    the dense teacher (ranked as the run ranks), and whether each token overlaps a gold answer.
    """
    tokenizer = AutoTokenizer.from_pretrained(teacher_dir)
    examples, features = squad_windows(tokenizer, train_file, max_seq_length, doc_stride, questions)
    ranking = {field: plan[field] for field in ("importance_token_type", "protected_token_type") if field in plan}
    top_class = top_model_class(AutoConfig.from_pretrained(teacher_dir).model_type, "AutoModelForQuestionAnswering")
    dense = top_class.from_pretrained(teacher_dir, **ranking).eval()
    layers = deciding_layers(top_class.config_class.from_pretrained(teacher_dir, **plan))
    recorder = ProbedAttention(dense, layers).install()
    encode, lengths = window_encoder(tokenizer, features)
    labels = [torch.tensor(mask) for mask in answer_masks(examples, features)]
    order, batches = batches_by_length(encode, range(len(lengths)), lengths)
    for batch in batches:
        dense(**batch, importance_layers=layers)
    recorder.remove()
    label = torch.cat([labels[window] for window in order])
    return {layer: torch.cat(recorder.recorded[layer]) for layer in layers}, label


def fit_probe(features: torch.Tensor, label: torch.Tensor, hidden: int, epochs: int, seed: int) -> tuple[Probe, dict]:
    """A probe fitted with class-balanced logistic loss on 90% of the tokens; its ranking quality on the other 10%."""
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(label), generator=generator)
    held = order[: len(order) // 10]
    fit = order[len(order) // 10 :]
    mean, std = features[fit].mean(0), features[fit].std(0).clamp(min=1e-6)
    torch.manual_seed(seed)
    probe = Probe(mean, std, hidden)
    positive = label[fit].float().mean()
    loss_fn = nn.BCEWithLogitsLoss(pos_weight=(1 - positive) / positive)
    optimizer = torch.optim.Adam(probe.parameters(), lr=1e-3, weight_decay=1e-4)
    with torch.enable_grad():
        for _ in range(epochs):
            for chunk in fit[torch.randperm(len(fit), generator=generator)].split(4096):
                optimizer.zero_grad()
                loss_fn(probe(features[chunk]), label[chunk].float()).backward()
                optimizer.step()
    probe.eval()
    scores, truth = probe(features[held]), label[held]
    ranks = scores.argsort().argsort().float()
    positives = int(truth.sum())
    auc = (ranks[truth].sum() - positives * (positives - 1) / 2) / (positives * (len(truth) - positives))
    return probe, {"held_out_tokens": len(held), "held_out_auc": float(auc), "answer_token_fraction": float(positive)}


class Surviving:
    """A pruned `run` (called with an `answer_mask`) that counts the answer tokens going through the last layer."""

    def __init__(self, run) -> None:
        self.run, self.through, self.total = run, 0, 0

    def __call__(self, answer_mask: torch.Tensor, **inputs: torch.Tensor):
        with last_layer_positions() as reached:
            output = self.run(**inputs)
        (through,) = reached
        self.through += int((through & answer_mask).sum())
        self.total += int(answer_mask.sum())
        return output


def measure(args: argparse.Namespace, plan: dict) -> dict:
    features, label = training_tokens(args.teacher, plan, args.train_file, args.train_questions,
                                      args.max_seq_length, args.doc_stride)  # fmt: skip
    probes, quality = {}, {}
    for layer, layer_features in features.items():
        probes[layer], quality[layer] = fit_probe(layer_features, label, args.probe_hidden, args.epochs, args.seed)
        print(f"layer {layer}: {quality[layer]}", flush=True)
    tokenizer = AutoTokenizer.from_pretrained(args.teacher)
    examples, windows = squad_windows(tokenizer, args.validation_file, args.max_seq_length, args.doc_stride,
                                      args.max_questions)  # fmt: skip
    masks = answer_masks(examples, windows)
    order, batches, lengths = batches_with_answers(tokenizer, windows, masks)
    top_class = top_model_class(AutoConfig.from_pretrained(args.teacher).model_type, "AutoModelForQuestionAnswering")
    pruned = top_class.from_pretrained(args.teacher, **plan).eval()
    layers = deciding_layers(pruned.config)
    models = {}
    for name in args.variants:
        overrides, probed = VARIANTS[name]
        model = copy.deepcopy(pruned) if overrides else pruned
        for field, value in overrides.items():
            setattr(model.config, field, value)
        models[name] = (model, probes if probed else None)
    rows = []
    for name, (model, variant_probes) in models.items():
        hook = ProbedAttention(model, layers, variant_probes).install() if variant_probes else None
        for through_only in (False, True):
            run = Surviving(model)
            scored = AnswersFromLastLayer(run) if through_only else run
            scores = squad_scores(scored, batches, order, examples, windows)
            label_name = name + (", answers from last-layer tokens" if through_only else "")
            kept = run.through / max(1, run.total)
            rows.append({"variant": label_name, "f1": scores["f1"], "exact_match": scores["exact_match"],
                         "answer_tokens_through_last_layer": kept})  # fmt: skip
            print(f"{label_name:56} F1 {scores['f1']:.2f}  answer tokens through the last layer {kept:.3f}")
        if hook is not None:
            hook.remove()
    flops = flops_metrics(pruned.config, lengths, padded_length=args.max_seq_length, prefix="plan")
    return {
        "deciding_layers": layers,
        **flops,
        "flops_reduction_bounds": flops_reduction_bounds(pruned.config, lengths),
        "training_tokens": len(label),
        "probes": {str(layer): values for layer, values in quality.items()},
        "questions": len(examples),
        "windows": len(lengths),
        "rows": rows,
    }


def main(argv: list[str] | None = None) -> dict:
    parser = teacher_and_plan_parser(__doc__.split("\n\n")[0], "answer_probe")
    parser.add_argument("--train_file", type=Path, default=SHARED_DATA / TRAIN_FILE)
    parser.add_argument("--train_questions", type=int, default=3000, help="training questions the probes fit on")
    parser.add_argument(
        "--token_keep_ratios", type=float, nargs="+",
        help="a plan of your own instead of the run's: one keep ratio per layer (the run's ranking settings stay)",
    )  # fmt: skip
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS),
                        help="the rankings to score (default: all)")  # fmt: skip
    parser.add_argument("--probe_hidden", type=int, default=0, help="hidden units of the probe (0: linear)")
    parser.add_argument("--epochs", type=int, default=3, help="passes of the probe's fit over its tokens")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    checked_teacher_and_plan(parser, args)
    if not args.train_file.is_file():
        parser.error(f"--train_file {args.train_file} not found")
    for name in ("train_questions", "epochs"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1, got {getattr(args, name)}")
    if args.probe_hidden < 0:
        parser.error(f"--probe_hidden must be >= 0, got {args.probe_hidden}")
    try:
        plan = {field: value for field, value in plan_of(args.plan_from, args.setting, RANKING_FIELDS).items()
                if value is not None}  # fmt: skip
        if args.token_keep_ratios is not None:
            plan = own_plan(plan, args.token_keep_ratios, args.teacher)
    except ValueError as error:
        parser.error(str(error))
    torch.set_num_threads(args.threads)
    with torch.no_grad():  # the probes' fit turns the gradient on
        result = measure(args, plan)
    return save_record(args, plan, result)


if __name__ == "__main__":
    main()
