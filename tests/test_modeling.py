"""TopBertModel / TopBertForSequenceClassification on tiny random BERTs: equivalence with transformers' BERT, real
token dropping (which tokens, which lengths), ragged batches, masks, finalisation, save/load and bad inputs."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
import torch
from conftest import TINY_BERT
from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForSequenceClassification,
    BertConfig,
    BertForSequenceClassification,
    BertModel,
)

from transformers_top import TopBertConfig, TopBertForSequenceClassification, TopBertModel
from transformers_top.models.flops import plan_lengths
from transformers_top.models.hard_concrete import BETA

PLAN = [1.0, 1.0, 0.5, 0.5]


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory) -> Path:
    """
    A saved plain `BertForSequenceClassification` like `tiny_bert_dir`, but initialised with std 0.2 instead of 0.02:
    with BERT's default init a tiny random model gives nearly the same logits for every input (differences ~1e-5) and
    near-uniform attention, so a 1e-4 tolerance could not tell a right answer from a wrong one. Here logits differ by
    ~0.1 between inputs and the importance of neighbouring ranks by ~1e-3.
    """
    torch.manual_seed(0)
    model = BertForSequenceClassification(BertConfig(**TINY_BERT, initializer_range=0.2)).eval()
    path = tmp_path_factory.mktemp("bert-std-0.2")
    model.save_pretrained(path)
    return path


def load_top(path, cls=TopBertForSequenceClassification, **config_fields):
    """A TopBert model with the weights at `path`, in eval mode, with the given config fields set."""
    return cls.from_pretrained(path, **config_fields).eval()


def rows(batch: dict[str, torch.Tensor]) -> list[dict[str, torch.Tensor]]:
    """Each sample of a right-padded batch alone, without its padding."""
    lengths = batch["attention_mask"].sum(dim=1).tolist()
    return [
        {key: value[index : index + 1, :length] for key, value in batch.items()}
        for index, length in enumerate(lengths)
    ]


def mean_attention_received(attentions: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Spec section 1 from transformers' eager attention probabilities: mean over heads and real query rows."""
    real_queries = attention_mask.to(attentions.dtype)[:, None, :, None]
    return (attentions * real_queries).sum(dim=(1, 2)) / (attentions.shape[1] * real_queries.sum(dim=(1, 2)))


def expected_kept_positions(importance: torch.Tensor, keep_ratio: float, keep_bins: list[int] | None) -> list[int]:
    """Positions a plan keeps for one unpadded sample, worked out independently: rank non-[CLS] by importance."""
    candidates = sorted(range(1, importance.numel()), key=lambda position: -importance[position].item())
    num_alive = len(candidates)
    if keep_bins is None:
        kept = candidates[: math.ceil(round(keep_ratio * num_alive, 6))]  # round: 0.7 * 10 is 7.000000000000001
    else:
        kept = [p for rank, p in enumerate(candidates) if keep_bins[rank * len(keep_bins) // num_alive]]
    return [0, *sorted(kept)]


# ---------------------------------------------------------------------------------------------------------------------
# Dense equivalence with transformers' BERT


@pytest.mark.parametrize("attn_implementation", ["sdpa", "eager"])
def test_dense_logits_equal_bert(bert_dir, tiny_batch, attn_implementation):
    bert = BertForSequenceClassification.from_pretrained(bert_dir, attn_implementation=attn_implementation).eval()
    top = TopBertForSequenceClassification.from_pretrained(bert_dir, attn_implementation=attn_implementation)
    top.eval()
    assert top.config._attn_implementation == attn_implementation
    with torch.no_grad():
        expected = bert(**tiny_batch).logits
        torch.testing.assert_close(top(**tiny_batch).logits, expected, atol=1e-5, rtol=0)
        # Computing the importance (explicit softmax) on every layer does not change the result either.
        torch.testing.assert_close(
            top(**tiny_batch, importance_layers=[0, 1, 2, 3]).logits, expected, atol=1e-5, rtol=0
        )


def test_dense_base_model_equals_bert_model(bert_dir, tiny_batch):
    bert = BertModel.from_pretrained(bert_dir).eval()
    top = load_top(bert_dir, TopBertModel)
    with torch.no_grad():
        expected, actual = bert(**tiny_batch, output_hidden_states=True), top(**tiny_batch, output_hidden_states=True)
    torch.testing.assert_close(actual.last_hidden_state, expected.last_hidden_state, atol=1e-5, rtol=0)
    torch.testing.assert_close(actual.pooler_output, expected.pooler_output, atol=1e-5, rtol=0)
    assert len(actual.hidden_states) == len(expected.hidden_states) == 5
    for ours, theirs in zip(actual.hidden_states, expected.hidden_states, strict=True):
        torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=0)


def test_bert_checkpoints_load_without_missing_or_unexpected_keys(bert_dir, tmp_path):
    _, info = TopBertForSequenceClassification.from_pretrained(bert_dir, output_loading_info=True)
    assert info["missing_keys"] == set() and info["unexpected_keys"] == set() and info["mismatched_keys"] == set()
    BertModel.from_pretrained(bert_dir).save_pretrained(tmp_path)  # a base-model checkpoint (no "bert." prefix)
    _, info = TopBertModel.from_pretrained(tmp_path, output_loading_info=True)
    assert info["missing_keys"] == set() and info["unexpected_keys"] == set() and info["mismatched_keys"] == set()


def test_classification_loss_matches_bert(bert_dir, tiny_batch):
    bert = BertForSequenceClassification.from_pretrained(bert_dir).eval()
    top = load_top(bert_dir)
    labels = torch.tensor([0, 1, 1])
    with torch.no_grad():
        expected, actual = bert(**tiny_batch, labels=labels), top(**tiny_batch, labels=labels)
    assert actual.loss.item() == pytest.approx(expected.loss.item(), abs=1e-6)
    assert actual.loss.item() == pytest.approx(
        torch.nn.functional.cross_entropy(actual.logits, labels).item(), abs=1e-6
    )


# ---------------------------------------------------------------------------------------------------------------------
# Token importance


def test_token_importance_is_mean_attention_received(bert_dir, tiny_batch):
    eager = BertModel.from_pretrained(bert_dir, attn_implementation="eager").eval()
    top = load_top(bert_dir, TopBertModel)
    with torch.no_grad():
        attentions = eager(**tiny_batch, output_attentions=True).attentions
        importance = top(**tiny_batch, importance_layers=[0, 2]).token_importance
    assert len(importance) == 4 and importance[1] is None and importance[3] is None
    for layer in (0, 2):
        assert importance[layer].shape == (3, 20)
        expected = mean_attention_received(attentions[layer], tiny_batch["attention_mask"])
        torch.testing.assert_close(importance[layer], expected, atol=1e-6, rtol=0)
        # Each attention row is a softmax over the real keys, so the mean of rows sums to 1 and padding gets ~0.
        torch.testing.assert_close(importance[layer].sum(dim=1), torch.ones(3), atol=1e-5, rtol=0)
        assert importance[layer].masked_select(tiny_batch["attention_mask"] == 0).abs().max() < 1e-6


def test_token_importance_with_a_plan_has_the_pruned_length_and_a_gradient(bert_dir, tiny_batch):
    top = load_top(bert_dir, TopBertModel, token_keep_ratios=PLAN)
    importance = top(**tiny_batch, importance_layers=[1, 3]).token_importance
    # Layer 1 sees all 20 positions; layer 3 runs after two prunes: 1 + ceil(0.5 * (1 + ceil(0.5 * 19) - 1)) = 6.
    assert importance[1].shape == (3, 20) and importance[3].shape == (3, 6)
    for scores in (importance[1], importance[3]):
        torch.testing.assert_close(scores.sum(dim=1), torch.ones(3), atol=1e-5, rtol=0)
    importance[3].sum().backward()  # the ranking distillation trains through it
    assert top.encoder.layer[3].attention.self.query.weight.grad.abs().sum() > 0


def test_token_importance_under_bf16_autocast_is_summed_in_float32(bert_dir, tiny_batch):
    # Training with --bf16 runs the forward under autocast: the importance that ranks the tokens must keep float32
    # precision (a bfloat16 sum keeps ~3 digits and ties the ranks of close tokens), close to the float32 values.
    top = load_top(bert_dir, TopBertModel)
    with torch.no_grad():
        expected = top(**tiny_batch, importance_layers=[1, 2]).token_importance
        with torch.autocast("cpu", dtype=torch.bfloat16):
            importance = top(**tiny_batch, importance_layers=[1, 2]).token_importance
    for layer in (1, 2):
        assert importance[layer].dtype == torch.float32
        torch.testing.assert_close(importance[layer], expected[layer], atol=2e-3, rtol=0)
        torch.testing.assert_close(importance[layer].sum(dim=1), torch.ones(3), atol=1e-5, rtol=0)


def test_importance_layers_out_of_range(bert_dir, tiny_batch):
    with pytest.raises(ValueError, match=re.escape("importance_layers must be within 0..3, got [4]")):
        load_top(bert_dir, TopBertModel)(**tiny_batch, importance_layers=[4])


# ---------------------------------------------------------------------------------------------------------------------
# Real token dropping under a fixed plan


def test_plan_shortens_hidden_states_as_plan_lengths_says(bert_dir, tiny_batch):
    model = load_top(bert_dir, TopBertModel, token_keep_ratios=PLAN)
    for sample in rows(tiny_batch):
        length = sample["input_ids"].shape[1]
        with torch.no_grad():
            hidden_states = model(**sample, output_hidden_states=True).hidden_states
        expected = plan_lengths(model.config, length)
        # hidden_states[l] is the input of layer l (the embeddings for l = 0); the last one is the final output.
        assert [state.shape[1] for state in hidden_states] == [*expected, expected[-1]]
    assert plan_lengths(model.config, 20) == [20, 20, 11, 6]
    with torch.no_grad():
        batch_states = model(**tiny_batch, output_hidden_states=True).hidden_states
    assert [state.shape[1] for state in batch_states] == [20, 20, 11, 6, 6]  # the batch maximum (the 20-token row)


def test_dense_model_keeps_every_length(bert_dir, tiny_batch):
    model = load_top(bert_dir, TopBertModel)
    with torch.no_grad():
        hidden_states = model(**tiny_batch, output_hidden_states=True).hidden_states
    assert [state.shape[1] for state in hidden_states] == [20] * 5


@pytest.mark.parametrize("attn_implementation", ["sdpa", "eager"])
@pytest.mark.parametrize(
    "plan",
    [
        dict(token_keep_ratios=PLAN),
        dict(
            num_bins=4, token_keep_ratios=[1, 1, 0.5, 0.75], token_keep_bins=[None, None, [0, 1, 1, 0], [1, 1, 0, 1]]
        ),
    ],
    ids=["ratios", "bins"],
)
def test_ragged_batch_equals_samples_one_by_one(bert_dir, tiny_batch, plan, attn_implementation):
    classifier = load_top(bert_dir, attn_implementation=attn_implementation, **plan)
    encoder = load_top(bert_dir, TopBertModel, attn_implementation=attn_implementation, **plan)
    with torch.no_grad():
        batch_logits = classifier(**tiny_batch).logits
        batch_states = encoder(**tiny_batch).last_hidden_state
        for index, sample in enumerate(rows(tiny_batch)):
            length = sample["input_ids"].shape[1]
            torch.testing.assert_close(batch_logits[index], classifier(**sample).logits[0], atol=1e-4, rtol=0)
            single = encoder(**sample).last_hidden_state[0]
            torch.testing.assert_close(batch_states[index, :length], single, atol=1e-4, rtol=0)
    dense = load_top(bert_dir)
    with torch.no_grad():
        assert (dense(**tiny_batch).logits - batch_logits).abs().max() > 1e-4  # the plan really changed something


@pytest.mark.parametrize(
    ("keep_ratio", "keep_bins"),
    [(0.5, None), (0.01, None), (0.5, [0, 1, 1, 0]), (0.25, [0, 0, 0, 1])],
    ids=["half", "one-token", "middle-bins", "last-bin"],
)
def test_kept_tokens_are_the_planned_ones(bert_dir, keep_ratio, keep_bins):
    """
    Prune only at layer 2's input, then check every position of the restored output. Pruning happens inside layer 1,
    after its attention: a kept token went through layer 1's feed-forward network and layers 2 and 3 with the other
    kept tokens only; a pruned one never finished layer 1 and keeps layer 0's output. The positions are worked out
    from transformers' own eager attention probabilities at layer 1 (spec: layer l is pruned with layer l-1's scores).
    """
    generator = torch.Generator().manual_seed(5)
    input_ids = torch.randint(5, 99, (1, 17), generator=generator)
    input_ids[0, 0] = 2
    eager = BertModel.from_pretrained(bert_dir, attn_implementation="eager").eval()
    with torch.no_grad():
        reference = eager(input_ids, output_attentions=True, output_hidden_states=True)
    importance = mean_attention_received(reference.attentions[1], torch.ones_like(input_ids))[0]
    # [CLS] is not the most important token here: an implementation that ranked it would drop it at ratio 0.01.
    assert importance[0] < importance[1:].max()
    kept = expected_kept_positions(importance, keep_ratio, keep_bins)
    pruned = [position for position in range(17) if position not in kept]

    ratios = [1.0, 1.0, keep_ratio, 1.0]
    plan = dict(token_keep_ratios=ratios)
    if keep_bins is not None:
        plan |= dict(num_bins=4, token_keep_bins=[None, None, keep_bins, None])
    model = load_top(bert_dir, TopBertModel, **plan)
    with torch.no_grad():
        output = model(input_ids, output_hidden_states=True)
        layer_0_output, layer_1_output = reference.hidden_states[1], reference.hidden_states[2]
        expected_kept = model.encoder.layer[3](model.encoder.layer[2](layer_1_output[:, kept]))
    assert output.hidden_states[2].shape[1] == len(kept) == plan_lengths(model.config, 17)[2]
    assert output.last_hidden_state.shape == (1, 17, 32)
    torch.testing.assert_close(output.last_hidden_state[:, kept], expected_kept, atol=1e-5, rtol=0)
    torch.testing.assert_close(output.last_hidden_state[:, pruned], layer_0_output[:, pruned], atol=1e-5, rtol=0)


def test_restore_pruned_tokens(bert_dir, tiny_batch):
    model = load_top(bert_dir, TopBertModel, token_keep_ratios=PLAN)
    with torch.no_grad():
        restored = model(**tiny_batch)
        short = model(**tiny_batch, restore_pruned_tokens=False)
    assert restored.last_hidden_state.shape == (3, 20, 32)
    assert short.last_hidden_state.shape == (3, 6, 32)
    torch.testing.assert_close(restored.pooler_output, short.pooler_output, atol=0, rtol=0)
    # [CLS] is kept and stays first in the shortened sequence.
    torch.testing.assert_close(restored.last_hidden_state[:, 0], short.last_hidden_state[:, 0], atol=0, rtol=0)
    # Padding positions of the restored output are zeros (a dense model returns BERT's values there).
    assert (restored.last_hidden_state[tiny_batch["attention_mask"] == 0] == 0).all()


def test_single_cls_token_batch(bert_dir):
    pruned, dense = load_top(bert_dir, token_keep_ratios=[1, 1, 0.01, 0.01]), load_top(bert_dir)
    input_ids = torch.tensor([[2], [2]])
    with torch.no_grad():
        output = pruned(input_ids, output_hidden_states=True)
        torch.testing.assert_close(output.logits, dense(input_ids).logits, atol=1e-6, rtol=0)
    assert [state.shape for state in output.hidden_states] == [(2, 1, 32)] * 5


def test_batch_with_a_cls_only_row(bert_dir, tiny_batch):
    model = load_top(bert_dir, token_keep_ratios=PLAN)
    batch = {key: value.clone() for key, value in tiny_batch.items()}
    batch["attention_mask"][1, 1:] = 0
    with torch.no_grad():
        logits = model(**batch).logits
        for index, sample in enumerate(rows(batch)):
            torch.testing.assert_close(logits[index], model(**sample).logits[0], atol=1e-4, rtol=0)


def test_padding_is_never_kept(bert_dir):
    """Right padding of any length leaves the per-sample plan unchanged (only real tokens are counted and kept)."""
    model = load_top(bert_dir, TopBertModel, token_keep_ratios=[1, 1, 0.9, 0.9])
    input_ids = torch.randint(5, 99, (1, 8), generator=torch.Generator().manual_seed(3))
    input_ids[0, 0] = 2
    padded = torch.cat([input_ids, torch.zeros(1, 30, dtype=torch.long)], dim=1)
    mask = torch.cat([torch.ones(1, 8), torch.zeros(1, 30)], dim=1).long()
    with torch.no_grad():
        alone = model(input_ids, output_hidden_states=True)
        with_padding = model(padded, attention_mask=mask, output_hidden_states=True)
    # 7 alive -> 1 + ceil(6.3) = 8 -> 1 + ceil(0.9 * 7) = 8 tokens; with padding, the batch shape shrinks to the same.
    assert [state.shape[1] for state in with_padding.hidden_states] == [38, 38, 8, 8, 8]
    assert [state.shape[1] for state in alone.hidden_states] == [8, 8, 8, 8, 8]
    torch.testing.assert_close(with_padding.last_hidden_state[:, :8], alone.last_hidden_state, atol=1e-5, rtol=0)


def test_longest_allowed_input(bert_dir):
    model = load_top(bert_dir, token_keep_ratios=PLAN)
    input_ids = torch.randint(5, 99, (2, 64), generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        output = model(input_ids, output_hidden_states=True)
    assert [state.shape[1] for state in output.hidden_states] == [64, 64, 33, 17, 17]


def test_attention_mask_with_a_hole(bert_dir):
    """A masked-out token in the middle is treated like padding: never attended to, ranked or kept."""
    input_ids = torch.randint(5, 99, (1, 12), generator=torch.Generator().manual_seed(6))
    input_ids[0, 0] = 2
    attention_mask = torch.ones(1, 12, dtype=torch.long)
    attention_mask[0, 5] = 0
    bert = BertForSequenceClassification.from_pretrained(bert_dir).eval()
    with torch.no_grad():
        expected = bert(input_ids, attention_mask=attention_mask).logits
        torch.testing.assert_close(
            load_top(bert_dir)(input_ids, attention_mask=attention_mask).logits, expected, atol=1e-5, rtol=0
        )
        pruned = load_top(bert_dir, TopBertModel, token_keep_ratios=PLAN)(
            input_ids, attention_mask=attention_mask, output_hidden_states=True
        )
    # 10 real non-[CLS] tokens: 1 + ceil(0.5 * 10) = 6, then 1 + ceil(0.5 * 5) = 4.
    assert [state.shape[1] for state in pruned.hidden_states] == [12, 12, 6, 4, 4]
    assert (pruned.last_hidden_state[0, 5] == 0).all()


def test_non_binary_attention_mask_counts_every_non_zero_as_real(bert_dir):
    """An attention mask holding 2s (or floats) means the same as 1s, as in BERT, with and without a plan."""
    input_ids = torch.randint(5, 99, (2, 10), generator=torch.Generator().manual_seed(7))
    input_ids[:, 0] = 2
    binary = torch.ones(2, 10, dtype=torch.long)
    binary[1, 6:] = 0
    for model in (load_top(bert_dir), load_top(bert_dir, token_keep_ratios=PLAN)):
        with torch.no_grad():
            expected = model(input_ids, attention_mask=binary).logits
            torch.testing.assert_close(model(input_ids, attention_mask=binary * 2).logits, expected, atol=0, rtol=0)
            torch.testing.assert_close(model(input_ids, attention_mask=binary * 0.5).logits, expected, atol=0, rtol=0)


def test_nan_in_one_row_stays_in_that_row(bert_dir):
    """NaN in one sample's embeddings makes that sample's logits NaN (as in BERT) and leaves the others exact."""
    model = load_top(bert_dir, token_keep_ratios=PLAN)
    embeddings = model.get_input_embeddings()(
        torch.randint(5, 99, (2, 10), generator=torch.Generator().manual_seed(8))
    )
    with torch.no_grad():
        clean = model(inputs_embeds=embeddings[1:]).logits
        embeddings[0, 3] = float("nan")
        logits = model(inputs_embeds=embeddings).logits
    assert torch.isnan(logits[0]).all()
    torch.testing.assert_close(logits[1:], clean, atol=1e-5, rtol=0)


# ---------------------------------------------------------------------------------------------------------------------
# Bad inputs


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        (
            dict(input_ids=torch.tensor([[2, 5, 6], [2, 7, 0]]), attention_mask=torch.tensor([[1, 1, 1], [0, 0, 0]])),
            "rows [1] of attention_mask are padding at position 0",
        ),
        (
            dict(input_ids=torch.tensor([[0, 2, 5]]), attention_mask=torch.tensor([[0, 1, 1]])),
            "rows [0] of attention_mask are padding at position 0",
        ),
        (dict(input_ids=torch.full((1, 65), 7)), "sequence length 65 exceeds max_position_embeddings=64"),
        (dict(inputs_embeds=torch.zeros(1, 65, 32)), "sequence length 65 exceeds max_position_embeddings=64"),
        (dict(input_ids=torch.tensor([[2, 99]])), "input_ids must be within 0..98, got values from 2 to 99"),
        (dict(input_ids=torch.tensor([[2, -1]])), "input_ids must be within 0..98, got values from -1 to 2"),
        (
            dict(input_ids=torch.tensor([[2, 5]]), token_type_ids=torch.tensor([[0, 2]])),
            "token_type_ids must be within 0..1, got values from 0 to 2",
        ),
        (
            dict(input_ids=torch.tensor([[2, 5]]), token_type_ids=torch.tensor([[0, 0, 0]])),
            "token_type_ids has shape (1, 3), expected (1, 2)",
        ),
        (
            dict(input_ids=torch.tensor([[2, 5]]), attention_mask=torch.tensor([[1, 1, 1]])),
            "attention_mask has shape (1, 3), expected (1, 2)",
        ),
        (dict(inputs_embeds=torch.zeros(1, 4, 16)), "inputs_embeds must end with hidden_size=32, got (1, 4, 16)"),
        (
            dict(input_ids=torch.tensor([[2.0, 5.0]])),
            "input_ids must be an integer (int64 or int32) tensor, got torch.float32",
        ),
        (
            dict(input_ids=torch.tensor([[2, 5]]), token_type_ids=torch.tensor([[False, True]])),
            "token_type_ids must be an integer (int64 or int32) tensor, got torch.bool",
        ),
        (dict(input_ids=torch.zeros(0, 4, dtype=torch.long)), "got (0, 4)"),
        (dict(input_ids=torch.zeros(2, 0, dtype=torch.long)), "got (2, 0)"),
        (dict(input_ids=torch.tensor([2, 5, 6])), "got (3,)"),
        (dict(), "exactly one of input_ids or inputs_embeds"),
        (dict(input_ids=torch.tensor([[2, 5]]), inputs_embeds=torch.zeros(1, 2, 32)), "exactly one of"),
        (dict(input_ids=torch.tensor([[2, 5]]), output_attentions=True), "output_attentions is not supported"),
        (
            dict(input_ids=torch.tensor([[2, 5]]), position_ids=torch.tensor([[0, 64]])),
            "position_ids must be within 0..63, got values from 0 to 64",
        ),
        (
            dict(input_ids=torch.tensor([[2, 5]]), position_ids=torch.tensor([[-1, 0]])),
            "position_ids must be within 0..63, got values from -1 to 0",
        ),
        (
            dict(input_ids=torch.tensor([[2, 5]]), position_ids=torch.tensor([[0, 1, 2]])),
            "position_ids has shape (1, 3), expected (1, 2)",
        ),
        (
            dict(input_ids=torch.tensor([[2, 5]]), position_ids=torch.tensor([0, 1])),
            "position_ids has shape (2,), expected (1, 2)",
        ),
        (
            dict(input_ids=torch.tensor([[2, 5]]), position_ids=torch.tensor([[0.0, 1.0]])),
            "position_ids must be an integer (int64 or int32) tensor, got torch.float32",
        ),
        (dict(input_ids=torch.tensor([[2, 5]]), importance_layers="1"), "importance_layers must be a list of layer"),
        (dict(input_ids=torch.tensor([[2, 5]]), importance_layers=[1.0]), "importance_layers must be a list of layer"),
    ],
)
@pytest.mark.parametrize("plan", [None, PLAN], ids=["dense", "plan"])
def test_bad_inputs_raise_value_error(bert_dir, inputs, message, plan):
    model = load_top(bert_dir, token_keep_ratios=plan)
    with pytest.raises(ValueError, match=re.escape(message)):
        model(**inputs)


def test_decoder_config_is_rejected(tiny_bert_config):
    config = TopBertConfig.from_bert_config(tiny_bert_config, is_decoder=True)
    with pytest.raises(ValueError, match="is_decoder and add_cross_attention must be False"):
        TopBertModel(config)


# ---------------------------------------------------------------------------------------------------------------------
# Save / load


@pytest.mark.parametrize(
    "plan",
    [
        dict(token_keep_ratios=PLAN),
        dict(num_bins=4, token_keep_ratios=[1, 1, 0.5, 1], token_keep_bins=[None, None, [0, 1, 1, 0], None]),
    ],
    ids=["ratios", "bins"],
)
def test_save_and_load_round_trip(bert_dir, tiny_batch, tmp_path, plan):
    model = load_top(bert_dir, **plan)
    model.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["model_type"] == "top_bert"
    assert saved["auto_map"] == {
        "AutoConfig": "configuration_top_bert.TopBertConfig",
        "AutoModel": "modeling_top_bert.TopBertModel",
        "AutoModelForSequenceClassification": "modeling_top_bert.TopBertForSequenceClassification",
        "AutoModelForQuestionAnswering": "modeling_top_bert.TopBertForQuestionAnswering",
    }
    portable = {"configuration_top_bert.py", "modeling_top_bert.py", "flops.py", "hard_concrete.py"}
    assert portable <= {path.name for path in tmp_path.glob("*.py")}
    config = AutoConfig.from_pretrained(tmp_path)
    assert type(config) is TopBertConfig
    assert config.token_keep_ratios == model.config.token_keep_ratios
    assert config.token_keep_bins == model.config.token_keep_bins
    loaded, info = AutoModelForSequenceClassification.from_pretrained(tmp_path, output_loading_info=True)
    assert type(loaded) is TopBertForSequenceClassification and not loaded.training
    assert info["missing_keys"] == set() and info["unexpected_keys"] == set()
    with torch.no_grad():
        torch.testing.assert_close(loaded(**tiny_batch).logits, model(**tiny_batch).logits, atol=0, rtol=0)
    assert type(AutoModel.from_pretrained(tmp_path)) is TopBertModel


# ---------------------------------------------------------------------------------------------------------------------
# Trainable masks


def masked_model(bert_dir, gate_log_alpha: float, bin_log_alpha: list[float]) -> TopBertForSequenceClassification:
    """A classifier with 4-bin masks at layers 2 and 3, all set to the given log-alphas."""
    model = load_top(bert_dir, num_bins=4)
    masks = model.add_pruning_masks()
    with torch.no_grad():
        masks.gate_log_alpha.fill_(gate_log_alpha)
        masks.bin_log_alpha.copy_(torch.tensor([bin_log_alpha, bin_log_alpha]))
    return model


def test_add_pruning_masks(bert_dir):
    model = masked_model(bert_dir, -10.0, [10.0] * 4)
    assert model.config.pruning_masks is True
    assert model.bert.token_masks.bin_log_alpha.shape == (2, 4)
    names = {name for name, _ in model.named_parameters() if "token_masks" in name}
    assert names == {
        f"bert.token_masks.{name}" for name in ("gate_log_alpha", "bin_log_alpha", "lagrange_multipliers")
    }
    with pytest.raises(ValueError, match="already has pruning masks"):
        model.add_pruning_masks()
    with pytest.raises(ValueError, match=re.escape("fixed pruning plan (token_keep_ratios=[1.0, 1.0, 0.5, 0.5])")):
        load_top(bert_dir, token_keep_ratios=PLAN).add_pruning_masks()


def test_closed_gates_train_like_the_dense_model(bert_dir, tiny_batch):
    model = masked_model(bert_dir, -10.0, [10.0] * 4).train()  # the initial masks: prune nothing
    torch.manual_seed(0)
    output = model(**tiny_batch, output_hidden_states=True)
    assert [state.shape[1] for state in output.hidden_states] == [20] * 5
    with torch.no_grad():
        expected = load_top(bert_dir)(**tiny_batch).logits
    torch.testing.assert_close(output.logits, expected, atol=1e-5, rtol=0)


def test_training_forward_is_soft_and_trains_the_masks(bert_dir, tiny_batch):
    # Gates at log-alpha 0 are on with probability 0.83 and strictly inside (0, 1) (where the straight-through
    # gradient is not zero) with probability 0.66; bins at 0 are soft values in [0, 1].
    model = masked_model(bert_dir, 0.0, [0.0] * 4).train()
    with torch.no_grad():
        dense = load_top(bert_dir)(**tiny_batch).logits
    torch.manual_seed(0)
    changed = False
    for _ in range(4):  # a fresh sample per step: the chance that no gate is inside (0, 1) in 8 draws is 2e-4
        output = model(**tiny_batch, output_hidden_states=True)
        assert [state.shape[1] for state in output.hidden_states] == [20] * 5  # nothing is removed in training
        changed |= bool((output.logits - dense).abs().max() > 1e-3)  # the soft masks act
        output.logits.pow(2).sum().backward()
    assert changed
    masks = model.bert.token_masks
    assert masks.gate_log_alpha.grad.abs().sum() > 0
    assert masks.bin_log_alpha.grad.abs().sum() > 0


def test_eval_forward_with_masks_drops_tokens_per_the_frozen_plan(bert_dir, tiny_batch):
    # P(z > 0) is 0.9986 at +5 and 0.032 at -5: round(4 - 2.06) = 2 bins dropped, the two -5 ones.
    model = masked_model(bert_dir, 3.0, [5.0, -5.0, 5.0, -5.0])
    with torch.no_grad():
        output = model(**tiny_batch, output_hidden_states=True)
    frozen = TopBertConfig.from_bert_config(
        model.config,
        pruning_masks=False,
        token_keep_ratios=PLAN,
        token_keep_bins=[None, None, [1, 0, 1, 0], [1, 0, 1, 0]],
    )
    expected_lengths = plan_lengths(frozen, 20)
    assert expected_lengths == [20, 20, 11, 7]  # kept bins 0 and 2 of 4: 5 + 5 of 19 ranks, then 3 + 3 of 10
    assert [state.shape[1] for state in output.hidden_states] == [*expected_lengths, expected_lengths[-1]]
    reference = load_top(
        bert_dir, **{key: getattr(frozen, key) for key in ("num_bins", "token_keep_ratios", "token_keep_bins")}
    )
    with torch.no_grad():
        torch.testing.assert_close(output.logits, reference(**tiny_batch).logits, atol=0, rtol=0)


def test_finalize_pruning(bert_dir, tiny_batch, tmp_path):
    model = masked_model(bert_dir, 3.0, [5.0, -5.0, 5.0, -5.0])
    with torch.no_grad():
        model.bert.token_masks.gate_log_alpha[1] = -8.0  # layer 3's gate is off
        model.bert.token_masks.bin_log_alpha[0] = torch.tensor([5.0, 5.0, -5.0, -5.0])  # layer 2: a prefix
    with torch.no_grad():
        before = model(**tiny_batch).logits
    config = model.finalize_pruning()
    assert config is model.config
    assert config.pruning_masks is False
    assert config.token_keep_ratios == [1.0, 1.0, 0.5, 1.0]
    assert config.token_keep_bins is None  # a prefix needs no pattern
    assert model.bert.token_masks is None
    assert not any("token_masks" in key for key in model.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(model(**tiny_batch).logits, before, atol=0, rtol=0)
    with pytest.raises(ValueError, match="no pruning masks to finalize"):
        model.finalize_pruning()

    model.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["pruning_masks"] is False and saved["token_keep_ratios"] == [1.0, 1.0, 0.5, 1.0]
    loaded, info = AutoModelForSequenceClassification.from_pretrained(tmp_path, output_loading_info=True)
    assert info["missing_keys"] == set() and info["unexpected_keys"] == set()
    assert loaded.bert.token_masks is None
    with torch.no_grad():
        torch.testing.assert_close(loaded(**tiny_batch).logits, before, atol=0, rtol=0)


def test_finalize_pruning_stores_a_non_prefix_pattern(bert_dir):
    model = masked_model(bert_dir, 3.0, [5.0, -5.0, 5.0, -5.0])
    config = model.finalize_pruning()
    assert config.token_keep_ratios == [1.0, 1.0, 0.5, 0.5]
    assert config.token_keep_bins == [None, None, [1, 0, 1, 0], [1, 0, 1, 0]]


def test_finalize_pruning_follows_the_configured_freeze_rule(bert_dir, tmp_path):
    # Gates at P(g > 0) = 0.5 and bins [+5, -5, +5, -5]: the spec's rule drops 2 of 4 bins, the expected rule keeps
    # rho = 0.758 of them (3 bins), and the rule travels with a training checkpoint.
    model = masked_model(bert_dir, -BETA * math.log(11.0), [5.0, -5.0, 5.0, -5.0])
    model.config.plan_freeze_rule = "expected"
    model.save_pretrained(tmp_path)
    loaded = TopBertForSequenceClassification.from_pretrained(tmp_path)
    assert loaded.config.plan_freeze_rule == "expected"
    assert loaded.bert.deployable_config().token_keep_ratios == [1.0, 1.0, 0.75, 0.75]
    model.config.plan_freeze_rule = "threshold"
    assert model.finalize_pruning().token_keep_ratios == [1.0, 1.0, 0.5, 0.5]


def test_training_checkpoint_reloads_its_masks(bert_dir, tmp_path):
    model = masked_model(bert_dir, 0.0, [0.0] * 4)
    with torch.no_grad():
        for parameter in model.bert.token_masks.parameters():
            parameter.copy_(torch.randn_like(parameter))
    model.save_pretrained(tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["pruning_masks"] is True
    loaded, info = TopBertForSequenceClassification.from_pretrained(tmp_path, output_loading_info=True)
    assert info["missing_keys"] == set() and info["unexpected_keys"] == set()
    for name, parameter in model.bert.token_masks.named_parameters():
        assert torch.equal(getattr(loaded.bert.token_masks, name), parameter), name


# ---- tracing and activation checkpointing ---------------------------------------------------------------------------


def test_tracing_a_pruned_model_is_refused_and_the_dense_model_traces(bert_dir):
    example = torch.tensor([[2, 5, 6, 7, 8, 9, 10, 11]])
    dense = load_top(bert_dir)
    traced = torch.jit.trace(dense, example, strict=False)
    longer = torch.tensor([[2, *range(5, 25)]])
    with torch.no_grad():
        torch.testing.assert_close(traced(longer)["logits"], dense(longer).logits, atol=1e-5, rtol=0)
    pruned = load_top(bert_dir, token_keep_ratios=PLAN)
    with pytest.raises(RuntimeError, match=r"torch\.jit\.trace cannot trace a model that prunes tokens"):
        torch.jit.trace(pruned, example, strict=False)


def _loss_and_gradients(model, batch, checkpointing: bool, seed: int = 0):
    model.zero_grad()
    if checkpointing:
        model.activation_checkpointing_enable()
    else:
        model.activation_checkpointing_disable()
    torch.manual_seed(seed)  # the same hard-concrete sample in both runs
    loss = model(**batch, importance_layers=[1]).logits.square().sum()
    loss.backward()
    return loss.detach(), {name: p.grad.clone() for name, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("state", ["dense", "soft masks", "fixed plan"])
def test_activation_checkpointing_gives_the_same_loss_and_gradients(tiny_bert_config, tiny_batch, state):
    torch.manual_seed(0)
    config = TopBertConfig.from_bert_config(tiny_bert_config, num_bins=4)
    if state == "fixed plan":
        config.token_keep_ratios = PLAN
    model = TopBertForSequenceClassification(config).train()
    if state == "soft masks":
        model.add_pruning_masks()
        with torch.no_grad():  # gates open, bins undecided: the soft masks change the forward
            model.bert.token_masks.gate_log_alpha.fill_(2.0)
            model.bert.token_masks.bin_log_alpha.uniform_(-2.0, 2.0)
    expected_loss, expected = _loss_and_gradients(model, tiny_batch, checkpointing=False)
    loss, gradients = _loss_and_gradients(model, tiny_batch, checkpointing=True)
    assert model.is_activation_checkpointing
    torch.testing.assert_close(loss, expected_loss, atol=1e-5, rtol=0)
    assert gradients.keys() == expected.keys()
    for name, gradient in gradients.items():
        torch.testing.assert_close(gradient, expected[name], atol=1e-5, rtol=1e-5, msg=name)


@pytest.mark.parametrize("capture_scalar_outputs", [True, False])
def test_torch_compile_runs_a_pruned_model(bert_dir, capture_scalar_outputs):
    """
    Compiled, the pruning is traced with the export-friendly operations and gives the eager logits; the width after a
    prune layer is read from the data, so the graph is whole only with `capture_scalar_outputs`.
    """
    import torch._dynamo

    model = load_top(bert_dir, token_keep_ratios=PLAN)
    example = torch.tensor([[2, *range(5, 20)]])
    with torch._dynamo.config.patch(capture_scalar_outputs=capture_scalar_outputs):
        explanation = torch._dynamo.explain(model)(input_ids=example)
        if capture_scalar_outputs:
            assert explanation.graph_count == 1 and explanation.graph_break_count == 0
        else:
            assert explanation.graph_break_count > 0
            assert all("item()" in str(reason.reason) for reason in explanation.break_reasons)
        torch._dynamo.reset()
        compiled = torch.compile(model)
        generator = torch.Generator().manual_seed(0)
        with torch.no_grad():
            for length in (16, 17, 40):
                input_ids = torch.randint(5, 99, (3, length), generator=generator)
                input_ids[:, 0] = 2
                attention_mask = torch.ones_like(input_ids)
                attention_mask[1, length // 2 :] = 0
                expected = model(input_ids=input_ids, attention_mask=attention_mask).logits
                torch.testing.assert_close(compiled(input_ids=input_ids, attention_mask=attention_mask).logits,
                                           expected, atol=1e-5, rtol=0)  # fmt: skip
        torch._dynamo.reset()
