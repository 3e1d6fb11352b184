"""What a run and an export leave on disk: every file name, written and read back through this module.

An export, OUTPUT_DIR/NAME/VERSION/ (what TF Serving loads):

    saved_model.pb, variables/     the SavedModel (serving_default: raw strings in); each weight stored once
    assets/vocabulary-N.txt.gz     the vocabularies, one token a line, gzip (SavedModel assets the graph reads)
    assets.extra/seqsent.json      class names, resolved config, data, model summary, history, test metrics, versions
    assets.extra/keras_model.json  the Keras architecture; with variables/ and assets/, the Keras model, to
                                   re-export or fine-tune (exports written before it hold model.keras instead)
    assets.extra/README.md         the model card: what it is, data, test metrics, intended use and limits
    assets.extra/tf_serving_warmup_requests

A run, RUNS_DIR/NAME/VERSION/ (named after the export it made; `in-progress-HASH` while it trains):

    config.json                    the resolved RunConfig
    history.json, metrics.json     per-epoch history; test metrics and a summary of the run
    member-histories.json          --wide-training separate: every model's history (history.json: the first
                                   recurrent model's)
    tensorboard/                   TensorBoard logs
    backup/, best.weights.h5, members/   the crash backup (removed once the model is exported)
"""

from __future__ import annotations

import datetime
import fcntl
import hashlib
import json
import os
import shutil
from pathlib import Path
from typing import IO

from seqsent.errors import ModelError
from seqsent.files import read_json, write_json_atomic

# Table data (`--data` files and shards, `seqsent prepare`): its formats by file suffix, optionally .gz.
FORMATS = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
MANIFEST_FILE = "manifest.json"
# What `seqsent prepare`, `evaluate --report` and `compare` write into their output directory: with --overwrite, a
# directory holding anything else is refused rather than replaced (seqsent.files.check_output_dir).
PREPARED_FILES = (MANIFEST_FILE, "train-*.jsonl.gz", "validation-*.jsonl.gz", "test-*.jsonl.gz")
REPORT_FILES = ("metrics.json", "confusion_matrix.png", "roc.png", "precision_recall.png", "training_curves.png",
                "errors.csv", "report.md")
COMPARE_FILES = ("compare.csv", "compare.md", "compare.png")


def shard_format(path: Path) -> str | None:
    """'csv', 'tsv' or 'jsonl' for a (possibly .gz) table file, else None."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return FORMATS.get(suffixes[-1]) if suffixes else None


# ---------------------------------------------------------------- exports

FORMAT = "seqsent-model"
FORMAT_VERSION = 1
EXTRA_DIR = "assets.extra"
METADATA_FILE = "seqsent.json"
KERAS_FILE = "keras_model.json"
"""The Keras model's architecture; its weights are the SavedModel's variables, its vocabularies its assets."""
LEGACY_KERAS_FILE = "model.keras"
"""What exports written before keras_model.json held instead: a whole .keras file (weights, optimizer state)."""
MODEL_CARD_FILE = "README.md"
# TF Serving replays the PredictionLog records of this file (at most 1,000) before a version goes live.
WARMUP_FILE = "tf_serving_warmup_requests"


def metadata_file(version_dir: Path) -> Path:
    return Path(version_dir) / EXTRA_DIR / METADATA_FILE


def keras_file(version_dir: Path) -> Path | None:
    """The Keras model of an export: keras_model.json, else an older export's model.keras, else None."""
    for name in (KERAS_FILE, LEGACY_KERAS_FILE):
        path = Path(version_dir) / EXTRA_DIR / name
        if path.is_file():
            return path
    return None


def model_card_file(version_dir: Path) -> Path:
    return Path(version_dir) / EXTRA_DIR / MODEL_CARD_FILE


def version_dir_of(model_path: Path) -> Path | None:
    """The export version a model path belongs to (the directory, or the one holding its Keras model)."""
    model_path = Path(model_path)
    if model_path.is_dir():
        return model_path
    return model_path.parent.parent if model_path.parent.name == EXTRA_DIR else None


def model_metadata(class_names: list[str], config: dict, *, history: dict | None = None,
                   test_metrics: dict | None = None, data: dict | None = None) -> dict:
    """The contents of seqsent.json for a new export. `data`: what it was trained on (description, split sizes, how
    validation was split), for the model card; the export adds a summary of the model ("model")."""
    import keras
    import tensorflow as tf

    from seqsent.version import __version__

    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "seqsent_version": __version__,
        "tensorflow_version": tf.__version__,
        "keras_version": keras.__version__,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "class_names": list(class_names),
        "config": config,
        "data": data,
        "history": history,
        "test_metrics": test_metrics,
    }


def write_model_metadata(version_dir: Path, metadata: dict) -> None:
    file = metadata_file(version_dir)
    file.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(file, metadata)


def read_model_metadata(file: Path, model_path: Path) -> dict:
    """seqsent.json, checked: a seqsent model of this format, with usable class names."""
    if not file.is_file():
        raise ModelError(f"{model_path}: not a seqsent model (no {file.name} beside it)")
    metadata = read_json(file, str(model_path))
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise ModelError(f"{model_path}: not a seqsent model ({file.name} does not describe one)")
    version = metadata.get("format_version")
    if version != FORMAT_VERSION or isinstance(version, bool):
        shown = repr(version) if isinstance(version, int) and not isinstance(version, bool) else (
            f"{json.dumps(version)} (not a number)")
        raise ModelError(
            f"{model_path}: written by seqsent {metadata.get('seqsent_version', '?')} in model format {shown}; "
            f"this seqsent reads format {FORMAT_VERSION}: re-export it with a matching seqsent")
    names = metadata.get("class_names")
    if not isinstance(names, list) or len(names) < 2:
        listed = f"only {names!r}"[:80] if isinstance(names, list) and names else "no class names"
        raise ModelError(f"{model_path}: {file.name} lists {listed}; a classifier has 2 or more classes")
    if not all(isinstance(n, str) and n for n in names) or len(set(names)) != len(names):
        raise ModelError(f"{model_path}: {file.name} lists invalid class names (need distinct non-empty strings)")
    return metadata


def recorded_history(metadata: dict) -> tuple[dict | None, str]:
    """The training history an export carries, and where it came from (or why there is none)."""
    history = metadata.get("history")
    if isinstance(history, dict) and history.get("loss"):
        return history, "the model's metadata"
    return None, "the model records no training history (it was not exported by `seqsent train`)"


MAX_VERSION = 2**63 - 1
"""TensorFlow Serving reads version directories as int64: a larger number is no version."""


def existing_versions(base: Path) -> list[int]:
    """The numbered version directories under a model's directory, ascending (those TF Serving can read)."""
    if not base.is_dir():
        return []
    return sorted(int(p.name) for p in base.iterdir()
                  if p.name.isdigit() and p.name.isascii() and int(p.name) <= MAX_VERSION and p.is_dir())


# ---------------------------------------------------------------- runs

RUN_CONFIG = "config.json"
RUN_HISTORY = "history.json"
RUN_METRICS = "metrics.json"
RUN_MEMBER_HISTORIES = "member-histories.json"
"""An ensemble's (--wide-training separate): each model's history, by name (history.json: the first recurrent's)."""
TENSORBOARD_DIR = "tensorboard"
BACKUP_DIR = "backup"
BEST_WEIGHTS = "best.weights.h5"
MEMBERS_DIR = "members"
"""Work directories of the models of an ensemble (--wide-training separate), each with its own backup."""
LOCK_FILE = ".lock"


def claim_run_dir(config_json: str, runs_dir: str | Path, name: str) -> tuple[Path, IO]:
    """Same command, same directory: a re-run after a crash finds its backup and resumes.

    The directory is locked while a run uses it; a second identical run started meanwhile
    gets a directory of its own, so two runs never write the same checkpoint.
    Returns (directory, open lock file): the lock lasts as long as the file stays open.
    """
    digest = hashlib.sha256(config_json.encode()).hexdigest()[:10]
    base = Path(runs_dir) / name / f"in-progress-{digest}"
    for attempt in range(1000):
        work_dir = base if attempt == 0 else base.with_name(f"{base.name}-{attempt}")
        work_dir.mkdir(parents=True, exist_ok=True)
        lock = open(work_dir / LOCK_FILE, "w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return work_dir, lock
        except BlockingIOError:
            lock.close()
    raise RuntimeError(f"no free run directory under {base.parent}")


def write_run_config(run_dir: Path, config: dict) -> Path:
    write_json_atomic(run_dir / RUN_CONFIG, config)
    return run_dir / RUN_CONFIG


def write_run_results(run_dir: Path, history: dict, metrics: dict, member_histories: dict | None = None) -> None:
    write_json_atomic(run_dir / RUN_HISTORY, history)
    if member_histories:
        write_json_atomic(run_dir / RUN_MEMBER_HISTORIES, member_histories)
    write_json_atomic(run_dir / RUN_METRICS, metrics)


def remove_training_leftovers(run_dir: Path) -> None:
    """The crash backup and best weights, once the model they protected is exported. The TensorBoard logs of an
    ensemble's models (--wide-training separate) are kept, as the run's tensorboard/<model>."""
    for member_logs in sorted((run_dir / MEMBERS_DIR).glob(f"*/{TENSORBOARD_DIR}")):
        target = run_dir / TENSORBOARD_DIR / member_logs.parent.name
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            os.rename(member_logs, target)
    for leftover in (BACKUP_DIR, BEST_WEIGHTS, MEMBERS_DIR):
        target = run_dir / leftover
        shutil.rmtree(target, ignore_errors=True) if target.is_dir() else target.unlink(missing_ok=True)


def finish_run_dir(work_dir: Path, runs_base: Path, version: str) -> Path:
    """Rename the finished run next to its export's version (a suffix if that name is taken)."""
    (work_dir / LOCK_FILE).unlink(missing_ok=True)
    for suffix in [""] + [f"-{i}" for i in range(1, 1000)]:
        target = runs_base / f"{version}{suffix}"
        if not target.exists():
            try:
                os.rename(work_dir, target)
                return target
            except OSError:
                continue
    return work_dir
