"""benchmarks/accuracy.py: every method end to end on a tiny BERT and tiny SST-2-like files (commands of
`examples/run_glue_top.py` in subprocesses), and what its options name and pass."""

from __future__ import annotations

import dataclasses
import json
import random

import accuracy
import pytest
import torch
from conftest import TINY_BERT
from transformers import BertConfig, BertModel, BertTokenizer

WORDS = [f"w{index}" for index in range(TINY_BERT["vocab_size"] - 5)]


@pytest.fixture(scope="module")
def tiny_task(tmp_path_factory):
    """A tiny pretrained BERT with its tokenizer, and SST-2-layout files of 96 / 32 rows whose label is learnable."""
    root = tmp_path_factory.mktemp("accuracy-benchmark")
    model_dir = root / "pretrained"
    torch.manual_seed(0)
    BertModel(BertConfig(**TINY_BERT)).save_pretrained(model_dir)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]
    BertTokenizer(vocab={token: index for index, token in enumerate(vocab)}, model_max_length=512).save_pretrained(
        model_dir
    )
    generator = random.Random(0)
    for name, rows in (("train.tsv", 96), ("dev.tsv", 32)):
        lines = ["sentence\tlabel"]
        for _ in range(rows):
            label = generator.randint(0, 1)
            words = generator.choices(WORDS[:40] if label else WORDS[40:], k=generator.randint(6, 30))
            lines.append(f"{' '.join(words)}\t{label}")
        (root / "data" / "sst2").mkdir(parents=True, exist_ok=True)
        (root / "data" / "sst2" / name).write_text("\n".join(lines) + "\n")
    return root, model_dir


def test_every_method_runs_and_records_its_plan(tiny_task, tmp_path):
    root, model_dir = tiny_task
    results = accuracy.main(
        ["--task", "sst2", "--targets", "0.3", "--shallow_layers", "2", "--prune_epochs", "20", "--model",
         str(model_dir), "--data_dir", str(root / "data"), "--work_dir", str(tmp_path / "work"), "--results_dir",
         str(tmp_path / "results")]
    )  # fmt: skip
    points = {point["method"]: point for point in results["points"]}
    assert set(points) == {"top", "top-no-rank", "shallow", "plan-only", "random"}
    top = points["top"]
    assert len(top["plan"]["token_keep_ratios"]) == TINY_BERT["num_hidden_layers"] and top["flops_reduction"] > 1
    assert set(top["plan"]) == set(accuracy.PLAN_FIELDS)  # the fields plan-only and random give the teacher
    # The baselines run the teacher under the top run's plan: the same FLOPs, the plan recorded with them.
    for method in ("plan-only", "random"):
        assert points[method]["plan"] == top["plan"]
        assert points[method]["flops_reduction"] == pytest.approx(top["flops_reduction"])
    assert points["shallow"]["flops_reduction"] == TINY_BERT["num_hidden_layers"] / 2
    saved = json.loads((tmp_path / "results" / "accuracy_sst2.json").read_text())
    assert saved["points"] == results["points"] and "environment" in saved
    assert (tmp_path / "results" / "accuracy_sst2.png").is_file()
    # Every run left the command that made it; the trained runs use the trainer's default recipe.
    command = json.loads((tmp_path / "work" / "sst2" / "top-0.3-e20" / "command.json").read_text())
    assert "--mask_learning_rate" not in command and "--num_bins" not in command
    # Run again, nothing is trained or evaluated again: the same numbers from the work folder.
    again = accuracy.main(
        ["--task", "sst2", "--targets", "0.3", "--shallow_layers", "2", "--prune_epochs", "20", "--model",
         str(model_dir), "--data_dir", str(root / "data"), "--work_dir", str(tmp_path / "work"), "--results_dir",
         str(tmp_path / "results")]
    )  # fmt: skip
    assert again["points"] == results["points"]


def test_non_default_settings_name_the_run_folders(tiny_task):
    root, _ = tiny_task
    args = accuracy.parse_args(
        ["--task", "sst2", "--data_dir", str(root / "data"), "--bf16", "--target_sparsity_tolerance", "0",
         "--frozen_plan_ratio", "0", "--final_model", "--lagrangian_anti_windup", "off"]
    )  # fmt: skip
    bench = accuracy.Benchmark(args)
    assert bench.variant == "-frozen0-tol0-awoff-bf16-final"
    options = bench.training_options(teacher_rows=96)
    assert "--bf16" in options and "--load_best_model_at_end" not in options and "--eval_strategy" not in options
    assert accuracy.Benchmark(accuracy.parse_args(["--task", "sst2", "--data_dir", str(root / "data")])).variant == ""


def test_a_distill_file_feeds_the_trained_runs_and_the_teacher_learns_from_the_task_file(tiny_task, tmp_path):
    root, _ = tiny_task
    distill_file = tmp_path / "more_rows.tsv"
    distill_file.write_text((root / "data" / "sst2" / "train.tsv").read_text())
    bench = accuracy.Benchmark(
        accuracy.parse_args(["--task", "sst2", "--data_dir", str(root / "data"), "--distill_file", str(distill_file)])
    )

    def train_file(command: list[str]) -> str:
        return command[command.index("--train_file") + 1]

    teacher = bench.command(tmp_path / "teacher-eval", "--do_eval", "--eval_teacher", "false")
    assert "--do_finetune_teacher" in teacher and train_file(teacher) == str(root / "data" / "sst2" / "train.tsv")
    trained = bench.command(tmp_path / "top", *bench.training_options(teacher_rows=96))
    assert train_file(trained) == str(distill_file)


def top_run(bench: accuracy.Benchmark, target: float) -> tuple[str, tuple[str, ...]]:
    """The folder name and the script options of the one ToP run `bench.top` makes at `target`, without running it."""
    runs = []
    bench.run = lambda method, setting, run_dir, *run_options, **_: runs.append((run_dir.name, run_options))
    bench.top("top", target)
    ((run_dir, run_options),) = runs
    return run_dir, run_options


@pytest.mark.parametrize(("switch", "passed"), [("on", ["True"]), ("off", ["False"]), (None, [])])
def test_the_anti_windup_switch_reaches_the_top_runs_only_when_given(tiny_task, switch, passed):
    root, _ = tiny_task
    options = ["--task", "sst2", "--data_dir", str(root / "data")]
    bench = accuracy.Benchmark(accuracy.parse_args(options + (["--lagrangian_anti_windup", switch] if switch else [])))
    run_dir, run_options = top_run(bench, 0.3)
    given = [run_options[i + 1] for i, name in enumerate(run_options) if name == "--lagrangian_anti_windup"]
    assert given == passed  # None: the trainer's default (on) decides
    assert run_dir == "top-0.3" + (f"-aw{switch}" if switch else "")


@pytest.mark.parametrize(
    ("option", "value", "label"),
    [
        ("--bin_order", "sorted", "-binssorted"),
        ("--bin_order", "free", "-binsfree"),
        ("--rank_distill_score", "log", "-ranklog"),
        ("--rank_distill_alpha", "0.3", "-ra0.3"),
        ("--label_loss_weight", "0.5", "-lw0.5"),
        ("--rank_distill_pairs", "all", "-pairsall"),
        ("--rank_distill_schedule", "constant", "-rsconstant"),
        ("--masked_token_output", "carried", "-maskedcarried"),
        ("--bin_order", None, ""),
    ],
)
def test_mask_and_ranking_options_reach_the_top_runs_and_name_their_folders_only_when_given(
    tiny_task, option, value, label
):
    root, _ = tiny_task
    options = ["--task", "sst2", "--data_dir", str(root / "data")]
    bench = accuracy.Benchmark(accuracy.parse_args(options + ([option, value] if value else [])))
    run_dir, run_options = top_run(bench, 0.45)
    given = [run_options[i + 1] for i, name in enumerate(run_options) if name == option]
    assert given == ([value] if value else [])
    assert run_dir == "top-0.45" + label


def test_prune_layers_reach_the_top_runs_as_a_config_override_and_name_their_folders(tiny_task):
    root, _ = tiny_task
    options = ["--task", "sst2", "--data_dir", str(root / "data"), "--prune_layers", "1", "2", "3"]
    bench = accuracy.Benchmark(accuracy.parse_args(options))
    run_dir, run_options = top_run(bench, 0.45)
    assert run_dir == "top-0.45-p1-2-3"
    override = run_options[run_options.index("--config_overrides") + 1]
    assert json.loads(override) == {"prune_layers": [1, 2, 3]}


def test_rank_distill_layers_reach_the_top_runs_and_name_their_folders(tiny_task):
    root, _ = tiny_task
    options = ["--task", "sst2", "--data_dir", str(root / "data"), "--rank_distill_layers", "1", "2", "3", "4"]
    bench = accuracy.Benchmark(accuracy.parse_args(options))
    run_dir, run_options = top_run(bench, 0.45)
    assert run_dir == "top-0.45-rl1-2-3-4"
    start = run_options.index("--rank_distill_layers") + 1
    assert list(run_options[start:]) == ["1", "2", "3", "4"]


def test_bad_options_are_refused(tiny_task, capsys):
    root, _ = tiny_task
    for options, message in (
        (["--targets", "1.2"], "target sparsities must be in (0, 1)"),
        (["--data_dir", str(root)], "not found (--data_dir"),
        (["--shallow_layers", "0"], "--shallow_layers must be positive"),
        (["--prune_layers", "0", "1"], "--prune_layers must be increasing layer indices from 1, got [0, 1]"),
        (["--prune_layers", "3", "2"], "--prune_layers must be increasing layer indices from 1, got [3, 2]"),
        (["--rank_distill_alpha", "-1"], "--rank_distill_alpha must be >= 0, got -1.0"),
        (["--label_loss_weight", "1.5"], "--label_loss_weight must be in [0, 1], got 1.5"),
        (["--protect_question"], "--protect_question reads the question of SQuAD windows, got --task sst2"),
        (["--rank_by_question"], "--rank_by_question reads the question of SQuAD windows, got --task sst2"),
        (["--ranking_pool_width", "-1"], "--ranking_pool_width must be >= 0, got -1"),
        (["--rank_distill_layers", "-1"], "--rank_distill_layers must be layer indices >= 0, got [-1]"),
        (["--rank_distill_target", "answer_span"], "ranks by a SQuAD teacher's answer, got --task sst2"),
    ):
        with pytest.raises(SystemExit):
            accuracy.parse_args(["--task", "sst2", "--data_dir", str(root / "data"), *options])
        assert message in capsys.readouterr().err


def squad_benchmark(tmp_path, *options: str) -> accuracy.Benchmark:
    """The SQuAD benchmark on a training file of 10 questions under `tmp_path/data`."""
    squad = tmp_path / "data" / "squad"
    squad.mkdir(parents=True)
    paragraph = {"context": "w1 w2 w3", "qas": [{"id": f"q{i}", "question": "w1?", "answers": []} for i in range(5)]}
    (squad / "train-v1.1.json").write_text(json.dumps({"data": [{"title": "t", "paragraphs": [paragraph] * 2}]}))
    return accuracy.Benchmark(accuracy.parse_args(["--task", "squad", "--data_dir", str(tmp_path / "data"), *options]))


def test_squad_runs_are_commands_of_the_question_answering_script(tmp_path):
    bench = squad_benchmark(tmp_path)
    assert bench.teacher_rows() == 10  # questions, not lines
    command = bench.command(tmp_path / "run", "--do_eval")
    assert command[1].endswith("examples/run_qa_top.py") and "--task_name" not in command
    assert command[command.index("--doc_stride") + 1] == "128"
    assert command[command.index("--max_seq_length") + 1] == "384"
    assert command[command.index("--flops_padded_length") + 1] == "384"
    # Length-grouped batches (windows of 172 tokens on average would pad to 305 at random) for the teacher, which
    # checkpoints so that an interrupted fine-tuning resumes, and for the trained runs, whose folders carry no label.
    assert command[command.index("--train_sampling_strategy") + 1] == "group_by_length"
    assert command[command.index("--save_steps") + 1] == "100"
    training = bench.training_options(10)
    assert training[training.index("--train_sampling_strategy") + 1] == "group_by_length"
    assert bench.variant == ""


@pytest.mark.parametrize(("flag", "label"), [("--protect_question", "pq"), ("--rank_by_question", "rq")])
def test_question_options_reach_the_top_runs_and_name_their_folders(tmp_path, flag, label):
    bench = squad_benchmark(tmp_path, flag)
    run_dir, run_options = top_run(bench, 0.5)
    assert run_dir == f"top-0.5-{label}" and flag in run_options


def test_the_answer_span_ranking_target_reaches_the_squad_top_runs_and_names_their_folders(tmp_path):
    bench = squad_benchmark(tmp_path, "--rank_distill_target", "answer_span")
    run_dir, run_options = top_run(bench, 0.5)
    assert run_dir == "top-0.5-rtanswer_span"
    assert run_options[run_options.index("--rank_distill_target") + 1] == "answer_span"


def test_a_ranking_pool_width_reaches_the_top_runs_config_and_names_their_folders(tmp_path):
    bench = squad_benchmark(tmp_path, "--ranking_pool_width", "6", "--prune_layers", "1", "2")
    run_dir, run_options = top_run(bench, 0.5)
    assert run_dir == "top-0.5-p1-2-pool6"
    overrides = json.loads(run_options[run_options.index("--config_overrides") + 1])
    assert overrides == {"prune_layers": [1, 2], "ranking_pool_width": 6}


def test_the_trainer_choices_offered_are_the_trainers_own_values_and_defaults():
    from transformers_top import TopBertConfig
    from transformers_top.models.hard_concrete import BIN_ORDERS
    from transformers_top.models.token_tracking import MASKED_TOKEN_OUTPUTS
    from transformers_top.training.losses import RANKING_PAIRS, RANKING_SCHEDULES, RANKING_SCORES, RANKING_TARGETS
    from transformers_top.training.training_args import TopTrainingArguments

    defaults = {field.name: field.default for field in dataclasses.fields(TopTrainingArguments)}
    expected = {
        "bin_order": (BIN_ORDERS, TopBertConfig().bin_order),  # the argument's None leaves the config's default
        "rank_distill_score": (RANKING_SCORES, defaults["rank_distill_score"]),
        "rank_distill_pairs": (RANKING_PAIRS, defaults["rank_distill_pairs"]),
        "masked_token_output": (MASKED_TOKEN_OUTPUTS, TopBertConfig().masked_token_output),
        "rank_distill_target": (RANKING_TARGETS, defaults["rank_distill_target"]),
        "rank_distill_schedule": (RANKING_SCHEDULES, defaults["rank_distill_schedule"]),
    }
    offered = accuracy.TRAINER_CHOICES
    assert offered == expected
