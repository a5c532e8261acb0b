"""
Reading one local data file of the example scripts into a [`~datasets.Dataset`], with the `datasets` loaders plus the
checks they cannot do. The columns and classes of a task, and the splits, are `tasks.load_task_dataset`'s.

Every TSV/CSV value is read as a string (`"NA"` or `"null"` stay text). A file may be:

- TSV (`.tsv`): quotes are literal text (GLUE's `QUOTE_NONE`) unless every field holding a double quote is entirely
  enclosed in quotes with its inner quotes doubled, which is how CSV writers such as pandas quote (e.g. a TSV exported
  with `DataFrame.to_csv(sep="\\t")`); such quoted fields may hold tabs but not line breaks.
- CSV (`.csv`): standard CSV quoting.
- JSON lines (`.jsonl` or `.json`, one object a line).

Any of them may be gzip-compressed (`.gz`) and may start with a UTF-8 byte order mark. A malformed file is rejected
with a `ValueError` naming it (and the line, when there is one): a row with more or fewer fields than the header, an
empty file, a line that is not a JSON object, an unknown extension. The raw labels of a file become class ids or
regression scores with `convert_labels` (`infer_label_names` guesses the classes without a task), rejecting a bad
label with the file, the row and the label.
"""

from __future__ import annotations

import csv
import gzip
import json
import math
import re
from pathlib import Path
from typing import TextIO

from datasets import Dataset, Features, Value, load_dataset
from datasets.exceptions import DatasetGenerationError

_FILE_FORMATS = {".tsv": "tsv", ".csv": "csv", ".json": "json", ".jsonl": "json"}
_INTEGER = re.compile(r"[+-]?\d+")
# A TSV field as CSV writers quote it: enclosed in quotes with inner quotes doubled (tabs allowed), or free of quotes.
_CSV_QUOTED_TSV_FIELD = re.compile(r'"(?:[^"]|"")*"(?=\t|$)|[^"\t]*(?=\t|$)')


def read_data_file(path: Path) -> Dataset:
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


def infer_label_names(labels: list[object]) -> tuple[str, ...] | None:
    """Class names for the raw labels of files without a task; `None` (regression) when they are decimal numbers."""
    if all(_is_integer_label(label) for label in labels):
        return tuple(str(value) for value in sorted({int(label) for label in labels}))
    if all(isinstance(label, (int, float, str)) and _as_float(label) is not None for label in labels):
        return None
    return tuple(sorted({str(label) for label in labels}))


def convert_labels(labels: list[object], label_names: tuple[str, ...] | None, path: Path) -> list[int] | list[float]:
    """
    The raw labels of one file as class ids of `label_names` (ids or names), or as regression scores when
    `label_names` is `None`.

    Raises:
        `ValueError`: naming the file, the row and the label, for a label that is not one of the classes, or a score
        that is not a finite number.
    """
    if label_names is None:
        return [_score(label, path, row) for row, label in enumerate(labels)]
    return [_class_id(label, label_names, path, row) for row, label in enumerate(labels)]


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
