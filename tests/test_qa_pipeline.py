"""`pipeline("question-answering")` on a pruned question-answering model. transformers 5 has no such pipeline of its
own: the model's `config.json` lists the one the repository ships (`TopQuestionAnsweringPipeline`). From a local
folder, from the (loopback) Hub, and with transformers alone (`trust_remote_code=True`); it really prunes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import torch
from conftest import TINY_BERT, TINY_VOCAB
from huggingface_hub import ModelCard
from transformers import AutoModelForQuestionAnswering, BertTokenizerFast, pipeline

from transformers_top import TopBertConfig, TopBertForQuestionAnswering, push_pruned_model
from transformers_top.models.flops import plan_lengths
from transformers_top.models.pipeline_question_answering import TopQuestionAnsweringPipeline

QUESTION = "what was the movie ?"
CONTEXT = "the movie was really good , not boring and not slow ! the acting was great and the music was fun ."
PLAN = [1.0, 1.0, 0.5, 0.5]


@pytest.fixture(scope="module")
def fast_tokenizer(tmp_path_factory) -> BertTokenizerFast:
    """A fast word-piece tokenizer over the tiny vocabulary (the question-answering pipeline needs offsets)."""
    vocab = tmp_path_factory.mktemp("vocab") / "vocab.txt"
    vocab.write_text("\n".join(TINY_VOCAB) + "\n")
    return BertTokenizerFast(vocab_file=str(vocab))


@pytest.fixture(scope="module")
def pruned_qa_model() -> TopBertForQuestionAnswering:
    torch.manual_seed(0)
    return TopBertForQuestionAnswering(
        TopBertConfig(**TINY_BERT, initializer_range=0.2, token_keep_ratios=PLAN)
    ).eval()


def expected_answer(model, tokenizer) -> tuple[int, int]:
    """The best span of the context (start <= end, at most 15 tokens), by the model's own logits, in characters."""
    inputs = tokenizer(QUESTION, CONTEXT, return_tensors="pt", return_offsets_mapping=True)
    offsets = inputs.pop("offset_mapping")[0]
    with torch.no_grad():
        output = model(**inputs)
    context = [index for index, sequence in enumerate(inputs.sequence_ids(0)) if sequence == 1]
    start_probs, end_probs = output.start_logits[0].softmax(-1), output.end_logits[0].softmax(-1)
    best = max(
        ((start, end) for start in context for end in context if 0 <= end - start < 15),
        key=lambda span: float(start_probs[span[0]] * end_probs[span[1]]),
    )
    return int(offsets[best[0]][0]), int(offsets[best[1]][1])


def layer_lengths(model) -> tuple[list[int], list]:
    """Pre-hooks recording the sequence length entering each layer (its query projection's input)."""
    lengths: list[int] = []
    hooks = [
        layer.attention.self.query.register_forward_pre_hook(lambda module, args: lengths.append(args[0].shape[1]))
        for layer in model.base_model.encoder.layer
    ]
    return lengths, hooks


def test_pipeline_from_a_local_folder_answers_and_prunes(pruned_qa_model, fast_tokenizer, tmp_path):
    pruned_qa_model.save_pretrained(tmp_path)
    fast_tokenizer.save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["custom_pipelines"]["question-answering"]["impl"] == (
        "pipeline_question_answering.TopQuestionAnsweringPipeline"
    )
    assert (tmp_path / "pipeline_question_answering.py").is_file()
    # With the plugin, the pipeline class is named instead of trusting the folder's code.
    answer_questions = pipeline("question-answering", model=str(tmp_path), pipeline_class=TopQuestionAnsweringPipeline)
    assert type(answer_questions.model) is TopBertForQuestionAnswering

    lengths, hooks = layer_lengths(answer_questions.model)
    try:
        answer = answer_questions(question=QUESTION, context=CONTEXT)
    finally:
        for hook in hooks:
            hook.remove()
    real_length = len(fast_tokenizer(QUESTION, CONTEXT)["input_ids"])
    assert lengths == plan_lengths(pruned_qa_model.config, real_length)
    assert lengths[-1] < lengths[0] == real_length
    assert (answer["start"], answer["end"]) == expected_answer(pruned_qa_model, fast_tokenizer)
    assert answer["answer"] == CONTEXT[answer["start"] : answer["end"]]


def test_pipeline_from_the_hub(loopback_hub, pruned_qa_model, fast_tokenizer):
    repo_id = "test-user/bert-top-qa"
    push_pruned_model(pruned_qa_model, repo_id, tokenizer=fast_tokenizer)
    assert type(AutoModelForQuestionAnswering.from_pretrained(repo_id)) is TopBertForQuestionAnswering
    assert ModelCard.load(repo_id).data.pipeline_tag == "question-answering"
    answer_questions = pipeline("question-answering", model=repo_id, pipeline_class=TopQuestionAnsweringPipeline)
    answer = answer_questions(question=QUESTION, context=CONTEXT)
    assert (answer["start"], answer["end"]) == expected_answer(pruned_qa_model, fast_tokenizer)
    # Without the class and without trust_remote_code, transformers refuses to run the repository's pipeline file.
    with pytest.raises(ValueError, match="trust_remote_code=True"):
        pipeline("question-answering", model=repo_id)


# `python -I -S` leaves out the editable install's `.pth` file: `transformers_top` is not importable (see
# tests/test_hub.py); site-packages is appended by hand for torch and transformers.
NO_PLUGIN_SCRIPT = r"""
import json, sys

site_packages, repo_id, question, context, output = sys.argv[1:6]
sys.path.append(site_packages)
report = {}
try:
    import transformers_top
except ImportError as error:
    report["import_error"] = str(error)
from transformers import pipeline

answer_questions = pipeline("question-answering", model=repo_id, trust_remote_code=True)
lengths = []
for layer in answer_questions.model.base_model.encoder.layer:
    layer.attention.self.query.register_forward_pre_hook(lambda module, args: lengths.append(args[0].shape[1]))
answer = answer_questions(question=question, context=context)
report |= {"start": answer["start"], "end": answer["end"], "lengths": lengths}
report["class"] = f"{type(answer_questions.model).__module__}.{type(answer_questions.model).__name__}"
report["plugin_loaded"] = any(name.startswith("transformers_top") for name in sys.modules)
with open(output, "w") as file:
    json.dump(report, file)
"""


def test_pipeline_without_the_plugin_runs_the_repository_code(loopback_hub, pruned_qa_model, fast_tokenizer, tmp_path):
    repo_id = "test-user/bert-top-qa-remote"
    push_pruned_model(pruned_qa_model, repo_id, tokenizer=fast_tokenizer)
    site_packages = sysconfig.get_paths()["purelib"]
    env = dict(os.environ, HF_HOME=str(tmp_path / "hf-home"), HF_HUB_CACHE=str(tmp_path / "hf-home" / "hub"))
    report_path = tmp_path / "report.json"
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", NO_PLUGIN_SCRIPT, site_packages, repo_id, QUESTION, CONTEXT, report_path],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(Path(report_path).read_text())
    assert report["import_error"] == "No module named 'transformers_top'" and not report["plugin_loaded"]
    assert report["class"].startswith("transformers_modules.")
    assert report["class"].endswith(".modeling_top_bert.TopBertForQuestionAnswering")
    real_length = len(fast_tokenizer(QUESTION, CONTEXT)["input_ids"])
    assert report["lengths"] == plan_lengths(pruned_qa_model.config, real_length)
    assert (report["start"], report["end"]) == expected_answer(pruned_qa_model, fast_tokenizer)


def test_answers_over_windows_top_k_and_the_empty_answer(pruned_qa_model, fast_tokenizer):
    answer_questions = TopQuestionAnsweringPipeline(model=pruned_qa_model, tokenizer=fast_tokenizer)
    long_context = " ".join([CONTEXT] * 3)
    windows = answer_questions.preprocess(
        {"question": QUESTION, "context": long_context}, max_seq_len=32, doc_stride=8
    )
    assert len(windows["model_inputs"]["input_ids"]) > 3  # the context is cut into overlapping windows
    answers = answer_questions(question=QUESTION, context=long_context, max_seq_len=32, doc_stride=8, top_k=3)
    assert len(answers) == 3
    assert [answer["score"] for answer in answers] == sorted((answer["score"] for answer in answers), reverse=True)
    assert len({(answer["start"], answer["end"]) for answer in answers}) == 3
    for answer in answers:
        assert answer["answer"] == long_context[answer["start"] : answer["end"]] != ""

    # One window: the empty answer is scored by the first token's start x end probability among it and the context.
    inputs = fast_tokenizer(QUESTION, CONTEXT, return_tensors="pt")
    with torch.no_grad():
        output = pruned_qa_model(**inputs)
    allowed = torch.tensor([part == 1 for part in inputs.sequence_ids(0)])
    allowed[0] = True
    start = output.start_logits[0].masked_fill(~allowed, float("-inf")).softmax(-1)
    end = output.end_logits[0].masked_fill(~allowed, float("-inf")).softmax(-1)
    answers = answer_questions(question=QUESTION, context=CONTEXT, handle_impossible_answer=True, top_k=1000)
    empty = [answer for answer in answers if answer["answer"] == ""]
    assert empty == [{"score": pytest.approx(float(start[0] * end[0]), rel=1e-5), "start": 0, "end": 0, "answer": ""}]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(question="", context=CONTEXT), "the question must be a non-empty string"),
        (dict(question=QUESTION, context=[CONTEXT]), "question and context must be two strings or two lists"),
        (dict(question=QUESTION, context=CONTEXT, top_k=0), "top_k must be a positive integer, got 0"),
        (dict(question=QUESTION, context=CONTEXT, doc_stride=-1), "doc_stride must be a non-negative integer"),
        (dict(question=QUESTION, context=CONTEXT, max_seq_len=65), "max_seq_len must be at most 64"),
        (dict(question=" ".join(["movie"] * 40), context=CONTEXT, max_seq_len=48), "leaves 5 for the context"),
    ],
)
def test_bad_input_is_refused_with_the_value(pruned_qa_model, fast_tokenizer, kwargs, message):
    answer_questions = TopQuestionAnsweringPipeline(model=pruned_qa_model, tokenizer=fast_tokenizer)
    with pytest.raises(ValueError, match=message):
        answer_questions(**kwargs)
