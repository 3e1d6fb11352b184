"""Next-word recurrent language models, whose layers initialise a classifier (`seqsent pretrain-lm`, `--encoder`).

Dai & Le (2015) showed that an LSTM pretrained as a language model on a task's own unlabelled text,
then fine-tuned as a classifier, beats the same LSTM trained from random weights; ULMFiT (Howard &
Ruder 2018) adds a backward LM for a bidirectional classifier. Here:

- One Embedding, shared by the directions, then per direction the classifier's own recurrent stack
  (seqsent.models.recurrent.recurrent_layer: same shapes, same initialisation), then an optional
  projection, then a softmax over the vocabulary. A bidirectional arch trains a forward LM and a
  backward LM (the same windows reversed), which initialise the forward and backward layers of each
  Bidirectional layer.
- Training uses a sampled softmax (tf.nn.sampled_softmax_loss, log-uniform sampler: TextVectorization
  numbers its vocabulary by decreasing frequency, the Zipf order that sampler assumes), so a 30k-word
  vocabulary costs ~1k classes per step instead of 30k. Validation uses the exact softmax: the
  reported perplexity is a true held-out perplexity over the whole vocabulary (OOV counted as a word).

The rows it learns from: seqsent.pretraining.lm_rows; its training job: seqsent.pretraining.pretrain.
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf

from seqsent.models.recurrent import recurrent_layer


def reverse_rows(ids):
    """Each row of right-padded ids [batch, time] reversed in its non-padding part (padding stays on the right)."""
    lengths = tf.reduce_sum(tf.cast(ids != 0, tf.int32), axis=1)
    return tf.reverse_sequence(ids, lengths, seq_axis=1, batch_axis=0)


class LanguageModel(keras.Model):
    """Token rows [batch, window + 1] -> next-word loss (see the module docstring).

    vocab_size: the TextVectorization vocabulary (0 padding, 1 OOV included). embedding_dim, cell, units,
    layers: as the classifier's ModelConfig, so the weights transfer one to one. directions: 1 (forward) or
    2 (forward + backward). num_sampled: classes sampled per training step for the sampled softmax.
    """

    def __init__(self, vocab_size: int, embedding_dim: int = 128, cell: str = "gru", units: int = 64,
                 layers: int = 1, directions: int = 1, num_sampled: int = 1024, dropout: float = 0.0,
                 seed: int = 1337, **kwargs):
        super().__init__(**kwargs)
        if directions not in (1, 2):
            raise ValueError(f"directions must be 1 or 2, not {directions}")
        self.vocab_size, self.embedding_dim, self.cell, self.units = vocab_size, embedding_dim, cell, units
        self.num_layers, self.directions, self.num_sampled, self.seed = layers, directions, num_sampled, seed
        self.embedding = keras.layers.Embedding(
            vocab_size, embedding_dim, mask_zero=True, name="embedding",
            embeddings_initializer=keras.initializers.RandomUniform(-0.05, 0.05, seed=seed))
        # stacks[d][i]: layer i of direction d (0 forward, 1 backward), named and seeded as the classifier's.
        self.stacks = [[recurrent_layer(cell, units, return_sequences=True, dropout=dropout,
                                        seed=seed + 10 * i + 5 * d, name=f"{cell}_{i + 1}" + ("_backward" if d else ""))
                        for i in range(layers)] for d in range(directions)]
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.build()  # every weight exists from the start: loading and transfer need no forward pass first

    def build(self, input_shape=None):
        self.embedding.build((None, None))
        scale = 1.0 / math.sqrt(self.units)
        # [vocab, units]: the layout tf.nn.sampled_softmax_loss wants; one output layer per direction.
        self.softmax_weights = [self.add_weight(shape=(self.vocab_size, self.units), name=f"softmax_weights_{d}",
                                                initializer=keras.initializers.RandomUniform(-scale, scale,
                                                                                             seed=self.seed + 200 + d))
                                for d in range(self.directions)]
        self.softmax_biases = [self.add_weight(shape=(self.vocab_size,), name=f"softmax_bias_{d}", initializer="zeros")
                               for d in range(self.directions)]
        for stack in self.stacks:
            width = self.embedding_dim
            for layer in stack:
                layer.build((None, None, width))
                width = self.units
        self.built = True

    @property
    def metrics(self):
        return [self.loss_tracker]

    def states(self, ids, direction: int, training=False):
        """Top recurrent states [batch, time, units] of one direction, for ids already in its reading order."""
        h = self.embedding(ids)
        for layer in self.stacks[direction]:
            h = layer(h, training=training)
        return h

    def call(self, ids, training=False):
        return [self.states(ids if d == 0 else reverse_rows(ids), d, training) for d in range(self.directions)]

    def direction_losses(self, rows, training: bool, sampled: bool) -> list:
        """Mean next-token loss of each direction over the non-padding targets of rows [batch, time + 1]."""
        rows = tf.convert_to_tensor(rows)
        losses = []
        for d in range(self.directions):
            read = rows if d == 0 else reverse_rows(rows)
            inputs, targets = read[:, :-1], read[:, 1:]
            h = tf.cast(tf.reshape(self.states(inputs, d, training), [-1, self.units]), "float32")
            labels = tf.reshape(tf.cast(targets, tf.int64), [-1, 1])
            weights = tf.cast(tf.reshape(targets, [-1]) != 0, "float32")
            if sampled:
                token_loss = tf.nn.sampled_softmax_loss(
                    weights=self.softmax_weights[d], biases=self.softmax_biases[d], labels=labels, inputs=h,
                    num_sampled=self.num_sampled, num_classes=self.vocab_size, remove_accidental_hits=True)
            else:
                logits = tf.matmul(h, self.softmax_weights[d], transpose_b=True) + self.softmax_biases[d]
                token_loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels[:, 0], logits=logits)
            losses.append(tf.reduce_sum(token_loss * weights) / tf.maximum(tf.reduce_sum(weights), 1.0))
        return losses

    def train_step(self, data):
        rows = data[0] if isinstance(data, tuple) else data
        with tf.GradientTape() as tape:
            losses = self.direction_losses(rows, training=True, sampled=True)
            loss = tf.add_n(losses) / len(losses)
            scaled = self.optimizer.scale_loss(loss)  # mixed precision: the loss-scale optimizer's scaling
        gradients = tape.gradient(scaled, self.trainable_variables)
        self.optimizer.apply(gradients, self.trainable_variables)
        self.loss_tracker.update_state(loss)
        return {"loss": self.loss_tracker.result()}

    def test_step(self, data):
        """Exact (full-softmax) loss: exp(val_loss) is the held-out perplexity, averaged over the directions."""
        rows = data[0] if isinstance(data, tuple) else data
        losses = self.direction_losses(rows, training=False, sampled=False)
        self.loss_tracker.update_state(tf.add_n(losses) / len(losses))
        return {"loss": self.loss_tracker.result()}


# ---------------------------------------------------------------- transfer into a classifier


def transfer_to_classifier(lm: LanguageModel, classifier: keras.Model) -> list[str]:
    """Copy the LM's Embedding and recurrent weights into a seqsent recurrent classifier; returns what was copied.

    Forward LM layer i -> the classifier's layer i (its forward layer, if Bidirectional); backward LM layer
    i -> the backward layer of Bidirectional layer i. Shapes must agree (same vocabulary, embedding_dim,
    cell and units): seqsent.models.encoder checks that before building the classifier.
    """
    classifier.get_layer("embedding").embeddings.assign(lm.embedding.embeddings)
    copied = ["embedding"]
    layers = {layer.name: layer for layer in classifier.layers}
    for i in range(lm.num_layers):
        both = layers.get(f"bi{lm.cell}_{i + 1}")
        targets = [both.forward_layer, both.backward_layer] if both is not None else [layers[f"{lm.cell}_{i + 1}"]]
        for direction, target in enumerate(targets):
            target.set_weights(lm.stacks[direction][i].get_weights())
            copied.append(f"{lm.stacks[direction][i].name} -> {target.name}")
    return copied
