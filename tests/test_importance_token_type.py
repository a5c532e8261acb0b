"""`importance_token_type`: tokens ranked by the attention they receive from one segment only (the question of a
question-answering input), and `ranking_pool_width`, on tiny random models: the importance, the kept tokens, training
and its ranking target (the exported graph: `test_onnx_question_answering.py`)."""

from __future__ import annotations

import pytest
import torch
from conftest import TINY_BERT
from test_question_answering import (  # noqa: F401 (bert_qa_dir is a fixture)
    PLAN,
    bert_qa_dir,
    kept_at_first_prune_layer,
    ragged_batch,
)
from transformers import BertForQuestionAnswering

from transformers_top import TopBertConfig, TopBertForQuestionAnswering
from transformers_top.training import losses


def received_from(probs: torch.Tensor, queries: torch.Tensor) -> torch.Tensor:
    """Attention each key receives, averaged over heads and over the `queries` rows: `(batch, heads, q, k)` -> `(batch,
    k)`."""
    received = (probs * queries[:, None, :, None]).sum(dim=(1, 2))
    return received / (probs.shape[1] * queries.sum(dim=1, keepdim=True))


def eager_attentions(bert_qa_dir, batch) -> tuple[torch.Tensor, ...]:  # noqa: F811
    reference = BertForQuestionAnswering.from_pretrained(bert_qa_dir, attn_implementation="eager").eval()
    with torch.no_grad():
        return reference(**batch, output_attentions=True).attentions


def test_the_importance_is_the_attention_received_from_the_segments_tokens(bert_qa_dir):  # noqa: F811
    batch = ragged_batch()  # question (type 0) at positions 0..5 with [CLS], context (type 1) after
    question = batch["attention_mask"].bool() & (batch["token_type_ids"] == 0)
    real = batch["attention_mask"].bool()
    attentions = eager_attentions(bert_qa_dir, batch)
    model = TopBertForQuestionAnswering.from_pretrained(bert_qa_dir, importance_token_type=0).eval()
    every_token = TopBertForQuestionAnswering.from_pretrained(bert_qa_dir).eval()
    with torch.no_grad():
        importance = model.bert(**batch, importance_layers=[1, 3]).token_importance
        default = every_token.bert(**batch, importance_layers=[1]).token_importance
    for layer in (1, 3):
        torch.testing.assert_close(importance[layer], received_from(attentions[layer], question), atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(default[1], received_from(attentions[1], real), atol=1e-6, rtol=1e-5)
    assert (importance[1][:3] - default[1][:3]).abs().max() > 1e-3  # the rows with a context rank differently


def test_a_pruned_model_keeps_the_tokens_the_question_attends_to_most(bert_qa_dir):  # noqa: F811
    """At the first decision the kept tokens are the top of the question's attention at layer 1, in the plan's
    counts."""
    batch = ragged_batch()
    real = batch["attention_mask"].bool()
    question = real & (batch["token_type_ids"] == 0)
    scores = received_from(eager_attentions(bert_qa_dir, batch)[1], question).masked_fill(~real, -1.0)
    scores[:, 0] = 2.0  # [CLS] always stays
    model = TopBertForQuestionAnswering.from_pretrained(
        bert_qa_dir, token_keep_ratios=PLAN, importance_token_type=0
    ).eval()
    kept = kept_at_first_prune_layer(model, batch) & real
    every_token = TopBertForQuestionAnswering.from_pretrained(bert_qa_dir, token_keep_ratios=PLAN).eval()
    # Layer 2 keeps [CLS] and ceil(0.5 * (length - 1)) more tokens: 12, 8, 4 and 1 of real lengths 24, 17, 9, 3.
    for row, count in enumerate([13, 9, 5, 2]):
        expected = torch.zeros_like(real[row])
        expected[scores[row].topk(count).indices] = True
        assert torch.equal(kept[row], expected), row
    assert not torch.equal(kept, kept_at_first_prune_layer(every_token, batch) & real)


def test_training_masks_rank_by_the_question_and_the_ranking_target_is_the_teachers_question_attention(
    bert_qa_dir,  # noqa: F811
    tmp_path,
    monkeypatch,
):
    from transformers_top import TopTrainer, TopTrainingArguments

    batch = ragged_batch()
    real = batch["attention_mask"].bool()
    question = real & (batch["token_type_ids"] == 0)
    student = TopBertForQuestionAnswering.from_pretrained(bert_qa_dir, importance_token_type=0)
    trainer = TopTrainer(
        model=student,
        teacher_model=BertForQuestionAnswering.from_pretrained(bert_qa_dir),
        args=TopTrainingArguments(output_dir=str(tmp_path), use_cpu=True, report_to=[], num_bins=10),
        train_dataset=[],
    )
    seen = {}
    teacher_importance = losses.teacher_final_importance

    def recording(teacher, last_layer_input, alive, queries=None):
        seen["queries"] = queries
        seen["importance"] = teacher_importance(teacher, last_layer_input, alive, queries)
        return seen["importance"]

    monkeypatch.setattr("transformers_top.training.trainer.teacher_final_importance", recording)
    trainer.model.train()
    trainer.compute_loss(trainer.model, batch)
    assert torch.equal(seen["queries"], question)
    attentions = eager_attentions(bert_qa_dir, batch)
    torch.testing.assert_close(seen["importance"], received_from(attentions[-1], question), atol=1e-6, rtol=1e-5)
    # Under masks (training), the student's importance at a ranking layer is its question's attention too.
    with torch.no_grad():
        importance = student.bert(**batch, importance_layers=[1]).token_importance[1]
    torch.testing.assert_close(importance, received_from(attentions[1], question), atol=1e-6, rtol=1e-5)
    assert trainer._metrics["rank_loss"][-1] > 0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (dict(importance_token_type=2), "importance_token_type must be None or a token type id in 0..1"),
        (dict(importance_token_type="0"), "importance_token_type must be None or a token type id in 0..1"),
        (
            dict(importance_token_type=0, type_vocab_size=1),
            "importance_token_type=0 needs a model with several token types, but type_vocab_size=1",
        ),
    ],
)
def test_bad_importance_token_types_are_refused(fields, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        TopBertConfig(**{**TINY_BERT, **fields})


def test_the_importance_token_type_survives_a_json_round_trip(tmp_path):
    TopBertConfig(**TINY_BERT, importance_token_type=0).save_pretrained(tmp_path)
    loaded = TopBertConfig.from_pretrained(tmp_path)
    assert loaded.importance_token_type == 0 and loaded.plan_dict()["importance_token_type"] == 0


def test_a_pooled_ranking_scores_each_token_by_the_best_score_of_its_neighbourhood():
    model = TopBertForQuestionAnswering(TopBertConfig(**TINY_BERT, ranking_pool_width=1)).eval()
    importance = torch.tensor([[0.1, 0.5, 0.2, 0.0, 0.3, 0.05]])
    expected = torch.tensor([[0.5, 0.5, 0.5, 0.3, 0.3, 0.3]])
    torch.testing.assert_close(model.bert.ranking_scores(importance, None), expected)
    protected = torch.tensor([[True, False, False, False, False, False]])
    # The protection offset comes after the pool: it does not spread to the protected token's neighbours.
    torch.testing.assert_close(model.bert.ranking_scores(importance, protected), expected + 2.0 * protected)
    with pytest.raises(ValueError, match="ranking_pool_width must be an integer >= 0, got -1"):
        TopBertConfig(**TINY_BERT, ranking_pool_width=-1)
