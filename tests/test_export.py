"""The SavedModel contract for TF Serving: flat string input, named outputs, versioned directories."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from seqsent.errors import ModelError, UsageError  # noqa: E402
from seqsent.layout import EXTRA_DIR, KERAS_FILE, METADATA_FILE, model_metadata  # noqa: E402
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
