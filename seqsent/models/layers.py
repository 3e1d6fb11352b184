"""Layers Keras lacks: pooling over time that respects the padding mask, word dropout, n-grams, log-odds averaging."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="seqsent")
class MaskedGlobalPooling(keras.layers.Layer):
    """Max, mean or both over the unmasked time steps of [batch, time, features].

    A fully masked sequence (an empty text) pools to zeros rather than -inf or NaN.
    """

    def __init__(self, mode: str = "max-mean", **kwargs):
        super().__init__(**kwargs)
        if mode not in ("max", "mean", "max-mean"):
            raise ValueError(f"unknown pooling mode {mode!r}")
        self.mode = mode
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            mask = ops.ones(ops.shape(inputs)[:2], dtype="bool")
        weights = ops.expand_dims(ops.cast(mask, inputs.dtype), -1)
        count = ops.sum(weights, axis=1)
        pooled = []
        if self.mode in ("max", "max-mean"):
            lowest = ops.cast(-1e4 if inputs.dtype == "float16" else -1e9, inputs.dtype)
            masked = ops.where(weights > 0, inputs, lowest)
            pooled.append(ops.where(count > 0, ops.max(masked, axis=1), ops.zeros_like(count)))
        if self.mode in ("mean", "max-mean"):
            pooled.append(ops.sum(inputs * weights, axis=1) / ops.maximum(count, 1.0))
        return pooled[0] if len(pooled) == 1 else ops.concatenate(pooled, axis=-1)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        features = input_shape[-1] * (2 if self.mode == "max-mean" else 1)
        return (input_shape[0], features)

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


OOV_ID = 1  # TextVectorization: 0 is padding, 1 the out-of-vocabulary token


@keras.saving.register_keras_serializable(package="seqsent")
class TokenDropout(keras.layers.Layer):
    """During training, replace a random share of tokens by the out-of-vocabulary id.

    Word dropout (Iyyer et al. 2015): the model learns not to lean on single rare words,
    such as names of movies seen in training, and sees OOV tokens in contexts like those of
    unseen test data. Padding stays padding; at inference this layer does nothing.
    """

    def __init__(self, rate: float, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.rate = float(rate)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, ids, training=None):
        if not training or self.rate <= 0:
            return ids
        drop = keras.random.uniform(ops.shape(ids), seed=self.seed_generator) < self.rate
        return ops.where(ops.logical_and(drop, ids > 0), ops.cast(OOV_ID, ids.dtype), ids)

    def compute_output_shape(self, input_shape):
        return input_shape

    def compute_output_spec(self, ids, training=None):
        return keras.KerasTensor(ids.shape, dtype=ids.dtype)  # ids stay ids (Keras' default would say float32)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


@keras.saving.register_keras_serializable(package="seqsent")
class HashedNgrams(keras.layers.Layer):
    """Token ids [batch, time] (0 = padding) -> ids of their 1..`ngrams`-grams [batch, time * ngrams] (0 = none).

    Unigram id i stays i; an n-gram (n >= 2) of non-padding ids is hashed into one of `buckets` slots placed
    after the vocabulary (vocab_size + slot), so an Embedding of vocab_size + buckets rows gives every
    n-gram a weight: the wide (bag of n-grams) branch of a wide-and-deep model. Core integer ops only.
    """

    def __init__(self, ngrams: int, buckets: int, vocab_size: int, **kwargs):
        super().__init__(**kwargs)
        self.ngrams = int(ngrams)
        self.buckets = int(buckets)
        self.vocab_size = int(vocab_size)

    def call(self, ids):
        ids = ops.cast(ids, "int64")
        grams = [ids]
        hashed = ids
        valid = ids > 0
        for n in range(2, self.ngrams + 1):
            # Polynomial hash of the n ids ending at each step; below 2**40 (ids < 2**31), so * 1000003 fits int64.
            nxt = ids[:, n - 1:]
            hashed = ops.mod(hashed[:, :-1] * 1000003 + nxt, 1099511627689)
            valid = ops.logical_and(valid[:, :-1], nxt > 0)
            slot = self.vocab_size + ops.mod(hashed, self.buckets)
            gram = ops.where(valid, slot, ops.zeros_like(slot))
            # Back to `time` steps: n - 1 fewer n-grams than tokens, none at all in a text shorter than n.
            missing = ops.minimum(n - 1, ops.shape(ids)[1])
            grams.append(ops.pad(gram, [[0, 0], [0, missing]]))
        return ops.concatenate(grams, axis=1)

    def compute_output_shape(self, input_shape):
        time = input_shape[1]
        return (input_shape[0], None if time is None else time * self.ngrams)

    def compute_output_spec(self, ids):
        return keras.KerasTensor(self.compute_output_shape(ids.shape), dtype="int64")

    def get_config(self):
        return {**super().get_config(), "ngrams": self.ngrams, "buckets": self.buckets, "vocab_size": self.vocab_size}


@keras.saving.register_keras_serializable(package="seqsent")
class MaskedSum(keras.layers.Layer):
    """Sum over the unmasked steps of [batch, time, features]; an empty text gives zeros.

    Over per-n-gram weights this is a linear model of n-gram counts, as the `ngram` baseline's
    Dense layer over its count vector. (Dividing by the length instead, as a mean does, would
    shrink the wide logits so that Adam's fixed-size steps move them tens of times more slowly.)
    """

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def call(self, inputs, mask=None):
        if mask is None:
            return ops.sum(inputs, axis=1)
        return ops.sum(inputs * ops.expand_dims(ops.cast(mask, inputs.dtype), -1), axis=1)

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])


@keras.saving.register_keras_serializable(package="seqsent")
class WeightedLogOdds(keras.layers.Layer):
    """Models' positive-class probabilities, each [batch, 1] -> sigmoid(sum_i weights[i] * logit(p_i)).

    Averaging log-odds rather than probabilities lets a confident model outvote an unsure one, as
    multiplying the models' likelihood ratios does. The weights are fixed (chosen on validation), not trained.
    """

    def __init__(self, weights=(0.5, 0.5), **kwargs):
        super().__init__(**kwargs)
        weights = [float(w) for w in weights]
        if len(weights) < 2 or min(weights) < 0.0 or abs(sum(weights) - 1.0) > 1e-6:
            raise ValueError(f"weights must be two or more non-negative numbers summing to 1, not {weights}")
        self.model_weights = weights

    def call(self, inputs):
        if len(inputs) != len(self.model_weights):
            raise ValueError(f"expected {len(self.model_weights)} inputs, got {len(inputs)}")
        return ops.sigmoid(sum(w * _logit(ops.cast(p, "float32")) for w, p in zip(self.model_weights, inputs)))

    def compute_output_shape(self, input_shapes):
        return input_shapes[0]

    def get_config(self):
        return {**super().get_config(), "weights": self.model_weights}


def _logit(probability, epsilon: float = 1e-7):
    probability = ops.clip(probability, epsilon, 1.0 - epsilon)
    return ops.log(probability) - ops.log1p(-probability)
