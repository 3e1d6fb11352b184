"""Pooling over time that respects the padding mask (Keras' GlobalMaxPooling1D ignores it)."""

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
