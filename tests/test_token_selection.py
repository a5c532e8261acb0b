"""Ranking tokens by importance and choosing which to keep (spec sections 1, 2 and 6)."""

from __future__ import annotations

import itertools
import math

import torch

from transformers_top.models.token_selection import (
    count_kept,
    gather_kept_tokens,
    gather_tokens,
    kept_by_plan,
    rank_alive_tokens,
    rank_bins,
    select_tokens_in_graph,
)


def test_ranks_by_decreasing_importance_with_cls_and_dead_tokens_last():
    importance = torch.tensor([[0.9, 0.1, 0.4, 0.3, 0.2], [0.5, 0.05, 0.3, 0.6, 0.0]])
    alive = torch.tensor([[True, True, True, True, True], [True, True, False, True, False]])
    ranks, num_alive = rank_alive_tokens(importance, alive)
    assert num_alive.tolist() == [4, 2]
    # Row 0: 0.4 > 0.3 > 0.2 > 0.1; [CLS] is never ranked although it has the highest score.
    assert ranks[0, 1:].tolist() == [3, 0, 1, 2]
    assert ranks[0, 0] >= 4
    # Row 1: token 2 is dead (pruned earlier) although it has a higher score than token 1: it ranks after the alive.
    assert ranks[1, 3].item() == 0 and ranks[1, 1].item() == 1
    assert ranks[1, 0] >= 2 and ranks[1, 2] >= 2 and ranks[1, 4] >= 2
    assert sorted(ranks[1].tolist()) == [0, 1, 2, 3, 4]


def test_ties_rank_by_position():
    importance = torch.tensor([[0.5, 0.2, 0.2, 0.2, 0.4]])
    ranks, _ = rank_alive_tokens(importance, torch.ones(1, 5, dtype=torch.bool))
    assert ranks[0, 1:].tolist() == [1, 2, 3, 0]


def test_ranking_does_not_depend_on_right_padding():
    importance = torch.tensor([[0.2, 0.1, 0.3, 0.3, 0.0, 0.0]])
    short, _ = rank_alive_tokens(importance[:, :4], torch.ones(1, 4, dtype=torch.bool))
    padded, _ = rank_alive_tokens(importance, torch.tensor([[True] * 4 + [False] * 2]))
    assert padded[0, 1:4].tolist() == short[0, 1:4].tolist() == [2, 0, 1]


def test_rank_bins():
    ranks = torch.arange(9)[None, :]
    assert rank_bins(ranks, torch.tensor([9]), 4).tolist() == [[0, 0, 0, 1, 1, 2, 2, 3, 3]]  # floor(4 r / 9)
    # Ranks beyond the alive count ([CLS], dead tokens) are clamped into the last bin; no division by zero.
    assert rank_bins(torch.tensor([[0, 5]]), torch.tensor([2]), 4).tolist() == [[0, 3]]
    assert rank_bins(torch.tensor([[0]]), torch.tensor([0]), 4).tolist() == [[0]]


def test_kept_by_ratio_is_a_ceil_prefix():
    ranks = torch.arange(10)[None, :].expand(3, -1)
    num_alive = torch.tensor([10, 9, 0])
    keep = kept_by_plan(ranks, num_alive, 0.7, None)
    # 0.7 * 10 = 7.000000000000001 in floating point: exactly 7 are kept, not 8. ceil(0.7 * 9) = ceil(6.3) = 7.
    assert keep.sum(dim=1).tolist() == [7, 7, 0]
    assert keep[0].tolist() == [True] * 7 + [False] * 3


def test_kept_by_bin_pattern():
    ranks = torch.arange(9)[None, :]
    keep = kept_by_plan(ranks, torch.tensor([9]), 0.5, [0, 1, 1, 0])
    # Bins of ranks 0..8 with 4 bins: 0 0 0 1 1 2 2 3 3; bins 1 and 2 are kept.
    assert keep[0].tolist() == [False, False, False, True, True, True, True, False, False]
    # Ranks at or beyond num_alive are never kept, whatever their (clamped) bin.
    keep = kept_by_plan(torch.tensor([[0, 1, 2]]), torch.tensor([2]), 0.5, [0, 1])
    assert keep[0].tolist() == [False, True, False]


def test_count_kept_matches_kept_by_plan():
    patterns = [None, [1, 0, 0], [0, 1, 1], [1, 0, 1], [0, 0, 1]]
    for num_alive, pattern in itertools.product(range(13), patterns):
        ratio = 0.45 if pattern is None else sum(pattern) / len(pattern)
        ranks = torch.arange(max(num_alive, 1))[None, :]
        expected = int(kept_by_plan(ranks, torch.tensor([num_alive]), ratio, pattern).sum())
        assert count_kept(num_alive, ratio, pattern) == expected, (num_alive, pattern)
    assert count_kept(20, 0.45, None) == math.ceil(0.45 * 20) == 9


def test_prefix_pattern_equals_ratio():
    # A prefix of k of K bins keeps rank r iff floor(r K / A) < k iff r < k A / K: the same ceil(k / K * A) tokens.
    for num_alive, num_kept_bins in itertools.product(range(1, 30), range(1, 6)):
        pattern = [1] * num_kept_bins + [0] * (5 - num_kept_bins)
        assert count_kept(num_alive, num_kept_bins / 5, pattern) == count_kept(num_alive, num_kept_bins / 5, None)


def test_gather_kept_tokens_keeps_original_order_and_pads():
    keep = torch.tensor([[True, False, True, True, False], [True, False, False, False, True], [True] + [False] * 4])
    index, valid = gather_kept_tokens(keep)
    assert index.tolist() == [[0, 2, 3], [0, 4, 0], [0, 0, 0]]
    assert valid.tolist() == [[True, True, True], [True, True, False], [True, False, False]]


def test_gather_tokens():
    states = torch.arange(2 * 4 * 3).view(2, 4, 3)
    index = torch.tensor([[0, 3], [2, 1]])
    gathered = gather_tokens(states, index)
    assert gathered.shape == (2, 2, 3)
    assert torch.equal(gathered[0], states[0, [0, 3]]) and torch.equal(gathered[1], states[1, [2, 1]])
    assert gather_tokens(torch.arange(8).view(2, 4), index).tolist() == [[0, 3], [6, 5]]


def test_the_graph_selection_keeps_the_same_tokens_in_the_same_order_as_the_eager_one():
    """`select_tokens_in_graph` (run eagerly here) against the eager ranking, plan and gather, on ragged rows, for
    ratios and bin patterns; its width is at least 2. The scores are distinct: eagerly `torch.topk` may break ties
    either way (ONNX's `TopK` breaks them by position, as the eager ranking does; `tests/test_onnx.py` compares the
    exported graph's kept tokens with PyTorch's)."""
    generator = torch.Generator().manual_seed(0)
    plans = [(0.5, None), (0.34, None), (1.0, None), (0.4, [1, 0, 1, 1, 0]), (0.2, [0, 0, 0, 0, 1])]
    for length, (keep_ratio, keep_bins) in itertools.product([1, 2, 3, 7, 16], plans):
        # Rows of every alive count from 1 to `length`.
        scores = torch.stack([torch.randperm(length, generator=generator) for _ in range(length)]).float() / length
        alive = torch.arange(length)[None, :] <= torch.arange(length)[:, None]
        ranks, num_alive = rank_alive_tokens(scores, alive)
        keep = kept_by_plan(ranks, num_alive, keep_ratio, keep_bins)
        keep[:, 0] = True
        expected_index, expected_valid = gather_kept_tokens(keep)
        index, valid = select_tokens_in_graph(scores, alive, keep_ratio, keep_bins)
        width = max(2, expected_index.shape[1])  # one padding column where every row keeps only [CLS]
        assert index.tolist() == torch.nn.functional.pad(expected_index, (0, width - expected_index.shape[1])).tolist()
        assert valid.tolist() == torch.nn.functional.pad(expected_valid, (0, width - expected_valid.shape[1])).tolist()
