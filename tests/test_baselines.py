"""Bag-of-words baselines (bow, tfidf, ngram): features worked out by hand, training, .keras and SavedModel round trips."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO_ROOT, TINY_TEXT_CONFIG, tiny_texts, write_csv

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from seqsent.config import BASELINE_ARCHS, ModelConfig, RunConfig, TextConfig  # noqa: E402
from seqsent.errors import UsageError  # noqa: E402
from seqsent.models import BUILDERS, build_classifier, build_features, build_text_model  # noqa: E402
from seqsent.training.pipeline import encode_texts, evaluation_dataset, training_dataset  # noqa: E402

PROBE = ["A great film, superb acting!", "Awful. Boring plot, dull cast.", "", "zyzzyva quux 映画😀",
         "great great great film"]


def dense_features(arch: str, train_texts: list[str], texts: list[str]):
    vectorizer, weighting = build_features(arch, TextConfig(max_tokens=100), train_texts)
    features = weighting(vectorizer(tf.constant(texts)))
    assert isinstance(features, tf.SparseTensor)
    return tf.sparse.to_dense(features).numpy(), vectorizer.get_vocabulary()


def test_baseline_archs_are_registered_and_validated():
    for arch in BASELINE_ARCHS:
        assert arch in BUILDERS
        config = RunConfig()
        config.model.arch = arch
        config.validate()
    config = RunConfig()
    config.model.arch = "cnn"
    with pytest.raises(UsageError, match="bow, tfidf, ngram"):
        config.validate()


def test_bow_marks_each_present_word_once_after_standardisation():
    rows, vocab = dense_features("bow", ["Good good film", "bad film", "film"], ["GOOD, good <br /> film!", "nothing"])
    index = {token: i for i, token in enumerate(vocab)}
    assert rows[0][index["good"]] == 1.0 and rows[0][index["film"]] == 1.0
    assert rows[0].sum() == 2.0  # no "br", no punctuation token
    assert rows[1][index["[UNK]"]] == 1.0 and rows[1].sum() == 1.0


def test_tfidf_weights_counts_by_inverse_document_frequency():
    # 3 documents; document frequency: film 3, good 1, bad 1; idf = log(1 + 3 / (1 + df))
    rows, vocab = dense_features("tfidf", ["good good film", "bad film", "film"], ["good good film"])
    index = {token: i for i, token in enumerate(vocab)}
    assert rows[0][index["good"]] == pytest.approx(2 * math.log(1 + 3 / 2), rel=1e-6)
    assert rows[0][index["film"]] == pytest.approx(math.log(1 + 3 / 4), rel=1e-6)
    assert rows[0][index["bad"]] == 0.0


def test_bm25_saturates_counts_and_discounts_long_texts():
    # 3 train documents of 3, 2 and 1 tokens: average length 2; df: film 3, good 1, bad 1.
    # idf = log(1 + (N - df + 0.5) / (df + 0.5)); weight = idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * |d| / 2))
    rows, vocab = dense_features("bm25", ["good good film", "bad film", "film"],
                                 ["good good film", "good film film film film film"])
    index = {token: i for i, token in enumerate(vocab)}
    idf_good, idf_film = math.log(1 + 2.5 / 1.5), math.log(1 + 0.5 / 3.5)

    def weight(idf, tf, length):
        return idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * length / 2))

    assert rows[0][index["good"]] == pytest.approx(weight(idf_good, 2, 3), rel=1e-5)
    assert rows[0][index["film"]] == pytest.approx(weight(idf_film, 1, 3), rel=1e-5)
    assert rows[1][index["good"]] == pytest.approx(weight(idf_good, 1, 6), rel=1e-5)  # a longer text: discounted
    assert rows[1][index["film"]] < 2.2 * idf_film  # five occurrences saturate below (k1 + 1) * idf


def test_ngram_counts_unigrams_and_bigrams():
    rows, vocab = dense_features("ngram", ["great great film", "bad film"], ["great great great film"])
    index = {token: i for i, token in enumerate(vocab)}
    assert rows[0][index["great"]] == 3.0
    assert rows[0][index["great great"]] == 2.0
    assert rows[0][index["great film"]] == 1.0
    assert rows[0][index["film"]] == 1.0


def test_sparse_features_flow_through_the_training_pipeline():
    texts = [t for t, _ in tiny_texts(("good", "bad"), per_class=10)]
    labels = np.arange(len(texts)) % 2
    vectorizer, weighting = build_features("tfidf", TextConfig(**TINY_TEXT_CONFIG), texts)
    features = encode_texts(texts, vectorizer, weighting)
    assert isinstance(features, tf.SparseTensor)
    assert features.dense_shape.numpy().tolist() == [len(texts), vectorizer.vocabulary_size()]
    train = list(training_dataset(features, labels, 2, batch_size=8, max_length=20, padding="bucket", seed=1))
    assert [int(x.dense_shape[0]) for x, _ in train] == [8, 8, 4]
    assert all(isinstance(x, tf.SparseTensor) and y.shape[1] == 1 for x, y in train)
    evaluation = list(evaluation_dataset(features, labels, 2, batch_size=8))
    np.testing.assert_array_equal(np.concatenate([y.numpy().ravel() for _, y in evaluation]), labels)


@pytest.mark.parametrize("arch, head_units, num_classes", [("bow", 0, 2), ("tfidf", 4, 3), ("ngram", 0, 3)])
def test_baseline_text_model_trains_and_roundtrips_through_keras_file(arch, head_units, num_classes, tmp_path):
    texts = [t for t, _ in tiny_texts(per_class=6)]
    vectorizer, weighting = build_features(arch, TextConfig(**TINY_TEXT_CONFIG), texts)
    config = ModelConfig(arch=arch, head_units=head_units)
    classifier = build_classifier(config, vectorizer.vocabulary_size(), num_classes, seed=3)
    vocab, outputs = vectorizer.vocabulary_size(), (1 if num_classes == 2 else num_classes)
    # linear: one weight per vocabulary slot and output, plus biases; else vocab -> head -> outputs
    expected = (vocab + 1) * outputs if not head_units else (vocab + 1) * head_units + (head_units + 1) * outputs
    assert classifier.count_params() == expected
    classifier.compile(optimizer=keras.optimizers.Adam(0.05),
                       loss="binary_crossentropy" if num_classes == 2 else "sparse_categorical_crossentropy")
    y = np.arange(len(texts)) % num_classes
    features = encode_texts(texts, vectorizer, weighting)
    before = [w.numpy().copy() for w in classifier.trainable_weights]
    classifier.fit(features, y.reshape(-1, 1).astype("float32") if num_classes == 2 else y, epochs=1, verbose=0)
    assert any(not np.array_equal(b, w.numpy()) for b, w in zip(before, classifier.trainable_weights))

    text_model = build_text_model(vectorizer, weighting, classifier)
    probabilities = text_model(tf.constant(PROBE), training=False).numpy()
    assert probabilities.shape == (len(PROBE), 1 if num_classes == 2 else num_classes)
    assert np.isfinite(probabilities).all()
    path = tmp_path / f"{arch}.keras"
    text_model.save(path)
    reloaded = keras.saving.load_model(path, safe_mode=True)
    np.testing.assert_allclose(reloaded(tf.constant(PROBE), training=False).numpy(), probabilities, atol=1e-6)


@pytest.fixture(scope="module")
def trained_baselines(tmp_path_factory):
    """Each baseline trained by seqsent.train on a tiny 2-class CSV and exported: arch -> TrainReport."""
    from seqsent.api import train

    root = tmp_path_factory.mktemp("baselines")
    data = write_csv(root / "tiny.csv", tiny_texts(("good", "bad"), per_class=15))
    reports = {}
    for arch in BASELINE_ARCHS:
        config = RunConfig(name=f"tiny-{arch}", output_dir=str(root / "saved_models"), runs_dir=str(root / "runs"))
        config.data.source = str(data)
        config.model.arch = arch
        config.text.max_tokens = 200
        config.train.epochs = 4
        config.train.patience = 4
        config.train.batch_size = 8
        config.train.learning_rate = 0.05
        reports[arch] = train(config, verbose=0)
    return reports


@pytest.mark.parametrize("arch", BASELINE_ARCHS)
def test_exported_baseline_serves_raw_strings_like_the_keras_model(trained_baselines, arch):
    report = trained_baselines[arch]
    assert report.test_metrics["accuracy"] >= 0.8  # the words give the class away
    served = tf.saved_model.load(str(report.export_dir)).signatures["serving_default"]
    signature_input = served.structured_input_signature[1]["text"]
    assert signature_input.dtype == tf.string and signature_input.shape.as_list() == [None]
    outputs = served(text=tf.constant(PROBE))
    assert set(outputs) == {"probabilities", "label_id", "label"}
    from seqsent.serving.inference import load_model

    keras_model = load_model(report.export_dir / "assets.extra" / "keras_model.json").text_model  # safe mode
    p_pos = keras_model(tf.constant(PROBE), training=False).numpy()[:, 0]
    np.testing.assert_allclose(outputs["probabilities"].numpy(), np.stack([1 - p_pos, p_pos], axis=1), atol=1e-6)
    names = np.array(report.class_names)
    assert [s.decode() for s in outputs["label"].numpy()] == list(names[(p_pos > 0.5).astype(int)])


def test_exported_tfidf_model_loads_in_a_fresh_process(trained_baselines):
    """IDFWeighting is registered by importing seqsent.models, which loading a .keras file does."""
    export_dir = trained_baselines["tfidf"].export_dir
    code = ("import json, sys\nfrom seqsent.serving.inference import load_model\n"
            "m = load_model(sys.argv[1])\nprint(json.dumps(m.predict_proba(['great film', '']).tolist()))\n")
    keras_file = export_dir / "assets.extra" / "keras_model.json"
    result = subprocess.run([sys.executable, "-c", code, str(keras_file)], capture_output=True, text=True,
                            cwd=REPO_ROOT, timeout=120, env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": ""})
    assert result.returncode == 0, result.stderr[-2000:]
    from seqsent.serving.inference import load_model

    expected = load_model(export_dir).predict_proba(["great film", ""])
    np.testing.assert_allclose(np.array(json.loads(result.stdout.strip().splitlines()[-1])), expected, atol=1e-6)
