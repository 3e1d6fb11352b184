"""Layers Keras lacks: pooling over time that respects the padding mask, and word dropout."""

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

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}
