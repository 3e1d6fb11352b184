"""Model builders: registries from --arch to a feature step and a classifier builder, and the string-in wrapper."""

from __future__ import annotations

import keras

from seqsent.config import BASELINE_ARCHS, RECURRENT_ARCHS, ModelConfig, TextConfig
from seqsent.models.baselines import adapt_bag_features, build_baseline_classifier
from seqsent.models.recurrent import build_recurrent_classifier
from seqsent.text import adapt_vectorizer, make_truncation

# arch -> builder(config, vocab_size, num_classes, seed) returning features -> probabilities
BUILDERS = {arch: build_recurrent_classifier for arch in RECURRENT_ARCHS}
BUILDERS.update({arch: build_baseline_classifier for arch in BASELINE_ARCHS})


def _token_id_features(arch: str, config: TextConfig, train_texts):
    return adapt_vectorizer(config, train_texts), make_truncation(config)


# arch -> features(arch, text config, train texts) returning the two layers that turn strings into
# the classifier's input: token ids then truncation (recurrent), or a sparse bag then its weighting (baselines).
FEATURES = {arch: _token_id_features for arch in RECURRENT_ARCHS}
FEATURES.update({arch: adapt_bag_features for arch in BASELINE_ARCHS})


def build_features(arch: str, config: TextConfig, train_texts):
    """(vectorizer, second step) for `arch`, learned on the train split only.

    The same two layers run in the tf.data pipeline during training and inside the exported model.
    """
    return FEATURES[arch](arch, config, train_texts)


def build_classifier(config: ModelConfig, vocab_size: int, num_classes: int, seed: int = 1337) -> keras.Model:
    return BUILDERS[config.arch](config, vocab_size, num_classes, seed)


def build_text_model(vectorizer, truncation, classifier: keras.Model) -> keras.Model:
    """Raw strings [batch] -> probabilities: the model that is saved and served."""
    text = keras.Input(shape=(), dtype="string", name="text")
    outputs = classifier(truncation(vectorizer(text)))
    return keras.Model(text, outputs, name="seqsent_text_classifier")
