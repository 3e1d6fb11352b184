"""The optimizer of a classifier: Adam, with a slower rate for pretrained layers when asked.

ULMFiT (Howard & Ruder 2018) fine-tunes pretrained layers at a lower rate than the new head: at the full rate,
the first steps from a random head push features learned on unlabelled text away before the head can use them
(measured here: a classifier started from the language model was worse than a random start after epoch 1).
"""

from __future__ import annotations

import keras

from seqsent.config import TrainConfig


class DiscriminativeAdam(keras.optimizers.Adam):
    """Adam whose step for the variables under `slow_paths` is scaled by `slow_rate`.

    The scale applies to the step, not the gradient: Adam divides the gradient by its own running norm, so a
    scaled gradient would leave the step unchanged.
    """

    def __init__(self, *args, slow_paths=(), slow_rate: float = 1.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.slow_paths = sorted(slow_paths)
        self.slow_rate = float(slow_rate)
        self._rate_of_index: list[float] = []

    def build(self, var_list):
        super().build(var_list)
        slow = set(self.slow_paths)
        self._rate_of_index = [self.slow_rate if variable.path in slow else 1.0 for variable in var_list]

    def update_step(self, gradient, variable, learning_rate):
        rate = self._rate_of_index[self._get_variable_index(variable)]
        if rate != 1.0:
            learning_rate = learning_rate * rate
        return super().update_step(gradient, variable, learning_rate)

    def get_config(self):
        return {**super().get_config(), "slow_paths": self.slow_paths, "slow_rate": self.slow_rate}


def pretrained_variable_paths(classifier: keras.Model, config_model) -> list[str]:
    """The trainable variables that start from --embeddings (the Embedding) or --encoder (it and the recurrent
    stack)."""
    if not (config_model.embeddings_path or config_model.encoder_path):
        return []
    layers = [classifier.get_layer("embedding")]
    if config_model.encoder_path:
        layers += [layer for layer in classifier.layers
                   if isinstance(layer, (keras.layers.RNN, keras.layers.Bidirectional))]
    return [variable.path for layer in layers for variable in layer.trainable_variables]


def make_optimizer(config: TrainConfig, pretrained_paths: list[str] = ()) -> keras.optimizers.Optimizer:
    clipnorm = config.clipnorm or None
    if config.pretrained_rate == 1.0 or not pretrained_paths:
        return keras.optimizers.Adam(config.learning_rate, clipnorm=clipnorm)
    return DiscriminativeAdam(config.learning_rate, clipnorm=clipnorm, slow_paths=pretrained_paths,
                              slow_rate=config.pretrained_rate)
