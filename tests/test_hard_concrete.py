"""Hard-concrete masks (spec sections 2, 4 and 6): sampling, clamping, expected keep ratios and the frozen plan."""

from __future__ import annotations

import math

import pytest
import torch

from transformers_top.models.hard_concrete import (
    BETA,
    BIN_LOG_ALPHA_INIT,
    GATE_LOG_ALPHA_INIT,
    LOG_ALPHA_RANGE,
    TokenPruningMasks,
    hard_concrete_sample,
    prob_nonzero,
)

# With beta = 2/3, gamma = -0.1, zeta = 1.1: z > 0 iff logistic noise > -log_alpha - beta * log(11), and z = 1 iff it
# is > beta * log(11) - log_alpha, so P(z > 0) = sigmoid(log_alpha + beta log 11), P(z = 1) = sigmoid(log_alpha - beta
# log 11).
LOG_11 = math.log(11.0)
#: The log-alpha at which P(z > 0) = 0.5 exactly: the gate threshold of the frozen plan.
HALF_OPEN_LOG_ALPHA = -BETA * LOG_11


def sigmoid(value: float) -> float:
    return 1.0 / (1.0 + math.exp(-value))


def masks_with(
    gate_log_alpha: list[float], bin_log_alpha: list[list[float]], bin_order: str = "free"
) -> TokenPruningMasks:
    masks = TokenPruningMasks(len(gate_log_alpha), len(bin_log_alpha[0]), bin_order)
    with torch.no_grad():
        masks.gate_log_alpha.copy_(torch.tensor(gate_log_alpha))
        masks.bin_log_alpha.copy_(torch.tensor(bin_log_alpha))
    return masks


def test_prob_nonzero_closed_form():
    log_alpha = torch.tensor([-3.0, 0.0, 2.5])
    expected = [sigmoid(value + BETA * LOG_11) for value in log_alpha.tolist()]
    torch.testing.assert_close(prob_nonzero(log_alpha), torch.tensor(expected), atol=1e-6, rtol=0)
    assert prob_nonzero(torch.tensor(HALF_OPEN_LOG_ALPHA)).item() == pytest.approx(0.5, abs=1e-6)


@pytest.mark.parametrize("log_alpha", [-3.0, -1.0, 0.0, 1.5])
def test_sampling_frequencies_match_closed_form(log_alpha):
    torch.manual_seed(0)
    num_samples = 200_000
    z = hard_concrete_sample(torch.full((num_samples,), log_alpha))
    assert z.min() >= 0.0 and z.max() <= 1.0
    # A frequency over n independent samples has a standard deviation sqrt(p (1 - p) / n) <= 0.5 / sqrt(n) = 0.0011
    # for n = 200,000, so 0.006 is more than 5 standard deviations: a correct sampler fails with probability < 1e-6,
    # while a wrong constant (e.g. beta = 1 or dropping the stretch) shifts these probabilities by more than 0.02.
    tolerance = 0.006
    assert (z > 0).double().mean().item() == pytest.approx(sigmoid(log_alpha + BETA * LOG_11), abs=tolerance)
    assert (z == 1).double().mean().item() == pytest.approx(sigmoid(log_alpha - BETA * LOG_11), abs=tolerance)
    assert prob_nonzero(torch.tensor(log_alpha)).item() == pytest.approx(sigmoid(log_alpha + BETA * LOG_11))


def test_sample_is_differentiable():
    torch.manual_seed(0)
    log_alpha = torch.zeros(1000, requires_grad=True)
    hard_concrete_sample(log_alpha).sum().backward()
    # Samples strictly inside (0, 1) pass a positive gradient; clamped ones pass none.
    assert (log_alpha.grad > 0).any()
    assert (log_alpha.grad >= 0).all()


def test_initial_values_and_reset():
    masks = TokenPruningMasks(num_locations=3, num_bins=5)
    assert masks.gate_log_alpha.shape == (3,) and masks.bin_log_alpha.shape == (3, 5)
    assert (masks.gate_log_alpha == GATE_LOG_ALPHA_INIT).all() and GATE_LOG_ALPHA_INIT == -10.0
    assert (masks.bin_log_alpha == BIN_LOG_ALPHA_INIT).all() and BIN_LOG_ALPHA_INIT == 10.0
    assert (masks.lagrange_multipliers == 0).all() and masks.lagrange_multipliers.shape == (2,)
    with torch.no_grad():
        for parameter in masks.parameters():
            parameter.fill_(0.3)
    masks.reset_parameters()
    assert (masks.gate_log_alpha == -10.0).all() and (masks.bin_log_alpha == 10.0).all()
    assert (masks.lagrange_multipliers == 0).all()


def test_initial_masks_keep_everything():
    torch.manual_seed(0)
    masks = TokenPruningMasks(num_locations=2, num_bins=4)
    for _ in range(20):
        gates, bins = masks.sample()
        assert (gates == 0).all() and (bins == 1).all()
    torch.testing.assert_close(masks.expected_keep_ratios(), torch.ones(2), atol=1e-3, rtol=0)


def test_gates_are_hard_with_straight_through_gradient():
    torch.manual_seed(0)
    masks = masks_with([0.0] * 500, [[0.0]] * 500)
    gates, bins = masks.sample()
    # hard + (soft - soft.detach()): exactly 0 or 1 up to float rounding.
    assert set(gates.round().unique().tolist()) == {0.0, 1.0}
    torch.testing.assert_close(gates, gates.round(), atol=1e-6, rtol=0)
    assert bins.shape == (500, 1) and bins.min() >= 0 and bins.max() <= 1
    gates.sum().backward()
    # The hard 0/1 value carries the soft sample's gradient, which is positive wherever the sample is inside (0, 1).
    assert (masks.gate_log_alpha.grad > 0).any()


def test_expected_keep_ratios_formula():
    masks = masks_with([0.5, -2.0], [[1.0, -1.0, 3.0], [0.0, 0.0, -4.0]])
    for location in range(2):
        bins_kept = sum(sigmoid(v + BETA * LOG_11) for v in masks.bin_log_alpha[location].tolist()) / 3
        gate_on = sigmoid(masks.gate_log_alpha[location].item() + BETA * LOG_11)
        expected = 1 - (1 - bins_kept) * gate_on
        assert masks.expected_keep_ratios()[location].item() == pytest.approx(expected, abs=1e-6)
    masks.expected_keep_ratios().sum().backward()
    assert (masks.gate_log_alpha.grad < 0).all()  # opening a gate lowers the keep ratio
    assert (masks.bin_log_alpha.grad > 0).all()  # opening a bin raises it


def test_clamp():
    low, high = LOG_ALPHA_RANGE
    assert low == pytest.approx(math.log(0.01)) and high == pytest.approx(math.log(100.0))
    masks = masks_with([-10.0, 1.0], [[10.0, -0.5], [-7.0, 4.0]])
    masks.clamp_()
    assert masks.gate_log_alpha.tolist() == pytest.approx([low, 1.0])
    assert masks.bin_log_alpha.tolist() == [pytest.approx([high, -0.5]), pytest.approx([low, 4.0])]


def test_frozen_plan_gate_threshold():
    masks = masks_with([HALF_OPEN_LOG_ALPHA - 0.01, HALF_OPEN_LOG_ALPHA + 0.01], [[-5.0, 5.0]] * 2)
    assert masks.frozen_plan() == [None, [0, 1]]


def test_frozen_plan_drops_lowest_log_alpha_bins():
    # P(z > 0) is 0.9986 at +5 and 0.032 at -5: the sum is 3.06, so round(5 - 3.06) = 2 bins are dropped.
    masks = masks_with([3.0], [[5.0, -5.0, 5.0, -5.0, 5.0]])
    assert masks.frozen_plan() == [[1, 0, 1, 0, 1]]
    # Fewer dropped bins than low log-alphas: the lowest ones go first.
    masks = masks_with([3.0], [[5.0, 5.0, 5.0, 5.0, -1.0, -6.0]])  # sum P = 4 * 0.9986 + 0.646 + 0.012 = 4.65
    assert masks.frozen_plan() == [[1, 1, 1, 1, 1, 0]]


def test_frozen_plan_keeps_at_least_one_bin_and_breaks_ties_towards_the_best_ranks():
    low, _ = LOG_ALPHA_RANGE
    # Every bin at the lower clamp bound: sum P = 4 * 0.047, round(4 - 0.19) = 4 > 3, so exactly one bin is kept,
    # and among equal log-alphas it is the first (the most important tokens).
    masks = masks_with([3.0], [[low] * 4])
    assert masks.frozen_plan() == [[1, 0, 0, 0]]
    # P(z > 0) = 0.832 at 0: sum P = 0.9986 + 4 * 0.832 = 4.33, so one of the four equal bins goes: the last one.
    masks = masks_with([3.0], [[5.0, 0.0, 0.0, 0.0, 0.0]])
    assert masks.frozen_plan() == [[1, 1, 1, 1, 0]]


def test_frozen_plan_location_that_drops_no_bin_does_not_prune():
    masks = masks_with([3.0, -8.0], [[5.0, 5.0, 5.0]] * 2)
    assert masks.frozen_plan() == [None, None]
    assert masks.frozen_plan("expected") == [None, None]


def test_frozen_plan_expected_rule_keeps_the_expected_keep_ratio():
    # Gate P(g > 0) = 0.5 exactly at HALF_OPEN_LOG_ALPHA, bins [+5, -5, +5, -5]: sum P = 2.06, so the threshold rule
    # drops round(4 - 2.06) = 2 bins; rho = 1 - (1 - 2.06 / 4) * 0.5 = 0.758, so the expected rule drops
    # round(4 * 0.243) = 1, the lowest log-alpha bin (the later of the two at -5).
    masks = masks_with([HALF_OPEN_LOG_ALPHA], [[5.0, -5.0, 5.0, -5.0]])
    assert masks.expected_keep_ratios().tolist() == pytest.approx([0.7577], abs=1e-4)
    assert masks.frozen_plan("threshold") == [[1, 0, 1, 0]]
    assert masks.frozen_plan("expected") == [[1, 1, 1, 0]]
    # A gate below one half prunes nothing under the threshold rule, its expected share under the expected rule:
    # P(g > 0) = 0.2 with every bin closed (P = 0.047 at the lower clamp) keeps rho = 1 - 0.953 * 0.2 = 0.81 of 10.
    low, _ = LOG_ALPHA_RANGE
    masks = masks_with([HALF_OPEN_LOG_ALPHA + math.log(0.25)], [[low] * 10])
    assert masks.frozen_plan("threshold") == [None]
    assert masks.frozen_plan("expected") == [[1] * 8 + [0] * 2]


def test_frozen_plan_rejects_an_unknown_rule():
    with pytest.raises(ValueError, match="'median'"):
        masks_with([3.0], [[5.0]]).frozen_plan("median")


# ---- sorted bins ----------------------------------------------------------------------------------------------------


def test_sorted_bins_read_the_log_alphas_in_decreasing_order_along_the_ranking():
    masks = masks_with([3.0, 3.0], [[-5.0, 5.0, -1.0, 2.0], [0.0, 0.0, 1.0, 0.0]], bin_order="sorted")
    assert masks.rank_bin_log_alpha().tolist() == [[5.0, 2.0, -1.0, -5.0], [1.0, 0.0, 0.0, 0.0]]
    # The parameters themselves stay where they are; "free" reads them as they are.
    assert masks.bin_log_alpha.tolist()[0] == [-5.0, 5.0, -1.0, 2.0]
    free = masks_with([3.0], [[-5.0, 5.0, -1.0, 2.0]])
    assert free.rank_bin_log_alpha().tolist() == [[-5.0, 5.0, -1.0, 2.0]]


def test_sorted_bins_frozen_plan_is_a_prefix_of_the_ranking():
    # The same log-alphas as test_frozen_plan_drops_lowest_log_alpha_bins: two bins dropped, now the last two.
    masks = masks_with([3.0], [[5.0, -5.0, 5.0, -5.0, 5.0]], bin_order="sorted")
    assert masks.frozen_plan() == [[1, 1, 1, 0, 0]]
    masks = masks_with([HALF_OPEN_LOG_ALPHA], [[-5.0, 5.0, -5.0, 5.0]], bin_order="sorted")
    assert masks.frozen_plan("expected") == [[1, 1, 1, 0]]


def test_sorted_bins_keep_the_expected_keep_ratio_and_pass_gradients_to_the_parameter_at_each_rank():
    bins = [[-2.0, 4.0, 0.5]]
    free, ordered = masks_with([0.0], bins), masks_with([0.0], bins, bin_order="sorted")
    torch.testing.assert_close(ordered.expected_keep_ratios(), free.expected_keep_ratios())
    # A loss on bin 0 (the best ranks) reaches the largest log-alpha, which sits at index 1.
    ordered.rank_bin_log_alpha()[0, 0].backward()
    assert ordered.bin_log_alpha.grad.tolist() == [[0.0, 1.0, 0.0]]


def test_sorted_bins_sample_bin_zero_from_the_largest_log_alpha():
    torch.manual_seed(0)
    low, high = LOG_ALPHA_RANGE
    masks = masks_with([high] * 200, [[low, high]] * 200, bin_order="sorted")
    _, bins = masks.sample()
    # P(z = 1) is 0.98 at the upper bound and P(z > 0) 0.047 at the lower: bin 0 is mostly kept, bin 1 mostly not.
    assert bins[:, 0].mean() > 0.9 and bins[:, 1].mean() < 0.1


def test_unknown_bin_order_is_rejected():
    with pytest.raises(ValueError, match=r"bin_order must be one of .*'prefix'"):
        TokenPruningMasks(2, 4, "prefix")
