"""Bag-of-words baselines, built with the same Keras machinery as the recurrent archs.

Like a recurrent arch, a baseline is a feature step (two layers: strings -> classifier input)
and a classifier; the trainer, the tf.data pipeline and the exported string-in model treat
both the same way (see seqsent.models.build_features).

| arch  | features (TextVectorization over seqsent.text.standardize_text) | classifier |
|-------|------------------------------------------------------------------|------------|
| bow   | multi-hot unigrams: which words occur                            | linear     |
| tfidf | unigram counts times inverse document frequency                  | linear     |
| ngram | counts of unigrams and bigrams                                   | linear     |

"Linear" is logistic regression (softmax regression for more classes); `--head-units N`
adds a ReLU layer of N units, followed by `--head-dropout`. The vocabulary (`--max-tokens`,
n-grams included) is learned on the train split only. Texts are not truncated: a bag has no
order to truncate by. Features are sparse (a review touches a few hundred of 20,000 slots),
so the pipeline caches sparse rows and the first Dense layer multiplies sparse by dense.

Example:

    vectorizer, weighting = adapt_bag_features("tfidf", TextConfig(), train_texts)
    classifier = build_baseline_classifier(ModelConfig(arch="tfidf"), vectorizer.vocabulary_size(), 2)
    text_model = build_text_model(vectorizer, weighting, classifier)  # raw strings in
"""

from __future__ import annotations

from typing import Iterable

import keras
import numpy as np
import tensorflow as tf

from seqsent.config import ModelConfig, TextConfig
from seqsent.text import standardize_text

# arch -> (TextVectorization output_mode, ngrams); tfidf counts are weighted by IDFWeighting.
BAG_FEATURES = {
    "bow": ("multi_hot", None),
    "tfidf": ("count", None),
    "ngram": ("count", (1, 2)),
}


@keras.saving.register_keras_serializable(package="seqsent")
class IDFWeighting(keras.layers.Layer):
    """Term counts [batch, vocabulary] (sparse or dense) times inverse document frequency: TF-IDF.

    Keras 3.15's TextVectorization(output_mode="tf_idf", sparse=True) fails when called
    (it multiplies a SparseTensor by the idf vector), so the weighting is this separate,
    non-trainable step, with Keras' formula idf = log(1 + documents / (1 + document frequency)).
    """

    def __init__(self, size: int, **kwargs):
        super().__init__(**kwargs)
        self.size = int(size)
        self.idf = self.add_weight(shape=(self.size,), initializer="ones", trainable=False, name="idf")

    def call(self, counts):
        if isinstance(counts, tf.SparseTensor):
            weights = tf.gather(tf.convert_to_tensor(self.idf), counts.indices[:, -1])
            return tf.SparseTensor(counts.indices, tf.cast(counts.values, weights.dtype) * weights, counts.dense_shape)
        return tf.cast(counts, self.idf.dtype) * self.idf

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "size": self.size}


def _bag_vectorizer(output_mode: str, ngrams, config: TextConfig, vocabulary=None) -> keras.layers.TextVectorization:
    return keras.layers.TextVectorization(
        max_tokens=config.max_tokens,
        standardize=standardize_text,
        split="whitespace",
        ngrams=ngrams,
        output_mode=output_mode,
        vocabulary=vocabulary,
        sparse=True,
        name="vectorizer",
    )


def adapt_bag_features(arch: str, config: TextConfig, train_texts: Iterable[str]):
    """The feature step of a baseline, learned on the train split: (vectorizer, weighting) layers."""
    output_mode, ngrams = BAG_FEATURES[arch]
    train_texts = list(train_texts)
    vectorizer = _bag_vectorizer(output_mode, ngrams, config)
    vectorizer.adapt(tf.data.Dataset.from_tensor_slices(tf.constant(train_texts, dtype=tf.string)).batch(1024))
    if arch != "tfidf":
        return vectorizer, keras.layers.Identity(name="no_weighting")
    size = vectorizer.vocabulary_size()
    document_frequency = np.zeros(size, dtype=np.int64)
    for start in range(0, len(train_texts), 1024):
        counts = vectorizer(tf.constant(train_texts[start : start + 1024], dtype=tf.string))
        # One sparse entry per (text, term) present: the column histogram is the document frequency.
        document_frequency += np.bincount(counts.indices[:, -1].numpy(), minlength=size)
    weighting = IDFWeighting(size, name="idf_weighting")
    weighting.idf.assign(np.log1p(len(train_texts) / (1.0 + document_frequency)).astype("float32"))
    return vectorizer, weighting


def build_baseline_classifier(config: ModelConfig, vocab_size: int, num_classes: int, seed: int = 1337) -> keras.Model:
    """Bag-of-words features [batch, vocab_size] (sparse) -> class probabilities."""
    features = keras.Input(shape=(vocab_size,), sparse=True, name="features")
    x = features
    if config.head_units:
        x = keras.layers.Dense(config.head_units, activation="relu", name="head_dense",
                               kernel_initializer=keras.initializers.GlorotUniform(seed=seed))(x)
        if config.head_dropout:
            x = keras.layers.Dropout(config.head_dropout, seed=seed, name="head_dropout")(x)
    units, activation = (1, "sigmoid") if num_classes == 2 else (num_classes, "softmax")
    outputs = keras.layers.Dense(units, activation=activation, dtype="float32", name="probabilities",
                                 kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 1))(x)
    return keras.Model(features, outputs, name=f"{config.arch}_classifier")
