"""Model builders: a registry from --arch to a plain builder function, and the string-in wrapper."""

from __future__ import annotations

import keras

from seqsent.config import RECURRENT_ARCHS, ModelConfig
from seqsent.models.recurrent import build_recurrent_classifier

# arch -> builder(config, vocab_size, num_classes, seed) returning ids -> probabilities
BUILDERS = {arch: build_recurrent_classifier for arch in RECURRENT_ARCHS}


def build_classifier(config: ModelConfig, vocab_size: int, num_classes: int, seed: int = 1337) -> keras.Model:
    return BUILDERS[config.arch](config, vocab_size, num_classes, seed)


def build_text_model(vectorizer, truncation, classifier: keras.Model) -> keras.Model:
    """Raw strings [batch] -> probabilities: the model that is saved and served."""
    text = keras.Input(shape=(), dtype="string", name="text")
    outputs = classifier(truncation(vectorizer(text)))
    return keras.Model(text, outputs, name="seqsent_text_classifier")
