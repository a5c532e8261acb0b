"""benchmarks/ranking_agreement.py: the overlap and losses it reports are those of the library's ranking functions."""

from __future__ import annotations

import json
import shutil

import pytest
import ranking_agreement
import torch
from conftest import TINY_VOCAB
from transformers import AutoModel, BertTokenizerFast

from transformers_top import TopBertForSequenceClassification
from transformers_top.training.losses import rank_distillation_loss, teacher_final_importance


@pytest.fixture
def tokenizer(tmp_path) -> BertTokenizerFast:
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(TINY_VOCAB) + "\n")
    return BertTokenizerFast(vocab_file=str(vocab))


TEXTS = [("the movie was really good , not boring and not slow !",), ("the plot was dull but the music was great .",)]


def test_a_model_ranks_at_its_last_layer_exactly_as_its_teacher(tiny_bert_dir, tmp_path, tokenizer):
    # A pruned ToP student saved from the teacher's weights: its plan is removed, so it is the teacher itself.
    student = TopBertForSequenceClassification.from_pretrained(tiny_bert_dir, token_keep_ratios=[1, 1, 0.5, 0.5])
    student.save_pretrained(tmp_path / "student")
    models = {"teacher": ranking_agreement.load_dense(tiny_bert_dir)}
    models["student"] = ranking_agreement.load_dense(tmp_path / "student")
    assert models["student"].config.token_keep_ratios is None
    teacher = AutoModel.from_pretrained(tiny_bert_dir).eval()
    result = ranking_agreement.measure(teacher, models, tokenizer, TEXTS, k=5, max_length=32)
    assert result["texts"] == 2
    lengths = [len(tokenizer(*text)["input_ids"]) for text in TEXTS]
    assert result["chance_overlap"] == pytest.approx(sum(5 / (n - 1) for n in lengths) / 2, abs=1e-4)
    for name in ("teacher", "student"):
        metrics = result["models"][name]
        assert metrics["overlap"][-1] == 1.0 and all(0.0 <= value <= 1.0 for value in metrics["overlap"])
        assert metrics == result["models"]["teacher"]
    # The last layer's losses are the library's ranking losses of the teacher against itself, on the two scores.
    expected = {"arp2": 0.0, "arp2_log": 0.0}
    for text in TEXTS:
        inputs = tokenizer(*text, return_tensors="pt")
        alive = inputs["attention_mask"].bool()
        with torch.no_grad():
            hidden = teacher(**inputs, output_hidden_states=True).hidden_states
        target = teacher_final_importance(teacher, hidden[-2], alive)
        for key, score in (("arp2", "importance"), ("arp2_log", "log")):
            expected[key] += float(rank_distillation_loss(target, target, alive, 5, "arp2", score)) / len(TEXTS)
    for key, value in expected.items():
        assert result["models"]["teacher"][key][-1] == pytest.approx(value, abs=1e-4)


def test_command_line_writes_the_results_and_refuses_bad_input(
    tiny_bert_dir, tmp_path, tokenizer, monkeypatch, capsys
):
    teacher = tmp_path / "teacher"
    shutil.copytree(tiny_bert_dir, teacher)
    tokenizer.save_pretrained(teacher)
    sentences = tmp_path / "dev.tsv"
    sentences.write_text("sentence\tlabel\n" + "".join(f"{text}\t1\n" for (text,) in TEXTS))
    written = {}
    monkeypatch.setattr(ranking_agreement, "save_results", lambda name, record: written.setdefault(name, record))
    options = ["--teacher", str(teacher), "--validation_file", str(sentences), "--topk", "3", "--threads", "1"]
    record = ranking_agreement.main([*options, "--models", str(tiny_bert_dir), "--name", "agreement"])
    assert written["agreement"] is record and record["texts"] == 2 and record["settings"]["topk"] == "3"
    # The teacher compared with itself: the same numbers under its own name and the model's.
    assert record["models"]["teacher"] == record["models"][tiny_bert_dir.name]
    json.dumps(record)  # serialisable as it is written
    for bad, message in (
        (["--models", str(tmp_path)], "is not a saved model folder"),
        (["--models", str(tiny_bert_dir), "--texts", "0"], "--texts and --threads must be >= 1"),
    ):
        with pytest.raises(SystemExit):
            ranking_agreement.main([*options, *bad])
        assert message in capsys.readouterr().err
