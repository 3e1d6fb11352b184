"""Plots of evaluation and comparison results, as matplotlib Figures saved to PNG.

Figures are built with matplotlib's object API and its Agg canvas, never pyplot: no
global backend or figure state is touched, so this works headless and inside any program.
Every plot has a title, labelled axes and a legend where there is more than one series.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from sklearn import metrics as skm

DPI = 110
COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]


def new_figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def save_png(figure: Figure, path: Path) -> Path:
    """Characters the font lacks are drawn as boxes: said once in a note (see undrawable), not as matplotlib's
    warnings naming this file."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Glyph .* missing from font")
        figure.savefig(path, format="png", dpi=DPI)
    return path


def undrawable(names) -> list[str]:
    """The names holding a character the plots' font has no glyph for (CJK without a CJK font, say)."""
    from matplotlib import font_manager

    font = font_manager.get_font(font_manager.findfont(font_manager.FontProperties()))
    return [name for name in names if any(not c.isspace() and font.get_char_index(ord(c)) == 0 for c in name)]


def confusion_matrix_figure(matrix, class_names: list[str], title: str) -> Figure:
    """Counts and row shares (share of each true class), shaded by the share."""
    matrix = np.asarray(matrix)
    n = len(class_names)
    shares = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    side = 4.2 + 0.6 * n
    figure = new_figure(side + 1.2, side)
    ax = figure.add_subplot()
    image = ax.imshow(shares, cmap="Blues", vmin=0.0, vmax=1.0)
    for i in range(n):
        for j in range(n):
            ax.text(j, i, f"{matrix[i, j]:,}\n{shares[i, j]:.1%}", ha="center", va="center", fontsize=10,
                    color="white" if shares[i, j] > 0.6 else "black")
    ax.set_xticks(range(n), class_names, rotation=30 if max(len(c) for c in class_names) > 8 else 0, ha="right"
                  if max(len(c) for c in class_names) > 8 else "center")
    ax.set_yticks(range(n), class_names)
    ax.set_xlabel("Predicted class")
    ax.set_ylabel("True class")
    ax.set_title(title)
    figure.colorbar(image, ax=ax, label="Share of the true class (row)")
    return figure


def _one_vs_rest(y_true, probabilities, class_names):
    """(name, is-this-class, score) per class that has both positives and negatives in y_true."""
    y_true = np.asarray(y_true)
    if len(class_names) == 2:
        candidates = [(class_names[1], y_true == 1, probabilities[:, 1])]
    else:
        candidates = [(name, y_true == k, probabilities[:, k]) for k, name in enumerate(class_names)]
    return [(name, positive, score) for name, positive, score in candidates if 0 < positive.sum() < len(y_true)]


def _curve_figure(y_true, probabilities, class_names: list[str], draw_curve):
    """(figure, axes, curves) with draw_curve(ax, color, name, positive, score) called for the positive class, or
    for each class vs the rest."""
    figure = new_figure(6.4, 5.6)
    ax = figure.add_subplot()
    curves = _one_vs_rest(y_true, np.asarray(probabilities, dtype=np.float64), class_names)
    for color, curve in zip(COLORS, curves):
        draw_curve(ax, color, *curve)
    return figure, ax, curves


def _mark_threshold(ax, curve, threshold: float | None, point_of) -> None:
    """The operating point of the decision threshold (0.5 by default) on a binary curve."""
    _, positive, score = curve
    t = 0.5 if threshold is None else threshold
    predicted = score >= t
    if predicted.any():
        ax.plot(*point_of(predicted, positive), "o", color="black", markersize=7, label=f"decision threshold {t:.2f}")


def _finish_curve_axes(ax, curves, what: str, xlabel: str, ylabel: str, title: str, legend: str) -> None:
    if not curves:
        ax.text(0.5, 0.5, f"No {what}: the test data needs both\nexamples of a class and of the rest",
                ha="center", va="center", transform=ax.transAxes)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.01)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if curves:  # with none, matplotlib warns on stderr that it has nothing to put in a legend
        ax.legend(loc=legend, fontsize=9)


def roc_figure(y_true, probabilities, class_names: list[str], threshold: float | None = None) -> Figure:
    """Binary: the ROC curve of the positive class with the operating point; more classes: one-vs-rest."""
    binary = len(class_names) == 2

    def draw(ax, color, name, positive, score):
        fpr, tpr, _ = skm.roc_curve(positive, score)
        auc = skm.roc_auc_score(positive, score)
        versus = class_names[0] if binary else "rest"
        ax.plot(fpr, tpr, color=color, linewidth=2, label=f"{name} vs {versus} (AUC {auc:.3f})")

    figure, ax, curves = _curve_figure(y_true, probabilities, class_names, draw)
    if binary and curves:  # (false positive rate, true positive rate) at the threshold
        _mark_threshold(ax, curves[0], threshold, lambda hit, positive: (hit[~positive].mean(), hit[positive].mean()))
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="chance (AUC 0.5)")
    _finish_curve_axes(ax, curves, "ROC curve", "False positive rate", "True positive rate (recall)",
                       "ROC curve" if binary else "ROC curves, one class vs the rest", "lower right")
    return figure


def precision_recall_figure(y_true, probabilities, class_names: list[str], threshold: float | None = None) -> Figure:
    """Binary: precision against recall of the positive class with the operating point; more classes: one-vs-rest."""
    binary = len(class_names) == 2

    def draw(ax, color, name, positive, score):
        precision, recall, _ = skm.precision_recall_curve(positive, score)
        ap = skm.average_precision_score(positive, score)
        ax.plot(recall, precision, color=color, linewidth=2,
                label=f"{name} (average precision {ap:.3f})" if binary else f"{name} vs rest (AP {ap:.3f})")
        ax.axhline(positive.mean(), color=color, linestyle=":", linewidth=1,
                   label=f"chance for {name} (share {positive.mean():.2f})")

    figure, ax, curves = _curve_figure(y_true, probabilities, class_names, draw)
    if binary and curves:  # (recall, precision) at the threshold
        _mark_threshold(ax, curves[0], threshold, lambda hit, positive: (hit[positive].mean(), positive[hit].mean()))
    _finish_curve_axes(ax, curves, "precision-recall curve", "Recall", "Precision",
                       f"Precision-recall curve (positive class: {class_names[1]})" if binary
                       else "Precision-recall curves, one class vs the rest", "lower left")
    return figure


def training_curves_figure(history: dict[str, list[float]], title: str = "Training curves") -> Figure:
    """Loss and accuracy per epoch, train and validation; the epoch of the lowest validation loss marked."""
    figure = new_figure(10.5, 4.4)
    best = int(np.argmin(history["val_loss"])) + 1 if history.get("val_loss") else None
    for index, (metric, label) in enumerate((("loss", "Loss (cross-entropy)"), ("accuracy", "Accuracy"))):
        ax = figure.add_subplot(1, 2, index + 1)
        for key, name, style in ((metric, "train", "-o"), (f"val_{metric}", "validation", "--s")):
            values = history.get(key)
            if values:
                ax.plot(range(1, len(values) + 1), values, style, linewidth=2, label=name)
        if best is not None:
            ax.axvline(best, color="grey", linestyle=":", label=f"lowest validation loss (epoch {best})")
        epochs = max((len(v) for v in history.values()), default=1)
        ax.set_xticks(range(1, epochs + 1))
        ax.set_xlabel("Epoch")
        ax.set_ylabel(label)
        ax.set_title(label.split(" (")[0] + " per epoch")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=9)
    figure.suptitle(title)
    return figure


def comparison_figure(rows: list[dict], bucket_names: list[str], title: str) -> Figure:
    """Four panels over architectures: test accuracy overall and by review length, training time per epoch,
    trainable parameters, inference speed. (One figure drawn top to bottom, panel by panel: longer than most.)"""
    archs = [row["arch"] for row in rows]
    x = np.arange(len(archs))
    figure = new_figure(13, 9)
    if not rows:
        ax = figure.add_subplot()
        ax.text(0.5, 0.5, "No architecture finished training", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        ax.set_title(title)
        return figure
    axes = figure.subplots(2, 2)

    ax = axes[0, 0]
    series = [("test accuracy (all)", "test_accuracy")] + [
        (f"{name}", f"test_accuracy_{name.split(' ')[0]}") for name in bucket_names]
    width = 0.8 / len(series)
    lowest = 1.0
    for i, (label, key) in enumerate(series):
        values = np.array([row[key] if row[key] is not None else np.nan for row in rows], dtype=float)
        lowest = min(lowest, np.nanmin(values) if np.isfinite(values).any() else 1.0)
        ax.bar(x + (i - (len(series) - 1) / 2) * width, values, width, label=label, color=COLORS[i])
    bottom = max(0.0, np.floor((lowest - 0.05) * 20) / 20)
    ax.set_ylim(bottom, 1.0 + 0.16 * (1.0 - bottom))  # headroom above 1.0 for the legend
    ax.set_yticks([t for t in np.arange(0.0, 1.0001, 0.05 if 1.0 - bottom <= 0.3 else 0.1) if t >= bottom - 1e-9])
    ax.set_xticks(x, archs)
    ax.set_xlabel("Architecture")
    ax.set_ylabel("Test accuracy")
    ax.set_title("Test accuracy, overall and by review length")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="upper center", ncols=2)

    panels = [
        (axes[0, 1], "train_seconds_per_epoch", "Seconds per epoch", "Training time per epoch (incl. validation)", False),
        (axes[1, 0], "trainable_parameters", "Trainable parameters (log scale)", "Model size", True),
        (axes[1, 1], "inference_reviews_per_second", "Reviews per second (log scale)",
         "Inference speed (raw strings, batches of 256)", True),
    ]
    families = [_family(arch) for arch in archs]
    for ax, key, ylabel, panel_title, log in panels:
        values = [row[key] for row in rows]
        bars = ax.bar(x, values, color=[FAMILY_COLORS[f] for f in families])
        ax.bar_label(bars, labels=[_short_number(v) for v in values], fontsize=8)
        ax.margins(y=0.12)
        handles = [Patch(color=FAMILY_COLORS[f], label=f) for f in FAMILY_COLORS if f in families]
        ax.legend(handles=handles, fontsize=8, loc="best")
        if log:
            ax.set_yscale("log")
        ax.set_xticks(x, archs)
        ax.set_xlabel("Architecture")
        ax.set_ylabel(ylabel)
        ax.set_title(panel_title)
        ax.grid(axis="y", alpha=0.3)
    figure.suptitle(title)
    return figure


FAMILY_COLORS = {"recurrent": "#4c72b0", "bidirectional recurrent": "#8172b2", "bag-of-words baseline": "#55a868"}


def _family(arch: str) -> str:
    from seqsent.config import BASELINE_ARCHS

    if arch in BASELINE_ARCHS:
        return "bag-of-words baseline"
    return "bidirectional recurrent" if arch.startswith("bi") else "recurrent"


def _short_number(value: float) -> str:
    if value >= 1e6:
        return f"{value / 1e6:.2f}M"
    if value >= 1e4:
        return f"{value / 1e3:.0f}k"
    if value >= 100:
        return f"{value:.0f}"
    return f"{value:.1f}"
