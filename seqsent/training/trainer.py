"""Fit a classifier inside a tf.distribute strategy and return the string-in model.

One code path for every strategy: Keras `fit`, with the checkpoint callback that makes a
run resumable (checkpoints.py) and, under MultiWorkerMirroredStrategy, two corrections to
Keras (multi_worker.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from seqsent.config import RunConfig
from seqsent.data import Dataset
from seqsent.errors import TrainingError, UsageError
from seqsent.models import build_classifier, build_features, build_text_model
from seqsent.training.callbacks import make_callbacks
from seqsent.training.backup import restore
from seqsent.training.multi_worker import keras_multi_worker_fixes
from seqsent.training.pipeline import encode_texts, evaluation_dataset, training_dataset
from seqsent.training.strategy import Distribution, cudnn_blockers, set_numeric_policy, start_distribution


@dataclass
class FitResult:
    text_model: keras.Model
    history: dict[str, list[float]]
    """Every epoch of the run, those restored from a backup included."""
    strategy: str
    global_batch_size: int
    vocabulary_size: int
    parameters: int
    seconds: float
    """Training time of this process (restored epochs not included)."""
    numeric_policy: str
    per_replica_batch_size: int = 0
    replicas: int = 1
    resumed_from_epoch: int = 0
    """Epochs restored from the backup instead of trained (0: a fresh start)."""
    jit_compile: bool = False
    warnings: list[str] = field(default_factory=list)
    classifier: keras.Model | None = None
    """The trained classifier inside text_model (classifier input -> probabilities)."""


@dataclass
class EncodedSplits:
    """The feature step learned on train and the train and validation splits run through it, once."""
    vectorizer: keras.layers.Layer
    second_step: keras.layers.Layer
    """Truncation (recurrent archs) or weighting (baselines)."""
    train: tf.RaggedTensor | tf.SparseTensor
    validation: tf.RaggedTensor | tf.SparseTensor


def encode_splits(config: RunConfig, dataset: Dataset, features=None) -> EncodedSplits:
    """Learn the arch's feature step on train (or take `features`, a (vectorizer, second step) pair) and
    encode train and validation with it; models that share a feature step share this too."""
    vectorizer, second_step = features or build_features(config.model.arch, config.text, dataset.train.texts,
                                                         dataset.train.labels)
    return EncodedSplits(vectorizer, second_step, encode_texts(dataset.train.texts, vectorizer, second_step),
                         encode_texts(dataset.validation.texts, vectorizer, second_step))


def fit(config: RunConfig, dataset: Dataset, work_dir: Path, verbose: int = 1, extra_callbacks: tuple = (), *,
        distribution: Distribution | None = None, notify=None) -> FitResult:
    """Train on dataset.train, early-stop on dataset.validation; the backup and best weights live in work_dir.

    A backup in work_dir/backup (from a run that crashed) is resumed. `extra_callbacks` run after
    the run's own (e.g. to time epochs). `distribution` defaults to config.train.strategy;
    `notify(message)` hears warnings and the resume notice as they happen.
    With --wide-training separate, an NBSVM and the recurrent models are trained (see ensemble.py), one returned.
    """
    notify = notify or (lambda message: None)
    warnings: list[str] = []
    if distribution is None:
        distribution, warnings = start_distribution(config.train.strategy)
    if config.model.wide_ngrams and config.model.wide_training == "separate":
        from seqsent.training.ensemble import fit_separate_wide

        return fit_separate_wide(config, dataset, work_dir, verbose, extra_callbacks, distribution=distribution,
                                 notify=notify, warnings=warnings)
    return fit_one(config, dataset, work_dir, verbose, extra_callbacks, distribution=distribution, notify=notify,
                   warnings=warnings)


def fit_one(config: RunConfig, dataset: Dataset, work_dir: Path, verbose: int = 1, extra_callbacks: tuple = (), *,
            distribution: Distribution, notify, warnings: list[str], encoded: EncodedSplits | None = None
            ) -> FitResult:
    """fit() of one model; `encoded` (from encode_splits) replaces learning and running the arch's feature step."""
    warnings = list(warnings)
    if config.model.arch == "nbsvm" and dataset.num_classes != 2:
        raise UsageError(f"--arch nbsvm needs two classes (its naive Bayes ratio compares one with the other); "
                         f"the data has {dataset.num_classes}: use --arch ngram")
    keras.utils.set_random_seed(config.train.seed)
    policy, policy_warnings = set_numeric_policy(config.train.mixed_precision, distribution)
    warnings += policy_warnings
    strategy = distribution.strategy
    global_batch = config.train.batch_size * distribution.replicas
    padding = config.train.padding
    if distribution.name == "tpu" and padding != "fixed":
        warnings.append(f"--padding {padding} gives batches of many shapes, and a TPU compiles a program for each: "
                        "--padding fixed gives one")

    # Strings -> classifier input: token ids (recurrent archs) or sparse bags of words (baselines).
    encoded = encoded or encode_splits(config, dataset)
    vectorizer, truncation, train_ids = encoded.vectorizer, encoded.second_step, encoded.train
    vocab_size = vectorizer.vocabulary_size()
    val_ds = evaluation_dataset(
        encoded.validation, dataset.validation.labels,
        dataset.num_classes, batch_size=global_batch, padding=padding, max_length=config.text.sequence_length,
    )

    with strategy.scope():
        classifier = build_classifier(config.model, vocab_size, dataset.num_classes, seed=config.train.seed)
        optimizer = keras.optimizers.Adam(config.train.learning_rate, clipnorm=config.train.clipnorm or None)
        loss = "binary_crossentropy" if dataset.num_classes == 2 else "sparse_categorical_crossentropy"
        # Under mixed_float16 Keras wraps the optimizer in a LossScaleOptimizer.
        classifier.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"], jit_compile=config.train.jit_compile)
        classifier.optimizer.build(classifier.trainable_variables)  # so that a backup can be loaded into it
    if config.train.jit_compile and not classifier.jit_compile:
        warnings.append("--jit-compile: Keras cannot compile this model with XLA (on a GPU, the cuDNN LSTM/GRU "
                        "kernels are not XLA ops); training without XLA")
    if tf.config.list_logical_devices("GPU"):
        warnings += [f"cuDNN: {problem}" for problem in cudnn_blockers(classifier)]
    for warning in warnings:
        notify(f"Warning: {warning}")

    work_dir.mkdir(parents=True, exist_ok=True)
    state = restore(classifier, work_dir / "backup", distribution)
    resumed_from = state.epoch
    if resumed_from:
        where = f"the backup in {work_dir / 'backup'}" if distribution.is_chief else "the chief's backup"
        notify(f"Resuming from {where}: epochs 1-{resumed_from} of "
               f"{config.train.epochs} are done"
               + (" and early stopping had ended training" if state.stopped else "")
               + " (--restart starts over)")
    callbacks, nan_guard, checkpoint = make_callbacks(config.train, work_dir, state)
    epochs_left = range(state.epoch, config.train.epochs) if not state.stopped else range(0)
    started = time.perf_counter()
    if epochs_left:
        train_ds = training_dataset(
            train_ids, dataset.train.labels, dataset.num_classes, batch_size=global_batch,
            max_length=config.text.sequence_length, padding=padding, seed=config.train.seed, epochs=epochs_left,
        )
        steps_per_epoch = int(train_ds.cardinality()) // len(epochs_left)
        with keras_multi_worker_fixes(strategy):
            classifier.fit(train_ds, validation_data=val_ds, epochs=config.train.epochs, initial_epoch=state.epoch,
                           steps_per_epoch=steps_per_epoch, callbacks=callbacks + list(extra_callbacks),
                           verbose=verbose, shuffle=False)
    else:
        checkpoint.set_model(classifier)
        checkpoint.restore_best()
    seconds = time.perf_counter() - started
    if nan_guard.bad_batch is not None:
        raise TrainingError(
            f"training stopped: the loss became NaN/inf at {nan_guard.where or f'batch {nan_guard.bad_batch}'}; "
            f"try a lower --learning-rate (now {config.train.learning_rate}) or keep --clipnorm on"
        )
    if distribution.name != "default" or policy != "float32":
        classifier = _portable_copy(classifier)
    text_model = build_text_model(vectorizer, truncation, classifier)
    return FitResult(
        text_model=text_model,
        history=checkpoint.state.history,
        strategy=distribution.describe(),
        global_batch_size=global_batch,
        vocabulary_size=vocab_size,
        parameters=int(np.sum([np.prod(w.shape) for w in classifier.trainable_weights])),
        seconds=seconds,
        numeric_policy=policy,
        per_replica_batch_size=config.train.batch_size,
        replicas=distribution.replicas,
        resumed_from_epoch=resumed_from,
        jit_compile=bool(classifier.jit_compile),
        warnings=warnings,
        classifier=classifier,
    )


def _portable_copy(classifier: keras.Model) -> keras.Model:
    """The trained weights in a float32 model outside any strategy: what is exported and served.

    Whatever the training hardware did (mixed precision, replicas, workers), the export computes
    in float32 on any device; the variables were float32 all along. Every worker makes the copy
    (reading distributed variables may take part in collective ops), only the chief exports it.
    """
    weights = classifier.get_weights()
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("float32")  # for layers whose config names no policy (the input)
    try:
        copy = classifier.__class__.from_config(_float32_policies(classifier.get_config()))
    finally:
        keras.mixed_precision.set_global_policy(previous)
    copy.set_weights(weights)
    if getattr(classifier, "embeddings_note", None):  # what pretrained embeddings covered (seqsent.models)
        copy.embeddings_note = classifier.embeddings_note
    return copy


def _float32_policies(config):
    """A model config with every mixed-precision dtype policy replaced by float32."""
    if isinstance(config, dict):
        if config.get("class_name") == "DTypePolicy" and str(config.get("config", {}).get("name", "")).startswith("mixed_"):
            return {**config, "config": {**config["config"], "name": "float32"}}
        return {key: _float32_policies(value) for key, value in config.items()}
    if isinstance(config, list):
        return [_float32_policies(value) for value in config]
    return config
