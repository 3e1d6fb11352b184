"""Metrics from predicted probabilities, so any model form (Keras or SavedModel) is scored the same way."""

from __future__ import annotations

import numpy as np
from sklearn import metrics as skm


def compute_metrics(y_true: np.ndarray, probabilities: np.ndarray, class_names: list[str]) -> dict:
    """Accuracy, precision, recall, F1 (positive class for 2 classes, macro otherwise), ROC-AUC, log loss."""
    y_true = np.asarray(y_true, dtype=np.int64)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    probabilities = probabilities / probabilities.sum(axis=1, keepdims=True)  # float32 rounding
    n_classes = len(class_names)
    y_pred = probabilities.argmax(axis=1)
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
        "loss": float(skm.log_loss(y_true, np.clip(probabilities, 1e-7, 1.0), labels=labels)),
        "roc_auc": None,
        "average": "binary (positive class: %s)" % class_names[1] if binary else "macro",
        "class_names": list(class_names),
        "confusion_matrix": skm.confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }
    if binary and len(np.unique(y_true)) == 2:
        result["roc_auc"] = float(skm.roc_auc_score(y_true, probabilities[:, 1]))
    return result


def format_metrics(metrics: dict) -> str:
    """A table a person reads in a terminal."""
    lines = [f"examples   {metrics['examples']}"]
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
