"""Embedding + recurrent stack + pooling + head, as small composable builders.

Initialisation follows the standard RNN practice, stated here rather than left to
library defaults that may change: Glorot-uniform input kernels (Glorot & Bengio 2010),
orthogonal recurrent kernels (Saxe et al. 2014), zero biases, and forget-gate bias 1
for LSTMs (Jozefowicz et al. 2015) so gradients flow through time from the start.

Every setting here keeps the cuDNN LSTM/GRU kernels eligible on GPU: tanh/sigmoid
activations, no recurrent dropout, no unrolling, and right-padded masks.
"""

from __future__ import annotations

import keras

from seqsent.config import ModelConfig
from seqsent.models.layers import HashedNgrams, MaskedGlobalPooling, MaskedSum, TokenDropout

CELL_LAYERS = {"rnn": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM, "gru": keras.layers.GRU}


def recurrent_layer(cell: str, units: int, *, return_sequences: bool, dropout: float, seed: int, name: str,
                    go_backwards: bool = False):
    """One recurrent layer with the literature's initialisation made explicit."""
    kwargs = dict(
        units=units,
        return_sequences=return_sequences,
        go_backwards=go_backwards,
        dropout=dropout,
        seed=seed + 2,
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed),
        recurrent_initializer=keras.initializers.Orthogonal(seed=seed + 1),
        bias_initializer="zeros",
        name=name,
    )
    if cell == "lstm":
        kwargs["unit_forget_bias"] = True  # forget-gate bias 1 on top of the zero bias
    return CELL_LAYERS[cell](**kwargs)


def recurrent_stack(x, config: ModelConfig, seed: int):
    """`layers` recurrent layers; the last returns sequences unless pooling is 'last'."""
    for depth in range(config.layers):
        is_last = depth == config.layers - 1
        settings = dict(return_sequences=not (is_last and config.pooling == "last"), dropout=config.dropout)
        layer = recurrent_layer(config.cell, config.units, seed=seed + 10 * depth,
                                name=f"{config.cell}_{depth + 1}", **settings)
        if config.bidirectional:
            # An explicit backward layer with its own seeds: a copy of the forward one would start identical.
            backward = recurrent_layer(config.cell, config.units, seed=seed + 10 * depth + 5, go_backwards=True,
                                       name=f"{config.cell}_{depth + 1}_backward", **settings)
            layer = keras.layers.Bidirectional(layer, backward_layer=backward, merge_mode="concat",
                                               name=f"bi{config.cell}_{depth + 1}")
        x = layer(x)
    return x


def classification_head(x, num_classes: int, config: ModelConfig, seed: int, dropout_on_inputs: bool = True):
    """Optional dense layer, then sigmoid (2 classes) or softmax; float32 output under mixed precision.

    --head-dropout applies before the output layer; without a dense layer, only if `dropout_on_inputs`
    (bag-of-words baselines keep their sparse inputs whole).
    """
    if config.head_units:
        x = keras.layers.Dense(config.head_units, activation="relu", name="head_dense",
                               kernel_initializer=keras.initializers.GlorotUniform(seed=seed))(x)
    if config.head_dropout and (config.head_units or dropout_on_inputs):
        x = keras.layers.Dropout(config.head_dropout, seed=seed, name="head_dropout")(x)
    units, activation = (1, "sigmoid") if num_classes == 2 else (num_classes, "softmax")
    return keras.layers.Dense(units, activation=activation, dtype="float32", name="probabilities",
                              kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 1))(x)


def build_recurrent_classifier(config: ModelConfig, vocab_size: int, num_classes: int, seed: int = 1337,
                               initial_embeddings=None) -> keras.Model:
    """Token ids [batch, time] (0 = padding) -> class probabilities.

    `initial_embeddings`: a [vocab_size, embedding_dim] matrix (pretrained word vectors aligned to the
    vocabulary, see seqsent.models.pretrained_vectors) that the Embedding starts from; it is only the initial value of the
    weights, so the saved and exported model is the same kind of model. config.freeze_embeddings keeps it fixed.
    """
    ids = keras.Input(shape=(None,), dtype="int64", name="token_ids")
    tokens = TokenDropout(config.token_dropout, seed=seed, name="token_dropout")(ids) if config.token_dropout else ids
    embedding = keras.layers.Embedding(vocab_size, config.embedding_dim, mask_zero=True, name="embedding",
                                       embeddings_initializer=keras.initializers.RandomUniform(-0.05, 0.05, seed=seed),
                                       trainable=not config.freeze_embeddings)
    x = embedding(tokens)
    if initial_embeddings is not None:
        # Assigned, not passed as a Constant initializer: that would write the whole matrix into the saved config.
        embedding.embeddings.assign(initial_embeddings)
    if config.embedding_dropout:
        x = keras.layers.SpatialDropout1D(config.embedding_dropout, seed=seed, name="embedding_dropout")(x)
    x = recurrent_stack(x, config, seed)
    if config.pooling != "last":
        x = MaskedGlobalPooling(config.pooling, name=f"{config.pooling}_pooling")(x)
    if config.wide_ngrams:
        outputs = wide_and_deep_head(x, tokens, vocab_size, num_classes, config, seed)
    else:
        outputs = classification_head(x, num_classes, config, seed)
    return keras.Model(ids, outputs, name=f"{config.arch}_classifier")


def wide_and_deep_head(deep, tokens, vocab_size: int, num_classes: int, config: ModelConfig, seed: int):
    """Probabilities from the recurrent features plus a linear model over the text's 1..N-grams.

    The wide part (Cheng et al. 2016) is a bag of n-grams: one weight per unigram and per hashed
    n-gram (config.wide_buckets slots), summed over the text's n-grams (a linear model of their counts),
    added to the deep part's logits. Both are trained together; starting from zero
    weights, the wide part adds what word order and the word vectors miss (rare names, set phrases).
    """
    units, activation = (1, "sigmoid") if num_classes == 2 else (num_classes, "softmax")
    if config.head_units:
        deep = keras.layers.Dense(config.head_units, activation="relu", name="head_dense",
                                  kernel_initializer=keras.initializers.GlorotUniform(seed=seed))(deep)
    if config.head_dropout:
        deep = keras.layers.Dropout(config.head_dropout, seed=seed, name="head_dropout")(deep)
    deep_logits = keras.layers.Dense(units, name="deep_logits",
                                     kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 1))(deep)
    grams = HashedNgrams(config.wide_ngrams, config.wide_buckets, vocab_size, name="ngrams")(tokens)
    weights = keras.layers.Embedding(vocab_size + config.wide_buckets, units, mask_zero=True, name="ngram_weights",
                                     embeddings_initializer="zeros")(grams)
    if config.wide_dropout:
        # Drops single n-gram occurrences (units is 1 or the class count), scaling the rest: dropout training
        # of a linear model, an adaptive L2-like regulariser (Wager et al. 2013).
        weights = keras.layers.Dropout(config.wide_dropout, seed=seed + 3, name="wide_dropout")(weights)
    wide_logits = MaskedSum(name="wide_logits")(weights)
    logits = keras.layers.Add(name="logits")([deep_logits, wide_logits])
    return keras.layers.Activation(activation, dtype="float32", name="probabilities")(logits)


def cudnn_blockers(model: keras.Model) -> list[str]:
    """Why recurrent layers of `model` cannot use the cuDNN kernels on a GPU (empty: all can).

    Keras runs LSTM and GRU with cuDNN only with tanh/sigmoid activations, no recurrent dropout,
    no unrolling, a bias (and reset_after for GRU); SimpleRNN has no cuDNN kernel at all.
    """
    problems = []
    for name, layer in _recurrent_layers(model.layers):
        cell = getattr(layer, "cell", None)
        kind = type(layer).__name__
        if kind == "SimpleRNN":
            problems.append(f"{name}: SimpleRNN has no cuDNN kernel (lstm and gru have)")
            continue
        if kind not in ("LSTM", "GRU") or cell is None:
            continue
        reasons = []
        if cell.recurrent_dropout:
            reasons.append(f"recurrent dropout {cell.recurrent_dropout}")
        if layer.unroll:
            reasons.append("unroll=True")
        if keras.activations.serialize(cell.activation) != "tanh":
            reasons.append(f"activation {keras.activations.serialize(cell.activation)}")
        if keras.activations.serialize(cell.recurrent_activation) != "sigmoid":
            reasons.append(f"recurrent activation {keras.activations.serialize(cell.recurrent_activation)}")
        if not cell.use_bias:
            reasons.append("no bias")
        if kind == "GRU" and not cell.reset_after:
            reasons.append("reset_after=False")
        if getattr(layer, "use_cudnn", "auto") is False:
            reasons.append("use_cudnn=False")
        if reasons:
            problems.append(f"{name}: {', '.join(reasons)} rules out the cuDNN {kind} kernel")
    return problems


def _recurrent_layers(layers):
    """(name to show, layer) for every recurrent layer, looking inside Bidirectional wrappers and nested models."""
    for layer in layers:
        if isinstance(layer, keras.layers.Bidirectional):
            yield f"{layer.name} forward", layer.forward_layer
            yield f"{layer.name} backward", layer.backward_layer
        elif isinstance(layer, keras.layers.RNN):
            yield layer.name, layer
        elif isinstance(layer, keras.Model):
            yield from _recurrent_layers(layer.layers)
