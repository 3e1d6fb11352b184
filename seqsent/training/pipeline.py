"""tf.data input pipelines: texts are vectorised once, then batched by length.

Vectorising in the pipeline (not in the trained model) keeps string ops off the
training step; bucketing reviews of similar length keeps padding, and so wasted
recurrent steps, small.

Padding (--padding): `bucket` batches reviews of similar length (padded to the longest in
the batch): each epoch's shuffled order is cut into windows of SORT_WINDOW_BATCHES batches, each
window sorted by length and cut into batches, and the batches shuffled (the "sort within windows"
bucketing of NMT toolkits: nearly no padding, every batch full, any length its own bucket);
`batch` pads each batch of randomly drawn reviews to its longest; `fixed` pads every batch to
the sequence length (one static shape, as accelerators that compile one program per shape
want, and the usual baseline).

Training order is a function of (seed, epoch): epoch e is shuffled with its own seed, so a run
resumed at epoch e sees the batches an uninterrupted run would have seen.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

ENCODE_CHUNK = 1024
# Batches per sorted window (--padding bucket): more is less padding, fewer is more randomness in what
# shares a batch. 32 x 64 reviews of IMDB leave about 1% of the cells padding.
SORT_WINDOW_BATCHES = 32


def encode_texts(texts: list[str], vectorizer, truncation, notify=None) -> tf.RaggedTensor | tf.SparseTensor:
    """Token ids per text, padding stripped, with the same layers the exported model uses.

    Baseline archs' layers make sparse bag-of-words rows instead, kept sparse.
    """
    from seqsent.progress import Ticker

    chunks = []
    ticker = Ticker(notify, "Vectorising", total=len(texts), unit="texts")
    for start in range(0, len(texts), ENCODE_CHUNK):
        ticker.update(start)
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


def _at_least_one_step(ids, labels):
    return tf.pad(ids, [[0, 0], [0, tf.maximum(1 - tf.shape(ids)[1], 0)]]), labels


def _slices(ids: tf.RaggedTensor, labels: np.ndarray) -> tf.data.Dataset:
    """One (1-D ids, label) element per text, as plain tensors (padded_batch refuses ragged elements)."""
    values, splits = ids.flat_values, ids.row_splits
    labels = tf.constant(labels)
    return tf.data.Dataset.range(len(labels)).map(
        lambda i: (values[splits[i] : splits[i + 1]], labels[i]), num_parallel_calls=tf.data.AUTOTUNE
    )


def _bag_examples(features: tf.SparseTensor, labels: np.ndarray, num_classes: int) -> tf.data.Dataset:
    """Sparse bag-of-words rows (baseline archs): no lengths, so no bucketing."""
    return tf.data.Dataset.from_tensor_slices((features, _labels_for(labels, num_classes))).cache()


def epoch_seed(seed: int, epoch):
    """A shuffle seed per (run seed, epoch); `epoch` is a tensor inside the dataset graph."""
    return tf.constant(seed, tf.int64) * 1_000_003 + tf.cast(epoch, tf.int64)


def over_epochs(epochs: range, one_epoch, batches_per_epoch: int) -> tf.data.Dataset:
    """The batches of `epochs` in order, with the total count Keras needs for steps_per_epoch."""
    ds = tf.data.Dataset.from_tensor_slices(tf.constant(list(epochs), tf.int64)).flat_map(one_epoch)
    return ds.apply(tf.data.experimental.assert_cardinality(batches_per_epoch * len(epochs)))


def _options() -> tf.data.Options:
    options = tf.data.Options()
    # Multi-worker runs shard by example: the data is one in-memory tensor, not files.
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return options


def training_dataset(ids, labels: np.ndarray, num_classes: int, *, batch_size: int, max_length: int, seed: int,
                     padding: str = "bucket", epochs: range = range(1)) -> tf.data.Dataset:
    """The training batches of `epochs` (numbered from 0), each epoch shuffled with its own seed.

    The cardinality is batches per epoch x len(epochs): pass steps_per_epoch = cardinality / len(epochs).
    """
    if not len(epochs):
        raise ValueError("no epochs to train")
    n = len(labels)
    if isinstance(ids, tf.SparseTensor):
        examples = _bag_examples(ids, labels, num_classes)
        return over_epochs(
            epochs, lambda epoch: examples.shuffle(n, seed=epoch_seed(seed, epoch), reshuffle_each_iteration=False)
            .batch(batch_size), -(-n // batch_size),
        ).with_options(_options()).prefetch(tf.data.AUTOTUNE)
    per_epoch = -(-n // batch_size)
    if padding == "bucket":
        lengths = tf.constant(ids.row_lengths().numpy(), tf.int64)
        targets = tf.constant(_labels_for(labels, num_classes))

        def one_epoch(epoch):
            order = _sorted_in_windows(lengths, batch_size * SORT_WINDOW_BATCHES, epoch_seed(seed, epoch))
            return tf.data.Dataset.from_tensor_slices(_shuffled(per_epoch, epoch_seed(seed, epoch) + 1)).map(
                lambda b: _gather_batch(ids, targets, order[b * batch_size : (b + 1) * batch_size]))
    else:
        examples = _slices(ids, _labels_for(labels, num_classes)).cache()
        batches = _padded_batches(batch_size, max_length if padding == "fixed" else None)

        def one_epoch(epoch):
            return batches(examples.shuffle(n, seed=epoch_seed(seed, epoch), reshuffle_each_iteration=False))

    ds = over_epochs(epochs, one_epoch, per_epoch)
    return ds.map(_at_least_one_step).with_options(_options()).prefetch(tf.data.AUTOTUNE)


def _shuffled(n: int, seed) -> tf.Tensor:
    """A permutation of range(n), a function of the (scalar tensor) seed only."""
    return tf.argsort(tf.random.stateless_uniform([n], seed=tf.stack([seed, tf.constant(0, tf.int64)])))


def _sorted_in_windows(lengths: tf.Tensor, window: int, seed) -> tf.Tensor:
    """Example indices: shuffled, then sorted by length within each run of `window` of them."""
    order = _shuffled(tf.shape(lengths, out_type=tf.int32)[0], seed)
    window_of = tf.cast(tf.range(tf.shape(order)[0]) // window, tf.int64)
    # One sort key: window first, length second (lengths are below 2^31, well inside int64).
    key = window_of * (2**31) + tf.gather(lengths, order)
    return tf.gather(order, tf.argsort(key, stable=True))


def _gather_batch(ids: tf.RaggedTensor, labels: tf.Tensor, rows: tf.Tensor):
    return tf.gather(ids, rows).to_tensor(), tf.gather(labels, rows)


def _padded_batches(batch_size: int, length: int | None):
    """Batches padded to their longest text, or all to `length` (fixed padding)."""
    def batches(ds):
        return ds.padded_batch(batch_size, padded_shapes=([length], ds.element_spec[1].shape))
    return batches


def evaluation_dataset(ids, labels: np.ndarray, num_classes: int, *, batch_size: int, padding: str = "bucket",
                       max_length: int | None = None) -> tf.data.Dataset:
    """Sorted by length so batches hold little padding (order does not matter for a loss); `fixed`: all padded
    to max_length, as in training."""
    if isinstance(ids, tf.SparseTensor):
        return _bag_examples(ids, labels, num_classes).batch(batch_size).with_options(_options()).prefetch(
            tf.data.AUTOTUNE)
    order = np.argsort(ids.row_lengths().numpy(), kind="stable")
    ids = tf.gather(ids, order)
    ds = _slices(ids, _labels_for(labels[order], num_classes)).cache()
    ds = _padded_batches(batch_size, max_length if padding == "fixed" else None)(ds)
    return ds.map(_at_least_one_step).with_options(_options()).prefetch(tf.data.AUTOTUNE)


def with_unlabelled(labelled: tf.data.Dataset, unlabelled_ids: tf.RaggedTensor, *, batch_size: int, seed: int,
                    epochs: range) -> tf.data.Dataset:
    """Each labelled training batch (ids, labels) paired with a batch of unlabelled ids: ((ids, unlabelled), labels).

    Epoch e draws its unlabelled batches from an order keyed by (seed, e), sorted by length within windows as
    the labelled ones are (little padding), so a resumed run pairs exactly the batches it would have paired.
    With fewer unlabelled texts than an epoch needs, they are used more than once.
    """
    per_epoch = int(labelled.cardinality()) // len(epochs)
    lengths = tf.constant(unlabelled_ids.row_lengths().numpy(), tf.int64)
    count = int(lengths.shape[0])
    needed = per_epoch * batch_size
    repeats = -(-needed // count)

    def one_epoch(epoch):
        order = _sorted_in_windows(lengths, batch_size * SORT_WINDOW_BATCHES, epoch_seed(seed, epoch) + 7)
        order = tf.tile(order, [repeats])[:needed]
        return tf.data.Dataset.from_tensor_slices(_shuffled(per_epoch, epoch_seed(seed, epoch) + 8)).map(
            lambda b: tf.gather(unlabelled_ids, order[b * batch_size : (b + 1) * batch_size]).to_tensor())

    unlabelled = over_epochs(epochs, one_epoch, per_epoch).map(lambda ids: _at_least_one_step(ids, 0)[0])
    pairs = tf.data.Dataset.zip((labelled, unlabelled)).map(lambda batch, extra: ((batch[0], extra), batch[1]))
    return pairs.with_options(_options()).prefetch(tf.data.AUTOTUNE)
