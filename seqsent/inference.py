"""Load a trained model, exported SavedModel or .keras file, and turn texts into probabilities."""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from seqsent.errors import ModelError

BATCH_SIZE = 256


@dataclass
class LoadedModel:
    path: Path
    kind: str  # "savedmodel" or "keras"
    class_names: list[str]
    metadata: dict
    _predict_batch: Callable[[list[bytes]], np.ndarray]
    keras_path: Path | None = None

    def predict_proba(self, texts: list[str], batch_size: int = BATCH_SIZE) -> np.ndarray:
        """[len(texts), classes]; batches hold texts of similar length, so little padding is computed."""
        # UTF-8 bytes: a str holding lone surrogates (undecodable bytes from argv or a file name) cannot become a
        # tf.string, its bytes can; the model's standardisation replaces whatever is not valid UTF-8.
        texts = [t if isinstance(t, bytes) else str(t).encode("utf-8", "surrogatepass") for t in texts]
        out = np.zeros((len(texts), len(self.class_names)), dtype=np.float32)
        order = np.argsort([len(t) for t in texts], kind="stable")
        for start in range(0, len(texts), batch_size):
            idx = order[start : start + batch_size]
            out[idx] = self._predict_batch([texts[i] for i in idx])
        return out


def resolve_model_path(path: str | Path) -> Path:
    """A version dir, a model base dir (newest version), a .keras file, or a run's export."""
    from seqsent.export import existing_versions

    path = Path(path).expanduser()
    if not path.exists():
        raise ModelError(f"{path}: no such model (give an exported directory or a .keras file)")
    if path.is_dir() and not (path / "saved_model.pb").exists():
        versions = [v for v in existing_versions(path) if (path / str(v) / "saved_model.pb").exists()]
        if not versions:
            raise ModelError(f"{path}: not a seqsent model (no saved_model.pb here or in a numbered version directory)")
        path = path / str(versions[-1])
    return path


def load_model(path: str | Path) -> LoadedModel:
    path = resolve_model_path(path)
    if path.is_dir():
        return _load_saved_model(path)
    if path.suffix == ".keras":
        return _load_keras(path)
    raise ModelError(f"{path}: not a seqsent model (expected an exported directory or a .keras file)")


def _read_metadata(file: Path, model_path: Path) -> dict:
    from seqsent.export import FORMAT, FORMAT_VERSION

    if not file.is_file():
        raise ModelError(f"{model_path}: not a seqsent model (no {file.name} beside it)")
    try:
        metadata = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raise ModelError(f"{model_path}: its {file.name} is unreadable or corrupt") from None
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise ModelError(f"{model_path}: not a seqsent model ({file.name} does not describe one)")
    if metadata.get("format_version") != FORMAT_VERSION:
        raise ModelError(
            f"{model_path}: written by seqsent {metadata.get('seqsent_version', '?')} in model format "
            f"{metadata.get('format_version')!r}; this seqsent reads format {FORMAT_VERSION}: re-export it with a matching seqsent"
        )
    names = metadata.get("class_names")
    if not isinstance(names, list) or len(names) < 2:
        raise ModelError(f"{model_path}: {file.name} lists no class names")
    if not all(isinstance(n, str) and n for n in names) or len(set(names)) != len(names):
        raise ModelError(f"{model_path}: {file.name} lists invalid class names (need distinct non-empty strings)")
    return metadata


def _load_saved_model(path: Path) -> LoadedModel:
    import tensorflow as tf

    from seqsent.export import EXTRA_DIR, KERAS_FILE, METADATA_FILE

    metadata = _read_metadata(path / EXTRA_DIR / METADATA_FILE, path)
    try:
        loaded = tf.saved_model.load(str(path))
        serve = loaded.signatures["serving_default"]
    except Exception as exc:  # TF raises many types for a broken SavedModel
        raise ModelError(f"{path}: cannot load the SavedModel ({exc.__class__.__name__}); is it complete?") from None

    def predict_batch(texts: list[str]) -> np.ndarray:
        return serve(text=tf.constant(texts, dtype=tf.string))["probabilities"].numpy()

    keras_file = path / EXTRA_DIR / KERAS_FILE
    model = LoadedModel(path, "savedmodel", list(metadata["class_names"]), metadata, predict_batch,
                        keras_file if keras_file.is_file() else None)
    model._loaded = loaded  # keep the resources (lookup tables) alive
    return model


def _load_keras(path: Path) -> LoadedModel:
    import keras
    import tensorflow as tf

    import seqsent.models.layers  # noqa: F401  (registers custom layers for deserialisation)
    import seqsent.text  # noqa: F401
    from seqsent.export import METADATA_FILE

    metadata = _read_metadata(path.parent / METADATA_FILE, path)
    if not zipfile.is_zipfile(path):
        raise ModelError(f"{path}: not a .keras file (a .keras file is a zip archive); is it complete?")
    try:
        # safe_mode refuses lambdas and other code embedded in the file.
        text_model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:
        if "safe_mode" in str(exc) or "arbitrary code" in str(exc):
            raise ModelError(f"{path}: refused: the .keras file holds Python code (e.g. a Lambda layer), which safe mode "
                             "never runs; seqsent models hold none") from None
        raise ModelError(f"{path}: cannot load the .keras file ({exc.__class__.__name__}: {str(exc)[:200]})") from None
    binary = len(metadata["class_names"]) == 2
    # Traced once for any batch: calling the model eagerly runs its recurrent loop op by op, several times slower.
    serve = tf.function(lambda text: text_model(text, training=False),
                        input_signature=[tf.TensorSpec([None], tf.string)])

    def predict_batch(texts: list[str]) -> np.ndarray:
        probabilities = serve(tf.constant(texts, dtype=tf.string)).numpy()
        return np.concatenate([1.0 - probabilities, probabilities], axis=1) if binary else probabilities

    model = LoadedModel(path, "keras", list(metadata["class_names"]), metadata, predict_batch, path)
    model.text_model = text_model
    return model
