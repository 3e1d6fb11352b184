"""The one scoring path: `train` (on its export), `evaluate`, `evaluate --report` and `compare` all call `score`.

    model = load_model("saved_models/imdb-bilstm")        # or in_memory_model(text_model, class_names)
    scores = score(model, split)                          # split labels in the model's class order
    scores.metrics["accuracy"], scores.per_class["pos"]["f1"]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np

from seqsent.config import DataConfig, recorded_data_config
from seqsent.data import Split
from seqsent.errors import DataError, SeqsentError, UsageError
from seqsent.evaluation.metrics import (absent_class_notes, best_f1_threshold, compute_metrics, per_class_metrics,
                                        predicted_classes)
from seqsent.progress import Ticker


ERRORS_KEPT = 100


@dataclass
class Scores:
    """A model's predictions on a split, and every metric of them."""

    labels: np.ndarray
    probabilities: np.ndarray
    metrics: dict
    per_class: dict
    threshold: float | None
    """The decision threshold on P(class 1) used (2 classes), or None for the argmax."""
    errors: list[dict] = field(default_factory=list)
    """The most confidently wrong predictions (at most ERRORS_KEPT), most confident first, with their texts."""


def check_threshold(model, threshold: float | None) -> None:
    if threshold is not None and len(model.class_names) != 2:
        raise UsageError(f"--threshold applies to 2-class models; {model.path} has {len(model.class_names)} classes")
    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise UsageError("--threshold must be between 0 and 1")


SCORE_CHUNK = 2048


def score(model, split, threshold: float | None = None, notify=None) -> Scores:
    """Predict a split with `model` (a LoadedModel) and measure; labels must be in the model's class order.

    `split`: a Split, or (streamed data) an iterable of (texts, labels) chunks: only the probabilities and the
    most confident mistakes are kept, never the texts.
    """
    check_threshold(model, threshold)
    names = model.class_names
    total = len(split) if isinstance(split, Split) else None
    chunks = _in_chunks(split) if isinstance(split, Split) else split
    probabilities, labels, errors, seen = [], [], ConfidentErrors(names, threshold), 0
    ticker = Ticker(notify, "Scoring", total=total, unit="examples")
    for texts, chunk_labels in chunks:
        chunk_probabilities = model.predict_proba(texts)
        chunk_labels = np.asarray(chunk_labels, dtype=np.int64)
        errors.add(texts, chunk_labels, chunk_probabilities, first_index=seen)
        probabilities.append(chunk_probabilities)
        labels.append(chunk_labels)
        seen += len(texts)
        ticker.update(seen)
    if not seen:
        raise DataError("the test split has no examples to score")
    probabilities, labels = np.concatenate(probabilities), np.concatenate(labels)
    return Scores(labels, probabilities, compute_metrics(labels, probabilities, names, threshold),
                  per_class_metrics(labels, probabilities, names, threshold), threshold if len(names) == 2 else None,
                  errors.rows())


def _in_chunks(split: Split):
    for start in range(0, len(split), SCORE_CHUNK):
        yield split.texts[start : start + SCORE_CHUNK], split.labels[start : start + SCORE_CHUNK]


class ConfidentErrors:
    """The ERRORS_KEPT most confidently wrong predictions of a stream (ties: the earlier example first)."""

    def __init__(self, class_names: list[str], threshold: float | None, limit: int = ERRORS_KEPT):
        self.class_names, self.threshold, self.limit = class_names, threshold, limit
        self.heap: list[tuple[float, int, dict]] = []

    def add(self, texts, labels: np.ndarray, probabilities: np.ndarray, first_index: int) -> None:
        import heapq

        predicted = predicted_classes(probabilities, self.threshold)
        for i in np.flatnonzero(predicted != labels):
            confidence = float(probabilities[i, predicted[i]])
            entry = (confidence, -(first_index + int(i)))
            if len(self.heap) < self.limit or entry > self.heap[0][:2]:
                row = {"index": first_index + int(i), "true_label": self.class_names[labels[i]],
                       "predicted_label": self.class_names[predicted[i]],
                       "predicted_probability": round(confidence, 6),
                       "true_label_probability": round(float(probabilities[i, labels[i]]), 6),
                       "words": len(texts[i].split()), "text": texts[i]}
                item = (*entry, row)
                heapq.heappush(self.heap, item) if len(self.heap) < self.limit else heapq.heapreplace(self.heap, item)

    def rows(self) -> list[dict]:
        ordered = sorted(self.heap, key=lambda item: (-item[0], -item[1]))
        return [{"rank": rank, **row} for rank, (_, _, row) in enumerate(ordered, start=1)]


@dataclass
class EvaluationData:
    """What a saved model is scored on: the test split, and the validation split to tune a threshold on."""

    test: Split | Iterable[tuple[list[str], list[int]]]
    """A Split, or (streamed data) chunks of (texts, class ids) read as they are scored."""
    description: str
    validation: Split | None = None
    notes: list[str] = field(default_factory=list)

    def __post_init__(self):
        from seqsent.data.dataset import FEW_VALIDATION_NOTE

        self.notes = [note for note in self.notes if not note.startswith(FEW_VALIDATION_NOTE)]  # training's concern


def evaluation_data(model, data: DataConfig | None, with_validation: bool = False, notify=None) -> EvaluationData:
    """The test split of `data` (default: the data the model was trained on, else the bundled sample), labels in
    the model's class order; with `with_validation` (2 classes), the validation split of its training data too."""
    from seqsent.data import as_recorded, load_dataset, load_test_split

    if data is not None and not isinstance(data, DataConfig):
        return _given_dataset(data, model.class_names, with_validation)
    trained_on = as_recorded(recorded_data_config(model.metadata, model.path))
    if data is None and trained_on is not None and trained_on.source == "python":
        raise UsageError(f"{model.path} was trained on data given from Python: give the data to evaluate it on")
    fallback = trained_on is None and (data is None or data.source == DataConfig.source)
    recorded = model.metadata.get("data") if isinstance(model.metadata.get("data"), dict) else {}
    trained_digest = recorded.get("source_sha256") if isinstance(recorded.get("source_sha256"), str) else None
    if data is None and trained_on is not None:
        _check_recorded_source_exists(trained_on, model.path)
    if data is None and trained_on is not None and trained_digest:
        _check_recorded_file_unchanged(trained_on, trained_digest, model.path)
        trained_digest = None  # checked: the recorded path is the training file, known by path from here on
    data = data or trained_on or DataConfig()
    names = model.class_names
    with_validation = with_validation and len(names) == 2
    from seqsent.data.streaming import wants_streaming

    if wants_streaming(data):
        return _streamed_evaluation_data(data, names, with_validation, trained_on)
    if with_validation and trained_on is not None and data == trained_on:
        dataset = load_dataset(data, notify)  # one load gives both the test and the validation split
        return EvaluationData(in_class_order(dataset.test, dataset.class_names, names), dataset.description,
                              in_class_order(dataset.validation, dataset.class_names, names), list(dataset.notes))
    if notify is not None:
        notify(f"Reading the test data: {data.test_source or data.source}")
    test, description, notes = load_test_split(data, names, trained_on, notify, trained_digest)
    result = EvaluationData(test, description, notes=list(notes))
    if fallback:  # said, so that a model of other data is not silently scored on movie reviews
        result.notes.insert(0, f"{model.path} records no training data, so the bundled IMDB sample was scored; "
                               "give --data to score other data")
    if not with_validation:
        return result
    if trained_on is None:
        result.notes.append("the model records no training data: no validation split to tune the threshold on")
        return result
    try:
        dataset = load_dataset(trained_on, notify)
        result.validation = in_class_order(dataset.validation, dataset.class_names, names)
    except SeqsentError as exc:
        result.notes.append(f"no validation split to tune the threshold on: {exc}")
    return result


def _given_dataset(dataset, names: list[str], with_validation: bool) -> EvaluationData:
    """A Dataset made in Python (seqsent.from_python): its test split, and its validation split to tune on."""
    if not all(hasattr(dataset, key) for key in ("class_names", "test", "validation")) or hasattr(dataset, "chunks"):
        raise UsageError(f"data= takes a seqsent.config.DataConfig or a Dataset made by seqsent.from_python, not a "
                         f"{type(dataset).__name__}")
    validation = (in_class_order(dataset.validation, dataset.class_names, names)
                  if with_validation and len(names) == 2 and len(dataset.validation) else None)
    return EvaluationData(in_class_order(dataset.test, dataset.class_names, names), dataset.description, validation,
                          list(dataset.notes))


def _check_recorded_source_exists(trained_on: DataConfig, model_path) -> None:
    """The recorded --data is the user's own path of training time: say that, not "--data X: no such file", which
    reads like a typo of an option they never gave."""
    from seqsent.data.shards import is_glob

    source = trained_on.source
    if source in ("sample", "imdb") or is_glob(source) or Path(source).expanduser().exists():
        return
    where = "" if Path(source).expanduser().is_absolute() else \
        f", a path relative to where it was trained (from {Path.cwd()} it names nothing)"
    raise DataError(f"{model_path} was trained on --data {source}{where}: no such file or directory; "
                    "give the data to score with --data")


def _check_recorded_file_unchanged(trained_on: DataConfig, digest: str, model_path) -> None:
    """The model's training file is named by a path, relative to where it was trained: from elsewhere, or after an
    edit, that path can name other rows; scoring them as "the test split" would be silently wrong."""
    from seqsent.data.tables import is_table, table_digest

    path = Path(trained_on.source).expanduser()
    if not (is_table(path) and path.is_file()):
        return
    if table_digest(path) != digest:
        raise DataError(f"{trained_on.source} is not the file {model_path} was trained on (its contents differ, or "
                        "the path names another file from here); give the data to score with --data or --test-data")


def _streamed_evaluation_data(data: DataConfig, names: list[str], with_validation: bool,
                              trained_on: DataConfig | None) -> EvaluationData:
    """Test (and validation) chunks of streamed data, its labels read as the model's classes: the model's training
    data split as it was in training, a prepared directory's test split, other shards whole (as a table file)."""
    import dataclasses

    from seqsent.data import AS_TRAINED, SCORED_WHOLE, is_training_source, unused_split_options
    from seqsent.data.dataset import encode_labels
    from seqsent.data.shards import is_glob
    from seqsent.data.streaming import open_stream
    from seqsent.layout import MANIFEST_FILE

    prepared = not is_glob(data.source) and (Path(data.source).expanduser() / MANIFEST_FILE).is_file()
    notes, whole = [], False
    if is_training_source(trained_on, data.source) and not data.test_source:
        notes = unused_split_options(data, AS_TRAINED, limit=True)
        data = dataclasses.replace(trained_on, source=data.source, stream_validation_rows=data.stream_validation_rows)
    elif not prepared and not data.test_source:
        notes = unused_split_options(data, SCORED_WHOLE)
        data, whole = dataclasses.replace(data, test_source=data.source), True  # every row is test: see open_stream
        if with_validation:  # its validation rows would be test rows too
            with_validation = False
            notes.append("no validation split to tune the threshold on: every row of this data is scored as test "
                         "(tune it with --data of the model's training data)")
    # A prepared directory names its classes; raw shards are read as the model's.
    stream = open_stream(data if prepared else dataclasses.replace(data, classes=list(names)), need_counts=False)
    test = stream.chunks("test")
    validation = stream.held_in_memory("validation", data.stream_validation_rows) if with_validation else None
    if stream.class_names != list(names):  # e.g. 2 of a 3-class model's classes: scored; a class it lacks: refused
        def in_model_order(ids) -> np.ndarray:
            return encode_labels([stream.class_names[i] for i in ids], names, f"--data {data.source}")

        in_model_order(range(len(stream.class_names)))  # every class checked now, not when its first row is read
        test = ((texts, list(in_model_order(ids))) for texts, ids in test)
        validation = validation and Split(validation.texts, in_model_order(validation.labels))
    description = f"{data.source} (streamed: all rows scored as test)" if whole else stream.description
    return EvaluationData(test, description, validation, notes + list(stream.notes))


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
                   tune_threshold: bool = False, notify=None) -> Evaluation:
    """Score a loaded model on the test split of `data`; with `tune_threshold`, also find the F1-best threshold on
    the validation split of its training data (2 classes)."""
    from seqsent.layout import recorded_history

    check_threshold(model, threshold)
    chosen = evaluation_data(model, data, with_validation=tune_threshold, notify=notify)
    scores = score(model, chosen.test, threshold, notify)
    best = None
    if chosen.validation is not None:
        best = best_f1_threshold(chosen.validation.labels, model.predict_proba(chosen.validation.texts)[:, 1])
    history, history_source = recorded_history(model.metadata)
    texts = list(chosen.test.texts) if isinstance(chosen.test, Split) else []  # streamed texts are not kept
    chosen.notes += absent_class_notes(model.class_names, scores.metrics.get("confusion_matrix"))
    return Evaluation(model.path, chosen.description, model.class_names, texts, scores, best, history, history_source,
                      chosen.notes)
