"""The SavedModel contract for TensorFlow Serving, written atomically under NAME/VERSION.

serving_default: text (1-D tf.string) -> probabilities [batch, classes] float32,
label_id int64, label tf.string. Standardisation and class names are in the graph, the
vocabularies in its assets, read by core TF ops only, so stock TF Serving runs it without Python.

A version is complete and immutable when it appears: `new_version` builds it in a hidden
staging directory beside the versions (TF Serving only watches all-digit names), the caller
writes everything into it (the SavedModel, then anything measured on it, such as test metrics),
and only then is it flushed and renamed into place in one step.

Each weight is stored once, in the SavedModel's variables/ (float32, as trained, no optimizer state), and each
vocabulary once, as a SavedModel asset (assets/vocabulary-N.txt.gz: one token a line, gzip; the graph's lookup table
reads it with core ops, in TF Serving too). The Keras model, to re-export or fine-tune, is rebuilt from
assets.extra/keras_model.json (its architecture, which vocabulary file each TextVectorization reads, the shapes of its
weights), its vocabularies read from assets/ and its weights restored from variables/: `load_keras_copy`. Exports
written before this layout hold a whole assets.extra/model.keras instead; they still load and re-export.

TensorFlow and Keras are imported inside the functions that need them.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from seqsent.errors import ModelError, SeqsentError, UsageError
from seqsent.files import (ABANDONED_FILE_SECONDS, fsync_path, fsync_tree, hold_lock, release, remove_abandoned,
                           umask_mode)
from seqsent.layout import (EXTRA_DIR, KERAS_FILE, MAX_VERSION, MODEL_CARD_FILE, WARMUP_FILE, existing_versions,
                            write_model_metadata)
from seqsent.serving.keras_copy import model_summary, servable_copy
from seqsent.serving.model_card import model_card

if TYPE_CHECKING:
    import keras

SIGNATURE = "serving_default"
INPUT_NAME = "text"
WARMUP_TEXTS = [
    "A wonderful, moving film. The cast is superb and the ending stayed with me for days.",
    "Two hours I will never get back.<br /><br />Dull plot, wooden acting and a script that makes no sense.",
    "",
    "Not bad, not great: the first half drags, but the last act almost makes up for it.",
    "Отличный фильм 👍 素晴らしい映画でした",
    " ".join(["The photography is gorgeous and the score swells at all the right moments, yet the story"
              " never finds its footing and the characters stay strangers to the end."] * 25),
]
STAGING_PREFIX = ".staging-"
# Lock files beside the staging directories, written by earlier seqsent exports (the directories lock themselves now).
OLD_LOCK_PREFIX = ".export-lock-"


def serving_function(text_model: keras.Model, class_names: list[str]):
    """serving_default as a Python function; ExportArchive.add_endpoint traces it once, on a flat batch of strings
    `text` (a tf.function here would be traced a second time inside the endpoint's, and the SavedModel hold both)."""
    import tensorflow as tf

    names = tf.constant(class_names, dtype=tf.string)
    binary = len(class_names) == 2

    def scores(text):
        probabilities = tf.cast(text_model(text, training=False), tf.float32)
        if binary:  # one sigmoid output -> [P(class 0), P(class 1)]
            probabilities = tf.concat([1.0 - probabilities, probabilities], axis=1)
        return probabilities

    def serve(text):
        # A client may send an empty batch; the bag-of-words models' TextVectorization (RaggedCountSparseOutput)
        # fails on one, so it gets an empty answer without reaching the model.
        probabilities = tf.cond(tf.size(text) > 0, lambda: scores(text),
                                lambda: tf.zeros([0, len(class_names)], tf.float32))
        label_id = tf.argmax(probabilities, axis=1, output_type=tf.int64)
        return {"probabilities": probabilities, "label_id": label_id, "label": tf.gather(names, label_id)}

    return serve


def write_saved_model(directory: Path, text_model: keras.Model, metadata: dict, name: str) -> dict:
    """The SavedModel, the warmup requests, the Keras description, seqsent.json and the model card, into `directory`.

    What is served is a copy of `text_model` rebuilt from the description the export holds (architecture, vocabulary
    files, weights), checked to give the same outputs: so the Keras model an export restores is the one it serves.
    Returns the metadata written (`metadata` with a summary of the model added).
    """
    import tempfile

    import keras
    import tensorflow as tf

    extra = directory / EXTRA_DIR
    with tempfile.TemporaryDirectory(prefix=".vocabularies-", dir=directory) as vocabularies:
        served, description = servable_copy(text_model, Path(vocabularies), WARMUP_TEXTS)
        archive = keras.export.ExportArchive()
        archive.track(served)  # its lookup tables (vocabularies)
        # ExportArchive.track lists the Keras variables, which SavedModel saves apart from the tf.Variables the
        # graph captures (_all_variables): every weight twice. Listing the tf.Variables themselves stores each once,
        # in the order of `served.weights`, which is how load_keras_copy finds them.
        for collection, weights in (("variables", served.weights), ("trainable_variables", served.trainable_weights),
                                    ("non_trainable_variables", served.non_trainable_weights)):
            archive.add_variable_collection(collection, [weight.value for weight in weights])
        archive.add_endpoint(SIGNATURE, serving_function(served, metadata["class_names"]),
                             input_signature=[tf.TensorSpec([None], tf.string, name=INPUT_NAME)])
        archive.write_out(str(directory), verbose=False)
    for vocabulary in description["vocabularies"]:
        if "file" in vocabulary and not (directory / vocabulary["file"]).is_file():
            raise ModelError(f"the SavedModel lacks its vocabulary asset {vocabulary['file']}")
    extra.mkdir(exist_ok=True)
    write_warmup_requests(extra / WARMUP_FILE, name)
    (extra / KERAS_FILE).write_text(json.dumps(description), encoding="utf-8")
    metadata = {**metadata, "model": model_summary(served, description)}
    write_export_metadata(directory, metadata)
    return metadata


def write_export_metadata(directory: Path, metadata: dict) -> None:
    """seqsent.json and the model card made from it (README.md), written together so they always agree."""
    write_model_metadata(directory, metadata)
    card = directory / EXTRA_DIR / MODEL_CARD_FILE
    card.write_text(model_card(metadata), encoding="utf-8")


@dataclass
class StagedVersion:
    """A version being written: `path` is its staging directory until `published` is set."""

    path: Path
    published: Path | None = None


@contextmanager
def new_version(output_dir: str | Path, name: str, version: int | None = None) -> Iterator[StagedVersion]:
    """Stage output_dir/name/VERSION; on leaving the block it is renamed into place (next free VERSION unless given).

    An existing version is never overwritten. The staging directory stays locked while it is written,
    so a concurrent export never takes it for a killed one however long scoring takes; a killed export
    leaves a '.staging-*' directory, never a partial version. If OUTPUT_DIR/models.config was written by
    `seqsent serving-config`, it is regenerated with the new version.
    """
    from seqsent.serving.models_config import refresh_serving_config

    if version is not None and (isinstance(version, bool) or not hasattr(version, "__index__")):
        raise UsageError(f"--version must be a whole number, not {version!r}")  # True or 1.0: a directory TF Serving skips
    version = None if version is None else int(version)
    if version is not None and not 1 <= version <= MAX_VERSION:
        raise UsageError(f"--version must be between 1 and {MAX_VERSION} (TensorFlow Serving's versions are 64-bit "
                         f"integers), not {version}")
    base = Path(output_dir) / name
    base.mkdir(parents=True, exist_ok=True)
    if version is not None and (base / str(version)).exists():
        raise UsageError(f"{base / str(version)} already exists; versions are never overwritten")
    remove_abandoned(base, f"{STAGING_PREFIX}*")
    remove_abandoned(base, f"{OLD_LOCK_PREFIX}*", ABANDONED_FILE_SECONDS)
    staged = StagedVersion(base / f"{STAGING_PREFIX}{uuid.uuid4().hex}")
    staged.path.mkdir(mode=umask_mode(directory=True))
    lock = hold_lock(staged.path)
    try:
        yield staged
        fsync_tree(staged.path)
        staged.published = _rename_into_place(staged.path, base, version)
    finally:
        if staged.published is None:
            shutil.rmtree(staged.path, ignore_errors=True)
        release(lock)
    fsync_path(base)
    refresh_serving_config(output_dir)


def export_saved_model(text_model: keras.Model, metadata: dict, output_dir: str | Path, name: str,
                       version: int | None = None) -> Path:
    """Write output_dir/name/version (next free version unless given) and return its path."""
    with new_version(output_dir, name, version) as staged:
        write_saved_model(staged.path, text_model, metadata, name)
    return staged.published


def write_warmup_requests(path: Path, model_name: str, texts: list[str] | None = None) -> None:
    """TF Serving's warmup format: a TFRecord file of PredictionLog protos, one per request.

    Two requests: a batch of `texts` (default WARMUP_TEXTS, including "") and a single text,
    the common online case.
    """
    import tensorflow as tf

    try:
        from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2
    except ImportError:
        raise SeqsentError("cannot write the TF Serving warmup file: the tensorflow-serving-api package is "
                           "missing (pip install --no-deps tensorflow-serving-api)") from None
    texts = list(WARMUP_TEXTS if texts is None else texts)
    with tf.io.TFRecordWriter(str(path)) as writer:
        for batch in (texts, texts[:1]):
            request = predict_pb2.PredictRequest(
                model_spec=model_pb2.ModelSpec(name=model_name, signature_name=SIGNATURE))
            request.inputs[INPUT_NAME].CopyFrom(tf.make_tensor_proto(batch, dtype=tf.string, shape=[len(batch)]))
            log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))
            writer.write(log.SerializeToString())


def _rename_into_place(staging: Path, base: Path, version: int | None) -> Path:
    """Atomic rename; if a concurrent export took the version first, take the next free one."""
    for _ in range(100):
        candidate = version if version is not None else (max(existing_versions(base), default=0) + 1)
        if candidate > MAX_VERSION:
            raise UsageError(f"{base} already holds version {MAX_VERSION}, the largest TensorFlow Serving reads; "
                             "export under another --name or --output-dir")
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
