"""The SavedModel contract for TF Serving: flat string input, named outputs, versioned directories."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from seqsent.errors import ModelError, UsageError  # noqa: E402
from seqsent.layout import (EXTRA_DIR, KERAS_FILE, LEGACY_KERAS_FILE, METADATA_FILE, MODEL_CARD_FILE,  # noqa: E402
                            WARMUP_FILE, model_metadata)
from seqsent.serving.export import export_saved_model  # noqa: E402
from seqsent.serving.inference import load_model  # noqa: E402

BINARY_NAMES = ["neg", "pos"]
MULTI_NAMES = ["bad", "good", "meh"]
TEXTS = ["A great film, superb acting!", "Awful. Boring plot.", "", "x" * 20_000,
         "word " * 4_000, "Отличный фильм 👍🎬", "素晴らしい映画でした", "مذهل 😀"]


@pytest.fixture(scope="module")
def exports(tmp_path_factory, binary_text_model, three_class_text_model):
    base = tmp_path_factory.mktemp("exports")
    binary_dir = export_saved_model(binary_text_model, model_metadata(BINARY_NAMES, {"name": "bin"}), base, "bin")
    multi_dir = export_saved_model(three_class_text_model, model_metadata(MULTI_NAMES, {"name": "multi"}), base, "multi")
    return {"base": base, "binary": binary_dir, "multi": multi_dir}


@pytest.fixture(scope="module")
def serving(exports):
    loaded = {kind: tf.saved_model.load(str(exports[kind])) for kind in ("binary", "multi")}
    return loaded


def serve(serving, kind, texts):
    outputs = serving[kind].signatures["serving_default"](text=tf.constant(texts, dtype=tf.string))
    return {k: v.numpy() for k, v in outputs.items()}


def test_export_writes_version_one_with_keras_file_and_metadata(exports):
    path = exports["binary"]
    assert path.name == "1"
    assert (path / "saved_model.pb").is_file()
    assert (path / EXTRA_DIR / KERAS_FILE).is_file()
    metadata = json.loads((path / EXTRA_DIR / METADATA_FILE).read_text(encoding="utf-8"))
    assert metadata["class_names"] == BINARY_NAMES and metadata["format_version"] == 1
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".staging")]


def test_serving_signature_takes_a_flat_string_batch_named_text(serving):
    signature = serving["binary"].signatures["serving_default"]
    _, kwargs = signature.structured_input_signature
    assert list(kwargs) == ["text"]
    assert kwargs["text"].dtype == tf.string
    assert kwargs["text"].shape.as_list() == [None]
    outputs = signature.structured_outputs
    assert set(outputs) == {"probabilities", "label_id", "label"}
    assert outputs["probabilities"].dtype == tf.float32
    assert outputs["label_id"].dtype == tf.int64
    assert outputs["label"].dtype == tf.string


@pytest.mark.parametrize("kind, names", [("binary", BINARY_NAMES), ("multi", MULTI_NAMES)])
def test_serving_outputs_are_probabilities_label_ids_and_labels(serving, kind, names):
    out = serve(serving, kind, TEXTS)
    probabilities = out["probabilities"]
    assert probabilities.dtype == np.float32 and probabilities.shape == (len(TEXTS), len(names))
    assert np.isfinite(probabilities).all()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert out["label_id"].dtype == np.int64
    assert out["label_id"].tolist() == probabilities.argmax(axis=1).tolist()
    assert [label.decode() for label in out["label"]] == [names[i] for i in out["label_id"]]


def test_binary_serving_probabilities_match_the_keras_model(serving, binary_text_model):
    p_pos = binary_text_model(tf.constant(TEXTS), training=False).numpy()[:, 0]
    probabilities = serve(serving, "binary", TEXTS)["probabilities"]
    np.testing.assert_allclose(probabilities[:, 1], p_pos, atol=1e-5)
    np.testing.assert_allclose(probabilities[:, 0], 1 - p_pos, atol=1e-5)


def test_three_class_serving_probabilities_match_the_keras_model(serving, three_class_text_model):
    expected = three_class_text_model(tf.constant(TEXTS), training=False).numpy()
    np.testing.assert_allclose(serve(serving, "multi", TEXTS)["probabilities"], expected, atol=1e-5)


def test_serving_answers_one_text_the_same_as_in_a_batch(serving):
    batch = serve(serving, "multi", TEXTS)["probabilities"]
    for i in (0, 2, 5):
        single = serve(serving, "multi", [TEXTS[i]])["probabilities"]
        np.testing.assert_allclose(single[0], batch[i], atol=1e-5)


def test_serving_accepts_bytes_that_are_not_utf8(serving):
    out = serve(serving, "binary", [b"caf\xe9 \xff\xfe great", b"ok"])
    assert np.isfinite(out["probabilities"]).all() and out["probabilities"].shape == (2, 2)


def test_serving_accepts_an_empty_batch(serving):
    out = serve(serving, "multi", np.array([], dtype=object))
    assert out["probabilities"].shape == (0, 3)


@pytest.mark.parametrize("kind", ["binary", "multi"])
def test_inference_loads_export_and_its_keras_file_with_the_same_probabilities(exports, serving, kind):
    from_savedmodel = load_model(exports[kind])
    from_keras = load_model(exports[kind] / EXTRA_DIR / KERAS_FILE)
    assert (from_savedmodel.kind, from_keras.kind) == ("savedmodel", "keras")
    expected = serve(serving, kind, TEXTS)["probabilities"]
    np.testing.assert_allclose(from_savedmodel.predict_proba(TEXTS, batch_size=3), expected, atol=1e-5)
    np.testing.assert_allclose(from_keras.predict_proba(TEXTS), expected, atol=1e-5)


def test_inference_resolves_a_model_base_directory_to_its_newest_version(exports, binary_text_model, tmp_path):
    base = tmp_path / "models"
    export_saved_model(binary_text_model, model_metadata(BINARY_NAMES, {}), base, "m")
    newest = export_saved_model(binary_text_model, model_metadata(BINARY_NAMES, {}), base, "m")
    assert load_model(base / "m").path == newest


def test_versions_increment_and_an_existing_version_is_refused(binary_text_model, tmp_path):
    metadata = model_metadata(BINARY_NAMES, {})
    first = export_saved_model(binary_text_model, metadata, tmp_path, "m")
    second = export_saved_model(binary_text_model, metadata, tmp_path, "m")
    assert (first.name, second.name) == ("1", "2")
    with pytest.raises(UsageError, match="already exists"):
        export_saved_model(binary_text_model, metadata, tmp_path, "m", version=1)
    with pytest.raises(UsageError):
        export_saved_model(binary_text_model, metadata, tmp_path, "m", version=0)
    with pytest.raises(UsageError, match="--version must be between 1 and 9223372036854775807"):
        export_saved_model(binary_text_model, metadata, tmp_path, "m", version=2**63)
    for not_whole in (True, 1.0, "3"):  # True and 1.0 made directories TF Serving skips
        with pytest.raises(UsageError, match="--version must be a whole number"):
            export_saved_model(binary_text_model, metadata, tmp_path, "m", version=not_whole)
    explicit = export_saved_model(binary_text_model, metadata, tmp_path, "m", version=7)
    assert explicit.name == "7"
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["1", "2", "7"]  # no staging leftovers


def test_unknown_model_format_version_is_refused(exports, tmp_path):
    copy = tmp_path / "future" / "1"
    shutil.copytree(exports["binary"], copy)
    metadata_file = copy / EXTRA_DIR / METADATA_FILE
    metadata = json.loads(metadata_file.read_text(encoding="utf-8"))
    metadata["format_version"] = 999
    metadata_file.write_text(json.dumps(metadata), encoding="utf-8")
    with pytest.raises(ModelError, match="format") as excinfo:
        load_model(copy)
    assert "999" in str(excinfo.value)
    with pytest.raises(ModelError, match="format"):
        load_model(copy / EXTRA_DIR / KERAS_FILE)
    for written, shown in (("1", '"1" (not a number)'), (True, "true (not a number)")):
        metadata_file.write_text(json.dumps({**metadata, "format_version": written}), encoding="utf-8")
        with pytest.raises(ModelError, match=re.escape(f"in model format {shown}; this seqsent reads format 1")):
            load_model(copy)


def test_a_truncated_vocabulary_asset_is_refused_on_load_not_used_to_predict(exports, tmp_path):
    import gzip

    copy = tmp_path / "short" / "1"
    shutil.copytree(exports["binary"], copy)
    [asset] = (copy / "assets").glob("vocabulary-*.txt.gz")
    tokens = gzip.decompress(asset.read_bytes()).split(b"\n")
    asset.write_bytes(gzip.compress(b"\n".join(tokens[:5])))
    with pytest.raises(ModelError, match=rf"holds 5 tokens, not the {len(tokens):,} it was exported with"):
        load_model(copy)
    assert load_model(exports["binary"]).class_names == BINARY_NAMES  # the intact export loads


def test_a_vocabulary_asset_of_the_right_length_but_other_words_is_refused(exports, tmp_path):
    """Another model's vocabulary of the same size, or this one reordered, would load and mislabel with exit 0."""
    import gzip

    copy = tmp_path / "swapped" / "1"
    shutil.copytree(exports["binary"], copy)
    [asset] = (copy / "assets").glob("vocabulary-*.txt.gz")
    tokens = gzip.decompress(asset.read_bytes()).split(b"\n")
    asset.write_bytes(gzip.compress(b"\n".join(reversed(tokens))))
    for where in (copy, copy / EXTRA_DIR / KERAS_FILE):  # served by the SavedModel, or rebuilt in Keras
        with pytest.raises(ModelError, match=f"its vocabulary assets/{asset.name} is not the file it was exported "
                                             r"with \(its SHA-256 differs"):
            load_model(where)


def test_a_metadata_file_naming_one_class_or_a_weight_of_another_shape_says_which(exports, tmp_path):
    copy = tmp_path / "one" / "1"
    shutil.copytree(exports["binary"], copy)
    metadata_file = copy / EXTRA_DIR / METADATA_FILE
    metadata = json.loads(metadata_file.read_text(encoding="utf-8"))
    metadata_file.write_text(json.dumps({**metadata, "class_names": ["neg"]}), encoding="utf-8")
    with pytest.raises(ModelError, match=r"lists only \['neg'\]; a classifier has 2 or more classes"):
        load_model(copy)
    metadata_file.write_text(json.dumps(metadata), encoding="utf-8")
    description_file = copy / EXTRA_DIR / KERAS_FILE
    description = json.loads(description_file.read_text(encoding="utf-8"))
    description["weight_shapes"][0][0] = [99, 8]
    description_file.write_text(json.dumps(description), encoding="utf-8")
    with pytest.raises(ModelError, match=r"weight 1 of \d+ is \[\d+, \d+\] float32 where its Keras description "
                                         r"lists \[99, 8\] float32"):
        load_model(description_file)


def test_a_metadata_file_listing_the_classes_in_another_order_than_the_graph_is_refused(exports, tmp_path):
    """Reordered by hand, seqsent.json would make `seqsent predict` and TF Serving label one text differently."""
    from seqsent.serving.inference import served_class_names

    assert served_class_names(exports["multi"]) == MULTI_NAMES  # read from the graph, no inference run
    copy = tmp_path / "reordered" / "1"
    shutil.copytree(exports["multi"], copy)
    metadata_file = copy / EXTRA_DIR / METADATA_FILE
    metadata = json.loads(metadata_file.read_text(encoding="utf-8"))
    metadata_file.write_text(json.dumps({**metadata, "class_names": ["good", "bad", "meh"]}), encoding="utf-8")
    for path in (copy, copy / EXTRA_DIR / KERAS_FILE):  # the SavedModel and the export's Keras copy
        with pytest.raises(ModelError, match=r"names the classes good, bad, meh but its serving_default labels them "
                                             r"bad, good, meh; the export is damaged"):
            load_model(path)


def test_directory_without_a_model_is_refused(tmp_path):
    (tmp_path / "empty" / "3").mkdir(parents=True)
    with pytest.raises(ModelError, match="not a seqsent model"):
        load_model(tmp_path / "empty")


def test_export_without_metadata_is_refused(exports, tmp_path):
    copy = tmp_path / "bare"
    shutil.copytree(exports["binary"], copy)
    (copy / EXTRA_DIR / METADATA_FILE).unlink()
    with pytest.raises(ModelError, match=METADATA_FILE):
        load_model(copy)


# ---------------------------------------------------------------- a version is whole and immutable when it appears


def snapshot(version_dir):
    """Every file and directory of a version: relative path -> (permission bits, content hash)."""
    import hashlib
    import os
    import stat

    found = {}
    for root, dirs, files in os.walk(version_dir):
        for name in dirs + files:
            path = os.path.join(root, name)
            content = hashlib.sha256(open(path, "rb").read()).hexdigest() if name in files else "dir"
            found[os.path.relpath(path, version_dir)] = (stat.S_IMODE(os.stat(path).st_mode), content)
    return found


def test_train_publishes_a_version_that_is_complete_readable_and_never_changes(tmp_path, monkeypatch):
    """TF Serving may load a version the moment it appears: its metadata (test metrics included) must be final
    then, and every file readable by another user (a server in a container), as the umask says."""
    import os

    import seqsent.serving.export as export_module
    from conftest import tiny_run_config, tiny_texts, write_csv
    from seqsent.api import train

    seen_at_publication = {}
    rename = export_module._rename_into_place

    def publish_and_look(staging, base, version):
        published = rename(staging, base, version)
        seen_at_publication.update(snapshot(published))
        return published

    monkeypatch.setattr(export_module, "_rename_into_place", publish_and_look)
    previous_umask = os.umask(0o022)
    try:
        data = write_csv(tmp_path / "reviews.csv", tiny_texts(("good", "bad"), per_class=12))
        config = tiny_run_config(data, name="m", output_dir=str(tmp_path / "models"), runs_dir=str(tmp_path / "runs"))
        config.train.epochs = 1
        report = train(config, verbose=0)
    finally:
        os.umask(previous_umask)
    assert seen_at_publication and snapshot(report.export_dir) == seen_at_publication
    metadata = json.loads((report.export_dir / EXTRA_DIR / METADATA_FILE).read_text(encoding="utf-8"))
    assert metadata["test_metrics"] == report.test_metrics and metadata["history"]["loss"]
    modes = {path: mode for path, (mode, content) in seen_at_publication.items()}
    assert all(mode == (0o755 if content == "dir" else 0o644) for path, (mode, content) in seen_at_publication.items()), modes
    assert not [p for p in (tmp_path / "models" / "m").iterdir() if p.name.startswith(".")], "staging or lock left"
    # The model card was written with the test metrics, before the version appeared, and the report links to it.
    card = (report.export_dir / EXTRA_DIR / MODEL_CARD_FILE).read_text(encoding="utf-8")
    assert seen_at_publication[f"{EXTRA_DIR}/{MODEL_CARD_FILE}"][1] != "dir"
    assert f"| accuracy | {report.test_metrics['accuracy']:.4f} |" in card
    sizes = report.split_sizes
    assert f"train {sizes['train']:,}, validation {sizes['validation']:,}, test {sizes['test']:,} (validation: " in card
    for part in ("## Intended use and limits", "Not for decisions about people", "not calibrated",
                 "seqsent train --config config.json", f"{report.parameters:,}", "1 x GRU(4) over 8-d word embeddings",
                 f"TensorFlow {tf.__version__}"):
        assert part in card, part
    from seqsent.api import report as write_evaluation_report

    _, out = write_evaluation_report(report.export_dir, tmp_path / "report")
    card_path = (report.export_dir / EXTRA_DIR / MODEL_CARD_FILE).resolve()
    assert f"(<{card_path}>)" in (out / "report.md").read_text(encoding="utf-8")


# ---------------------------------------------------------------- each weight once: exports as small as the model

# What an export holds besides its weights and vocabularies, bounded from measurements on these models. None of it
# grows with the weights: the graph captures the variables and reads the vocabularies from assets/, holding no copy
# (checked below: no constant over 16 KB); the warmup requests are fixed texts; the rest is JSON and markdown.
GRAPH_BYTES = 512_000  # saved_model.pb: 250 KB for a tiny BiLSTM, 530 KB for imdb-best's 3 models (benchmark)
WARMUP_BYTES = 8_000  # tf_serving_warmup_requests: 4.5 KB
TEXT_BYTES = 64_000  # keras_model.json (the architecture), seqsent.json, README.md: 13 KB here, 28 KB for imdb-best


def export_parts(version) -> dict[str, int]:
    return {str(p.relative_to(version)): p.stat().st_size for p in version.rglob("*") if p.is_file()}


def weights_float32_bytes(text_model) -> int:
    return 4 * int(sum(np.prod(w.shape) for w in text_model.weights))


def largest_graph_constant(version) -> int:
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel.FromString((version / "saved_model.pb").read_bytes())
    graph = proto.meta_graphs[0].graph_def
    nodes = list(graph.node) + [node for function in graph.library.function for node in function.node_def]
    return max(node.ByteSize() for node in nodes if node.op == "Const")


def test_export_is_at_most_1_3x_its_weights_plus_a_fixed_overhead_and_still_re_exports(tmp_path):
    from conftest import make_tiny_text_model
    from seqsent.api import export

    # Wide enough that the weights (0.7 MB) outweigh what is fixed: the old layout (weights twice in variables/, a
    # third time in model.keras) would be 2.5 MB here, over the bound.
    text_model = make_tiny_text_model(2, embedding_dim=256, units=64)
    version = export_saved_model(text_model, model_metadata(BINARY_NAMES, {"name": "wide"}), tmp_path, "wide")
    parts, weights = export_parts(version), weights_float32_bytes(text_model)
    variables = sum(size for path, size in parts.items() if path.startswith("variables/"))
    vocabularies = sum(size for path, size in parts.items() if path.startswith("assets/"))
    extra = {path: size for path, size in parts.items() if path.startswith(EXTRA_DIR)}
    total = sum(parts.values())
    print(f"\nexport {total:,} bytes for {weights:,} bytes of float32 weights ({total / weights:.3f}x): "
          + ", ".join(f"{path} {size:,}" for path, size in sorted(parts.items())))
    assert weights > 600_000
    assert variables <= 1.01 * weights + 16_000  # each weight once
    assert parts["saved_model.pb"] <= GRAPH_BYTES and largest_graph_constant(version) < 16_000
    assert extra.pop(f"{EXTRA_DIR}/{WARMUP_FILE}") <= WARMUP_BYTES
    assert sorted(extra) == sorted(f"{EXTRA_DIR}/{f}" for f in (KERAS_FILE, METADATA_FILE, MODEL_CARD_FILE))
    assert sum(extra.values()) <= TEXT_BYTES  # no weights, no optimizer state
    assert vocabularies < 1_000  # 24 words, gzip
    assert total <= 1.3 * weights + GRAPH_BYTES + WARMUP_BYTES + TEXT_BYTES

    # Everything it is for still works: serving, its Keras model, and `seqsent export` of it.
    expected = text_model(tf.constant(TEXTS), training=False).numpy()[:, 0]
    keras_model = load_model(version / EXTRA_DIR / KERAS_FILE)
    assert keras_model.kind == "keras" and load_model(version).keras_path == version / EXTRA_DIR / KERAS_FILE
    again = export(version, tmp_path, name="again")
    for model in (load_model(version), keras_model, load_model(again)):
        np.testing.assert_allclose(model.predict_proba(TEXTS)[:, 1], expected, atol=1e-6)
    assert sum(export_parts(again).values()) <= total + 4_000  # the same model, the same size (the card may differ)
    # Its card and seqsent.json name the new export and its own time, and say where it came from.
    card = (again / EXTRA_DIR / MODEL_CARD_FILE).read_text(encoding="utf-8")
    assert card.startswith("# Model card: again\n") and f"by `seqsent export` from `{version}`" in card
    recorded = json.loads((again / EXTRA_DIR / METADATA_FILE).read_text(encoding="utf-8"))
    assert recorded["name"] == "again" and recorded["config"]["name"] == "wide"  # as trained
    assert recorded["exported_from"]["created"] == load_model(version).metadata["created"]


def write_legacy_export(base, name, text_model, metadata):
    """A version as seqsent wrote them before keras_model.json: ExportArchive tracking the Keras variables (each
    weight stored twice) and the whole Keras model in assets.extra/model.keras."""
    import keras

    from seqsent.layout import write_model_metadata
    from seqsent.serving.export import SIGNATURE, serving_function, write_warmup_requests

    version = base / name / "1"
    archive = keras.export.ExportArchive()
    archive.track(text_model)
    archive.add_endpoint(SIGNATURE, serving_function(text_model, metadata["class_names"]),
                         input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    archive.write_out(str(version), verbose=False)
    (version / EXTRA_DIR).mkdir()
    write_warmup_requests(version / EXTRA_DIR / WARMUP_FILE, name)
    text_model.save(version / EXTRA_DIR / LEGACY_KERAS_FILE)
    write_model_metadata(version, metadata)
    return version


def test_an_export_written_before_keras_model_json_still_loads_and_re_exports_lean(tmp_path, binary_text_model):
    from seqsent.api import export

    old = write_legacy_export(tmp_path / "old", "bin", binary_text_model, model_metadata(BINARY_NAMES, {"name": "bin"}))
    expected = binary_text_model(tf.constant(TEXTS), training=False).numpy()[:, 0]
    served = load_model(old)
    assert served.kind == "savedmodel" and served.keras_path == old / EXTRA_DIR / LEGACY_KERAS_FILE
    new = export(old, tmp_path / "new")
    assert new == tmp_path / "new" / "bin" / "1"
    assert (new / EXTRA_DIR / KERAS_FILE).is_file() and not (new / EXTRA_DIR / LEGACY_KERAS_FILE).exists()
    assert sum(export_parts(new).values()) < sum(export_parts(old).values())
    for model in (served, load_model(old / EXTRA_DIR / LEGACY_KERAS_FILE), load_model(new),
                  load_model(new / EXTRA_DIR / KERAS_FILE)):
        np.testing.assert_allclose(model.predict_proba(TEXTS)[:, 1], expected, atol=1e-6)


def test_ensemble_export_stores_both_vocabularies_once_and_rebuilds_its_keras_model(tmp_path, binary_text_model):
    from seqsent.api import export

    from conftest import make_ensemble

    ensemble = make_ensemble(binary_text_model)
    version = export_saved_model(ensemble, model_metadata(BINARY_NAMES, {"name": "ens"}), tmp_path, "ens")
    assert sorted(p.name for p in (version / "assets").iterdir()) == ["vocabulary-0.txt.gz", "vocabulary-1.txt.gz"]
    description = json.loads((version / EXTRA_DIR / KERAS_FILE).read_text(encoding="utf-8"))
    assert [v["layer"] for v in description["vocabularies"]] == ["ensemble_members/vectorizer",
                                                                 "ensemble_members/nbsvm_model/vectorizer"]
    architecture = json.dumps(description["model"])
    assert architecture.count('"vocabulary": null') == 2 and "superb" not in architecture  # vocabularies: assets/
    keras_model = load_model(version / EXTRA_DIR / KERAS_FILE).text_model
    rebuilt = keras_model.get_layer("ensemble_members").get_layer("vectorizer")
    assert rebuilt.get_vocabulary() == binary_text_model.get_layer("vectorizer").get_vocabulary()
    expected = ensemble(tf.constant(TEXTS), training=False).numpy()
    np.testing.assert_allclose(keras_model(tf.constant(TEXTS), training=False).numpy(), expected, atol=1e-6)
    again = load_model(export(version, tmp_path, name="ens-again"))
    np.testing.assert_allclose(again.predict_proba(TEXTS)[:, 1], expected[:, 0], atol=1e-6)


def test_an_incomplete_or_tampered_keras_model_is_refused_with_a_clear_message(exports, tmp_path):
    def copy_of(name):
        copy = tmp_path / name / "1"
        shutil.copytree(exports["binary"], copy)
        return copy, copy / EXTRA_DIR / KERAS_FILE

    version, keras_file = copy_of("no-vocabulary")
    next((version / "assets").iterdir()).unlink()
    with pytest.raises(ModelError, match="lacks the vocabulary assets/vocabulary-0.txt.gz"):
        load_model(keras_file)

    version, keras_file = copy_of("outside")
    description = json.loads(keras_file.read_text(encoding="utf-8"))
    description["vocabularies"][0]["file"] = "../../../../etc/passwd"
    keras_file.write_text(json.dumps(description), encoding="utf-8")
    with pytest.raises(ModelError, match="lacks the vocabulary"):
        load_model(keras_file)

    version, keras_file = copy_of("other-weights")
    description = json.loads(keras_file.read_text(encoding="utf-8"))
    description["weight_shapes"][0][0][0] += 1
    keras_file.write_text(json.dumps(description), encoding="utf-8")
    with pytest.raises(ModelError, match="where its Keras description lists"):
        load_model(keras_file)

    version, keras_file = copy_of("no-keras")
    keras_file.unlink()
    from seqsent.api import export

    with pytest.raises(ModelError, match="no Keras model to re-export from"):
        export(version, tmp_path / "out")


def test_model_card_names_what_the_model_learned_from_besides_labels_and_keeps_the_file_name_case():
    from seqsent.config import RunConfig
    from seqsent.serving.model_card import model_card

    config = RunConfig(name="m")
    config.data.source = "small.csv"
    config.model.embeddings_path, config.model.freeze_embeddings = "v.vec", True
    config.semi.unlabelled, config.semi.vat, config.semi.entropy_weight = ["u.txt"], True, 0.5
    card = model_card({"class_names": ["neg", "pos"], "config": config.to_dict(),
                       "data": {"description": "small.csv (40 rows held out as test)"}})
    assert "Data: small.csv (40 rows held out as test)." in card
    for said in ("embeddings frozen", "unlabelled `u.txt`", "VAT (epsilon 5.0)", "entropy minimisation (weight 0.5)"):
        assert said in card, said


def test_model_card_says_the_task_by_the_classes_when_they_are_not_sentiments():
    from seqsent.config import RunConfig
    from seqsent.serving.model_card import model_card

    config = RunConfig(name="m").to_dict()
    assert "- For the sentiment of texts like its training data" in model_card(
        {"class_names": ["neg", "pos"], "config": config})
    topics = model_card({"class_names": ["sport", "politics", "science"], "config": config})
    assert "- For the classes `sport`, `politics`, `science` of texts like its training data" in topics
