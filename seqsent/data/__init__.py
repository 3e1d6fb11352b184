"""Data sources -> one Dataset of train / validation / test (text, label) splits.

`load_dataset(DataConfig)` picks the loader from `source`:
'sample' (bundled), 'imdb' (tensorflow-datasets), an aclImdb directory or archive,
or a .csv/.tsv/.jsonl table.
"""

from __future__ import annotations

import collections
import dataclasses
from pathlib import Path

import numpy as np

from seqsent.config import DataConfig
from seqsent.data.dataset import (Dataset, Split, build_dataset, check_classes, comparison_key, encode_labels,
                                  raised_share_note, shared_texts_note)
from seqsent.data.tables import is_table
from seqsent.errors import DataError, UsageError

__all__ = ["Dataset", "Split", "as_recorded", "load_dataset", "load_test_split", "open_data", "split_differences"]


def open_data(config: DataConfig, notify=None, need_counts: bool = True):
    """The data of a training run: a Dataset in memory, or (--streaming, or large or sharded table data) a
    StreamingDataset read from its shards when needed; see seqsent.data.streaming."""
    from seqsent.data.streaming import open_stream, wants_streaming

    if wants_streaming(config):
        if config.limit is not None or config.train_limit is not None:
            raise UsageError("--limit and --train-limit go with data held in memory, not streamed data "
                             "(--streaming off, or `seqsent prepare` a smaller sample)")
        return open_stream(config, notify, need_counts)
    return load_dataset(config, notify)


def load_dataset(config: DataConfig, notify=None) -> Dataset:
    source = config.source
    path = Path(source).expanduser()
    if config.streaming == "on":  # the callers that stream (train, evaluate, ensemble, pretraining) ask first
        raise UsageError(f"--streaming on: this command reads --data {source} into memory; leave --streaming out")
    streamed = streamed_kind(source)
    fix = ("--streaming off reads one .csv/.tsv/.jsonl file into memory; use --streaming auto or on"
           if config.streaming == "off" else "give one .csv/.tsv/.jsonl file")
    # A .gz table, a glob, a prepared directory: why it cannot be read here comes before its options (a directory
    # holding a table file may be an aclImdb directory: its options first).
    if streamed and streamed != STREAMED_DIRECTORY:
        raise UsageError(f"--data {source}: {streamed} is read streamed, row by row; {fix}")
    if holds_own_test_split(source):
        refuse_table_options(config)
    refuse_streaming_options(config, table=is_table(path))
    if streamed:
        raise UsageError(f"--data {source}: {streamed} is read streamed, row by row; {fix}")
    if source == "sample":
        from seqsent.data.sample import DESCRIPTION, read_sample, sample_class_names

        return _from_reviews(read_sample(), DESCRIPTION, config, sample_class_names)
    if source == "imdb":
        from seqsent.data.aclimdb import CLASS_NAMES
        from seqsent.data.tfds_imdb import read_imdb

        reviews, description = read_imdb()
        dataset = _from_reviews(reviews, description, config, CLASS_NAMES)
        if dataset.validation_split != "whole movies held out":
            dataset.notes.append(
                "validation is a random split: tensorflow-datasets' imdb_reviews carries no movie ids, so reviews "
                "of one movie fall in both train and validation, which flatters validation accuracy by several "
                "points; --data path/to/aclImdb_v1.tar.gz holds out whole movies")
        return dataset
    if not path.exists():
        raise DataError(f"--data {source}: no such file or directory (or use 'sample' or 'imdb')")
    if is_table(path):
        return _from_tables(path, config)
    from seqsent.data.aclimdb import CLASS_NAMES, is_archive, read_reviews

    if path.is_dir() or is_archive(path):
        return _from_reviews(read_reviews(path, notify), f"aclImdb reviews from {path}", config, CLASS_NAMES)
    raise DataError(
        f"--data {source}: unsupported file type; use .csv, .tsv, .jsonl, an aclImdb directory or .tar.gz, 'sample' or 'imdb'"
    )


STREAMED_DIRECTORY = "a directory of table shards"


def streamed_kind(source: str) -> str | None:
    """What a source only the streaming reader takes is ('a glob', 'a .gz file', ...), or None."""
    from seqsent.data.shards import is_glob
    from seqsent.layout import MANIFEST_FILE, shard_format

    if source in ("sample", "imdb"):
        return None
    path = Path(source).expanduser()
    if is_glob(source) and not path.exists():
        return "a glob"
    if path.is_dir():
        if (path / MANIFEST_FILE).is_file():
            return "a `seqsent prepare` directory"
        return STREAMED_DIRECTORY if any(shard_format(p) for p in path.iterdir()) else None
    return "a .gz table file" if shard_format(path) and path.name.lower().endswith(".gz") else None


def holds_own_test_split(source: str) -> bool:
    """The sample, IMDB, aclImdb, a prepared directory: sources with no columns and a test split of their own."""
    path = Path(source).expanduser()
    return source in ("sample", "imdb") or (path.exists() and not is_table(path))


def as_recorded(config: DataConfig | None) -> DataConfig | None:
    """A model's recorded data settings, to read its data again: an older seqsent kept a --test-fraction it then
    ignored for a source with its own test split, which load_dataset now refuses as a user's option."""
    if config is None or config.test_fraction == DataConfig.test_fraction or not holds_own_test_split(config.source):
        return config
    return dataclasses.replace(config, test_fraction=DataConfig.test_fraction)


SPLIT_SETTINGS = {"source": "--data", "test_source": "--test-data", "text_column": "--text-column",
                  "label_column": "--label-column", "validation_fraction": "--validation-fraction",
                  "test_fraction": "--test-fraction", "limit": "--limit", "train_limit": "--train-limit",
                  "seed": "--seed", "split_key": "--split-key"}


def split_differences(a: DataConfig, b: DataConfig) -> list[str]:
    """How two runs' data settings make other train / validation / test splits ("--seed 1337 / 2"), [] when they
    split alike: a model's test rows are unseen by another model only when the two split one data set alike."""
    from seqsent.data.streaming import wants_streaming

    def value(config: DataConfig, key: str):
        found = getattr(config, key)
        if key in ("source", "test_source") and found and found not in ("sample", "imdb"):
            return str(Path(found).expanduser().resolve()) if Path(found).expanduser().exists() else found
        return found

    differences = [f"{flag} {_shown(value(a, key))} / {_shown(value(b, key))}" for key, flag in SPLIT_SETTINGS.items()
                   if value(a, key) != value(b, key)]
    if not differences and wants_streaming(a) != wants_streaming(b):
        differences.append("--streaming " + " / ".join("on" if wants_streaming(c) else "off" for c in (a, b)))
    return differences


def _shown(value) -> str:
    return "(none)" if value is None else str(value)


def refuse_table_options(config: DataConfig) -> None:
    """--test-data, --test-fraction and the column options mean something only for table data: a source with its own test split
    and no columns (the sample, IMDB, aclImdb, a prepared directory) must not silently ignore them."""
    if config.test_source:
        raise UsageError(f"--test-data goes with a table --data (.csv/.tsv/.jsonl); --data {config.source} holds its "
                         "own test split "
                         "(to score a whole file with evaluate, give it as --data FILE)")
    for flag, value, default in (("--text-column", config.text_column, DataConfig.text_column),
                                 ("--label-column", config.label_column, DataConfig.label_column)):
        if value != default:
            raise UsageError(f"{flag} {value} goes with a table --data (.csv/.tsv/.jsonl); "
                             f"--data {config.source} has no columns to choose")
    if config.test_fraction != DataConfig.test_fraction:
        raise UsageError(f"--test-fraction {config.test_fraction} splits a table --data (.csv/.tsv/.jsonl); "
                         f"--data {config.source} holds its own test split (leave --test-fraction out)")


def refuse_streaming_options(config: DataConfig, table: bool) -> None:
    """--split-key and --classes steer the streaming reader; data read into memory is split its own way (a table
    stratified by label, IMDB by movie), so they would be silently ignored, a --split-key's groups leaking across
    splits."""
    own_split = "a table read into memory is split stratified by label" if table else \
        f"--data {config.source} has its own splits"
    if config.split_key:
        fix = f"add --streaming on to split --data {config.source} by it" if table else "leave it out"
        raise UsageError(f"--split-key {config.split_key} splits streamed data only ({own_split}): {fix}")
    if config.classes:
        raise UsageError(f"--classes goes with streamed data, to spare its first pass over the labels; read into "
                         f"memory, --data {config.source} gives its own classes: leave --classes out")


def _from_reviews(reviews, description: str, config: DataConfig, class_names: list[str]) -> Dataset:
    """reviews: split -> (texts, labels) or (texts, labels, movie ids)."""
    train, test = reviews["train"], reviews["test"]
    groups = list(train[2]) if len(train) > 2 and len(train[2]) == len(train[0]) else None
    return build_dataset(
        train[0], train[1], test[0], test[1],
        description=description, validation_fraction=config.validation_fraction,
        seed=config.seed, limit=config.limit, class_names=class_names, train_groups=groups,
        train_limit=config.train_limit,
    )


def _from_tables(path: Path, config: DataConfig) -> Dataset:
    from seqsent.data.dataset import class_names_for, encode_labels, stratified_indices
    from seqsent.data.tables import read_table

    train = read_table(path, config.text_column, config.label_column, config.on_empty_text)
    notes = list(train.notes)
    if config.test_source:
        test_path = Path(config.test_source).expanduser()
        if not test_path.is_file():
            raise DataError(f"--test-data {config.test_source}: no such file")
        test = read_table(test_path, config.text_column, config.label_column, config.on_empty_text)
        notes += test.notes
        description = f"{path} (test: {test_path})"
        test_texts, test_labels = test.texts, test.labels
        train_texts, train_labels = train.texts, train.labels
    else:
        # No separate test file: hold out a stratified test split first, then validation from the rest.
        class_names = class_names_for(train.labels)
        y = encode_labels(train.labels, class_names, str(path))
        n_test = max(1, int(round(len(y) * config.test_fraction)))
        if len(y) - n_test < 2:
            raise DataError(f"{path}: only {len(y)} usable rows, too few to split into train, validation and test")
        test_idx, train_idx = stratified_indices(y, n_test, config.seed + 1)
        check_classes(class_names, len(train_idx), str(path), notes)  # a label column of texts: said as such, first
        left_out = len(class_names) - len(np.unique(y[train_idx]))
        if left_out:
            raise DataError(f"--test-fraction {config.test_fraction} holds out {n_test} of the {len(y)} rows as test "
                            f"and leaves no training example of {left_out} of the {len(class_names)} classes; lower "
                            "--test-fraction or give more data")
        train_texts = [train.texts[i] for i in train_idx]
        train_labels = [train.labels[i] for i in train_idx]
        test_texts = [train.texts[i] for i in test_idx]
        test_labels = [train.labels[i] for i in test_idx]
        description = f"{path} ({len(test_texts)} rows held out as test)"
        raised = raised_share_note("test", "--test-fraction", config.test_fraction, len(y), len(test_idx),
                                   len(class_names))
        notes += [raised] if raised else []
    dataset = build_dataset(
        train_texts, train_labels, test_texts, test_labels,
        description=description, validation_fraction=config.validation_fraction,
        seed=config.seed, limit=config.limit, notes=notes, train_limit=config.train_limit,
    )
    dataset.notes += shared_test_texts(dataset) + unsegmented_text_notes(dataset.train.texts)
    return dataset


def shared_test_texts(dataset: Dataset) -> list[str]:
    """Test texts that are also train texts (a file with duplicates, or --test-data overlapping --data)
    score what the model memorised: said, not dropped, as the user chose the data."""
    train = {comparison_key(text) for text in dataset.train.texts} - {""}
    return shared_texts_note(sum(comparison_key(text) in train for text in dataset.test.texts), len(dataset.test))


def unsegmented_text_notes(texts: list[str], sample: int = 2000) -> list[str]:
    """Words are what lies between spaces and punctuation: text written without spaces (Chinese, Japanese, Thai)
    reads as long 'words' (whole clauses) that almost never recur, and the model learns next to nothing. Said when
    most word occurrences are words met once and words are long (the IMDB sample: 2.3% and 4.3 characters)."""
    words = [word for text in texts[:sample] for word in comparison_key(text).split()]
    if len(words) < 100:
        return []
    counts = collections.Counter(words)
    once = sum(1 for word in words if counts[word] == 1) / len(words)
    length = sum(map(len, words)) / len(words)
    if once < 0.5 or length < 6:
        return []
    return [f"{once:.0%} of the words occur once in {min(len(texts), sample):,} texts and a word averages "
            f"{length:.1f} characters: words are split at spaces and punctuation, so text written without spaces "
            "(e.g. Chinese, Japanese, Thai) must be segmented into words first"]


def load_test_split(config: DataConfig, class_names: list[str], trained_on: DataConfig | None = None,
                    notify=None, trained_digest: str | None = None) -> tuple[Split, str, list[str]]:
    """The examples to score a trained model on, labels encoded in the model's class order.

    IMDB-style sources: their test split. A table file: --test-data if given; the held-out
    test part when it is the file the model was trained on; otherwise the whole file (it may
    hold a single class: scoring only positive reviews is legitimate). --test-data without --data
    (the source left at 'sample'): that file, read with the model's columns. `trained_digest` (the
    training file's SHA-256, recorded by newer models) tells the training file by its contents, so
    a copy of it is split the same way and an edited one is not taken for it.
    """
    import dataclasses

    path = Path(config.source).expanduser()
    if config.source not in ("sample", "imdb") and path.is_file() and is_table(path):
        notes = []
        if trained_on is None or config.test_source:
            same_file = False
        elif trained_digest:
            from seqsent.data.tables import table_digest

            same_file = table_digest(path) == trained_digest
            if not same_file and _same_path(trained_on.source, path):
                notes.append(f"{config.source} has changed since the model was trained on it: every row is scored, "
                             "and rows the model trained on may be among them")
        else:
            same_file = _same_path(trained_on.source, path)
        if same_file:  # split as it was in training, whatever this call's split options say
            dataset = load_dataset(dataclasses.replace(trained_on, source=config.source), notify)
            names = [dataset.class_names[i] for i in dataset.test.labels]
            split = Split(dataset.test.texts, encode_labels(names, class_names, "the evaluation data"))
            return split, dataset.description, unused_split_options(config, AS_TRAINED, limit=True) + dataset.notes
        notes += unused_split_options(config, SCORED_WHOLE)
        split, description, table_notes = _whole_file(config.test_source or config.source, config, class_names)
        own_file = _trained_file_notes(config.test_source, trained_on, trained_digest) if config.test_source else []
        return split, description, notes + own_file + (table_notes if own_file else
                                                        table_notes + trained_text_notes(split, trained_on))
    if config.test_source and config.source == DataConfig.source:
        # `evaluate MODEL --test-data FILE` without --data: FILE is the test data, in the model's columns unless
        # the column options say otherwise.
        if trained_on is not None:
            config = dataclasses.replace(config, **{
                column: getattr(trained_on, column) for column in ("text_column", "label_column")
                if getattr(config, column) == getattr(DataConfig, column)})
        split, description, table_notes = _whole_file(config.test_source, config, class_names)
        own_file = _trained_file_notes(config.test_source, trained_on, trained_digest)
        return split, description, own_file + table_notes + ([] if own_file else
                                                             trained_text_notes(split, trained_on))
    dataset = load_dataset(config, notify)
    names = [dataset.class_names[i] for i in dataset.test.labels]
    return Split(dataset.test.texts, encode_labels(names, class_names, "the evaluation data")), \
        dataset.description, dataset.notes


# Why evaluate's split options change nothing: the model's training data is split as recorded; other data is whole.
AS_TRAINED = "the model's training data is split as it was in training (its recorded settings)"
SCORED_WHOLE = "data the model was not trained on is scored whole, every row"


def unused_split_options(config: DataConfig, why: str, limit: bool = False) -> list[str]:
    """A note naming the split options given (not at their default) that `why` leaves unused; `limit` too."""
    fields = ("validation_fraction", "test_fraction", "seed") + (("limit",) if limit else ())
    given = [f"{SPLIT_SETTINGS[name]} {getattr(config, name)}" for name in fields
             if getattr(config, name) != getattr(DataConfig, name)]
    return [f"{', '.join(given)} had no effect: {why}"] if given else []


def is_training_source(trained_on: DataConfig | None, source: str) -> bool:
    """Whether `source` names the data a model was trained on (by path; a glob by its text)."""
    if trained_on is None:
        return False
    return trained_on.source == source or _same_path(trained_on.source, Path(source).expanduser())


def _whole_file(source: str, config: DataConfig, class_names: list[str]) -> tuple[Split, str, list[str]]:
    """Every row of a table file (the first --limit of them) as test data, labels in the model's class order."""
    from seqsent.data.tables import read_table

    test_path = Path(source).expanduser()
    if not test_path.is_file():
        raise DataError(f"--test-data {source}: no such file")
    table = read_table(test_path, config.text_column, config.label_column, config.on_empty_text)
    texts, labels = table.texts, table.labels
    if config.limit is not None and config.limit < len(texts):
        texts, labels = texts[: config.limit], labels[: config.limit]
    return Split(texts, encode_labels(labels, class_names, str(test_path))), \
        f"{test_path} (all {len(texts):,} rows scored as test)", table.notes


def trained_text_notes(split: Split, trained_on: DataConfig | None) -> list[str]:
    """A file scored whole may hold texts the model trained on (a re-saved or reordered copy of its training file,
    another export of the same data): they flatter the metrics, so they are counted. The training split is read
    again from the recorded table file, when it still holds the data it was trained on; other sources are not."""
    from seqsent.data.streaming import wants_streaming
    from seqsent.errors import SeqsentError

    if trained_on is None or not is_table(Path(trained_on.source).expanduser()) or wants_streaming(trained_on):
        return []
    try:
        trained = load_dataset(trained_on, None)
    except SeqsentError:
        return []
    keys = {comparison_key(text) for text in trained.train.texts} - {""}
    shared = sum(comparison_key(text) in keys for text in split.texts)
    if not shared:
        return []
    return [f"{shared:,} of the {len(split):,} scored texts are texts the model trained on ({trained_on.source}): "
            "the metrics overstate accuracy on unseen texts"]


def _trained_file_notes(test_source: str, trained_on: DataConfig | None, trained_digest: str | None) -> list[str]:
    """--test-data naming the model's own training file scores its train rows as test: flattering, so said."""
    from seqsent.data.tables import table_digest

    path = Path(test_source).expanduser()
    if trained_on is None or not path.is_file():
        return []
    same = table_digest(path) == trained_digest if trained_digest else _same_path(trained_on.source, path)
    if not same:
        return []
    return [f"{test_source} is the file the model was trained on: every row is scored, the rows it trained on "
            f"too, which flatters the metrics; `--data {test_source}` scores its held-out test rows only"]


def _same_path(source: str, path: Path) -> bool:
    try:
        return Path(source).expanduser().resolve() == path.resolve()
    except OSError:
        return False
