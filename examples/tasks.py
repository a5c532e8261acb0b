"""
Task plumbing of the example scripts: the task registry (GLUE and IMDB) and their data, from the Hugging Face Hub or
from local files offline, tokenized for the models. This is not part of the `transformers_top` library. One local file
is read by `task_files`; the task metrics are in `task_metrics`.

Every loader returns a [`~datasets.DatasetDict`] with the splits `"train"` and/or `"validation"`, the task's text
column(s) (GLUE names: `sentence`, `sentence1`/`sentence2`, `question`/`sentence`, ...; IMDB: `text`) and a `label`
column: a `ClassLabel` for classification, `float32` scores for regression (STS-B). Local files are TSV, CSV or JSON
lines, optionally gzip-compressed (see `task_files`); the GLUE release TSV layouts are recognised per task (MRPC's
`Quality`, `#1 String`, `#2 String`; STS-B's `score`; QQP's `is_duplicate`; MNLI's `sentence1`, `sentence2`,
`gold_label`).

Labels may be class ids or, for a known task, the GLUE label names (e.g. `entailment`); without a task, integer labels
and free-form strings become classes and decimal numbers make a regression task. With `allow_unlabeled_train=True` a
classification task's training file may have no label column: ToP's distillation from a fine-tuned teacher never reads
the training labels of a classifier, so unlabeled in-domain text can be distilled on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from datasets import ClassLabel, Dataset, DatasetDict, Features, Value, load_dataset
from task_files import convert_labels, infer_label_names, read_data_file
from transformers import PretrainedConfig, PreTrainedTokenizerBase

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
"""The supported tasks (the same names as `task_metrics.TASK_METRICS`)."""

LOCAL_TASK_FILES: dict[str, tuple[str, str]] = {
    "sst2": ("sst2/train.tsv", "sst2/dev.tsv"),
    "mrpc": ("mrpc/train.tsv", "mrpc/dev.tsv"),
    "rte": ("rte/train.tsv", "rte/dev.tsv"),
    "stsb": ("stsb/train.tsv", "stsb/dev.tsv"),
    "imdb": ("imdb/train.jsonl.gz", "imdb/test.jsonl.gz"),
}
"""Train and validation files of each task under the local data directory (see `default_data_dir`)."""

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
        label_names = infer_label_names([label for _, labels in tables.values() if labels for label in labels])
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
        label_values = convert_labels(labels, label_names, path)
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
    table = read_data_file(path)
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
