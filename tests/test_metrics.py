"""Offline task metrics against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from transformers import EvalPrediction

from transformers_top.data import TASKS
from transformers_top.metrics import (
    REGRESSION_TASKS,
    TASK_METRICS,
    build_compute_metrics,
    check_task_name,
    compute_task_metrics,
    task_main_metric,
)

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
