"""Fit one classifier inside a tf.distribute strategy and return the string-in model.

One code path for every strategy: Keras `fit`, with the checkpoint callback that makes a
run resumable (backup.py) and, under MultiWorkerMirroredStrategy, two corrections to
Keras (multi_worker.py). `fit_one` reads as its steps: encode, build, restore, train, check.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from seqsent.config import BASELINE_ARCHS, RunConfig
from seqsent.data import Dataset
from seqsent.errors import TrainingError, UsageError
from seqsent.layout import BACKUP_DIR
from seqsent.data.streaming import StreamingDataset
from seqsent.models import Features, build_classifier, build_text_model, pretrained_embeddings
from seqsent.models.recurrent import cudnn_blockers
from seqsent.progress import first_epochs
from seqsent.training.backup import TrainingState, restore
from seqsent.training.callbacks import CtrlCBetweenSteps, make_callbacks
from seqsent.training.multi_worker import keras_multi_worker_fixes
from seqsent.training.optimizer import make_optimizer, pretrained_variable_paths
from seqsent.training.inputs import EncodedSplits, Inputs, prepare_inputs
from seqsent.training.strategy import Distribution, set_numeric_policy


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
    notes: list[str] = field(default_factory=list)
    """What the run did that a user should hear about (e.g. how much of the vocabulary --embeddings covered)."""
    classifier: keras.Model | None = None
    """The trained classifier inside text_model (classifier input -> probabilities)."""
    member_histories: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    """An ensemble's (--wide-training separate): every model's history, by its name in the run (1-nbsvm,
    2-recurrent, ...), as its TensorBoard logs are named; `history` is the first recurrent model's."""


def fit_one(config: RunConfig, dataset: Dataset | StreamingDataset, work_dir: Path, verbose: int = 1,
            extra_callbacks: tuple = (), *, distribution: Distribution, notify, warnings: list[str],
            encoded: Inputs | None = None) -> FitResult:
    """Train one classifier on the train split, early-stopping on validation; its backup lives in work_dir.

    `encoded` (from prepare_inputs) replaces learning and running the arch's feature step.
    """
    check_arch_fits_classes(config, dataset)
    keras.utils.set_random_seed(config.train.seed)
    policy, policy_warnings = set_numeric_policy(config.train.mixed_precision, distribution)
    warnings = list(warnings) + policy_warnings + _padding_warnings(config, distribution)
    encoded = encoded or prepare_inputs(config, dataset, notify)
    classifier, notes = _build_classifier(config, dataset.num_classes, encoded.features, distribution)
    model = _compile(classifier, config, dataset.num_classes, encoded, distribution)
    warnings += _compile_warnings(config, model)
    for warning in warnings:
        notify(f"Warning: {warning}")
    work_dir.mkdir(parents=True, exist_ok=True)
    state = restore(model, work_dir / BACKUP_DIR, distribution, config.train.epochs)
    _announce_resume(state, config, work_dir, distribution, notify)
    resumed_from = state.epoch  # the checkpoint callback moves state.epoch on as epochs finish
    started = time.perf_counter()
    history = _train_remaining_epochs(model, config, encoded, state, work_dir, distribution, verbose,
                                      extra_callbacks)
    seconds = time.perf_counter() - started
    if model is not classifier:
        classifier = model.bake()  # the plain classifier, embeddings normalised in place: no training-only op
    if distribution.name != "default" or policy != "float32":
        classifier = _portable_copy(classifier)
    global_batch = config.train.batch_size * distribution.replicas
    return FitResult(
        text_model=build_text_model(*encoded.features, classifier), history=history,
        strategy=distribution.describe(), global_batch_size=global_batch,
        vocabulary_size=encoded.features.vocabulary_size,
        parameters=int(np.sum([np.prod(w.shape) for w in classifier.trainable_weights])),
        seconds=seconds, numeric_policy=policy, per_replica_batch_size=config.train.batch_size,
        replicas=distribution.replicas, resumed_from_epoch=resumed_from,
        jit_compile=bool(model.jit_compile), warnings=warnings, notes=notes, classifier=classifier,
    )


def check_arch_fits_classes(config: RunConfig, dataset: Dataset) -> None:
    """Data an arch cannot learn from, refused before training (compare checks every arch with it up front)."""
    if config.model.arch == "nbsvm" and dataset.num_classes != 2:
        raise UsageError(f"--arch nbsvm needs two classes (its naive Bayes ratio compares one with the other); "
                         f"the data has {dataset.num_classes}: use --arch ngram")


def _padding_warnings(config: RunConfig, distribution: Distribution) -> list[str]:
    padding = config.train.padding
    if distribution.name == "tpu" and padding != "fixed":
        return [f"--padding {padding} gives batches of many shapes, and a TPU compiles a program for each: "
                "--padding fixed gives one"]
    return []


def _build_classifier(config: RunConfig, num_classes: int, features: Features, distribution: Distribution
                      ) -> tuple[keras.Model, list[str]]:
    """The classifier, built in the strategy's scope from the weights it starts from, and notes on those."""
    vectors = pretrained_embeddings(config.model, features.vocabulary, seed=config.train.seed)
    with distribution.strategy.scope():
        classifier = build_classifier(config.model, features.vocabulary_size, num_classes, seed=config.train.seed,
                                      initial_embeddings=vectors.matrix if vectors else None)
    notes = [vectors.describe()] if vectors else []
    if config.model.encoder_path:
        from seqsent.models.encoder import initialise_from_encoder, read_encoder

        notes.append(initialise_from_encoder(classifier, read_encoder(config.model.encoder_path)))
    return classifier, notes


def _compile(classifier: keras.Model, config: RunConfig, num_classes: int, encoded: Inputs,
             distribution: Distribution) -> keras.Model:
    """The model `fit` trains: the classifier, or (--vat, --adversarial, --entropy-weight) a
    SemiSupervisedClassifier around it, compiled in the strategy's scope with its optimizer built."""
    # XLA has no kernels for the sparse ops of a bag of words (SparseFillEmptyRows): those train without it.
    jit_compile = config.train.jit_compile and config.model.arch not in BASELINE_ARCHS
    with distribution.strategy.scope():
        optimizer = make_optimizer(config.train, pretrained_variable_paths(classifier, config.model))
        # Under mixed_float16 Keras wraps the optimizer in a LossScaleOptimizer.
        if config.semi.active:
            model = _semi_supervised(classifier, config, encoded)
            model.compile(optimizer=optimizer, jit_compile=jit_compile)
        else:
            model = classifier
            loss = "binary_crossentropy" if num_classes == 2 else "sparse_categorical_crossentropy"
            model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"], jit_compile=jit_compile)
        model.optimizer.build(model.trainable_variables)  # so that a backup can be loaded into it
    return model


def _semi_supervised(classifier: keras.Model, config: RunConfig, encoded: EncodedSplits):
    from seqsent.training.semi_supervised import SemiSupervisedClassifier, token_frequencies

    semi = config.semi
    ids = encoded.train if encoded.unlabelled is None else tf.concat([encoded.train, encoded.unlabelled], axis=0)
    return SemiSupervisedClassifier(classifier, token_frequencies(ids, encoded.features.vocabulary_size),
                                    vat_epsilon=semi.vat_epsilon if semi.vat else 0.0,
                                    adversarial_epsilon=semi.adversarial_epsilon if semi.adversarial else 0.0,
                                    entropy_weight=semi.entropy_weight, seed=config.train.seed + 4)


def _compile_warnings(config: RunConfig, classifier: keras.Model) -> list[str]:
    warnings = []
    if config.train.jit_compile and config.model.arch in BASELINE_ARCHS:
        warnings.append(f"--jit-compile: XLA cannot compile --arch {config.model.arch}'s sparse bag of words; "
                        "training without XLA")
    elif config.train.jit_compile and not classifier.jit_compile:
        warnings.append("--jit-compile: Keras cannot compile this model with XLA (on a GPU, the cuDNN LSTM/GRU "
                        "kernels are not XLA ops); training without XLA")
    if tf.config.list_logical_devices("GPU"):
        warnings += [f"cuDNN: {problem}" for problem in cudnn_blockers(classifier)]
    return warnings


def _announce_resume(state: TrainingState, config: RunConfig, work_dir: Path, distribution: Distribution,
                     notify) -> None:
    if not state.epoch:
        return
    where = f"the backup in {work_dir / BACKUP_DIR}" if distribution.is_chief else "the chief's backup"
    notify(f"Resuming from {where}: {first_epochs(state.epoch)} of {config.train.epochs} "
           f"{'is' if state.epoch == 1 else 'are'} done"
           + (" and early stopping had ended training" if state.stopped else "") + " (--restart starts over)")


def _train_remaining_epochs(classifier: keras.Model, config: RunConfig, inputs: Inputs, state: TrainingState,
                            work_dir: Path, distribution: Distribution, verbose: int,
                            extra_callbacks: tuple) -> dict[str, list[float]]:
    """Keras fit over the epochs the backup has not done; leaves the best epoch's weights; returns the history."""
    callbacks, nan_guard, checkpoint = make_callbacks(config.train.patience, work_dir, state)
    epochs_left = range(state.epoch, config.train.epochs) if not state.stopped else range(0)
    if not epochs_left:
        checkpoint.set_model(classifier)
        checkpoint.restore_best()
        return checkpoint.state.history
    train_ds, steps_per_epoch = inputs.training_data(config, epochs_left, distribution)
    with keras_multi_worker_fixes(distribution.strategy), CtrlCBetweenSteps() as ctrl_c:
        classifier.fit(train_ds, validation_data=inputs.validation_data(config, distribution), epochs=config.train.epochs,
                       initial_epoch=state.epoch, steps_per_epoch=steps_per_epoch,
                       callbacks=[*callbacks, ctrl_c, *extra_callbacks], verbose=verbose, shuffle=False)
    if nan_guard.bad_batch is not None:
        raise TrainingError(
            f"training stopped: the loss became NaN/inf at {nan_guard.where or f'batch {nan_guard.bad_batch}'}; "
            f"try a lower --learning-rate (now {config.train.learning_rate}) or keep --clipnorm on")
    return checkpoint.state.history


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
