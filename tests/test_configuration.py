"""TopBertConfig: defaults, validation of the pruning plan, BERT compatibility."""

from __future__ import annotations

import json
import re

import pytest
import torch
from transformers import AutoConfig, BertConfig

from transformers_top import TopBertConfig, TopBertForSequenceClassification

PLAN_4 = [1.0, 1.0, 0.5, 0.5]
LAYERS_4 = dict(num_hidden_layers=4, hidden_size=32, num_attention_heads=4, intermediate_size=64, vocab_size=99)


def test_defaults():
    config = TopBertConfig(**LAYERS_4)
    assert config.model_type == "top_bert"
    assert config.prune_layers == [2, 3]
    assert config.num_bins == 50
    assert config.token_keep_ratios is None and config.token_keep_bins is None
    assert config.pruning_masks is False and config.is_pruned is False
    assert TopBertConfig().prune_layers == list(range(2, 12))  # bert-base: 2..11, the paper's locations


def test_plan_fields_and_is_pruned():
    config = TopBertConfig(**LAYERS_4, prune_layers=[1, 3], num_bins=4, token_keep_ratios=[1, 0.5, 1, 0.25])
    assert config.prune_layers == [1, 3] and config.num_bins == 4 and config.is_pruned
    assert TopBertConfig(**LAYERS_4, token_keep_ratios=[1.0] * 4).is_pruned is False


BAD_FIELDS = [
    (dict(prune_layers="2,3"), "prune_layers must be a list of layer indices, got '2,3'"),
    (dict(prune_layers=[2, True]), "prune_layers must be a list of layer indices, got [2, True]"),
    (dict(prune_layers=[2.0]), "prune_layers must be a list of layer indices, got [2.0]"),
    (dict(prune_layers=[0, 2]), "within 1..3 (layer 0 has no earlier importance to prune with), got [0, 2]"),
    (dict(prune_layers=[2, 4]), "within 1..3 (layer 0 has no earlier importance to prune with), got [2, 4]"),
    (dict(prune_layers=[3, 2]), "prune_layers must be increasing, distinct and within 1..3"),
    (dict(prune_layers=[2, 2]), "got [2, 2]"),
    (dict(num_bins=0), "num_bins must be a positive integer, got 0"),
    (dict(num_bins=2.5), "num_bins must be a positive integer, got 2.5"),
    (dict(num_bins=True), "num_bins must be a positive integer, got True"),
    (dict(pruning_masks="yes"), "pruning_masks must be a bool, got 'yes'"),
    (dict(plan_freeze_rule="mean"), "plan_freeze_rule must be one of ('threshold', 'expected'), got 'mean'"),
    (dict(bin_order="prefix"), "bin_order must be one of ('free', 'sorted'), got 'prefix'"),
    (dict(token_ranking="importance"), "token_ranking must be one of ('attention', 'random'), got 'importance'"),
    (
        dict(masked_token_output="zeroed"),
        "masked_token_output must be one of ('last_layer', 'carried'), got 'zeroed'",
    ),
    (
        dict(protected_token_type=2),
        "protected_token_type must be None or a token type id in 0..1 (type_vocab_size=2), got 2",
    ),
    (dict(protected_token_type="0"), "protected_token_type must be None or a token type id in 0..1"),
    (dict(protected_token_type=True), "protected_token_type must be None or a token type id in 0..1"),
    (
        dict(protected_token_type=0, type_vocab_size=1),
        "protected_token_type=0 needs a model with several token types, but type_vocab_size=1",
    ),
    (
        dict(token_keep_ratios=[1, 1, 0.5]),
        "token_keep_ratios must be a list of 4 floats (one per layer), got [1, 1, 0.5]",
    ),
    (
        dict(token_keep_ratios=[1] * 5),
        "token_keep_ratios must be a list of 4 floats (one per layer), got [1, 1, 1, 1, 1]",
    ),
    (dict(token_keep_ratios=0.5), "token_keep_ratios must be a list of 4 floats (one per layer), got 0.5"),
    (dict(token_keep_ratios=[1, 1, 0, 1]), "token_keep_ratios[2] must be a number in (0, 1], got 0"),
    (dict(token_keep_ratios=[1, 1, 1.5, 1]), "token_keep_ratios[2] must be a number in (0, 1], got 1.5"),
    (dict(token_keep_ratios=[1, 1, -0.2, 1]), "token_keep_ratios[2] must be a number in (0, 1], got -0.2"),
    (dict(token_keep_ratios=[1, 1, "0.5", 1]), "token_keep_ratios[2] must be a number in (0, 1], got '0.5'"),
    (dict(token_keep_ratios=[1, 1, True, 1]), "token_keep_ratios[2] must be a number in (0, 1], got True"),
    (dict(token_keep_ratios=[1, 1, float("nan"), 1]), "token_keep_ratios[2] must be a number in (0, 1], got nan"),
    (
        dict(token_keep_ratios=[1, 0.5, 1, 1]),
        "token_keep_ratios[1] = 0.5 prunes layer 1, which is not in prune_layers [2, 3]",
    ),
    (
        dict(prune_layers=[3], token_keep_ratios=[1, 1, 0.9, 1]),
        "token_keep_ratios[2] = 0.9 prunes layer 2, which is not in prune_layers [3]",
    ),
]


@pytest.mark.parametrize(("fields", "message"), BAD_FIELDS)
def test_invalid_fields_raise_naming_the_value(fields, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        TopBertConfig(**LAYERS_4, **fields)


BINS = [0, 1, 1, 0]
BAD_BINS = [
    (
        dict(token_keep_bins=[None, None, BINS]),
        "token_keep_bins must be a list of 4 entries, got [None, None, [0, 1, 1, 0]]",
    ),
    (
        dict(token_keep_ratios=None, token_keep_bins=[None, None, BINS, None]),
        "token_keep_bins requires token_keep_ratios",
    ),
    (
        dict(token_keep_bins=[None, None, [0, 1, 1], None]),
        "token_keep_bins[2] must be a list of 4 values in {0, 1}, got [0, 1, 1]",
    ),
    (
        dict(token_keep_bins=[None, None, [0, 2, 0, 0], None]),
        "token_keep_bins[2] must be a list of 4 values in {0, 1}, got [0, 2, 0, 0]",
    ),
    (
        dict(token_keep_bins=[None, None, [0, 1.0, 1, 0], None]),
        "token_keep_bins[2] must be a list of 4 values in {0, 1}, got [0, 1.0, 1, 0]",
    ),
    (
        dict(token_keep_bins=[None, None, "0110", None]),
        "token_keep_bins[2] must be a list of 4 values in {0, 1}, got '0110'",
    ),
    (
        dict(prune_layers=[1, 3], token_keep_ratios=[1, 1, 1, 1], token_keep_bins=[None, None, BINS, None]),
        "token_keep_bins[2] is set but layer 2 is not in prune_layers",
    ),
    (
        dict(token_keep_ratios=[1, 1, 0.75, 1], token_keep_bins=[None, None, BINS, None]),
        "token_keep_bins[2] keeps 2 of 4 bins, so token_keep_ratios[2] must be 0.5, got 0.75",
    ),
    (
        dict(token_keep_ratios=[1, 1, 1, 1], token_keep_bins=[None, None, [0, 0, 0, 0], None]),
        "token_keep_bins[2] keeps 0 of 4 bins, so token_keep_ratios[2] must be 0.0, got 1",
    ),
]


@pytest.mark.parametrize(("fields", "message"), BAD_BINS)
def test_invalid_bin_patterns_raise(fields, message):
    values = dict(num_bins=4, token_keep_ratios=[1, 1, 0.5, 1]) | fields
    with pytest.raises(ValueError, match=re.escape(message)):
        TopBertConfig(**LAYERS_4, **values)


def test_valid_bin_pattern():
    config = TopBertConfig(
        **LAYERS_4, num_bins=4, token_keep_ratios=[1, 1, 0.5, 1], token_keep_bins=[None, None, BINS, None]
    )
    assert config.token_keep_bins[2] == BINS and config.is_pruned


def test_from_bert_config(tiny_bert_config):
    config = TopBertConfig.from_bert_config(tiny_bert_config, token_keep_ratios=[1, 1, 0.5, 0.5], num_bins=10)
    assert isinstance(config, TopBertConfig) and config.model_type == "top_bert"
    for field in ("hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "vocab_size"):
        assert getattr(config, field) == getattr(tiny_bert_config, field)
    assert config.hidden_dropout_prob == 0.0 and config.max_position_embeddings == 64
    assert config.token_keep_ratios == [1, 1, 0.5, 0.5] and config.num_bins == 10 and config.prune_layers == [2, 3]
    assert tiny_bert_config.model_type == "bert"  # the source is left alone
    with pytest.raises(ValueError, match=re.escape("got [1, 0.5]")):
        TopBertConfig.from_bert_config(tiny_bert_config, token_keep_ratios=[1, 0.5])
    with pytest.raises(ValueError, match="from_bert_config expects a BertConfig, got dict"):
        TopBertConfig.from_bert_config(tiny_bert_config.to_dict())


def test_plain_bert_checkpoint_becomes_top_bert(tiny_bert_dir, tmp_path):
    assert json.loads((tiny_bert_dir / "config.json").read_text())["model_type"] == "bert"
    assert type(AutoConfig.from_pretrained(tiny_bert_dir)) is BertConfig  # the plugin does not hijack plain BERT
    config = TopBertConfig.from_pretrained(tiny_bert_dir)
    assert config.model_type == "top_bert" and config.to_dict()["model_type"] == "top_bert"
    assert config.prune_layers == [2, 3]
    model = TopBertForSequenceClassification.from_pretrained(tiny_bert_dir)
    assert model.config.model_type == "top_bert"
    model.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["model_type"] == "top_bert"
    assert saved["prune_layers"] == [2, 3] and saved["token_keep_ratios"] is None
    assert type(AutoConfig.from_pretrained(tmp_path)) is TopBertConfig


def test_json_round_trip_keeps_the_plan(tmp_path):
    config = TopBertConfig(
        **LAYERS_4, num_bins=4, token_keep_ratios=[1, 1, 0.5, 0.25], token_keep_bins=[None, None, BINS, None]
    )
    config.save_pretrained(tmp_path)
    loaded = AutoConfig.from_pretrained(tmp_path)
    assert isinstance(loaded, TopBertConfig)
    assert loaded.token_keep_ratios == [1, 1, 0.5, 0.25] and loaded.token_keep_bins == [None, None, BINS, None]
    assert loaded.num_bins == 4 and loaded.prune_layers == [2, 3]
    assert loaded.protected_token_type is None


def test_json_round_trip_keeps_the_protected_token_type(tmp_path):
    TopBertConfig(**LAYERS_4, token_keep_ratios=PLAN_4, protected_token_type=0).save_pretrained(tmp_path)
    loaded = AutoConfig.from_pretrained(tmp_path)
    assert loaded.protected_token_type == 0
    assert loaded.plan_dict()["protected_token_type"] == 0


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "token_keep_ratios",
            [1, 1, 0.5],
            "token_keep_ratios must be a list of 4 floats (one per layer), got [1, 1, 0.5]",
        ),
        ("token_keep_ratios", [1, 0.5, 1, 1], "token_keep_ratios[1] = 0.5 prunes layer 1"),
        ("prune_layers", [0], "got [0]"),
        ("token_keep_bins", [None, None, [1, 1], None], "token_keep_bins requires token_keep_ratios"),
    ],
)
def test_plan_assigned_after_construction_is_checked_at_forward(tiny_bert_config, field, value, message):
    model = TopBertForSequenceClassification(TopBertConfig.from_bert_config(tiny_bert_config)).eval()
    setattr(model.config, field, value)  # no error yet: the config is a plain attribute bag
    with pytest.raises(ValueError, match=re.escape(message)):
        model(torch.tensor([[2, 7, 8, 9]]))


def test_invalid_plan_override_fails_at_load(tiny_bert_dir):
    message = "token_keep_ratios[1] = 0.5 prunes layer 1, which is not in prune_layers [2, 3]"
    with pytest.raises(ValueError, match=re.escape(message)):
        TopBertForSequenceClassification.from_pretrained(tiny_bert_dir, token_keep_ratios=[1, 0.5, 1, 1])
    with pytest.raises(ValueError, match=re.escape(message)):
        TopBertConfig.from_pretrained(tiny_bert_dir, token_keep_ratios=[1, 0.5, 1, 1])
    config = TopBertConfig.from_pretrained(tiny_bert_dir, token_keep_ratios=PLAN_4)
    assert config.token_keep_ratios == PLAN_4


def test_invalid_plan_in_a_saved_config_fails_at_load(tiny_bert_dir, tmp_path):
    TopBertForSequenceClassification.from_pretrained(tiny_bert_dir).save_pretrained(tmp_path)
    values = json.loads((tmp_path / "config.json").read_text())
    values["token_keep_ratios"] = [1, 0.5]
    (tmp_path / "config.json").write_text(json.dumps(values))
    with pytest.raises(
        ValueError, match=re.escape("token_keep_ratios must be a list of 4 floats (one per layer), got [1, 0.5]")
    ):
        TopBertForSequenceClassification.from_pretrained(tmp_path)


# ---- found when the library was tried as a new user would --------------------------------------------------------


def test_numpy_numbers_in_the_plan_are_saved_as_python_numbers(tiny_bert_config, tmp_path):
    """A plan built with numpy (e.g. from an analysis) validates, runs, saves and reloads."""
    numpy = pytest.importorskip("numpy")
    model = TopBertForSequenceClassification(TopBertConfig.from_bert_config(tiny_bert_config))
    model.config.token_keep_ratios = [1.0, numpy.float32(1.0), numpy.float32(0.5), numpy.float64(0.25)]
    model.eval()(torch.tensor([[2, 5, 6, 7, 8]]))
    model.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["token_keep_ratios"] == [1.0, 1.0, 0.5, 0.25]
    assert TopBertForSequenceClassification.from_pretrained(tmp_path).config.token_keep_ratios == [1.0, 1.0, 0.5, 0.25]


def test_a_config_that_cannot_be_written_leaves_the_saved_one_intact(tmp_path):
    config = TopBertConfig(**LAYERS_4, token_keep_ratios=PLAN_4)
    config.save_pretrained(tmp_path)
    before = (tmp_path / "config.json").read_text()
    config.note = object()  # not JSON-serialisable
    with pytest.raises(TypeError):
        config.save_pretrained(tmp_path)
    assert (tmp_path / "config.json").read_text() == before
    assert not list(tmp_path.glob("*.tmp"))  # no temporary file left behind


def test_loading_a_bert_checkpoint_does_not_warn_that_it_is_unsupported(tiny_bert_dir, capfd):
    from transformers.utils import logging

    logging.set_verbosity_warning()
    TopBertForSequenceClassification.from_pretrained(tiny_bert_dir)
    assert "to instantiate a model of type" not in capfd.readouterr().err


def test_a_checkpoint_of_another_family_is_refused(tiny_bert_dir, tmp_path):
    saved = json.loads((tiny_bert_dir / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps(saved | {"model_type": "roberta"}))
    with pytest.raises(ValueError, match="is a 'roberta' checkpoint, which TopBertConfig cannot load: it loads "):
        TopBertConfig.from_pretrained(tmp_path)


@pytest.mark.parametrize("auto_class", ["AutoModelForTokenClassification", "AutoModelForMaskedLM"])
def test_auto_classes_without_a_top_head_name_the_heads_that_exist(tiny_pruned_classifier, tmp_path, auto_class):
    import transformers

    tiny_pruned_classifier.save_pretrained(tmp_path)
    message = (
        f"transformers-top has no {auto_class} head for 'top_bert' checkpoints; the heads it provides are "
        "AutoModel, AutoModelForSequenceClassification, AutoModelForQuestionAnswering"
    )
    with pytest.raises(ValueError, match=re.escape(message)):
        getattr(transformers, auto_class).from_pretrained(tmp_path)
    with pytest.raises(ValueError, match=re.escape(message)):
        getattr(transformers, auto_class).from_config(tiny_pruned_classifier.config)
