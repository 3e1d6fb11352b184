"""Load a trained model, exported SavedModel, its Keras model or a .keras file, and turn texts into probabilities."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from seqsent.errors import DataError, ModelError, UsageError

BATCH_SIZE = 256


@dataclass
class LoadedModel:
    """A trained classifier ready to predict: an export, a .keras file, or a model still in memory."""

    path: Path | None
    kind: str
    """"savedmodel", "keras" or "memory"."""
    class_names: list[str]
    metadata: dict
    predict_batch: Callable[[list[bytes]], np.ndarray]
    """UTF-8 texts -> [texts, classes] probabilities."""
    keras_path: Path | None = None
    """Where the Keras model is: an export's assets.extra/keras_model.json (or model.keras, in an older export)."""
    text_model: object | None = None
    """The Keras string-in model (a Keras model loaded or in memory); None for a SavedModel."""
    resources: object | None = None
    """What must stay alive while predict_batch runs (a loaded SavedModel's lookup tables)."""

    def predict_proba(self, texts, batch_size: int = BATCH_SIZE) -> np.ndarray:
        """[len(texts), classes] for a list, NumPy array or pandas Series of texts; batches hold texts of similar
        length, so little padding is computed."""
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise UsageError(f"batch_size must be a whole number of at least 1, not {batch_size!r}")
        # UTF-8 bytes: a str holding lone surrogates (undecodable bytes from argv or a file name) cannot become a
        # tf.string, its bytes can; the model's standardisation replaces whatever is not valid UTF-8.
        texts = [t if isinstance(t, bytes) else str(t).encode("utf-8", "surrogatepass") for t in text_list(texts)]
        out = np.zeros((len(texts), len(self.class_names)), dtype=np.float32)
        order = np.argsort([len(t) for t in texts], kind="stable")
        for start in range(0, len(texts), batch_size):
            idx = order[start : start + batch_size]
            out[idx] = self.predict_batch([texts[i] for i in idx])
        return out

    def predict(self, texts, threshold: float | None = None) -> list[str]:
        """The predicted class name of each text (2 classes: the second when its probability >= threshold)."""
        from seqsent.evaluation.metrics import predicted_classes
        from seqsent.evaluation.scoring import check_threshold

        check_threshold(self, threshold)
        return [self.class_names[i] for i in predicted_classes(self.predict_proba(texts), threshold)]

    def evaluate(self, data=None, labels=None, threshold: float | None = None, *, text_column: str = "text",
                 label_column: str = "label"):
        """Metrics on labelled data: texts and `labels` (class names), a DataFrame with `text_column` and
        `label_column`, a seqsent.config.DataConfig, a Dataset from seqsent.from_python (its test split), or None
        (the data the model was trained on). A seqsent Evaluation."""
        from seqsent.config import DataConfig
        from seqsent.evaluation.scoring import Evaluation, evaluate_model, score
        from seqsent.layout import recorded_history

        if data is None or isinstance(data, DataConfig) or hasattr(data, "class_names"):
            return evaluate_model(self, data, threshold)
        if isinstance(data, (str, Path)) and labels is None:
            raise UsageError(f"evaluate takes texts and labels, a DataFrame, a Dataset or a DataConfig, not a path: "
                             f"for a file, evaluate(DataConfig(source={str(data)!r}))")
        from seqsent.evaluation.metrics import absent_class_notes

        split, notes = _labelled_split(data, labels, self.class_names, text_column, label_column)
        history, source = recorded_history(self.metadata)
        scores = score(self, split, threshold)
        notes += absent_class_notes(self.class_names, scores.metrics.get("confusion_matrix"))
        return Evaluation(self.path, f"{len(split):,} texts given from Python", self.class_names, list(split.texts),
                          scores, None, history, source, notes)


def text_list(texts) -> list:
    """`texts` (a list, tuple, NumPy array, pandas Series or any iterable, read once) as a list of texts; what is not
    one text per item is refused: str() of a nested list, a dict or a DataFrame's column names would be scored."""
    from seqsent.data.python import is_missing_value

    if isinstance(texts, (str, bytes)):
        raise UsageError(f"give a list of texts, not a single {type(texts).__name__}: wrap it in a list")
    if isinstance(texts, dict) or hasattr(texts, "columns"):  # a DataFrame iterates over its column names
        raise UsageError(f"give a list of texts, not a {type(texts).__name__}: for a table, its text column "
                         "(frame['text'])")
    try:
        texts = list(texts)
    except TypeError:
        raise UsageError(f"give a list of texts, not a {type(texts).__name__}") from None
    for i, text in enumerate(texts):
        if is_missing_value(text):  # str(None) would be scored as the word "None", NaN as "nan"
            raise DataError(f"text {i} is {text}, a missing value: give a string for every text")
        if not isinstance(text, (str, bytes, int, float, np.generic)):
            raise DataError(f"text {i} is a {type(text).__name__}, not a text: give one string per text")
    return texts


def _labelled_split(data, labels, class_names: list[str], text_column: str, label_column: str):
    from seqsent.data import Split
    from seqsent.data.dataset import encode_labels
    from seqsent.data.python import columns_of

    texts, names, notes = columns_of(data, labels, text_column, label_column, "the evaluation data")
    return Split(texts, encode_labels(names, class_names, "the evaluation data")), notes


def in_memory_model(text_model, class_names: list[str], metadata: dict | None = None) -> LoadedModel:
    """A Keras string-in model that was just trained, wrapped to predict exactly as a loaded one does."""
    return LoadedModel(None, "memory", list(class_names), metadata or {}, keras_predictor(text_model, len(class_names)),
                       text_model=text_model)


def keras_predictor(text_model, num_classes: int) -> Callable[[list[bytes]], np.ndarray]:
    """texts -> probabilities through one traced graph, as a server runs the model (calling it eagerly would run
    its recurrent loop op by op, several times slower)."""
    import tensorflow as tf

    serve = tf.function(lambda text: text_model(text, training=False),
                        input_signature=[tf.TensorSpec([None], tf.string)])

    def predict_batch(texts: list[bytes]) -> np.ndarray:
        probabilities = serve(tf.constant(texts, dtype=tf.string)).numpy()
        return np.concatenate([1.0 - probabilities, probabilities], axis=1) if num_classes == 2 else probabilities

    return predict_batch


def resolve_model_path(path: str | Path) -> Path:
    """A version dir, a model base dir (newest version), a .keras file, an export's keras_model.json."""
    from seqsent.layout import existing_versions

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
    """An export (served by its SavedModel), or a Keras model: an export's assets.extra/keras_model.json (rebuilt,
    its weights read from the export's variables/) or a .keras file."""
    from seqsent.layout import KERAS_FILE

    path = resolve_model_path(path)
    if path.is_dir():
        return _load_saved_model(path)
    if path.suffix == ".keras":
        return _load_keras(path)
    if path.name == KERAS_FILE:
        return _load_keras_copy(path)
    raise ModelError(f"{path}: not a seqsent model (expected an exported directory, its {KERAS_FILE} or a .keras file)")


def _load_saved_model(path: Path) -> LoadedModel:
    import tensorflow as tf

    from seqsent.layout import keras_file, metadata_file, read_model_metadata

    metadata = read_model_metadata(metadata_file(path), path)
    check_vocabulary_assets(path)
    try:
        loaded = tf.saved_model.load(str(path))
        serve = loaded.signatures["serving_default"]
    except Exception as exc:  # TF raises many types for a broken SavedModel
        raise ModelError(f"{path}: cannot load the SavedModel ({exc.__class__.__name__}); is it complete?") from None

    def predict_batch(texts: list[str]) -> np.ndarray:
        return serve(text=tf.constant(texts, dtype=tf.string))["probabilities"].numpy()

    names = list(metadata["class_names"])
    output = serve.structured_outputs.get("probabilities") if isinstance(serve.structured_outputs, dict) else None
    _check_class_count(path, names, output.shape[-1] if output is not None else None)
    _check_class_order(path, names)
    return LoadedModel(path, "savedmodel", names, metadata, predict_batch, keras_file(path), resources=loaded)


def check_vocabulary_assets(path: Path) -> None:
    """The SavedModel reads its vocabularies from assets/ when it loads, whatever their length: a truncated or
    swapped file would shift every word id and predict garbage with exit 0. Their token counts and checksums are
    recorded in assets.extra/keras_model.json (export checks the same on its way)."""
    import gzip
    import hashlib
    import json
    import zlib

    from seqsent.layout import keras_file
    from seqsent.serving.keras_copy import VOCABULARY_CHANGED

    description_file = keras_file(path)
    if description_file is None or description_file.suffix != ".json":
        return  # an export of an older layout: nothing recorded to check against
    try:
        entries = json.loads(description_file.read_text(encoding="utf-8")).get("vocabularies") or []
    except (OSError, ValueError, AttributeError):
        raise ModelError(f"{path}: {description_file.name} is not readable JSON; the export is damaged") from None
    for entry in entries:
        if not isinstance(entry, dict) or "file" not in entry:
            continue
        try:
            packed = (path / entry["file"]).read_bytes()
            tokens = gzip.decompress(packed).count(b"\n") + 1
            expected = int(entry["size"]) - int(entry["first_id"])
        except (OSError, EOFError, zlib.error, gzip.BadGzipFile, KeyError, TypeError, ValueError):
            raise ModelError(f"{path}: cannot read its vocabulary {entry.get('file')}; the export is damaged") from None
        if tokens != expected:
            raise ModelError(f"{path}: its vocabulary {entry['file']} holds {tokens:,} tokens, not the {expected:,} "
                             "it was exported with; the export is damaged")
        if "sha256" in entry and hashlib.sha256(packed).hexdigest() != entry["sha256"]:  # exports since 2026-12-08
            raise ModelError(VOCABULARY_CHANGED.format(path=path, file=entry["file"]))


def _check_class_count(path: Path, names: list[str], outputs) -> None:
    """seqsent.json's class names label the model's outputs: a hand-edited or mismatched file must not name
    classes the model does not score (or leave some unnamed)."""
    if outputs is None or outputs == len(names) or (len(names) == 2 and outputs == 1):
        return
    scored = 2 if outputs == 1 else outputs  # one sigmoid unit scores two classes
    raise ModelError(f"{path}: its seqsent.json names {len(names)} classes ({', '.join(map(str, names))[:80]}) but "
                     f"the model scores {scored}; the export is damaged or its files come from different models")


def _check_class_order(export_dir: Path, names: list[str]) -> None:
    """seqsent.json's class names must be the ones serving_default labels its outputs with, in its order: names
    reordered by hand would make `seqsent predict` and TF Serving give opposite labels for the same export."""
    served = served_class_names(export_dir)
    if served is None or [str(name) for name in names] == served:
        return
    raise ModelError(f"{export_dir}: its seqsent.json names the classes {', '.join(map(str, names))[:80]} but its "
                     f"serving_default labels them {', '.join(served)[:80]}; the export is damaged or its files come "
                     "from different models")


def served_class_names(export_dir: Path) -> list[str] | None:
    """The class names serving_default's `label` output is gathered from: a constant in saved_model.pb, found by
    following that output back through the graph's function calls (no inference run). None when the graph is not
    laid out so (not a seqsent export)."""
    import tensorflow as tf
    from tensorflow.core.protobuf import saved_model_pb2

    saved = saved_model_pb2.SavedModel()
    try:
        saved.ParseFromString((export_dir / "saved_model.pb").read_bytes())
    except Exception:  # unreadable: loading the SavedModel says so
        return None
    graph = next((g for g in saved.meta_graphs if "serving_default" in g.signature_def), None)
    if graph is None or "label" not in graph.signature_def["serving_default"].outputs:
        return None
    functions = {f.signature.name: f for f in graph.graph_def.library.function}
    scope = ({node.name: node for node in graph.graph_def.node}, [], [])  # nodes, argument names, caller's inputs
    callers = []
    ref = graph.signature_def["serving_default"].outputs["label"].name
    for _ in range(1000):  # a bound: a malformed graph could loop
        nodes, arguments, inputs = scope
        name, _, rest = ref.partition(":")
        if name in arguments and callers:  # a function's argument: what its caller passed
            ref, scope = inputs[arguments.index(name)], callers.pop()
            continue
        node = nodes.get(name)
        if node is None:
            return None
        if node.op == "Const":
            value = tf.make_ndarray(node.attr["value"].tensor)
            if value.dtype != object or value.ndim != 1:
                return None
            return [item.decode("utf-8", "replace") for item in value]
        if node.op in ("Identity", "GatherV2"):  # label = GatherV2(names, argmax): follow the names
            ref = node.input[0]
        elif node.op in ("StatefulPartitionedCall", "PartitionedCall") and node.attr["f"].func.name in functions:
            function = functions[node.attr["f"].func.name]
            index = int(rest.rsplit(":", 1)[-1] or 0)
            if index >= len(function.signature.output_arg):
                return None
            callers.append(scope)
            scope = ({n.name: n for n in function.node_def}, [a.name for a in function.signature.input_arg],
                     [i for i in node.input if not i.startswith("^")])
            ref = function.ret[function.signature.output_arg[index].name]
        else:
            return None
    return None


def _load_keras_copy(path: Path) -> LoadedModel:
    """An export's Keras model: assets.extra/keras_model.json, rebuilt with the export's vocabularies and weights."""
    from seqsent.layout import METADATA_FILE, read_model_metadata
    from seqsent.serving.keras_copy import load_keras_copy

    metadata = read_model_metadata(path.parent / METADATA_FILE, path)
    text_model = load_keras_copy(path.parent.parent)
    names = list(metadata["class_names"])
    _check_class_count(path.parent.parent, names, text_model.output_shape[-1])  # the export, not its inner file
    _check_class_order(path.parent.parent, names)
    return LoadedModel(path, "keras", names, metadata, keras_predictor(text_model, len(names)), path,
                       text_model=text_model)


def _load_keras(path: Path) -> LoadedModel:
    import keras

    import seqsent.models.layers  # noqa: F401  (registers custom layers for deserialisation)
    import seqsent.text  # noqa: F401
    from seqsent.layout import METADATA_FILE, read_model_metadata

    metadata = read_model_metadata(path.parent / METADATA_FILE, path)
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
    names = list(metadata["class_names"])
    _check_class_count(path, names, text_model.output_shape[-1])
    return LoadedModel(path, "keras", names, metadata, keras_predictor(text_model, len(names)), path,
                       text_model=text_model)
