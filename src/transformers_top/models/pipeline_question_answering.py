"""Extractive question answering as a transformers pipeline, shipped with every ToP question-answering model.

transformers 5 removed its `"question-answering"` pipeline. A ToP question-answering model brings its own: its
`config.json` lists [`TopQuestionAnsweringPipeline`] under `custom_pipelines` and `save_pretrained` copies this file
beside the model code, so

```python
from transformers import pipeline

qa = pipeline("question-answering", model="user/bert-top-squad", trust_remote_code=True)
qa(question="Who wrote it?", context="... a long context ...")  # {"score", "start", "end", "answer"}
```

works with transformers alone; with the plugin installed, `pipeline_class=TopQuestionAnsweringPipeline` replaces
`trust_remote_code=True` (the class can also be built directly, `TopQuestionAnsweringPipeline(model=...,
tokenizer=...)`, for any extractive question-answering model). A context longer than the window is cut into
overlapping windows (`max_seq_len`, `doc_stride`); the answer is the span with the highest start x end probability,
within the context, over every window.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers import Pipeline

#: The window length and the tokens consecutive windows share, by default (the window is shorter for a model whose
#: longest input is shorter, and the default stride then a quarter of it).
DEFAULT_MAX_SEQ_LEN = 384
DEFAULT_DOC_STRIDE = 128
#: The task name under which the pipeline is listed in a model's `config.custom_pipelines`.
PIPELINE_TASK = "question-answering"


def custom_pipelines_entry() -> dict[str, dict[str, Any]]:
    """The `config.custom_pipelines` value that makes `pipeline("question-answering", model=...)` use this file."""
    return {
        PIPELINE_TASK: {
            "impl": f"{__name__.rsplit('.', 1)[-1]}.{TopQuestionAnsweringPipeline.__name__}",
            "pt": ["AutoModelForQuestionAnswering"],
            "type": "text",
        }
    }


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


class TopQuestionAnsweringPipeline(Pipeline):
    """
    Extractive question answering with any `*ForQuestionAnswering` model and a fast tokenizer (for the character
    offsets of the answer). Call it with `question=` and `context=` (strings, or lists of the same length), or with a
    `{"question", "context"}` dict or a list of them.

    Call arguments:
        top_k (`int`, *optional*, defaults to 1): how many answers to return; with more than 1, a list.
        max_answer_len (`int`, *optional*, defaults to 15): the longest answer, in tokens.
        max_seq_len (`int`, *optional*, defaults to 384): the window length, in tokens (question included); at most
            the model's longest input (by default, the smaller of the two).
        doc_stride (`int`, *optional*, defaults to 128): how many tokens consecutive windows share (by default at
            most a quarter of the window).
        handle_impossible_answer (`bool`, *optional*, defaults to `False`): allow the empty answer (SQuAD 2.0), scored
            from the first token's start and end probabilities (the lowest over the windows).

    Returns:
        `dict` (or a list of `top_k` dicts, or one per question): `score` (start x end probability), `start` and
        `end` (character offsets in the context) and `answer` (`context[start:end]`).
    """

    _load_processor = False
    _load_image_processor = False
    _load_feature_extractor = False
    _load_tokenizer = True

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not getattr(self.tokenizer, "is_fast", False):
            raise ValueError(
                "question answering needs a fast tokenizer (for character offsets), got "
                f"{type(self.tokenizer).__name__}"
            )

    def __call__(
        self, *args, question: str | list[str] | None = None, context: str | list[str] | None = None, **kwargs
    ):
        if args and (question is not None or context is not None):
            raise ValueError("pass the inputs either as question= and context= or as a dict, not both")
        if args:
            inputs = args[0]
        elif isinstance(question, str) and isinstance(context, str):
            inputs = {"question": question, "context": context}
        elif isinstance(question, list) and isinstance(context, list) and len(question) == len(context):
            inputs = [{"question": q, "context": c} for q, c in zip(question, context, strict=True)]
        else:
            raise ValueError(
                "question and context must be two strings or two lists of the same length, got "
                f"{type(question).__name__} and {type(context).__name__}"
            )
        return super().__call__(inputs, **kwargs)

    def _sanitize_parameters(
        self,
        top_k: int | None = None,
        max_answer_len: int | None = None,
        max_seq_len: int | None = None,
        doc_stride: int | None = None,
        handle_impossible_answer: bool | None = None,
    ):
        preprocess, postprocess = {}, {}
        if max_seq_len is not None:
            preprocess["max_seq_len"] = _positive_int("max_seq_len", max_seq_len)
        if doc_stride is not None:
            if isinstance(doc_stride, bool) or not isinstance(doc_stride, int) or doc_stride < 0:
                raise ValueError(f"doc_stride must be a non-negative integer, got {doc_stride!r}")
            preprocess["doc_stride"] = doc_stride
        if top_k is not None:
            postprocess["top_k"] = _positive_int("top_k", top_k)
        if max_answer_len is not None:
            postprocess["max_answer_len"] = _positive_int("max_answer_len", max_answer_len)
        if handle_impossible_answer is not None:
            if not isinstance(handle_impossible_answer, bool):
                raise ValueError(f"handle_impossible_answer must be True or False, got {handle_impossible_answer!r}")
            postprocess["handle_impossible_answer"] = handle_impossible_answer
        return preprocess, {}, postprocess

    def preprocess(
        self, inputs: dict[str, str], max_seq_len: int | None = None, doc_stride: int = DEFAULT_DOC_STRIDE
    ) -> dict[str, Any]:
        if not isinstance(inputs, dict) or set(inputs) != {"question", "context"}:
            raise ValueError(f"an input must be a dict with the keys 'question' and 'context', got {inputs!r}")
        question, context = inputs["question"], inputs["context"]
        for name, text in (("question", question), ("context", context)):
            if not isinstance(text, str) or not text.strip():
                raise ValueError(f"the {name} must be a non-empty string, got {text!r}")
        limit = self._longest_input()
        max_seq_len = min(DEFAULT_MAX_SEQ_LEN, limit) if max_seq_len is None else max_seq_len
        doc_stride = min(doc_stride, max_seq_len // 4) if doc_stride == DEFAULT_DOC_STRIDE else doc_stride
        if max_seq_len > limit:
            raise ValueError(f"max_seq_len must be at most {limit} (the model's longest input), got {max_seq_len}")
        question_tokens = len(self.tokenizer(question, add_special_tokens=False)["input_ids"])
        room = max_seq_len - question_tokens - self.tokenizer.num_special_tokens_to_add(pair=True)
        if room <= doc_stride:
            raise ValueError(
                f"a window of max_seq_len={max_seq_len} tokens leaves {room} for the context after the question "
                f"({question_tokens} tokens), which must be more than doc_stride={doc_stride}"
            )
        encoded = self.tokenizer(
            question,
            context,
            truncation="only_second",
            max_length=max_seq_len,
            stride=doc_stride,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
            padding="longest",
            return_tensors="pt",
        )
        in_context = torch.tensor(
            [
                [sequence == 1 for sequence in encoded.sequence_ids(window)]
                for window in range(len(encoded["input_ids"]))
            ]
        )
        model_inputs = {name: encoded[name] for name in self.tokenizer.model_input_names if name in encoded}
        return {
            "model_inputs": model_inputs,
            "offsets": encoded["offset_mapping"],
            "in_context": in_context,
            "context": context,
        }

    def _longest_input(self) -> int:
        """The longest input of the model (a ToP model knows it; else its position embeddings) and tokenizer."""
        knows = [self.model, getattr(self.model, "base_model", None)]
        limits = [model.max_input_length() for model in knows if callable(getattr(model, "max_input_length", None))]
        limit = limits[0] if limits else self.model.config.max_position_embeddings
        return min(limit, self.tokenizer.model_max_length)

    def _forward(self, inputs: dict[str, Any]) -> dict[str, Any]:
        outputs = self.model(**inputs["model_inputs"])
        meta = {key: value for key, value in inputs.items() if key != "model_inputs"}
        return {"start_logits": outputs.start_logits, "end_logits": outputs.end_logits, **meta}

    def postprocess(
        self,
        outputs: dict[str, Any],
        top_k: int = 1,
        max_answer_len: int = 15,
        handle_impossible_answer: bool = False,
    ) -> dict[str, Any] | list[dict[str, Any]]:
        context, offsets, in_context = outputs["context"], outputs["offsets"], outputs["in_context"]
        best: dict[tuple[int, int], float] = {}
        null_score = None
        for window in range(len(in_context)):
            allowed = in_context[window].clone()
            allowed[0] |= handle_impossible_answer
            start = outputs["start_logits"][window].float().masked_fill(~allowed, float("-inf")).softmax(-1)
            end = outputs["end_logits"][window].float().masked_fill(~allowed, float("-inf")).softmax(-1)
            if handle_impossible_answer:
                window_null = float(start[0] * end[0])
                null_score = window_null if null_score is None else min(null_score, window_null)
            positions = in_context[window].nonzero().flatten()
            scores = start[positions, None] * end[None, positions]
            # A span starts at or before its end and holds at most max_answer_len tokens.
            scores = scores.triu().tril(max_answer_len - 1)
            values, flat = scores.flatten().topk(min(top_k, scores.numel()))
            for value, index in zip(values.tolist(), flat.tolist(), strict=True):
                if value <= 0:
                    continue
                first, last = positions[index // len(positions)], positions[index % len(positions)]
                span = (int(offsets[window][first][0]), int(offsets[window][last][1]))
                best[span] = max(best.get(span, 0.0), value)
        answers = [
            {"score": score, "start": start, "end": end, "answer": context[start:end]}
            for (start, end), score in best.items()
        ]
        if handle_impossible_answer:
            answers.append({"score": null_score, "start": 0, "end": 0, "answer": ""})
        answers = sorted(answers, key=lambda answer: answer["score"], reverse=True)[:top_k]
        return answers[0] if top_k == 1 else answers


__all__ = ["PIPELINE_TASK", "TopQuestionAnsweringPipeline", "custom_pipelines_entry"]
