"""The SavedModel contract for TensorFlow Serving, written atomically under NAME/VERSION.

serving_default: text (1-D tf.string) -> probabilities [batch, classes] float32,
label_id int64, label tf.string. Standardisation, vocabulary and class names are in
the graph, built from core TF ops only, so stock TF Serving runs it without Python.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import uuid
from pathlib import Path

import keras
import tensorflow as tf

from seqsent.errors import ModelError, UsageError

FORMAT = "seqsent-model"
FORMAT_VERSION = 1
METADATA_FILE = "seqsent.json"
KERAS_FILE = "model.keras"
EXTRA_DIR = "assets.extra"


def serving_function(text_model: keras.Model, class_names: list[str]):
    names = tf.constant(class_names, dtype=tf.string)
    binary = len(class_names) == 2

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def serve(text):
        probabilities = tf.cast(text_model(text, training=False), tf.float32)
        if binary:  # one sigmoid output -> [P(class 0), P(class 1)]
            probabilities = tf.concat([1.0 - probabilities, probabilities], axis=1)
        label_id = tf.argmax(probabilities, axis=1, output_type=tf.int64)
        return {"probabilities": probabilities, "label_id": label_id, "label": tf.gather(names, label_id)}

    return serve


def metadata_for(class_names: list[str], config: dict, metrics: dict | None = None) -> dict:
    from seqsent import __version__

    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "seqsent_version": __version__,
        "tensorflow_version": tf.__version__,
        "keras_version": keras.__version__,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "class_names": list(class_names),
        "config": config,
        "test_metrics": metrics,
    }


def existing_versions(base: Path) -> list[int]:
    if not base.is_dir():
        return []
    return sorted(int(p.name) for p in base.iterdir() if p.name.isdigit() and p.is_dir())


def export_saved_model(text_model: keras.Model, metadata: dict, output_dir: str | Path, name: str,
                       version: int | None = None) -> Path:
    """Write output_dir/name/version; returns its path. An existing version is never overwritten."""
    base = Path(output_dir) / name
    base.mkdir(parents=True, exist_ok=True)
    if version is not None:
        if version < 1:
            raise UsageError("--version must be a positive integer")
        if (base / str(version)).exists():
            raise UsageError(f"{base / str(version)} already exists; versions are never overwritten")
    # TF Serving only watches all-digit directory names, so it never sees this one.
    staging = base / f".staging-{uuid.uuid4().hex}"
    try:
        archive = keras.export.ExportArchive()
        archive.track(text_model)
        archive.add_endpoint("serving_default", serving_function(text_model, metadata["class_names"]))
        archive.write_out(str(staging), verbose=False)
        extra = staging / EXTRA_DIR
        extra.mkdir(exist_ok=True)
        text_model.save(extra / KERAS_FILE)
        (extra / METADATA_FILE).write_text(json.dumps(metadata, indent=2, sort_keys=True), encoding="utf-8")
        return _rename_into_place(staging, base, version)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _rename_into_place(staging: Path, base: Path, version: int | None) -> Path:
    """Atomic rename; if a concurrent export took the version first, take the next free one."""
    for _ in range(100):
        candidate = version if version is not None else (max(existing_versions(base), default=0) + 1)
        target = base / str(candidate)
        try:
            # os.rename onto an existing non-empty directory fails, so two writers never share a version.
            if target.exists():
                raise FileExistsError(target)
            os.rename(staging, target)
            return target
        except OSError:
            if version is not None:
                raise UsageError(f"{target} already exists; versions are never overwritten") from None
    raise ModelError(f"could not find a free version under {base}")
