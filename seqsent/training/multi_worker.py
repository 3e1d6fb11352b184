"""What Keras `fit` needs to train under MultiWorkerMirroredStrategy, and the chief's state sent to every worker.

Keras 3 `fit` fails under MultiWorkerMirroredStrategy with two or more workers
(keras-team/keras#20585, measured with Keras 3.15.1): two reductions in
`keras/src/backend/tensorflow/trainer.py` do not fit a collective strategy.

1. `TensorFlowTrainer._maybe_symbolic_build` all-reduces a whole input batch, only to learn
   its shapes ("Attempt to convert a value (PerReplica...) to a Tensor"). This worker's own
   slice of the batch has the same structure, so that is used instead.
2. `reduce_per_replica(..., "auto")` reduces each step's metric results, which are scalars,
   over axis 0 ("Invalid reduction dimension 0 for input with 0 dimensions"). The mean over
   replicas needs no axis.

`keras_multi_worker_fixes()` swaps in both corrections for the duration of one `fit` call and
only under a multi-worker strategy; everything else keeps Keras' own code. With them both
workers finish with identical weights (tests/test_distribute.py trains two real workers).
"""

from __future__ import annotations

import contextlib

import numpy as np
import tensorflow as tf

# The Keras releases the two corrections were written and tested against (they replace Keras internals).
TESTED_KERAS = ("3.15",)


def untested_keras_warning() -> str | None:
    """A warning when this Keras is not one the multi-worker corrections were tested with."""
    import keras

    if keras.__version__.startswith(TESTED_KERAS):
        return None
    return (f"--strategy multi-worker corrects two Keras internals tested with Keras {', '.join(TESTED_KERAS)}.x; this "
            f"is Keras {keras.__version__}: check tests/test_distribute.py passes before relying on it")


try:  # Keras internals: the module the fixes apply to
    from keras.src import tree
    from keras.src.backend.tensorflow import trainer as keras_tf_trainer
except ImportError:  # pragma: no cover - a Keras without this layout
    keras_tf_trainer = None


def is_multi_worker(strategy: tf.distribute.Strategy) -> bool:
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and strategy.extended._in_multi_worker_mode()


@contextlib.contextmanager
def keras_multi_worker_fixes(strategy: tf.distribute.Strategy):
    """Patch the two Keras reductions while `fit` runs under a multi-worker strategy (a no-op otherwise)."""
    if not is_multi_worker(strategy):
        yield
        return
    trainer_class = getattr(keras_tf_trainer, "TensorFlowTrainer", None)
    original_reduce = getattr(keras_tf_trainer, "reduce_per_replica", None)
    original_build = getattr(trainer_class, "_maybe_symbolic_build", None)
    if original_reduce is None or original_build is None:
        raise RuntimeError("this Keras version lacks the functions seqsent corrects for multi-worker training "
                           "(tested with Keras 3.15); use --strategy default or mirrored")

    def reduce_per_replica(values, strategy, reduction):
        if reduction in ("auto", "mean") and is_multi_worker(strategy):
            return tree.map_structure(lambda value: strategy.reduce("MEAN", value, axis=None), values)
        return original_reduce(values, strategy, reduction)

    def maybe_symbolic_build(self, iterator=None, data_batch=None):
        if iterator is None or not is_multi_worker(self.distribute_strategy):
            return original_build(self, iterator=iterator, data_batch=data_batch)
        for _, _, batches in iterator:
            data_batch = tree.map_structure(_local_value, next(batches))
            break
        with self.distribute_strategy.scope():
            self._symbolic_build(data_batch=data_batch)

    keras_tf_trainer.reduce_per_replica = reduce_per_replica
    trainer_class._maybe_symbolic_build = maybe_symbolic_build
    try:
        yield
    finally:
        keras_tf_trainer.reduce_per_replica = original_reduce
        trainer_class._maybe_symbolic_build = original_build


def _local_value(value):
    if isinstance(value, tf.distribute.DistributedValues):
        return value.values[0]
    return value


def broadcast_from_chief(strategy: tf.distribute.Strategy, is_chief: bool, values: list[float] | None = None,
                         variables=()) -> np.ndarray:
    """Give every worker the chief's `values` (numbers) and the chief's values of `variables`.

    One all-reduce: the chief contributes its numbers, the others zeros, and the sum is the chief's.
    float64 carries float32 weights and the integer counters (steps, seeds) exactly.
    Every worker must call this with the same number of values and the same variables.
    """
    variables = list(variables)
    pieces = [tf.constant(values or [], tf.float64)]
    pieces += [tf.reshape(tf.cast(v.value, tf.float64), [-1]) for v in variables]
    flat = tf.concat(pieces, axis=0)
    total = strategy.reduce("SUM", flat if is_chief else tf.zeros_like(flat), axis=None)
    offset = len(values or [])
    for variable in variables:
        size = int(np.prod(variable.shape))
        variable.assign(tf.cast(tf.reshape(total[offset : offset + size], variable.shape), variable.dtype))
        offset += size
    return total[: len(values or [])].numpy()
