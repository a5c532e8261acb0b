"""benchmarks/deployment.py: the six variants of a tiny pruned model and its teacher, scored on a task's evaluation
texts as the example scripts score them, and timed."""

from __future__ import annotations

import json
import random

import deployment
import pytest
import torch
from conftest import TINY_BERT, TINY_VOCAB
from test_run_qa_top import WINDOWS, squad_json, tiny_bert_config
from transformers import AutoTokenizer, BertConfig, BertForQuestionAnswering, BertForSequenceClassification

from transformers_top import TopBertConfig, TopBertForQuestionAnswering, TopBertForSequenceClassification
from transformers_top.models.flops import flops_metrics, plan_lengths

PLAN = [1.0, 1.0, 0.5, 0.5]


@pytest.fixture(scope="module")
def squad_models(minilm_path, tmp_path_factory):
    """A tiny random teacher, its copy under a fixed plan (the pruned model), and a SQuAD v1.1 file of 12 questions."""
    root = tmp_path_factory.mktemp("deployment-benchmark")
    tokenizer = AutoTokenizer.from_pretrained(minilm_path)
    torch.manual_seed(0)
    config = tiny_bert_config(minilm_path)
    config.initializer_range = 0.5  # span logits that depend on the tokens, so that pruning changes answers
    BertForQuestionAnswering(config).save_pretrained(root / "teacher")
    pruned = TopBertForQuestionAnswering.from_pretrained(root / "teacher", token_keep_ratios=PLAN)
    pruned.save_pretrained(root / "pruned")
    for folder in ("teacher", "pruned"):
        tokenizer.save_pretrained(root / folder)
    (root / "data" / "squad").mkdir(parents=True)
    squad_json(root / "data" / deployment.SQUAD_FILE)
    return root


def test_squad_variants_score_as_the_example_script_and_are_all_timed(squad_models, tmp_path):
    import run_qa_top

    root = squad_models
    argv = ["--task", "squad", "--model", str(root / "pruned"), "--teacher", str(root / "teacher")]
    argv += ["--data_dir", str(root / "data"), "--work_dir", str(tmp_path / "work"), "--results_dir", str(tmp_path)]
    argv += ["--repeats", "1", "--latency_texts", "3", "--throughput_texts", "5"]
    results = deployment.main([*argv, "--max_seq_length", "64", "--doc_stride", "16"])
    rows = {row["variant"]: row for row in results["rows"]}
    assert set(rows) == set(deployment.VARIANTS)
    assert results["questions"] == 12 and results["windows"] > 12  # some questions span several windows
    assert results["latency_windows"] == 3 and results["throughput_windows"] == 5
    assert json.loads((tmp_path / "deployment_squad.json").read_text())["windows"] == results["windows"]

    # The benchmark's scores and FLOPs are those of the example script's evaluation of the same models.
    def evaluate(model: str) -> dict:
        options = ["--model_name_or_path", str(root / model), "--validation_file", str(root / "data" / "squad")]
        options[-1] += "/validation-v1.1.json"
        options += [*WINDOWS, "--do_eval", "--eval_teacher", "false", "--output_dir", str(tmp_path / model)]
        return run_qa_top.main([*options, "--report_to", "none", "--use_cpu", "--disable_tqdm", "true"])

    teacher, pruned = evaluate("teacher"), evaluate("pruned")
    assert teacher["eval_f1"] != pruned["eval_f1"]  # the plan changes answers: the comparisons can tell them apart
    assert rows["pytorch dense"]["f1"] == pytest.approx(teacher["eval_f1"])
    assert rows["pytorch dense"]["exact_match"] == pytest.approx(teacher["eval_exact_match"])
    assert rows["pytorch pruned"]["f1"] == pytest.approx(pruned["eval_f1"])
    assert rows["pytorch pruned"]["flops_reduction"] == pytest.approx(pruned["eval_flops_reduction"])
    assert results["flops_reduction_padded"] == pytest.approx(pruned["eval_flops_reduction_padded"])
    # ONNX Runtime float32 answers as PyTorch does.
    assert rows["ort dense fp32"]["f1"] == pytest.approx(rows["pytorch dense"]["f1"])
    assert rows["ort pruned fp32"]["f1"] == pytest.approx(rows["pytorch pruned"]["f1"])
    for row in rows.values():
        assert row["batch1_ms"] > 0 and row["throughput_sorted_texts_per_s"] > 0
        assert row["throughput_data_order_texts_per_s"] > 0


def test_classifier_variants_score_every_dev_sentence_and_time_the_first(tiny_tokenizer, tmp_path):
    torch.manual_seed(0)
    BertForSequenceClassification(BertConfig(**TINY_BERT, initializer_range=0.5)).save_pretrained(tmp_path / "teacher")
    pruned = TopBertForSequenceClassification.from_pretrained(tmp_path / "teacher", token_keep_ratios=PLAN)
    pruned.save_pretrained(tmp_path / "pruned")
    for folder in ("teacher", "pruned"):
        tiny_tokenizer.save_pretrained(tmp_path / folder)
    teacher = BertForSequenceClassification.from_pretrained(tmp_path / "teacher")
    generator = random.Random(0)
    words = [token for token in TINY_VOCAB if not token.startswith("[")]  # get_vocab()'s order changes per process
    candidates = [" ".join(generator.choices(words, k=generator.randint(2, 30))) for _ in range(200)]

    def margins(model, texts: list[str]) -> torch.Tensor:
        with torch.no_grad():
            logits = model.eval()(**tiny_tokenizer(texts, padding=True, return_tensors="pt")).logits
        return logits[:, 1] - logits[:, 0]

    # Dev sentences on which both models are clearly decided, so that no rounding of another batch shape or thread
    # count flips an answer; the labels are the teacher's answers: it scores 1.0, the pruned model less.
    teacher_margins, pruned_margins = margins(teacher, candidates), margins(pruned, candidates)
    decided = (teacher_margins.abs() > 0.05) & (pruned_margins.abs() > 0.05)
    disagree = decided & ((teacher_margins > 0) != (pruned_margins > 0))
    agree = decided & ~disagree
    picked = sorted(disagree.nonzero().flatten().tolist()[:6] + agree.nonzero().flatten().tolist()[:34])
    assert len(picked) == 40, "the plan should change the answer of at least 6 of 200 random sentences"
    sentences = [candidates[index] for index in picked]
    labels = [int(teacher_margins[index] > 0) for index in picked]
    pruned_accuracy = 34 / 40  # the pruned model misses the 6 sentences whose answer its plan changes
    (tmp_path / "data" / "sst2").mkdir(parents=True)
    rows = [f"{sentence}\t{label}" for sentence, label in zip(sentences, labels, strict=True)]
    (tmp_path / "data" / "sst2" / "dev.tsv").write_text("sentence\tlabel\n" + "\n".join(rows) + "\n")

    argv = ["--task", "sst2", "--model", str(tmp_path / "pruned"), "--teacher", str(tmp_path / "teacher")]
    argv += ["--data_dir", str(tmp_path / "data"), "--work_dir", str(tmp_path / "work"), "--repeats", "1"]
    argv += ["--results_dir", str(tmp_path), "--latency_texts", "4", "--throughput_texts", "35"]
    results = deployment.main(argv)
    rows = {row["variant"]: row for row in results["rows"]}
    assert set(rows) == set(deployment.VARIANTS)
    assert results["texts"] == 40 and results["latency_texts"] == 4 and results["throughput_texts"] == 35
    assert rows["pytorch dense"]["accuracy"] == rows["ort dense fp32"]["accuracy"] == 1.0
    assert rows["pytorch pruned"]["accuracy"] == rows["ort pruned fp32"]["accuracy"] == pytest.approx(pruned_accuracy)
    lengths = [len(ids) for ids in tiny_tokenizer(sentences)["input_ids"]]
    assert rows["ort pruned int8"]["flops_reduction"] == flops_metrics(pruned.config, lengths)["eval_flops_reduction"]
    assert all(row["throughput_sorted_texts_per_s"] > 0 and row["batch1_ms"] > 0 for row in rows.values())
    operations = results["pruning_operations"]
    assert set(operations) == {name for name in rows if "pruned" in name}
    assert all(row["keep_everything_batch1_ms"] > 0 and row["dense_batch1_ms"] > 0 for row in operations.values())


@pytest.mark.parametrize(("task", "texts"), [("sst2", 872), ("imdb", 2000)])
def test_the_classification_tasks_read_their_real_evaluation_texts_and_labels(shared_data, task, texts):
    read, labels = deployment.load_texts(task, shared_data)
    assert len(read) == len(labels) == texts and set(labels) == {0, 1}
    assert all(isinstance(text, str) and text.strip() for text in read)


def test_flops_bounds_drop_every_token_but_cls_from_each_possible_first_prune_layer():
    config = TopBertConfig(num_hidden_layers=3, hidden_size=1, intermediate_size=1, num_attention_heads=1)
    # Per layer 2 * (4 n + 2 n^2 + 2 m): n tokens enter, m reach the feed-forward network (pruning happens before it).
    # Three tokens: dense 3 * 36; from layer 1: 32 + 8 + 8; from layer 2: 36 + 32 + 8 (the factor 2 cancels).
    assert deployment.flops_reduction_bounds(config, [3]) == {"1": 108 / 48, "2": 108 / 76}
    # Texts of one token cannot be shortened.
    assert deployment.flops_reduction_bounds(config, [1, 1]) == {"1": 1.0, "2": 1.0}


def test_the_keep_everything_plan_decides_at_the_same_layers_and_keeps_every_token_of_any_length():
    config = TopBertConfig(num_hidden_layers=4, hidden_size=8, intermediate_size=8, num_attention_heads=1,
                           max_position_embeddings=64, token_keep_ratios=PLAN)  # fmt: skip
    config.num_bins = 4
    config.token_keep_bins = [None, None, [1, 0, 1, 0], [1, 1, 0, 0]]
    keep_all = deployment.keep_everything(TopBertForSequenceClassification(config))
    assert keep_all.config.token_keep_bins is None
    assert [plan is not None for plan in keep_all.base_model.current_layer_plans()] == [False, False, True, True]
    assert all(plan_lengths(keep_all.config, length) == [length] * 4 for length in range(1, 65))
    assert config.token_keep_bins is not None  # the model measured is left as it was


def plan_results(path, config: TopBertConfig) -> None:
    """An `accuracy.py` results file whose `top` point "target 0.5" learnt `config`'s plan."""
    point = {"method": "top", "setting": "target 0.5", "metric": 0.9, "plan": config.plan_dict()}
    baseline = {"method": "random", "setting": "target 0.4", "metric": 0.5, "plan": config.plan_dict()}
    path.write_text(json.dumps({"points": [baseline, point]}))


def test_a_recorded_plan_is_timed_on_a_dense_checkpoint_without_scoring_its_untrained_head(tiny_tokenizer, tmp_path):
    torch.manual_seed(0)
    BertForSequenceClassification(BertConfig(**TINY_BERT)).save_pretrained(tmp_path / "dense")
    tiny_tokenizer.save_pretrained(tmp_path / "dense")
    planned = TopBertConfig(**TINY_BERT, token_keep_ratios=PLAN)
    plan_results(tmp_path / "accuracy.json", planned)
    sentences = ["good movie", "a very long and rather dull film about nothing at all", "fine"]
    (tmp_path / "data" / "sst2").mkdir(parents=True)
    (tmp_path / "data" / "sst2" / "dev.tsv").write_text("sentence\tlabel\n" + "".join(f"{s}\t1\n" for s in sentences))

    argv = ["--task", "sst2", "--model", str(tmp_path / "dense"), "--plan_from", str(tmp_path / "accuracy.json")]
    argv += ["--plan_setting", "target 0.5", "--data_dir", str(tmp_path / "data"), "--work_dir", str(tmp_path / "w")]
    argv += ["--results_dir", str(tmp_path), "--repeats", "1", "--latency_texts", "2", "--name", "plan"]
    results = deployment.main(argv)
    rows = {row["variant"]: row for row in results["rows"]}
    assert set(rows) == set(deployment.VARIANTS)
    assert all(row["accuracy"] is None and row["batch1_ms"] > 0 for row in rows.values())
    assert results["plan"] == planned.plan_dict() and results["teacher"] is None
    assert results["plan_from"] == {"file": str(tmp_path / "accuracy.json"), "setting": "target 0.5"}
    lengths = [len(ids) for ids in tiny_tokenizer(sentences)["input_ids"]]
    expected = flops_metrics(planned, lengths)["eval_flops_reduction"]
    assert expected > 1 and rows["ort pruned int8"]["flops_reduction"] == expected
    assert rows["ort dense int8"]["flops_reduction"] == 1.0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--plan_setting", "target 0.4"], "holds 0 top points for setting 'target 0.4'; its settings: 'target 0.5'"),
        (["--plan_setting", "target 0.5", "--teacher", "t"], "--plan_from needs"),
        ([], "--plan_from needs"),
    ],
)
def test_a_recorded_plan_that_cannot_be_timed_is_refused_before_loading(tmp_path, capsys, options, message):
    plan_results(tmp_path / "accuracy.json", TopBertConfig(**TINY_BERT, token_keep_ratios=PLAN))
    argv = ["--task", "imdb", "--model", str(tmp_path / "missing"), "--plan_from", str(tmp_path / "accuracy.json")]
    with pytest.raises(SystemExit):
        deployment.main([*argv, *options])
    assert message in capsys.readouterr().err
