"""examples/run_qa_top.py on a tiny random BERT with the MiniLM tokenizer and hand-written SQuAD files: argument and
data validation, a full job in a subprocess, SQuAD v2.0 evaluation against the model run window by window, evaluation
during training, the Hub push; and one short run on the real SQuAD files with MiniLM."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from huggingface_hub import ModelCard
from squad_data import postprocess_predictions, prepare_validation_features, read_squad_file
from transformers import (
    AutoModelForQuestionAnswering,
    AutoTokenizer,
    BertConfig,
    BertForQuestionAnswering,
    BertModel,
    BertTokenizerLegacy,
)

from transformers_top import TopBertForQuestionAnswering, TopTrainer

SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "run_qa_top.py"

PARAGRAPHS = [
    (
        "The Amazon river flows through Brazil, Peru and Colombia before it reaches the Atlantic Ocean. It carries "
        "more water than any other river on Earth, and its basin covers about seven million square kilometres of "
        "tropical forest. The first European to travel its length was Francisco de Orellana in 1542.",
        [
            ("Which ocean does the Amazon reach?", "Atlantic Ocean"),
            ("Who first travelled the length of the Amazon?", "Francisco de Orellana"),
            ("In which year did the first European travel the river?", "1542"),
            ("What kind of forest covers the basin?", "tropical forest"),
        ],
    ),
    (
        "Marie Curie was born in Warsaw in 1867 and moved to Paris to study physics at the Sorbonne. With her husband "
        "Pierre she discovered polonium and radium, and she was the first person to win two Nobel Prizes, in physics "
        "in 1903 and in chemistry in 1911. She died in 1934 of an illness caused by radiation.",
        [
            ("Where was Marie Curie born?", "Warsaw"),
            ("Which elements did the Curies discover?", "polonium and radium"),
            ("When did she win the Nobel Prize in chemistry?", "1911"),
            ("What did she study in Paris?", "physics"),
        ],
    ),
    (
        "The violin has four strings tuned in perfect fifths and is played with a bow made of horsehair. The most "
        "famous violins were built in Cremona by Antonio Stradivari, whose workshop produced about a thousand "
        "instruments. A violin that belonged to him sold for nearly sixteen million dollars in 2011.",
        [
            ("How many strings does a violin have?", "four"),
            ("What is the bow made of?", "horsehair"),
            ("In which city did Stradivari build violins?", "Cremona"),
            ("How many instruments did the workshop produce?", "about a thousand"),
        ],
    ),
]
UNANSWERABLE = [
    ("How many moons does the Amazon have?", 0),
    ("Which car did Marie Curie drive?", 1),
    ("Who invented the electric violin?", 2),
]


def squad_json(path: Path, unanswerable: bool = False) -> Path:
    """The 12 questions of `PARAGRAPHS` as a SQuAD v1.1 file, or with `UNANSWERABLE` added a v2.0 file."""
    articles = []
    for index, (context, questions) in enumerate(PARAGRAPHS):
        qas = [
            {
                "id": f"p{index}q{number}",
                "question": question,
                "answers": [{"text": answer, "answer_start": context.index(answer)}],
            }
            for number, (question, answer) in enumerate(questions)
        ]
        if unanswerable:
            qas += [
                {"id": f"p{index}n{number}", "question": question, "answers": [], "is_impossible": True}
                for number, (question, paragraph) in enumerate(UNANSWERABLE)
                if paragraph == index
            ]
        articles.append({"title": f"article {index}", "paragraphs": [{"context": context, "qas": qas}]})
    path.write_text(json.dumps({"version": "test", "data": articles}))
    return path


@pytest.fixture(scope="module")
def run_qa_top():
    """The example script imported as a module (its `main(argv)` runs in-process)."""
    spec = importlib.util.spec_from_file_location("run_qa_top", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses resolve their annotations through sys.modules
    spec.loader.exec_module(module)
    yield module
    del sys.modules[spec.name]


def tiny_bert_config(minilm_path: Path) -> BertConfig:
    """A 4-layer, 32-wide BERT over MiniLM's vocabulary, 128 positions, no dropout."""
    vocab_size = AutoTokenizer.from_pretrained(minilm_path).vocab_size
    return BertConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        num_hidden_layers=4,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=128,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )


@pytest.fixture(scope="module")
def pretrained_dir(minilm_path, tmp_path_factory) -> Path:
    """A tiny random `BertModel` without a head (a pretrained checkpoint) with the MiniLM tokenizer."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("tiny-pretrained")
    BertModel(tiny_bert_config(minilm_path)).save_pretrained(path)
    AutoTokenizer.from_pretrained(minilm_path).save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def qa_dir(minilm_path, tmp_path_factory) -> Path:
    """A tiny random `BertForQuestionAnswering` (a "fine-tuned" teacher) with the MiniLM tokenizer."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("tiny-qa")
    BertForQuestionAnswering(tiny_bert_config(minilm_path)).save_pretrained(path)
    AutoTokenizer.from_pretrained(minilm_path).save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def squad_v1(tmp_path_factory) -> Path:
    return squad_json(tmp_path_factory.mktemp("squad") / "v1.json")


@pytest.fixture(scope="module")
def squad_v2(tmp_path_factory) -> Path:
    return squad_json(tmp_path_factory.mktemp("squad") / "v2.json", unanswerable=True)


def _common_args(output_dir: Path) -> list[str]:
    return ["--output_dir", str(output_dir), "--report_to", "none", "--use_cpu", "--disable_tqdm", "true"]


WINDOWS = ["--max_seq_length", "64", "--doc_stride", "16"]


@pytest.mark.parametrize(
    ("extra_args", "message"),
    [
        ([], "give --dataset_name (from the Hub) or --train_file and/or --validation_file"),
        (["--train_file", "/no/such/train.json"], "--train_file '/no/such/train.json' does not exist"),
        (["--dataset_name", "squad", "--train_file", "V1"], "give either --dataset_name or --train_file"),
        (["--dataset_name", "rajpurkar/squad_v2"], "--dataset_name rajpurkar/squad_v2 has unanswerable questions"),
        (["--train_file", "V1", "--max_seq_length", "64"], "got --doc_stride 128 and --max_seq_length 64"),
        (["--train_file", "V1", *WINDOWS, "--doc_stride", "64"], "got --doc_stride 64 and --max_seq_length 64"),
        (["--train_file", "V1", "--max_seq_length", "256"], "max_seq_length=256 is larger than the model's"),
        (["--validation_file", "V1", *WINDOWS, "--do_train"], "--do_train and --do_finetune_teacher need training"),
        (["--train_file", "V1", *WINDOWS, "--do_eval"], "--do_eval needs validation data: give --validation_file"),
        (["--train_file", "V2", *WINDOWS], "v2.json: 3 unanswerable question(s) (is_impossible: true or no answers)"),
        (["--train_file", "V2", *WINDOWS], "pass --version_2_with_negative"),
        (["--validation_file", "V1", *WINDOWS, "--eval_do_concat_batches", "false"], "false are not supported"),
        # The reader's and the windowing's errors reach the user too: a question longer than a window allows.
        (
            ["--train_file", "V1", "--max_seq_length", "24", "--doc_stride", "16"],
            "question 'p0q0' has 7 tokens, which leaves 14",
        ),
    ],
)
def test_bad_arguments_and_data_exit_with_a_usage_error(
    run_qa_top, capsys, tmp_path, qa_dir, squad_v1, squad_v2, extra_args, message
):
    extra_args = [{"V1": str(squad_v1), "V2": str(squad_v2)}.get(arg, arg) for arg in extra_args]
    with pytest.raises(SystemExit) as exit_info:
        run_qa_top.main(["--model_name_or_path", str(qa_dir), *extra_args, *_common_args(tmp_path)])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_models_that_cannot_serve_exit_with_a_usage_error(
    run_qa_top, capsys, tmp_path, minilm_path, qa_dir, pretrained_dir, squad_v1
):
    argv = ["--train_file", str(squad_v1), *WINDOWS, "--do_train", *_common_args(tmp_path)]
    with pytest.raises(SystemExit):
        run_qa_top.main(["--model_name_or_path", str(pretrained_dir), *argv])
    assert "is not a fine-tuned question-answering model (architectures ['BertModel'])" in capsys.readouterr().err
    # The answers are found through the offsets of a fast tokenizer.
    BertTokenizerLegacy.from_pretrained(minilm_path).save_pretrained(tmp_path / "slow")
    with pytest.raises(SystemExit):
        run_qa_top.main(["--model_name_or_path", str(qa_dir), "--tokenizer_name", str(tmp_path / "slow"), *argv])
    assert "question answering needs a fast tokenizer" in capsys.readouterr().err


def test_full_job_fine_tunes_the_teacher_prunes_and_answers_every_question(
    run_qa_top, caplog, tmp_path, pretrained_dir, squad_v1
):
    output_dir = tmp_path / "out"
    argv = [
        "--model_name_or_path", str(pretrained_dir),
        "--train_file", str(squad_v1), "--validation_file", str(squad_v1), *WINDOWS,
        "--do_finetune_teacher", "--teacher_max_steps", "2",
        "--do_train", "--do_eval", "--max_steps", "4", "--per_device_train_batch_size", "8",
        "--per_device_eval_batch_size", "8", "--target_sparsity", "0.5",
        "--sparsity_warmup_steps", "2", "--num_bins", "5", "--save_steps", "2", "--seed", "0", "--log_level", "info",
        *_common_args(output_dir),
    ]  # fmt: skip
    environment = os.environ | {"OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    completed = subprocess.run(
        [sys.executable, str(SCRIPT), *argv], env=environment, capture_output=True, text=True, timeout=600
    )
    assert completed.returncode == 0, completed.stderr[-3000:]

    teacher_dir = output_dir.with_name(output_dir.name + "-teacher")
    assert json.loads((teacher_dir / "config.json").read_text())["architectures"] == ["BertForQuestionAnswering"]
    model = AutoModelForQuestionAnswering.from_pretrained(output_dir).eval()
    assert isinstance(model, TopBertForQuestionAnswering)
    assert len(model.config.token_keep_ratios) == 4 and model.base_model.token_masks is None

    results = json.loads((output_dir / "eval_results.json").read_text())
    assert 0.0 <= results["eval_exact_match"] <= results["eval_f1"] <= 100.0
    assert results["eval_flops_reduction"] >= 1.0 and "eval_flops_reduction_padded" in results
    teacher = json.loads((output_dir / "teacher_eval_results.json").read_text())
    assert 0.0 <= teacher["teacher_eval_exact_match"] <= teacher["teacher_eval_f1"] <= 100.0
    assert teacher["teacher_eval_flops_reduction"] == 1.0 and teacher["teacher_eval_sparsity"] == 0.0
    predictions = json.loads((output_dir / "eval_predictions.json").read_text())
    questions = read_squad_file(squad_v1)
    assert set(predictions) == set(questions["id"])
    contexts = dict(zip(questions["id"], questions["context"], strict=True))
    assert all(text and text in contexts[question_id] for question_id, text in predictions.items())

    # Run again: the finished teacher is reused and training resumes from the last checkpoint (nothing left to do).
    with caplog.at_level("INFO", logger="run_qa_top"):
        metrics = run_qa_top.main([*argv, "--eval_teacher", "false"])
    assert f"Reusing the fine-tuned teacher in {teacher_dir}" in caplog.text
    assert f"Checkpoint detected, resuming training at {output_dir / 'checkpoint-4'}" in caplog.text
    assert metrics["eval_f1"] == pytest.approx(results["eval_f1"])


def test_squad_v2_evaluation_answers_as_the_model_does_window_by_window(run_qa_top, tmp_path, qa_dir, squad_v2):
    """Batched evaluation (logits padded across batches with -100) gives the answers of the windows one by one."""
    argv = ["--model_name_or_path", str(qa_dir), "--validation_file", str(squad_v2), *WINDOWS, "--do_eval"]
    argv += ["--version_2_with_negative", "--per_device_eval_batch_size", "3", "--eval_teacher", "false"]
    metrics = run_qa_top.main([*argv, *_common_args(tmp_path / "dense")])
    assert metrics["eval_HasAns_total"] == 12 and metrics["eval_NoAns_total"] == 3
    assert {"eval_exact", "eval_f1", "eval_HasAns_f1", "eval_NoAns_f1", "eval_loss"} <= set(metrics)
    assert metrics["eval_flops_reduction"] == 1.0

    questions = read_squad_file(squad_v2, version_2_with_negative=True)
    tokenizer = AutoTokenizer.from_pretrained(qa_dir)
    windows = prepare_validation_features(questions[:], tokenizer, max_seq_length=64, doc_stride=16)
    model = BertForQuestionAnswering.from_pretrained(qa_dir).eval()
    start_logits, end_logits = [], []
    with torch.no_grad():
        for input_ids, token_type_ids in zip(windows["input_ids"], windows["token_type_ids"], strict=True):
            output = model(input_ids=torch.tensor([input_ids]), token_type_ids=torch.tensor([token_type_ids]))
            start_logits.append(output.start_logits[0].numpy())
            end_logits.append(output.end_logits[0].numpy())
    expected = postprocess_predictions(questions, windows, start_logits, end_logits, version_2_with_negative=True)
    assert json.loads((tmp_path / "dense" / "eval_predictions.json").read_text()) == expected
    assert len(windows["input_ids"]) > len(questions)  # some questions span several windows

    # A fixed plan prunes: its FLOPs are reported, on the real tokens of windows padded to max_seq_length too, and
    # nothing is saved.
    plan = json.dumps({"token_keep_ratios": [1, 1, 0.5, 0.5]})
    argv += ["--config_overrides", plan, "--pad_to_max_length"]
    pruned = run_qa_top.main([*argv, *_common_args(tmp_path / "plan")])
    assert pruned["eval_flops_reduction"] > 1.3 and pruned["eval_sparsity"] > 0.2
    assert pruned["eval_flops_reduction_padded"] > pruned["eval_flops_reduction"]  # the windows' lengths differ
    assert set(json.loads((tmp_path / "plan" / "eval_predictions.json").read_text())) == set(expected)
    assert not (tmp_path / "plan" / "config.json").exists()


def test_length_grouped_batches_do_not_change_the_answers(run_qa_top, tmp_path, qa_dir, squad_v2):
    """transformers groups evaluation batches by length too under group_by_length; the evaluation keeps the windows'
    order, or their answers would be scored against other questions'."""
    argv = ["--model_name_or_path", str(qa_dir), "--validation_file", str(squad_v2), *WINDOWS, "--do_eval"]
    argv += ["--version_2_with_negative", "--per_device_eval_batch_size", "2", "--seed", "5"]
    plain = run_qa_top.main([*argv, *_common_args(tmp_path / "plain")])
    grouped_argv = [*argv, "--train_sampling_strategy", "group_by_length"]
    grouped = run_qa_top.main([*grouped_argv, *_common_args(tmp_path / "grouped")])
    for name in ("eval_f1", "eval_exact", "teacher_eval_f1", "teacher_eval_exact"):
        assert grouped[name] == plain[name]
    predictions = [json.loads((tmp_path / run / "eval_predictions.json").read_text()) for run in ("plain", "grouped")]
    assert predictions[0] == predictions[1]


def test_evaluation_during_training_scores_f1_and_keeps_the_best_checkpoint_on_it(
    run_qa_top, tmp_path, qa_dir, squad_v1
):
    output_dir = tmp_path / "out"
    argv = [
        "--model_name_or_path", str(qa_dir), "--train_file", str(squad_v1), "--validation_file", str(squad_v1),
        *WINDOWS, "--do_train", "--max_steps", "2", "--per_device_train_batch_size", "8", "--num_bins", "5",
        "--target_sparsity", "0", "--eval_strategy", "steps", "--eval_steps", "1", "--save_steps", "1",
        "--load_best_model_at_end", *_common_args(output_dir),
    ]  # fmt: skip
    run_qa_top.main(argv)
    saved_args = json.loads((output_dir / "training_args.json").read_text())
    assert saved_args["metric_for_best_model"] == "f1" and saved_args["greater_is_better"] is True
    state = json.loads((output_dir / "trainer_state.json").read_text())
    evaluations = [entry for entry in state["log_history"] if "eval_f1" in entry]
    assert [entry["step"] for entry in evaluations] == [1, 2]
    assert all("eval_exact_match" in entry and "eval_flops_reduction" in entry for entry in evaluations)
    assert state["best_metric"] == max(entry["eval_f1"] for entry in evaluations)


def test_question_options_train_a_student_that_protects_and_ranks_by_its_question(
    run_qa_top, tmp_path, qa_dir, squad_v1
):
    output_dir = tmp_path / "out"
    argv = [
        "--model_name_or_path", str(qa_dir), "--train_file", str(squad_v1), *WINDOWS, "--do_train", "--max_steps",
        "1", "--per_device_train_batch_size", "8", "--num_bins", "5", "--protect_question", "--rank_by_question",
        *_common_args(output_dir),
    ]  # fmt: skip
    run_qa_top.main(argv)
    saved = json.loads((output_dir / "config.json").read_text())
    assert saved["protected_token_type"] == 0 and saved["importance_token_type"] == 0
    config = AutoModelForQuestionAnswering.from_pretrained(output_dir).config
    assert config.protected_token_type == 0 and config.importance_token_type == 0


@pytest.mark.parametrize(
    ("flag", "field"), [("--protect_question", "protected"), ("--rank_by_question", "importance")]
)
def test_question_options_are_refused_for_a_model_without_token_types(
    run_qa_top, capsys, tmp_path, qa_dir, squad_v1, flag, field
):
    one_type = tmp_path / "one-type"
    config = BertForQuestionAnswering.config_class.from_pretrained(qa_dir, type_vocab_size=1)
    BertForQuestionAnswering(config).save_pretrained(one_type)
    AutoTokenizer.from_pretrained(qa_dir).save_pretrained(one_type)
    argv = ["--model_name_or_path", str(one_type), "--train_file", str(squad_v1), *WINDOWS, "--do_train"]
    with pytest.raises(SystemExit):
        run_qa_top.main([*argv, flag, *_common_args(tmp_path / "out")])
    assert f"{flag} finds the question by its token type, but" in capsys.readouterr().err
    overrides = json.dumps({f"{field}_token_type": 1})
    with pytest.raises(SystemExit):
        run_qa_top.main([*argv, flag, "--config_overrides", overrides, *_common_args(tmp_path / "o")])
    assert f"{flag} sets {field}_token_type=0, but --config_overrides sets" in capsys.readouterr().err


@pytest.mark.integration
def test_real_squad_files_with_minilm(run_qa_top, tmp_path, minilm_path, shared_data):
    squad = shared_data / "squad"
    argv = [
        "--model_name_or_path", str(minilm_path),
        "--train_file", str(squad / "train-v1.1.json"), "--validation_file", str(squad / "validation-v1.1.json"),
        "--max_train_samples", "16", "--max_eval_samples", "16", "--max_seq_length", "128", "--doc_stride", "32",
        "--do_finetune_teacher", "--teacher_max_steps", "1", "--do_train", "--do_eval", "--max_steps", "2",
        "--per_device_train_batch_size", "8", "--per_device_eval_batch_size", "16", "--num_bins", "5",
        "--save_strategy", "no", *_common_args(tmp_path / "out"),
    ]  # fmt: skip
    metrics = run_qa_top.main(argv)
    assert 0.0 <= metrics["eval_exact_match"] <= metrics["eval_f1"] <= 100.0
    assert 0.0 <= metrics["teacher_eval_f1"] <= 100.0 and metrics["eval_flops_reduction"] >= 1.0
    assert len(json.loads((tmp_path / "out" / "eval_predictions.json").read_text())) == 16


def test_push_uploads_the_pruned_question_answering_model_with_its_card(
    run_qa_top, loopback_hub, monkeypatch, tmp_path, qa_dir, squad_v1
):
    push_to_hub = TopTrainer.push_to_hub

    def push_once(trainer, *args, **kwargs):
        """`push_to_hub`, failing at once (not after hundreds of uploads) should it be re-entered."""
        if getattr(trainer, "_pushing", False):
            raise RecursionError("TopTrainer.push_to_hub re-entered while pushing")
        trainer._pushing = True
        try:
            return push_to_hub(trainer, *args, **kwargs)
        finally:
            trainer._pushing = False

    monkeypatch.setattr(TopTrainer, "push_to_hub", push_once)
    argv = [
        "--model_name_or_path", str(qa_dir), "--train_file", str(squad_v1), "--validation_file", str(squad_v1),
        *WINDOWS, "--do_train", "--do_eval", "--max_steps", "2", "--per_device_train_batch_size", "8",
        "--num_bins", "5", "--eval_teacher", "false", "--push_to_hub", "--hub_model_id", "test-user/qa-top",
        *_common_args(tmp_path / "out"),
    ]  # fmt: skip
    metrics = run_qa_top.main(argv)
    files = loopback_hub.repos["test-user/qa-top"].resolve("main").files
    assert json.loads(files["config.json"])["architectures"] == ["TopBertForQuestionAnswering"]
    assert not [name for name in files if name.startswith("checkpoint-")]
    assert json.loads(files["eval_results.json"])["eval_f1"] == metrics["eval_f1"]
    card = ModelCard(files["README.md"].decode())
    assert card.data.pipeline_tag == "question-answering"
    # Local files name no Hub dataset, so the card has no model-index; its results table has F1 and exact match.
    assert f"| pruned model f1 | {metrics['eval_f1']:.4g} |" in card.text
    assert f"| pruned model exact_match | {metrics['eval_exact_match']:.4g} |" in card.text
