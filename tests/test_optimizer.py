"""Discriminative rates: pretrained layers take a smaller step than the rest, under any strategy."""

from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402

from seqsent.config import ModelConfig, TrainConfig  # noqa: E402
from seqsent.training.optimizer import DiscriminativeAdam, make_optimizer, pretrained_variable_paths  # noqa: E402


def _two_layer_model():
    keras.utils.set_random_seed(3)
    inputs = keras.Input((4,))
    outputs = keras.layers.Dense(1, name="head")(keras.layers.Dense(3, name="pretrained")(inputs))
    return keras.Model(inputs, outputs)


def _one_step(optimizer_of, strategy):
    with strategy.scope():
        model = _two_layer_model()
        optimizer = optimizer_of(model)
        optimizer.build(model.trainable_variables)
    before = [v.numpy().copy() for v in model.trainable_variables]
    grads = [tf.ones_like(v) * (i + 1) for i, v in enumerate(model.trainable_variables)]

    @tf.function
    def step():
        strategy.run(lambda: optimizer.apply_gradients(zip(grads, model.trainable_variables)))

    step()
    return {v.path: v.numpy() - b for v, b in zip(model.trainable_variables, before)}


@pytest.mark.parametrize("strategy", ["default", "mirrored"])
def test_the_slow_layers_step_is_the_rate_times_adams_and_the_others_are_adams(strategy):
    strategy = tf.distribute.get_strategy() if strategy == "default" else tf.distribute.MirroredStrategy(["/cpu:0"])
    slow = lambda model: [v.path for v in model.get_layer("pretrained").trainable_variables]  # noqa: E731
    plain = _one_step(lambda model: keras.optimizers.Adam(1e-2), strategy)
    scaled = _one_step(lambda model: DiscriminativeAdam(1e-2, slow_paths=slow(model), slow_rate=0.1), strategy)
    for path, step in plain.items():
        factor = 0.1 if "pretrained" in path.split("/") else 1.0
        assert np.abs(step).min() > 0, path
        np.testing.assert_allclose(scaled[path], factor * step, rtol=1e-5, err_msg=path)


def test_the_pretrained_variables_are_the_embedding_for_vectors_and_also_the_recurrent_stack_for_an_encoder():
    from seqsent.models import build_classifier

    config = ModelConfig(arch="bigru", units=4, embedding_dim=3, layers=2)
    classifier = build_classifier(config, 20, 2, seed=1)
    recurrent = {v.path for layer in classifier.layers
                 if isinstance(layer, keras.layers.Bidirectional) for v in layer.trainable_variables}
    embedding = {v.path for v in classifier.get_layer("embedding").trainable_variables}
    assert pretrained_variable_paths(classifier, config) == []
    config.embeddings_path = "vectors.vec"
    assert set(pretrained_variable_paths(classifier, config)) == embedding
    config.embeddings_path, config.encoder_path = None, "encoder"
    assert set(pretrained_variable_paths(classifier, config)) == embedding | recurrent and len(recurrent) == 12
    assert type(make_optimizer(TrainConfig(), ["x"])) is keras.optimizers.Adam
    assert isinstance(make_optimizer(TrainConfig(pretrained_rate=0.1), ["x"]), DiscriminativeAdam)
