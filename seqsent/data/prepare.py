"""`seqsent prepare`: any labelled source -> shuffled, gzip-compressed JSON-lines shards per split, and a manifest.

Training can stream raw table files, but a prepared directory is better in three ways: its rows are
shuffled (a sorted CSV, say all negative reviews first, would otherwise feed the model one class for
long stretches, however large the shuffle buffer); its splits are separate shards (validation and test
read without scanning the train rows); and its manifest holds the classes and row counts (no first
pass). Several shards let several workers each read their own.

Memory stays bounded whatever the source's size: a first pass sends each row to one of many
temporary buckets at random (seeded); a second pass loads one bucket at a time, shuffles it and deals
its rows round-robin into the output shards. Rows go to splits exactly as streaming a raw source does
(seqsent.data.streaming.split_of), so both ways give the same splits.
"""

from __future__ import annotations

import datetime
import gzip
import json
import math
import random
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from seqsent.config import DataConfig
from seqsent.data.dataset import TextOverlap, check_classes_while_reading, shared_texts_note
from seqsent.data.shards import (check_shard, delimited_rows, find_shards, iter_rows, open_text,
                                 undecodable_sequences)
from seqsent.layout import MANIFEST_FILE, PREPARED_FILES, shard_format
from seqsent.data.streaming import MANIFEST_FORMAT, SPLITS, split_of
from seqsent.errors import DataError, UsageError
from seqsent.files import check_output_dir, hold_lock, release, remove_abandoned, staged_directory

BUCKET_ROWS = 50_000  # rows held in memory at a time while shuffling


@dataclass
class PrepareReport:
    output: Path
    counts: dict[str, int]
    shards: dict[str, int]
    classes: list[str]
    seconds: float
    notes: list[str]


@dataclass
class _Tally:
    """What the first pass met, for the checks and notes before anything is written."""

    labels: dict[str, dict[str, None]] = field(default_factory=lambda: {split: {} for split in SPLITS})
    """The labels met in each split, in order."""
    skipped: dict[Path, int] = field(default_factory=dict)
    """Rows skipped for an empty text or label, per file."""
    suspect: dict[Path, None] = field(default_factory=dict)
    """Files with a value holding U+FFFD: their bytes that were not UTF-8 are counted after the pass."""
    keyless: int = 0
    """Rows with an empty --split-key value (or none: a JSON line without it): they all hash to one split."""
    notes: list[str] = field(default_factory=list)
    """A source read whole (sample, IMDB, aclImdb): its loader's notes."""
    overlap: TextOverlap | None = None
    """Test texts that are also train texts, counted for table files split by --split-key or given --test-data
    (a source read whole counts them in its notes)."""


def prepare(config: DataConfig, output: str | Path, shards: int = 8, overwrite: bool = False,
            notify=None) -> PrepareReport:
    """Write `output`: train/validation/test shards (JSON lines, gzip) of `config`'s data, and manifest.json."""
    notify = notify or (lambda message: None)
    if not 1 <= shards <= 10_000:
        raise UsageError(f"--shards must be between 1 and 10,000, not {shards}")
    check_output_dir(output, overwrite, owned=PREPARED_FILES)
    source = Path(config.source).expanduser()
    if config.source not in ("sample", "imdb") and (source / MANIFEST_FILE).is_file():
        raise UsageError(f"{config.source} is already a prepared directory: train on it as it is (preparing it "
                         "again would split it anew and move some of its test rows into train)")
    started = time.perf_counter()
    rng = random.Random(config.seed)
    with _scratch_directory(output) as scratch:
        buckets, counts, classes, notes, shared = _bucket_rows(config, Path(scratch), rng, notify)
        with staged_directory(output, overwrite, owned=PREPARED_FILES) as staging:
            names = _write_shards(staging, buckets, counts, shards, rng, notify)
            _write_manifest(staging, config, names, counts, classes, shared)
    return PrepareReport(Path(output).expanduser(), counts, {s: len(n) for s, n in names.items()}, classes,
                         time.perf_counter() - started, notes)


@contextmanager
def _scratch_directory(output: str | Path):
    """The temporary buckets, on --output's disk: in its nearest existing parent, so nothing on the way to it is
    created before the prepared directory is. A parent that refuses it is named as --output's. Those of killed runs
    (as large as the data) are removed."""
    where = Path(output).expanduser().parent
    while not where.exists() and where != where.parent:
        where = where.parent
    remove_abandoned(where, f"{SCRATCH_PREFIX}*")
    try:
        scratch = tempfile.TemporaryDirectory(prefix=SCRATCH_PREFIX, dir=where)
    except OSError as exc:
        raise UsageError(f"--output {output}: cannot write in {where} ({exc.strerror or exc})") from None
    lock = hold_lock(Path(scratch.name))
    try:
        with scratch as path:
            yield path
    finally:
        release(lock)


SCRATCH_PREFIX = ".seqsent-prepare-"


@contextmanager
def _named_as_given(source: str, name: str):
    """The readers `train` shares name a source `--data SOURCE`; prepare's SOURCE is an argument (and its test data
    --test-data), so their errors name it as the user gave it."""
    try:
        yield
    except (DataError, UsageError) as exc:
        said = f"--data {source}"
        if not str(exc).startswith(said):
            raise
        raise type(exc)(name + str(exc)[len(said):]) from None


def _rows(config: DataConfig, notify, tally: _Tally):
    """(split, text, label) of every row of the source: table shards streamed, other sources read whole."""
    source = Path(config.source).expanduser()
    if config.source in ("sample", "imdb") or not (shard_format(source) or source.is_dir() and any(
            shard_format(p) for p in source.iterdir()) or any(c in config.source for c in "*?[")):
        from seqsent.data import load_dataset

        with _named_as_given(config.source, config.source):
            dataset = load_dataset(config)  # an IMDB source: its own splits (validation: whole movies held out)
        notify(f"Read {dataset.description}")
        tally.notes += dataset.notes
        for split in SPLITS:
            part = getattr(dataset, split)
            for text, label in zip(part.texts, part.labels):
                yield split, text, dataset.class_names[label]
        return
    with _named_as_given(config.source, config.source):
        paths = find_shards(config.source)
    test_paths = []
    if config.test_source:
        with _named_as_given(config.test_source, f"--test-data {config.test_source}"):
            test_paths = find_shards(config.test_source)
    for path in paths:  # a missing column found now, not after reading the other shards
        _check_columns(path, config, config.split_key)
    if config.split_key or config.test_source:  # split by the text itself, a text's copies share its split
        tally.overlap = TextOverlap()
    for path in test_paths:
        _check_columns(path, config, None)
    test_fraction = 0.0 if config.test_source else config.test_fraction
    for path in paths:
        notify(f"Reading {path}")
        for text, label, key in _read(path, config, config.split_key, tally):
            tally.keyless += bool(config.split_key and not key)
            yield split_of(key, config.validation_fraction, test_fraction, config.seed), text, label
    for path in test_paths:
        notify(f"Reading {path}")
        for text, label, _ in _read(path, config, None, tally):
            yield "test", text, label


def _read(path: Path, config: DataConfig, key_column: str | None, tally: _Tally):
    """iter_rows of one file, its skipped rows and values holding U+FFFD tallied."""
    skipped = [0]
    for text, label, key in iter_rows(path, config.text_column, config.label_column, key_column,
                                      config.on_empty_text, skipped):
        if "\ufffd" in text or "\ufffd" in label or key_column and "\ufffd" in key:
            tally.suspect.setdefault(path)
        yield text, label, key
    if skipped[0]:
        tally.skipped[path] = tally.skipped.get(path, 0) + skipped[0]


def _check_columns(path: Path, config: DataConfig, key_column: str | None) -> None:
    """A shard opens and has the columns. A CSV/TSV header without the --split-key column is named as such (the
    shared reader points at --text-column / --label-column); a JSON line without it counts as keyless."""
    check_shard(path, config.text_column, config.label_column)
    if key_column and shard_format(path) != "jsonl":
        with open_text(path) as handle:
            delimiter = "\t" if shard_format(path) == "tsv" else ","
            next(delimited_rows(path, handle, delimiter, [key_column], "chosen with --split-key"), None)


def _bucket_rows(config: DataConfig, scratch: Path, rng: random.Random, notify):
    """First pass: every row into a random temporary bucket of its split; returns the buckets, the counts, the
    classes and the notes, once the splits are checked as a table read into memory would be."""
    writers: dict[str, list] = {}
    counts = dict.fromkeys(SPLITS, 0)
    tally = _Tally()
    bucket_count = _bucket_count(config)
    for split, text, label in _rows(config, notify, tally):
        if split not in writers:
            writers[split] = [gzip.open(scratch / f"{split}-{i}.jsonl.gz", "wt", encoding="utf-8", compresslevel=1)
                              for i in range(bucket_count)]
        writers[split][rng.randrange(bucket_count)].write(json.dumps({"text": text, "label": label}) + "\n")
        counts[split] += 1
        tally.labels[split].setdefault(label)
        check_classes_while_reading(tally.labels[split], counts[split], config.source)
        if tally.overlap:
            tally.overlap.add(split, text)
    for handles in writers.values():
        for handle in handles:
            handle.close()
    classes = _checked_classes(config, counts, tally)
    buckets = {split: [scratch / f"{split}-{i}.jsonl.gz" for i in range(bucket_count)] if split in writers else []
               for split in SPLITS}
    shared = tally.overlap.shared() if tally.overlap else 0
    notes = _notes(config, tally, classes) + shared_texts_note(shared, counts["test"])
    return buckets, counts, classes, notes, shared


def _checked_classes(config: DataConfig, counts: dict[str, int], tally: _Tally) -> list[str]:
    """The classes, once every split has rows and every class has training rows: a prepared directory is refused
    where `train` would refuse the same data in memory, not trained on a split with nothing to validate or test
    on, or a class the model never sees."""
    from seqsent.data.dataset import check_classes, class_names_for, encode_labels

    source, labels = config.source, tally.labels
    own = counts["train"] + counts["validation"] + (0 if config.test_source else counts["test"])
    no_rows = f"no rows with both a {config.text_column!r} and a {config.label_column!r} value"
    if not own:
        raise DataError(f"{source}: {no_rows}")
    if config.test_source and not counts["test"]:
        raise DataError(f"--test-data {config.test_source}: {no_rows}")
    if config.split_key and tally.keyless == own:
        raise DataError(f"{source}: no row has a value in the --split-key column {config.split_key!r}")
    fractions = f"--validation-fraction {config.validation_fraction}" + (
        "" if config.test_source else f" and --test-fraction {config.test_fraction}")
    lower = "--validation-fraction" if config.test_source else "--validation-fraction / --test-fraction"
    more = "more rows" + (" (rows of one --split-key value go together: more values)" if config.split_key else "")
    fixes = {"train": f"give {more}, or lower {lower}",
             "validation": f"give {more}, or a larger --validation-fraction",
             "test": f"give {more}, a larger --test-fraction, or a test file with --test-data"}
    for split in SPLITS:
        if not counts[split]:
            raise DataError(f"{source}: the {split} split would be empty ({own:,} row(s) split by {fractions}); "
                            f"{fixes[split]}")
    everything = {label: None for split in SPLITS for label in labels[split]}
    if len(everything) < 2:
        raise DataError(f"{source}: the data has a single class ({next(iter(everything))!r}); need 2 or more")
    classes = class_names_for(list(labels["train"]))
    if config.test_source:
        encode_labels(list(labels["test"]), classes, "the test data")  # the error `train` gives in memory
    missing = [label for label in everything if label not in labels["train"]]
    if missing:
        shown = ", ".join(map(repr, missing[:5])) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise DataError(f"{source}: the split leaves no training example of {len(missing)} of the {len(everything)} "
                        f"classes ({shown}: their rows all fell in validation or test); give more data of them, or "
                        f"lower {lower}")
    check_classes(classes, counts["train"], source)  # a label column of texts: said as such
    return classes


def _notes(config: DataConfig, tally: _Tally, classes: list[str]) -> list[str]:
    """Rows skipped, bytes replaced and labels differing in case, said as a table read into memory says them."""
    from seqsent.data.tables import case_twins

    notes = list(tally.notes)
    if tally.skipped:
        notes.append(f"{_files(tally.skipped)}: skipped {sum(tally.skipped.values()):,} row(s) with an empty or "
                     "missing text or label (a label such as NaN, NA or null counts as missing; --on-empty-text error refuses "
                     "them)")
    replaced = {path: count for path in tally.suspect if (count := undecodable_sequences(path))}
    if replaced:
        notes.append(f"{_files(replaced)}: replaced {sum(replaced.values()):,} byte sequence(s) that were not UTF-8")
    if tally.keyless:
        notes.append(f"{tally.keyless:,} row(s) have no value in the --split-key column {config.split_key!r}: they "
                     "all fall in one split")
    twins = case_twins(classes)
    if twins:
        notes.append(f"{config.source}: {twins}")
    return notes


def _files(paths) -> str:
    names = [path.name for path in paths]
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more files" if len(names) > 3 else "")


def _bucket_count(config: DataConfig) -> int:
    """Enough temporary buckets per split that one holds about BUCKET_ROWS rows (guessed at 1 KB a row)."""
    try:
        size = sum(p.stat().st_size * (4 if p.name.endswith(".gz") else 1) for p in find_shards(config.source))
    except (DataError, OSError):
        size = 0
    return max(16, min(1024, size // (1024 * BUCKET_ROWS) + 1))


def _write_shards(staging: Path, buckets, counts, shards: int, rng: random.Random, notify) -> dict[str, list[str]]:
    """Second pass: each bucket shuffled in memory, its rows dealt round-robin into the split's shards."""
    names = {}
    for split in SPLITS:
        n = shards if split == "train" else max(1, math.ceil(shards / 4))
        n = max(1, min(n, counts[split])) if counts[split] else 0
        names[split] = [f"{split}-{i:05d}-of-{n:05d}.jsonl.gz" for i in range(n)]
        outputs = [gzip.open(staging / name, "wt", encoding="utf-8") for name in names[split]]
        turn = 0
        for bucket in buckets[split]:
            with gzip.open(bucket, "rt", encoding="utf-8") as handle:
                lines = handle.readlines()
            rng.shuffle(lines)
            for line in lines:
                outputs[turn % n].write(line)
                turn += 1
        for output in outputs:
            output.close()
        if n:
            notify(f"Wrote {counts[split]:,} {split} rows into {n} shard(s)")
    return names


def _write_manifest(staging: Path, config: DataConfig, names, counts, classes, shared: int) -> None:
    from seqsent.version import __version__

    manifest = {
        "format": MANIFEST_FORMAT, "format_version": 1, "seqsent_version": __version__,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "source": config.source, "test_source": config.test_source, "columns": ["text", "label"],
        "classes": classes, "counts": counts, "shards": names, "test_texts_in_train": shared,
        "split": {"key": config.split_key, "seed": config.seed, "validation_fraction": config.validation_fraction,
                  "test_fraction": 0.0 if config.test_source else config.test_fraction},
    }
    (staging / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
