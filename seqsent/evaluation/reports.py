"""Evaluation reports: metrics.json, plots, the most confidently wrong examples and report.md.

`write_report` takes an Evaluation (seqsent.evaluation.scoring: the scores, texts, the F1-best
threshold on the validation split, the training history) and writes the report directory
atomically (seqsent.files.staged_directory): an existing non-empty directory is only replaced
with `overwrite`.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from seqsent.evaluation.metrics import predicted_classes
from seqsent.evaluation.scoring import Evaluation
from seqsent.files import staged_directory
from seqsent.layout import REPORT_FILES, model_card_file, version_dir_of

ERRORS_SHOWN = 10


def confident_errors(evaluation: Evaluation) -> list[dict]:
    """Wrong test predictions, most confident first (kept while scoring: the texts need not be held)."""
    return evaluation.scores.errors


# ---------------------------------------------------------------- the report


def write_report(evaluation: Evaluation, out_dir: str | Path, overwrite: bool = False) -> Path:
    """metrics.json, confusion_matrix.png, roc.png, precision_recall.png, training_curves.png (when the
    history is known), errors.csv and report.md, written atomically to `out_dir`."""
    from seqsent.evaluation import plots

    e = evaluation
    lacking = plots.undrawable(e.class_names)
    if lacking:
        e.notes.append(f"the plots' font has no glyph for some characters of {', '.join(map(repr, lacking))}: they "
                       "show as boxes in the plots (report.md and metrics.json name the classes in full)")
    with staged_directory(out_dir, overwrite, owned=REPORT_FILES) as staging:
        metrics = {
            "model": str(e.model_path), "data": e.data_description, **e.metrics, "per_class": e.per_class,
            "best_threshold_on_validation": e.best_threshold, "history_source": e.history_source, "notes": e.notes,
        }
        (staging / "metrics.json").write_text(json.dumps(metrics, indent=2, sort_keys=True), encoding="utf-8")
        examples = f"{len(e.labels):,} test examples"
        plots.save_png(plots.confusion_matrix_figure(e.metrics["confusion_matrix"], e.class_names,
                                                     f"Confusion matrix ({examples})"), staging / "confusion_matrix.png")
        plots.save_png(plots.roc_figure(e.labels, e.probabilities, e.class_names, e.threshold), staging / "roc.png")
        plots.save_png(plots.precision_recall_figure(e.labels, e.probabilities, e.class_names, e.threshold),
                       staging / "precision_recall.png")
        if e.history:
            plots.save_png(plots.training_curves_figure(e.history, f"Training curves of {model_label(e.model_path)}"),
                           staging / "training_curves.png")
        errors = confident_errors(e)
        with open(staging / "errors.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=["rank", "index", "true_label", "predicted_label",
                                                        "predicted_probability", "true_label_probability", "words", "text"])
            writer.writeheader()
            writer.writerows(errors)
        (staging / "report.md").write_text(_markdown(e, errors), encoding="utf-8")
    return Path(out_dir).expanduser()


def model_label(path: Path) -> str:
    """NAME/VERSION for an export (or a .keras file inside one), else the file name."""
    version_dir = version_dir_of(path) or path
    return f"{version_dir.parent.name}/{version_dir.name}" if version_dir.name.isdigit() else path.name


def _cell(text: str, limit: int = 140) -> str:
    text = " ".join(str(text).split())
    text = text if len(text) <= limit else text[: limit - 3] + "..."
    return text.replace("|", "\\|")


def _weakest_class(e: Evaluation) -> str:
    """The summary's sentence on the class with the lowest F1, among the classes the test data has (an absent
    class has a note of its own); a tie is said as such."""
    present = [name for name in e.per_class if e.per_class[name].get("support", 1)]
    f1s = {name: e.per_class[name]["f1"] for name in present or e.per_class}
    worst = min(f1s, key=f1s.get)
    if len(set(f1s.values())) == 1 and len(f1s) > 1:
        which = "Every class" if len(f1s) == len(e.per_class) else "Every class the test data holds"
        return f"{which} has F1 {f1s[worst]:.3f}. "
    return f"The class with the lowest F1 is `{worst}` ({f1s[worst]:.3f}). "


def _markdown(e: Evaluation, errors: list[dict]) -> str:
    """report.md, section by section as it reads (longer than most functions: it is one document)."""
    m = e.metrics
    binary = len(e.class_names) == 2
    rule = (f"class `{e.class_names[1]}` when its probability ≥ {e.threshold:.4f}" if e.threshold is not None
            else "the most probable class")
    card = model_card_file(version_dir_of(e.model_path) or e.model_path)  # an export's assets.extra/README.md
    lines = [
        "# Evaluation report", "",
        f"- Model: `{e.model_path}`" + (f" (model card: [{card}](<{card.resolve()}>))" if card.is_file() else ""),
        f"- Data: {e.data_description} — {m['examples']:,} test examples",
        f"- Decision: {rule}",
    ]
    if binary:
        if e.best_threshold:
            b = e.best_threshold
            lines.append(f"- Threshold maximising F1 on the validation split: **{b['threshold']:.4f}** "
                         f"(F1 {b['f1']:.4f} on {b['examples']:,} examples; use it with `--threshold`)")
        else:
            lines.append("- Threshold maximising F1 on validation: not available (no validation split with both classes)")
    lines += [f"- Note: {note}" for note in e.notes]
    lines += ["", "## Summary", "",
              f"Accuracy {m['accuracy']:.1%} on {m['examples']:,} examples; F1 {m['f1']:.3f} ({m['average']})"
              + (f"; ROC-AUC {m['roc_auc']:.3f}" if m.get("roc_auc") is not None else "")
              + ". " + _weakest_class(e)
              + f"{int(_wrong(e).sum()):,} test examples are misclassified.",
              "", "| metric | value |", "|---|---|"]
    for key in ("accuracy", "precision", "recall", "f1", "roc_auc", "loss"):
        if m.get(key) is not None:
            lines.append(f"| {key} | {m[key]:.4f} |")
    lines += ["", "| class | precision | recall | F1 | support | ROC-AUC (one vs rest) | average precision |",
              "|---|---|---|---|---|---|---|"]
    for name, c in e.per_class.items():
        auc = "–" if c["roc_auc"] is None else f"{c['roc_auc']:.4f}"
        ap = "–" if c["average_precision"] is None else f"{c['average_precision']:.4f}"
        lines.append(f"| {_cell(name, 40)} | {c['precision']:.4f} | {c['recall']:.4f} | {c['f1']:.4f} | "
                     f"{c['support']:,} | {auc} | {ap} |")
    lines += ["", "## Confusion matrix", "", "Rows are true classes, columns predicted ones; cells show the count "
              "and the share of the true class.", "", "![Confusion matrix](confusion_matrix.png)", "",
              "## ROC", "", "![ROC curves](roc.png)", "",
              "## Precision and recall", "", "![Precision-recall curves](precision_recall.png)", "",
              "## Training curves", ""]
    if e.history:
        lines += [f"From {e.history_source}.", "", "![Training curves](training_curves.png)"]
    else:
        lines.append(f"No training history: {e.history_source}.")
    lines += ["", "## Most confidently wrong", ""]
    if errors:
        lines += [f"The {min(ERRORS_SHOWN, len(errors))} most confident mistakes; `errors.csv` holds the top "
                  f"{len(errors)} with full texts.", "",
                  "| # | true | predicted | P(predicted) | words | text |", "|---|---|---|---|---|---|"]
        for row in errors[:ERRORS_SHOWN]:
            lines.append(f"| {row['rank']} | {_cell(row['true_label'], 30)} | {_cell(row['predicted_label'], 30)} | "
                         f"{row['predicted_probability']:.3f} | {row['words']} | {_cell(row['text'])} |")
    else:
        lines.append("No test example is misclassified.")
    return "\n".join(lines) + "\n"


def _wrong(e: Evaluation) -> np.ndarray:
    return predicted_classes(e.probabilities, e.threshold) != e.labels
