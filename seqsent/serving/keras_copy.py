"""The Keras model inside an export, stored once: its description in assets.extra/keras_model.json, its weights in the
SavedModel's variables/, its vocabularies in the SavedModel's assets.

`servable_copy` rebuilds a trained string-in model from that description, so the model an export serves is the one
it restores: each TextVectorization reads its vocabulary from a gzip asset (one token a line) through a lookup table
initialised by core TF ops (TF Serving runs them), named by the file's content so the graph holds no local path.
`load_keras_copy` rebuilds the Keras model of an export (to re-export or fine-tune) in safe mode.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING

from seqsent.errors import ModelError
from seqsent.files import read_json, sha256_of
from seqsent.layout import EXTRA_DIR, KERAS_FILE

if TYPE_CHECKING:
    import keras

KERAS_DESCRIPTION_FORMAT = "seqsent-keras-model"
KERAS_DESCRIPTION_VERSION = 1
# What a vocabulary file of one token a line cannot hold (never in a token split on whitespace, as seqsent's are).
_NOT_IN_A_LINE = ("\n",)


def _layers(model) -> list[tuple[str, object]]:
    """(path, layer) of every layer, nested models' layers included, each once, in a fixed order."""
    import keras

    found, seen = [], set()

    def visit(layer, path):
        if id(layer) in seen:
            return
        seen.add(id(layer))
        found.append((path, layer))
        if isinstance(layer, keras.Model):
            for child in layer.layers:
                visit(child, f"{path}/{child.name}")

    for child in model.layers:
        visit(child, child.name)
    return found


def _vectorizers(model) -> list[tuple[str, object]]:
    import keras

    return [(path, layer) for path, layer in _layers(model) if isinstance(layer, keras.layers.TextVectorization)]


def _without_vocabularies(config):
    """A serialized model with each TextVectorization's vocabulary left out (it is stored once, as a file), and
    without the training's compile settings (an export is for inference: no optimizer to rebuild on load)."""
    if isinstance(config, list):
        return [_without_vocabularies(item) for item in config]
    if not isinstance(config, dict):
        return config
    config = {key: _without_vocabularies(value) for key, value in config.items() if key != "compile_config"}
    if config.get("class_name") == "TextVectorization" and isinstance(config.get("config"), dict):
        config["config"] = {**config["config"], "vocabulary": None}
    return config


VOCABULARY_CHANGED = ("{path}: its vocabulary {file} is not the file it was exported with (its SHA-256 differs: "
                      "replaced or edited); the export is damaged")


def servable_copy(text_model: keras.Model, vocabularies: Path, check_texts: list[str]) -> tuple[keras.Model, dict]:
    """The model rebuilt from its description, as load_keras_copy rebuilds it, and that description.

    The vocabulary files are written to `vocabularies` (gzip: the SavedModel copies them into assets/). The copy
    is checked against `text_model`: every vocabulary entry maps to the same id, and `check_texts` get the same
    outputs (every weight takes part in those).
    """
    import keras
    import numpy as np
    import tensorflow as tf

    description = {
        "format": KERAS_DESCRIPTION_FORMAT, "format_version": KERAS_DESCRIPTION_VERSION,
        "keras_version": keras.__version__,
        "weights": "the SavedModel's variables (variables/variables), collection `variables`, in this order",
        "weight_shapes": [[list(w.shape), w.dtype] for w in text_model.weights],
        "vocabularies": [],
        "model": _without_vocabularies(keras.saving.serialize_keras_object(text_model)),
    }
    served = _deserialize(json.loads(json.dumps(description["model"])), "the model")  # Keras consumes the dict
    originals, copies = _vectorizers(text_model), _vectorizers(served)
    if [path for path, _ in originals] != [path for path, _ in copies]:
        raise ModelError("the model's TextVectorization layers do not survive serialization")
    for index, ((path, original), (_, copy)) in enumerate(zip(originals, copies)):
        if original.get_config()["output_mode"] == "tf_idf":
            raise ModelError(f"cannot export {path}: a TextVectorization in tf_idf mode (seqsent weights terms apart)")
        vocabulary = [str(t) for t in original.get_vocabulary()]
        first_id = _special_tokens(original)
        tokens = vocabulary[first_id:]
        entry = {"layer": path, "size": len(vocabulary), "first_id": first_id}
        if tokens and not any(mark in token for token in tokens for mark in _NOT_IN_A_LINE):
            file = vocabularies / f"vocabulary-{index}.txt.gz"
            packed = gzip.compress("\n".join(tokens).encode("utf-8"), compresslevel=6, mtime=0)
            file.write_bytes(packed)
            _read_vocabulary_file(copy, file, first_id)
            # Its checksum: a file of the right length from another model (or reordered) would load and mislabel.
            entry.update(file=f"assets/{file.name}", sha256=hashlib.sha256(packed).hexdigest())
        else:  # a line cannot hold them: in the description itself, and in the graph as constants
            copy.set_vocabulary(tokens)
            entry["tokens"] = tokens
        if [str(t) for t in copy.get_vocabulary()] != vocabulary:
            raise ModelError(f"the vocabulary of {path} does not read back as written; nothing was exported")
        description["vocabularies"].append(entry)
    _check_weight_shapes(served, description, "the rebuilt model")
    served.set_weights(text_model.get_weights())
    texts = tf.constant([text[:300] for text in check_texts], dtype=tf.string)  # short: eager RNNs step in Python
    expected = np.asarray(text_model(texts, training=False))
    if not np.allclose(np.asarray(served(texts, training=False)), expected, rtol=0, atol=1e-6):
        raise ModelError("the model rebuilt from its description answers differently from the trained one; "
                         "nothing was exported")
    return served, description


def _special_tokens(layer) -> int:
    """How many ids come before the first token: padding (int output only) and out-of-vocabulary."""
    return int(layer.vocabulary_size()) - int(layer._lookup_layer.lookup_table.size())


def _read_vocabulary_file(layer, file: Path, start: int) -> None:
    """Point a TextVectorization at a gzip vocabulary file: token i of the file gets id start + i.

    TensorFlow's own file initializer (TextFileInitializer, used by `set_vocabulary(path)`) reads plain text only;
    this one is the same with two core ops more (ReadFile, DecodeCompressed). The file is a tracked asset: the
    SavedModel copies it into assets/ and its graph reads it there, in TF Serving too.
    """
    import hashlib

    import keras
    import tensorflow as tf

    class GzipVocabulary(tf.lookup.TextFileInitializer):  # its asset tracking (self._filename), another reader
        def __init__(self, filename: str, start: int, digest: str):
            super().__init__(filename, tf.string, tf.lookup.TextFileIndex.WHOLE_LINE, tf.int64,
                             tf.lookup.TextFileIndex.LINE_NUMBER, value_index_offset=start)
            self._start, self._digest = start, digest

        @property
        def _shared_name(self):  # named by content, not by path: a graph keeps no local path, equal tables are one
            return f"hash_table_seqsent_vocabulary_{self._digest}_{self._start}"

        def initialize(self, table):
            compressed = tf.io.read_file(tf.convert_to_tensor(self._filename, tf.string))
            keys = tf.strings.split(tf.io.decode_compressed(compressed, compression_type="GZIP"), sep="\n")
            first = tf.constant(self._start, tf.int64)
            values = tf.range(first, first + tf.size(keys, out_type=tf.int64), dtype=tf.int64)
            return tf.raw_ops.LookupTableImportV2(table_handle=table.resource_handle, keys=keys, values=values)

    try:
        lookup = layer._lookup_layer  # the StringLookup inside a TextVectorization: it looks tokens up in its table
        current = lookup.lookup_table
    except AttributeError:  # a Keras whose TextVectorization is built otherwise than 3.15's
        raise ModelError(f"{layer.name}: cannot reach the lookup table of this Keras ({keras.__version__}) "
                         "TextVectorization to read its vocabulary from a file; seqsent is tested with Keras 3.15"
                         ) from None
    if (current.key_dtype, current.value_dtype) != (tf.string, tf.int64):
        raise ModelError(f"{layer.name}: its vocabulary maps {current.key_dtype.name} to {current.value_dtype.name}, "
                         "not strings to ids")
    digest = hashlib.sha256(file.read_bytes()).hexdigest()[:24]
    lookup.lookup_table = tf.lookup.StaticHashTable(GzipVocabulary(str(file), start, digest), current.default_value)


def _deserialize(config: dict, what: str):
    import keras

    import seqsent.models  # noqa: F401  (registers seqsent's layers for deserialisation)
    import seqsent.models.layers  # noqa: F401
    import seqsent.text  # noqa: F401

    try:
        # safe_mode refuses lambdas and other code embedded in the description.
        return keras.saving.deserialize_keras_object(config, safe_mode=True)
    except Exception as exc:
        if "safe_mode" in str(exc) or "arbitrary code" in str(exc):
            raise ModelError(f"{what}: refused: its Keras description holds Python code (e.g. a Lambda layer), which "
                             "safe mode never runs; seqsent models hold none") from None
        raise ModelError(f"{what}: cannot rebuild the Keras model ({exc.__class__.__name__}: {str(exc)[:200]})"
                         ) from None


def _check_weight_shapes(model, description: dict, what: str) -> None:
    shapes = [[list(w.shape), w.dtype] for w in model.weights]
    listed = description["weight_shapes"]
    if shapes != listed:
        if len(shapes) != len(listed):
            differs = f"it has {len(shapes)} weights where its Keras description lists {len(listed)}"
        else:
            i = next(i for i, (a, b) in enumerate(zip(shapes, listed)) if a != b)
            wanted = " ".join(map(str, listed[i])) if isinstance(listed[i], list) else str(listed[i])
            differs = (f"weight {i + 1} of {len(shapes)} is {shapes[i][0]} {shapes[i][1]} where its Keras description "
                       f"lists {wanted[:60]}")
        raise ModelError(f"{what}: {differs}; the export is damaged")


def load_keras_copy(version_dir: Path) -> keras.Model:
    """The Keras model of an export (keras_model.json): rebuilt, vocabularies read from assets/ (by the same table
    initializer as the SavedModel's), weights restored from variables/. Raises ModelError when any part is missing or
    does not fit."""
    import tensorflow as tf

    version_dir = Path(version_dir)
    path = version_dir / EXTRA_DIR / KERAS_FILE
    description = read_json(path, str(version_dir))
    if not isinstance(description, dict) or description.get("format") != KERAS_DESCRIPTION_FORMAT:
        raise ModelError(f"{path}: not a seqsent Keras description")
    if description.get("format_version") != KERAS_DESCRIPTION_VERSION:
        raise ModelError(f"{path}: Keras description format {description.get('format_version')!r}; this seqsent "
                         f"reads format {KERAS_DESCRIPTION_VERSION}: re-export it with a matching seqsent")
    model = _deserialize(description.get("model"), str(path))
    vectorizers = dict(_vectorizers(model))
    listed = description.get("vocabularies") or []
    if sorted(entry.get("layer") for entry in listed) != sorted(vectorizers):
        raise ModelError(f"{path}: its vocabularies do not match the model's TextVectorization layers")
    for entry in listed:
        layer = vectorizers[entry["layer"]]
        try:
            if "file" in entry:
                file = (version_dir / entry["file"]).resolve()
                if file.parent != (version_dir / "assets").resolve() or not file.is_file():
                    raise ModelError(f"{version_dir}: lacks the vocabulary {entry['file']}; is it complete?")
                if "sha256" in entry and sha256_of(file) != entry["sha256"]:
                    raise ModelError(VOCABULARY_CHANGED.format(path=version_dir, file=entry["file"]))
                _read_vocabulary_file(layer, file, int(entry["first_id"]))
            else:
                layer.set_vocabulary(entry["tokens"])
        except ModelError:
            raise
        except Exception as exc:
            raise ModelError(f"{path}: cannot set the vocabulary of {entry['layer']} ({str(exc)[:200]})") from None
        if layer.vocabulary_size() != entry.get("size"):
            raise ModelError(f"{path}: the vocabulary of {entry['layer']} has {layer.vocabulary_size()} entries, "
                             f"not {entry.get('size')}")
    _check_weight_shapes(model, description, str(path))
    checkpoint = tf.train.Checkpoint(variables=[weight.value for weight in model.weights])
    try:
        checkpoint.read(str(version_dir / "variables" / "variables")).expect_partial().assert_existing_objects_matched()
    except Exception as exc:
        raise ModelError(f"{version_dir}: cannot restore the Keras model's weights from variables/ "
                         f"({exc.__class__.__name__}: {str(exc)[:200]})") from None
    return model


def model_summary(model, description: dict) -> dict:
    """What the model card says about the model itself."""
    import numpy as np

    parameters = int(sum(np.prod(w.shape) for w in model.weights))
    return {
        "keras_name": model.name,
        "parameters": parameters,
        "trainable_parameters": int(sum(np.prod(w.shape) for w in model.trainable_weights)),
        "weights_float32_bytes": 4 * parameters,
        "vocabularies": [{"layer": v["layer"], "size": v["size"]} for v in description["vocabularies"]],
    }


# ---------------------------------------------------------------- the model card
