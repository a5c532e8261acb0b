"""
The GLUE and IMDB metrics of the example scripts. The numbers are those of `evaluate.load("glue", task)` and
`evaluate.load("accuracy")`, computed with the same scikit-learn and scipy functions (`f1_score`, `matthews_corrcoef`,
`pearsonr`, `spearmanr`) without `evaluate`, whose metric scripts come from the Hub and fail offline. This is not part
of the `transformers_top` library; it needs the `examples` extra (scikit-learn, scipy).

Per task (the GLUE conventions), with the main metric used for reporting and model selection:

| task | metrics | main metric |
|---|---|---|
| cola | matthews_correlation | matthews_correlation |
| sst2, mnli, qnli, rte, wnli, imdb | accuracy | accuracy |
| mrpc | accuracy, f1 | f1 |
| qqp | accuracy, f1 | accuracy |
| stsb | pearson, spearmanr | pearson |

Without a task (custom data files): accuracy for classification, pearson and spearmanr for regression. The tasks and
`check_task_name` are the registry's, in `tasks` (which does not import this module).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from scipy.stats import pearsonr, spearmanr
from sklearn.metrics import f1_score, matthews_corrcoef
from tasks import TASKS, check_task_name
from transformers import EvalPrediction

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

_MAIN_METRIC = {"mrpc": "f1"}
# The definitions of GLUE's metric script (`evaluate.load("glue", task)`), called as (predictions, labels).
_METRIC_FUNCTIONS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "accuracy": lambda predictions, labels: (predictions == labels).mean(),
    "f1": lambda predictions, labels: f1_score(y_true=labels, y_pred=predictions),
    "matthews_correlation": lambda predictions, labels: matthews_corrcoef(labels, predictions),
    "pearson": lambda predictions, labels: pearsonr(predictions, labels)[0],
    "spearmanr": lambda predictions, labels: spearmanr(predictions, labels)[0],
}


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
