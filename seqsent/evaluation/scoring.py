"""The one scoring path: `train` (on its export), `evaluate`, `evaluate --report` and `compare` all call `score`.

    model = load_model("saved_models/imdb-bilstm")        # or in_memory_model(text_model, class_names)
    scores = score(model, split)                          # split labels in the model's class order
    scores.metrics["accuracy"], scores.per_class["pos"]["f1"]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from seqsent.config import DataConfig, recorded_data_config
from seqsent.data import Split
from seqsent.errors import SeqsentError, UsageError
from seqsent.evaluation.metrics import best_f1_threshold, compute_metrics, per_class_metrics


@dataclass
class Scores:
    """A model's predictions on a split, and every metric of them."""

    labels: np.ndarray
    probabilities: np.ndarray
    metrics: dict
    per_class: dict
    threshold: float | None
    """The decision threshold on P(class 1) used (2 classes), or None for the argmax."""


def check_threshold(model, threshold: float | None) -> None:
    if threshold is not None and len(model.class_names) != 2:
        raise UsageError(f"--threshold applies to 2-class models; {model.path} has {len(model.class_names)} classes")
    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise UsageError("--threshold must be between 0 and 1")


def score(model, split: Split, threshold: float | None = None) -> Scores:
    """Predict `split` with `model` (a LoadedModel) and measure; labels must be in the model's class order."""
    check_threshold(model, threshold)
    names = model.class_names
    probabilities = model.predict_proba(split.texts)
    labels = np.asarray(split.labels)
    return Scores(labels, probabilities, compute_metrics(labels, probabilities, names, threshold),
                  per_class_metrics(labels, probabilities, names, threshold), threshold if len(names) == 2 else None)


@dataclass
class EvaluationData:
    """What a saved model is scored on: the test split, and the validation split to tune a threshold on."""

    test: Split
    description: str
    validation: Split | None = None
    notes: list[str] = field(default_factory=list)


def evaluation_data(model, data: DataConfig | None, with_validation: bool = False) -> EvaluationData:
    """The test split of `data` (default: the data the model was trained on, else the bundled sample), labels in
    the model's class order; with `with_validation` (2 classes), the validation split of its training data too."""
    from seqsent.data import load_dataset, load_test_split

    trained_on = recorded_data_config(model.metadata, model.path)
    data = data or trained_on or DataConfig()
    names = model.class_names
    with_validation = with_validation and len(names) == 2
    if with_validation and trained_on is not None and data == trained_on:
        dataset = load_dataset(data)  # one load gives both the test and the validation split
        return EvaluationData(in_class_order(dataset.test, dataset.class_names, names), dataset.description,
                              in_class_order(dataset.validation, dataset.class_names, names), list(dataset.notes))
    test, description, notes = load_test_split(data, names, trained_on)
    result = EvaluationData(test, description, notes=list(notes))
    if not with_validation:
        return result
    if trained_on is None:
        result.notes.append("the model records no training data: no validation split to tune the threshold on")
        return result
    try:
        dataset = load_dataset(trained_on)
        result.validation = in_class_order(dataset.validation, dataset.class_names, names)
    except SeqsentError as exc:
        result.notes.append(f"no validation split to tune the threshold on: {exc}")
    return result


def in_class_order(split: Split, dataset_names: list[str], model_names: list[str]) -> Split:
    """The split with labels re-encoded in the model's class order."""
    from seqsent.data.dataset import encode_labels

    labels = encode_labels([dataset_names[i] for i in split.labels], model_names, "the evaluation data")
    return Split(list(split.texts), labels)


@dataclass
class Evaluation:
    """A saved model scored on a test split, with what a report needs."""

    model_path: Path
    data_description: str
    class_names: list[str]
    texts: list[str]
    scores: Scores
    best_threshold: dict | None
    """{"threshold", "f1", "examples"}: the threshold maximising F1 on the validation split (2 classes)."""
    history: dict | None
    history_source: str
    """Where the training history came from, or why there is none."""
    notes: list[str] = field(default_factory=list)

    @property
    def metrics(self) -> dict:
        return self.scores.metrics

    @property
    def per_class(self) -> dict:
        return self.scores.per_class

    @property
    def labels(self) -> np.ndarray:
        return self.scores.labels

    @property
    def probabilities(self) -> np.ndarray:
        return self.scores.probabilities

    @property
    def threshold(self) -> float | None:
        return self.scores.threshold


def evaluate_model(model, data: DataConfig | None = None, threshold: float | None = None,
                   tune_threshold: bool = False) -> Evaluation:
    """Score a loaded model on the test split of `data`; with `tune_threshold`, also find the F1-best threshold on
    the validation split of its training data (2 classes)."""
    from seqsent.layout import recorded_history

    check_threshold(model, threshold)
    chosen = evaluation_data(model, data, with_validation=tune_threshold)
    scores = score(model, chosen.test, threshold)
    best = None
    if chosen.validation is not None:
        best = best_f1_threshold(chosen.validation.labels, model.predict_proba(chosen.validation.texts)[:, 1])
    history, history_source = recorded_history(model.metadata)
    return Evaluation(model.path, chosen.description, model.class_names, list(chosen.test.texts), scores, best,
                      history, history_source, chosen.notes)
