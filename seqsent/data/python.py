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

from seqsent.data.dataset import Dataset, build_dataset, class_names_for, encode_labels, stratified_indices
from seqsent.data.shards import missing_column
from seqsent.errors import DataError

PYTHON_SOURCE = "python"


def from_python(texts: Any, labels: Any = None, *, test_texts: Any = None, test_labels: Any = None,
                text_column: str = "text", label_column: str = "label", validation_fraction: float = 0.1,
                test_fraction: float = 0.2, seed: int = 1337) -> Dataset:
    """A Dataset from texts and labels, or from a DataFrame's `text_column` and `label_column`."""
    texts, labels = _columns(texts, labels, text_column, label_column, "the data")
    if test_texts is not None:
        test_texts, test_labels = _columns(test_texts, test_labels, text_column, label_column, "the test data")
        description = f"Python data ({len(texts):,} texts; {len(test_texts):,} test texts)"
    else:
        texts, labels, test_texts, test_labels = _hold_out_test(texts, labels, test_fraction, seed)
        description = f"Python data ({len(texts) + len(test_texts):,} texts, {len(test_texts):,} held out as test)"
    from seqsent.data import unsegmented_text_notes

    dataset = build_dataset(texts, labels, test_texts, test_labels, description=description,
                            validation_fraction=validation_fraction, seed=seed)
    dataset.notes += unsegmented_text_notes(dataset.train.texts)
    return dataset


def _columns(texts, labels, text_column: str, label_column: str, what: str) -> tuple[list[str], list[str]]:
    if hasattr(texts, "columns"):  # a pandas DataFrame (or anything with named columns)
        missing = [c for c in (text_column, label_column) if c not in texts.columns]
        if missing:
            raise missing_column(what, missing[0], list(map(str, texts.columns)),
                                 "(choose with text_column= / label_column=)")
        texts, labels = texts[text_column], texts[label_column]
    if labels is None:
        raise DataError(f"{what}: labels are missing (give labels, or a DataFrame with a {label_column!r} column)")
    texts, labels = [_text(t) for t in list(texts)], [_label(y) for y in list(labels)]
    if len(texts) != len(labels):
        raise DataError(f"{what}: {len(texts):,} texts but {len(labels):,} labels")
    return texts, labels


def _text(value) -> str:
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else ("" if value is None else str(value))


def _label(value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return str(int(value))
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
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
