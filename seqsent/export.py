"""The SavedModel contract for TensorFlow Serving, written atomically under NAME/VERSION.

serving_default: text (1-D tf.string) -> probabilities [batch, classes] float32,
label_id int64, label tf.string. Standardisation, vocabulary and class names are in
the graph, built from core TF ops only, so stock TF Serving runs it without Python.

Also here: the warmup requests TF Serving replays before it serves a new version
(assets.extra/tf_serving_warmup_requests), and the models.config that lists every
model and version under an export directory (`seqsent serving-config`).

TensorFlow and Keras are imported inside the functions that need them, so that
reading metadata or writing models.config does not pay for them.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import tempfile
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from seqsent.errors import ModelError, SeqsentError, UsageError
from seqsent.files import fsync_path

if TYPE_CHECKING:
    import keras

FORMAT = "seqsent-model"
FORMAT_VERSION = 1
METADATA_FILE = "seqsent.json"
KERAS_FILE = "model.keras"
EXTRA_DIR = "assets.extra"
SIGNATURE = "serving_default"
INPUT_NAME = "text"
# TF Serving replays the PredictionLog records of this file (at most 1,000) before a version goes live.
WARMUP_FILE = "tf_serving_warmup_requests"
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
# A staging directory (of a killed export) with nothing written for this long is removed by the next export.
STALE_STAGING_SECONDS = 15 * 60
SERVING_CONFIG_FILE = "models.config"
SERVING_CONFIG_HEADER = "# seqsent serving-config "
VERSION_POLICIES = ("specific", "all", "latest")


def serving_function(text_model: keras.Model, class_names: list[str]):
    import tensorflow as tf

    names = tf.constant(class_names, dtype=tf.string)
    binary = len(class_names) == 2

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name=INPUT_NAME)])
    def serve(text):
        probabilities = tf.cast(text_model(text, training=False), tf.float32)
        if binary:  # one sigmoid output -> [P(class 0), P(class 1)]
            probabilities = tf.concat([1.0 - probabilities, probabilities], axis=1)
        label_id = tf.argmax(probabilities, axis=1, output_type=tf.int64)
        return {"probabilities": probabilities, "label_id": label_id, "label": tf.gather(names, label_id)}

    return serve


def metadata_for(class_names: list[str], config: dict, metrics: dict | None = None) -> dict:
    import keras
    import tensorflow as tf

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
    """Write output_dir/name/version; returns its path. An existing version is never overwritten.

    Everything is written to a hidden staging directory beside the versions (TF Serving only
    watches all-digit names), flushed to disk, and renamed into place in one step: a process
    killed midway leaves a '.staging-*' directory, never a partial version. Staging directories
    untouched for STALE_STAGING_SECONDS are removed here. If OUTPUT_DIR/models.config was
    written by `seqsent serving-config`, it is regenerated with the new version.
    """
    import keras

    if version is not None and version < 1:
        raise UsageError("--version must be a positive integer")
    base = Path(output_dir) / name
    base.mkdir(parents=True, exist_ok=True)
    if version is not None:
        if (base / str(version)).exists():
            raise UsageError(f"{base / str(version)} already exists; versions are never overwritten")
    remove_stale_staging(base)
    staging = base / f"{STAGING_PREFIX}{uuid.uuid4().hex}"
    try:
        archive = keras.export.ExportArchive()
        archive.track(text_model)
        archive.add_endpoint(SIGNATURE, serving_function(text_model, metadata["class_names"]))
        archive.write_out(str(staging), verbose=False)
        extra = staging / EXTRA_DIR
        extra.mkdir(exist_ok=True)
        write_warmup_requests(extra / WARMUP_FILE, name)
        text_model.save(extra / KERAS_FILE)
        (extra / METADATA_FILE).write_text(json.dumps(metadata, indent=2, sort_keys=True), encoding="utf-8")
        _fsync_tree(staging)
        target = _rename_into_place(staging, base, version)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    fsync_path(base)
    refresh_serving_config(output_dir)
    return target


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


def remove_stale_staging(base: Path, max_age: float = STALE_STAGING_SECONDS) -> list[Path]:
    """Remove staging directories of killed exports: nothing inside written for `max_age` seconds.

    A live export writes into its staging directory continuously, so its newest mtime is recent.
    """
    removed = []
    now = time.time()
    for path in base.glob(f"{STAGING_PREFIX}*"):
        if path.is_dir() and not path.is_symlink() and now - _newest_mtime(path) > max_age:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _newest_mtime(path: Path) -> float:
    newest = 0.0
    for root, dirs, files in os.walk(path):
        for entry in [root, *(os.path.join(root, f) for f in files)]:
            try:
                newest = max(newest, os.lstat(entry).st_mtime)
            except OSError:  # removed meanwhile
                pass
    return newest


def _fsync_tree(path: Path) -> None:
    """Flush every file and directory, so the renamed version is complete even after a power cut."""
    for root, _, files in os.walk(path):
        for file in files:
            fd = os.open(os.path.join(root, file), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_path(Path(root))


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


# ---------------------------------------------------------------- models.config


def exported_models(output_dir: str | Path) -> dict[str, list[int]]:
    """name -> versions (ascending) of the complete exports (NAME/VERSION/saved_model.pb) under output_dir."""
    output_dir = Path(output_dir)
    if not output_dir.is_dir():
        return {}
    models = {}
    for path in sorted(output_dir.iterdir()):
        if path.name.startswith(".") or not path.is_dir():
            continue
        versions = [v for v in existing_versions(path) if (path / str(v) / "saved_model.pb").is_file()]
        if versions:
            models[path.name] = versions
    return models


def serving_config_text(output_dir: str | Path, base_path: str | None = None, versions: str = "specific",
                        names: list[str] | None = None) -> str:
    """A TF Serving models.config (text-format ModelServerConfig) for the models under output_dir.

    base_path: the directory that holds the models as the server sees it (e.g. /models in the
    tensorflow/serving container); default: output_dir's absolute path. versions: 'specific'
    (serve every version found, listed), 'all' (every version present when the server polls)
    or 'latest' (the newest only, TF Serving's default).
    """
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2

    if versions not in VERSION_POLICIES:
        raise UsageError(f"--versions must be one of {', '.join(VERSION_POLICIES)}, not {versions!r}")
    if base_path is None:
        base_path = str(Path(output_dir).resolve())
    elif not (base_path.startswith("/") or "://" in base_path):
        raise UsageError(f"--base-path {base_path}: give an absolute path as the server sees it, e.g. /models")
    models = exported_models(output_dir)
    if not models:
        raise ModelError(f"{output_dir}: no exported models here (expected NAME/VERSION/saved_model.pb)")
    if names:
        unknown = [n for n in names if n not in models]
        if unknown:
            raise UsageError(f"no exported model named {', '.join(unknown)} under {output_dir} "
                             f"(found: {', '.join(models)})")
        models = {n: models[n] for n in names}
    config = model_server_config_pb2.ModelServerConfig()
    for name, found in models.items():
        entry = config.model_config_list.config.add(name=name, base_path=f"{base_path.rstrip('/')}/{name}",
                                                    model_platform="tensorflow")
        if versions == "specific":
            entry.model_version_policy.specific.versions.extend(found)
        elif versions == "all":
            entry.model_version_policy.all.SetInParent()
        else:
            entry.model_version_policy.latest.num_versions = 1
    settings = {"base_path": base_path, "versions": versions, "names": names or None}
    # The header lets an export regenerate this file with the same settings (comments are valid text format).
    return SERVING_CONFIG_HEADER + json.dumps(settings, sort_keys=True) + "\n" + text_format.MessageToString(config)


def write_serving_config(output_dir: str | Path, file: str | Path | None = None, base_path: str | None = None,
                         versions: str = "specific", names: list[str] | None = None) -> Path:
    """Write models.config (default OUTPUT_DIR/models.config) atomically; returns its path."""
    file = Path(file) if file is not None else Path(output_dir) / SERVING_CONFIG_FILE
    text = serving_config_text(output_dir, base_path, versions, names)
    if file.is_dir():
        raise UsageError(f"{file} is a directory; give a file path for models.config")
    _write_text_atomic(file, text)
    return file


def refresh_serving_config(output_dir: str | Path) -> Path | None:
    """Regenerate OUTPUT_DIR/models.config if `seqsent serving-config` wrote it (hand-written files are left alone)."""
    file = Path(output_dir) / SERVING_CONFIG_FILE
    try:
        first_line = file.read_text(encoding="utf-8").split("\n", 1)[0]
        if not first_line.startswith(SERVING_CONFIG_HEADER):
            return None
        settings = json.loads(first_line[len(SERVING_CONFIG_HEADER):])
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(settings, dict):
        return None
    try:
        return write_serving_config(output_dir, file, settings.get("base_path"), settings.get("versions", "specific"),
                                    settings.get("names"))
    except SeqsentError:  # e.g. a listed model was deleted: the export itself succeeded, leave the file as it was
        return None


def _write_text_atomic(path: Path, text: str) -> None:
    """Temp file in the same directory, flushed, then renamed: a server polling the file never reads half of it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        # mkstemp makes it 0600; the server may run as another user.
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    fsync_path(path.parent)
