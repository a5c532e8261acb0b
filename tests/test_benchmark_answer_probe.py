"""benchmarks/answer_probe.py: the tokens a probe fits on, a probe's scores ranking a decision, and a tiny end-to-end
run whose attention ranking scores as the oracle script's."""

from __future__ import annotations

import json

import answer_oracle
import answer_probe
import pytest
import torch
from test_benchmark_answer_oracle import PLAN, teacher_and_plan  # noqa: F401 (a fixture)
from test_run_qa_top import squad_json
from transformers import AutoTokenizer

from transformers_top import TopBertForQuestionAnswering

WINDOWING = {"max_seq_length": 64, "doc_stride": 16}


def test_the_probes_fit_on_every_real_token_of_the_windows_with_its_answer_label(teacher_and_plan):  # noqa: F811
    root = teacher_and_plan
    features, label = answer_probe.training_tokens(root / "teacher", PLAN, root / "validation.json", 12, **WINDOWING)
    tokenizer = AutoTokenizer.from_pretrained(root / "teacher")
    examples, windows = answer_oracle.squad_windows(tokenizer, root / "validation.json", **WINDOWING)
    masks = answer_oracle.answer_masks(examples, windows)
    real_tokens = sum(len(ids) for ids in windows["input_ids"])
    assert sorted(features) == [1, 2]  # the layers before the prune layers 2 and 3
    for layer_features in features.values():  # state, attention context and log importance per token
        assert layer_features.shape == (real_tokens, 2 * 32 + 1)
    assert label.dtype == torch.bool and len(label) == real_tokens
    assert int(label.sum()) == sum(map(sum, masks)) > 0


def test_a_probe_ranks_the_decisions_in_place_of_the_attention(teacher_and_plan):  # noqa: F811
    model = TopBertForQuestionAnswering.from_pretrained(teacher_and_plan / "run").eval()
    inputs = {"input_ids": torch.randint(1000, 2000, (2, 20)), "attention_mask": torch.ones(2, 20, dtype=torch.long)}
    inputs["attention_mask"][1, 15:] = 0
    width = 2 * 32 + 1
    # A probe that reads only the log importance, with a negative weight: it ranks the least attended tokens first.
    least_attended = answer_probe.Probe(torch.zeros(width), torch.ones(width), hidden=0)
    least_attended.net.weight.data.zero_()[0, -1] = -1.0
    least_attended.net.bias.data.zero_()

    def kept(importance_of=None) -> torch.Tensor:
        base = model.base_model
        if importance_of is not None:
            ranking_scores = base.ranking_scores
            base.ranking_scores = lambda importance, protected: ranking_scores(importance_of(importance), protected)
        try:
            with answer_oracle.last_layer_positions() as reached, torch.no_grad():
                model(**inputs)
        finally:
            vars(base).pop("ranking_scores", None)
        return reached[0]

    by_attention = kept()
    reversed_attention = kept(lambda importance: 1 - importance)
    probe = answer_probe.ProbedAttention(model, [1, 2], {1: least_attended, 2: least_attended}).install()
    by_probe = kept()
    probe.remove()
    assert torch.equal(by_probe, reversed_attention) and not torch.equal(by_probe, by_attention)
    assert torch.equal(kept(), by_attention)  # removed, the model ranks by attention again


def test_the_run_scores_every_variant_and_its_attention_ranking_as_the_oracle_script(teacher_and_plan, tmp_path):  # noqa: F811
    root = teacher_and_plan
    data = root / "validation.json"
    argv = ["--teacher", str(root / "teacher"), "--plan_from", str(root / "run"), "--validation_file", str(data)]
    argv += ["--max_seq_length", "64", "--doc_stride", "16", "--threads", "1", "--results_dir", str(tmp_path)]
    record = answer_probe.main([*argv, "--train_file", str(squad_json(tmp_path / "train.json")), "--epochs", "2"])
    names = [row["variant"] for row in record["rows"]]
    assert names[::2] == list(answer_probe.VARIANTS)
    assert names[1::2] == [f"{name}, answers from last-layer tokens" for name in answer_probe.VARIANTS]
    assert all(0 <= row["answer_tokens_through_last_layer"] <= 1 for row in record["rows"])
    assert sorted(record["probes"]) == ["1", "2"] and record["questions"] == 12
    assert all(0 <= probe["held_out_auc"] <= 1 for probe in record["probes"].values())
    assert json.loads((tmp_path / "answer_probe.json").read_text())["rows"] == record["rows"]
    oracle = answer_oracle.main([*argv[:-2], "--results_dir", str(tmp_path / "oracle")])
    same_plan = {row["variant"]: row["f1"] for row in oracle["rows"]}
    for row in record["rows"][:2]:
        assert row["f1"] == pytest.approx(same_plan[row["variant"]])


def test_a_plan_of_ones_own_keeps_the_runs_ranking_and_records_its_flops(teacher_and_plan, tmp_path):  # noqa: F811
    root = teacher_and_plan
    argv = ["--teacher", str(root / "teacher"), "--plan_from", str(root / "run"), "--threads", "1"]
    argv += ["--validation_file", str(root / "validation.json"), "--train_file", str(root / "validation.json")]
    argv += ["--max_seq_length", "64", "--doc_stride", "16", "--results_dir", str(tmp_path)]
    record = answer_probe.main(
        [*argv, "--token_keep_ratios", "1", "1", "1", "0.25", "--variants", "plan, probe ranking"]
    )
    assert record["plan"]["token_keep_ratios"] == [1.0, 1.0, 1.0, 0.25] and record["plan"]["prune_layers"] == [3]
    assert record["deciding_layers"] == [2] and list(record["probes"]) == ["2"]
    assert [row["variant"] for row in record["rows"]] == [
        "plan, probe ranking",
        "plan, probe ranking, answers from last-layer tokens",
    ]
    # One decision keeping a quarter at the last of 4 layers saves less than half of the FLOPs.
    assert 1 < record["plan_flops_reduction"] < 2 and record["plan_flops_reduction_padded"] > 1
    bounds = record["flops_reduction_bounds"]  # everything but [CLS] leaving at layer 1, 2 or 3
    assert list(bounds) == ["1", "2", "3"] and bounds["1"] > bounds["2"] > bounds["3"] > record["plan_flops_reduction"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--probe_hidden", "-1"], "--probe_hidden must be >= 0, got -1"),
        (["--train_questions", "0"], "--train_questions must be >= 1, got 0"),
        (["--threads", "0"], "--threads must be >= 1, got 0"),
        (["--train_file", "/no/such.json"], "--train_file /no/such.json not found"),
        (["--token_keep_ratios", "1", "1", "1.5", "1"], "token_keep_ratios[2] must be a number in (0, 1], got 1.5"),
        (["--variants", "plan, by magic"], "invalid choice: 'plan, by magic'"),
    ],
)
def test_bad_options_are_refused(teacher_and_plan, capsys, options, message):  # noqa: F811
    root = teacher_and_plan
    with pytest.raises(SystemExit):
        answer_probe.main(["--teacher", str(root / "teacher"), "--plan_from", str(root / "run"), *options])
    assert message in capsys.readouterr().err
