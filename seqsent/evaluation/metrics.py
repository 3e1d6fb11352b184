"""Metrics from predicted probabilities, so any model form (Keras or SavedModel) is scored the same way."""

from __future__ import annotations

import numpy as np
from sklearn import metrics as skm


def absent_class_notes(class_names: list[str], confusion_matrix: list[list[int]] | None) -> list[str]:
    """What a test split without some class leaves undefined, said rather than shown as plain zeros."""
    absent = [name for name, row in zip(class_names, confusion_matrix or []) if not sum(row)]
    if not absent:
        return []
    if len(class_names) > 2:
        return [f"the test data has no example of {', '.join(map(repr, absent[:5]))}: the macro averages count each "
                "such class with recall and F1 0"]
    if class_names[1] in absent:
        return [f"the test data has no example of the positive class {class_names[1]!r}: its recall is undefined "
                "(precision, recall and F1 are shown as 0) and so is ROC-AUC (not shown)"]
    return [f"the test data has no example of {class_names[0]!r}: ROC-AUC needs both classes (not shown)"]


def predicted_classes(probabilities: np.ndarray, threshold: float | None = None) -> np.ndarray:
    """Argmax; with 2 classes and a `threshold`, class 1 when its probability is at least the threshold."""
    probabilities = np.asarray(probabilities)
    if threshold is not None and probabilities.shape[1] == 2:
        return (probabilities[:, 1] >= threshold).astype(np.int64)
    return probabilities.argmax(axis=1)


def compute_metrics(y_true: np.ndarray, probabilities: np.ndarray, class_names: list[str],
                    threshold: float | None = None) -> dict:
    """Accuracy, precision, recall, F1 (positive class for 2 classes, macro otherwise), ROC-AUC, log loss.

    With 2 classes, `threshold` on P(class 1) decides instead of the argmax.
    """
    y_true = np.asarray(y_true, dtype=np.int64)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    probabilities = probabilities / probabilities.sum(axis=1, keepdims=True)  # float32 rounding
    n_classes = len(class_names)
    y_pred = predicted_classes(probabilities, threshold)
    labels = list(range(n_classes))
    binary = n_classes == 2
    average = "binary" if binary else "macro"
    precision, recall, f1, _ = skm.precision_recall_fscore_support(
        y_true, y_pred, labels=labels if not binary else None, average=average, pos_label=1, zero_division=0
    )
    result = {
        "examples": int(len(y_true)),
        "accuracy": float(skm.accuracy_score(y_true, y_pred)),
        "precision": float(precision),
        "recall": float(recall),
        "f1": float(f1),
        "loss": float(skm.log_loss(y_true, _clipped(probabilities), labels=labels)),
        "roc_auc": None,
        "average": "binary (positive class: %s)" % class_names[1] if binary else "macro",
        "class_names": list(class_names),
        "confusion_matrix": skm.confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }
    if binary and len(np.unique(y_true)) == 2:
        result["roc_auc"] = float(skm.roc_auc_score(y_true, probabilities[:, 1]))
    if binary and threshold is not None:
        result["threshold"] = float(threshold)
    return result


def per_class_metrics(y_true: np.ndarray, probabilities: np.ndarray, class_names: list[str],
                      threshold: float | None = None) -> dict:
    """Per class: precision, recall, F1, support, and one-vs-rest ROC-AUC and average precision
    (None for a class absent from, or alone in, y_true)."""
    y_true = np.asarray(y_true, dtype=np.int64)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    labels = list(range(len(class_names)))
    precision, recall, f1, support = skm.precision_recall_fscore_support(
        y_true, predicted_classes(probabilities, threshold), labels=labels, average=None, zero_division=0)
    result = {}
    for k, name in enumerate(class_names):
        positive = y_true == k
        ranked = 0 < positive.sum() < len(y_true)
        result[name] = {
            "precision": float(precision[k]), "recall": float(recall[k]), "f1": float(f1[k]), "support": int(support[k]),
            "roc_auc": float(skm.roc_auc_score(positive, probabilities[:, k])) if ranked else None,
            "average_precision": float(skm.average_precision_score(positive, probabilities[:, k])) if ranked else None,
        }
    return result


def best_f1_threshold(y_true: np.ndarray, positive_probability: np.ndarray) -> dict | None:
    """The threshold on P(class 1) that maximises F1 (the lowest one on ties), with that F1; None without both classes."""
    y_true = np.asarray(y_true, dtype=np.int64)
    if len(np.unique(y_true)) < 2:
        return None
    precision, recall, thresholds = skm.precision_recall_curve(y_true, np.asarray(positive_probability, dtype=np.float64))
    f1 = (2 * precision * recall / np.maximum(precision + recall, 1e-12))[:-1]  # the last point has no threshold
    best = int(np.argmax(f1))
    return {"threshold": float(thresholds[best]), "f1": float(f1[best]), "examples": int(len(y_true))}


def _clipped(probabilities: np.ndarray) -> np.ndarray:
    """Away from 0 (log loss stays finite), rows renormalised to sum to 1 (sklearn warns otherwise)."""
    clipped = np.clip(probabilities, 1e-7, 1.0)
    return clipped / clipped.sum(axis=1, keepdims=True)


def format_metrics(metrics: dict) -> str:
    """A table a person reads in a terminal."""
    lines = [f"examples   {metrics['examples']}"]
    if metrics.get("threshold") is not None:
        lines.append(f"threshold  {metrics['threshold']:.4f} (on P({metrics['class_names'][1]}))")
    for key in ("accuracy", "precision", "recall", "f1", "roc_auc", "loss"):
        value = metrics.get(key)
        if value is not None:
            lines.append(f"{key:<10} {value:.4f}")
    lines.append(f"averaging  {metrics['average']}")
    names = metrics["class_names"]
    width = max(8, *(len(n) for n in names)) + 1
    lines.append("confusion matrix (rows: true, columns: predicted)")
    lines.append(" " * width + "".join(f"{n:>{width}}" for n in names))
    for name, row in zip(names, metrics["confusion_matrix"]):
        lines.append(f"{name:<{width}}" + "".join(f"{v:>{width}}" for v in row))
    return "\n".join(lines)
