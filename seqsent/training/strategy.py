"""The tf.distribute strategy and the global numeric policy, set once at the start of a run."""

from __future__ import annotations

import logging

import keras
import tensorflow as tf

from seqsent.config import TrainConfig

log = logging.getLogger(__name__)


def select_strategy(name: str) -> tf.distribute.Strategy:
    """auto: MirroredStrategy across a machine's GPUs when there is more than one, else the default strategy."""
    gpus = tf.config.list_logical_devices("GPU")
    if name == "auto":
        name = "mirrored" if len(gpus) > 1 else "default"
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def set_numeric_policy(config: TrainConfig) -> str:
    """mixed_float16 on GPU when asked (the output layer stays float32); float32 otherwise."""
    policy = "float32"
    if config.mixed_precision:
        if tf.config.list_logical_devices("GPU"):
            policy = "mixed_float16"
        else:
            log.warning("--mixed-precision needs a GPU; training in float32 on CPU")
    keras.mixed_precision.set_global_policy(policy)
    return policy


def describe(strategy: tf.distribute.Strategy) -> str:
    return f"{type(strategy).__name__} with {strategy.num_replicas_in_sync} replica(s)"
