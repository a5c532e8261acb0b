"""
Task plumbing of the example scripts: GLUE and IMDB data (from the Hugging Face Hub, or from local files offline) and
their metrics. This is not part of the `transformers_top` library; it needs the `examples` extra (scikit-learn, scipy).

Data. Every loader returns a [`~datasets.DatasetDict`] with the splits `"train"` and/or `"validation"`, the task's text
column(s) (GLUE names: `sentence`, `sentence1`/`sentence2`, `question`/`sentence`, ...; IMDB: `text`) and a `label`
column: a `ClassLabel` for classification, `float32` scores for regression (STS-B). Local files are read with the
`datasets` loaders, every TSV/CSV value as a string (`"NA"` or `"null"` stay text) and may be:

- TSV (`.tsv`): the GLUE release layouts are recognised per task (MRPC's `Quality`, `#1 String`, `#2 String`; STS-B's
  `score`; QQP's `is_duplicate`; MNLI's `sentence1`, `sentence2`, `gold_label`). Quotes are literal text (GLUE's
  `QUOTE_NONE`) unless every field holding a double quote is entirely enclosed in quotes with its inner quotes
  doubled, which is how CSV writers such as pandas quote (e.g. a TSV exported with `DataFrame.to_csv(sep="\\t")`);
  such quoted fields may hold tabs but not line breaks.
- CSV (`.csv`): standard CSV quoting.
- JSON lines (`.jsonl` or `.json`, one object a line).

Any of them may be gzip-compressed (`.gz`) and may start with a UTF-8 byte order mark. Labels may be class ids or,
for a known task, the GLUE label names (e.g. `entailment`); without a task, integer labels and free-form strings
become classes and decimal numbers make a regression task. With `allow_unlabeled_train=True` a classification task's
training file may have no label column: ToP's distillation from a fine-tuned teacher never reads the training labels
of a classifier, so unlabeled in-domain text can be distilled on.

Metrics. The numbers are those of `evaluate.load("glue", task)` and `evaluate.load("accuracy")`, computed with the
same scikit-learn and scipy functions (`f1_score`, `matthews_corrcoef`, `pearsonr`, `spearmanr`) without `evaluate`,
whose metric scripts come from the Hub and fail offline. Per task (the GLUE conventions), with the main metric used
for reporting and model selection:

| task | metrics | main metric |
|---|---|---|
| cola | matthews_correlation | matthews_correlation |
| sst2, mnli, qnli, rte, wnli, imdb | accuracy | accuracy |
| mrpc | accuracy, f1 | f1 |
| qqp | accuracy, f1 | accuracy |
| stsb | pearson, spearmanr | pearson |

Without a task (custom data files): accuracy for classification, pearson and spearmanr for regression.
"""

from __future__ import annotations

import csv
import gzip
import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import numpy as np
from datasets import ClassLabel, Dataset, DatasetDict, Features, Value, load_dataset
from datasets.exceptions import DatasetGenerationError
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import f1_score, matthews_corrcoef
from transformers import EvalPrediction, PretrainedConfig, PreTrainedTokenizerBase

LABEL_COLUMN = "label"


@dataclass(frozen=True)
class TaskSpec:
    """
    What a task's data looks like.

    Args:
        text_columns (`tuple[str, ...]`): the one or two text columns fed to the tokenizer, in order.
        label_names (`tuple[str, ...]`, *optional*): class names in label-id order; `None` for regression.
        hub_path (`str`): the dataset repository on the Hub.
        hub_config (`str`, *optional*): the dataset configuration (the GLUE task).
        hub_validation_split (`str`): the Hub split used as `"validation"`.
        file_columns (`dict[str, str]`): columns of the task's original release files, renamed to the Hub names when
            the Hub name is absent from a local file.
    """

    text_columns: tuple[str, ...]
    label_names: tuple[str, ...] | None
    hub_path: str
    hub_config: str | None
    hub_validation_split: str = "validation"
    file_columns: dict[str, str] = field(default_factory=dict)


TASKS: dict[str, TaskSpec] = {
    "cola": TaskSpec(("sentence",), ("unacceptable", "acceptable"), "nyu-mll/glue", "cola"),
    "sst2": TaskSpec(("sentence",), ("negative", "positive"), "nyu-mll/glue", "sst2"),
    "mrpc": TaskSpec(
        ("sentence1", "sentence2"),
        ("not_equivalent", "equivalent"),
        "nyu-mll/glue",
        "mrpc",
        file_columns={"#1 String": "sentence1", "#2 String": "sentence2", "Quality": LABEL_COLUMN},
    ),
    "qqp": TaskSpec(
        ("question1", "question2"),
        ("not_duplicate", "duplicate"),
        "nyu-mll/glue",
        "qqp",
        file_columns={"is_duplicate": LABEL_COLUMN},
    ),
    "stsb": TaskSpec(("sentence1", "sentence2"), None, "nyu-mll/glue", "stsb", file_columns={"score": LABEL_COLUMN}),
    "mnli": TaskSpec(
        ("premise", "hypothesis"),
        ("entailment", "neutral", "contradiction"),
        "nyu-mll/glue",
        "mnli",
        hub_validation_split="validation_matched",
        file_columns={"sentence1": "premise", "sentence2": "hypothesis", "gold_label": LABEL_COLUMN},
    ),
    "qnli": TaskSpec(("question", "sentence"), ("entailment", "not_entailment"), "nyu-mll/glue", "qnli"),
    "rte": TaskSpec(("sentence1", "sentence2"), ("entailment", "not_entailment"), "nyu-mll/glue", "rte"),
    "wnli": TaskSpec(("sentence1", "sentence2"), ("not_entailment", "entailment"), "nyu-mll/glue", "wnli"),
    "imdb": TaskSpec(("text",), ("neg", "pos"), "stanfordnlp/imdb", None, hub_validation_split="test"),
}
"""The supported tasks (the same names as `TASK_METRICS`)."""

TASK_METRICS: dict[str, tuple[str, ...]] = {
    "cola": ("matthews_correlation",),
    "sst2": ("accuracy",),
    "mrpc": ("accuracy", "f1"),
    "qqp": ("accuracy", "f1"),
    "stsb": ("pearson", "spearmanr"),
    "mnli": ("accuracy",),
    "qnli": ("accuracy",),
    "rte": ("accuracy",),
    "wnli": ("accuracy",),
    "imdb": ("accuracy",),
}
"""The metrics reported for each task."""

REGRESSION_TASKS = tuple(task for task, spec in TASKS.items() if spec.label_names is None)

LOCAL_TASK_FILES: dict[str, tuple[str, str]] = {
    "sst2": ("sst2/train.tsv", "sst2/dev.tsv"),
    "mrpc": ("mrpc/train.tsv", "mrpc/dev.tsv"),
    "rte": ("rte/train.tsv", "rte/dev.tsv"),
    "stsb": ("stsb/train.tsv", "stsb/dev.tsv"),
    "imdb": ("imdb/train.jsonl.gz", "imdb/test.jsonl.gz"),
}
"""Train and validation files of each task under the local data directory (see `default_data_dir`)."""

_MAIN_METRIC = {"mrpc": "f1"}
# The definitions of GLUE's metric script (`evaluate.load("glue", task)`), called as (predictions, labels).
_METRIC_FUNCTIONS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "accuracy": lambda predictions, labels: (predictions == labels).mean(),
    "f1": lambda predictions, labels: f1_score(y_true=labels, y_pred=predictions),
    "matthews_correlation": lambda predictions, labels: matthews_corrcoef(labels, predictions),
    "pearson": lambda predictions, labels: pearsonr(predictions, labels)[0],
    "spearmanr": lambda predictions, labels: spearmanr(predictions, labels)[0],
}
_FILE_FORMATS = {".tsv": "tsv", ".csv": "csv", ".json": "json", ".jsonl": "json"}
_INTEGER = re.compile(r"[+-]?\d+")
# A TSV field as CSV writers quote it: enclosed in quotes with inner quotes doubled (tabs allowed), or free of quotes.
_CSV_QUOTED_TSV_FIELD = re.compile(r'"(?:[^"]|"")*"(?=\t|$)|[^"\t]*(?=\t|$)')
# Without a task, the first layout whose columns are all present gives the text columns: pairs before single texts.
_TEXT_LAYOUTS = sorted({spec.text_columns for spec in TASKS.values()}, key=lambda columns: (-len(columns), columns))


# ---- tasks and local files ----------------------------------------------------------------------------------------


def check_task_name(task_name: str) -> str:
    """
    Return `task_name` if it is one of `TASKS` (GLUE tasks in lower case, e.g. `"sst2"`, and `"imdb"`), else raise a
    `ValueError` naming it and listing the supported tasks.
    """
    if task_name not in TASKS:
        raise ValueError(f"unknown task {task_name!r}: supported tasks are {', '.join(TASKS)}")
    return task_name


def default_data_dir() -> Path | None:
    """
    The local data directory `../shared/data` beside this repository (holding `sst2/`, `mrpc/`, `rte/`, `stsb/` and
    `imdb/`), or `None` when it is absent and the data comes from the Hub.
    """
    data_dir = Path(__file__).resolve().parents[1].parent / "shared" / "data"
    return data_dir if data_dir.is_dir() else None


def local_task_files(task_name: str, data_dir: str | Path | None = None) -> tuple[Path, Path] | None:
    """
    The train and validation files of a task in a local data directory.

    Args:
        task_name (`str`): a supported task.
        data_dir (`str` or `Path`, *optional*): defaults to `default_data_dir()`.

    Returns:
        `(train_file, validation_file)`, or `None` when the directory or either file is missing, or the task has no
        local files (see `LOCAL_TASK_FILES`).
    """
    check_task_name(task_name)
    data_dir = default_data_dir() if data_dir is None else Path(data_dir)
    if data_dir is None or task_name not in LOCAL_TASK_FILES:
        return None
    train_file, validation_file = (data_dir / name for name in LOCAL_TASK_FILES[task_name])
    return (train_file, validation_file) if train_file.is_file() and validation_file.is_file() else None


# ---- loading --------------------------------------------------------------------------------------------------------


def load_task_dataset(
    task_name: str | None = None,
    train_file: str | Path | None = None,
    validation_file: str | Path | None = None,
    max_train_samples: int | None = None,
    max_eval_samples: int | None = None,
    allow_unlabeled_train: bool = False,
) -> DatasetDict:
    """
    Load a task's train and validation data, from local files when given, else from the Hub.

    Args:
        task_name (`str`, *optional*):
            A GLUE task (`cola`, `sst2`, `mrpc`, `qqp`, `stsb`, `mnli`, `qnli`, `rte`, `wnli`) or `imdb`. Sets the text
            columns and label names. Required without files; with files and no task, the text columns are detected
            (`sentence1`+`sentence2`, `question`+`sentence`, ..., `sentence`, `text`) and the labels inferred.
        train_file (`str` or `Path`, *optional*): a TSV, CSV or JSON lines file (optionally `.gz`).
        validation_file (`str` or `Path`, *optional*): same formats; for MNLI from the Hub, `validation_matched`.
        max_train_samples (`int`, *optional*): keep only the first rows of the train split.
        max_eval_samples (`int`, *optional*): keep only the first rows of the validation split.
        allow_unlabeled_train (`bool`, *optional*, defaults to `False`):
            Accept a `train_file` without a `label` column, for distillation from an already fine-tuned teacher
            (whose logits are the only targets of a classifier's ToP losses). Its classes then come from the task or
            from the labeled `validation_file`; a regression task always needs its training labels (its loss is
            MSE on them). A file with a `label` column must still have a label in every row.

    Returns:
        [`~datasets.DatasetDict`]: `"train"` and `"validation"` (only the splits whose file was given, when loading
        files), each with the text columns and `label` (an unlabeled training file: the text columns only).

    Raises:
        `ValueError`: for an unknown task; a missing file or unknown extension; a file missing a text or label column
        (naming the file, the missing columns and the columns found); a split without rows; a row without text or
        label; a label outside the task's classes; a non-positive sample limit; an unlabeled training file with
        nothing to take the classes from, or for a regression task.
    """
    if task_name is not None:
        check_task_name(task_name)
    for name, limit in (("max_train_samples", max_train_samples), ("max_eval_samples", max_eval_samples)):
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
            raise ValueError(f"{name} must be a positive integer, got {limit!r}")
    if not isinstance(allow_unlabeled_train, bool):
        raise ValueError(f"allow_unlabeled_train must be True or False, got {allow_unlabeled_train!r}")
    files = {
        split: Path(path)
        for split, path in (("train", train_file), ("validation", validation_file))
        if path is not None
    }
    if files:
        dataset = _load_files(files, task_name, allow_unlabeled_train)
    elif task_name is None:
        raise ValueError("give a task_name (to load it from the Hub) or a train_file and/or validation_file")
    else:
        spec = TASKS[task_name]
        hub_dataset = load_dataset(spec.hub_path, spec.hub_config)
        columns = [*spec.text_columns, LABEL_COLUMN]
        dataset = DatasetDict(
            train=hub_dataset["train"].select_columns(columns),
            validation=hub_dataset[spec.hub_validation_split].select_columns(columns),
        )
    limits = {"train": max_train_samples, "validation": max_eval_samples}
    for split, data in dataset.items():
        if len(data) == 0:
            raise ValueError(f"the {split} split of {task_name!r} has no rows")
        if limits[split] is not None and limits[split] < len(data):
            dataset[split] = data.select(range(limits[split]))
    return dataset


def find_text_columns(column_names: list[str], task_name: str | None = None) -> tuple[str, ...]:
    """
    The text column(s) of a dataset, in tokenizer order.

    Args:
        column_names (`list[str]`): the dataset's columns.
        task_name (`str`, *optional*): a supported task; without it the first matching layout among
            `premise`+`hypothesis`, `question`+`sentence`, `question1`+`question2`, `sentence1`+`sentence2`,
            `sentence` and `text` is used.

    Raises:
        `ValueError`: naming the missing columns (or the layouts looked for) and the columns found.
    """
    if task_name is not None:
        expected = TASKS[check_task_name(task_name)].text_columns
        missing = [column for column in expected if column not in column_names]
        if missing:
            raise ValueError(f"task {task_name!r} needs the column(s) {missing}; columns found: {list(column_names)}")
        return expected
    for layout in _TEXT_LAYOUTS:
        if all(column in column_names for column in layout):
            return layout
    layouts = " or ".join("+".join(layout) for layout in _TEXT_LAYOUTS)
    raise ValueError(f"no text column(s) found: expected {layouts}; columns found: {list(column_names)}")


def _load_files(files: dict[str, Path], task_name: str | None, allow_unlabeled_train: bool) -> DatasetDict:
    tables = {}
    for split, path in files.items():
        if not path.is_file():
            raise ValueError(f"{split} file {str(path)!r} does not exist")
        tables[split] = _read_table(path, task_name, labels_optional=allow_unlabeled_train and split == "train")
    text_columns = {split: list(texts) for split, (texts, _) in tables.items()}
    if len({tuple(columns) for columns in text_columns.values()}) > 1:
        raise ValueError(f"the files have different text columns: {text_columns}")
    unlabeled = [str(files[split]) for split, (_, labels) in tables.items() if labels is None]
    if task_name is not None:
        label_names = TASKS[task_name].label_names
    elif len(unlabeled) == len(tables):
        raise ValueError(
            f"{unlabeled[0]} has no {LABEL_COLUMN!r} column, and without a task or a labeled validation file there "
            "is nothing to take the classes from: give the task name or a validation file"
        )
    else:
        label_names = _infer_label_names([label for _, labels in tables.values() if labels for label in labels])
    if label_names is None and unlabeled:
        raise ValueError(
            f"{unlabeled[0]} has no {LABEL_COLUMN!r} column, but a regression task trains on its labels (MSE)"
        )
    text_features = {column: Value("string") for column in next(iter(tables.values()))[0]}
    label_feature = Value("float32") if label_names is None else ClassLabel(names=list(label_names))
    dataset = DatasetDict()
    for split, (texts, labels) in tables.items():
        path = files[split]
        if labels is None:
            dataset[split] = Dataset.from_dict(texts, features=Features(text_features))
            continue
        if label_names is None:
            label_values = [_score(label, path, row) for row, label in enumerate(labels)]
        else:
            label_values = [_class_id(label, label_names, path, row) for row, label in enumerate(labels)]
        features = Features(text_features | {LABEL_COLUMN: label_feature})
        dataset[split] = Dataset.from_dict(texts | {LABEL_COLUMN: label_values}, features=features)
    return dataset


def _read_table(
    path: Path, task_name: str | None, labels_optional: bool
) -> tuple[dict[str, list[str]], list[object] | None]:
    """
    Read one file into its text columns and its raw labels (`None` for a file without a label column, when
    `labels_optional`), checking columns, row count and missing values.
    """
    table = _read_file(path)
    renames = TASKS[task_name].file_columns if task_name is not None else {}
    header = table.column_names
    table = table.rename_columns({old: new for old, new in renames.items() if old in header and new not in header})
    header = table.column_names
    try:
        text_columns = find_text_columns(header, task_name)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None
    labeled = LABEL_COLUMN in header
    if not labeled and not labels_optional:
        raise ValueError(
            f"{path}: missing column {LABEL_COLUMN!r} (unlabeled data cannot be evaluated on or fine-tuned on; a "
            f"training file may be unlabeled only for distillation from a given teacher); columns found: {header}"
        )
    if len(table) == 0:
        raise ValueError(f"{path} has no data rows")
    columns = table.select_columns([*text_columns, LABEL_COLUMN] if labeled else list(text_columns))[:]
    for column in text_columns:
        for row, text in enumerate(columns[column]):
            if not isinstance(text, str):
                raise ValueError(f"{path}: row {row} has no text in column {column!r} (got {text!r})")
    if not labeled:
        return columns, None
    labels = columns.pop(LABEL_COLUMN)
    for row, label in enumerate(labels):
        if label is None or label == "":
            raise ValueError(
                f"{path}: row {row} has no label (a file with a {LABEL_COLUMN!r} column needs one in every row)"
            )
    return columns, labels


def _read_file(path: Path) -> Dataset:
    """Read a TSV, CSV or JSON lines file (optionally gzip-compressed) with the `datasets` loaders."""
    suffixes = [suffix.lower() for suffix in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    file_format = _FILE_FORMATS.get(suffixes[-1]) if suffixes else None
    if file_format is None:
        raise ValueError(
            f"{path}: unsupported file type; use one of {', '.join(_FILE_FORMATS)} (optionally gzip-compressed, .gz)"
        )
    if file_format == "json":
        # The loader also reads a JSON array (`[...]`, even of non-objects, as a column "text"): JSON lines only here.
        _check_json_lines(path, first_only=True)
        try:
            return load_dataset("json", data_files=str(path), split="train")
        except DatasetGenerationError:
            _check_json_lines(path)  # pyarrow's parse errors name neither the file nor its line
            raise
    delimiter, quoting = (",", csv.QUOTE_MINIMAL) if file_format == "csv" else ("\t", _tsv_quoting(path))
    header, num_rows = _check_delimited(path, delimiter, quoting)
    features = Features({column: Value("string") for column in header})  # "1" stays "1", not 1 (pandas: dtype=str)
    if num_rows == 0:  # the loader makes no split of a file without rows
        return Dataset.from_dict({column: [] for column in header}, features=features)
    return load_dataset(
        "csv",
        data_files=str(path),
        split="train",
        delimiter=delimiter,
        quoting=quoting,
        encoding="utf-8-sig",  # drops MRPC's byte order mark
        na_filter=False,  # "", "NA", "null", ... stay strings
        features=features,
    )


def _open_text(path: Path) -> TextIO:
    if path.suffix.lower() == ".gz":
        return gzip.open(path, "rt", encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")


def _tsv_quoting(path: Path) -> int:
    """`QUOTE_MINIMAL` if every line holding a double quote splits into CSV-quoted fields, else `QUOTE_NONE`."""
    # The loader (pandas) takes one fixed quoting: GLUE's files need QUOTE_NONE, a pandas-written TSV QUOTE_MINIMAL.
    quoted_lines = 0
    with _open_text(path) as stream:
        for line in stream:
            line = line.rstrip("\r\n")
            if '"' not in line:
                continue
            position = 0
            while position <= len(line):
                field_match = _CSV_QUOTED_TSV_FIELD.match(line, position)
                if field_match is None:
                    return csv.QUOTE_NONE
                position = field_match.end() + 1  # past the tab
            quoted_lines += 1
    return csv.QUOTE_MINIMAL if quoted_lines else csv.QUOTE_NONE


def _check_delimited(path: Path, delimiter: str, quoting: int) -> tuple[list[str], int]:
    """The header and the number of rows of a TSV or CSV file, once every row is checked to have as many fields."""
    # The loader (pandas) fills a short row's missing fields with "" and, when every row has one field more than the
    # header, reads the first column as an index: both silently, hence this check.
    with _open_text(path) as stream:
        reader = csv.reader(stream, delimiter=delimiter, quoting=quoting)
        header = next(reader, None)
        if header is None:
            raise ValueError(f"{path} is empty (no header line)")
        num_rows = 0
        for values in reader:
            if values and len(values) != len(header):
                raise ValueError(
                    f"{path}, line {reader.line_num}: expected {len(header)} fields like the header, found "
                    f"{len(values)}"
                )
            num_rows += bool(values)
    return header, num_rows


def _check_json_lines(path: Path, first_only: bool = False) -> None:
    """Raise a `ValueError` naming the file and line of the first line that is not a JSON object, or an empty file."""
    with _open_text(path) as stream:
        lines = ((number, line) for number, line in enumerate(stream, start=1) if line.strip())
        for line_number, line in lines:
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}, line {line_number}: not JSON lines ({error})") from None
            if not isinstance(record, dict):
                raise ValueError(f"{path}, line {line_number}: expected a JSON object, got {type(record).__name__}")
            if first_only:
                return
    if first_only:
        raise ValueError(f"{path} has no data rows")


def _infer_label_names(labels: list[object]) -> tuple[str, ...] | None:
    """Class names for labels of a file without a task; `None` (regression) when they are decimal numbers."""
    if all(_is_integer_label(label) for label in labels):
        return tuple(str(value) for value in sorted({int(label) for label in labels}))
    if all(isinstance(label, (int, float, str)) and _as_float(label) is not None for label in labels):
        return None
    return tuple(sorted({str(label) for label in labels}))


def _is_integer_label(label: object) -> bool:
    if isinstance(label, str):
        return _INTEGER.fullmatch(label.strip()) is not None
    return isinstance(label, int) and not isinstance(label, bool)


def _as_float(label: object) -> float | None:
    try:
        value = float(label)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) and not isinstance(label, bool) else None


def _class_id(label: object, label_names: tuple[str, ...], path: Path, row: int) -> int:
    if isinstance(label, str) and label.strip() in label_names:
        return label_names.index(label.strip())
    integral = _is_integer_label(label) or (isinstance(label, float) and label.is_integer())
    if integral and 0 <= int(label) < len(label_names):
        return int(label)
    raise ValueError(
        f"{path}: row {row} has label {label!r}; expected a class id in 0..{len(label_names) - 1} or one of "
        f"{list(label_names)} (GLUE test files are unlabeled, with -1 or no label)"
    )


def _score(label: object, path: Path, row: int) -> float:
    value = _as_float(label)
    if value is None:
        raise ValueError(f"{path}: row {row} has label {label!r}; a regression task needs a finite number")
    return value


# ---- labels and tokenization ----------------------------------------------------------------------------------------


def dataset_label_names(dataset: Dataset | DatasetDict) -> list[str] | None:
    """
    The class names of a dataset's `label` column, or `None` for a regression task (float labels).

    Args:
        dataset ([`~datasets.Dataset`] or [`~datasets.DatasetDict`]): for a `DatasetDict`, its first split with a
            `label` column (an unlabeled training split has none).

    Raises:
        `ValueError`: when the dataset has no `label` column, or one that is neither a `ClassLabel` nor a float.
    """
    if isinstance(dataset, DatasetDict):
        splits = list(dataset.values())
        dataset = next((split for split in splits if LABEL_COLUMN in split.column_names), splits[0])
    label_feature = dataset.features.get(LABEL_COLUMN)
    if isinstance(label_feature, ClassLabel):
        return list(label_feature.names)
    if isinstance(label_feature, Value) and label_feature.dtype.startswith("float"):
        return None
    raise ValueError(
        f"expected a {LABEL_COLUMN!r} column holding a ClassLabel or floats, got {label_feature!r} among the "
        f"columns {dataset.column_names}"
    )


def dataset_num_labels(dataset: Dataset | DatasetDict) -> int:
    """The number of classes of a dataset's `label` column, 1 for a regression task (see `dataset_label_names`)."""
    label_names = dataset_label_names(dataset)
    return 1 if label_names is None else len(label_names)


def check_max_seq_length(
    max_seq_length: int, tokenizer: PreTrainedTokenizerBase, model_config: PretrainedConfig | None = None
) -> int:
    """
    Validate a maximum sequence length against the tokenizer and, when given, the model.

    Args:
        max_seq_length (`int`): the length inputs are truncated to, special tokens included.
        tokenizer ([`~transformers.PreTrainedTokenizerBase`]): its `model_max_length` is an upper bound.
        model_config ([`~transformers.PretrainedConfig`], *optional*): its `max_position_embeddings` is an upper bound.

    Returns:
        `int`: `max_seq_length`, unchanged.

    Raises:
        `ValueError`: naming the value and the limit it breaks (at least 4 tokens: `[CLS]`, two `[SEP]` and a text).
    """
    if not isinstance(max_seq_length, int) or isinstance(max_seq_length, bool):
        raise ValueError(f"max_seq_length must be an integer, got {max_seq_length!r}")
    minimum = tokenizer.num_special_tokens_to_add(pair=True) + 1
    if max_seq_length < minimum:
        raise ValueError(
            f"max_seq_length={max_seq_length} is too short: it must leave room for the special tokens "
            f"and one text token (at least {minimum})"
        )
    if max_seq_length > tokenizer.model_max_length:
        raise ValueError(
            f"max_seq_length={max_seq_length} is larger than the tokenizer's model_max_length="
            f"{tokenizer.model_max_length}"
        )
    max_positions = getattr(model_config, "max_position_embeddings", None)
    if max_positions is not None and max_seq_length > max_positions:
        raise ValueError(
            f"max_seq_length={max_seq_length} is larger than the model's max_position_embeddings={max_positions}"
        )
    return max_seq_length


def tokenize_dataset(
    dataset: Dataset | DatasetDict,
    tokenizer: PreTrainedTokenizerBase,
    max_seq_length: int,
    task_name: str | None = None,
    model_config: PretrainedConfig | None = None,
) -> Dataset | DatasetDict:
    """
    Tokenize the text column(s), truncating every sequence to `max_seq_length` tokens, without padding.

    Pad per batch with [`~transformers.DataCollatorWithPadding`]: ToP charges FLOPs on real tokens only, and shorter
    batches run faster. Only the tokenizer's outputs and `label` are kept.

    Args:
        dataset ([`~datasets.Dataset`] or [`~datasets.DatasetDict`]): as returned by `load_task_dataset`.
        tokenizer ([`~transformers.PreTrainedTokenizerBase`]): the model's tokenizer.
        max_seq_length (`int`): the truncation length, checked by `check_max_seq_length`.
        task_name (`str`, *optional*): the task, which fixes the text columns (detected without it).
        model_config ([`~transformers.PretrainedConfig`], *optional*): checks `max_seq_length` against the model.
    """
    check_max_seq_length(max_seq_length, tokenizer, model_config)
    if isinstance(dataset, DatasetDict):
        return DatasetDict(
            {split: tokenize_dataset(data, tokenizer, max_seq_length, task_name) for split, data in dataset.items()}
        )
    text_columns = find_text_columns(dataset.column_names, task_name)

    def tokenize(batch: dict[str, list]) -> dict[str, list]:
        return tokenizer(*(batch[column] for column in text_columns), truncation=True, max_length=max_seq_length)

    removed = [column for column in dataset.column_names if column != LABEL_COLUMN]
    return dataset.map(tokenize, batched=True, remove_columns=removed, desc="Tokenizing")


# ---- metrics --------------------------------------------------------------------------------------------------------


def task_metric_names(task_name: str | None, num_labels: int = 2) -> tuple[str, ...]:
    """
    Names of the metrics reported for a task, in the order `compute_task_metrics` returns them.

    Args:
        task_name (`str`, *optional*): a supported task, or `None` for custom data files.
        num_labels (`int`, *optional*, defaults to 2): number of labels, 1 for regression. Checked against the task.
    """
    if task_name is not None:
        check_task_name(task_name)
    if not isinstance(num_labels, int) or isinstance(num_labels, bool) or num_labels < 1:
        raise ValueError(f"num_labels must be a positive integer (1 for regression), got {num_labels!r}")
    if task_name is None:
        return ("pearson", "spearmanr") if num_labels == 1 else ("accuracy",)
    if (task_name in REGRESSION_TASKS) != (num_labels == 1):
        kind = "a regression task (num_labels 1)" if task_name in REGRESSION_TASKS else "a classification task"
        raise ValueError(f"task {task_name!r} is {kind}, got num_labels={num_labels}")
    return TASK_METRICS[task_name]


def task_main_metric(task_name: str | None, num_labels: int = 2) -> str:
    """
    The metric used to report a task and to select the best checkpoint (e.g. `metric_for_best_model`).

    Args:
        task_name (`str`, *optional*): a supported task, or `None` for custom data files.
        num_labels (`int`, *optional*, defaults to 2): number of labels, 1 for regression.

    Example:

    ```python
    >>> task_main_metric("mrpc"), task_main_metric("stsb", num_labels=1), task_main_metric(None)
    ('f1', 'pearson', 'accuracy')
    ```
    """
    names = task_metric_names(task_name, num_labels)
    return _MAIN_METRIC.get(task_name, names[0])


def compute_task_metrics(
    task_name: str | None, predictions: Sequence[float] | np.ndarray, labels: Sequence[float] | np.ndarray
) -> dict[str, float]:
    """
    Compute the metrics of a task from final predictions (class ids, or scores for regression).

    Args:
        task_name (`str`, *optional*): a supported task, or `None` for custom data files.
        predictions (`np.ndarray` of shape `(n,)`): predicted class ids, or predicted scores for regression.
        labels (`np.ndarray` of shape `(n,)`): reference class ids or scores. Without a task, floating-point labels
            mean regression.

    Returns:
        `dict[str, float]`: the metrics of `task_metric_names`, as Python floats. A correlation is `nan` when the
        predictions or the labels are constant (as with `evaluate`).
    """
    predictions = np.asarray(predictions)
    labels = np.asarray(labels)
    if predictions.ndim != 1 or predictions.shape != labels.shape:
        raise ValueError(
            f"predictions and labels must be 1-D arrays of the same length, got shapes {predictions.shape} and "
            f"{labels.shape}"
        )
    if predictions.size == 0:
        raise ValueError("cannot compute metrics on an empty evaluation set")
    if task_name is None:
        is_regression = np.issubdtype(labels.dtype, np.floating)
    else:
        is_regression = check_task_name(task_name) in REGRESSION_TASKS
    names = task_metric_names(task_name, 1 if is_regression else 2)
    return {name: float(_METRIC_FUNCTIONS[name](predictions, labels)) for name in names}


def build_compute_metrics(task_name: str | None, num_labels: int) -> Callable[[EvalPrediction], dict[str, float]]:
    """
    Build a `compute_metrics` function for [`~transformers.Trainer`].

    Classification logits are turned into class ids with an argmax; regression outputs (shape `(n, 1)`) are used as
    scores. When the model returns more than the logits, the Trainer passes a tuple whose first item is the logits.

    Args:
        task_name (`str`, *optional*): a supported task, or `None` for custom data files.
        num_labels (`int`): the model's number of labels, 1 for regression. Checked against the task.

    Example:

    ```python
    >>> import numpy as np
    >>> from transformers import EvalPrediction
    >>> compute_metrics = build_compute_metrics("sst2", num_labels=2)
    >>> compute_metrics(EvalPrediction(predictions=np.array([[0.1, 0.9], [2.0, 0.0]]), label_ids=np.array([1, 1])))
    {'accuracy': 0.5}
    ```
    """
    task_metric_names(task_name, num_labels)

    def compute_metrics(eval_prediction: EvalPrediction) -> dict[str, float]:
        logits = eval_prediction.predictions
        if isinstance(logits, (tuple, list)):
            logits = logits[0]
        logits = np.asarray(logits)
        if logits.ndim != 2 or logits.shape[-1] != num_labels:
            raise ValueError(f"expected logits of shape (n, {num_labels}), got {logits.shape}")
        labels = np.asarray(eval_prediction.label_ids)
        if num_labels == 1:
            return compute_task_metrics(task_name, logits[:, 0], labels.astype(np.float64))
        return compute_task_metrics(task_name, logits.argmax(axis=-1), labels.astype(np.int64))

    return compute_metrics
