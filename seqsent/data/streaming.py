"""Data larger than memory: table shards streamed row by row, split by a hash of a row key.

    data = open_stream(DataConfig(source="reviews-*.csv.gz", streaming="on", classes=["neg", "pos"]))
    for texts, labels in data.chunks("test", 1024): ...        # the test split, never held whole

Nothing here holds the data: rows are read from the shards when a split is iterated.
- Splits need no index: a row goes to test (when there is no separate test data), validation or train
  by a hash of its key (the --split-key column, e.g. the movie, so all of one movie's reviews land in
  one split; default the text), seeded by --seed: stable across runs, machines and workers.
- A prepared directory (`seqsent prepare`) has its splits in separate shards and a manifest with the
  classes and the row counts, so nothing needs a first pass.
- Otherwise the classes come from --classes, or from a first pass over the labels, which also counts
  the rows (--steps-per-epoch skips the count).
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from seqsent.config import DataConfig
from seqsent.data.dataset import TextOverlap, check_classes_while_reading, shared_texts_note
from seqsent.data.shards import check_shard, find_shards, is_glob, iter_rows, nfc, undecodable_sequences
from seqsent.layout import MANIFEST_FILE, shard_format
from seqsent.errors import DataError, UsageError
from seqsent.files import read_json

# --streaming auto streams a single table file from this size on (the in-memory path holds ~9x the file).
STREAM_FROM_BYTES = 256 * 2**20
MANIFEST_FORMAT = "seqsent-shards"
SPLITS = ("train", "validation", "test")


def wants_streaming(config: DataConfig) -> bool:
    """--streaming on/off, or auto: a glob, a directory of table shards, a .gz table or a large table file."""
    if config.streaming != "auto":
        return config.streaming == "on"
    if config.source in ("sample", "imdb"):
        return False
    if is_glob(config.source):
        return True
    path = Path(config.source).expanduser()
    if path.is_dir():
        return (path / MANIFEST_FILE).is_file() or any(shard_format(p) for p in path.iterdir())
    if not shard_format(path):
        return False
    return path.name.lower().endswith(".gz") or (path.is_file() and path.stat().st_size >= STREAM_FROM_BYTES)


def split_of(key: str, validation_fraction: float, test_fraction: float, seed: int) -> str:
    """'test', 'validation' or 'train' from a seeded hash of the key: the same on every run and machine.

    The validation share is of what test leaves (as for data in memory: 0.1 of train, not 0.1 of all rows).
    Splits streamed before 2026-12-07 took it of all rows: their validation rows include these, so a model of then
    is never tuned on rows it trained on."""
    digest = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8, key=str(seed).encode()).digest()
    position = int.from_bytes(digest, "big") / 2**64
    if position < test_fraction:
        return "test"
    return "validation" if position < test_fraction + validation_fraction * (1 - test_fraction) else "train"


@dataclass
class ShardReport:
    """What reading the shards did, for the user: rows read per (purpose, shard), shards skipped, rows skipped."""

    rows: dict[tuple[str, str], int] = field(default_factory=dict)
    skipped_shards: dict[str, tuple[str, int]] = field(default_factory=dict)
    """Why each skipped shard failed, and how many of its rows were read before (kept); one entry however many
    passes read it."""
    empty_rows: dict[str, int] = field(default_factory=dict)
    """Rows skipped for an empty text or label, per shard: the most one pass saw (every pass reads the same rows;
    a sum would count them once per epoch)."""

    def notes(self) -> list[str]:
        notes = []
        for path, (why, kept) in self.skipped_shards.items():
            why = why.removeprefix(f"{path}: ")  # the error names the shard, as the note does
            notes.append(f"skipped shard {path}: {why}" if not kept else
                         f"skipped the rest of shard {path} after its first {kept:,} row(s), which were kept: {why}")
        empty = sum(self.empty_rows.values())
        if empty:
            notes.append(f"skipped {empty:,} row(s) with an empty text or label (a label such as NaN, NA or null counts "
                         "as empty)")
        return notes

    @contextmanager
    def counting_empty_rows(self, path: Path) -> Iterator[list[int]]:
        """A counter for one pass over `path` (iter_rows' `skipped`), kept in empty_rows when the pass ends."""
        counter = [0]
        try:
            yield counter
        finally:
            self.empty_rows[str(path)] = max(self.empty_rows.get(str(path), 0), counter[0])


@dataclass
class StreamingDataset:
    """Sharded data read on demand; the streaming counterpart of seqsent.data.Dataset."""

    config: DataConfig
    shards: dict[str, list[Path]]
    """Shards to read for each split: a prepared directory has one list per split; raw shards serve train and
    validation (and test, when there is no separate test data), rows picked by hash."""
    class_names: list[str]
    description: str
    counts: dict[str, int] | None = None
    """Rows per split when known (a manifest, or a first pass), else None."""
    hashed: bool = True
    """Rows are assigned to splits by hash (raw shards) rather than by file (a prepared directory)."""
    notes: list[str] = field(default_factory=list)
    report: ShardReport = field(default_factory=ShardReport)
    unlabelled: list[str] = field(default_factory=list)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def fingerprint(self) -> str:
        """A hash of the shards' names, sizes and modification times (their contents are not read again)."""
        import hashlib

        digest = hashlib.sha256("\0".join(self.class_names).encode())
        for split in SPLITS:
            for path in self.shards[split]:
                stat = path.stat()
                digest.update(f"{split}\0{path.resolve()}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
        return digest.hexdigest()[:16]

    def split_sizes(self) -> dict[str, int]:
        """Rows per split, when counted (a manifest or a first pass); empty otherwise."""
        return dict(self.counts or {})

    @property
    def validation_split(self) -> str:
        if not self.hashed:
            return "from the prepared directory"
        return f"by a hash of {'the ' + self.config.split_key + ' column' if self.config.split_key else 'the text'}"

    def rows(self, split: str, shards: list[Path] | None = None, purpose: str | None = None
             ) -> Iterator[tuple[str, int]]:
        """(text, class id) of the split's rows, shard after shard (a bad shard: an error, or skipped if asked).

        The rows read are tallied per (purpose, shard) in self.report; purpose defaults to the split.
        """
        index = {name: i for i, name in enumerate(self.class_names)}
        config = self.config
        test_fraction = config.test_fraction if (self.hashed and not config.test_source) else 0.0
        by_hash = self.hashed and not (split == "test" and config.test_source)  # a test file is test, whole
        for path in shards if shards is not None else self.shards[split]:
            read = 0
            with _bad_shard(path, config, self.report) as rows_read, self.report.counting_empty_rows(path) as empty:
                for text, label, key in iter_rows(path, config.text_column, config.label_column, config.split_key,
                                                  config.on_empty_text, empty):
                    mine = not by_hash or split_of(key, config.validation_fraction, test_fraction, config.seed) == split
                    if mine and label not in index:
                        raise DataError(f"{path}: label {label!r} is not one of the classes "
                                        f"({', '.join(self.class_names)}); give every class with --classes")
                    rows_read[0] += 1
                    if mine:
                        read += 1
                        yield text, index[label]
            tally = (purpose or split, str(path))
            self.report.rows[tally] = self.report.rows.get(tally, 0) + read

    def interleaved_rows(self, split: str, limit: int, purpose: str) -> Iterator[tuple[str, int]]:
        """At most `limit` rows of the split, one from each shard in turn: a bounded sample drawn from every shard
        (the same on every worker)."""
        readers = [self.rows(split, [path], purpose) for path in self.shards[split]]
        taken = 0
        while readers and taken < limit:
            for reader in list(readers):
                row = next(reader, None)
                if row is None:
                    readers.remove(reader)
                    continue
                yield row
                taken += 1
                if taken >= limit:
                    return

    def chunks(self, split: str, size: int = 1024, limit: int | None = None, purpose: str | None = None
               ) -> Iterator[tuple[list[str], list[int]]]:
        """The split in lists of at most `size` (texts, class ids), at most `limit` rows in all."""
        texts, labels, seen = [], [], 0
        for text, label in self.rows(split, purpose=purpose):
            if limit is not None and seen >= limit:
                break
            texts.append(text)
            labels.append(label)
            seen += 1
            if len(texts) == size:
                yield texts, labels
                texts, labels = [], []
        if texts:
            yield texts, labels

    def held_in_memory(self, split: str, limit: int, purpose: str | None = None):
        """The first `limit` rows of a split as one seqsent.data.Split (e.g. validation, to tune on), or None when
        it has no rows."""
        import numpy as np

        from seqsent.data.dataset import Split

        texts, labels = [], []
        for chunk_texts, chunk_labels in self.chunks(split, limit=limit, purpose=purpose):
            texts += chunk_texts
            labels += chunk_labels
        return Split(texts, np.asarray(labels, dtype=np.int64)) if texts else None


def open_stream(config: DataConfig, notify=None, need_counts: bool = True) -> StreamingDataset:
    """The shards of config.source (a prepared directory, a directory, a glob or a file), checked, with classes;
    with `need_counts`, rows per split too (a first pass unless a manifest has them)."""
    notify = notify or (lambda message: None)
    config = dataclasses.replace(config, classes=[nfc(name) for name in config.classes])  # as labels are read
    source = Path(config.source).expanduser()
    if not is_glob(config.source) and (source / MANIFEST_FILE).is_file():
        return _prepared(source, config)
    report = ShardReport()
    shards = _usable(find_shards(config.source), config, report)
    test_shards = (_usable(find_shards(config.test_source, "--test-data"), config, report) if config.test_source
                   else None)
    data = StreamingDataset(config, {"train": shards, "validation": shards, "test": test_shards or shards},
                            list(config.classes), _describe(config.source, shards, test_shards), report=report)
    if not data.class_names or need_counts:
        _first_pass(data, notify)
    if not data.class_names:  # as a table read into memory says it
        raise DataError(f"--data {config.source}: no rows with both a {config.text_column!r} and a "
                        f"{config.label_column!r} value")
    if len(data.class_names) < 2:
        raise DataError(f"--data {config.source}: the training data has a single class ({data.class_names[0]!r}); "
                        "need 2 or more")
    return data


CHECKED_ROWS = 100  # rows of each shard read before training: a wrong column or label fails now, not an hour in


@contextmanager
def _bad_shard(path: Path, config: DataConfig, report: ShardReport) -> Iterator[list[int]]:
    """The one rule for a shard that fails while read, in every pass (the check, the labels, training): an error,
    or with --on-bad-shard skip the rest of it left out and reported. The body counts the shard's rows it read in
    the list it gets: a shard that breaks half-way keeps those, and every pass stops at the same row."""
    rows_read = [0]
    try:
        yield rows_read
    except DataError as exc:
        if config.on_bad_shard != "skip":
            raise
        report.skipped_shards[str(path)] = (str(exc), rows_read[0])


def _usable(paths: list[Path], config: DataConfig, report: ShardReport) -> list[Path]:
    """The shards that pass _check; with --on-bad-shard skip the others are left out and reported."""
    usable = []
    for path in paths:
        with _bad_shard(path, config, report):
            _check(path, config)
            usable.append(path)
    if not usable:
        raise DataError(f"--data {config.source}: no readable shard left")
    return usable


def _check(path: Path, config: DataConfig, fix: str = "give every class with --classes") -> None:
    """A shard opens, has the columns, and (with --classes) its first rows' labels are among them."""
    check_shard(path, config.text_column, config.label_column, config.split_key)
    rows = iter_rows(path, config.text_column, config.label_column, config.split_key, config.on_empty_text)
    for _, (_, label, _) in zip(range(CHECKED_ROWS), rows):
        if config.classes and label not in config.classes:
            raise DataError(f"{path}: label {label!r} is not one of the classes ({', '.join(config.classes)}); {fix}")


def _describe(source: str, shards: list[Path], test_shards: list[Path] | None) -> str:
    test = f"; test: {len(test_shards)} shard(s)" if test_shards else ""
    return f"{source} ({len(shards)} shard(s), streamed{test})"


def _first_pass(data: StreamingDataset, notify) -> None:
    """Classes (unless --classes gave them) and rows per split, in one pass over the labels."""
    config = data.config
    started = time.perf_counter()
    notify(f"Reading the labels of {len(data.shards['train'])} shard(s) once (--classes and --steps-per-epoch, or "
           "`seqsent prepare`, skip this pass)")
    labels: dict[str, None] = {}
    counts = dict.fromkeys(SPLITS, 0)
    test_fraction = 0.0 if config.test_source else config.test_fraction
    keyless = 0  # rows with no --split-key value (a JSON line without it, an empty cell): one key, one split
    suspect: dict[Path, None] = {}  # shards with a U+FFFD in a value: bytes that were not UTF-8, or a genuine one
    # Split by the text itself, a text's copies share its split; by --split-key or a --test-data file they need not.
    overlap = TextOverlap() if config.split_key or config.test_source else None
    for path in data.shards["train"]:
        with _bad_shard(path, config, data.report) as rows_read, data.report.counting_empty_rows(path) as empty:
            for text, label, key in iter_rows(path, config.text_column, config.label_column, config.split_key,
                                              config.on_empty_text, empty):
                rows_read[0] += 1
                if "\ufffd" in text or "\ufffd" in label:
                    suspect.setdefault(path)
                labels.setdefault(label)
                check_classes_while_reading(labels, sum(counts.values()) + 1, f"--data {config.source}")
                keyless += not key
                split = split_of(key, config.validation_fraction, test_fraction, config.seed)
                counts[split] += 1
                if overlap:
                    overlap.add(split, text)
    replaced = {path.name: count for path in suspect if (count := undecodable_sequences(path))}
    if replaced:
        names = ", ".join(list(replaced)[:3]) + (f" and {len(replaced) - 3} more shards" if len(replaced) > 3 else "")
        data.notes.append(f"{names}: replaced {sum(replaced.values()):,} byte sequence(s) that were not UTF-8")
    if keyless:
        their_split = split_of("", config.validation_fraction, test_fraction, config.seed)
        data.notes.append(f"{keyless:,} of {sum(counts.values()):,} rows have no value in the --split-key column "
                          f"{config.split_key!r}: they all fall in one split ({their_split})")
    for path in data.shards["test"] if config.test_source else []:
        with _bad_shard(path, config, data.report) as rows_read:
            for text, _, _ in iter_rows(path, config.text_column, config.label_column, None, config.on_empty_text):
                rows_read[0] += 1
                counts["test"] += 1
                overlap.add("test", text)
    if overlap:
        data.notes += overlap.note()
    if not data.class_names:
        from seqsent.data.dataset import class_names_for
        from seqsent.data.tables import case_twins

        data.class_names = class_names_for(list(labels))
        twins = case_twins(data.class_names)
        if twins:
            data.notes.append(twins)
    data.counts = counts
    data.notes.append(f"first pass over the labels: {sum(counts.values()):,} rows in {time.perf_counter() - started:.0f} s")


def _prepared(directory: Path, config: DataConfig) -> StreamingDataset:
    """A directory written by `seqsent prepare`: its manifest gives the shards of each split, classes and counts."""
    manifest = read_json(directory / MANIFEST_FILE, f"--data {directory}", DataError)
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise DataError(f"--data {directory}: {MANIFEST_FILE} was not written by `seqsent prepare`")
    if config.test_source:
        raise UsageError("--test-data goes with raw table files; a prepared directory holds its own test split")
    for flag, value, default, what in (
            ("--text-column", config.text_column, DataConfig.text_column, "columns"),
            ("--label-column", config.label_column, DataConfig.label_column, "columns"),
            ("--split-key", config.split_key, DataConfig.split_key, "splits"),
            ("--validation-fraction", config.validation_fraction, DataConfig.validation_fraction, "splits"),
            ("--test-fraction", config.test_fraction, DataConfig.test_fraction, "splits"),
            ("--seed", config.seed, DataConfig.seed, "splits")):
        if value != default:
            raise UsageError(f"{flag} {value} goes with raw table files; a prepared directory has its own {what} "
                             f"(give {flag} to `seqsent prepare`)")
    if manifest.get("format_version") != 1:
        raise DataError(f"--data {directory}: {MANIFEST_FILE} has format version {manifest.get('format_version')!r}, "
                        "which this seqsent does not read (it reads 1); prepare the data again with this seqsent")
    try:
        shards = {split: [directory / name for name in manifest["shards"][split]] for split in SPLITS}
        counts = {split: int(manifest["counts"][split]) for split in SPLITS}
        classes = [nfc(str(c)) for c in manifest["classes"]]  # as its labels are read (older ones wrote them as given)
        shared = int(manifest.get("test_texts_in_train") or 0)  # counted by prepare; absent before
    except (KeyError, TypeError, ValueError):
        raise DataError(f"--data {directory}: {MANIFEST_FILE} lacks shards, counts or classes") from None
    if len(classes) < 2:
        raise DataError(f"--data {directory}: the prepared data has {len(classes)} class(es) "
                        f"({', '.join(map(repr, classes)) or 'none'}); need 2 or more")
    if config.classes and list(config.classes) != classes:
        raise UsageError(f"--classes {','.join(config.classes)} differs from the prepared data's {','.join(classes)}")
    # The manifest's classes checked against each shard's first rows, as --classes is for raw shards.
    prepared_config = DataConfig(**{**config.__dict__, "text_column": "text", "label_column": "label",
                                    "split_key": None, "classes": classes})
    for path in (p for split in SPLITS for p in shards[split]):
        if not path.is_file():
            raise DataError(f"--data {directory}: shard {path.name} listed in {MANIFEST_FILE} is missing")
        try:
            _check(path, prepared_config, f"{MANIFEST_FILE} lists other classes: prepare the data again")
        except DataError as exc:
            if config.on_bad_shard != "skip":
                raise
            raise DataError(f"{exc} (--on-bad-shard skip does not apply to a prepared directory, whose manifest "
                            "counts every shard: prepare the data again)") from None
    return StreamingDataset(prepared_config, shards, classes, f"{directory} (prepared: {counts['train']:,} train / "
                            f"{counts['validation']:,} validation / {counts['test']:,} test rows, streamed)",
                            counts=counts, hashed=False, notes=shared_texts_note(shared, counts["test"]))
