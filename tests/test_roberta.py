"""The RoBERTa family (RoBERTa and XLM-RoBERTa) on tiny random configurations: the same pruning as BERT, loading,
equivalence with transformers, Auto classes, remote code, pipeline, Hub, TopTrainer, the example script and bad
input."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import torch
from conftest import TINY_BERT
from transformers import (
    AutoModel,
    AutoModelForSequenceClassification,
    BertConfig,
    BertForSequenceClassification,
    BertTokenizer,
    RobertaConfig,
    RobertaForSequenceClassification,
    RobertaModel,
    XLMRobertaConfig,
    XLMRobertaForSequenceClassification,
    pipeline,
)

from transformers_top import (
    TopBertConfig,
    TopBertForSequenceClassification,
    TopRobertaConfig,
    TopRobertaForSequenceClassification,
    TopRobertaModel,
    TopTrainer,
    TopTrainingArguments,
    count_flops,
    push_pruned_model,
    top_model_class,
)
from transformers_top.models.flops import plan_lengths

#: RoBERTa's layout: padding id 1 and positions after it, so 66 positions hold 64 tokens; one token type.
TINY_ROBERTA = TINY_BERT | dict(max_position_embeddings=66, pad_token_id=1, type_vocab_size=1, initializer_range=0.2)
PLAN = [1.0, 1.0, 0.5, 0.5]
BOS, PAD, EOS = 0, 1, 2
FAMILIES = {"roberta": (RobertaConfig, RobertaForSequenceClassification),
            "xlm-roberta": (XLMRobertaConfig, XLMRobertaForSequenceClassification)}  # fmt: skip


@pytest.fixture(scope="module", params=sorted(FAMILIES))
def checkpoint(request, tmp_path_factory) -> Path:
    """A saved transformers classifier of the family (random weights, std 0.2 so that inputs matter)."""
    config_class, model_class = FAMILIES[request.param]
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp(request.param)
    model_class(config_class(**TINY_ROBERTA)).eval().save_pretrained(path)
    return path


@pytest.fixture
def batch() -> dict[str, torch.Tensor]:
    """Three ragged rows of 20 positions (real lengths 20, 12, 5): `<s>` first, `</s>` last, right-padded with 1."""
    generator = torch.Generator().manual_seed(1)
    input_ids = torch.randint(3, TINY_ROBERTA["vocab_size"], (3, 20), generator=generator)
    attention_mask = torch.ones(3, 20, dtype=torch.long)
    for row, length in enumerate((20, 12, 5)):
        input_ids[row, 0], input_ids[row, length - 1] = BOS, EOS
        input_ids[row, length:], attention_mask[row, length:] = PAD, 0
    return {"input_ids": input_ids, "attention_mask": attention_mask}


def alone(batch: dict[str, torch.Tensor]) -> list[dict[str, torch.Tensor]]:
    return [{key: value[row : row + 1, : int(length)] for key, value in batch.items()}
            for row, length in enumerate(batch["attention_mask"].sum(dim=1))]  # fmt: skip


# ---- the same model as transformers', and the same pruning as BERT -----------------------------------------------


@pytest.mark.parametrize("attention", ["sdpa", "eager"])
def test_dense_equals_transformers_and_loads_every_weight(checkpoint, batch, attention):
    reference = AutoModelForSequenceClassification.from_pretrained(checkpoint, attn_implementation=attention).eval()
    top, info = TopRobertaForSequenceClassification.from_pretrained(
        checkpoint, attn_implementation=attention, output_loading_info=True
    )
    assert info["missing_keys"] == set() and info["unexpected_keys"] == set() and info["mismatched_keys"] == set()
    assert top.config.model_type == "top_roberta"
    encoder = TopRobertaModel.from_pretrained(checkpoint, attn_implementation=attention).eval()
    base = RobertaModel.from_pretrained(checkpoint, attn_implementation=attention).eval()
    with torch.no_grad():
        torch.testing.assert_close(top.eval()(**batch).logits, reference(**batch).logits, atol=1e-5, rtol=0)
        real = batch["attention_mask"].bool()
        expected = base(**batch).last_hidden_state[real]
        torch.testing.assert_close(encoder(**batch).last_hidden_state[real], expected, atol=1e-5, rtol=0)


@pytest.mark.parametrize("bins", [None, [None, None, [1, 0, 1, 0], [1, 1, 0, 0]]])
def test_ragged_batch_equals_its_rows_one_by_one_and_keeps_s(checkpoint, batch, bins):
    ratios = [1.0, 1.0, 0.5, 0.5]
    model = TopRobertaForSequenceClassification.from_pretrained(
        checkpoint, num_bins=4, token_keep_ratios=ratios, token_keep_bins=bins
    ).eval()
    with torch.no_grad():
        together = model(**batch, output_hidden_states=True)
        one_by_one = torch.cat([model(**row).logits for row in alone(batch)])
    torch.testing.assert_close(together.logits, one_by_one, atol=1e-4, rtol=0)
    # The longest row's lengths are the plan's: 1 + ceil(0.5 * 19) = 11, then 1 + ceil(0.5 * 10) = 6.
    assert [state.shape[1] for state in together.hidden_states] == [*plan_lengths(model.config, 20), 6]
    assert plan_lengths(model.config, 20) == [20, 20, 11, 6]


def test_s_is_kept_even_when_it_is_the_least_important_token(checkpoint, batch):
    model = TopRobertaModel.from_pretrained(checkpoint, token_keep_ratios=[1.0, 1.0, 0.1, 0.1]).eval()
    with torch.no_grad():
        restored = model(**batch).last_hidden_state
        shortened = model(**batch, restore_pruned_tokens=False).last_hidden_state
    # Position 0 of the shortened sequence is <s>: the same final state as at its own position.
    torch.testing.assert_close(shortened[:, 0], restored[:, 0], atol=0, rtol=0)


def test_flops_are_counted_as_for_bert():
    roberta = TopRobertaConfig(**TINY_ROBERTA, token_keep_ratios=PLAN)
    bert = TopBertConfig(**TINY_BERT, token_keep_ratios=PLAN)
    for length in (2, 17, 64):
        assert count_flops(roberta, length) == count_flops(bert, length)
        assert count_flops(roberta, length, dense=True) == count_flops(bert, length, dense=True)


def test_the_longest_input_is_positions_after_the_padding_index(checkpoint):
    model = TopRobertaForSequenceClassification.from_pretrained(checkpoint, token_keep_ratios=PLAN).eval()
    with torch.no_grad():
        model(input_ids=torch.full((1, 64), 5))  # 66 positions, the first two taken by the padding index
    with pytest.raises(ValueError, match=re.escape("sequence length 65 exceeds max_position_embeddings=64")):
        model(input_ids=torch.full((1, 65), 5))


# ---- Auto classes, saving, remote code, pipeline, Hub -----------------------------------------------------------


def test_auto_classes_and_save_load_keep_the_plan(checkpoint, batch, tmp_path):
    model = TopRobertaForSequenceClassification.from_pretrained(checkpoint, token_keep_ratios=PLAN).eval()
    model.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["model_type"] == "top_roberta" and saved["token_keep_ratios"] == PLAN
    assert saved["auto_map"]["AutoModelForSequenceClassification"] == (
        "modeling_top_roberta.TopRobertaForSequenceClassification"
    )
    loaded = AutoModelForSequenceClassification.from_pretrained(tmp_path)
    assert type(loaded) is TopRobertaForSequenceClassification
    assert type(AutoModel.from_pretrained(tmp_path)) is TopRobertaModel
    with torch.no_grad():
        torch.testing.assert_close(loaded(**batch).logits, model(**batch).logits, atol=0, rtol=0)
    assert top_model_class("xlm-roberta") is TopRobertaForSequenceClassification
    assert top_model_class("roberta", "AutoModel") is TopRobertaModel


REMOTE_SCRIPT = """
import json, sys
sys.path.append(sys.argv[1])
import torch
from transformers import AutoModelForSequenceClassification
model = AutoModelForSequenceClassification.from_pretrained(sys.argv[2], trust_remote_code=True).eval()
inputs = torch.load(sys.argv[3])
with torch.no_grad():
    torch.save(model(**inputs).logits, sys.argv[3] + ".out")
print(json.dumps({"class": type(model).__name__, "module": type(model).__module__,
                  "plugin": "transformers_top" in sys.modules}))
"""


def test_loads_without_the_plugin(checkpoint, batch, tmp_path):
    model = TopRobertaForSequenceClassification.from_pretrained(checkpoint, token_keep_ratios=PLAN).eval()
    model.save_pretrained(tmp_path / "model")
    torch.save(batch, tmp_path / "inputs.pt")
    site_packages = sysconfig.get_paths()["purelib"]
    command = [sys.executable, "-I", "-S", "-c", REMOTE_SCRIPT, site_packages, str(tmp_path / "model")]
    result = subprocess.run(
        [*command, str(tmp_path / "inputs.pt")],
        env={"HF_HOME": str(tmp_path / "hf"), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["class"] == "TopRobertaForSequenceClassification" and report["plugin"] is False
    assert report["module"].startswith("transformers_modules.")
    with torch.no_grad():
        expected = model(**batch).logits
    torch.testing.assert_close(torch.load(tmp_path / "inputs.pt.out"), expected, atol=1e-6, rtol=0)


def roberta_like_tokenizer(path: Path) -> BertTokenizer:
    """A word-level tokenizer with RoBERTa's special ids (`<s>` 0, `<pad>` 1, `</s>` 2)."""
    vocab = ["<s>", "<pad>", "</s>", "<unk>", *[f"w{index}" for index in range(TINY_ROBERTA["vocab_size"] - 4)]]
    (path / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tokenizer = BertTokenizer(
        str(path / "vocab.txt"), cls_token="<s>", sep_token="</s>", pad_token="<pad>", unk_token="<unk>"
    )
    tokenizer.save_pretrained(path)
    return tokenizer


def test_pipeline_and_hub_push(checkpoint, tmp_path, loopback_hub):
    model = TopRobertaForSequenceClassification.from_pretrained(checkpoint, token_keep_ratios=PLAN).eval()
    tokenizer = roberta_like_tokenizer(tmp_path)
    texts = ["w1 w2 w3 w4 w5 w6 w7 w8", "w9 w10"]
    classify = pipeline("text-classification", model=model, tokenizer=tokenizer, top_k=None)
    scores = classify(texts)
    with torch.no_grad():
        probabilities = model(**tokenizer(texts[:1], return_tensors="pt")).logits.softmax(-1)[0]
    by_label = {item["label"]: item["score"] for item in scores[0]}
    assert by_label[model.config.id2label[0]] == pytest.approx(float(probabilities[0]), abs=1e-6)
    repo_id = f"test-user/top-{Path(checkpoint).name}"
    push_pruned_model(model, repo_id, tokenizer=tokenizer)
    files = loopback_hub.repos[repo_id].resolve("main").files
    card = files["README.md"].decode()
    assert "A RoBERTa classifier" in card and "- roberta" in card
    assert {"configuration_top_roberta.py", "modeling_top_roberta.py", "pruned_encoder.py"} <= set(files)
    assert "modeling_top_bert.py" not in files


# ---- training ----------------------------------------------------------------------------------------------------


def test_top_trainer_prunes_a_roberta_student_to_its_target(checkpoint, tmp_path):
    teacher = AutoModelForSequenceClassification.from_pretrained(checkpoint)
    student = TopRobertaForSequenceClassification.from_pretrained(checkpoint)
    generator = torch.Generator().manual_seed(0)
    rows = []
    for index in range(64):
        length = int(torch.randint(8, 40, (1,), generator=generator))
        ids = [BOS, *torch.randint(3, 99, (length - 2,), generator=generator).tolist(), EOS]
        rows.append({"input_ids": ids, "labels": index % 2})

    def collate(features):
        width = max(len(f["input_ids"]) for f in features)
        ids = torch.tensor([f["input_ids"] + [PAD] * (width - len(f["input_ids"])) for f in features])
        return {
            "input_ids": ids,
            "attention_mask": (ids != PAD).long(),
            "labels": torch.tensor([f["labels"] for f in features]),
        }

    args = TopTrainingArguments(
        output_dir=str(tmp_path), use_cpu=True, report_to=[], save_strategy="no", per_device_train_batch_size=8,
        max_steps=60, sparsity_warmup_steps=10, mask_learning_rate=0.3, lagrangian_learning_rate=0.1,
        learning_rate=1e-4, num_bins=10, target_sparsity=0.5, seed=0,
    )  # fmt: skip
    trainer = TopTrainer(model=student, teacher_model=teacher, args=args, train_dataset=rows, data_collator=collate)
    metrics = trainer.train().metrics
    assert metrics["realized_sparsity"] == pytest.approx(0.5, abs=0.05)
    trainer.save_model(str(tmp_path / "final"))
    final = AutoModelForSequenceClassification.from_pretrained(tmp_path / "final")
    assert type(final) is TopRobertaForSequenceClassification and final.config.is_pruned


def test_the_example_script_prunes_a_roberta_checkpoint(checkpoint, tmp_path):
    tokenizer_dir = tmp_path / "with-tokenizer"
    AutoModelForSequenceClassification.from_pretrained(checkpoint).save_pretrained(tokenizer_dir)
    roberta_like_tokenizer(tokenizer_dir)
    lines = ["sentence\tlabel", *(f"w{i} w{i + 1} w{i + 2}\t{i % 2}" for i in range(32))]
    (tmp_path / "train.tsv").write_text("\n".join(lines) + "\n")
    script = Path(__file__).resolve().parents[1] / "examples" / "run_glue_top.py"
    result = subprocess.run(
        [sys.executable, str(script), "--model_name_or_path", str(tokenizer_dir), "--train_file",
         str(tmp_path / "train.tsv"), "--validation_file", str(tmp_path / "train.tsv"), "--max_seq_length", "32",
         "--do_train", "--do_eval", "--max_steps", "4", "--per_device_train_batch_size", "8", "--output_dir",
         str(tmp_path / "out"), "--report_to", "none", "--use_cpu", "--eval_teacher", "false"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    saved = json.loads((tmp_path / "out" / "config.json").read_text())
    assert saved["model_type"] == "top_roberta" and saved["architectures"] == ["TopRobertaForSequenceClassification"]
    assert "eval_flops_reduction" in json.loads((tmp_path / "out" / "eval_results.json").read_text())


# ---- bad input ---------------------------------------------------------------------------------------------------


def test_a_checkpoint_of_the_other_family_is_refused(checkpoint, tiny_bert_dir):
    with pytest.raises(ValueError, match="is a 'bert' checkpoint, which TopRobertaConfig cannot load"):
        TopRobertaForSequenceClassification.from_pretrained(tiny_bert_dir)
    family = json.loads((Path(checkpoint) / "config.json").read_text())["model_type"]
    with pytest.raises(ValueError, match=f"is a '{family}' checkpoint, which TopBertConfig cannot load"):
        TopBertForSequenceClassification.from_pretrained(checkpoint)


def test_a_teacher_of_another_family_or_vocabulary_is_refused(checkpoint, tmp_path):
    student = TopRobertaForSequenceClassification.from_pretrained(checkpoint)
    args = TopTrainingArguments(output_dir=str(tmp_path), use_cpu=True, report_to=[])
    bert_teacher = BertForSequenceClassification(BertConfig(**TINY_BERT))
    with pytest.raises(ValueError, match="teacher_model is a 'bert' model, but a TopRobertaForSequenceClassification"):
        TopTrainer(model=student, teacher_model=bert_teacher, args=args)
    config_class, model_class = FAMILIES[RobertaConfig.model_type]
    other_vocabulary = model_class(config_class(**TINY_ROBERTA | {"vocab_size": 120}))
    with pytest.raises(ValueError, match="teacher and student differ in vocab_size: teacher 120, student 99"):
        TopTrainer(model=student, teacher_model=other_vocabulary, args=args)
