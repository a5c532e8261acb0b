"""benchmarks/onnx_attention.py: a tiny pruned model and its teacher, each exported with eager and with sdpa
attention, timed side by side; the two graphs agree."""

from __future__ import annotations

import json

import onnx_attention
import pytest
import torch
from conftest import TINY_BERT
from transformers import BertConfig, BertForSequenceClassification

from transformers_top import TopBertForSequenceClassification

pytest.importorskip("onnxruntime")


def test_both_attentions_are_timed_with_pytorch_and_agree(tiny_tokenizer, tmp_path):
    torch.manual_seed(0)
    BertForSequenceClassification(BertConfig(**TINY_BERT, initializer_range=0.5)).save_pretrained(tmp_path / "teacher")
    pruned = TopBertForSequenceClassification.from_pretrained(tmp_path / "teacher", token_keep_ratios=[1, 1, 0.5, 0.5])
    pruned.save_pretrained(tmp_path / "pruned")
    for folder in ("teacher", "pruned"):
        tiny_tokenizer.save_pretrained(tmp_path / folder)
    (tmp_path / "data" / "sst2").mkdir(parents=True)
    rows = ["sentence\tlabel", "hello world\t1", "the cat sat on the mat today\t0", "a b c\t1", "[unused]\t0"]
    (tmp_path / "data" / "sst2" / "dev.tsv").write_text("\n".join(rows) + "\n")

    argv = ["--task", "sst2", "--model", str(tmp_path / "pruned"), "--teacher", str(tmp_path / "teacher")]
    argv += ["--data_dir", str(tmp_path / "data"), "--work_dir", str(tmp_path / "work")]
    argv += ["--results_dir", str(tmp_path)]
    results = onnx_attention.main([*argv, "--texts", "3", "--repeats", "1"])

    variants = [row["variant"] for row in results["rows"]]
    assert variants[:2] == ["pytorch dense", "pytorch pruned"]
    assert sorted(variants[2:]) == sorted(f"{name} {attention}" for name in onnx_attention.ORT_VARIANTS
                                          for attention in ("eager", "sdpa"))  # fmt: skip
    assert all(row["batch1_ms"] > 0 for row in results["rows"]) and results["texts"] == 3
    pairs = {pair["variant"]: pair for pair in results["pairs"]}
    for name in ("ort dense fp32", "ort pruned fp32"):  # float32: the same logits either way
        assert pairs[name]["max_logit_difference"] < 1e-4 and pairs[name]["same_predictions"] == 1.0
    saved = json.loads((tmp_path / "onnx_attention_sst2.json").read_text())
    assert saved["pairs"] == results["pairs"] and "git_commit" in saved["environment"]
    # One folder per graph and attention: the sdpa graphs are not the eager ones read back from the cache.
    folders = sorted(path.name for path in (tmp_path / "work" / "onnx_attention_sst2").iterdir())
    assert folders == sorted(f"{kind}-{precision}-{attention}" for kind in ("dense", "pruned")
                             for precision in ("fp32", "int8") for attention in ("eager", "sdpa"))  # fmt: skip


def test_bad_counts_are_refused(tmp_path, capsys):
    with pytest.raises(SystemExit):
        onnx_attention.parse_args(["--task", "sst2", "--model", "m", "--teacher", "t", "--texts", "0"])
    assert "--texts, --repeats and --threads must be positive, got 0, 3, 2" in capsys.readouterr().err
