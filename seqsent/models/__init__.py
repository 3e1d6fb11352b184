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


# The vocabulary of the token-id features built last. trainer.fit builds the features, then the classifier,
# and passes the classifier builder only the vocabulary's size; pretrained word vectors (--embeddings) are
# aligned to the words themselves, so build_classifier takes them from here when not given explicitly.
_last_vocabulary: list[str] | None = None


def _token_id_features(arch: str, config: TextConfig, train_texts, train_labels=None):
    global _last_vocabulary
    vectorizer = adapt_vectorizer(config, train_texts)
    _last_vocabulary = vectorizer.get_vocabulary()
    return vectorizer, make_truncation(config)


# arch -> features(arch, text config, train texts, train labels) returning the two layers that turn strings into
# the classifier's input: token ids then truncation (recurrent), or a sparse bag then its weighting (baselines).
FEATURES = {arch: _token_id_features for arch in RECURRENT_ARCHS}
FEATURES.update({arch: adapt_bag_features for arch in BASELINE_ARCHS})


def build_features(arch: str, config: TextConfig, train_texts, train_labels=None):
    """(vectorizer, second step) for `arch`, learned on the train split only (nbsvm needs its labels).

    The same two layers run in the tf.data pipeline during training and inside the exported model.
    """
    return FEATURES[arch](arch, config, train_texts, train_labels)


def build_classifier(config: ModelConfig, vocab_size: int, num_classes: int, seed: int = 1337,
                     vocabulary: list[str] | None = None) -> keras.Model:
    """Features -> probabilities. With config.embeddings_path, the Embedding starts from the file's vectors,
    aligned to `vocabulary` (default: that of the token-id features built last, see build_features)."""
    if not config.embeddings_path:
        return BUILDERS[config.arch](config, vocab_size, num_classes, seed)
    from seqsent.embeddings import align_embeddings

    vocabulary = vocabulary if vocabulary is not None else _last_vocabulary
    if vocabulary is None or len(vocabulary) != vocab_size:
        raise ValueError(f"pretrained embeddings need the {vocab_size}-term vocabulary they are aligned to; "
                         "pass vocabulary= or build the features first")
    aligned = align_embeddings(config.embeddings_path, vocabulary, dim=config.embedding_dim, seed=seed)
    classifier = BUILDERS[config.arch](config, vocab_size, num_classes, seed, initial_embeddings=aligned.matrix)
    classifier.embeddings_note = aligned.describe()  # read by embeddings_note(); not saved with the model
    return classifier


def embeddings_note(text_model: keras.Model) -> str | None:
    """What build_classifier said about the pretrained embeddings of this (trained) model, if any."""
    note = getattr(text_model, "embeddings_note", None)
    if isinstance(note, str):
        return note
    for layer in getattr(text_model, "layers", []):  # the classifier, or (an ensemble) a model holding one
        if (note := embeddings_note(layer)) is not None:
            return note
    return None


def build_text_model(vectorizer, truncation, classifier: keras.Model) -> keras.Model:
    """Raw strings [batch] -> probabilities: the model that is saved and served."""
    text = keras.Input(shape=(), dtype="string", name="text")
    outputs = classifier(truncation(vectorizer(text)))
    return keras.Model(text, outputs, name="seqsent_text_classifier")
