"""What a fit reads: the feature step and the train and validation batches, from memory or from streamed shards.

Both kinds answer the same three questions for `fit_one`: the features (vectoriser and transform, the
same layers the exported model holds), the training batches of the epochs left with their number per
epoch, and the validation batches.

- EncodedSplits (data that fits in memory): every split vectorised once, then batched by length.
- StreamInputs (seqsent.data.streaming): the vocabulary learned from a bounded sample, rows read,
  shuffled and vectorised on the fly; with several workers, each reads only its own shards.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import tensorflow as tf

from seqsent.config import RunConfig
from seqsent.data import Dataset
from seqsent.data.streaming import StreamingDataset
from seqsent.errors import DataError, UsageError
from seqsent.models import Features, build_features
from seqsent.training.pipeline import encode_texts, evaluation_dataset, training_dataset, with_unlabelled


class Inputs(Protocol):
    features: Features
    unlabelled: tf.RaggedTensor | None

    def training_data(self, config: RunConfig, epochs: range, distribution) -> tuple[object, int]:
        """(training batches of `epochs`, batches per epoch)."""

    def validation_data(self, config: RunConfig, distribution) -> tf.data.Dataset:
        """The validation batches."""


@dataclass
class EncodedSplits:
    """The feature step learned on train (or taken from an encoder) and the splits run through it, once."""

    features: Features
    train: tf.RaggedTensor | tf.SparseTensor
    validation: tf.RaggedTensor | tf.SparseTensor
    train_labels: np.ndarray
    validation_labels: np.ndarray
    num_classes: int
    unlabelled: tf.RaggedTensor | None = None
    """The dataset's unlabelled texts (for --vat / --entropy-weight), when the run uses them."""

    def training_data(self, config: RunConfig, epochs: range, distribution):
        global_batch = config.train.batch_size * distribution.replicas
        data = training_dataset(self.train, self.train_labels, self.num_classes, batch_size=global_batch,
                                max_length=config.text.sequence_length, padding=config.train.padding,
                                seed=config.train.seed, epochs=epochs)
        if self.unlabelled is not None:
            data = with_unlabelled(data, self.unlabelled, batch_size=global_batch, seed=config.train.seed,
                                   epochs=epochs)
        return data, int(data.cardinality()) // len(epochs)

    def validation_data(self, config: RunConfig, distribution):
        return evaluation_dataset(self.validation, self.validation_labels, self.num_classes,
                                  batch_size=config.train.batch_size * distribution.replicas,
                                  padding=config.train.padding, max_length=config.text.sequence_length)


def encode_splits(config: RunConfig, dataset: Dataset, features: Features | None = None,
                  notify=None) -> EncodedSplits:
    """Learn the arch's feature step on train (or take `features`, or an --encoder's vocabulary) and encode
    train, validation (and the unlabelled texts a semi-supervised run uses); models sharing a feature step share
    this too."""
    features = features or _encoder_features(config)
    if features is None:
        features = _learn_features(config, dataset, notify)
    uses_unlabelled = config.semi.vat or config.semi.entropy_weight > 0
    return EncodedSplits(features, encode_texts(dataset.train.texts, *features, notify),
                         encode_texts(dataset.validation.texts, *features), dataset.train.labels,
                         dataset.validation.labels, dataset.num_classes,
                         encode_texts(dataset.unlabelled, *features, notify) if uses_unlabelled else None)


def _learn_features(config: RunConfig, dataset: Dataset, notify=None) -> Features:
    """The arch's feature step learned on train, plus (--unlabelled-vocabulary) the unlabelled texts, whose words
    then get ids although no labelled text has them; the test split is never read."""
    texts, labels, source = dataset.train.texts, dataset.train.labels, f"{len(dataset.train):,} train texts"
    if config.semi.unlabelled_vocabulary:  # recurrent archs only: their vocabulary needs no labels
        texts, labels = list(dataset.train.texts) + list(dataset.unlabelled), None
        source += f" and {len(dataset.unlabelled):,} unlabelled texts (--unlabelled-vocabulary)"
    if notify is not None:
        notify(f"Learning the vocabulary (up to {config.text.max_tokens:,} terms) from {source}")
    return build_features(config.model.arch, config.text, texts, labels)


def _encoder_features(config: RunConfig) -> Features | None:
    if not config.model.encoder_path:
        return None
    from seqsent.models.encoder import encoder_features, read_encoder

    return encoder_features(read_encoder(config.model.encoder_path), config.text)


@dataclass
class StreamInputs:
    """Streamed shards: nothing held but the vocabulary sample's counts and the (capped) validation split."""

    data: StreamingDataset
    features: Features
    validation: tf.RaggedTensor | tf.SparseTensor
    validation_labels: np.ndarray
    unlabelled: None = None

    def training_data(self, config: RunConfig, epochs: range, distribution):
        from seqsent.training.stream_pipeline import training_stream

        global_batch = config.train.batch_size * distribution.replicas
        steps = config.train.steps_per_epoch or math.ceil(self.data.counts["train"] / global_batch)
        shards = self.data.shards["train"]

        def stream(shard_list, batch_size):
            return training_stream(self.data, self.features, shards=shard_list, num_classes=self.data.num_classes,
                                   batch_size=batch_size, seed=config.train.seed,
                                   shuffle_buffer=config.data.shuffle_buffer, steps_per_epoch=steps,
                                   first_epoch=epochs.start, sort=config.model.arch not in _BAG_ARCHS)

        if distribution.num_workers <= 1:
            return stream(shards, global_batch), steps
        if len(shards) < distribution.num_workers:
            raise UsageError(f"{len(shards)} shard(s) for {distribution.num_workers} workers: each worker reads its "
                             "own shards, so give at least as many shards as workers (`seqsent prepare --shards N`)")

        def per_worker(context):
            own = shards[context.input_pipeline_id::context.num_input_pipelines]
            return stream(own, context.get_per_replica_batch_size(global_batch))

        return distribution.strategy.distribute_datasets_from_function(per_worker), steps

    def validation_data(self, config: RunConfig, distribution):
        return evaluation_dataset(self.validation, self.validation_labels, self.data.num_classes,
                                  batch_size=config.train.batch_size * distribution.replicas,
                                  padding=config.train.padding, max_length=config.text.sequence_length)


_BAG_ARCHS = ("bow", "tfidf", "ngram", "bm25", "nbsvm")


def stream_inputs(config: RunConfig, data: StreamingDataset, notify) -> StreamInputs:
    """The bounded passes before training: the vocabulary sample and the validation split."""
    from seqsent.training.stream_pipeline import validation_texts

    sample = list(data.interleaved_rows("train", config.data.vocabulary_sample, purpose="vocabulary"))
    if not sample:
        raise DataError(f"--data {config.data.source}: the train split has no rows")
    notify(f"Vocabulary learned from the first {len(sample):,} train texts of the shards (--vocabulary-sample)")
    features = _encoder_features(config) or build_features(config.model.arch, config.text, [t for t, _ in sample],
                                                           np.asarray([y for _, y in sample]))
    del sample
    texts, labels = validation_texts(data)
    if not texts:
        fix = ("raise --validation-fraction" if data.hashed
               else "run `seqsent prepare` again with a larger --validation-fraction (or more rows)")
        raise DataError(f"--data {config.data.source}: the validation split has no rows; {fix}")
    return StreamInputs(data, features, encode_texts(texts, *features), labels)


def prepare_inputs(config: RunConfig, dataset, notify) -> Inputs:
    if isinstance(dataset, StreamingDataset):
        return stream_inputs(config, dataset, notify or (lambda message: None))
    return encode_splits(config, dataset, notify=notify)
