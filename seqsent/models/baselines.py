"""Bag-of-words baselines, built with the same Keras machinery as the recurrent archs.

Like a recurrent arch, a baseline is a feature step (two layers: strings -> classifier input)
and a classifier; the trainer, the tf.data pipeline and the exported string-in model treat
both the same way (see seqsent.models.build_features).

| arch  | features (TextVectorization over seqsent.text.standardize_text) | classifier |
|-------|------------------------------------------------------------------|------------|
| bow   | multi-hot unigrams: which words occur                            | linear     |
| tfidf | unigram counts times inverse document frequency                  | linear     |
| ngram | counts of unigrams and bigrams                                   | linear     |
| bm25  | unigram counts saturated (k1 = 1.2) and length-normalised (b = 0.75), times BM25's idf | linear |
| nbsvm | which 1-, 2- and 3-grams occur, times their naive Bayes log-count ratio | linear |

nbsvm is Wang & Manning's (2012) NBSVM with a logistic loss instead of the SVM's hinge (as in
Mesnil et al. 2014): the ratio r = log(p/|p|) - log(q/|q|), where p and q are the smoothed
(+1) document counts of each n-gram in positive and negative train texts, scales the features,
so that the linear model starts from what naive Bayes knows. Two classes only.

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
from seqsent.models.recurrent import classification_head
from seqsent.text import check_vocabulary, standardize_text

# arch -> (TextVectorization output_mode, ngrams); tfidf counts are weighted by IDFWeighting.
BAG_FEATURES = {
    "bow": ("multi_hot", None),
    "tfidf": ("count", None),
    "ngram": ("count", (1, 2)),
    "bm25": ("count", None),
    "nbsvm": ("multi_hot", (1, 2, 3)),
}


@keras.saving.register_keras_serializable(package="seqsent")
class TermWeighting(keras.layers.Layer):
    """Term features [batch, vocabulary] (sparse or dense) times a fixed weight per term.

    Keras 3.15's TextVectorization(output_mode="tf_idf", sparse=True) fails when called
    (it multiplies a SparseTensor by the idf vector), so weighting is this separate,
    non-trainable step, learned once from the train split.
    """

    def __init__(self, size: int, **kwargs):
        super().__init__(**kwargs)
        self.size = int(size)
        self.term_weights = self.add_weight(shape=(self.size,), initializer="ones", trainable=False, name="weights")

    def call(self, counts):
        if isinstance(counts, tf.SparseTensor):
            weights = tf.gather(tf.convert_to_tensor(self.term_weights), counts.indices[:, -1])
            return tf.SparseTensor(counts.indices, tf.cast(counts.values, weights.dtype) * weights, counts.dense_shape)
        return tf.cast(counts, self.term_weights.dtype) * self.term_weights

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "size": self.size}


@keras.saving.register_keras_serializable(package="seqsent")
class IDFWeighting(TermWeighting):
    """Counts times inverse document frequency (TF-IDF), with Keras' idf = log(1 + documents / (1 + df))."""


@keras.saving.register_keras_serializable(package="seqsent")
class BM25Weighting(keras.layers.Layer):
    """Term counts [batch, vocabulary] (sparse or dense) -> Okapi BM25 term weights (Robertson & Zaragoza 2009).

    weight(t, d) = idf(t) * tf * (k1 + 1) / (tf + k1 * (1 - b + b * |d| / avgdl)): a count saturates (k1) and
    long texts are discounted (b), which TF-IDF does neither of. idf(t) = log(1 + (N - df + 0.5) / (df + 0.5))
    and avgdl (the mean text length in tokens, OOV included) are learned once from the train split.
    """

    def __init__(self, size: int, k1: float = 1.2, b: float = 0.75, **kwargs):
        super().__init__(**kwargs)
        self.size, self.k1, self.b = int(size), float(k1), float(b)
        self.idf = self.add_weight(shape=(self.size,), initializer="ones", trainable=False, name="idf")
        self.average_length = self.add_weight(shape=(), initializer="ones", trainable=False, name="average_length")

    def _saturate(self, counts, lengths):
        norm = self.k1 * (1.0 - self.b + self.b * lengths / tf.maximum(tf.convert_to_tensor(self.average_length), 1e-6))
        return counts * (self.k1 + 1.0) / (counts + norm)

    def call(self, counts):
        idf = tf.convert_to_tensor(self.idf)
        if isinstance(counts, tf.SparseTensor):
            values = tf.cast(counts.values, idf.dtype)
            rows = counts.indices[:, 0]
            lengths = tf.math.unsorted_segment_sum(values, rows, tf.cast(counts.dense_shape[0], tf.int32))
            weighted = self._saturate(values, tf.gather(lengths, rows)) * tf.gather(idf, counts.indices[:, -1])
            return tf.SparseTensor(counts.indices, weighted, counts.dense_shape)
        counts = tf.cast(counts, idf.dtype)
        return self._saturate(counts, tf.reduce_sum(counts, axis=1, keepdims=True)) * idf

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "size": self.size, "k1": self.k1, "b": self.b}


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


def adapt_bag_features(arch: str, config: TextConfig, train_texts: Iterable[str], train_labels=None, ngrams=None):
    """The feature step of a baseline, learned on the train split: (vectorizer, weighting) layers.

    nbsvm needs the train labels (0/1) for its log-count ratios. `ngrams` overrides the arch's n-gram order.
    """
    output_mode, default_ngrams = BAG_FEATURES[arch]
    ngrams = tuple(range(1, ngrams + 1)) if ngrams else default_ngrams
    train_texts = list(train_texts)
    vectorizer = _bag_vectorizer(output_mode, ngrams, config)
    vectorizer.adapt(tf.data.Dataset.from_tensor_slices(tf.constant(train_texts, dtype=tf.string)).batch(1024))
    check_vocabulary(vectorizer)
    if arch == "tfidf":
        document_frequency = _document_frequency(vectorizer, train_texts)
        weighting = IDFWeighting(len(document_frequency), name="idf_weighting")
        weighting.term_weights.assign(np.log1p(len(train_texts) / (1.0 + document_frequency)).astype("float32"))
        return vectorizer, weighting
    if arch == "bm25":
        return vectorizer, _bm25_weighting(vectorizer, train_texts)
    if arch == "nbsvm":
        weighting = TermWeighting(vectorizer.vocabulary_size(), name="nb_weighting")
        weighting.term_weights.assign(log_count_ratio(vectorizer, train_texts, train_labels))
        return vectorizer, weighting
    return vectorizer, keras.layers.Identity(name="no_weighting")


def _bm25_weighting(vectorizer, train_texts: list[str]) -> BM25Weighting:
    """BM25's idf and the mean text length, from the train split."""
    document_frequency = _document_frequency(vectorizer, train_texts)
    total = 0.0
    for start in range(0, len(train_texts), 1024):
        total += float(tf.sparse.reduce_sum(vectorizer(tf.constant(train_texts[start : start + 1024], dtype=tf.string))))
    weighting = BM25Weighting(len(document_frequency), name="bm25_weighting")
    n = len(train_texts)
    weighting.idf.assign(np.log1p((n - document_frequency + 0.5) / (document_frequency + 0.5)).astype("float32"))
    weighting.average_length.assign(total / max(n, 1))
    return weighting


def _document_frequency(vectorizer, texts: list[str], groups: np.ndarray | None = None) -> np.ndarray:
    """How many texts contain each term: [vocabulary], or [groups, vocabulary] by each text's group id
    (0, 1, ...), counted in one pass over the texts."""
    size = vectorizer.vocabulary_size()
    group_count = 1 if groups is None else int(np.max(groups)) + 1
    frequency = np.zeros(group_count * size, dtype=np.int64)
    for start in range(0, len(texts), 1024):
        counts = vectorizer(tf.constant(texts[start : start + 1024], dtype=tf.string))
        # One sparse entry per (text, term) present: the column histogram is the document frequency.
        columns = counts.indices[:, -1].numpy()
        if groups is not None:
            columns = columns + size * groups[start : start + 1024][counts.indices[:, 0].numpy()]
        frequency += np.bincount(columns, minlength=group_count * size)
    return frequency if groups is None else frequency.reshape(group_count, size)


def log_count_ratio(vectorizer, texts: list[str], labels, alpha: float = 1.0) -> np.ndarray:
    """Naive Bayes log-count ratio of each term, log(p/|p|1) - log(q/|q|1) (Wang & Manning 2012)."""
    labels = np.asarray(labels if labels is not None else [])
    if labels.shape != (len(texts),) or set(np.unique(labels)) - {0, 1}:
        raise ValueError("nbsvm needs two classes (its naive Bayes ratio compares one with the other)")
    frequency = _document_frequency(vectorizer, texts, labels.astype(np.int64))
    negative = alpha + frequency[0]
    positive = alpha + (frequency[1] if len(frequency) > 1 else 0)
    return (np.log(positive / positive.sum()) - np.log(negative / negative.sum())).astype("float32")


def build_baseline_classifier(config: ModelConfig, vocab_size: int, num_classes: int, seed: int = 1337) -> keras.Model:
    """Bag-of-words features [batch, vocab_size] (sparse) -> class probabilities."""
    features = keras.Input(shape=(vocab_size,), sparse=True, name="features")
    outputs = classification_head(features, num_classes, config, seed, dropout_on_inputs=False)
    return keras.Model(features, outputs, name=f"{config.arch}_classifier")
