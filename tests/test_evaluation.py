"""compute_metrics against values worked out by hand, and the terminal table."""

from __future__ import annotations

import math

import numpy as np
import pytest

from seqsent.evaluation.metrics import compute_metrics, format_metrics

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


# ---------------------------------------------------------------- thresholds and per-class metrics


def test_binary_threshold_moves_the_decision():
    from seqsent.evaluation.metrics import compute_metrics as metrics_at

    # P(pos) >= 0.35 predicts [0, 1, 1, 1, 1]: TP 3, FP 1, FN 0, TN 1
    low = metrics_at(BINARY_TRUE, BINARY_PROBS, ["neg", "pos"], threshold=0.35)
    assert low["confusion_matrix"] == [[1, 1], [0, 3]]
    assert (low["accuracy"], low["precision"], low["recall"]) == pytest.approx((4 / 5, 3 / 4, 1.0))
    assert low["f1"] == pytest.approx(6 / 7)
    assert low["threshold"] == 0.35 and "threshold  0.3500" in format_metrics(low)
    # P(pos) >= 0.85 predicts [0, 0, 0, 0, 1]: TP 1, FP 0, FN 2, TN 2
    high = metrics_at(BINARY_TRUE, BINARY_PROBS, ["neg", "pos"], threshold=0.85)
    assert (high["accuracy"], high["precision"], high["recall"], high["f1"]) == pytest.approx((3 / 5, 1.0, 1 / 3, 0.5))
    assert high["roc_auc"] == pytest.approx(5 / 6)  # ranking metrics do not depend on the threshold


def test_threshold_is_ignored_with_more_than_two_classes(multi):
    again = compute_metrics(MULTI_TRUE, MULTI_PROBS, ["bad", "good", "meh"], threshold=0.9)
    assert again["confusion_matrix"] == multi["confusion_matrix"] and "threshold" not in again


def test_best_f1_threshold_on_hand_computed_scores():
    from seqsent.evaluation.metrics import best_f1_threshold

    # thresholds 0.1 / 0.4 / 0.6 / 0.8 / 0.9 give F1 3/4, 6/7, 2/3, 4/5, 1/2
    best = best_f1_threshold(BINARY_TRUE, BINARY_P1)
    assert best == {"threshold": pytest.approx(0.4), "f1": pytest.approx(6 / 7), "examples": 5}
    assert best_f1_threshold(np.array([1, 1]), np.array([0.2, 0.9])) is None


def test_three_class_per_class_metrics_one_vs_rest():
    from seqsent.evaluation.metrics import per_class_metrics

    per_class = per_class_metrics(MULTI_TRUE, MULTI_PROBS, ["bad", "good", "meh"])
    # bad vs rest: positives score 0.7, 0.3; negatives 0.1, 0.2, 0.1, 0.5 -> 7 of 8 pairs ranked right;
    # ranked 0.7+ 0.5- 0.3+: average precision (1 + 2/3) / 2
    assert per_class["bad"] == pytest.approx({"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2,
                                              "roc_auc": 7 / 8, "average_precision": 5 / 6})
    assert per_class["good"] == pytest.approx({"precision": 2 / 3, "recall": 1.0, "f1": 0.8, "support": 2,
                                               "roc_auc": 1.0, "average_precision": 1.0})
    assert per_class["meh"] == pytest.approx({"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 2,
                                              "roc_auc": 1.0, "average_precision": 1.0})
    absent = per_class_metrics(np.array([0, 0]), MULTI_PROBS[:2], ["bad", "good", "meh"])
    assert absent["good"]["roc_auc"] is None and absent["bad"]["average_precision"] is None


def test_a_class_absent_from_the_test_data_is_said_not_shown_as_plain_zeros():
    from seqsent.evaluation.metrics import absent_class_notes, compute_metrics

    only_ham = compute_metrics(np.zeros(4, dtype=int), np.array([[0.9, 0.1]] * 4), ["ham", "spam"])
    assert only_ham["recall"] == 0.0 and only_ham["roc_auc"] is None
    assert absent_class_notes(["ham", "spam"], only_ham["confusion_matrix"]) == [
        "the test data has no example of the positive class 'spam': its recall is undefined (precision, recall and "
        "F1 are shown as 0) and so is ROC-AUC (not shown)"]
    assert absent_class_notes(["ham", "spam"], [[0, 0], [1, 3]]) == [
        "the test data has no example of 'ham': ROC-AUC needs both classes (not shown)"]
    assert absent_class_notes(["a", "b", "c"], [[2, 0, 0], [0, 0, 0], [0, 1, 1]]) == [
        "the test data has no example of 'b': the macro averages count each such class with recall and F1 0"]
    assert absent_class_notes(["ham", "spam"], [[2, 1], [0, 3]]) == []


def test_a_prepared_directory_of_fewer_classes_is_scored_and_one_of_a_class_the_model_lacks_is_refused(
        tmp_path, binary_text_model, three_class_text_model):
    """A prepared directory names its own classes: its labels are read as the model's (was an error blaming a
    --classes option nobody gave)."""
    from conftest import tiny_texts, write_csv
    from seqsent.config import DataConfig
    from seqsent.data.prepare import prepare
    from seqsent.errors import DataError
    from seqsent.evaluation.scoring import evaluate_model
    from seqsent.serving.inference import in_memory_model

    for name, labels in (("two", ("bad", "good")), ("three", ("bad", "good", "meh"))):
        write_csv(tmp_path / f"{name}.csv", tiny_texts(labels, per_class=30))
        prepare(DataConfig(source=str(tmp_path / f"{name}.csv")), tmp_path / name, shards=1)
    three_classes = in_memory_model(three_class_text_model, ["bad", "good", "meh"])
    evaluation = evaluate_model(three_classes, DataConfig(source=str(tmp_path / "two")))
    rows = evaluation.metrics["confusion_matrix"]
    assert evaluation.metrics["examples"] > 0 and sum(rows[2]) == 0  # no 'meh' row: labels in the model's order
    assert sum(rows[0]) + sum(rows[1]) == evaluation.metrics["examples"]
    with pytest.raises(DataError, match=r"has labels not seen in the training data: 'meh' \(known: bad, good\)"):
        evaluate_model(in_memory_model(binary_text_model, ["bad", "good"]), DataConfig(source=str(tmp_path / "three")))
