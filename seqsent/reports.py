"""Evaluation reports: metrics.json, plots, the most confidently wrong examples and report.md.

`evaluate_detailed` scores a model and keeps what a report needs (texts, probabilities,
the F1-best threshold on the validation split, the training history); `write_report`
writes the report directory atomically: everything goes to a hidden staging directory
that is renamed into place when complete, and an existing non-empty directory is only
replaced with `overwrite`.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from seqsent.config import DataConfig
from seqsent.errors import SeqsentError, UsageError

ERRORS_KEPT = 100
ERRORS_SHOWN = 10


@dataclass
class DetailedEvaluation:
    model_path: Path
    data_description: str
    class_names: list[str]
    texts: list[str]
    labels: np.ndarray
    probabilities: np.ndarray
    metrics: dict
    per_class: dict
    threshold: float | None
    """The decision threshold on P(class 1) used (2 classes), or None for the argmax."""
    best_threshold: dict | None
    """{"threshold", "f1", "examples"}: the threshold maximising F1 on the validation split (2 classes)."""
    history: dict | None
    history_source: str
    """Where the training history came from, or why there is none."""
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- scoring


def evaluate_detailed(model_path: str | Path, data: DataConfig | None = None,
                      threshold: float | None = None) -> DetailedEvaluation:
    """Score a model on the test split of `data` (default: the data it was trained on), keeping the details."""
    from seqsent.data import load_dataset, load_test_split
    from seqsent.evaluation import best_f1_threshold, compute_metrics, per_class_metrics
    from seqsent.inference import load_model

    model = load_model(model_path)
    names = model.class_names
    binary = len(names) == 2
    if threshold is not None and not binary:
        raise UsageError(f"--threshold applies to 2-class models; {model.path} has {len(names)} classes")
    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise UsageError("--threshold must be between 0 and 1")
    from seqsent.config import recorded_data_config

    trained_on = recorded_data_config(model.metadata, model.path)
    data = data or trained_on or DataConfig()

    validation, notes = None, []
    if trained_on is not None and data == trained_on:
        dataset = load_dataset(data)  # one load gives both the test and the validation split
        test, description, notes = _in_order(dataset.test, dataset.class_names, names), dataset.description, dataset.notes
        validation = _in_order(dataset.validation, dataset.class_names, names)
    else:
        test, description, notes = load_test_split(data, names, trained_on)
        if binary and trained_on is not None:
            try:
                dataset = load_dataset(trained_on)
                validation = _in_order(dataset.validation, dataset.class_names, names)
            except SeqsentError as exc:
                notes = [*notes, f"no validation split to tune the threshold on: {exc}"]
    if binary and trained_on is None:
        notes = [*notes, "the model records no training data: no validation split to tune the threshold on"]

    probabilities = model.predict_proba(test.texts)
    best = None
    if binary and validation is not None:
        best = best_f1_threshold(validation.labels, model.predict_proba(validation.texts)[:, 1])
    history, history_source = find_history(model)
    return DetailedEvaluation(
        model_path=model.path, data_description=description, class_names=names, texts=list(test.texts),
        labels=np.asarray(test.labels), probabilities=probabilities,
        metrics=compute_metrics(test.labels, probabilities, names, threshold),
        per_class=per_class_metrics(test.labels, probabilities, names, threshold),
        threshold=threshold if binary else None, best_threshold=best,
        history=history, history_source=history_source, notes=list(notes),
    )


def _in_order(split, dataset_names: list[str], model_names: list[str]):
    """The split with labels re-encoded in the model's class order."""
    from seqsent.data import Split
    from seqsent.data.dataset import encode_labels

    labels = encode_labels([dataset_names[i] for i in split.labels], model_names, "the evaluation data")
    return Split(list(split.texts), labels)


def find_history(model) -> tuple[dict | None, str]:
    """The training history of a model: from its metadata, else from its run directory.

    `seqsent train` writes runs/NAME/VERSION/history.json for saved_models/NAME/VERSION; the run
    is accepted only if its metrics.json names this export (or, lacking that, has the same version).
    """
    from seqsent.export import EXTRA_DIR

    history = model.metadata.get("history")
    if isinstance(history, dict) and history.get("loss"):
        return history, "the model's metadata"
    if model.kind == "savedmodel":
        version_dir = model.path
    elif model.path.parent.name == EXTRA_DIR:
        version_dir = model.path.parent.parent
    else:
        return None, "a standalone .keras file has no run directory"
    config = model.metadata.get("config") or {}
    name, runs_dir = config.get("name"), config.get("runs_dir")
    if not (isinstance(name, str) and isinstance(runs_dir, str)):
        return None, "the model records no run directory"
    version_dir = version_dir.resolve()
    roots = list(dict.fromkeys([Path.cwd().resolve(), *version_dir.parents[1:5]]))
    for root in roots:
        base = root / runs_dir / name
        if not base.is_dir():
            continue
        runs = [base / version_dir.name] + sorted(p for p in base.iterdir() if p.name != version_dir.name)
        for run in runs:
            if (run / "history.json").is_file() and _run_made(run, root, version_dir):
                try:
                    return json.loads((run / "history.json").read_text(encoding="utf-8")), str(run / "history.json")
                except (OSError, ValueError):
                    continue
    return None, f"no run directory {runs_dir}/{name}/ with a history.json for this export was found"


def _run_made(run: Path, root: Path, version_dir: Path) -> bool:
    try:
        exported = json.loads((run / "metrics.json").read_text(encoding="utf-8")).get("export_dir")
    except (OSError, ValueError, AttributeError):
        exported = None
    if not isinstance(exported, str):
        return run.name == version_dir.name
    return (root / exported).resolve() == version_dir


def confident_errors(evaluation: DetailedEvaluation, limit: int = ERRORS_KEPT) -> list[dict]:
    """Wrong test predictions, most confident first."""
    from seqsent.evaluation import predicted_classes

    probabilities = evaluation.probabilities
    predicted = predicted_classes(probabilities, evaluation.threshold)
    wrong = np.flatnonzero(predicted != evaluation.labels)
    confidence = probabilities[wrong, predicted[wrong]]
    rows = []
    for rank, i in enumerate(wrong[np.argsort(-confidence, kind="stable")][:limit], start=1):
        rows.append({
            "rank": rank, "index": int(i), "true_label": evaluation.class_names[evaluation.labels[i]],
            "predicted_label": evaluation.class_names[predicted[i]],
            "predicted_probability": round(float(probabilities[i, predicted[i]]), 6),
            "true_label_probability": round(float(probabilities[i, evaluation.labels[i]]), 6),
            "words": len(evaluation.texts[i].split()), "text": evaluation.texts[i],
        })
    return rows


# ---------------------------------------------------------------- output directories


def check_output_dir(target: str | Path, overwrite: bool, flag: str = "--overwrite") -> Path:
    """Fail early, before any long work, if `target` cannot be written."""
    target = Path(target).expanduser()
    if target.exists() and not target.is_dir():
        raise UsageError(f"{target} exists and is not a directory")
    if target.is_dir() and any(target.iterdir()) and not overwrite:
        raise UsageError(f"{target} already exists and is not empty; choose another directory or pass {flag}")
    return target


@contextmanager
def staged_directory(target: str | Path, overwrite: bool = False):
    """Yield a staging directory beside `target`; on success it is renamed to `target` in one step."""
    target = check_output_dir(target, overwrite)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f".{target.name}.staging-{uuid.uuid4().hex[:12]}"
    staging.mkdir()
    old = None
    try:
        yield staging
        if target.is_dir() and any(target.iterdir()):
            check_output_dir(target, overwrite)  # someone may have written there meanwhile
            old = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:12]}"
            os.rename(target, old)
        try:
            os.rename(staging, target)  # replaces an empty directory, never a full one
        except OSError:
            if old is not None:
                os.rename(old, target)
                old = None
            raise UsageError(f"{target} appeared while writing; nothing was written") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


# ---------------------------------------------------------------- the report


def report(model_path: str | Path, out_dir: str | Path, data: DataConfig | None = None,
           threshold: float | None = None, overwrite: bool = False) -> tuple[DetailedEvaluation, Path]:
    """Evaluate a model and write its report directory; returns the evaluation and the directory."""
    check_output_dir(out_dir, overwrite)
    evaluation = evaluate_detailed(model_path, data, threshold)
    return evaluation, write_report(evaluation, out_dir, overwrite)


def write_report(evaluation: DetailedEvaluation, out_dir: str | Path, overwrite: bool = False) -> Path:
    """metrics.json, confusion_matrix.png, roc.png, precision_recall.png, training_curves.png (when the
    history is known), errors.csv and report.md, written atomically to `out_dir`."""
    from seqsent import plots

    e = evaluation
    with staged_directory(out_dir, overwrite) as staging:
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
    from seqsent.export import EXTRA_DIR

    version_dir = path.parent.parent if path.parent.name == EXTRA_DIR else path
    return f"{version_dir.parent.name}/{version_dir.name}" if version_dir.name.isdigit() else path.name


def _cell(text: str, limit: int = 140) -> str:
    text = " ".join(str(text).split())
    text = text if len(text) <= limit else text[: limit - 3] + "..."
    return text.replace("|", "\\|")


def _markdown(e: DetailedEvaluation, errors: list[dict]) -> str:
    m = e.metrics
    binary = len(e.class_names) == 2
    rule = (f"class `{e.class_names[1]}` when its probability ≥ {e.threshold:.4f}" if e.threshold is not None
            else "the most probable class")
    lines = [
        "# Evaluation report", "",
        f"- Model: `{e.model_path}`",
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
    worst = max(e.per_class, key=lambda name: -e.per_class[name]["f1"])
    lines += ["", "## Summary", "",
              f"Accuracy {m['accuracy']:.1%} on {m['examples']:,} examples; F1 {m['f1']:.3f} ({m['average']})"
              + (f"; ROC-AUC {m['roc_auc']:.3f}" if m.get("roc_auc") is not None else "")
              + f". The class with the lowest F1 is `{worst}` ({e.per_class[worst]['f1']:.3f}). "
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


def _wrong(e: DetailedEvaluation) -> np.ndarray:
    from seqsent.evaluation import predicted_classes

    return predicted_classes(e.probabilities, e.threshold) != e.labels
