"""benchmarks/answer_oracle.py: the answer tokens of each window, the oracle ranking's wiring, and a tiny end-to-end
run against the example script's evaluation."""

from __future__ import annotations

import json
import re

import answer_oracle
import pytest
import torch
from datasets import Dataset
from test_run_qa_top import WINDOWS, squad_json, tiny_bert_config
from transformers import AutoTokenizer, BertForQuestionAnswering

from transformers_top import TopBertForQuestionAnswering
from transformers_top.models import pruned_encoder, token_tracking

PLAN = {"prune_layers": [2, 3], "num_bins": 4, "token_keep_ratios": [1.0, 1.0, 0.5, 0.5]}


@pytest.fixture(scope="module")
def teacher_and_plan(minilm_path, tmp_path_factory):
    """A tiny random question-answering teacher, a saved ToP run holding `PLAN`, and a 12-question SQuAD file."""
    root = tmp_path_factory.mktemp("answer-oracle")
    torch.manual_seed(0)
    config = tiny_bert_config(minilm_path)
    config.initializer_range = 0.5  # span logits that depend on the tokens, so that the ranking changes answers
    BertForQuestionAnswering(config).save_pretrained(root / "teacher")
    AutoTokenizer.from_pretrained(minilm_path).save_pretrained(root / "teacher")
    TopBertForQuestionAnswering.from_pretrained(root / "teacher", **PLAN).save_pretrained(root / "run")
    squad_json(root / "validation.json")
    return root


def test_answer_tokens_are_the_context_tokens_overlapping_any_gold_answer():
    examples = Dataset.from_list(
        [
            {"id": "q", "answers": {"text": ["bc", "d"], "answer_start": [2, 6]}},
            {"id": "r", "answers": {"text": ["x"], "answer_start": [0]}},
        ]
    )
    # Window 1: question tokens (None), then context tokens at characters 0-2, 2-4, 4-6, 6-8; window 2: one token.
    features = {
        "example_id": ["q", "r"],
        "offset_mapping": [[None, None, (0, 2), (2, 4), (4, 6), (6, 8), None], [None, (0, 1)]],
    }
    assert answer_oracle.answer_masks(examples, features) == [
        [False, False, False, True, False, True, False],
        [False, True],
    ]


def test_the_oracle_ranks_the_batch_answer_first_and_leaves_the_model_as_it_was(teacher_and_plan):
    model = TopBertForQuestionAnswering.from_pretrained(teacher_and_plan / "run").eval()
    base = model.base_model
    inputs = {"input_ids": torch.randint(1000, 2000, (2, 12)), "attention_mask": torch.ones(2, 12, dtype=torch.long)}
    inputs["attention_mask"][1, 9:] = 0
    answer_mask = torch.zeros(2, 12, dtype=torch.bool)
    answer_mask[0, 7:9] = answer_mask[1, 3] = True
    seen = []
    encode = base.encode

    def spy(*args, protected, **kwargs):
        seen.append(protected)
        return encode(*args, protected=protected, **kwargs)

    base.encode = spy
    with torch.no_grad():
        answer_oracle.AnswerFirst(model)(answer_mask=answer_mask, **inputs)
    del base.encode
    ((protected,),) = [seen]
    assert torch.equal(protected, answer_mask & inputs["attention_mask"].bool())
    assert "protected_tokens" not in vars(base)  # the model ranks by attention again
    with torch.no_grad():
        again = model(**inputs)
        plain = answer_oracle.without_answer_mask(model)(answer_mask=answer_mask, **inputs)
    assert torch.equal(again.start_logits, plain.start_logits)


def test_answers_from_last_layer_tokens_floor_exactly_the_positions_the_last_layer_did_not_see(teacher_and_plan):
    model = TopBertForQuestionAnswering.from_pretrained(teacher_and_plan / "run").eval()
    inputs = {"input_ids": torch.randint(1000, 2000, (2, 12)), "attention_mask": torch.ones(2, 12, dtype=torch.long)}
    inputs["attention_mask"][1, 9:] = 0
    run = answer_oracle.without_answer_mask(model)
    with torch.no_grad():
        plain = model(**inputs, output_kept_tokens=True)
        floored = answer_oracle.AnswersFromLastLayer(run)(answer_mask=None, **inputs)
    for logits, floored_logits in ((plain.start_logits, floored.start_logits), (plain.end_logits, floored.end_logits)):
        through = floored_logits != answer_oracle.DROPPED_LOGIT
        # Rows of 12 and 9 real tokens keep 1 + ceil(11 / 2 / 2) = 4 and 1 + ceil(8 / 2 / 2) = 3 through layer 3.
        assert through.sum(dim=1).tolist() == plain.kept_tokens[:, -1].tolist() == [4, 3]
        assert through[:, 0].all() and not through[1, 9:].any()  # [CLS] always, padding never
        assert torch.equal(floored_logits[through], logits[through])
    assert pruned_encoder.TokenRestorer is token_tracking.TokenRestorer  # the model restores as before


def test_the_variants_score_as_the_example_script_evaluates_the_teacher(teacher_and_plan, tmp_path):
    import run_qa_top

    root = teacher_and_plan
    argv = ["--teacher", str(root / "teacher"), "--plan_from", str(root / "run"), "--validation_file"]
    argv += [str(root / "validation.json"), "--max_seq_length", "64", "--doc_stride", "16", "--threads", "1"]
    record = answer_oracle.main([*argv, "--results_dir", str(tmp_path)])
    rows = {row["variant"]: row for row in record["rows"]}
    assert list(rows) == list(answer_oracle.VARIANTS)
    assert record["questions"] == 12 and record["windows"] > 12 and record["plan"].items() >= PLAN.items()
    assert 0 < record["windows_holding_an_answer"] < record["windows"] and record["answer_tokens_per_window"] >= 1
    assert json.loads((tmp_path / "answer_oracle.json").read_text())["rows"] == record["rows"]
    options = ["--model_name_or_path", str(root / "teacher"), "--validation_file", str(root / "validation.json")]
    options += [*WINDOWS, "--do_eval", "--eval_teacher", "false", "--output_dir", str(tmp_path / "eval")]
    teacher = run_qa_top.main([*options, "--report_to", "none", "--use_cpu", "--disable_tqdm", "true"])
    assert rows["teacher"]["f1"] == pytest.approx(teacher["eval_f1"])
    # The same plan ranked two ways, or scored two ways, answers differently: the comparison can tell them apart.
    attention = rows["plan, attention ranking"]["f1"]
    assert attention != rows["plan, answer ranked first"]["f1"]
    assert attention != rows["plan, attention ranking, answers from last-layer tokens"]["f1"]


def test_the_plan_comes_from_a_run_folder_or_a_results_file_point(teacher_and_plan, tmp_path):
    plan = {"prune_layers": [2], "num_bins": 2, "token_keep_ratios": [1.0, 1.0, 0.5, 1.0], "token_keep_bins": None}
    points = [
        {"method": "teacher", "setting": "dense", "plan": None},
        {"method": "top", "setting": "target 0.3", "plan": {**PLAN, "protected_token_type": None}},
        {"method": "top", "setting": "target 0.5", "plan": {**plan, "protected_token_type": None}},
    ]
    results = tmp_path / "accuracy_squad.json"
    results.write_text(json.dumps({"points": points}))
    assert answer_oracle.plan_of(results, "target 0.5") == plan  # the plan's fields only
    fields = ("token_keep_ratios", "protected_token_type", "ranking_pool_width")  # the last one not recorded
    assert answer_oracle.plan_of(results, "target 0.5", fields) == {
        "token_keep_ratios": [1.0, 1.0, 0.5, 1.0],
        "protected_token_type": None,
    }
    assert answer_oracle.plan_of(teacher_and_plan / "run").items() >= PLAN.items()
    with pytest.raises(
        ValueError, match=re.escape("holds 2 top points for setting None; its settings: 'target 0.3', 'target 0.5'")
    ):
        answer_oracle.plan_of(results)
    with pytest.raises(ValueError, match=re.escape("holds 0 top points for setting 'target 0.4'")):
        answer_oracle.plan_of(results, "target 0.4")


def test_bad_folders_are_refused(teacher_and_plan, tmp_path, capsys):
    root = teacher_and_plan
    with pytest.raises(SystemExit):
        answer_oracle.main(["--teacher", str(tmp_path), "--plan_from", str(root / "run")])
    assert "--teacher" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        answer_oracle.main(["--teacher", str(root / "teacher"), "--plan_from", str(root / "teacher")])
    assert "holds no pruning plan" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        answer_oracle.main(["--teacher", str(root / "teacher"), "--plan_from", str(tmp_path / "missing.json")])
    assert "neither a saved model folder nor a results file" in capsys.readouterr().err
