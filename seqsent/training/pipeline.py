"""tf.data input pipelines: texts are vectorised once, then batched by length.

Vectorising in the pipeline (not in the trained model) keeps string ops off the
training step; bucketing reviews of similar length keeps padding, and so wasted
recurrent steps, small.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

ENCODE_CHUNK = 1024


def encode_texts(texts: list[str], vectorizer, truncation) -> tf.RaggedTensor | tf.SparseTensor:
    """Token ids per text, padding stripped, with the same layers the exported model uses.

    Baseline archs' layers make sparse bag-of-words rows instead, kept sparse.
    """
    chunks = []
    for start in range(0, len(texts), ENCODE_CHUNK):
        batch = tf.constant(texts[start : start + ENCODE_CHUNK], dtype=tf.string)
        encoded = truncation(vectorizer(batch))
        chunks.append(encoded if isinstance(encoded, tf.SparseTensor) else tf.RaggedTensor.from_tensor(encoded, padding=0))
    if isinstance(chunks[0], tf.SparseTensor):
        return tf.sparse.concat(0, chunks)
    return tf.concat(chunks, axis=0)


def _labels_for(labels: np.ndarray, num_classes: int) -> np.ndarray:
    # Sigmoid head: float targets of shape [n, 1]; softmax head: integer class ids.
    if num_classes == 2:
        return labels.astype("float32").reshape(-1, 1)
    return labels.astype("int64")


def _bucket_boundaries(max_length: int) -> list[int]:
    edges, edge = [], 32
    while edge < max_length:
        edges.append(edge)
        edge = int(edge * 1.4) + 1
    return edges


def _at_least_one_step(ids, labels):
    return tf.pad(ids, [[0, 0], [0, tf.maximum(1 - tf.shape(ids)[1], 0)]]), labels


def _slices(ids: tf.RaggedTensor, labels: np.ndarray) -> tf.data.Dataset:
    """One (1-D ids, label) element per text, as plain tensors (padded_batch refuses ragged elements)."""
    values, splits = ids.flat_values, ids.row_splits
    labels = tf.constant(labels)
    return tf.data.Dataset.range(len(labels)).map(
        lambda i: (values[splits[i] : splits[i + 1]], labels[i]), num_parallel_calls=tf.data.AUTOTUNE
    )


def _bag_dataset(features: tf.SparseTensor, labels: np.ndarray, num_classes: int, batch_size: int,
                 seed: int | None = None) -> tf.data.Dataset:
    """Sparse bag-of-words rows (baseline archs): no lengths, so no bucketing; shuffled when seeded."""
    ds = tf.data.Dataset.from_tensor_slices((features, _labels_for(labels, num_classes))).cache()
    if seed is not None:
        ds = ds.shuffle(len(labels), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size).with_options(_options()).prefetch(tf.data.AUTOTUNE)


def _options() -> tf.data.Options:
    options = tf.data.Options()
    # Multi-worker runs shard by example: the data is one in-memory tensor, not files.
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return options


def training_dataset(ids: tf.RaggedTensor, labels: np.ndarray, num_classes: int, *, batch_size: int,
                     max_length: int, bucket: bool, seed: int) -> tf.data.Dataset:
    """Shuffled each epoch (seeded); batches of similar length when `bucket`."""
    if isinstance(ids, tf.SparseTensor):
        return _bag_dataset(ids, labels, num_classes, batch_size, seed)
    ds = _slices(ids, _labels_for(labels, num_classes)).cache()
    ds = ds.shuffle(len(labels), seed=seed, reshuffle_each_iteration=True)
    if bucket:
        boundaries = _bucket_boundaries(max_length)
        ds = ds.bucket_by_sequence_length(
            element_length_func=lambda x, y: tf.shape(x)[0],
            bucket_boundaries=boundaries,
            bucket_batch_sizes=[batch_size] * (len(boundaries) + 1),
        )
        # Bucket sizes are the same every epoch, so is the batch count: tell Keras (progress bar total).
        bucket_of = np.searchsorted(boundaries, ids.row_lengths().numpy(), side="right")
        n_batches = int(sum(-(-count // batch_size) for count in np.bincount(bucket_of)))
        ds = ds.apply(tf.data.experimental.assert_cardinality(n_batches))
    else:
        ds = ds.padded_batch(batch_size)
    return ds.map(_at_least_one_step).with_options(_options()).prefetch(tf.data.AUTOTUNE)


def evaluation_dataset(ids: tf.RaggedTensor, labels: np.ndarray, num_classes: int, *, batch_size: int) -> tf.data.Dataset:
    """Sorted by length so batches hold little padding; order does not matter for a loss."""
    if isinstance(ids, tf.SparseTensor):
        return _bag_dataset(ids, labels, num_classes, batch_size)
    order = np.argsort(ids.row_lengths().numpy(), kind="stable")
    ids = tf.gather(ids, order)
    ds = _slices(ids, _labels_for(labels[order], num_classes))
    return ds.cache().padded_batch(batch_size).map(_at_least_one_step).with_options(_options()).prefetch(tf.data.AUTOTUNE)
