"""Model builders: registries from --arch to a feature step and a classifier builder, and the string-in wrapper.

    features = build_features("bigru", text_config, train_texts)          # learned on train only
    vectors = pretrained_embeddings(model_config, features.vocabulary, seed)  # None without --embeddings
    classifier = build_classifier(model_config, features.vocabulary_size, 2, seed,
                                  initial_embeddings=vectors.matrix if vectors else None)
    text_model = build_text_model(features.vectorizer, features.transform, classifier)  # raw strings in
"""

from __future__ import annotations

from typing import Collection, NamedTuple

import keras

from seqsent.config import BASELINE_ARCHS, RECURRENT_ARCHS, ModelConfig, TextConfig, is_chosen
from seqsent.errors import UsageError
from seqsent.models.baselines import adapt_bag_features, build_baseline_classifier
from seqsent.models.pretrained_vectors import AlignedEmbeddings, align_embeddings
from seqsent.models.recurrent import build_recurrent_classifier
from seqsent.text import adapt_vectorizer, make_truncation

# arch -> builder(config, vocab_size, num_classes, seed, **initial weights) returning features -> probabilities
BUILDERS = {arch: build_recurrent_classifier for arch in RECURRENT_ARCHS}
BUILDERS.update({arch: build_baseline_classifier for arch in BASELINE_ARCHS})


class Features(NamedTuple):
    """The two layers that turn strings into a classifier's input, learned on the train split.

    They run in the tf.data pipeline during training and inside the exported model.
    """

    vectorizer: keras.layers.TextVectorization
    transform: keras.layers.Layer
    """Truncation to the last (or first) tokens for recurrent archs; term weighting for baselines."""

    @property
    def vocabulary(self) -> list[str]:
        return self.vectorizer.get_vocabulary()

    @property
    def vocabulary_size(self) -> int:
        return self.vectorizer.vocabulary_size()


def _token_id_features(arch: str, config: TextConfig, train_texts, train_labels=None) -> Features:
    return Features(adapt_vectorizer(config, train_texts), make_truncation(config))


def _bag_features(arch: str, config: TextConfig, train_texts, train_labels=None) -> Features:
    return Features(*adapt_bag_features(arch, config, train_texts, train_labels))


# arch -> features(arch, text config, train texts, train labels): token ids then truncation (recurrent archs),
# or a sparse bag of words then its term weighting (baselines).
FEATURES = {arch: _token_id_features for arch in RECURRENT_ARCHS}
FEATURES.update({arch: _bag_features for arch in BASELINE_ARCHS})


def build_features(arch: str, config: TextConfig, train_texts, train_labels=None) -> Features:
    """The feature step of `arch`, learned on the train split only (nbsvm needs its labels)."""
    return FEATURES[arch](arch, config, train_texts, train_labels)


def pretrained_embeddings(config: ModelConfig, vocabulary: list[str], seed: int = 1337) -> AlignedEmbeddings | None:
    """The --embeddings file's vectors aligned to `vocabulary` (None without one); .describe() says the coverage."""
    if not config.embeddings_path:
        return None
    return align_embeddings(config.embeddings_path, vocabulary, dim=config.embedding_dim, seed=seed)


def build_classifier(config: ModelConfig, vocab_size: int, num_classes: int, seed: int = 1337,
                     initial_embeddings=None) -> keras.Model:
    """Features -> probabilities. `initial_embeddings`: a [vocab_size, embedding_dim] matrix the Embedding of a
    recurrent arch starts from (see pretrained_embeddings)."""
    if initial_embeddings is None:
        return BUILDERS[config.arch](config, vocab_size, num_classes, seed)
    return BUILDERS[config.arch](config, vocab_size, num_classes, seed, initial_embeddings=initial_embeddings)


def build_text_model(vectorizer, transform, classifier: keras.Model) -> keras.Model:
    """Raw strings [batch] -> probabilities: the model that is saved and served."""
    text = keras.Input(shape=(), dtype="string", name="text")
    outputs = classifier(transform(vectorizer(text)))
    return keras.Model(text, outputs, name="seqsent_text_classifier")


def adopt_pretrained_shapes(config: ModelConfig, given: Collection[str] = ()) -> list[str]:
    """Take the Embedding's dimension from the --embeddings file, as the file fixes it.

    An embedding_dim not chosen (see is_chosen; `given`: 'section.field' keys set on purpose) gives way to the
    file's; a chosen one must equal it, even when it is the default (a UsageError naming both otherwise).
    Returns what was adopted, for the user to hear. Reads the file's first lines only, so a bad file fails
    here, before the data is loaded.
    """
    if not config.embeddings_path:
        return []
    from seqsent.models.pretrained_vectors import vector_dimension

    dim = vector_dimension(config.embeddings_path)
    if dim == config.embedding_dim:
        return []
    if is_chosen(config.embedding_dim, "model", "embedding_dim", given):
        raise UsageError(f"--embedding-dim {config.embedding_dim} does not match the {dim}-dimensional vectors "
                         f"of {config.embeddings_path}; give --embedding-dim {dim} or leave it out")
    config.embedding_dim = dim
    return [f"embedding dim {dim}, the dimension of {config.embeddings_path}"]
