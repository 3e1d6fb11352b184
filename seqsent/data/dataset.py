"""The one Dataset type every loader produces, and the one place splits are made."""

from __future__ import annotations

import functools
import re
import sys
import unicodedata
from dataclasses import dataclass, field
from typing import Optional, Sequence

import numpy as np

from seqsent.errors import DataError


@dataclass
class Split:
    texts: list[str]
    labels: np.ndarray  # int class ids into Dataset.class_names

    def __len__(self) -> int:
        return len(self.texts)


@dataclass
class Dataset:
    train: Split
    validation: Split
    test: Split
    class_names: list[str]
    description: str
    notes: list[str] = field(default_factory=list)
    """Things the loader did that a user should hear about (rows skipped, bytes replaced)."""
    unlabelled: list[str] = field(default_factory=list)
    """Texts without labels that a semi-supervised run learns from (--unlabelled); never test texts."""
    validation_split: str = "stratified by label"
    """How validation was carved out of train: 'whole movies held out' (IMDB with movie ids) or stratified."""

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def split_sizes(self) -> dict[str, int]:
        return {"train": len(self.train), "validation": len(self.validation), "test": len(self.test)}

    def fingerprint(self) -> str:
        """A hash of the train and validation texts and labels: a crash backup resumes only on the same data."""
        import hashlib

        digest = hashlib.sha256()
        for split in (self.train, self.validation):
            for text in split.texts:
                digest.update(text.encode("utf-8", "surrogatepass") + b"\0")
            digest.update(np.asarray(split.labels, dtype=np.int64).tobytes())
        for text in self.unlabelled:
            digest.update(text.encode("utf-8", "surrogatepass") + b"\1")
        digest.update("\0".join(self.class_names).encode())
        return digest.hexdigest()[:16]


def class_names_for(labels: Sequence[str]) -> list[str]:
    """Sorted distinct labels; numeric labels sort by value so '2' comes before '10'."""
    distinct = set(labels)
    _refuse_numeric_twins(distinct)
    if all(_is_int(v) for v in distinct):
        return sorted(distinct, key=int)
    return sorted(distinct)


_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _refuse_numeric_twins(labels: set[str]) -> None:
    """Labels are strings, so '1' and '1.0' (a JSON 1 and 1.0, or a spreadsheet's export) would be two classes
    of one meaning, trained apart with exit 0: a one-line error instead, naming them."""
    by_value: dict[float, list[str]] = {}
    for label in labels:
        if _NUMBER.fullmatch(label):
            by_value.setdefault(float(label), []).append(label)
    twins = sorted(sorted(group) for group in by_value.values() if len(group) > 1)
    if twins:
        shown = "; ".join(" and ".join(map(repr, group)) for group in twins[:3])
        raise DataError(f"labels {shown} are one number written in different ways and would be different classes; "
                        "write each label one way")


def check_classes(class_names: list[str], rows: int, description: str, notes: Sequence[str] = ()) -> None:
    """Labels a classifier can learn from: two classes or more, and not one per row (a text column taken as labels).
    `notes`: the loader's; rows it skipped (a label 'NA' is a missing value) may be the class that is not there."""
    if len(class_names) < 2:
        skipped = next((f" ({note})" for note in notes if "skipped" in note), "")
        raise DataError(f"{description}: the training data has a single class ({class_names[0]!r}); need 2 or "
                        f"more{skipped}")
    if len(class_names) >= 20 and 2 * len(class_names) > rows:
        raise DataError(f"{description}: {len(class_names):,} distinct labels in {rows:,} training rows, "
                        "fewer than 2 examples per class: is the label column right? (--label-column)")


# Rows between checks of the labels met so far while a large source is read (see check_classes_while_reading).
LABEL_CHECK_ROWS = 100_000


def check_classes_while_reading(labels, rows: int, description: str) -> None:
    """check_classes every LABEL_CHECK_ROWS rows of a pass over a large source: a text column taken as labels is
    refused then, before its millions of distinct 'labels' fill the memory."""
    if rows % LABEL_CHECK_ROWS == 0 and len(labels) >= 2:
        check_classes(list(labels), rows, description)


def encode_labels(labels: Sequence[str], class_names: list[str], where: str) -> np.ndarray:
    from seqsent.data.shards import nfc

    # Compared composed (NFC): labels are read so, class names of older models and prepared data may not be.
    index = {nfc(name): i for i, name in enumerate(class_names)}
    labels = [nfc(label) for label in labels]
    unknown = sorted({label for label in labels if label not in index})
    if unknown:
        shown = ", ".join(repr(_clip(u)) for u in unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5 else "")
        known = ", ".join(_clip(name) for name in class_names[:10]) + (", ..." if len(class_names) > 10 else "")
        raise DataError(f"{where} has labels not seen in the training data: {shown} (known: {known})"
                        + _same_numbers_hint(unknown, class_names))
    return np.array([index[label] for label in labels], dtype=np.int64)


def _same_numbers_hint(unknown: list[str], class_names: list[str]) -> str:
    """Labels are strings: 1 and 1.0 are two classes (a float column from pandas, an int one from a CSV). Said when
    every unknown label is a class's number written otherwise."""
    def number(label: str) -> float | None:
        try:
            return float(label)
        except ValueError:
            return None

    by_value = {number(name): name for name in class_names if number(name) is not None}
    twins = [(label, by_value.get(number(label))) for label in unknown]
    if not twins or any(name is None for _, name in twins):
        return ""
    label, name = twins[0]
    return f"; {label!r} is the class {name!r} written otherwise: write the labels as the model's classes"


def _clip(label: str, width: int = 40) -> str:
    return label if len(label) <= width else label[: width - 3] + "..."


def stratified_subset(texts: list[str], labels: np.ndarray, size: int, seed: int,
                      groups: Optional[list[str]] = None):
    """At most `size` examples, keeping class proportions (and each example's group)."""
    if size >= len(texts):
        return texts, labels, groups
    keep, _ = stratified_indices(labels, size, seed)
    return [texts[i] for i in keep], labels[keep], (None if groups is None else [groups[i] for i in keep])


def split_off_validation(texts: list[str], labels: np.ndarray, fraction: float, seed: int,
                         groups: Optional[list[str]] = None, option: str = "--validation-fraction"
                         ) -> tuple[Split, Split, str]:
    """Carve a seeded validation split out of train (never out of test).

    With `groups` (IMDB: the movie each review is about) whole groups go to validation,
    so it measures what the test split measures: reviews of movies never seen in training.
    Without, the split is stratified by label. The third value says which was done.
    """
    n_val = max(1, int(round(len(texts) * fraction)))
    if len(texts) - n_val < 1:
        raise DataError(f"only {len(texts)} training examples: too few to hold out a validation split")
    if groups is not None and all(groups) and len(set(groups)) >= 10:
        val_idx, train_idx = grouped_indices(groups, n_val, seed)
        how = "whole movies held out"
    else:
        val_idx, train_idx = stratified_indices(labels, n_val, seed)
        how = "stratified by label"
    missing = np.setdiff1d(np.unique(labels), labels[train_idx])
    if len(missing):
        # A class the model never trains on cannot be learned: the run would only look like it worked.
        setting = f"{option} {fraction}" if option.startswith("--") else f"{option}={fraction}"
        raise DataError(f"{setting} leaves {len(train_idx)} training example(s) and no "
                        f"training example of {len(missing)} of the {len(np.unique(labels))} classes; "
                        f"lower {option} or give more data")
    return (
        Split([texts[i] for i in train_idx], labels[train_idx]),
        Split([texts[i] for i in val_idx], labels[val_idx]),
        how,
    )


def build_dataset(
    train_texts: list[str],
    train_labels: Sequence[str],
    test_texts: list[str],
    test_labels: Sequence[str],
    *,
    description: str,
    validation_fraction: float,
    seed: int,
    limit: int | None = None,
    class_names: list[str] | None = None,
    notes: list[str] | None = None,
    train_groups: list[str] | None = None,
    train_limit: int | None = None,
    validation_option: str = "--validation-fraction",
) -> Dataset:
    """Turn raw (text, label) lists into a validated Dataset with a validation split."""
    if not train_texts:
        raise DataError(f"{description}: the training data has no examples")
    if not test_texts:
        raise DataError(f"{description}: the test data has no examples")
    class_names = class_names or class_names_for(train_labels)
    check_classes(class_names, len(train_labels), description, notes or ())
    y_train = encode_labels(train_labels, class_names, "the training data")
    y_test = encode_labels(test_labels, class_names, "the test data")
    if limit is not None:
        _check_limit_fits_classes("--limit", limit, len(train_texts), len(class_names))
        train_texts, y_train, train_groups = stratified_subset(train_texts, y_train, limit, seed, train_groups)
        held = len(test_texts)
        test_texts, y_test, _ = stratified_subset(test_texts, y_test, limit, seed)
        if len(test_texts) < held:  # the description counted the test rows before --limit
            description += f"; --limit keeps {len(test_texts):,} of its {held:,} test rows"
    if train_limit is not None:
        _check_limit_fits_classes("--train-limit", train_limit, len(train_texts), len(class_names))
        train_texts, y_train, train_groups = stratified_subset(train_texts, y_train, train_limit, seed, train_groups)
    train, validation, how = split_off_validation(train_texts, y_train, validation_fraction, seed, train_groups,
                                                 validation_option)
    notes = list(notes or [])
    raised = raised_share_note("validation", validation_option, validation_fraction, len(train) + len(validation),
                               len(validation), len(class_names))
    notes += [raised] if raised and how.startswith("stratified") else []
    if len(validation) < FEW_VALIDATION_EXAMPLES:
        notes.append(f"{FEW_VALIDATION_NOTE}{len(validation)} example(s): early stopping and the kept epoch are "
                     f"chosen on them; raise {validation_option} or give more data for a steadier choice")
    return Dataset(train, validation, Split(list(test_texts), y_test), class_names, description, notes,
                   validation_split=how)


FEW_VALIDATION_EXAMPLES = 20  # below this, one example moves validation accuracy by more than 5 points
FEW_VALIDATION_NOTE = "the validation split holds "  # how that note starts: advice to training, not to evaluate


def _check_limit_fits_classes(option: str, size: int, available: int, num_classes: int) -> None:
    """A limit that cuts train below one text per class plus one to validate on: name the limit, not the
    --validation-fraction whose split would be the first to find a class missing."""
    if size < available and size <= num_classes:
        raise DataError(f"{option} {size} keeps fewer texts than the {num_classes} classes need (a training text of "
                        f"each, and more to validate on); give more than {num_classes}")


def raised_share_note(split: str, option: str, fraction: float, rows: int, held_out: int, classes: int) -> str | None:
    """A stratified split keeps one example of each class where the class allows it: with many classes of few rows
    that is more than the share asked for, and less is left to train on; said, not done silently."""
    asked = max(1, int(round(rows * fraction)))
    if held_out <= asked + 1:
        return None
    setting = f"{option} {fraction}" if option.startswith("--") else f"{option}={fraction}"
    return (f"{setting} asks for {asked} of {rows} rows as {split}; {held_out} were held out, one or more of each "
            f"of the {classes} classes (stratified), leaving {rows - held_out} to train on: give more rows per class")


def stratified_indices(labels: np.ndarray, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a stratified sample of `size`, and of the rest, both shuffled with `seed`."""
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    classes, counts = np.unique(labels, return_counts=True)
    # Largest-remainder allocation, at least one per class where the class allows it.
    exact = counts * size / len(labels)
    take = np.floor(exact).astype(int)
    for i in np.argsort(-(exact - take))[: size - take.sum()]:
        take[i] += 1
    take = np.minimum(np.maximum(take, np.minimum(1, counts - 1)), counts)
    chosen, rest = [], []
    for cls, n in zip(classes, take):
        members = rng.permutation(np.flatnonzero(labels == cls))
        chosen.append(members[:n])
        rest.append(members[n:])
    chosen_idx, rest_idx = np.concatenate(chosen), np.concatenate(rest)
    return rng.permutation(chosen_idx), rng.permutation(rest_idx)


def grouped_indices(groups: list[str], size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Whole groups, in seeded random order, until at least `size` examples; and the rest."""
    rng = np.random.default_rng(seed)
    names, inverse = np.unique(np.asarray(groups), return_inverse=True)
    order = rng.permutation(len(names))
    sizes = np.bincount(inverse, minlength=len(names))[order]
    chosen_groups = order[: int(np.searchsorted(np.cumsum(sizes), size)) + 1]
    in_validation = np.isin(inverse, chosen_groups)
    return rng.permutation(np.flatnonzero(in_validation)), rng.permutation(np.flatnonzero(~in_validation))


def _is_int(value: str) -> bool:
    try:
        int(value)
    except (TypeError, ValueError):
        return False
    return True


_HTML_TAG = re.compile(r"<[^>]{0,200}>")


@functools.lru_cache(maxsize=1)
def _blanked_characters() -> dict[int, str]:
    """What standardize_text turns into spaces (punctuation, maths, currency and modifier symbols, spaces, control
    characters), as a str.translate table over the Basic Multilingual Plane."""
    categories = ("P", "Sm", "Sc", "Sk", "Z", "Cc")
    return {code: " " for code in range(min(sys.maxunicode, 0xFFFF) + 1)
            if unicodedata.category(chr(code)).startswith(categories)}


def shared_texts_note(shared: int, tests: int) -> list[str]:
    """Test texts that are also train texts score what the model memorised: said, not dropped (the user chose the
    data)."""
    if not shared:
        return []
    return [f"{shared:,} of the {tests:,} test texts also appear in train: test accuracy overstates accuracy on "
            "unseen texts (remove the duplicates from the test data)"]


class TextOverlap:
    """shared_texts_note for data read as a stream: 8 bytes a text (a hash of its comparison_key), not the texts."""

    def __init__(self):
        import array

        self.hashes = {"train": array.array("Q"), "test": array.array("Q")}
        self.tests = 0

    def add(self, split: str, text: str) -> None:
        self.tests += split == "test"
        if split in self.hashes and (key := comparison_key(text)):
            self.hashes[split].append(_key_hash(key))

    def shared(self) -> int:
        train, test = (np.frombuffer(self.hashes[split], dtype=np.uint64) for split in ("train", "test"))
        return int(np.isin(test, train).sum()) if len(train) and len(test) else 0

    def note(self) -> list[str]:
        return shared_texts_note(self.shared(), self.tests)


def text_hash(text: str) -> int:
    """64 bits of a hash of comparison_key(text): texts the model reads alike, remembered in 8 bytes."""
    return _key_hash(comparison_key(text))


def _key_hash(key: str) -> int:
    import hashlib

    return int.from_bytes(hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).digest(), "little")


def comparison_key(text: str) -> str:
    """A text as the model reads it (seqsent.text.standardize_text, in plain Python): texts that differ only in case,
    punctuation, spacing or HTML tags are one text to the model, so a test text written in capitals is still a test
    text when train or --unlabelled data are checked for it."""
    text = text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)  # as the model
    return " ".join(_HTML_TAG.sub(" ", text.lower()).translate(_blanked_characters()).split())
