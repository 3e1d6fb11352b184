"""Labelled data handed over from Python (lists, NumPy arrays, a pandas DataFrame), without writing a file.

    dataset = from_python(frame, text_column="review", label_column="stars")      # a DataFrame
    dataset = from_python(texts, labels, test_texts=more, test_labels=their_labels)
    report = seqsent.train(RunConfig(name="reviews"), dataset=dataset)

Splits are made as for a table file: a held-out test share unless test data is given, then a stratified
validation share of train. The dataset's fingerprint (its texts and labels) is part of the key of a
run's crash backup, so a run on other data never resumes this one's backup.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from seqsent.data.dataset import (Dataset, build_dataset, class_names_for, encode_labels, raised_share_note,
                                  stratified_indices)
from seqsent.data.shards import MISSING_VALUE_MARKERS, missing_column, nfc
from seqsent.errors import DataError, UsageError

PYTHON_SOURCE = "python"


def from_python(texts: Any, labels: Any = None, *, test_texts: Any = None, test_labels: Any = None,
                text_column: str = "text", label_column: str = "label", validation_fraction: float = 0.1,
                test_fraction: float = 0.2, seed: int = 1337) -> Dataset:
    """A Dataset from texts and labels, or from a DataFrame's `text_column` and `label_column`."""
    for name, fraction in (("validation_fraction", validation_fraction), ("test_fraction", test_fraction)):
        if not 0.0 < fraction < 1.0:
            raise UsageError(f"{name} must be between 0 and 1, not {fraction}")
    texts, labels, notes = columns_of(texts, labels, text_column, label_column, "the data")
    if test_texts is not None:
        test_texts, test_labels, test_notes = columns_of(test_texts, test_labels, text_column, label_column,
                                                         "the test data")
        notes += test_notes
        description = f"Python data ({len(texts):,} texts; {len(test_texts):,} test texts)"
    else:
        rows = len(texts)
        texts, labels, test_texts, test_labels = _hold_out_test(texts, labels, test_fraction, seed)
        raised = raised_share_note("test", "test_fraction", test_fraction, rows, len(test_texts), len(set(labels)))
        notes += [raised] if raised else []
        description = f"Python data ({len(texts) + len(test_texts):,} texts, {len(test_texts):,} held out as test)"
    from seqsent.data import shared_test_texts, unsegmented_text_notes

    dataset = build_dataset(texts, labels, test_texts, test_labels, description=description,
                            validation_fraction=validation_fraction, seed=seed, notes=notes,
                            validation_option="validation_fraction")
    dataset.notes += shared_test_texts(dataset) + unsegmented_text_notes(dataset.train.texts)
    return dataset


def columns_of(texts, labels, text_column: str, label_column: str, what: str
               ) -> tuple[list[str], list[str], list[str]]:
    """(texts, labels, notes): rows whose text or label is missing (None, NaN, pandas' NA and NaT: how pandas marks a
    gap) or empty are skipped and counted in a note, as `seqsent train` skips such rows of a table file."""
    if hasattr(texts, "columns"):  # a pandas DataFrame (or anything with named columns)
        missing = [c for c in (text_column, label_column) if c not in texts.columns]
        if missing:
            raise missing_column(what, missing[0], list(map(str, texts.columns)),
                                 "(choose with text_column= / label_column=)")
        texts, labels = texts[text_column], texts[label_column]
    if labels is None:
        raise DataError(f"{what}: labels are missing (give labels, or a DataFrame with a {label_column!r} column)")
    texts, labels = _one_dimensional(texts, "texts", what), _one_dimensional(labels, "labels", what)
    if len(texts) != len(labels):
        raise DataError(f"{what}: {len(texts):,} texts but {len(labels):,} labels")
    rows = [(_text(t), _label(y, what)) for t, y in zip(texts, labels)]
    kept = [(t, y) for t, y in rows if t is not None and t.strip() and y is not None and y.strip()]
    notes = []
    if len(kept) < len(rows):
        notes.append(f"{what}: skipped {len(rows) - len(kept):,} of {len(rows):,} examples with a missing or empty "
                     "text or label (None, NaN, NA or blank)")
    return [t for t, _ in kept], [y.strip() for _, y in kept], notes


def _one_dimensional(values, name: str, what: str) -> list:
    """A flat list: a single string (not a list of one) and 2-D arrays (one-hot labels, texts in a matrix) would
    otherwise be read as characters or as the string of each row."""
    if isinstance(values, (str, bytes)):
        raise DataError(f"{what}: {name} is a single string; give a list of them (wrap one text in a list)")
    shape = getattr(values, "shape", None)
    if shape is not None and len(shape) != 1:
        raise DataError(f"{what}: {name} must be one-dimensional, one per example, not of shape {tuple(shape)}"
                        + (" (one-hot labels: give the class of each example, e.g. argmax)" if name == "labels"
                           else ""))
    values = list(values)
    nested = next((v for v in values if isinstance(v, (list, tuple, dict, set, np.ndarray))), None)
    if nested is not None:
        raise DataError(f"{what}: {name} must be one value per example, not a {type(nested).__name__}")
    return values


def is_missing_value(value) -> bool:
    """None, NaN, or pandas' NA / NaT (told by type name: pandas need not be installed): str() of any would be
    read as a word or a class ('nan', '<NA>')."""
    return (value is None or (isinstance(value, (float, np.floating)) and np.isnan(value))
            or type(value).__name__ in ("NAType", "NaTType"))


def _text(value) -> str | None:
    if is_missing_value(value):
        return None
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else _without_lone_surrogates(str(value))


def _without_lone_surrogates(text: str) -> str:
    """A str holding lone surrogates (undecodable bytes kept by os.fsdecode or errors='surrogateescape') cannot become
    a tf.string: each becomes U+FFFD, as the model's standardisation does with bytes that are not UTF-8."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        raw = text.encode("utf-8", "surrogateescape")  # the bytes os.fsdecode read
    except UnicodeEncodeError:
        raw = text.encode("utf-8", "surrogatepass")
    return raw.decode("utf-8", errors="replace")


def _label(value, what: str) -> str | None:
    if is_missing_value(value):
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if isinstance(value, str):
        return None if value.strip() in MISSING_VALUE_MARKERS else nfc(value)  # 'NaN' read from a file: as train does
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))  # 'True' / 'False', the classes a CSV file (or pandas' bool column) writes them as
    if isinstance(value, (float, np.floating)):
        if not np.isfinite(value):
            raise DataError(f"{what}: a label is {value}: labels must be class names or finite numbers")
        if float(value).is_integer():
            return str(int(value))  # 1.0 from a float column is the class "1"
    return str(value)


def _hold_out_test(texts: Sequence[str], labels: Sequence[str], fraction: float, seed: int):
    y = encode_labels(labels, class_names_for(labels), "the data")
    n_test = max(1, int(round(len(y) * fraction)))
    if len(y) - n_test < 2:
        raise DataError(f"the data: only {len(y)} examples, too few to split into train, validation and test")
    test_idx, train_idx = stratified_indices(y, n_test, seed + 1)
    pick = lambda values, idx: [values[i] for i in idx]  # noqa: E731
    return pick(texts, train_idx), pick(labels, train_idx), pick(texts, test_idx), pick(labels, test_idx)
