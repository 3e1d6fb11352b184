"""Fit a classifier inside a tf.distribute strategy and return the string-in model."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from seqsent.config import RunConfig
from seqsent.data import Dataset
from seqsent.errors import TrainingError
from seqsent.models import build_classifier, build_features, build_text_model
from seqsent.training.callbacks import make_callbacks
from seqsent.training.pipeline import encode_texts, evaluation_dataset, training_dataset
from seqsent.training.strategy import describe, select_strategy, set_numeric_policy


@dataclass
class FitResult:
    text_model: keras.Model
    history: dict[str, list[float]]
    strategy: str
    global_batch_size: int
    vocabulary_size: int
    parameters: int
    seconds: float
    numeric_policy: str


def fit(config: RunConfig, dataset: Dataset, work_dir: Path, verbose: int = 1,
        extra_callbacks: tuple = ()) -> FitResult:
    """Train on dataset.train, early-stop on dataset.validation; checkpoints live in work_dir.

    `extra_callbacks` run after the run's own (e.g. to time epochs).
    """
    keras.utils.set_random_seed(config.train.seed)
    policy = set_numeric_policy(config.train)
    strategy = select_strategy(config.train.strategy)
    global_batch = config.train.batch_size * strategy.num_replicas_in_sync

    # Strings -> classifier input: token ids (recurrent archs) or sparse bags of words (baselines).
    vectorizer, truncation = build_features(config.model.arch, config.text, dataset.train.texts)
    vocab_size = vectorizer.vocabulary_size()
    train_ds = training_dataset(
        encode_texts(dataset.train.texts, vectorizer, truncation), dataset.train.labels, dataset.num_classes,
        batch_size=global_batch, max_length=config.text.sequence_length,
        bucket=config.train.bucket_by_length, seed=config.train.seed,
    )
    val_ds = evaluation_dataset(
        encode_texts(dataset.validation.texts, vectorizer, truncation), dataset.validation.labels,
        dataset.num_classes, batch_size=global_batch,
    )

    with strategy.scope():
        classifier = build_classifier(config.model, vocab_size, dataset.num_classes, seed=config.train.seed)
        optimizer = keras.optimizers.Adam(config.train.learning_rate, clipnorm=config.train.clipnorm or None)
        loss = "binary_crossentropy" if dataset.num_classes == 2 else "sparse_categorical_crossentropy"
        classifier.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"])

    work_dir.mkdir(parents=True, exist_ok=True)
    callbacks, nan_guard = make_callbacks(config.train, work_dir)
    started = time.perf_counter()
    history = classifier.fit(train_ds, validation_data=val_ds, epochs=config.train.epochs,
                             callbacks=callbacks + list(extra_callbacks), verbose=verbose, shuffle=False)
    seconds = time.perf_counter() - started
    if nan_guard.bad_batch is not None:
        raise TrainingError(
            f"training stopped: the loss became NaN/inf at {nan_guard.where or f'batch {nan_guard.bad_batch}'}; "
            f"try a lower --learning-rate (now {config.train.learning_rate}) or keep --clipnorm on"
        )
    text_model = build_text_model(vectorizer, truncation, classifier)
    return FitResult(
        text_model=text_model,
        history={k: [float(v) for v in vals] for k, vals in history.history.items()},
        strategy=describe(strategy),
        global_batch_size=global_batch,
        vocabulary_size=vocab_size,
        parameters=int(np.sum([np.prod(w.shape) for w in classifier.trainable_weights])),
        seconds=seconds,
        numeric_policy=policy,
    )
