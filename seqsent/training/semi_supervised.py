"""Adversarial and virtual adversarial training (VAT) on word embeddings, inside Keras' `fit`.

Miyato, Dai & Goodfellow (2016), "Adversarial Training Methods for Semi-Supervised Text Classification":
a text's words are points in embedding space, so a small perturbation of its embeddings is a
well-defined "nearby text". Adversarial training (on labelled batches) adds the loss at the
perturbation of norm epsilon that increases the loss most (one gradient step); VAT (on unlabelled
batches) adds the KL divergence between the prediction at the text and at the perturbation that
changes the prediction most (one power iteration): a smoothness prior that needs no labels.

`SemiSupervisedClassifier` wraps a seqsent recurrent classifier (a chain: [token dropout], Embedding,
[spatial dropout], recurrent layers, [pooling], [dense head, dropout], output) and overrides
`train_step`, so `fit`, tf.distribute strategies, early stopping and the crash backup work unchanged.
Embeddings are normalised with the vocabulary's word frequencies (mean 0, variance 1, as Miyato et al.),
so the model cannot make a perturbation of fixed norm harmless by growing its embeddings; `bake()`
writes the normalised matrix into the Embedding at the end, so the exported model is the plain
classifier, with no training-only op.

Training elements are ((labelled ids [B, T], unlabelled ids [B', T']), labels); validation elements
are the classifier's own (ids, labels).
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

def scale_l2(x, mask, norm):
    """x [B, T, D] -> norm * x / ||x|| per example (L2 over time and channels), zero at padding.

    x is first divided by its largest absolute value (as Miyato et al.'s code), so tiny gradients do not underflow.
    """
    x = x * tf.cast(mask, x.dtype)[:, :, None]
    x = x / (tf.reduce_max(tf.abs(x), axis=[1, 2], keepdims=True) + 1e-12)
    return norm * x / tf.sqrt(tf.reduce_sum(tf.square(x), axis=[1, 2], keepdims=True) + 1e-6)


def kl_from_logits(p_logits, q_logits, binary: bool):
    """Mean over the batch of KL(p || q), both given as logits (a sigmoid output: Bernoulli; else categorical)."""
    if binary:
        p = tf.sigmoid(p_logits)
        kl = (p * (tf.math.log_sigmoid(p_logits) - tf.math.log_sigmoid(q_logits))
              + (1 - p) * (tf.math.log_sigmoid(-p_logits) - tf.math.log_sigmoid(-q_logits)))
    else:
        kl = tf.nn.softmax(p_logits) * (tf.nn.log_softmax(p_logits) - tf.nn.log_softmax(q_logits))
    return tf.reduce_mean(tf.reduce_sum(kl, axis=-1))


def entropy_from_logits(logits, binary: bool):
    """Mean entropy of the predicted distributions (in nats)."""
    if binary:
        p = tf.sigmoid(logits)
        entropy = -(p * tf.math.log_sigmoid(logits) + (1 - p) * tf.math.log_sigmoid(-logits))
    else:
        entropy = -tf.nn.softmax(logits) * tf.nn.log_softmax(logits)
    return tf.reduce_mean(tf.reduce_sum(entropy, axis=-1))


def cross_entropy_from_logits(labels, logits, binary: bool):
    if binary:
        return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.cast(labels, logits.dtype),
                                                                      logits=logits))
    return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels=tf.cast(tf.reshape(labels, [-1]), tf.int32), logits=logits))


def _takes_mask(layer) -> bool:
    """Whether a layer's call takes a padding mask (recurrent layers, masked pooling), as Keras would pass it."""
    import inspect

    return "mask" in inspect.signature(layer.call).parameters


def token_frequencies(ids: tf.RaggedTensor, vocabulary_size: int) -> np.ndarray:
    """Relative frequency of each id in `ids` (padding 0 excluded), for the embedding normalisation."""
    counts = np.bincount(ids.flat_values.numpy(), minlength=vocabulary_size)[:vocabulary_size].astype(np.float64)
    counts[0] = 0.0
    return counts / max(counts.sum(), 1.0)


class SemiSupervisedClassifier(keras.Model):
    """Trains `classifier` with its supervised loss plus adversarial and/or VAT losses (see the module docstring).

    frequencies: [vocabulary] relative word frequencies for the embedding normalisation (None: no normalisation).
    vat_epsilon, adversarial_epsilon: norms of the perturbations per text; 0 turns that loss off.
    xi: the power iteration's finite-difference step. entropy_weight: > 0 adds entropy minimisation on
    the unlabelled batch (Grandvalet & Bengio 2005), pushing its predictions away from 0.5.
    """

    def __init__(self, classifier: keras.Model, frequencies=None, vat_epsilon: float = 0.0,
                 adversarial_epsilon: float = 0.0, xi: float = 0.1, entropy_weight: float = 0.0, seed: int = 1337,
                 **kwargs):
        super().__init__(**kwargs)
        # VAT's random start, from a generator whose state is a variable: the crash backup keeps it, so a resumed
        # run draws what an uninterrupted one would have drawn.
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.classifier = classifier
        self.embedding = classifier.get_layer("embedding")
        names = [layer.name for layer in classifier.layers]
        self.token_dropout = classifier.get_layer("token_dropout") if "token_dropout" in names else None
        self.body = classifier.layers[names.index("embedding") + 1:-1]
        self.head = classifier.layers[-1]
        if not isinstance(self.head, keras.layers.Dense):
            raise ValueError("adversarial training needs a recurrent classifier whose output layer is Dense "
                             "(no wide branch)")
        self.binary = self.head.units == 1
        self.frequencies = None if frequencies is None else tf.constant(np.asarray(frequencies)[:, None], "float32")
        self.vat_epsilon, self.adversarial_epsilon = float(vat_epsilon), float(adversarial_epsilon)
        self.xi, self.entropy_weight = float(xi), float(entropy_weight)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in ("loss", "adversarial", "vat", "entropy")}
        self.accuracy = (keras.metrics.BinaryAccuracy(name="accuracy") if self.binary
                         else keras.metrics.SparseCategoricalAccuracy(name="accuracy"))
        self.built = True  # its weights are the (built) classifier's: a backup can be saved and loaded at once

    @property
    def metrics(self):
        return [*self.trackers.values(), self.accuracy]

    # ---------------------------------------------------------------- the classifier, split at its embeddings

    def embedding_matrix(self):
        """The Embedding matrix, normalised with the word frequencies (or as it is)."""
        matrix = self.embedding.embeddings
        if self.frequencies is None:
            return matrix
        mean = tf.reduce_sum(self.frequencies * matrix, axis=0, keepdims=True)
        variance = tf.reduce_sum(self.frequencies * tf.square(matrix - mean), axis=0, keepdims=True)
        return (matrix - mean) / tf.sqrt(variance + 1e-6)

    def embed(self, ids, training):
        if self.token_dropout is not None:
            ids = self.token_dropout(ids, training=training)
        return tf.gather(self.embedding_matrix(), ids), tf.not_equal(ids, 0)

    def logits(self, embedded, mask, training):
        """The classifier from its embeddings on, to the output layer's logits."""
        x = embedded
        for layer in self.body:
            if mask is not None and _takes_mask(layer):
                x = layer(x, mask=mask, training=training)
                if len(x.shape) == 2:
                    mask = None  # pooling (or a last-state layer) has ended the sequence
            else:
                x = layer(x, training=training)
        return tf.cast(tf.matmul(x, self.head.kernel) + self.head.bias, "float32")

    def call(self, ids, training=False):
        embedded, mask = self.embed(ids, training)
        logits = self.logits(embedded, mask, training)
        return tf.sigmoid(logits) if self.binary else tf.nn.softmax(logits)

    # ---------------------------------------------------------------- training

    def train_step(self, data):
        x, labels = data[0], data[1]
        labelled, unlabelled = x if isinstance(x, (tuple, list)) else (x, None)
        with tf.GradientTape() as tape:
            embedded, mask = self.embed(labelled, training=True)
            with tf.GradientTape() as inner:
                inner.watch(embedded)
                logits = self.logits(embedded, mask, training=True)
                supervised = cross_entropy_from_logits(labels, logits, self.binary)
            loss, adversarial, vat, entropy = supervised, 0.0, 0.0, 0.0
            if self.adversarial_epsilon:
                with tape.stop_recording():
                    direction = tf.stop_gradient(inner.gradient(supervised, embedded))
                perturbed = self.logits(embedded + scale_l2(direction, mask, self.adversarial_epsilon), mask, True)
                adversarial = cross_entropy_from_logits(labels, perturbed, self.binary)
                loss += adversarial
            if unlabelled is not None and (self.vat_epsilon or self.entropy_weight):
                vat, entropy = self._unlabelled_losses(unlabelled, tape)
                loss += vat + self.entropy_weight * entropy
            scaled = self.optimizer.scale_loss(loss)  # mixed precision: the loss-scale optimizer's scaling
        gradients = tape.gradient(scaled, self.trainable_variables)
        self.optimizer.apply(gradients, self.trainable_variables)
        for name, value in (("loss", loss), ("adversarial", adversarial), ("vat", vat), ("entropy", entropy)):
            self.trackers[name].update_state(value)
        self.accuracy.update_state(labels, tf.sigmoid(logits) if self.binary else tf.nn.softmax(logits))
        return {metric.name: metric.result() for metric in self.metrics}

    def _unlabelled_losses(self, ids, tape):
        """(VAT loss, entropy) on an unlabelled batch: KL(p(x) || p(x + r_vadv)) with r_vadv found by one power
        iteration from a random direction; p(x) is a fixed target (no gradient)."""
        embedded, mask = self.embed(ids, training=True)
        clean = tf.stop_gradient(self.logits(embedded, mask, training=True))
        vat = 0.0
        if self.vat_epsilon:
            with tape.stop_recording():  # the power iteration needs no gradient with respect to the weights
                fixed = tf.stop_gradient(embedded)
                noise = keras.random.normal(tf.shape(embedded), seed=self.seed_generator)
                step = self.xi * scale_l2(noise, mask, 1.0)
                with tf.GradientTape() as power:
                    power.watch(step)
                    divergence = kl_from_logits(clean, self.logits(fixed + step, mask, training=True), self.binary)
                direction = tf.stop_gradient(power.gradient(divergence, step))
            perturbed = self.logits(embedded + scale_l2(direction, mask, self.vat_epsilon), mask, training=True)
            vat = kl_from_logits(clean, perturbed, self.binary)
        entropy = entropy_from_logits(self.logits(embedded, mask, training=True), self.binary) \
            if self.entropy_weight else 0.0
        return vat, entropy

    def test_step(self, data):
        x, labels = data[0], data[1]
        ids = x[0] if isinstance(x, (tuple, list)) else x
        embedded, mask = self.embed(ids, training=False)
        logits = self.logits(embedded, mask, training=False)
        self.trackers["loss"].update_state(cross_entropy_from_logits(labels, logits, self.binary))
        self.accuracy.update_state(labels, tf.sigmoid(logits) if self.binary else tf.nn.softmax(logits))
        return {"loss": self.trackers["loss"].result(), "accuracy": self.accuracy.result()}

    def bake(self) -> keras.Model:
        """Write the normalised embeddings into the classifier's Embedding and return the classifier: it now
        computes what this model computed, with no VAT code (the normalisation is a function of the weights)."""
        if self.frequencies is not None:
            self.embedding.embeddings.assign(self.embedding_matrix())
            self.frequencies = None
        return self.classifier
