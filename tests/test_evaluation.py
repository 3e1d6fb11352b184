"""compute_metrics against values worked out by hand, and the terminal table."""

from __future__ import annotations

import math

import numpy as np
import pytest

from seqsent.evaluation import compute_metrics, format_metrics

# Binary: P(pos) per example; predictions [0, 1, 1, 0, 1] against truth [0, 0, 1, 1, 1].
BINARY_TRUE = np.array([0, 0, 1, 1, 1])
BINARY_P1 = np.array([0.1, 0.6, 0.8, 0.4, 0.9])
BINARY_PROBS = np.stack([1 - BINARY_P1, BINARY_P1], axis=1).astype("float32")

# 3 classes: predictions [0, 1, 1, 1, 2, 0] against truth [0, 0, 1, 1, 2, 2].
MULTI_TRUE = np.array([0, 0, 1, 1, 2, 2])
MULTI_PROBS = np.array([
    [0.7, 0.2, 0.1],
    [0.3, 0.5, 0.2],
    [0.1, 0.8, 0.1],
    [0.2, 0.6, 0.2],
    [0.1, 0.2, 0.7],
    [0.5, 0.1, 0.4],
], dtype="float32")


@pytest.fixture(scope="module")
def binary():
    return compute_metrics(BINARY_TRUE, BINARY_PROBS, ["neg", "pos"])


@pytest.fixture(scope="module")
def multi():
    return compute_metrics(MULTI_TRUE, MULTI_PROBS, ["bad", "good", "meh"])


def test_binary_accuracy_precision_recall_f1(binary):
    # TP = 2 (examples 2, 4), FP = 1 (example 1), FN = 1 (example 3), TN = 1
    assert binary["examples"] == 5
    assert binary["accuracy"] == pytest.approx(3 / 5)
    assert binary["precision"] == pytest.approx(2 / 3)
    assert binary["recall"] == pytest.approx(2 / 3)
    assert binary["f1"] == pytest.approx(2 / 3)
    assert "pos" in binary["average"]


def test_binary_confusion_matrix_has_true_rows_and_predicted_columns(binary):
    assert binary["confusion_matrix"] == [[1, 1], [1, 2]]


def test_binary_roc_auc_counts_correctly_ordered_pairs(binary):
    # positives {0.8, 0.4, 0.9} vs negatives {0.1, 0.6}: 5 of 6 pairs ranked right
    assert binary["roc_auc"] == pytest.approx(5 / 6)


def test_binary_log_loss(binary):
    expected = -(math.log(0.9) + math.log(0.4) + math.log(0.8) + math.log(0.4) + math.log(0.9)) / 5
    assert binary["loss"] == pytest.approx(expected, rel=1e-5)


def test_binary_roc_auc_is_absent_when_test_has_one_class():
    metrics = compute_metrics(np.array([1, 1]), np.array([[0.2, 0.8], [0.6, 0.4]]), ["neg", "pos"])
    assert metrics["roc_auc"] is None
    assert metrics["accuracy"] == pytest.approx(0.5)
    assert "roc_auc" not in format_metrics(metrics)


def test_three_class_macro_precision_recall_f1(multi):
    # per class precision 1/2, 2/3, 1; recall 1/2, 1, 1/2; F1 1/2, 4/5, 2/3
    assert multi["accuracy"] == pytest.approx(4 / 6)
    assert multi["precision"] == pytest.approx((1 / 2 + 2 / 3 + 1) / 3)
    assert multi["recall"] == pytest.approx((1 / 2 + 1 + 1 / 2) / 3)
    assert multi["f1"] == pytest.approx((1 / 2 + 4 / 5 + 2 / 3) / 3)
    assert multi["average"] == "macro"


def test_three_class_confusion_matrix(multi):
    assert multi["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]


def test_three_class_log_loss(multi):
    expected = -sum(math.log(p) for p in (0.7, 0.3, 0.8, 0.6, 0.7, 0.4)) / 6
    assert multi["loss"] == pytest.approx(expected, rel=1e-5)


def test_three_class_roc_auc_is_not_reported(multi):
    # README: ROC-AUC is reported for 2 classes only
    assert multi["roc_auc"] is None
    assert "roc_auc" not in format_metrics(multi)


def test_unnormalised_float32_rows_are_renormalised():
    probs = np.array([[0.30000001, 0.70000005], [0.9, 0.1]], dtype="float32")
    metrics = compute_metrics(np.array([1, 0]), probs, ["neg", "pos"])
    assert metrics["accuracy"] == 1.0
    assert np.isfinite(metrics["loss"])


def test_format_metrics_shows_class_names_and_values(multi, binary):
    table = format_metrics(multi)
    for name in ("bad", "good", "meh"):
        assert name in table
    assert "accuracy   0.6667" in table
    assert "confusion matrix" in table
    rows = table.splitlines()
    bad_row = next(r for r in rows if r.startswith("bad"))
    assert bad_row.split()[1:] == ["1", "1", "0"]
    binary_table = format_metrics(binary)
    assert "neg" in binary_table and "pos" in binary_table
    assert "roc_auc    0.8333" in binary_table


def test_format_metrics_widens_columns_for_long_class_names():
    metrics = compute_metrics(np.array([0, 1]), np.array([[0.9, 0.1], [0.2, 0.8]]),
                              ["strongly-negative", "strongly-positive"])
    table = format_metrics(metrics)
    assert "strongly-negative" in table and "strongly-positive" in table
    header = next(line for line in table.splitlines() if "strongly-positive" in line and line.startswith(" "))
    assert header.split() == ["strongly-negative", "strongly-positive"]
