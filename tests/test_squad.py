"""The question-answering plumbing of the example scripts: reading SQuAD JSON files (`examples/squad_data.py`), their
token windows and the mapping of logits back to answers, and the official SQuAD metrics (`examples/squad_metrics.py`)
against hand-computed values."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
from squad_data import (
    SQUAD_FEATURES,
    postprocess_predictions,
    prepare_train_features,
    prepare_validation_features,
    read_squad_file,
)
from squad_metrics import exact_match, f1_score, normalize_answer, squad_metrics
from transformers import AutoTokenizer

# ---- metrics --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, normalized",
    [
        ("The  Cat, a dog!", "cat dog"),
        ("U.S. Army", "us army"),  # punctuation goes without leaving a space
        ("the-end", "theend"),  # ... before the articles are removed
        ("  Theory of\tthe\nMind ", "theory of mind"),
        ("another answer, anthem", "another answer anthem"),  # only whole words are articles
        ("A", ""),
        ("Café «Ünïcode»", "café «ünïcode»"),  # lower-cased; only ASCII punctuation is removed
    ],
)
def test_normalize_answer_follows_the_official_rules(text, normalized):
    assert normalize_answer(text) == normalized


def test_exact_match_and_f1_of_single_answers():
    assert exact_match("The Eiffel Tower", "eiffel tower.") == 1.0
    assert exact_match("Eiffel Tower", "the tower") == 0.0
    # 2 common tokens of 3 and 3: P = R = 2/3
    assert f1_score("the big red dog", "a red dog barked") == pytest.approx(2 / 3)
    # 2 common of 2 predicted and 5 gold tokens: P = 1, R = 2/5, F1 = 2 * 1 * 2/5 / (1 + 2/5) = 4/7
    assert f1_score("Red dog", "the big red dog barked loudly") == pytest.approx(4 / 7)
    # repeated tokens count once per occurrence in both: 1 common, P = 1/3, R = 1/2, F1 = 2/5
    assert f1_score("dog dog dog", "dog cat") == pytest.approx(2 / 5)
    assert f1_score("Paris", "London") == 0.0


def test_f1_of_empty_answers_follows_squad_v2():
    assert f1_score("", "") == 1.0
    assert f1_score("The", "") == 1.0  # "the" normalises to nothing
    assert f1_score("", "Paris") == 0.0
    assert f1_score("Paris", "") == 0.0
    assert exact_match("", "") == 1.0


def test_squad_v1_metrics_take_the_best_gold_answer():
    predictions = {"q1": "Denver Broncos", "q2": "red dog", "q3": "Paris"}
    references = {
        "q1": ["Denver Broncos", "The Denver Broncos"],
        "q2": ["the big red dog barked loudly", "a dog"],  # F1 4/7 and 2/3 ("dog": P = 1/2, R = 1)
        "q3": ["London"],
    }
    metrics = squad_metrics(predictions, references)
    assert metrics == {"exact_match": pytest.approx(100 / 3), "f1": pytest.approx(100 * (1 + 2 / 3 + 0) / 3)}
    # the v1.1 script gives F1 0 (no common token) when the gold answer normalises to nothing
    assert squad_metrics({"q": "the"}, {"q": ["a"]}) == {"exact_match": 100.0, "f1": 0.0}


def test_squad_v2_metrics_split_answerable_and_unanswerable_questions():
    predictions = {"has1": "Denver Broncos", "has2": "red dog", "no1": "", "no2": "Paris"}
    references = {"has1": ["Denver Broncos"], "has2": ["big red dog"], "no1": [], "no2": []}
    # has2: P = 1, R = 2/3, F1 = 4/5
    assert squad_metrics(predictions, references, version_2_with_negative=True) == {
        "exact": pytest.approx(50.0),
        "f1": pytest.approx(100 * (1 + 4 / 5 + 1 + 0) / 4),
        "total": 4,
        "HasAns_exact": pytest.approx(50.0),
        "HasAns_f1": pytest.approx(90.0),
        "HasAns_total": 2,
        "NoAns_exact": pytest.approx(50.0),
        "NoAns_f1": pytest.approx(50.0),
        "NoAns_total": 2,
    }
    # without unanswerable questions there is no NoAns part; a gold "the" counts as the empty answer
    metrics = squad_metrics({"q": ""}, {"q": ["The"]}, version_2_with_negative=True)
    assert metrics == {
        "exact": 100.0,
        "f1": 100.0,
        "total": 1,
        "HasAns_exact": 100.0,
        "HasAns_f1": 100.0,
        "HasAns_total": 1,
    }


def test_squad_metrics_reject_missing_and_unknown_predictions():
    with pytest.raises(ValueError, match=r"no prediction for 1 question.*'q2'"):
        squad_metrics({"q1": "a"}, {"q1": ["a"], "q2": ["b"]})
    with pytest.raises(ValueError, match=r"1 prediction.*without references.*'q3'"):
        squad_metrics({"q1": "a", "q3": "c"}, {"q1": ["a"]})
    with pytest.raises(ValueError, match=r"'q1' has no gold answer.*version_2_with_negative"):
        squad_metrics({"q1": ""}, {"q1": []})
    with pytest.raises(ValueError, match="no references"):
        squad_metrics({}, {})


# ---- reading SQuAD JSON ---------------------------------------------------------------------------------------------

CONTEXT = "Paris is the capital of France. Paris has the Louvre."


def squad_json(version_2: bool = False) -> dict:
    qas = [
        {
            "id": "q1",
            "question": "What is the capital of France?",
            "answers": [{"text": "Paris", "answer_start": 0}, {"text": "Paris", "answer_start": 32}],
        },
        {"id": "q2", "question": " What does Paris have?", "answers": [{"text": "the Louvre", "answer_start": 42}]},
    ]
    articles = [
        {"title": "France", "paragraphs": [{"context": CONTEXT, "qas": qas}]},
        {
            "paragraphs": [
                {
                    "context": "Rome is in Italy.",
                    "qas": [
                        {"id": "q3", "question": "Where is Rome?", "answers": [{"text": "Italy", "answer_start": 11}]}
                    ],
                }
            ]
        },
    ]
    if version_2:
        for qa in qas:
            qa["is_impossible"] = False
        qas.append(
            {
                "id": "q4",
                "question": "What is the capital of Spain?",
                "answers": [],
                "is_impossible": True,
                "plausible_answers": [{"text": "Paris", "answer_start": 0}],
            }
        )
    return {"version": "v2.0" if version_2 else "1.1", "data": articles}


def write_json(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_read_squad_v1_file_flattens_to_the_hub_schema(tmp_path):
    dataset = read_squad_file(write_json(tmp_path / "train.json", squad_json()))
    assert dataset.features == SQUAD_FEATURES
    assert dataset.to_list() == [
        {
            "id": "q1",
            "title": "France",
            "context": CONTEXT,
            "question": "What is the capital of France?",
            "answers": {"text": ["Paris", "Paris"], "answer_start": [0, 32]},
        },
        {
            "id": "q2",
            "title": "France",
            "context": CONTEXT,
            "question": " What does Paris have?",
            "answers": {"text": ["the Louvre"], "answer_start": [42]},
        },
        {
            "id": "q3",
            "title": "",
            "context": "Rome is in Italy.",
            "question": "Where is Rome?",
            "answers": {"text": ["Italy"], "answer_start": [11]},
        },
    ]


def test_read_squad_v2_file_needs_version_2_with_negative(tmp_path):
    path = write_json(tmp_path / "dev-v2.0.json", squad_json(version_2=True))
    dataset = read_squad_file(path, version_2_with_negative=True)
    assert dataset["id"] == ["q1", "q2", "q4", "q3"]
    assert dataset[2]["answers"] == {"text": [], "answer_start": []}  # plausible_answers are not answers
    with pytest.raises(ValueError, match=r"1 unanswerable question.*'q4'.*--version_2_with_negative"):
        read_squad_file(path)
    data = squad_json(version_2=True)
    data["data"][0]["paragraphs"][0]["qas"][0]["answers"] = []
    with pytest.raises(ValueError, match=r"question 'q1': is_impossible is false but the question has no answers"):
        read_squad_file(write_json(tmp_path / "v2.json", data), version_2_with_negative=True)
    # no answers is unanswerable too, even without is_impossible
    data = squad_json()
    data["data"][0]["paragraphs"][0]["qas"][1]["answers"] = []
    with pytest.raises(ValueError, match=r"1 unanswerable question.*'q2'"):
        read_squad_file(write_json(tmp_path / "v1.json", data))


def _set(path: tuple, value: object):
    def edit(data: dict) -> None:
        target = data
        for key in path[:-1]:
            target = target[key]
        if value is _DELETE:
            del target[path[-1]]
        else:
            target[path[-1]] = value

    return edit


_DELETE = object()
_PARAGRAPH = ("data", 0, "paragraphs", 0)
_Q1 = (*_PARAGRAPH, "qas", 0)
_Q2 = (*_PARAGRAPH, "qas", 1)


@pytest.mark.parametrize(
    "edit, message",
    [
        (_set((*_PARAGRAPH, "context"), _DELETE), r"article 0 \('France'\), paragraph 0: missing field 'context'"),
        (_set((*_Q2, "id"), _DELETE), r"paragraph 0, question 1: missing field 'id'"),
        (_set((*_Q1, "question"), _DELETE), r"question 'q1': missing field 'question'"),
        (_set((*_Q1, "answers"), _DELETE), r"question 'q1': missing field 'answers'"),
        (_set((*_Q1, "answers", 1, "text"), _DELETE), r"question 'q1': missing field 'text'"),
        (_set((*_Q2, "answers", 0, "answer_start"), _DELETE), r"question 'q2': missing field 'answer_start'"),
        (
            _set((*_Q2, "answers", 0, "answer_start"), "42"),
            r"question 'q2': 'answer_start' must be an integer, got '42'",
        ),
        (_set((*_Q2, "id"), 7), r"question 1: 'id' must be a string, got 7"),
        (_set((*_Q2, "id"), "q1"), r"question 'q1' is a duplicate id"),
        (
            _set((*_Q1, "answers", 1, "answer_start"), 31),
            r"question 'q1': answer 'Paris' is not at its answer_start 31 \(the context has ' Pari' there\)",
        ),
        (_set((*_Q2, "answers", 0, "answer_start"), -10), r"question 'q2': answer 'the Louvre' is not at its answer"),
        (_set((*_Q2, "answers", 0, "text"), ""), r"question 'q2': empty answer text"),
        (_set((*_Q1, "is_impossible"), True), r"question 'q1': is_impossible is true but the question has 2 answer"),
        (_set((*_Q1, "is_impossible"), "no"), r"question 'q1': 'is_impossible' must be true or false"),
        (_set(("data",), {"title": "France"}), r"expected a SQuAD JSON object with a 'data' list"),
        (_set(("data",), []), r"no questions"),
    ],
)
def test_bad_squad_files_are_rejected_with_the_file_the_question_and_the_value(tmp_path, edit, message):
    data = copy.deepcopy(squad_json())
    edit(data)
    path = write_json(tmp_path / "bad.json", data)
    with pytest.raises(ValueError, match=message) as error:
        read_squad_file(path, version_2_with_negative=True)
    assert str(error.value).startswith(str(path))


def test_a_file_that_is_not_json_is_rejected(tmp_path):
    path = tmp_path / "train.json"
    path.write_text('{"data": [', encoding="utf-8")
    with pytest.raises(ValueError, match=r"train\.json: not a JSON file"):
        read_squad_file(path)


# ---- features -------------------------------------------------------------------------------------------------------

NUMBERS = (
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen "
    "eighteen nineteen twenty"
)


@pytest.fixture(scope="module")
def tokenizer(minilm_path):
    return AutoTokenizer.from_pretrained(minilm_path)


def numbers_examples(*answers: str) -> dict[str, list]:
    """One row per answer over the 20 number words (one token each); `""` for an unanswerable question."""
    return {
        "id": [f"q{index}" for index in range(len(answers))],
        "question": ["  Which number?"] * len(answers),  # 3 tokens once the leading blanks are stripped
        "context": [NUMBERS] * len(answers),
        "answers": [
            {"text": [answer], "answer_start": [NUMBERS.index(answer)]} if answer else {"text": [], "answer_start": []}
            for answer in answers
        ],
    }


# 14 tokens = [CLS] + 3 question tokens + [SEP] + 8 context tokens + [SEP]; windows share 3 context tokens:
# context tokens 0-7 (one..eight), 5-12 (six..thirteen), 10-17 (eleven..eighteen) and 15-19 (sixteen..twenty).
WINDOW = {"max_seq_length": 14, "doc_stride": 3}


def test_windows_overlap_by_the_stride_and_keep_the_context_offsets(tokenizer):
    features = prepare_validation_features(numbers_examples("six seven"), tokenizer, **WINDOW)
    assert features["example_id"] == ["q0"] * 4
    assert [len(ids) for ids in features["input_ids"]] == [14, 14, 14, 11]  # no padding by default
    words = NUMBERS.split()
    window_words = []
    for offsets in features["offset_mapping"]:
        assert offsets[:5] == [None] * 5 and offsets[-1] is None  # [CLS] question [SEP] ... [SEP]
        window_words.append([NUMBERS[start:end] for start, end in offsets[5:-1]])
    assert window_words == [words[0:8], words[5:13], words[10:18], words[15:20]]


@pytest.mark.parametrize("pad_on_right", [True, False])
def test_answer_positions_map_back_to_the_answer_or_to_cls(tokenizer, pad_on_right):
    # "six seven" is in windows 0 and 1; "eight nine" straddles windows 0 and 1; "" is unanswerable
    examples = numbers_examples("six seven", "eight nine", "")
    train = prepare_train_features(examples, tokenizer, **WINDOW, pad_on_right=pad_on_right)
    validation = prepare_validation_features(examples, tokenizer, **WINDOW, pad_on_right=pad_on_right)
    assert train["input_ids"] == validation["input_ids"]
    answers = []
    for start, end, offsets in zip(
        train["start_positions"], train["end_positions"], validation["offset_mapping"], strict=True
    ):
        assert (start == 0) == (end == 0)
        answers.append(NUMBERS[offsets[start][0] : offsets[end][1]] if start else None)
    assert validation["example_id"] == ["q0"] * 4 + ["q1"] * 4 + ["q2"] * 4
    assert answers == ["six seven", "six seven", None, None] + [None, "eight nine", None, None] + [None] * 4


def test_padding_to_max_length(tokenizer):
    features = prepare_train_features(numbers_examples("twenty"), tokenizer, **WINDOW, padding="max_length")
    assert [len(ids) for ids in features["input_ids"]] == [14] * 4
    assert features["attention_mask"][-1] == [1] * 11 + [0] * 3
    assert features["start_positions"] == [0, 0, 0, 9] and features["end_positions"] == [0, 0, 0, 9]


def test_bad_window_sizes_are_rejected(tokenizer):
    examples = numbers_examples("six")
    with pytest.raises(ValueError, match="doc_stride must be at least 0 and less than max_seq_length"):
        prepare_train_features(examples, tokenizer, max_seq_length=14, doc_stride=14)
    # 14 - 3 question tokens - 3 special tokens = 8 context tokens a window: a stride of 7 is fine, 8 is not
    assert len(prepare_train_features(examples, tokenizer, max_seq_length=14, doc_stride=7)["input_ids"]) == 13
    with pytest.raises(ValueError, match=r"question 'q0' has 3 tokens, which leaves 8 context token\(s\)"):
        prepare_validation_features(examples, tokenizer, max_seq_length=14, doc_stride=8)
    examples["question"] = ["which number is the one that comes after five ?"]  # 10 tokens
    with pytest.raises(ValueError, match=r"question 'q0' has 10 tokens, which leaves 0 context token"):
        prepare_train_features(examples, tokenizer, max_seq_length=12, doc_stride=0)


# ---- postprocessing -------------------------------------------------------------------------------------------------

# [CLS] question [SEP] Paris is the capital of France . [SEP]
OFFSETS = [None, None, None, (0, 5), (6, 8), (9, 12), (13, 20), (21, 23), (24, 30), (30, 31), None]
EXAMPLES = {"id": ["q"], "context": [CONTEXT]}


def logits(**peaks: float) -> np.ndarray:
    """Zeros over the 11 tokens of `OFFSETS`, with `t<i>=value` at token i."""
    values = np.zeros(len(OFFSETS))
    for token, value in peaks.items():
        values[int(token[1:])] = value
    return values


def test_postprocess_picks_the_best_valid_span():
    features = {"example_id": ["q"], "offset_mapping": [OFFSETS]}
    # the best start is a question token and the best end is a [SEP] or before the best valid start: all ignored
    start = logits(t1=100, t3=1, t6=8)
    end = logits(t2=100, t3=9, t8=7, t10=50)
    predict = postprocess_predictions
    assert predict(EXAMPLES, features, start[None], end[None]) == {"q": "capital of France"}  # 8 + 7 > 1 + 9
    assert predict(EXAMPLES, features, start[None], end[None], max_answer_length=2) == {"q": "Paris"}
    predictions, nbest = predict(EXAMPLES, features, start[None], end[None], n_best_size=2, return_nbest=True)
    assert predictions == {"q": "capital of France"}
    assert nbest["q"] == [
        {
            "text": "capital of France",
            "start_logit": 8.0,
            "end_logit": 7.0,
            "score": 15.0,
            "probability": pytest.approx(1 / (1 + np.exp(-5))),
        },
        {
            "text": "Paris",
            "start_logit": 1.0,
            "end_logit": 9.0,
            "score": 10.0,
            "probability": pytest.approx(1 / (1 + np.exp(5))),
        },
    ]


def test_postprocess_searches_every_window_and_ignores_padding():
    # two windows of one question, the second shorter and its logits padded with a large value
    second = [None, None, None, (13, 20), (21, 23), (24, 30), None]
    features = {"example_id": ["q", "q"], "offset_mapping": [OFFSETS, second]}
    start = np.stack([logits(t3=2), np.r_[np.zeros(7), [1000.0] * 4]])
    end = np.stack([logits(t3=2), np.r_[np.zeros(7), [1000.0] * 4]])
    start[1, 3], end[1, 5] = 3.0, 3.0
    assert postprocess_predictions(EXAMPLES, features, start, end) == {"q": "capital of France"}
    ragged = [start[0], start[1, :7]], [end[0], end[1, :7]]
    assert postprocess_predictions(EXAMPLES, features, *ragged) == {"q": "capital of France"}
    with pytest.raises(ValueError, match="expected start and end logits for each of the 2 features, got 1 and 2"):
        postprocess_predictions(EXAMPLES, features, start[:1], end)
    with pytest.raises(ValueError, match=r"feature 1 has 7 tokens but logits of shape \(6,\)"):
        postprocess_predictions(EXAMPLES, features, [start[0], start[1, :6]], [end[0], end[1, :6]])
    with pytest.raises(ValueError, match="example 'r' has no features"):
        postprocess_predictions({"id": ["q", "r"], "context": [CONTEXT] * 2}, features, start, end)
    with pytest.raises(ValueError, match="feature 1 belongs to example 'r'"):
        postprocess_predictions(EXAMPLES, {"example_id": ["q", "r"], "offset_mapping": [OFFSETS, second]}, start, end)


def test_postprocess_answers_nothing_when_the_null_score_wins_in_v2():
    features = {"example_id": ["q"], "offset_mapping": [OFFSETS]}
    start, end = logits(t0=10, t6=8), logits(t0=10, t8=7)  # null 20, best span 15
    kwargs = {"version_2_with_negative": True}
    assert postprocess_predictions(EXAMPLES, features, start[None], end[None], **kwargs) == {"q": ""}
    assert postprocess_predictions(
        EXAMPLES, features, start[None], end[None], null_score_diff_threshold=5.5, **kwargs
    ) == {"q": "capital of France"}
    # v1.1 never answers nothing
    assert postprocess_predictions(EXAMPLES, features, start[None], end[None]) == {"q": "capital of France"}
    # the null score is the smallest over the windows: a second window with a low one lets the span win
    features = {"example_id": ["q", "q"], "offset_mapping": [OFFSETS, OFFSETS]}
    low_null = logits(t0=1), logits(t0=1)
    assert postprocess_predictions(
        EXAMPLES, features, np.stack([start, low_null[0]]), np.stack([end, low_null[1]]), **kwargs
    ) == {"q": "capital of France"}
    single = {"example_id": ["q"], "offset_mapping": [OFFSETS]}
    _, nbest = postprocess_predictions(EXAMPLES, single, start[None], end[None], return_nbest=True, **kwargs)
    assert [(candidate["text"], candidate["score"]) for candidate in nbest["q"][:2]] == [
        ("", 20.0),
        ("capital of France", 15.0),
    ]


def test_features_and_postprocessing_round_trip(tokenizer):
    # logits peaking at the training labels give back the answers, whichever window holds them
    examples = numbers_examples("six seven", "eight nine", "eighteen nineteen twenty", "")
    train = prepare_train_features(examples, tokenizer, **WINDOW)
    validation = prepare_validation_features(examples, tokenizer, **WINDOW)
    lengths = [len(ids) for ids in validation["input_ids"]]
    start = np.full((len(lengths), max(lengths)), -100.0)
    end = start.copy()
    for index, length in enumerate(lengths):
        start[index, :length] = end[index, :length] = 0.0
        start[index, train["start_positions"][index]] += 10.0
        end[index, train["end_positions"][index]] += 10.0
    predictions = postprocess_predictions(examples, validation, start, end, version_2_with_negative=True)
    assert predictions == {"q0": "six seven", "q1": "eight nine", "q2": "eighteen nineteen twenty", "q3": ""}


# ---- the real files -------------------------------------------------------------------------------------------------


@pytest.mark.integration
def test_real_squad_files(shared_data):
    squad = shared_data / "squad"
    train = read_squad_file(squad / "train-v1.1.json")
    validation = read_squad_file(squad / "validation-v1.1.json")
    validation_v2 = read_squad_file(squad / "validation-v2.0.json", version_2_with_negative=True)
    assert (len(train), len(validation), len(validation_v2)) == (7765, 1381, 2229)
    assert sum(not answers["text"] for answers in validation_v2["answers"]) == 1057
    assert all(answers["text"] for answers in train["answers"])
    with pytest.raises(ValueError, match=r"1057 unanswerable question\(s\)"):
        read_squad_file(squad / "validation-v2.0.json")
