"""ONNX export and ONNX Runtime of the question-answering heads, on tiny random models: span logits and kept tokens as
in PyTorch at every length, int8, the runtime class in the question-answering pipeline, and heads that do not match."""

from __future__ import annotations

import copy

import pytest
import torch
from conftest import TINY_BERT, TINY_VOCAB
from test_onnx import PLAN, ragged_batches
from transformers import BertTokenizerFast

from transformers_top import (
    TopBertConfig,
    TopBertForQuestionAnswering,
    TopRobertaConfig,
    TopRobertaForQuestionAnswering,
)
from transformers_top.models.pipeline_question_answering import TopQuestionAnsweringPipeline
from transformers_top.onnx import (
    TopOnnxModelForQuestionAnswering,
    TopOnnxModelForSequenceClassification,
    export_onnx,
)

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def pruned_qa() -> TopBertForQuestionAnswering:
    torch.manual_seed(0)
    return TopBertForQuestionAnswering(TopBertConfig(**TINY_BERT, initializer_range=0.2, **PLAN)).eval()


@pytest.fixture(scope="module")
def exported_qa(pruned_qa, tmp_path_factory):
    return export_onnx(pruned_qa, tmp_path_factory.mktemp("onnx-qa") / "fp32", output_kept_tokens=True)


def test_onnx_runtime_answers_and_prunes_exactly_as_pytorch(pruned_qa, exported_qa):
    runtime = TopOnnxModelForQuestionAnswering.from_pretrained(exported_qa, num_threads=1)
    assert runtime.output_names == ["start_logits", "end_logits", "kept_tokens"]
    for batch in ragged_batches(TINY_BERT["vocab_size"], cls=2, pad=0):
        with torch.no_grad():
            expected = pruned_qa(**batch, output_kept_tokens=True)
        result = runtime(**batch)
        real = batch["attention_mask"].bool()
        torch.testing.assert_close(result.start_logits[real], expected.start_logits[real], atol=1e-4, rtol=0)
        torch.testing.assert_close(result.end_logits[real], expected.end_logits[real], atol=1e-4, rtol=0)
        assert torch.equal(result.kept_tokens, expected.kept_tokens)


def graph_answers_as_pytorch(model, reference, directory) -> bool:
    """
    Export `model` to `directory` and check that over ragged batches whose rows' questions (token type 0) end at
    random positions, ONNX Runtime gives its span logits (within 1e-4) and kept-token counts. Returns whether
    `reference` (the same weights, ranking otherwise) answered differently somewhere, so the check was not vacuous.
    """
    runtime = TopOnnxModelForQuestionAnswering.from_pretrained(export_onnx(model, directory, output_kept_tokens=True))
    generator = torch.Generator().manual_seed(5)
    differed = False
    for batch in ragged_batches(TINY_BERT["vocab_size"], cls=2, pad=0, seed=3):
        rows, length = batch["input_ids"].shape
        question_ends = torch.randint(1, length + 1, (rows, 1), generator=generator)
        batch["token_type_ids"] = (
            (torch.arange(length)[None] >= question_ends) & (batch["attention_mask"] == 1)
        ).long()
        with torch.no_grad():
            expected = model(**batch, output_kept_tokens=True)
            otherwise = reference(**batch)
        result = runtime(**batch)
        real = batch["attention_mask"].bool()
        torch.testing.assert_close(result.start_logits[real], expected.start_logits[real], atol=1e-4, rtol=0)
        torch.testing.assert_close(result.end_logits[real], expected.end_logits[real], atol=1e-4, rtol=0)
        assert torch.equal(result.kept_tokens, expected.kept_tokens)
        differed |= bool((otherwise.start_logits[real] - expected.start_logits[real]).abs().max() > 1e-3)
    return differed


def test_a_protected_question_is_pruned_last_in_the_graph_too(pruned_qa, tmp_path):
    """With `protected_token_type=0` the graph ranks each row's question (token type 0) first, as PyTorch does."""
    protected = copy.deepcopy(pruned_qa)
    protected.config.protected_token_type = 0
    assert graph_answers_as_pytorch(protected, pruned_qa, tmp_path / "protected")


@pytest.mark.parametrize("pool_width", [0, 2])
def test_the_graph_ranks_by_the_questions_attention_as_pytorch_does(pruned_qa, tmp_path, pool_width):
    """With `importance_token_type=0` (and a pooled ranking) the graph keeps the tokens PyTorch keeps."""
    by_question = copy.deepcopy(pruned_qa)
    by_question.config.importance_token_type = 0
    by_question.config.ranking_pool_width = pool_width
    assert graph_answers_as_pytorch(by_question, pruned_qa, tmp_path / "by-question")


def test_int8_question_answering_stays_close(pruned_qa, tmp_path):
    """
    Without a plan the int8 graph's span logits stay close to float32 ones. With one, int8 noise may also swap two
    tokens of near-equal importance at a decision, which changes the logits of the tokens concerned: most positions
    stay close, a few may not (how much it costs on real data is measured in docs/benchmarks.md).
    """
    dense = copy.deepcopy(pruned_qa)
    dense.config.token_keep_ratios, dense.config.token_keep_bins = None, None
    for model, name in ((dense, "dense"), (pruned_qa, "pruned")):
        runtime = TopOnnxModelForQuestionAnswering.from_pretrained(
            export_onnx(model, tmp_path / name, quantize="int8")
        )
        gaps = []
        for batch in ragged_batches(TINY_BERT["vocab_size"], cls=2, pad=0, seed=4):
            with torch.no_grad():
                expected = model(**batch)
            real = batch["attention_mask"].bool()
            gaps.append((runtime(**batch).start_logits[real] - expected.start_logits[real]).abs())
        gaps = torch.cat(gaps)
        if name == "dense":
            assert gaps.max() < 0.2, name
        else:
            assert gaps.median() < 0.1 and (gaps > 0.2).float().mean() < 0.1, name


def test_the_pipeline_runs_the_onnx_model_as_the_pytorch_one(pruned_qa, exported_qa, tmp_path):
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(TINY_VOCAB) + "\n")
    tokenizer = BertTokenizerFast(vocab_file=str(vocab))
    question, context = "what was the movie ?", "the movie was really good , not boring and not slow !"
    runtime = TopOnnxModelForQuestionAnswering.from_pretrained(exported_qa)
    in_onnx = TopQuestionAnsweringPipeline(model=runtime, tokenizer=tokenizer)(question=question, context=context)
    in_torch = TopQuestionAnsweringPipeline(model=pruned_qa, tokenizer=tokenizer)(question=question, context=context)
    assert (in_onnx["start"], in_onnx["end"], in_onnx["answer"]) == (
        in_torch["start"],
        in_torch["end"],
        in_torch["answer"],
    )
    assert in_onnx["score"] == pytest.approx(in_torch["score"], abs=1e-4)


def test_a_roberta_question_answering_model_exports(tmp_path):
    torch.manual_seed(0)
    config = TopRobertaConfig(
        **dict(TINY_BERT, max_position_embeddings=66), pad_token_id=1, initializer_range=0.2, **PLAN
    )
    model = TopRobertaForQuestionAnswering(config).eval()
    runtime = TopOnnxModelForQuestionAnswering.from_pretrained(export_onnx(model, tmp_path / "roberta"))
    batch = next(ragged_batches(TINY_BERT["vocab_size"], cls=0, pad=1, seed=2))
    batch.pop("token_type_ids", None)
    with torch.no_grad():
        expected = model(**batch)
    real = batch["attention_mask"].bool()
    torch.testing.assert_close(runtime(**batch).end_logits[real], expected.end_logits[real], atol=1e-4, rtol=0)


def test_a_runtime_class_of_another_head_is_refused(exported_qa):
    message = "holds a TopBertForQuestionAnswering export; TopOnnxModelForSequenceClassification runs Sequence"
    with pytest.raises(ValueError, match=message):
        TopOnnxModelForSequenceClassification.from_pretrained(exported_qa)


def test_a_base_model_is_not_exported(tmp_path):
    from transformers_top import TopBertModel

    model = TopBertModel(TopBertConfig(**TINY_BERT)).eval()
    with pytest.raises(ValueError, match="export_onnx exports sequence classifiers and question-answering models, "
                                         "got TopBertModel"):  # fmt: skip
        export_onnx(model, tmp_path / "base")
    assert not (tmp_path / "base").exists()
