"""The example scripts' task plumbing (`examples/tasks.py`): loading GLUE/IMDB-style data from local files (every
format, bad inputs), tokenizing it, and the offline task metrics against hand-computed values."""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

import numpy as np
import pytest
import tasks
from datasets import ClassLabel, Dataset, DatasetDict
from task_metrics import REGRESSION_TASKS, TASK_METRICS, build_compute_metrics, compute_task_metrics, task_main_metric
from tasks import (
    TASKS,
    check_max_seq_length,
    check_task_name,
    dataset_label_names,
    dataset_num_labels,
    default_data_dir,
    find_text_columns,
    load_task_dataset,
    local_task_files,
    tokenize_dataset,
)
from transformers import BertConfig, BertTokenizer, DataCollatorWithPadding, EvalPrediction

WORDS = ["the", "movie", "was", "good", "bad", "a", "plot", "is", "fine"]


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_text(text, encoding=encoding)
    return path


@pytest.fixture(scope="module")
def tokenizer() -> BertTokenizer:
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]
    return BertTokenizer(vocab={token: index for index, token in enumerate(vocab)}, model_max_length=32)


# ---- formats ------------------------------------------------------------------------------------------------------


def test_sst2_tsv_keeps_stray_quotes_as_text(tmp_path):
    path = write(tmp_path / "train.tsv", 'sentence\tlabel\na "quoted start\t1\nplain text \t0\n')
    dataset = load_task_dataset("sst2", train_file=path)
    assert list(dataset) == ["train"]
    assert dataset["train"]["sentence"] == ['a "quoted start', "plain text "]
    assert dataset["train"]["label"] == [1, 0]
    assert dataset_label_names(dataset) == ["negative", "positive"]


def test_mrpc_release_tsv_with_bom_is_renamed_to_glue_columns(tmp_path):
    text = (
        "Quality\t#1 ID\t#2 ID\t#1 String\t#2 String\n"
        '1\t11\t12\tHe said "no.\tHe refused.\n'
        "0\t13\t14\tA cat.\tA dog.\n"
    )
    path = write(tmp_path / "dev.tsv", text, encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    validation = load_task_dataset("mrpc", validation_file=path)["validation"]
    assert validation.column_names == ["sentence1", "sentence2", "label"]
    assert validation[0] == {"sentence1": 'He said "no.', "sentence2": "He refused.", "label": 1}
    assert validation.features["label"].names == ["not_equivalent", "equivalent"]


def test_pandas_written_tsv_is_unquoted_and_label_names_map_to_ids(tmp_path):
    # How pandas writes a field holding quotes or a tab: enclosed in quotes, inner quotes doubled.
    text = (
        "sentence1\tsentence2\tlabel\tidx\n"
        '"He was called ""Dr. Death,"" they said."\tA name.\tentailment\t0\n'
        '"a\ttab"\tplain\tnot_entailment\t1\n'
        "no quotes\there\t1\t2\n"
    )
    dataset = load_task_dataset("rte", train_file=write(tmp_path / "train.tsv", text))["train"]
    assert dataset["sentence1"] == ['He was called "Dr. Death," they said.', "a\ttab", "no quotes"]
    assert dataset["label"] == [0, 1, 1]
    assert dataset.column_names == ["sentence1", "sentence2", "label"]


def test_stsb_release_tsv_gives_float_scores(tmp_path):
    header = "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n"
    rows = '0\tnews\tf\t2012\t0\tnone\tnone\tA "b\tA b\t5.000\n1\tnews\tf\t2012\t1\tnone\tnone\tc\td\t0.250\n'
    dataset = load_task_dataset("stsb", validation_file=write(tmp_path / "dev.tsv", header + rows))
    validation = dataset["validation"]
    assert validation["label"] == [5.0, 0.25]
    assert validation["sentence1"] == ['A "b', "c"]
    assert dataset_label_names(dataset) is None
    assert dataset_num_labels(dataset) == 1


def test_csv_uses_standard_quoting(tmp_path):
    path = write(tmp_path / "train.csv", 'sentence,label\n"good, really",1\n"say ""hi""",0\n')
    dataset = load_task_dataset("sst2", train_file=path)["train"]
    assert dataset["sentence"] == ["good, really", 'say "hi"']


def test_json_lines_plain_and_gzip(tmp_path):
    records = [{"id": "a", "text": "good movie", "label": 1, "rating": 9}, {"id": "b", "text": "bad", "label": 0}]
    lines = "".join(json.dumps(record) + "\n" for record in records)
    plain = write(tmp_path / "train.jsonl", lines)
    compressed = tmp_path / "test.jsonl.gz"
    with gzip.open(compressed, "wt", encoding="utf-8") as stream:
        stream.write(lines)
    dataset = load_task_dataset("imdb", train_file=plain, validation_file=compressed)
    for split in ("train", "validation"):
        assert dataset[split].column_names == ["text", "label"]
        assert dataset[split]["text"] == ["good movie", "bad"]
        assert dataset[split]["label"] == [1, 0]
    assert dataset_label_names(dataset) == ["neg", "pos"]


def test_without_task_text_columns_are_detected_and_labels_inferred(tmp_path):
    pairs = write(tmp_path / "pairs.tsv", "sentence1\tsentence2\tlabel\na\tb\tyes\nc\td\tno\ne\tf\tyes\n")
    dataset = load_task_dataset(train_file=pairs)["train"]
    assert dataset.column_names == ["sentence1", "sentence2", "label"]
    assert dataset.features["label"] == ClassLabel(names=["no", "yes"])
    assert dataset["label"] == [1, 0, 1]

    train = write(tmp_path / "train.csv", "text,label\na,3\nb,1\n")
    validation = write(tmp_path / "dev.csv", "text,label\nc,7\n")
    dataset = load_task_dataset(train_file=train, validation_file=validation)
    assert dataset_label_names(dataset) == ["1", "3", "7"]  # classes shared by both splits
    assert dataset["train"]["label"] == [1, 0]
    assert dataset["validation"]["label"] == [2]

    scores = write(tmp_path / "scores.jsonl", '{"sentence": "a", "label": 0.5}\n{"sentence": "b", "label": 2}\n')
    assert load_task_dataset(train_file=scores)["train"]["label"] == [0.5, 2.0]


def test_files_with_different_text_columns_are_rejected(tmp_path):
    train = write(tmp_path / "train.tsv", "sentence\tlabel\na\t1\n")
    validation = write(tmp_path / "dev.jsonl", '{"text": "b", "label": 0}\n')
    with pytest.raises(
        ValueError, match=r"different text columns: \{'train': \['sentence'\], 'validation': \['text'\]\}"
    ):
        load_task_dataset(train_file=train, validation_file=validation)


def test_find_text_columns():
    assert find_text_columns(["idx", "question", "sentence", "label"]) == ("question", "sentence")
    assert find_text_columns(["text", "label"]) == ("text",)
    assert find_text_columns(["premise", "hypothesis", "label"], "mnli") == ("premise", "hypothesis")
    with pytest.raises(ValueError, match=r"needs the column\(s\) \['hypothesis'\]; columns found: \['premise'\]"):
        find_text_columns(["premise"], "mnli")
    with pytest.raises(ValueError, match=r"no text column\(s\) found: expected premise\+hypothesis or .* or text"):
        find_text_columns(["review", "label"])


def test_sample_limits_keep_the_first_rows(tmp_path):
    path = write(tmp_path / "train.tsv", "sentence\tlabel\n" + "".join(f"s{i}\t{i % 2}\n" for i in range(10)))
    dataset = load_task_dataset(
        "sst2", train_file=path, validation_file=path, max_train_samples=3, max_eval_samples=20
    )
    assert dataset["train"]["sentence"] == ["s0", "s1", "s2"]
    assert len(dataset["validation"]) == 10


def test_hub_path_selects_the_task_columns_and_validation_split(monkeypatch):
    calls = []

    def fake_load_dataset(path, name):
        calls.append((path, name))
        rows = {"premise": ["p"], "hypothesis": ["h"], "label": [2], "idx": [0]}
        return DatasetDict(
            train=Dataset.from_dict(rows),
            validation_matched=Dataset.from_dict(rows | {"premise": ["matched"]}),
            validation_mismatched=Dataset.from_dict(rows | {"premise": ["mismatched"]}),
        )

    monkeypatch.setattr(tasks, "load_dataset", fake_load_dataset)
    dataset = load_task_dataset("mnli", max_train_samples=5)
    assert calls == [("nyu-mll/glue", "mnli")]
    assert list(dataset) == ["train", "validation"]
    assert dataset["validation"].column_names == ["premise", "hypothesis", "label"]
    assert dataset["validation"]["premise"] == ["matched"]


def test_local_task_files(tmp_path):
    assert local_task_files("sst2", tmp_path) is None
    (tmp_path / "sst2").mkdir()
    write(tmp_path / "sst2" / "train.tsv", "")
    assert local_task_files("sst2", tmp_path) is None  # dev.tsv missing
    write(tmp_path / "sst2" / "dev.tsv", "")
    assert local_task_files("sst2", tmp_path) == (tmp_path / "sst2" / "train.tsv", tmp_path / "sst2" / "dev.tsv")
    assert local_task_files("cola", tmp_path) is None  # no local copy of CoLA
    with pytest.raises(ValueError, match="unknown task 'sst'"):
        local_task_files("sst", tmp_path)


# ---- bad inputs ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("file_name", "content", "message"),
    [
        ("train.tsv", "text\tlabel\na\t1\n", r"train.tsv: task 'sst2' needs the column\(s\) \['sentence'\]; "),
        ("train.tsv", "sentence\tscore\na\t1\n", r"missing column 'label' \(unlabeled data .*found: \['sentence'"),
        ("train.tsv", "sentence\tlabel\n", r"train.tsv has no data rows"),
        ("train.tsv", "", r"train.tsv is empty \(no header line\)"),
        (
            "train.tsv",
            "sentence\tlabel\na\t1\nb\t\n",
            r"row 1 has no label \(a file with a 'label' column needs one in every row\)",
        ),
        ("train.tsv", "sentence\tlabel\na\t-1\n", r"row 0 has label '-1'; expected a class id in 0..1 or one of"),
        ("train.tsv", "sentence\tlabel\na\tpositive\nb\tmaybe\n", r"row 1 has label 'maybe'"),
        (
            "train.tsv",
            "sentence\tlabel\na\t1\textra\n",
            r"train.tsv, line 2: expected 2 fields like the header, found 3",
        ),
        ("train.jsonl", '{"sentence": null, "label": 1}\n', r"row 0 has no text in column 'sentence' \(got None\)"),
        ("train.jsonl", '{"sentence": "a", "label": 1}\n{"sentence": "b"}\n', r"row 1 has no label"),
        ("train.jsonl", '{"sentence": "a", "label": 1}\nnot json\n', r"train.jsonl, line 2: not JSON lines"),
        ("train.jsonl", "[1, 2]\n", r"line 1: expected a JSON object, got list"),
        ("train.jsonl", "\n", r"train.jsonl has no data rows"),
        ("train.parquet", "x", r"train.parquet: unsupported file type; use one of .tsv, .csv, .json, .jsonl"),
    ],
)
def test_bad_files_are_rejected_with_the_file_and_the_problem(tmp_path, file_name, content, message):
    path = write(tmp_path / file_name, content)
    with pytest.raises(ValueError, match=message):
        load_task_dataset("sst2", train_file=path)


def test_bad_regression_label_is_rejected(tmp_path):
    path = write(tmp_path / "dev.tsv", "sentence1\tsentence2\tlabel\na\tb\tnan\n")
    with pytest.raises(ValueError, match=r"row 0 has label 'nan'; a regression task needs a finite number"):
        load_task_dataset("stsb", validation_file=path)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "give a task_name .* or a train_file and/or validation_file"),
        ({"task_name": "sst-2"}, "unknown task 'sst-2': supported tasks are"),
        ({"task_name": "sst2", "train_file": "/no/such/train.tsv"}, "train file '/no/such/train.tsv' does not exist"),
        ({"task_name": "sst2", "max_train_samples": 0}, "max_train_samples must be a positive integer, got 0"),
        (
            {"task_name": "sst2", "allow_unlabeled_train": "yes"},
            "allow_unlabeled_train must be True or False, got 'yes'",
        ),
    ],
)
def test_bad_arguments_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_task_dataset(**kwargs)


# ---- unlabeled training text (distillation from a given teacher) ---------------------------------------------------


def test_an_unlabeled_train_file_loads_as_text_when_allowed(tmp_path):
    train = write(tmp_path / "train.jsonl", '{"text": "a good movie"}\n{"text": "a bad plot"}\n')
    validation = write(tmp_path / "dev.jsonl", '{"text": "fine", "label": "pos"}\n')
    dataset = load_task_dataset("imdb", train_file=train, validation_file=validation, allow_unlabeled_train=True)
    assert dataset["train"].column_names == ["text"]
    assert dataset["train"]["text"] == ["a good movie", "a bad plot"]
    assert dataset["validation"]["label"] == [1]
    assert dataset_label_names(dataset) == ["neg", "pos"]  # from the labeled split
    with pytest.raises(ValueError, match=r"train.jsonl: missing column 'label' \(unlabeled data .* only for distil"):
        load_task_dataset("imdb", train_file=train)


def test_without_a_task_the_classes_of_unlabeled_training_text_come_from_the_validation_file(tmp_path):
    train = write(tmp_path / "train.tsv", "sentence\nthe movie\n")
    validation = write(tmp_path / "dev.tsv", "sentence\tlabel\ngood\tyes\nbad\tno\n")
    dataset = load_task_dataset(train_file=train, validation_file=validation, allow_unlabeled_train=True)
    assert dataset_label_names(dataset) == ["no", "yes"]
    with pytest.raises(ValueError, match=r"train.tsv has no 'label' column, and without a task or a labeled valid"):
        load_task_dataset(train_file=train, allow_unlabeled_train=True)


def test_unlabeled_text_is_rejected_for_regression_and_for_validation(tmp_path):
    pairs = write(tmp_path / "pairs.tsv", "sentence1\tsentence2\na\tb\n")
    with pytest.raises(ValueError, match=r"pairs.tsv has no 'label' column, but a regression task trains on its lab"):
        load_task_dataset("stsb", train_file=pairs, allow_unlabeled_train=True)
    with pytest.raises(ValueError, match=r"pairs.tsv: missing column 'label'"):
        load_task_dataset("rte", validation_file=pairs, allow_unlabeled_train=True)


def test_an_empty_hub_split_is_rejected(monkeypatch):
    empty = Dataset.from_dict({"sentence": [], "label": []})
    monkeypatch.setattr(tasks, "load_dataset", lambda path, name: DatasetDict(train=empty, validation=empty))
    with pytest.raises(ValueError, match="the train split of 'sst2' has no rows"):
        load_task_dataset("sst2")


# ---- tokenization -------------------------------------------------------------------------------------------------


def test_tokenize_truncates_without_padding(tmp_path, tokenizer):
    long_text = " ".join(WORDS * 10)
    path = write(
        tmp_path / "train.tsv", f"sentence1\tsentence2\tlabel\n{long_text}\tgood\t1\nthe movie\tbad plot\t0\n"
    )
    dataset = load_task_dataset("rte", train_file=path)
    tokenized = tokenize_dataset(dataset, tokenizer, max_seq_length=16, task_name="rte")["train"]
    assert sorted(tokenized.column_names) == ["attention_mask", "input_ids", "label", "token_type_ids"]
    long_row, short_row = tokenized[0], tokenized[1]
    assert len(long_row["input_ids"]) == 16
    assert long_row["input_ids"][-3:] == [3, 8, 3]  # ... [SEP] good [SEP]: the long first text was cut
    assert short_row["input_ids"] == [2, 5, 6, 3, 9, 11, 3]  # [CLS] the movie [SEP] bad plot [SEP]
    assert short_row["token_type_ids"] == [0, 0, 0, 0, 1, 1, 1]

    batch = DataCollatorWithPadding(tokenizer)([tokenized[0], tokenized[1]])
    assert batch["input_ids"].shape == (2, 16)
    assert batch["attention_mask"].sum(dim=1).tolist() == [16, 7]
    assert batch["labels"].tolist() == [1, 0]


def test_max_seq_length_is_checked_against_model_and_tokenizer(tokenizer):
    config = BertConfig(max_position_embeddings=24)
    assert check_max_seq_length(24, tokenizer, config) == 24
    with pytest.raises(ValueError, match="max_seq_length=25 is larger than the model's max_position_embeddings=24"):
        check_max_seq_length(25, tokenizer, config)
    with pytest.raises(ValueError, match="max_seq_length=33 is larger than the tokenizer's model_max_length=32"):
        check_max_seq_length(33, tokenizer)
    with pytest.raises(ValueError, match=r"max_seq_length=3 is too short.*\(at least 4\)"):
        check_max_seq_length(3, tokenizer)
    with pytest.raises(ValueError, match=r"max_seq_length must be an integer, got 12\.5"):
        check_max_seq_length(12.5, tokenizer)
    dataset = Dataset.from_dict({"sentence": ["good"], "label": [1]})
    with pytest.raises(ValueError, match="larger than the model's max_position_embeddings=24"):
        tokenize_dataset(dataset, tokenizer, 30, model_config=config)


def test_label_names_need_a_label_column():
    with pytest.raises(ValueError, match=r"expected a 'label' column .* among the columns \['sentence'\]"):
        dataset_label_names(Dataset.from_dict({"sentence": ["a"]}))


# ---- the real files -----------------------------------------------------------------------------------------------


@pytest.mark.integration
def test_real_data_files(shared_data):
    assert default_data_dir() == shared_data
    expected_rows = {"sst2": 872, "mrpc": 408, "rte": 277, "stsb": 1500}
    for task, rows in expected_rows.items():
        _, validation_file = local_task_files(task)
        validation = load_task_dataset(task, validation_file=validation_file)["validation"]
        assert len(validation) == rows, task
    mrpc = load_task_dataset("mrpc", validation_file=shared_data / "mrpc" / "dev.tsv")["validation"]
    assert mrpc[0]["sentence2"] == '"The foodservice pie business does not fit our long-term growth strategy.'
    assert mrpc[0]["label"] == 1
    rte = load_task_dataset("rte", validation_file=shared_data / "rte" / "dev.tsv")["validation"]
    assert any('"Dr. Death,"' in text for text in rte["sentence1"])
    assert not any(text.startswith('"') and text.endswith('"') for text in rte["sentence1"])
    stsb = load_task_dataset("stsb", validation_file=shared_data / "stsb" / "dev.tsv")["validation"]
    assert min(stsb["label"]) == 0.0 and max(stsb["label"]) == 5.0
    imdb = load_task_dataset("imdb", train_file=shared_data / "imdb" / "test_2k_seed13.jsonl")["train"]
    assert len(imdb) == 2000
    assert sorted(set(imdb["label"])) == [0, 1]


# ---- metrics --------------------------------------------------------------------------------------------------------

# predictions vs labels: tp = 2 (rows 0, 2), fn = 1 (row 1), fp = 1 (row 3), tn = 0
PREDICTIONS = [1, 0, 1, 1]
LABELS = [1, 1, 1, 0]


def test_classification_metrics_match_hand_computed_values():
    mrpc = compute_task_metrics("mrpc", PREDICTIONS, LABELS)
    assert mrpc == {"accuracy": 0.5, "f1": pytest.approx(2 / 3)}  # precision = recall = 2/3
    # MCC = (tp * tn - fp * fn) / sqrt((tp + fp)(tp + fn)(tn + fp)(tn + fn)) = (0 - 1) / sqrt(3 * 3 * 1 * 1)
    assert compute_task_metrics("cola", PREDICTIONS, LABELS) == {"matthews_correlation": pytest.approx(-1 / 3)}
    for task in ("sst2", "rte", "qnli", "mnli", "wnli", "imdb"):
        assert compute_task_metrics(task, PREDICTIONS, LABELS) == {"accuracy": 0.5}
    assert all(isinstance(value, float) for value in mrpc.values())


def test_regression_metrics_match_hand_computed_values():
    # deviations from the means: predictions (-1.5, -0.5, 0.5, 1.5), labels (-1.75, -0.75, 0.25, 2.25)
    metrics = compute_task_metrics("stsb", [1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 5.0])
    assert metrics == {"pearson": pytest.approx(6.5 / math.sqrt(5 * 8.75)), "spearmanr": pytest.approx(1.0)}
    # rank differences (-1, 1, -1, 1): rho = 1 - 6 * 4 / (4 * (16 - 1))
    swapped = compute_task_metrics("stsb", [1.0, 2.0, 3.0, 4.0], [2.0, 1.0, 4.0, 3.0])
    assert swapped["spearmanr"] == pytest.approx(0.6)


def test_metrics_without_task_follow_the_label_type():
    assert compute_task_metrics(None, [2, 0, 1], [2, 1, 1]) == {"accuracy": pytest.approx(2 / 3)}
    assert set(compute_task_metrics(None, [0.5, 1.0, 2.0], [0.0, 1.5, 2.5])) == {"pearson", "spearmanr"}


def test_compute_metrics_takes_argmax_of_logits_and_the_first_of_several_outputs():
    compute_metrics = build_compute_metrics("mrpc", num_labels=2)
    logits = np.array([[0.0, 1.0], [3.0, -1.0], [-2.0, 2.0], [0.2, 0.3]])  # argmax = PREDICTIONS
    expected = {"accuracy": 0.5, "f1": pytest.approx(2 / 3)}
    assert compute_metrics(EvalPrediction(predictions=logits, label_ids=np.array(LABELS))) == expected
    with_extras = (logits, np.zeros((4, 7)))
    assert compute_metrics(EvalPrediction(predictions=with_extras, label_ids=np.array(LABELS))) == expected


def test_compute_metrics_uses_the_single_output_as_score_for_regression():
    compute_metrics = build_compute_metrics("stsb", num_labels=1)
    scores = np.array([[1.0], [2.0], [3.0], [4.0]], dtype=np.float32)
    metrics = compute_metrics(EvalPrediction(predictions=scores, label_ids=np.array([1.0, 2.0, 3.0, 5.0])))
    assert metrics["pearson"] == pytest.approx(6.5 / math.sqrt(5 * 8.75), rel=1e-6)


def test_main_metric_per_task():
    assert task_main_metric("mrpc") == "f1"
    assert task_main_metric("qqp") == "accuracy"
    assert task_main_metric("cola") == "matthews_correlation"
    assert task_main_metric("stsb", num_labels=1) == "pearson"
    assert task_main_metric("imdb") == "accuracy"
    assert task_main_metric(None, num_labels=1) == "pearson"
    assert task_main_metric(None, num_labels=5) == "accuracy"


def test_metric_tasks_are_the_data_tasks():
    assert set(TASK_METRICS) == set(TASKS)
    assert {task for task, spec in TASKS.items() if spec.label_names is None} == set(REGRESSION_TASKS)


def test_unknown_task_is_named_with_the_supported_ones():
    with pytest.raises(ValueError, match=r"unknown task 'sst-2': supported tasks are cola, sst2, mrpc"):
        check_task_name("sst-2")
    with pytest.raises(ValueError, match="unknown task 'squad'"):
        build_compute_metrics("squad", num_labels=2)


@pytest.mark.parametrize(
    ("task", "num_labels", "message"),
    [
        ("stsb", 2, "'stsb' is a regression task"),
        ("sst2", 1, "'sst2' is a classification task"),
        ("sst2", 0, "num_labels must be a positive integer"),
        (None, True, "num_labels must be a positive integer"),
    ],
)
def test_num_labels_must_fit_the_task(task, num_labels, message):
    with pytest.raises(ValueError, match=message):
        build_compute_metrics(task, num_labels)


def test_bad_predictions_are_rejected():
    with pytest.raises(ValueError, match="empty evaluation set"):
        compute_task_metrics("sst2", [], [])
    with pytest.raises(ValueError, match=r"same length, got shapes \(3,\) and \(2,\)"):
        compute_task_metrics("sst2", [0, 1, 1], [0, 1])
    compute_metrics = build_compute_metrics("mnli", num_labels=3)
    with pytest.raises(ValueError, match=r"expected logits of shape \(n, 3\), got \(2, 2\)"):
        compute_metrics(EvalPrediction(predictions=np.zeros((2, 2)), label_ids=np.array([0, 1])))
