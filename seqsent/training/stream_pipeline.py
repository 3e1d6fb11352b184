"""tf.data pipelines over streamed shards: rows are read, shuffled, vectorised and batched on the fly.

The train stream is an endless sequence of passes over the train shards; pass p reads the shards in
an order keyed by (seed, p) and shuffles rows in a bounded buffer seeded by (seed, p), so the stream
is the same on every run. An epoch is `steps_per_epoch` batches of it (by default one pass: the row
count divided by the batch size); a run resumed at epoch e skips the first e epochs' batches, reading
but not training on them, and then sees exactly what an uninterrupted run saw.

Batches are sorted by length within windows of SORT_WINDOW_BATCHES batches (as the in-memory
pipeline does), so recurrent layers compute little padding; baselines' sparse bags need no sorting.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow as tf

from seqsent.data.streaming import StreamingDataset
from seqsent.training.pipeline import SORT_WINDOW_BATCHES, epoch_seed

VECTORISE_BATCH = 256
READERS_AT_ONCE = 4


def training_stream(data: StreamingDataset, features, *, shards: list[Path], num_classes: int, batch_size: int,
                    seed: int, shuffle_buffer: int, steps_per_epoch: int, first_epoch: int, sort: bool = True
                    ) -> tf.data.Dataset:
    """Training batches from epoch `first_epoch` on (the earlier epochs' batches are read and skipped)."""
    shard_names = tf.constant([str(p) for p in shards])

    def one_pass(number):
        order = tf.argsort(tf.random.stateless_uniform([len(shards)], seed=tf.stack([epoch_seed(seed, number),
                                                                                     tf.constant(3, tf.int64)])))
        files = tf.data.Dataset.from_tensor_slices(tf.gather(shard_names, order))
        rows = files.interleave(lambda path: _shard_rows(data, path), cycle_length=min(READERS_AT_ONCE, len(shards)))
        rows = rows.shuffle(shuffle_buffer, seed=epoch_seed(seed, number), reshuffle_each_iteration=False)
        return _batches(rows, features, num_classes, batch_size, sort, seed=epoch_seed(seed, number) + 1)

    stream = tf.data.Dataset.range(2**62).flat_map(one_pass)
    stream = stream.skip(first_epoch * steps_per_epoch)
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF  # sharded by file
    return stream.with_options(options).prefetch(tf.data.AUTOTUNE)


def _shard_rows(data: StreamingDataset, path):
    signature = (tf.TensorSpec((), tf.string), tf.TensorSpec((), tf.int64))
    return tf.data.Dataset.from_generator(lambda p: data.rows("train", [Path(p.decode())]), output_signature=signature,
                                          args=(path,))


def _batches(rows: tf.data.Dataset, features, num_classes: int, batch_size: int, sort: bool, seed):
    """Rows -> (classifier input, targets) batches: token ids sorted by length within windows, or sparse bags."""
    vectorizer, transform = features
    targets = (lambda y: tf.reshape(tf.cast(y, tf.float32), [-1, 1])) if num_classes == 2 else (lambda y: y)
    if not sort:  # bag-of-words baselines: a sparse row per text, nothing to sort
        return rows.batch(batch_size).map(lambda text, y: (transform(vectorizer(text)), targets(y)))
    window = batch_size * SORT_WINDOW_BATCHES

    def encode(text, y):
        return tf.RaggedTensor.from_tensor(transform(vectorizer(text)), padding=0), y

    def sorted_batches(ids, y):
        order = tf.argsort(ids.row_lengths(), stable=True)
        ids, y = tf.gather(ids, order), tf.gather(y, order)
        count = tf.cast(tf.math.ceil(tf.shape(y, out_type=tf.int64)[0] / batch_size), tf.int64)
        return tf.data.Dataset.range(count).map(
            lambda b: (_at_least_one_step(ids[b * batch_size : (b + 1) * batch_size].to_tensor()),
                       targets(y[b * batch_size : (b + 1) * batch_size])))

    encoded = rows.batch(VECTORISE_BATCH).map(encode).unbatch()
    windows = encoded.ragged_batch(window).flat_map(sorted_batches)
    return windows.shuffle(SORT_WINDOW_BATCHES, seed=seed, reshuffle_each_iteration=False)


def _at_least_one_step(ids):
    return tf.pad(ids, [[0, 0], [0, tf.maximum(1 - tf.shape(ids)[1], 0)]])


def validation_texts(data: StreamingDataset) -> tuple[list[str], np.ndarray]:
    """The validation split, cut at --stream-validation-rows rows, held in memory (read once)."""
    texts, labels = [], []
    for chunk_texts, chunk_labels in data.chunks("validation", limit=data.config.stream_validation_rows):
        texts += chunk_texts
        labels += chunk_labels
    return texts, np.asarray(labels, dtype=np.int64)
