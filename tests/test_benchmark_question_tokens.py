"""benchmarks/question_tokens.py: the positions it says survive are the ones the model keeps."""

from __future__ import annotations

import json

import pytest
import question_tokens
import torch
from conftest import TINY_BERT, TINY_VOCAB
from transformers import BertTokenizerFast

from transformers_top import TopBertConfig, TopBertForQuestionAnswering

PLAN = [1.0, 1.0, 0.5, 0.5]


@pytest.mark.parametrize(
    "ranking",
    [
        {},
        {"ranking_pool_width": 2},
        {"protected_token_type": 0},
        {"importance_token_type": 0, "ranking_pool_width": 1},
    ],
)
def test_surviving_positions_are_the_tokens_the_model_keeps(ranking):
    torch.manual_seed(0)
    config = TopBertConfig(**TINY_BERT, initializer_range=0.2, token_keep_ratios=PLAN, **ranking)
    model = TopBertForQuestionAnswering(config).eval()
    generator = torch.Generator().manual_seed(3)
    input_ids = torch.randint(5, TINY_BERT["vocab_size"], (1, 29), generator=generator)
    input_ids[0, 0] = 2
    token_type_ids = torch.tensor([[0] * 7 + [1] * 22])  # a 6-token question after [CLS]
    inputs = {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids), "token_type_ids": token_type_ids}
    entering = question_tokens.surviving_positions(model, inputs)
    with torch.no_grad():
        output = model.bert(**inputs, output_kept_tokens=True, restore_pruned_tokens=True)
        shortened = model.bert(**inputs, restore_pruned_tokens=False).last_hidden_state
    assert [len(positions) for positions in entering] == output.kept_tokens[0].tolist() == [29, 29, 15, 8]
    # The tokens still there after the last layer sit, in order, at the positions found for it.
    torch.testing.assert_close(output.last_hidden_state[0, entering[-1]], shortened[0], atol=1e-6, rtol=0)


def test_measure_counts_question_context_and_answer_tokens(tmp_path):
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(TINY_VOCAB) + "\n")
    tokenizer = BertTokenizerFast(vocab_file=str(vocab))
    torch.manual_seed(0)
    model = TopBertForQuestionAnswering(TopBertConfig(**TINY_BERT, initializer_range=0.2, token_keep_ratios=PLAN))
    context = "the movie was really good , not boring and not slow !"
    rows = [{"question": "what was it ?", "context": context, "answer": (context.index("good"), context.index(" ,"))}]
    result = question_tokens.measure(model.eval(), tokenizer, rows, max_seq_length=64)
    assert result["windows"] == 1 and result["tokens"] == {"question": 4, "context": 12, "answer": 1}
    fractions = result["kept_fraction"]
    # Every token enters layers 0 and 1; the plan keeps half of the alive tokens at layers 2 and 3.
    assert all(fractions[part][:2] == [1.0, 1.0] for part in fractions)
    encoded = tokenizer("what was it ?", context, return_tensors="pt")
    survivors = question_tokens.surviving_positions(model, dict(encoded))[2].tolist()
    assert len(survivors) == 1 + 9  # [CLS] and half of the 18 other tokens
    parts = encoded.sequence_ids(0)
    assert fractions["question"][2] == sum(parts[i] == 0 for i in survivors) / 4
    assert fractions["context"][2] == sum(parts[i] == 1 for i in survivors) / 12
    assert fractions["answer"][2] == (encoded.char_to_token(0, context.index("good"), sequence_index=1) in survivors)


def test_plan_of_runs_a_dense_teacher_under_a_pruned_models_plan_and_ranking(tmp_path, monkeypatch, capsys):
    from transformers import BertConfig, BertForQuestionAnswering

    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(TINY_VOCAB) + "\n")
    tokenizer = BertTokenizerFast(vocab_file=str(vocab))
    torch.manual_seed(0)
    teacher, pruned = tmp_path / "teacher", tmp_path / "pruned"
    BertForQuestionAnswering(BertConfig(**TINY_BERT, initializer_range=0.2)).save_pretrained(teacher)
    tokenizer.save_pretrained(teacher)
    ranking = {"token_keep_ratios": PLAN, "importance_token_type": 0, "ranking_pool_width": 2}
    TopBertForQuestionAnswering(TopBertConfig(**TINY_BERT, **ranking)).save_pretrained(pruned)
    context = "the movie was really good , not boring and not slow !"
    answer = {"text": "good", "answer_start": context.index("good")}
    squad = {
        "data": [{"paragraphs": [{"context": context, "qas": [{"question": "what was it ?", "answers": [answer]}]}]}]
    }
    validation = tmp_path / "dev.json"
    validation.write_text(json.dumps(squad))
    written = {}
    monkeypatch.setattr(question_tokens, "save_results", lambda name, record: written.setdefault(name, record))
    options = ["--validation_file", str(validation), "--questions", "1", "--threads", "1", "--name", "plan"]
    record = question_tokens.main(["--model", str(teacher), "--plan_of", str(pruned), *options])
    # The teacher's weights under the pruned model's plan and ranking settings.
    assert written["plan"] is record and record["windows"] == 1
    assert {key: record["plan"][key] for key in ranking} == ranking
    assert record["kept_fraction"]["context"][2] < 1.0
    for bad, message in (
        (["--model", str(teacher)], "holds no pruning plan"),
        (["--model", str(teacher), "--plan_of", str(tmp_path)], f"--plan_of {tmp_path} is not a saved model folder"),
    ):
        with pytest.raises(SystemExit):
            question_tokens.main([*bad, *options])
        assert message in capsys.readouterr().err
