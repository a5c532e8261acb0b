"""FLOPs model (spec section 5) and the differentiable expected sparsity (spec section 4)."""

from __future__ import annotations

import itertools

import pytest
import torch

from transformers_top import TopBertConfig, TopBertModel, count_flops
from transformers_top.models.flops import encoder_flops, expected_lengths, expected_sparsity, plan_lengths, total_flops


@pytest.fixture
def config(tiny_bert_config) -> TopBertConfig:
    """d = 32, d_ff = 64, 4 layers (prune layers 2 and 3)."""
    return TopBertConfig.from_bert_config(tiny_bert_config)


def attention_macs(length: int, d: int = 32) -> int:
    return 4 * length * d * d + 2 * length * length * d


def ffn_macs(length: int, d: int = 32, d_ff: int = 64) -> int:
    return 2 * length * d * d_ff


def test_count_flops_by_hand(config):
    config.token_keep_ratios = [1.0, 1.0, 0.5, 0.5]
    # 10 real tokens: 9 besides [CLS]. Layer 2's input keeps 1 + ceil(0.5 * 9) = 6, layer 3's 1 + ceil(0.5 * 5) = 4.
    assert plan_lengths(config, 10) == [10, 10, 6, 4]
    # attention(L) = 4 L d^2 + 2 L^2 d = 4096 L + 64 L^2 and ffn(L) = 2 L d d_ff = 4096 L with d = 32, d_ff = 64.
    assert (attention_macs(10), attention_macs(6), attention_macs(4)) == (47360, 26880, 17408)
    assert (ffn_macs(10), ffn_macs(6), ffn_macs(4)) == (40960, 24576, 16384)
    # Layer l: attention at L_l, FFN at L_{l+1} (tokens are dropped after layer l's attention), last FFN at L_3.
    macs = (47360 + 40960) + (47360 + 24576) + (26880 + 16384) + (17408 + 16384)
    assert macs == 237312
    assert count_flops(config, seq_len=10) == 2 * macs == 474624
    dense_macs = 4 * (47360 + 40960)
    assert count_flops(config, seq_len=10, dense=True) == 2 * dense_macs == 706560


def test_dense_flag_and_no_plan(config):
    dense = count_flops(config, seq_len=17)
    assert count_flops(config, seq_len=17, dense=True) == dense
    assert dense == encoder_flops([17] * 4, 32, 64)
    config.token_keep_ratios = [1.0, 1.0, 0.3, 1.0]
    assert count_flops(config, seq_len=17, dense=True) == dense
    assert count_flops(config, seq_len=17) < dense


def test_plan_lengths_ceil_semantics(config):
    config.token_keep_ratios = [1.0, 1.0, 0.7, 0.5]
    # 0.7 * 10 is 7.000000000000001 in floating point: 7 tokens, not 8; then ceil(0.5 * 7) = 4.
    assert plan_lengths(config, 11) == [11, 11, 8, 5]
    config.token_keep_ratios = [1.0, 1.0, 0.01, 1.0]
    assert plan_lengths(config, 11) == [11, 11, 2, 2]  # a ratio > 0 always keeps at least one token besides [CLS]
    assert plan_lengths(config, 1) == [1, 1, 1, 1]  # [CLS] alone: nothing to prune
    assert plan_lengths(config, 2) == [2, 2, 2, 2]


def test_plan_lengths_with_bins(tiny_bert_config):
    config = TopBertConfig.from_bert_config(
        tiny_bert_config,
        num_bins=4,
        token_keep_ratios=[1.0, 1.0, 0.5, 1.0],
        token_keep_bins=[None, None, [0, 1, 1, 0], None],
    )
    # 9 alive tokens, bins floor(4 r / 9) of ranks 0..8 = 0 0 0 1 1 2 2 3 3: bins 1 and 2 hold 4 ranks (the prefix
    # plan 0.5 would keep ceil(4.5) = 5).
    assert plan_lengths(config, 10) == [10, 10, 5, 5]
    config.token_keep_bins = None
    assert plan_lengths(config, 10) == [10, 10, 6, 6]


@pytest.mark.parametrize("seq_len", [0, -3, 2.5, True, "8"])
def test_count_flops_rejects_bad_seq_len(config, seq_len):
    with pytest.raises(ValueError, match="seq_len"):
        count_flops(config, seq_len=seq_len)


def test_count_flops_validates_a_plan_assigned_later(config):
    config.token_keep_ratios = [1.0, 0.5]
    with pytest.raises(ValueError, match=r"token_keep_ratios must be a list of 4 floats.*\[1\.0, 0\.5\]"):
        count_flops(config, seq_len=8)


def test_expected_lengths():
    lengths = expected_lengths(torch.tensor([1.0, 0.5, 0.5]), torch.tensor([9, 5]))
    # (n - 1) * R_l + 1 with R = cumprod = 1, 0.5, 0.25.
    torch.testing.assert_close(lengths, torch.tensor([[9.0, 5.0, 3.0], [5.0, 3.0, 2.0]]))


def test_expected_sparsity_zero_when_keeping_everything(config):
    seq_lengths = torch.tensor([3, 17, 64])
    assert expected_sparsity(config, torch.ones(4), seq_lengths).item() == 0.0


def test_expected_sparsity_increases_as_ratios_drop(config):
    seq_lengths = torch.tensor([5, 20, 33])
    values = [
        expected_sparsity(config, torch.tensor([1.0, 1.0, ratio, ratio]), seq_lengths).item()
        for ratio in (1.0, 0.9, 0.6, 0.3, 0.1)
    ]
    assert values[0] == 0.0
    assert all(later > earlier for earlier, later in itertools.pairwise(values))
    assert values[-1] < 1.0


def test_expected_sparsity_matches_count_flops_when_lengths_are_exact(config):
    # n = 9: 8 non-[CLS] tokens, ratio 0.5 twice keeps 4 then 2 tokens, which is also (n - 1) R_l + 1 exactly.
    config.token_keep_ratios = [1.0, 1.0, 0.5, 0.5]
    exact = 1 - count_flops(config, seq_len=9) / count_flops(config, seq_len=9, dense=True)
    expected = expected_sparsity(config, torch.tensor([1.0, 1.0, 0.5, 0.5], dtype=torch.float64), torch.tensor([9]))
    assert expected.item() == pytest.approx(exact, rel=1e-12)


def test_expected_sparsity_gradient(config):
    ratios = torch.tensor([1.0, 1.0, 0.6, 0.8], requires_grad=True)
    expected_sparsity(config, ratios, torch.tensor([12, 30])).backward()
    # Keeping more tokens anywhere lowers the sparsity.
    assert (ratios.grad < 0).all()


def test_model_expected_sparsity_reaches_log_alphas(config):
    model = TopBertModel(config)
    masks = model.add_pruning_masks()
    seq_lengths = torch.tensor([10, 20])
    # Gates start closed (P(g > 0) = 2e-4): nothing is expected to be pruned.
    assert model.expected_sparsity(seq_lengths).item() == pytest.approx(0.0, abs=1e-3)
    with torch.no_grad():
        masks.gate_log_alpha.fill_(2.0)
        masks.bin_log_alpha.fill_(0.0)
    sparsity = model.expected_sparsity(seq_lengths)
    assert 0.05 < sparsity.item() < 0.95
    sparsity.backward()
    assert (masks.gate_log_alpha.grad > 0).all()  # opening gates prunes more
    assert (masks.bin_log_alpha.grad < 0).all()  # opening bins keeps more


def test_model_expected_sparsity_needs_masks(config):
    with pytest.raises(ValueError, match="no pruning masks"):
        TopBertModel(config).expected_sparsity(torch.tensor([4]))


@pytest.mark.parametrize(
    ("ratios", "seq_lengths", "message"),
    [
        (torch.ones(3), torch.tensor([5]), r"layer_keep_ratios must have shape \(4,\).*got \(3,\)"),
        (torch.ones(4), torch.tensor([5, 0]), r"seq_lengths .* got \[5, 0\]"),
        (torch.ones(4), torch.tensor([[5]]), r"seq_lengths .* got \[\[5\]\]"),
        (torch.ones(4), torch.tensor([], dtype=torch.long), r"seq_lengths .* got \[\]"),
    ],
)
def test_expected_sparsity_rejects_bad_shapes(config, ratios, seq_lengths, message):
    with pytest.raises(ValueError, match=message):
        expected_sparsity(config, ratios, seq_lengths)


def test_count_flops_config_types(tiny_bert_config):
    bert_dense = count_flops(tiny_bert_config, seq_len=10, dense=True)
    assert bert_dense == count_flops(TopBertConfig.from_bert_config(tiny_bert_config), seq_len=10)
    with pytest.raises(
        ValueError, match=r"a pruning plan needs a ToP configuration \(e.g. TopBertConfig\), got BertConfig"
    ):
        count_flops(tiny_bert_config, seq_len=10)
    with pytest.raises(ValueError, match=r"count_flops expects a TopBertConfig .* got dict"):
        count_flops(tiny_bert_config.to_dict(), seq_len=10, dense=True)
    with pytest.raises(ValueError, match="seq_len must be a positive integer, got 0"):
        plan_lengths(TopBertConfig.from_bert_config(tiny_bert_config), 0)


def test_total_flops_sums_count_flops_over_an_evaluation_set(config):
    config.token_keep_ratios = [1.0, 1.0, 0.5, 0.5]
    lengths = [10, 4, 10, 1, 7]
    assert total_flops(config, lengths) == sum(count_flops(config, length) for length in lengths)
    assert total_flops(config, lengths, dense=True) == sum(count_flops(config, n, dense=True) for n in lengths)
    assert total_flops(config, iter(lengths)) == total_flops(config, lengths)  # any iterable, read once


def test_total_flops_rejects_an_empty_set_and_bad_lengths(config):
    with pytest.raises(ValueError, match="at least one sequence length"):
        total_flops(config, [])
    with pytest.raises(ValueError, match="seq_len must be a positive integer, got 0"):
        total_flops(config, [3, 0])
