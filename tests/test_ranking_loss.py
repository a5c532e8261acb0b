"""Ranking distillation (spec section 3): teacher top-k, ARP-2 on a hand-computed example, NDCG variant, and the
teacher's final-layer importance against eager attention probabilities."""

from __future__ import annotations

import math

import pytest
import torch
from transformers import BertForSequenceClassification

from transformers_top.training.losses import (
    rank_distillation_loss,
    teacher_final_importance,
    teacher_ranking,
    teacher_top_k,
)

#: Two samples of 6 positions: the first has 6 real tokens, the second 3 ([CLS] + 2, fewer than k = 3).
ALIVE = torch.tensor([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0]], dtype=torch.bool)
#: [CLS] (position 0) and the padding get the highest teacher scores: both must be ignored.
TEACHER = torch.tensor([[0.9, 0.1, 0.5, 0.3, 0.05, 0.2], [0.9, 0.2, 0.7, 5.0, 5.0, 5.0]])


def student_scores() -> torch.Tensor:
    """Scores at the teacher's top positions give simple logarithms; the others are decoys that must not count."""
    return torch.tensor(
        [
            [100.0, -50.0, 0.0, 0.0, 7.0, math.log(3.0)],
            [100.0, math.log(7.0), 0.0, 9.0, 9.0, 9.0],
        ],
        requires_grad=True,
    )


def test_teacher_top_k_excludes_cls_and_padding():
    positions, relevance, valid = teacher_top_k(TEACHER, ALIVE, k=3)
    assert positions[0].tolist() == [2, 3, 5]
    assert positions[1, :2].tolist() == [2, 1]
    assert relevance.tolist() == [[3.0, 2.0, 1.0], [3.0, 2.0, 1.0]]
    assert valid.tolist() == [[True, True, True], [True, True, False]]


def test_arp2_hand_computed():
    # loss = sum_{y_i > y_j} (y_i - y_j) * log2(1 + exp(-(s_i - s_j))) / k^2, batch mean, k = 3.
    # Sample 0: teacher top-3 = positions 2, 3, 5 with y = 3, 2, 1; student s = 0, 0, ln 3.
    #   (2, 3): (3 - 2) * log2(1 + e^0)     = 1 * 1 = 1
    #   (2, 5): (3 - 1) * log2(1 + e^ln3)   = 2 * 2 = 4
    #   (3, 5): (2 - 1) * log2(1 + e^ln3)   = 1 * 2 = 2      -> 7 / 9
    # Sample 1: only 2 real non-[CLS] tokens: positions 2, 1 with y = 3, 2; student s = 0, ln 7.
    #   (2, 1): (3 - 2) * log2(1 + e^ln7)   = 1 * 3 = 3      -> 3 / 9 (still divided by k^2)
    # Batch mean: (7/9 + 3/9) / 2 = 5/9.
    student = student_scores()
    loss = rank_distillation_loss(student, TEACHER, ALIVE, k=3, loss="arp2")
    assert loss.item() == pytest.approx(5.0 / 9.0, rel=1e-6)
    loss.backward()
    # Only the teacher's top-k real tokens receive a gradient: not [CLS], not padding, not the rest.
    receives_gradient = student.grad != 0
    assert receives_gradient.tolist() == [
        [False, False, True, True, False, True],
        [False, True, True, False, False, False],
    ]


@pytest.mark.parametrize("loss", ["arp2", "ndcg"])
def test_agreeing_order_costs_almost_nothing_and_reversed_order_costs_much(loss):
    alive = torch.ones(1, 6, dtype=torch.bool)
    teacher = torch.tensor([[0.0, 0.5, 0.4, 0.3, 0.2, 0.1]])  # top-3: positions 1, 2, 3 in this order
    agreeing = torch.tensor([[0.0, 30.0, 20.0, 10.0, 0.0, 0.0]])
    reversed_order = torch.tensor([[0.0, 10.0, 20.0, 30.0, 0.0, 0.0]])
    low = rank_distillation_loss(agreeing, teacher, alive, k=3, loss=loss).item()
    high = rank_distillation_loss(reversed_order, teacher, alive, k=3, loss=loss).item()
    # A margin of 10 leaves log2(1 + e^-10) = 6.5e-5 per pair; reversed, each pair costs log2(1 + e^10) = 14.4.
    assert 0.0 <= low < 1e-3
    assert high > 1.0


def test_log_scores_compare_ratios_where_importances_compare_differences():
    # One sample, teacher top-3 = positions 1, 2, 3 (y = 3, 2, 1); the student agrees, with importances 0.4, 0.2, 0.1.
    alive = torch.ones(1, 5, dtype=torch.bool)
    teacher = torch.tensor([[0.0, 0.5, 0.3, 0.15, 0.05]])
    student = torch.tensor([[0.2, 0.4, 0.2, 0.1, 0.1]])
    # Importance: differences 0.2, 0.3, 0.1: (log2(1 + e^-0.2) + 2 log2(1 + e^-0.3) + log2(1 + e^-0.1)) / 9.
    on_importance = sum(
        gap * math.log2(1 + math.exp(-difference)) for gap, difference in ((1, 0.2), (2, 0.3), (1, 0.1))
    )
    assert rank_distillation_loss(student, teacher, alive, k=3).item() == pytest.approx(on_importance / 9, rel=1e-6)
    # Log: differences ln 2, ln 4, ln 2: (log2(1.5) + 2 log2(1.25) + log2(1.5)) / 9, about a third lower.
    on_log = 2 * math.log2(1.5) + 2 * math.log2(1.25)
    loss = rank_distillation_loss(student, teacher, alive, k=3, score="log")
    assert loss.item() == pytest.approx(on_log / 9, rel=1e-6)
    # Importances summing to 1 over 200 tokens, in the teacher's order, 1% apart: nothing to learn from the
    # importance, a clear signal from the log.
    alive = torch.ones(1, 200, dtype=torch.bool)
    teacher = torch.linspace(1.0, 0.0, 200)[None]
    student = (1.01 ** -torch.arange(200.0))[None]
    student = student / student.sum()
    equal_scores = sum((20 - rank) * rank for rank in range(1, 20)) / 400  # every pair at log2(1 + e^0) = 1
    assert rank_distillation_loss(student, teacher, alive, k=20).item() == pytest.approx(equal_scores, rel=1e-3)
    assert rank_distillation_loss(student, teacher, alive, k=20, score="log").item() < 0.95 * equal_scores


def test_all_pairs_list_every_real_token_with_the_top_k_first_and_the_rest_at_relevance_zero():
    positions, relevance, valid = teacher_ranking(TEACHER, ALIVE, k=3, pairs="all")
    assert positions[0].tolist() == [2, 3, 5, 1, 4]  # teacher order, [CLS] left out
    assert positions[1, :2].tolist() == [2, 1]
    assert relevance.tolist() == [[3.0, 2.0, 1.0, 0.0, 0.0], [3.0, 2.0, 1.0, 0.0, 0.0]]
    assert valid.tolist() == [[True] * 5, [True, True, False, False, False]]


def test_arp2_on_all_pairs_hand_computed():
    # k = 2; teacher ranks positions 1, 2, 3, 4 (y = 2, 1, 0, 0); student s = 0, 0, ln 3, 0 there.
    #   (1, 2): 1 * log2(1 + e^0) = 1       (1, 3): 2 * log2(1 + e^ln3) = 4       (1, 4): 2 * log2(1 + e^0) = 2
    #   (2, 3): 1 * log2(1 + e^ln3) = 2     (2, 4): 1 * log2(1 + e^0) = 1         (3, 4): same relevance, no pair
    # Sum 10, divided by k * max(n, k) = 2 * 4: 1.25. The method's pairs hold (1, 2) only: 1 / k^2 = 0.25.
    alive = torch.ones(1, 5, dtype=torch.bool)
    teacher = torch.tensor([[0.9, 0.5, 0.4, 0.3, 0.2]])
    student = torch.tensor([[100.0, 0.0, 0.0, math.log(3.0), 0.0]], requires_grad=True)
    loss = rank_distillation_loss(student, teacher, alive, k=2, pairs="all")
    assert loss.item() == pytest.approx(1.25, rel=1e-6)
    assert rank_distillation_loss(student, teacher, alive, k=2).item() == pytest.approx(0.25, rel=1e-6)
    loss.backward()
    # Every real token but [CLS] takes part: the rest is pushed below the top-k.
    assert (student.grad != 0).tolist() == [[False, True, True, True, True]]


@pytest.mark.parametrize("loss", ["arp2", "ndcg"])
def test_all_pairs_see_a_top_k_ranked_below_the_rest_where_the_top_k_pairs_cannot(loss):
    alive = torch.ones(1, 8, dtype=torch.bool)
    teacher = torch.tensor([[0.0, 0.5, 0.4, 0.3, 0.1, 0.1, 0.1, 0.1]])  # top-3: positions 1, 2, 3
    above = torch.tensor([[0.0, 30.0, 20.0, 10.0, 0.0, 0.0, 0.0, 0.0]])  # the top-3 in order, above the rest
    below = above - 40.0 * (above > 0)  # the same order among them, all below the rest
    top_k = [rank_distillation_loss(s, teacher, alive, k=3, loss=loss).item() for s in (above, below)]
    every = [rank_distillation_loss(s, teacher, alive, k=3, loss=loss, pairs="all").item() for s in (above, below)]
    assert top_k[0] == pytest.approx(top_k[1], abs=1e-6)  # the method's pairs cannot tell the two apart
    assert every[0] < 1e-3 and every[1] > 1.0


@pytest.mark.parametrize("loss", ["arp2", "ndcg"])
def test_all_pairs_equal_the_method_on_inputs_no_longer_than_the_top_k(loss):
    student = student_scores()
    # Sample 0 has 5 candidates, more than k = 3: on k = 5 and on the short sample 1, both lists are the same tokens.
    for k, alive in ((5, ALIVE), (3, torch.tensor([[1, 1, 1, 1, 0, 0], [1, 1, 1, 0, 0, 0]], dtype=torch.bool))):
        method = rank_distillation_loss(student, TEACHER, alive, k=k, loss=loss)
        every = rank_distillation_loss(student, TEACHER, alive, k=k, loss=loss, pairs="all")
        assert every.item() == pytest.approx(method.item(), rel=1e-6)


def test_unknown_pairs_raise():
    with pytest.raises(ValueError, match=r"pairs must be one of .*'rest'"):
        rank_distillation_loss(student_scores(), TEACHER, ALIVE, k=3, pairs="rest")


def test_unknown_score_raises():
    with pytest.raises(ValueError, match=r"score must be one of .*'sqrt'"):
        rank_distillation_loss(student_scores(), TEACHER, ALIVE, k=3, score="sqrt")


def test_unknown_loss_raises():
    with pytest.raises(ValueError, match="listnet"):
        rank_distillation_loss(student_scores(), TEACHER, ALIVE, k=3, loss="listnet")


def test_teacher_final_importance_matches_eager_attention(tiny_bert_dir, tiny_batch):
    teacher = BertForSequenceClassification.from_pretrained(tiny_bert_dir, attn_implementation="eager").eval()
    alive = tiny_batch["attention_mask"].bool()
    with torch.no_grad():
        outputs = teacher(**tiny_batch, output_attentions=True, output_hidden_states=True)
        probs = outputs.attentions[-1]  # (batch, heads, query, key) of the last layer
        # Mean over heads and over the real query rows: sum over both, divided by heads * real tokens.
        received = (probs * alive[:, None, :, None]).sum(dim=(1, 2))
        expected = received / (probs.shape[1] * alive.sum(dim=1, keepdim=True))
        importance = teacher_final_importance(teacher, outputs.hidden_states[-2], alive)
    torch.testing.assert_close(importance, expected, atol=1e-6, rtol=1e-5)
    assert (importance[~alive] < 1e-6).all()
    # Each real row of attention sums to one, so a sample's importances sum to one.
    torch.testing.assert_close(importance.sum(dim=1), torch.ones(3), atol=1e-5, rtol=0)


def test_teacher_final_importance_does_not_depend_on_the_attention_kernel(tiny_bert_dir, tiny_batch):
    alive = tiny_batch["attention_mask"].bool()
    importances = []
    for implementation in ("eager", "sdpa"):
        teacher = BertForSequenceClassification.from_pretrained(tiny_bert_dir, attn_implementation=implementation)
        with torch.no_grad():
            hidden_states = teacher.eval()(**tiny_batch, output_hidden_states=True).hidden_states
            importances.append(teacher_final_importance(teacher, hidden_states[-2], alive))
    torch.testing.assert_close(importances[0], importances[1], atol=1e-6, rtol=1e-5)


def test_answer_span_scores_are_the_chance_of_lying_between_start_and_end():
    from transformers_top.training.losses import teacher_answer_span_scores

    alive = torch.tensor([[1, 1, 1, 1, 0]], dtype=torch.bool)
    # Start at position 1 or 2 with 1/2 each, end at 2 or 3 with 1/2 each; padding holds the largest logits.
    start = torch.tensor([[-30.0, 0.0, 0.0, -30.0, 9.0]])
    end = torch.tensor([[-30.0, -30.0, 0.0, 0.0, 9.0]])
    scores = teacher_answer_span_scores(start, end, alive)
    # P(start <= i) = 0, .5, 1, 1 and P(end >= i) = 1, 1, 1, .5 at the real positions.
    torch.testing.assert_close(scores, torch.tensor([[0.0, 0.5, 1.0, 0.5, 0.0]]), atol=1e-6, rtol=0)


def test_answer_span_scores_put_the_answer_in_the_ranking_losses_top_k():
    from transformers_top.training.losses import teacher_answer_span_scores

    alive = torch.ones(1, 8, dtype=torch.bool)
    start = torch.full((1, 8), -20.0).index_fill(1, torch.tensor([5]), 5.0)
    end = torch.full((1, 8), -20.0).index_fill(1, torch.tensor([6]), 5.0)
    positions, _, valid = teacher_top_k(teacher_answer_span_scores(start, end, alive), alive, k=2)
    assert sorted(positions[0].tolist()) == [5, 6] and valid.all()
