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
from dataclasses import dataclass
from pathlib import Path

from seqsent.config import DataConfig
from seqsent.data.shards import find_shards, iter_rows
from seqsent.layout import MANIFEST_FILE, PREPARED_FILES, shard_format
from seqsent.data.streaming import MANIFEST_FORMAT, SPLITS, split_of
from seqsent.errors import DataError, UsageError
from seqsent.files import check_output_dir, staged_directory

BUCKET_ROWS = 50_000  # rows held in memory at a time while shuffling


@dataclass
class PrepareReport:
    output: Path
    counts: dict[str, int]
    shards: dict[str, int]
    classes: list[str]
    seconds: float
    notes: list[str]


def prepare(config: DataConfig, output: str | Path, shards: int = 8, overwrite: bool = False,
            notify=None) -> PrepareReport:
    """Write `output`: train/validation/test shards (JSON lines, gzip) of `config`'s data, and manifest.json."""
    notify = notify or (lambda message: None)
    if not 1 <= shards <= 10_000:
        raise UsageError(f"--shards must be between 1 and 10,000, not {shards}")
    check_output_dir(output, overwrite, owned=PREPARED_FILES)
    source = Path(config.source).expanduser()
    if config.source not in ("sample", "imdb") and (source / MANIFEST_FILE).is_file():
        raise UsageError(f"--data {config.source} is already a prepared directory: train on it as it is (preparing it "
                         "again would split it anew and move some of its test rows into train)")
    started = time.perf_counter()
    rng = random.Random(config.seed)
    with tempfile.TemporaryDirectory(prefix="seqsent-prepare-", dir=Path(output).expanduser().parent) as scratch:
        buckets, counts, labels, notes = _bucket_rows(config, Path(scratch), rng, notify)
        with staged_directory(output, overwrite, owned=PREPARED_FILES) as staging:
            names = _write_shards(staging, buckets, counts, shards, rng, notify)
            classes = _class_names(labels)
            _write_manifest(staging, config, names, counts, classes)
    return PrepareReport(Path(output).expanduser(), counts, {s: len(n) for s, n in names.items()}, classes,
                         time.perf_counter() - started, notes)


def _rows(config: DataConfig, notify):
    """(split, text, label) of every row of the source: table shards streamed, other sources read whole."""
    source = Path(config.source).expanduser()
    if config.source in ("sample", "imdb") or not (shard_format(source) or source.is_dir() and any(
            shard_format(p) for p in source.iterdir()) or any(c in config.source for c in "*?[")):
        from seqsent.data import load_dataset

        dataset = load_dataset(config)  # an IMDB source: its own splits (validation: whole movies held out)
        notify(f"Read {dataset.description}")
        for split in SPLITS:
            part = getattr(dataset, split)
            for text, label in zip(part.texts, part.labels):
                yield split, text, dataset.class_names[label]
        return
    test_fraction = 0.0 if config.test_source else config.test_fraction
    skipped = [0]
    for path in find_shards(config.source):
        notify(f"Reading {path}")
        for text, label, key in iter_rows(path, config.text_column, config.label_column, config.split_key,
                                          config.on_empty_text, skipped):
            yield split_of(key, config.validation_fraction, test_fraction, config.seed), text, label
    for path in find_shards(config.test_source) if config.test_source else []:
        notify(f"Reading {path}")
        for text, label, _ in iter_rows(path, config.text_column, config.label_column, None, config.on_empty_text,
                                        skipped):
            yield "test", text, label


def _bucket_rows(config: DataConfig, scratch: Path, rng: random.Random, notify):
    """First pass: every row into a random temporary bucket of its split; returns the buckets, counts, labels."""
    writers: dict[str, list] = {}
    counts = dict.fromkeys(SPLITS, 0)
    labels: dict[str, None] = {}
    bucket_count = _bucket_count(config)
    for split, text, label in _rows(config, notify):
        if split not in writers:
            writers[split] = [gzip.open(scratch / f"{split}-{i}.jsonl.gz", "wt", encoding="utf-8", compresslevel=1)
                              for i in range(bucket_count)]
        writers[split][rng.randrange(bucket_count)].write(json.dumps({"text": text, "label": label}) + "\n")
        counts[split] += 1
        labels.setdefault(label)
    for handles in writers.values():
        for handle in handles:
            handle.close()
    if not counts["train"]:
        raise DataError(f"{config.source}: no training rows to prepare")
    if len(labels) < 2:
        raise DataError(f"{config.source}: the data has a single class ({next(iter(labels))!r}); need 2 or more")
    buckets = {split: [scratch / f"{split}-{i}.jsonl.gz" for i in range(bucket_count)] if split in writers else []
               for split in SPLITS}
    return buckets, counts, labels, []


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


def _class_names(labels: dict[str, None]) -> list[str]:
    from seqsent.data.dataset import class_names_for

    return class_names_for(list(labels))


def _write_manifest(staging: Path, config: DataConfig, names, counts, classes) -> None:
    from seqsent.version import __version__

    manifest = {
        "format": MANIFEST_FORMAT, "format_version": 1, "seqsent_version": __version__,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "source": config.source, "test_source": config.test_source, "columns": ["text", "label"],
        "classes": classes, "counts": counts, "shards": names,
        "split": {"key": config.split_key, "seed": config.seed, "validation_fraction": config.validation_fraction,
                  "test_fraction": 0.0 if config.test_source else config.test_fraction},
    }
    (staging / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
