"""Every recurrent architecture builds, trains a step, and round-trips through a .keras file with raw-string input."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from conftest import TINY_MODEL_CONFIG, TINY_TEXT_CONFIG, tiny_texts

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from seqsent.config import ModelConfig, TextConfig  # noqa: E402
from seqsent.models import build_classifier, build_text_model  # noqa: E402
from seqsent.text import adapt_vectorizer, make_truncation  # noqa: E402

ARCH = {("rnn", False): "rnn", ("lstm", False): "lstm", ("gru", False): "gru",
        ("rnn", True): "birnn", ("lstm", True): "bilstm", ("gru", True): "bigru"}
TEXTS = ["A great film, superb acting!", "Awful. Boring plot, dull cast.", "", "okay😀 movie, fine 映画",
         "unseen words only: zyzzyva quux"]


@pytest.fixture(scope="module")
def vectorizer():
    return adapt_vectorizer(TextConfig(**TINY_TEXT_CONFIG), [t for t, _ in tiny_texts(per_class=6)])


def train_one_step(classifier, vocab_size, num_classes):
    binary = num_classes == 2
    classifier.compile(optimizer=keras.optimizers.Adam(0.01),
                       loss="binary_crossentropy" if binary else "sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    ids = rng.integers(1, vocab_size, size=(6, 10))
    ids[1, 4:] = 0  # right padding, as the vectorizer makes it
    ids[2, :] = 0  # an empty text
    y = np.arange(6) % num_classes
    before = [w.numpy().copy() for w in classifier.trainable_weights]
    loss = classifier.train_on_batch(ids, y.reshape(-1, 1).astype("float32") if binary else y)
    after = [w.numpy() for w in classifier.trainable_weights]
    assert np.isfinite(loss)
    assert any(not np.array_equal(a, b) for a, b in zip(before, after)), "the training step changed no weight"


def assert_roundtrip(config: ModelConfig, vectorizer, tmp_path, num_classes=2):
    classifier = build_classifier(config, vectorizer.vocabulary_size(), num_classes, seed=3)
    train_one_step(classifier, vectorizer.vocabulary_size(), num_classes)
    text_model = build_text_model(vectorizer, make_truncation(TextConfig(**TINY_TEXT_CONFIG)), classifier)
    inputs = tf.constant(TEXTS)
    before = text_model(inputs, training=False).numpy()
    path = tmp_path / f"{config.arch}.keras"
    text_model.save(path)
    reloaded = keras.saving.load_model(path, safe_mode=True)
    after = reloaded(inputs, training=False).numpy()
    assert before.shape == (len(TEXTS), 1 if num_classes == 2 else num_classes)
    assert np.isfinite(before).all()
    np.testing.assert_allclose(after, before, atol=1e-6)


@pytest.mark.parametrize("cell, bidirectional, layers",
                         list(itertools.product(["rnn", "lstm", "gru"], [False, True], [1, 2])),
                         ids=lambda v: str(v))
def test_architecture_trains_and_roundtrips_through_keras_file(cell, bidirectional, layers, vectorizer, tmp_path):
    config = ModelConfig(arch=ARCH[cell, bidirectional], layers=layers, **TINY_MODEL_CONFIG)
    assert_roundtrip(config, vectorizer, tmp_path)


@pytest.mark.parametrize("pooling", ["last", "max", "mean"])
def test_pooling_variant_trains_and_roundtrips_through_keras_file(pooling, vectorizer, tmp_path):
    config = ModelConfig(arch="bigru", pooling=pooling, **TINY_MODEL_CONFIG)
    assert_roundtrip(config, vectorizer, tmp_path, num_classes=3)


def test_dense_head_without_dropout_roundtrips_through_keras_file(vectorizer, tmp_path):
    config = ModelConfig(arch="lstm", head_units=4, head_dropout=0.0, embedding_dropout=0.0, dropout=0.0,
                         **TINY_MODEL_CONFIG)
    assert_roundtrip(config, vectorizer, tmp_path, num_classes=3)


def recurrent_layers(model):
    """(name, plain recurrent layer) for every direction of every recurrent layer."""
    found = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Bidirectional):
            found += [(layer.name + "/forward", layer.forward_layer), (layer.name + "/backward", layer.backward_layer)]
        elif isinstance(layer, keras.layers.RNN):
            found.append((layer.name, layer))
    return found


def assert_orthogonal(matrix):
    rows, cols = matrix.shape
    gram = matrix @ matrix.T if rows <= cols else matrix.T @ matrix
    np.testing.assert_allclose(gram, np.eye(min(rows, cols)), atol=1e-5)


@pytest.mark.parametrize("arch", ["rnn", "lstm", "gru", "bilstm"])
def test_recurrent_layers_use_the_stated_initialisers(arch):
    units = 4
    model = build_classifier(ModelConfig(arch=arch, layers=2, units=units, embedding_dim=8), 50, 2)
    layers = recurrent_layers(model)
    assert len(layers) == (4 if arch.startswith("bi") else 2)
    for name, layer in layers:
        cell = layer.cell
        kernel, recurrent, bias = cell.kernel.numpy(), cell.recurrent_kernel.numpy(), cell.bias.numpy()
        # Glorot uniform: U(-limit, limit) with limit = sqrt(6 / (fan_in + fan_out))
        limit = np.sqrt(6.0 / sum(kernel.shape))
        assert np.abs(kernel).max() <= limit + 1e-7, name
        assert np.abs(kernel).max() > 0.5 * limit, name
        assert 0.6 < kernel.std() / (limit / np.sqrt(3)) < 1.4, name
        # Orthogonal recurrent kernel
        assert_orthogonal(recurrent)
        # Zero biases, except the LSTM forget gate (gate order i, f, c, o)
        expected = np.zeros_like(bias)
        if arch.endswith("lstm"):
            expected[units:2 * units] = 1.0
        np.testing.assert_array_equal(bias, expected, err_msg=name)


def test_bidirectional_directions_start_from_different_weights():
    model = build_classifier(ModelConfig(arch="bilstm", units=4, embedding_dim=8), 50, 2)
    bi = model.get_layer("bilstm_1")
    assert not np.allclose(bi.forward_layer.cell.kernel.numpy(), bi.backward_layer.cell.kernel.numpy())


def test_two_class_head_is_one_sigmoid_unit():
    model = build_classifier(ModelConfig(arch="gru", **TINY_MODEL_CONFIG), 50, 2)
    head = model.get_layer("probabilities")
    assert head.units == 1 and head.activation is keras.activations.sigmoid
    assert model.output_shape == (None, 1)


def test_three_class_head_is_softmax_over_three_units():
    model = build_classifier(ModelConfig(arch="gru", **TINY_MODEL_CONFIG), 50, 3)
    head = model.get_layer("probabilities")
    assert head.units == 3 and head.activation is keras.activations.softmax
    probabilities = model(np.array([[2, 3, 4, 0]]), training=False).numpy()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-6)


@pytest.mark.parametrize("pooling", ["last", "max", "mean", "max-mean"])
@pytest.mark.parametrize("num_classes", [2, 3])
def test_empty_text_gets_finite_probabilities(pooling, num_classes, vectorizer):
    classifier = build_classifier(ModelConfig(arch="bilstm", pooling=pooling, **TINY_MODEL_CONFIG),
                                  vectorizer.vocabulary_size(), num_classes)
    text_model = build_text_model(vectorizer, make_truncation(TextConfig(**TINY_TEXT_CONFIG)), classifier)
    for batch in ([""], ["", "   ", "!!!"], ["", "a great film"]):
        probabilities = text_model(tf.constant(batch), training=False).numpy()
        assert probabilities.shape[0] == len(batch)
        assert np.isfinite(probabilities).all()
        assert ((probabilities >= 0) & (probabilities <= 1)).all()


def test_masked_pooling_ignores_padding_steps():
    from seqsent.models.layers import MaskedGlobalPooling

    x = np.array([[[1.0, -2.0], [3.0, -4.0], [100.0, 100.0]]], dtype="float32")
    mask = np.array([[True, True, False]])
    pooled = MaskedGlobalPooling("max-mean")(x, mask=mask).numpy()
    np.testing.assert_allclose(pooled, [[3.0, -2.0, 2.0, -3.0]])
    empty = MaskedGlobalPooling("max-mean")(x, mask=np.zeros((1, 3), dtype=bool)).numpy()
    np.testing.assert_array_equal(empty, np.zeros((1, 4)))
