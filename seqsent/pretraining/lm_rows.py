"""The rows a language model learns from (`seqsent pretrain-lm`).

Every text's token ids concatenated into one stream, cut into rows of `window` + 1 tokens (inputs: the
first `window`, targets: the next token at each step): no padding, one static shape. Each row starts
from a zero state, as the classifier starts each review. Rows are shuffled per epoch with a seed keyed
by the epoch, so a run resumed after a crash sees what it would have seen.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from seqsent.training.pipeline import epoch_seed, over_epochs



def token_stream(ids: tf.RaggedTensor) -> np.ndarray:
    """Every text's token ids, one after the other (padding removed), as one int32 array."""
    return ids.flat_values.numpy().astype(np.int32)


def stream_rows(stream: np.ndarray, window: int) -> np.ndarray:
    """A stream of token ids -> rows [n, window + 1], consecutive rows sharing one token (the last target is the
    next row's first input)."""
    n = (len(stream) - 1) // window
    return stream[(np.arange(n) * window)[:, None] + np.arange(window + 1)[None, :]]


def training_rows(rows: np.ndarray, batch_size: int, seed: int, epochs: range) -> tf.data.Dataset:
    """The batches of `epochs`, each epoch's rows in an order keyed by (seed, epoch); full batches only."""
    per_epoch = len(rows) // batch_size
    if per_epoch < 1:
        raise ValueError(f"{len(rows)} rows: fewer than one batch of {batch_size}")
    examples = tf.data.Dataset.from_tensor_slices(rows)

    def one_epoch(epoch):
        shuffled = examples.shuffle(len(rows), seed=epoch_seed(seed, epoch), reshuffle_each_iteration=False)
        return shuffled.batch(batch_size, drop_remainder=True)

    return over_epochs(epochs, one_epoch, per_epoch).prefetch(tf.data.AUTOTUNE)


def heldout_rows(rows: np.ndarray, batch_size: int) -> tf.data.Dataset:
    return tf.data.Dataset.from_tensor_slices(rows).batch(batch_size).prefetch(tf.data.AUTOTUNE)
