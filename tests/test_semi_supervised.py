"""Adversarial and virtual adversarial training: the perturbation, the loss, the strategies, resuming, the export."""

from __future__ import annotations

import json

import numpy as np
import pytest

from conftest import tiny_run_config, tiny_texts, write_csv

tf = pytest.importorskip("tensorflow")

from seqsent.config import ModelConfig  # noqa: E402
from seqsent.training.semi_supervised import SemiSupervisedClassifier, scale_l2  # noqa: E402


def test_perturbation_has_the_configured_norm_and_spares_padding():
    x = tf.random.normal([3, 5, 4], seed=1)
    mask = tf.constant([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]]) > 0
    r = scale_l2(x * 1e-9, mask, 2.5).numpy()  # tiny gradients do not underflow
    np.testing.assert_allclose(np.sqrt((r ** 2).sum(axis=(1, 2))), [2.5, 2.5, 2.5], rtol=1e-4)
    assert np.all(r[0, 3:] == 0) and np.all(r[2, 1:] == 0)


def semi_model(vat=1.0, adversarial=1.0, classes=2, arch="bigru"):
    """A tiny recurrent classifier wrapped for VAT and adversarial training, compiled."""
    import keras

    from seqsent.models import build_classifier

    keras.utils.set_random_seed(4)
    classifier = build_classifier(ModelConfig(arch=arch, units=4, embedding_dim=6, token_dropout=0.1), 30, classes,
                                  seed=2)
    frequencies = np.ones(30) / 29
    frequencies[0] = 0
    model = SemiSupervisedClassifier(classifier, frequencies, vat_epsilon=vat, adversarial_epsilon=adversarial,
                                     entropy_weight=0.1)
    model.compile(optimizer=keras.optimizers.Adam(0.01))
    return model


def batch(classes=2):
    rng = np.random.default_rng(0)
    labelled = np.where(rng.random((8, 7)) < 0.2, 0, rng.integers(2, 30, (8, 7)))
    labelled[:, 0] = rng.integers(2, 30, 8)  # no empty text
    unlabelled = rng.integers(2, 30, (8, 9))
    labels = (np.arange(8) % 2).reshape(-1, 1).astype("float32") if classes == 2 else np.arange(8) % classes
    return (tf.constant(labelled), tf.constant(unlabelled)), tf.constant(labels)


@pytest.mark.parametrize("classes", [2, 3])
def test_vat_and_adversarial_losses_are_finite_and_train_every_weight(classes):
    model = semi_model(classes=classes)
    before = [v.numpy().copy() for v in model.trainable_variables]
    logs = model.train_step(batch(classes))
    assert all(np.isfinite(float(logs[key])) for key in ("loss", "vat", "adversarial", "entropy"))
    assert float(logs["vat"]) > 0 and float(logs["adversarial"]) > 0
    changed = [not np.array_equal(a, v.numpy()) for a, v in zip(before, model.trainable_variables)]
    assert all(changed), [v.path for v, c in zip(model.trainable_variables, changed) if not c]


def test_the_power_iteration_finds_a_direction_worse_than_a_random_one():
    """VAT's point: at the same norm, the adversarial direction changes the prediction more than a random one."""
    from seqsent.training.semi_supervised import kl_from_logits

    model = semi_model()
    for _ in range(20):  # a little training, so the prediction depends on the input
        model.train_step(batch())
    ids = batch()[0][1]
    embedded, mask = model.embed(ids, training=False)
    clean = model.logits(embedded, mask, training=False)
    step = 0.1 * scale_l2(tf.random.normal(tf.shape(embedded), seed=5), mask, 1.0)
    with tf.GradientTape() as tape:
        tape.watch(step)
        divergence = kl_from_logits(clean, model.logits(embedded + step, mask, training=False), True)
    adversarial = scale_l2(tape.gradient(divergence, step), mask, 1.0)
    random = scale_l2(tf.random.normal(tf.shape(embedded), seed=6), mask, 1.0)
    moved = [float(kl_from_logits(clean, model.logits(embedded + r, mask, training=False), True))
             for r in (adversarial, random)]
    assert moved[0] > moved[1] > 0, moved


def test_baking_leaves_the_plain_classifier_computing_what_the_wrapper_computed():
    model = semi_model()
    model.train_step(batch())
    ids = batch()[0][0]
    wrapped = model(ids, training=False).numpy()
    classifier = model.bake()
    np.testing.assert_allclose(classifier(ids, training=False).numpy(), wrapped, rtol=1e-5, atol=1e-6)


def test_vat_under_a_one_worker_multi_worker_strategy_in_a_fresh_process(tmp_path):
    """MultiWorkerMirroredStrategy must exist before TensorFlow runs an op: a new process, as `seqsent train`."""
    script = """
import json, sys
import numpy as np
from seqsent.training.strategy import set_tf_config, start_distribution
set_tf_config(sys.argv[1])
distribution, _ = start_distribution("multi-worker")
import keras, tensorflow as tf
from test_semi_supervised import batch, semi_model
from seqsent.training.multi_worker import keras_multi_worker_fixes
with distribution.strategy.scope():
    model = semi_model()
(labelled, unlabelled), labels = batch()
data = tf.data.Dataset.from_tensor_slices(((labelled, unlabelled), labels)).batch(4)
with keras_multi_worker_fixes(distribution.strategy):
    history = model.fit(data, epochs=2, verbose=0)
print(json.dumps({"strategy": distribution.describe(), "loss": history.history["loss"],
                  "vat": history.history["vat"]}))
"""
    from test_distribute import run_as_one_worker

    facts = run_as_one_worker(script, tmp_path, timeout=180)
    assert facts["strategy"] == "MultiWorkerMirroredStrategy, 1 replica"
    assert all(np.isfinite(facts["loss"])) and all(v > 0 for v in facts["vat"])


@pytest.fixture
def vat_run(tmp_path):
    from seqsent.data import load_dataset

    write_csv(tmp_path / "reviews.csv", tiny_texts(("good", "bad"), per_class=16))
    (tmp_path / "unlabelled.txt").write_text("\n".join(t for t, _ in tiny_texts(("good", "bad"), per_class=20, seed=9)))

    def config(name: str):
        run = tiny_run_config(tmp_path / "reviews.csv", name=name, output_dir=str(tmp_path / "models"),
                              runs_dir=str(tmp_path / "runs"))
        run.train.batch_size, run.train.epochs, run.train.patience = 8, 3, 3
        run.semi.unlabelled = [str(tmp_path / "unlabelled.txt")]
        run.semi.vat = run.semi.adversarial = True
        return run.validate()

    dataset = load_dataset(config("x").data)
    from seqsent.data.unlabelled import read_unlabelled_sources

    dataset.unlabelled, _ = read_unlabelled_sources(config("x").semi.unlabelled, dataset.test.texts)
    return config, dataset


def test_a_resumed_vat_run_equals_an_uninterrupted_one(vat_run, tmp_path):
    from test_resume import CrashAfterEpoch

    from seqsent.training.trainer import fit

    config, dataset = vat_run
    whole = fit(config("w"), dataset, tmp_path / "whole", verbose=0)
    with pytest.raises(RuntimeError, match="simulated crash"):
        fit(config("w"), dataset, tmp_path / "crashed", verbose=0, extra_callbacks=(CrashAfterEpoch(1),))
    resumed = fit(config("w"), dataset, tmp_path / "crashed", verbose=0)
    assert resumed.resumed_from_epoch == 1 and len(resumed.history["loss"]) == 3
    for key in ("loss", "vat", "adversarial", "val_loss"):
        assert resumed.history[key] == pytest.approx(whole.history[key], rel=1e-5, abs=1e-6), key
    for a, b in zip(resumed.classifier.get_weights(), whole.classifier.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_a_vat_model_exports_the_plain_classifier_and_serves_in_tensorflow_alone(vat_run, tmp_path):
    """No training-only op in the export: a process without Keras or seqsent serves it."""
    from test_serving import PYTHON_ONLY_OPS, serve_in_fresh_tensorflow_process

    from seqsent.api import train
    from seqsent.serving.inference import load_model

    config, dataset = vat_run
    report = train(config("served"), verbose=0, dataset=dataset)
    assert report.history["vat"] and report.test_metrics["examples"] == len(dataset.test)
    saved = json.loads((report.export_dir / "assets.extra" / "seqsent.json").read_text())
    assert saved["config"]["semi"]["vat"] is True
    texts = ["a great film", "", "awful and boring"]
    served = serve_in_fresh_tensorflow_process(tmp_path, [report.export_dir], texts)
    assert served["modules"] == [] and not served["keras_importable"]
    model = served["models"][str(report.export_dir)]
    assert model["not_registered"] == [] and not set(model["graph_ops"] + model["library_ops"]) & PYTHON_ONLY_OPS
    np.testing.assert_allclose(model["probabilities"], load_model(report.export_dir).predict_proba(texts), atol=1e-5)


@pytest.mark.parametrize("from_unlabelled", [False, True])
def test_unlabelled_vocabulary_gives_ids_to_words_only_unlabelled_texts_have(tmp_path, from_unlabelled):
    from seqsent.data import load_dataset
    from seqsent.training.inputs import encode_splits

    write_csv(tmp_path / "reviews.csv", tiny_texts(("good", "bad"), per_class=16))
    config = tiny_run_config(tmp_path / "reviews.csv")
    config.semi.unlabelled = [str(tmp_path / "unlabelled.txt")]
    config.semi.unlabelled_vocabulary = from_unlabelled
    config.semi.vat = not from_unlabelled  # --unlabelled needs a use
    dataset = load_dataset(config.validate().data)
    dataset.unlabelled = ["a splendiferous film", "splendiferous indeed"]
    vocabulary = encode_splits(config, dataset).features.vocabulary
    assert ("splendiferous" in vocabulary) is from_unlabelled
    assert "film" in vocabulary
