"""The ToP model card: metadata, body, left-out unknowns, field validation, and writing it beside a saved model."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from huggingface_hub import ModelCard

from transformers_top import TopBertConfig, TopBertModel
from transformers_top.models.flops import plan_lengths
from transformers_top.sharing.model_card import TopModelCardData, create_model_card, save_model_card

FULL_RUN = dict(
    base_model="someone/bert-finetuned-sst2",
    dataset="nyu-mll/glue",
    dataset_config="sst2",
    dataset_split="validation",
    metric_name="accuracy",
    teacher_metric=0.9212,
    pruned_metric=0.9174,
    flops_reduction=1.93,
    flops_reduction_padded=3.9,
    padded_length=64,
    representative_length=25,
    latency_speedup=1.61,
    teacher_latency_ms=10.2,
    pruned_latency_ms=6.3,
    latency_hardware="Test CPU X, 2 cores",
    latency_batch_size=1,
    training_hyperparameters={"learning_rate": 3e-05, "target_sparsity": 0.5, "freeze_embeddings": True},
    license="apache-2.0",
    language=["en"],
    tags=["sst2"],
)


def test_full_card_metadata(tiny_pruned_classifier):
    card = create_model_card(tiny_pruned_classifier, TopModelCardData(**FULL_RUN), repo_id="someone/bert-top-sst2")
    data = ModelCard(str(card)).data

    assert data.library_name == "transformers"
    assert data.pipeline_tag == "text-classification"
    assert data.base_model == "someone/bert-finetuned-sst2"
    assert data.datasets == ["nyu-mll/glue"]
    assert data.tags == ["transformers-top", "token-pruning", "top", "bert", "sst2"]
    assert data.license == "apache-2.0" and data.language == ["en"]
    assert data.model_name == "bert-top-sst2"
    results = {result.metric_type: result for result in data.eval_results}
    assert {name: result.metric_value for name, result in results.items()} == {
        "accuracy": 0.9174,
        "flops_reduction": 1.93,
        "flops_reduction_padded": 3.9,
    }
    accuracy = results["accuracy"]
    assert (accuracy.task_type, accuracy.dataset_type, accuracy.dataset_config, accuracy.dataset_split) == (
        "text-classification",
        "nyu-mll/glue",
        "sst2",
        "validation",
    )
    assert results["flops_reduction_padded"].metric_name == "FLOPs reduction (padded to 64)"


def test_full_card_body(tiny_pruned_classifier):
    card = create_model_card(
        tiny_pruned_classifier, TopModelCardData(**FULL_RUN), repo_id="someone/bert-top-sst2", plot_filename="k.png"
    )
    body = card.text

    assert 'pipeline("text-classification", model="someone/bert-top-sst2")' in body
    assert "pip install transformers-top" in body and "import transformers_top" in body
    assert 'AutoModelForSequenceClassification.from_pretrained("someone/bert-top-sst2", trust_remote_code=True' in body
    assert "| teacher accuracy | 0.9212 |" in body
    assert "| pruned model accuracy | 0.9174 |" in body
    assert "| FLOPs reduction, real tokens | 1.93x |" in body
    assert "| FLOPs reduction, padded to 64 tokens | 3.90x |" in body
    assert "| measured latency speedup | 1.61x |" in body
    assert "measured on Test CPU X, 2 cores with batch size 1" in body
    assert "10.20 ms per batch" in body and "6.30 ms for the pruned model" in body
    assert "| target_sparsity | 0.5 |" in body and "| freeze_embeddings | True |" in body
    assert "![Fraction of tokens entering each layer](k.png)" in body
    assert "At the input of layers 2, 3 " in body


def test_layer_table_follows_the_plan(tiny_pruned_classifier):
    card = create_model_card(tiny_pruned_classifier, TopModelCardData(representative_length=25))
    lengths = plan_lengths(tiny_pruned_classifier.config, 25)
    assert lengths == [25, 25, 13, 7]  # 24 non-[CLS] tokens, half kept at layer 2 (12), half again at layer 3 (6)
    rows = [line for line in card.text.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert rows == [
        "| 0 | 1.000 | 1.000 | 25 |",
        "| 1 | 1.000 | 1.000 | 25 |",
        "| 2 | 0.500 | 0.500 | 13 |",
        "| 3 | 0.500 | 0.250 | 7 |",
    ]
    assert "for an input of 25 real tokens" in card.text


def test_layer_table_uses_padded_length_when_no_representative_length(tiny_pruned_classifier):
    card = create_model_card(tiny_pruned_classifier, TopModelCardData(padded_length=9))
    assert "| 3 | 0.500 | 0.250 | 3 |" in card.text  # 8 non-[CLS] -> 4 -> 2, plus [CLS]


def test_model_with_masks_is_described_by_the_plan_it_will_store(tiny_bert_config):
    model = TopBertModel(TopBertConfig.from_bert_config(tiny_bert_config, num_bins=4))
    masks = model.add_pruning_masks()
    with torch.no_grad():
        masks.gate_log_alpha.fill_(5.0)  # both prune locations on
        masks.bin_log_alpha[1, 2:] = -5.0  # layer 3 drops its last two bins
    card_data = TopModelCardData(representative_length=9)
    while_training = create_model_card(model, card_data)
    model.finalize_pruning()
    assert model.config.token_keep_ratios == [1.0, 1.0, 1.0, 0.5]
    assert while_training.text == create_model_card(model, card_data).text
    assert "| 3 | 0.500 | 0.500 | 5 |" in while_training.text


def test_unknown_values_are_left_out(tiny_pruned_classifier):
    card = create_model_card(tiny_pruned_classifier)
    text = str(card)

    assert card.data.base_model is None and card.data.datasets is None and card.data.eval_results is None
    assert "model-index" not in text
    for absent in ("## Results", "## Training", "latency", "teacher", "None", "nan", "![", "real tokens ("):
        assert absent not in text, absent
    assert "| 3 | 0.500 | 0.250 |" in text  # the plan itself is always known
    assert 'model="path/to/this/model"' in text


def test_partial_run_shows_only_what_is_known(tiny_pruned_classifier):
    card = create_model_card(tiny_pruned_classifier, TopModelCardData(flops_reduction=2.0))
    assert "| FLOPs reduction, real tokens | 2.00x |" in card.text
    for absent in ("accuracy", "padded to", "latency", "model-index"):
        assert absent not in str(card), absent


def test_encoder_card_uses_auto_model():
    model = TopBertModel(TopBertConfig(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4))
    card = create_model_card(model, repo_id="someone/encoder")
    assert card.data.pipeline_tag == "feature-extraction"
    assert 'AutoModel.from_pretrained("someone/encoder", trust_remote_code=True' in card.text
    assert "it runs as a dense BERT" in card.text


def test_question_answering_card_lists_exact_match_beside_f1():
    from transformers_top import TopBertForQuestionAnswering, TopRobertaConfig, TopRobertaForQuestionAnswering

    config = TopBertConfig(
        vocab_size=99, hidden_size=32, num_hidden_layers=3, num_attention_heads=4, token_keep_ratios=[1.0, 1.0, 0.5]
    )
    squad = dict(dataset="rajpurkar/squad", dataset_config="plain_text", dataset_split="validation")
    card_data = TopModelCardData(
        **squad,
        metric_name="f1",
        teacher_metric=80.25,
        pruned_metric=79.5,
        extra_metrics={"exact_match": {"teacher": 71.0, "pruned": 70.25}},
        flops_reduction=2.1,
        flops_reduction_padded=4.2,
        padded_length=384,
    )
    model = TopBertForQuestionAnswering(config)
    card = create_model_card(model, card_data, repo_id="someone/bert-top-squad", onnx_files=["onnx/model.onnx"])
    data = ModelCard(str(card)).data
    assert data.pipeline_tag == "question-answering"
    results = {result.metric_type: (result.task_type, result.metric_value) for result in data.eval_results}
    assert results == {
        "f1": ("question-answering", 79.5),
        "exact_match": ("question-answering", 70.25),
        "flops_reduction": ("question-answering", 2.1),
        "flops_reduction_padded": ("question-answering", 4.2),
    }
    assert "A BERT extractive question-answering model" in card.text
    assert 'pipeline("question-answering", model="someone/bert-top-squad")' in card.text
    for row in ("| teacher f1 | 80.25 |", "| teacher exact_match | 71 |", "| pruned model exact_match | 70.25 |"):
        assert row in card.text
    assert "AutoModelForQuestionAnswering.from_pretrained" in card.text
    assert "model = TopOnnxModelForQuestionAnswering.from_pretrained(" in card.text

    roberta = TopRobertaConfig(
        vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=37
    )
    card = create_model_card(TopRobertaForQuestionAnswering(roberta), repo_id="someone/roberta-top-squad")
    assert "The model type `top_roberta` is not built into transformers" in card.text
    assert "A RoBERTa extractive question-answering model" in card.text


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (dict(teacher_metric="0.92", metric_name="accuracy"), "card field teacher_metric must be a finite number"),
        (dict(pruned_metric=float("nan"), metric_name="accuracy"), "card field pruned_metric must be a finite number"),
        (dict(pruned_metric=True, metric_name="accuracy"), "card field pruned_metric must be a finite number"),
        (dict(flops_reduction=0.0), "card field flops_reduction must be > 0, got 0.0"),
        (dict(flops_reduction="2x"), "card field flops_reduction must be a finite number, got '2x'"),
        (dict(padded_length=64.0), "card field padded_length must be a positive integer, got 64.0"),
        (dict(representative_length=0), "card field representative_length must be a positive integer, got 0"),
        (dict(base_model="/home/me/teacher"), "card field base_model must be a Hub repository id"),
        (dict(base_model=3), "card field base_model must be a non-empty string, got 3"),
        (dict(model_name=""), "card field model_name must be a non-empty string"),
        (dict(tags="top"), "card field tags must be a list of strings, got 'top'"),
        (dict(language=["en", 1]), "card field language[] must be a non-empty string, got 1"),
        (dict(training_hyperparameters=[("lr", 1)]), "card field training_hyperparameters must be a dict"),
        (dict(training_hyperparameters={"lr": [1e-5]}), "card field training_hyperparameters['lr'] must be a str"),
        (dict(pruned_metric=0.9), "card field pruned_metric is set, so metric_name must be set too"),
        (dict(flops_reduction_padded=4.0), "card field flops_reduction_padded is set, so padded_length must be set"),
        (dict(latency_speedup=1.5, latency_batch_size=1), "latency_speedup is set, so latency_hardware must be set"),
        (dict(latency_speedup=1.5, latency_hardware="cpu"), "latency_speedup is set, so latency_batch_size must be"),
        (dict(dataset_split="validation"), "card field dataset_split is set, so dataset must be set too"),
        (dict(extra_metrics={"em": {"pruned": 70.1}}), "card field extra_metrics is set, so metric_name must be set"),
        (dict(metric_name="f1", extra_metrics={"em": 70.1}), "card field extra_metrics['em'] must be a dict with"),
        (dict(metric_name="f1", extra_metrics={"em": {"student": 1.0}}), "extra_metrics['em'] must be a dict with"),
        (dict(metric_name="f1", extra_metrics={"em": {"pruned": "70"}}), "extra_metrics['em']['pruned'] must be a"),
    ],
)
def test_bad_card_values_raise(values, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("(", r"\(")):
        TopModelCardData(**values)


def test_values_changed_after_construction_are_checked_again(tiny_pruned_classifier):
    card_data = TopModelCardData(flops_reduction=2.0)
    card_data.flops_reduction = "2.0"
    with pytest.raises(ValueError, match=r"card field flops_reduction must be a finite number, got '2\.0'"):
        create_model_card(tiny_pruned_classifier, card_data)
    with pytest.raises(ValueError, match="card_data must be a TopModelCardData, got dict"):
        create_model_card(tiny_pruned_classifier, dataclasses.asdict(TopModelCardData()))


def test_save_model_card_writes_readme_and_copies_plot(tiny_pruned_classifier, tmp_path):
    plot = tmp_path / "plots" / "keep.PNG"
    plot.parent.mkdir()
    plot.write_bytes(b"\x89PNG\r\n\x1a\nstand-in image bytes")
    model_dir = tmp_path / "model"
    tiny_pruned_classifier.save_pretrained(model_dir)

    written = save_model_card(model_dir, tiny_pruned_classifier, TopModelCardData(**FULL_RUN), plot=plot)

    assert (model_dir / "kept_tokens.png").read_bytes() == plot.read_bytes()
    assert plot.exists()
    loaded = ModelCard.load(model_dir / "README.md")
    assert loaded.data.to_dict() == written.data.to_dict()
    assert loaded.data.eval_results[0].metric_value == 0.9174
    assert "](kept_tokens.png)" in loaded.text


def test_save_model_card_accepts_a_plot_already_in_place(tiny_pruned_classifier, tmp_path):
    plot = tmp_path / "kept_tokens.png"
    plot.write_bytes(b"\x89PNG\r\n\x1a\nstand-in image bytes")
    save_model_card(tmp_path, tiny_pruned_classifier, plot=plot)
    assert plot.read_bytes() == b"\x89PNG\r\n\x1a\nstand-in image bytes"
    assert (tmp_path / "README.md").exists()


@pytest.mark.parametrize("plot_name", ["missing.png", "notes.txt"])
def test_save_model_card_rejects_a_bad_plot_and_writes_nothing(tiny_pruned_classifier, tmp_path, plot_name):
    (tmp_path / "notes.txt").write_text("not an image")
    with pytest.raises(ValueError, match=r"plot must be an existing \.png/\.jpg/\.jpeg/\.svg file"):
        save_model_card(tmp_path, tiny_pruned_classifier, plot=tmp_path / plot_name)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["notes.txt"]


def test_save_model_card_rejects_a_missing_directory(tiny_pruned_classifier, tmp_path):
    with pytest.raises(ValueError, match="save_directory must be an existing directory"):
        save_model_card(tmp_path / "nowhere", tiny_pruned_classifier)
    with pytest.raises(
        ValueError, match=r"model must be a ToP model \(e.g. TopBertForSequenceClassification\), got str"
    ):
        save_model_card(tmp_path, "bert-base-uncased")
