"""
SQuAD data for the question-answering example scripts: reading a SQuAD v1.1 or v2.0 JSON file into a
[`~datasets.Dataset`], cutting question/context pairs into overlapping token windows (features) for training and
evaluation, and turning the start/end logits of a model back into answer texts.

`read_squad_file` gives the columns of the Hub datasets `squad` and `squad_v2` (`id, title, context, question,
answers`, with `answers = {"text": [...], "answer_start": [...]}`, empty for an unanswerable question), so the same
downstream code serves `datasets.load_dataset("squad")` online and a local file offline. A file is checked as it is
read and a bad one is rejected with a `ValueError` naming the file, the question id and the bad value; no question is
ever dropped:

- a missing or mistyped field (`context`, `question`, `id`, `answers`, `text`, `answer_start`), or a duplicate id;
- an answer whose `answer_start` does not point at its text (`context[start:start + len(text)] != text`) or whose
  text is empty: character offsets are what the training labels are built from, so a wrong one is an error, not a
  guess;
- `is_impossible: true` with answers (or `false` without any);
- unanswerable questions (`is_impossible: true` or no answers) unless `version_2_with_negative=True`: the error says
  how many there are and suggests `--version_2_with_negative`.

`title` is optional (empty when missing) and v2.0's `plausible_answers` are ignored, as in the Hub datasets. Cutting
windows raises a `ValueError` naming the question when a question is too long for the windows (none is skipped).

Training labels come from the first answer of a question (the others only matter to the metrics). Typical use, with
a fast tokenizer (the windows need its offset mappings):

```python
train = read_squad_file("train-v1.1.json")
train_features = train.map(
    prepare_train_features, batched=True, remove_columns=train.column_names,
    fn_kwargs={"tokenizer": tokenizer, "max_seq_length": 384, "doc_stride": 128},
)
validation = read_squad_file("dev-v1.1.json")
validation_features = validation.map(
    prepare_validation_features, batched=True, remove_columns=validation.column_names,
    fn_kwargs={"tokenizer": tokenizer, "max_seq_length": 384, "doc_stride": 128},
)
# run the model on validation_features.remove_columns(["example_id", "offset_mapping"]) for the logits, then
predictions = postprocess_predictions(validation, validation_features, start_logits, end_logits)
```
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from datasets import Dataset, Features, List, Value
from transformers import PreTrainedTokenizerBase

SQUAD_FEATURES = Features(
    {
        "id": Value("string"),
        "title": Value("string"),
        "context": Value("string"),
        "question": Value("string"),
        "answers": {"text": List(Value("string")), "answer_start": List(Value("int32"))},
    }
)
"""The columns of the Hub datasets `squad` and `squad_v2`, which `read_squad_file` returns."""


def read_squad_file(path: str | Path, version_2_with_negative: bool = False) -> Dataset:
    """
    Read a SQuAD v1.1 or v2.0 JSON file (`{"data": [{"title", "paragraphs": [{"context", "qas": [...]}]}]}`) into one
    row per question, with the columns of the Hub datasets `squad` / `squad_v2` (`SQUAD_FEATURES`).

    Args:
        path (`str` or `Path`): the JSON file.
        version_2_with_negative (`bool`, *optional*, defaults to `False`): accept unanswerable questions
            (`is_impossible: true` or no answers, SQuAD v2.0); they get empty `answers`.

    Returns:
        [`~datasets.Dataset`]: columns `id, title, context, question, answers`, in the order of the file.

    Raises:
        `ValueError`: naming the file (and the question id and bad value when there is one) for a file that is not
        SQuAD JSON, a missing or mistyped field, a duplicate id, an answer whose `answer_start` does not point at its
        text, an inconsistent `is_impossible`, unanswerable questions without `version_2_with_negative`, or a file
        without questions.
    """
    path = Path(path)
    # The `datasets` json loader cannot flatten this nesting (articles > paragraphs > questions > answers) into one
    # row per question, so the file is parsed with `json` and the rows are handed to `Dataset.from_list`.
    try:
        with open(path, encoding="utf-8-sig") as stream:
            squad = json.load(stream)
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not a JSON file ({error})") from None
    if not isinstance(squad, dict) or not isinstance(squad.get("data"), list):
        raise ValueError(f"{path}: expected a SQuAD JSON object with a 'data' list of articles")
    rows: list[dict[str, Any]] = []
    seen_ids: set[str] = set()
    unanswerable: list[str] = []
    for article_index, article in enumerate(squad["data"]):
        in_article = f"{path}, article {article_index}"
        paragraphs = _field(article, "paragraphs", list, in_article)
        title = article.get("title", "")
        if not isinstance(title, str):
            raise ValueError(f"{in_article}: 'title' must be a string, got {title!r}")
        for paragraph_index, paragraph in enumerate(paragraphs):
            in_paragraph = f"{path}, article {article_index} ({title!r}), paragraph {paragraph_index}"
            context = _field(paragraph, "context", str, in_paragraph)
            for question_index, qa in enumerate(_field(paragraph, "qas", list, in_paragraph)):
                question_id = _field(qa, "id", str, f"{in_paragraph}, question {question_index}")
                in_question = f"{path}: question {question_id!r}"
                if question_id in seen_ids:
                    raise ValueError(f"{in_question} is a duplicate id")
                seen_ids.add(question_id)
                question = _field(qa, "question", str, in_question)
                answers = _read_answers(qa, context, in_question)
                if not answers["text"]:
                    unanswerable.append(question_id)
                rows.append(
                    {"id": question_id, "title": title, "context": context, "question": question, "answers": answers}
                )
    if not rows:
        raise ValueError(f"{path}: no questions")
    if unanswerable and not version_2_with_negative:
        raise ValueError(
            f"{path}: {len(unanswerable)} unanswerable question(s) (is_impossible: true or no answers), e.g. "
            f"{unanswerable[:3]}; SQuAD v1.1 needs an answer for every question: pass --version_2_with_negative "
            "(version_2_with_negative=True) for SQuAD v2.0 data"
        )
    return Dataset.from_list(rows, features=SQUAD_FEATURES)


_KIND_NAMES = {str: "a string", int: "an integer", list: "a list"}


def _field(record: object, key: str, kind: type, where: str) -> Any:
    if not isinstance(record, dict):
        raise ValueError(f"{where}: expected a JSON object, got {record!r:.80}")
    if key not in record:
        raise ValueError(f"{where}: missing field {key!r}")
    value = record[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ValueError(f"{where}: {key!r} must be {_KIND_NAMES[kind]}, got {value!r:.80}")
    return value


def _read_answers(qa: dict, context: str, where: str) -> dict[str, list]:
    texts, starts = [], []
    for answer in _field(qa, "answers", list, where):
        text = _field(answer, "text", str, where)
        start = _field(answer, "answer_start", int, where)
        if not text:
            raise ValueError(f"{where}: empty answer text (answer_start {start})")
        if start < 0 or context[start : start + len(text)] != text:
            raise ValueError(
                f"{where}: answer {text!r} is not at its answer_start {start} (the context has "
                f"{context[max(start, 0) : max(start, 0) + len(text)]!r} there)"
            )
        texts.append(text)
        starts.append(start)
    impossible = qa.get("is_impossible", not texts)
    if not isinstance(impossible, bool):
        raise ValueError(f"{where}: 'is_impossible' must be true or false, got {impossible!r}")
    if impossible == bool(texts):
        found = f"{len(texts)} answer(s)" if texts else "no answers"
        raise ValueError(f"{where}: is_impossible is {str(impossible).lower()} but the question has {found}")
    return {"text": texts, "answer_start": starts}


def prepare_train_features(
    examples: Mapping[str, list],
    tokenizer: PreTrainedTokenizerBase,
    max_seq_length: int,
    doc_stride: int,
    pad_on_right: bool = True,
    padding: bool | str = False,
) -> dict[str, list]:
    """
    Tokenize a batch of SQuAD rows into training features: one per window of `max_seq_length` tokens over the
    context, consecutive windows sharing `doc_stride` context tokens, each labelled with the token positions of the
    first answer. Meant for `Dataset.map(..., batched=True, remove_columns=dataset.column_names)`.

    Args:
        examples (`dict[str, list]`): a batch of rows with `id`, `question`, `context` and `answers`.
        tokenizer ([`PreTrainedTokenizerBase`]): a fast tokenizer (for its offset mappings).
        max_seq_length (`int`): the length of a window in tokens, question and special tokens included.
        doc_stride (`int`): the number of context tokens a window shares with the next; less than `max_seq_length`.
        pad_on_right (`bool`, *optional*, defaults to `True`): question first and context second (tokenizers that pad
            on the right, like BERT's); `False` puts the context first.
        padding (`bool` or `str`, *optional*, defaults to `False`): the tokenizer's `padding`; `False` leaves padding
            to a data collator (dynamic padding), `"max_length"` pads every window to `max_seq_length`.

    Returns:
        `dict[str, list]`: the tokenizer's outputs (`input_ids`, `attention_mask`, ...) plus `start_positions` and
        `end_positions`, the first and last token of the answer, both 0 (the `[CLS]` token, "no answer") for an
        unanswerable question or a window that does not hold the whole answer. An answer that starts or ends inside
        a token (`"2000"` in `"2000s"`) gets the whole token.

    Raises:
        `ValueError`: if `doc_stride >= max_seq_length`, or if a question (named by its id) leaves no more than
        `doc_stride` context tokens in a window (the windows could not advance).
    """
    encodings, context_index = _encode_windows(examples, tokenizer, max_seq_length, doc_stride, pad_on_right, padding)
    start_positions, end_positions = [], []
    for window, example_index in enumerate(encodings.pop("overflow_to_sample_mapping")):
        offsets = encodings["offset_mapping"][window]
        answers = examples["answers"][example_index]
        context_tokens = [i for i, seq in enumerate(encodings.sequence_ids(window)) if seq == context_index]
        start_token = end_token = 0
        if answers["text"] and context_tokens:
            start_char = answers["answer_start"][0]
            end_char = start_char + len(answers["text"][0])
            if offsets[context_tokens[0]][0] <= start_char and offsets[context_tokens[-1]][1] >= end_char:
                # The first token ending after the answer's start, the last token starting before its end.
                start_token = next(i for i in context_tokens if offsets[i][1] > start_char)
                end_token = next(i for i in reversed(context_tokens) if offsets[i][0] < end_char)
        start_positions.append(start_token)
        end_positions.append(end_token)
    encodings.pop("offset_mapping")
    return {**encodings, "start_positions": start_positions, "end_positions": end_positions}


def prepare_validation_features(
    examples: Mapping[str, list],
    tokenizer: PreTrainedTokenizerBase,
    max_seq_length: int,
    doc_stride: int,
    pad_on_right: bool = True,
    padding: bool | str = False,
) -> dict[str, list]:
    """
    Tokenize a batch of SQuAD rows into evaluation features, windowed as in `prepare_train_features`, keeping what
    `postprocess_predictions` needs to map the logits back to text.

    Args: as for `prepare_train_features` (`answers` is not needed).

    Returns:
        `dict[str, list]`: the tokenizer's outputs plus `example_id` (the `id` of the row a window comes from) and
        `offset_mapping`, the character span of each token in the context, `None` for the tokens that are not context
        (question, special and padding tokens). Drop these two columns before feeding the features to a model.

    Raises:
        `ValueError`: as for `prepare_train_features`.
    """
    encodings, context_index = _encode_windows(examples, tokenizer, max_seq_length, doc_stride, pad_on_right, padding)
    example_ids = []
    for window, example_index in enumerate(encodings.pop("overflow_to_sample_mapping")):
        example_ids.append(examples["id"][example_index])
        sequence_ids = encodings.sequence_ids(window)
        encodings["offset_mapping"][window] = [
            offset if seq == context_index else None
            for offset, seq in zip(encodings["offset_mapping"][window], sequence_ids, strict=True)
        ]
    return {**encodings, "example_id": example_ids}


def _encode_windows(
    examples: Mapping[str, list],
    tokenizer: PreTrainedTokenizerBase,
    max_seq_length: int,
    doc_stride: int,
    pad_on_right: bool,
    padding: bool | str,
) -> tuple[Any, int]:
    """The tokenizer's windows over the contexts, and which sequence of a window (0 or 1) is the context."""
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError("SQuAD features need a fast tokenizer (for its offset mappings)")
    if not 0 <= doc_stride < max_seq_length:
        raise ValueError(
            f"doc_stride must be at least 0 and less than max_seq_length, got doc_stride={doc_stride} and "
            f"max_seq_length={max_seq_length}"
        )
    # Some questions start with blanks, which would waste tokens with some tokenizers.
    questions = [question.lstrip() for question in examples["question"]]
    # A window holds max_seq_length minus the question and special tokens of context; unless that is more than the
    # stride the windows cannot advance (the tokenizer aborts the process instead of raising), so check it here.
    num_special = tokenizer.num_special_tokens_to_add(pair=True)
    for question_id, question_ids in zip(
        examples["id"], tokenizer(questions, add_special_tokens=False)["input_ids"], strict=True
    ):
        room = max_seq_length - len(question_ids) - num_special
        if room <= doc_stride:
            raise ValueError(
                f"question {question_id!r} has {len(question_ids)} tokens, which leaves {max(room, 0)} context "
                f"token(s) in a window of max_seq_length={max_seq_length}, not more than doc_stride={doc_stride}: "
                "use a larger max_seq_length or a smaller doc_stride"
            )
    contexts = list(examples["context"])
    first, second = (questions, contexts) if pad_on_right else (contexts, questions)
    encodings = tokenizer(
        first,
        second,
        truncation="only_second" if pad_on_right else "only_first",
        max_length=max_seq_length,
        stride=doc_stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding=padding,
    )
    if tokenizer.cls_token_id is not None and any(ids[0] != tokenizer.cls_token_id for ids in encodings["input_ids"]):
        raise ValueError("SQuAD features expect the tokenizer's [CLS] token first (the 'no answer' position 0)")
    return encodings, 1 if pad_on_right else 0


def postprocess_predictions(
    examples: Dataset | Mapping[str, list],
    features: Dataset | Mapping[str, list],
    start_logits: np.ndarray | Sequence[np.ndarray],
    end_logits: np.ndarray | Sequence[np.ndarray],
    n_best_size: int = 20,
    max_answer_length: int = 30,
    version_2_with_negative: bool = False,
    null_score_diff_threshold: float = 0.0,
    return_nbest: bool = False,
) -> dict[str, str] | tuple[dict[str, str], dict[str, list[dict[str, Any]]]]:
    """
    Turn the start/end logits of the evaluation features into one answer text per question.

    A span scores `start_logits[i] + end_logits[j]`; the candidates of a question are the spans of any of its windows
    that lie in the context, with `j >= i` and at most `max_answer_length` tokens. The search is exhaustive over those
    spans (not limited to the `n_best_size` best start and end positions), so a question always gets its best valid
    span. For SQuAD v2.0 the "no answer" score is the smallest `start_logits[0] + end_logits[0]` (the `[CLS]`
    position) over the windows of the question, and the answer is `""` when it beats the best span's score by more
    than `null_score_diff_threshold`.

    Args:
        examples ([`~datasets.Dataset`] or `dict[str, list]`): the rows, with `id` and `context`.
        features ([`~datasets.Dataset`] or `dict[str, list]`): their `prepare_validation_features` windows, with
            `example_id` and `offset_mapping`, in the order of the logits.
        start_logits, end_logits (`np.ndarray` of shape `(num_features, seq_len)`, or a list of 1-D arrays): the
            model's logits per feature. Positions past a feature's length are ignored, so rows padded to a common
            length (with any value, e.g. the Trainer's -100) are fine.
        n_best_size (`int`, *optional*, defaults to 20): the length of the n-best lists.
        max_answer_length (`int`, *optional*, defaults to 30): the longest answer, in tokens.
        version_2_with_negative (`bool`, *optional*, defaults to `False`): allow "no answer" (SQuAD v2.0).
        null_score_diff_threshold (`float`, *optional*, defaults to 0.0): how much the "no answer" score must beat
            the best span's to answer `""`.
        return_nbest (`bool`, *optional*, defaults to `False`): also return the n-best lists.

    Returns:
        `dict[str, str]`: the answer text for each question id, `""` for "no answer" (or for a question whose windows
        hold no context token). With `return_nbest`, also a `dict[str, list[dict]]` of the best candidates per
        question, best first, each `{"text", "start_logit", "end_logit", "score", "probability"}` (softmax of the
        scores over the list); for SQuAD v2.0 the list includes the "no answer" candidate (`text` `""`).

    Raises:
        `ValueError`: if the logits do not match the features, or a feature or an example has no counterpart.
    """
    if n_best_size < 1 or max_answer_length < 1:
        raise ValueError(f"n_best_size and max_answer_length must be positive, got {n_best_size}, {max_answer_length}")
    example_ids, contexts = list(examples["id"]), list(examples["context"])
    feature_example_ids, offset_mappings = list(features["example_id"]), list(features["offset_mapping"])
    if not len(start_logits) == len(end_logits) == len(offset_mappings):
        raise ValueError(
            f"expected start and end logits for each of the {len(offset_mappings)} features, got {len(start_logits)} "
            f"and {len(end_logits)}"
        )
    windows: dict[str, list[int]] = {example_id: [] for example_id in example_ids}
    for feature_index, example_id in enumerate(feature_example_ids):
        if example_id not in windows:
            raise ValueError(f"feature {feature_index} belongs to example {example_id!r}, which is not in examples")
        windows[example_id].append(feature_index)
    predictions: dict[str, str] = {}
    all_nbest: dict[str, list[dict[str, Any]]] = {}
    for example_id, context in zip(example_ids, contexts, strict=True):
        if not windows[example_id]:
            raise ValueError(f"example {example_id!r} has no features")
        spans: dict[tuple[int, int], tuple[float, float]] = {}  # (start char, end char) -> (start, end logit)
        null_score = np.inf
        for feature_index in windows[example_id]:
            offsets = offset_mappings[feature_index]
            start = np.asarray(start_logits[feature_index], dtype=np.float64)
            end = np.asarray(end_logits[feature_index], dtype=np.float64)
            if start.ndim != 1 or end.ndim != 1 or min(len(start), len(end)) < len(offsets):
                raise ValueError(
                    f"feature {feature_index} has {len(offsets)} tokens but logits of shape {start.shape}"
                )
            start, end = start[: len(offsets)], end[: len(offsets)]
            null_score = min(null_score, start[0] + end[0])
            for i, j in _best_spans(start, end, offsets, n_best_size, max_answer_length):
                key = (offsets[i][0], offsets[j][1])
                if key not in spans or sum(spans[key]) < start[i] + end[j]:
                    spans[key] = (float(start[i]), float(end[j]))
        nbest = sorted(
            (
                {"text": context[char_start:char_end], "start_logit": s, "end_logit": e, "score": s + e}
                for (char_start, char_end), (s, e) in spans.items()
            ),
            key=lambda candidate: -candidate["score"],
        )[:n_best_size]
        best = nbest[0] if nbest else None
        if version_2_with_negative:
            null = {"text": "", "start_logit": None, "end_logit": None, "score": float(null_score)}
            nbest = sorted([*nbest, null], key=lambda candidate: -candidate["score"])[:n_best_size]
            if best is not None and null_score - best["score"] > null_score_diff_threshold:
                best = None
        predictions[example_id] = best["text"] if best is not None else ""
        if return_nbest:
            if nbest:
                scores = np.array([candidate["score"] for candidate in nbest])
                probabilities = np.exp(scores - scores.max())
                for candidate, probability in zip(nbest, probabilities / probabilities.sum(), strict=True):
                    candidate["probability"] = float(probability)
            all_nbest[example_id] = nbest
    return (predictions, all_nbest) if return_nbest else predictions


def _best_spans(
    start: np.ndarray, end: np.ndarray, offsets: Sequence, n_best_size: int, max_answer_length: int
) -> list[tuple[int, int]]:
    """The (start, end) token positions of the `n_best_size` best valid spans of one window."""
    context = np.array([i for i, offset in enumerate(offsets) if offset is not None], dtype=np.int64)
    if len(context) == 0:
        return []
    width = min(max_answer_length, len(context))
    # scores[a, k]: the span from the a-th to the (a + k)-th context token.
    last = np.arange(len(context))[:, None] + np.arange(width)[None, :]
    valid = last < len(context)
    last = np.minimum(last, len(context) - 1)
    valid &= context[last] - context[:, None] < max_answer_length  # in tokens, should the context not be contiguous
    scores = np.where(valid, start[context][:, None] + end[context][last], -np.inf).ravel()
    count = min(n_best_size, int(valid.sum()))
    best = np.argpartition(-scores, count - 1)[:count]
    best = best[np.argsort(-scores[best], kind="stable")]
    return [(int(context[flat // width]), int(context[last.ravel()[flat]])) for flat in best]
