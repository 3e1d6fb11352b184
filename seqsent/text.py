"""Standardisation, the vocabulary (Keras TextVectorization) and truncation.

The same two layers run in the tf.data pipeline during training (fast: texts are
vectorised once and cached) and inside the exported model (so it takes raw strings).
Sharing the layers, rather than re-implementing them, is what keeps training and
serving tokenisation identical.
"""

from __future__ import annotations

import functools
from typing import Iterable, Iterator, Optional

import keras
import tensorflow as tf

from seqsent.config import TextConfig

# RE2 patterns, run by core TF ops only (StaticRegexReplace), so TF Serving needs nothing extra.
_HTML_TAG = r"<[^>]{0,200}>"  # IMDB has "<br />" everywhere; without this "br" is a top-12 token
# Separators and control characters, U+0085, U+2028, \x1c-\x1e among them: Keras reads the
# vocabulary asset back with str.splitlines(), which would split a token holding one of them.
_SPACE_LIKE = r"[\p{Z}\p{Cc}]+"
_PUNCTUATION = r"[\p{P}\p{Sm}\p{Sc}\p{Sk}]"  # emoji and other \p{So} symbols are kept as tokens


@keras.saving.register_keras_serializable(package="seqsent")
def standardize_text(text: tf.Tensor) -> tf.Tensor:
    """Lowercase, drop HTML tags and punctuation, fold every kind of space into one; accents composed (NFC)."""
    text = tf.strings.unicode_transcode(text, "UTF-8", "UTF-8", errors="replace")  # serving may send any bytes
    text = composed_accents(text)
    text = tf.strings.regex_replace(text, _SPACE_LIKE, " ")  # before lower(), which stops at a NUL
    text = tf.strings.lower(text, encoding="utf-8")
    text = tf.strings.regex_replace(text, _HTML_TAG, " ")
    text = tf.strings.regex_replace(text, _PUNCTUATION, " ")
    text = tf.strings.regex_replace(text, _SPACE_LIKE, " ")
    return tf.strings.strip(text)


def composed_accents(text: tf.Tensor) -> tf.Tensor:
    """'génial' typed as 'e' + a combining accent (macOS, some exports) is the word 'génial' composed, as Unicode's
    NFC makes it: each letter + mark pair that has a composed character becomes it, three passes over (a letter with
    up to three marks, as polytonic Greek writes). Core TF ops only (TF has no NFC op); a batch holding no such pair
    skips it. Less than NFC in rarer cases, which stay as written, never wrongly composed: Hangul jamo, singletons,
    a mark that composes behind one that does not, marks out of canonical order."""
    key_list, composed_list = _composition_table()
    keys, composed = tf.constant(key_list, dtype=tf.int64), tf.constant(composed_list, dtype=tf.int32)

    def compose(flat_text):
        chars = tf.strings.unicode_decode(flat_text, "UTF-8")

        def one_pass(done, points, rows):
            following = tf.concat([points[1:], [0]], 0)
            same_text = tf.concat([tf.equal(rows[1:], rows[:-1]), [False]], 0)
            pair = tf.bitwise.left_shift(tf.cast(points, tf.int64), 21) | tf.cast(following, tf.int64)
            at = tf.minimum(tf.searchsorted(keys, pair), len(key_list) - 1)
            hit = tf.equal(tf.gather(keys, at), pair) & same_text
            hit &= ~tf.concat([[False], hit[:-1]], 0)  # a mark composed into its letter composes nothing itself
            kept = ~tf.concat([[False], hit[:-1]], 0)
            points = tf.where(hit, tf.gather(composed, at), points)
            return done + 1, tf.boolean_mask(points, kept), tf.boolean_mask(rows, kept)

        # A loop, not three copies of the pass: the graph is traced into several functions of an export.
        _, points, rows = tf.while_loop(lambda done, *_: done < 3, one_pass,
                                        (tf.constant(0), chars.flat_values, chars.value_rowids()),
                                        shape_invariants=(tf.TensorShape([]), tf.TensorShape([None]),
                                                          tf.TensorShape([None])))
        return tf.strings.unicode_encode(tf.RaggedTensor.from_value_rowids(points, rows, nrows=chars.nrows()),
                                         "UTF-8")

    flat = tf.reshape(text, [-1])
    # The pairs themselves, not any combining mark: Tamil or Bengali vowel signs compose with one letter only and
    # are in every text of those scripts.
    marked = tf.reduce_any(tf.strings.regex_full_match(flat, _pair_pattern()))
    return tf.reshape(tf.cond(marked, lambda: compose(flat), lambda: flat), tf.shape(text))


@functools.lru_cache(maxsize=1)
def _pair_pattern() -> str:
    """An RE2 pattern matching a text that holds a composable pair: per mark, the class of its letters (written as
    themselves, a few kB in the graph, not 20 as \\x{...} escapes of each pair)."""
    letters: dict[int, list[int]] = {}
    for key in _composition_table()[0]:
        letters.setdefault(key & 0x1FFFFF, []).append(key >> 21)

    def char(code: int) -> str:
        return chr(code) if chr(code).isalnum() else f"\\x{{{code:X}}}"

    groups = "|".join(f"[{''.join(char(code) for code in codes)}]\\x{{{mark:X}}}" for mark, codes in letters.items())
    return f"(?s).*(?:{groups}).*"


@functools.lru_cache(maxsize=1)
def _composition_table() -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(letter << 21 | mark, sorted; the character NFC composes them into) for every canonical pair composition."""
    import unicodedata

    pairs = {}
    for code in range(0x110000):
        parts = unicodedata.decomposition(chr(code)).split()
        if len(parts) == 2 and not parts[0].startswith("<"):
            letter, mark = (int(part, 16) for part in parts)
            if unicodedata.normalize("NFC", chr(letter) + chr(mark)) == chr(code):  # not a composition exclusion
                pairs[letter << 21 | mark] = code
    keys = sorted(pairs)  # plain values, made constants in each graph that uses them
    return tuple(keys), tuple(pairs[key] for key in keys)


def make_vectorizer(config: TextConfig, vocabulary: Optional[list[str]] = None) -> keras.layers.TextVectorization:
    """Integer token ids, 0 for padding and 1 for out-of-vocabulary words; padded to the batch's longest text."""
    return keras.layers.TextVectorization(
        max_tokens=config.max_tokens,
        standardize=standardize_text,
        split="whitespace",
        output_mode="int",
        vocabulary=vocabulary,
        name="vectorizer",
    )


def adapt_vectorizer(config: TextConfig, train_texts: Iterable[str]) -> keras.layers.TextVectorization:
    """Learn the vocabulary from the training split only."""
    vectorizer = make_vectorizer(config)
    texts = tf.data.Dataset.from_tensor_slices(tf.constant(list(train_texts), dtype=tf.string))
    vectorizer.adapt(texts.batch(1024))
    check_vocabulary(vectorizer)
    return vectorizer


def check_vocabulary(vectorizer: keras.layers.TextVectorization, texts: str = "the train texts") -> None:
    """A vocabulary with no word (texts of punctuation only) makes TextVectorization fail later with an internal
    FailedPreconditionError: say so now, in the user's terms."""
    if not [term for term in vectorizer.get_vocabulary() if term not in ("", "[UNK]")]:
        from seqsent.errors import DataError

        raise DataError(f"{texts} hold no words after standardisation (punctuation and case removed), so there is "
                        "no vocabulary to learn; give texts with words")


@keras.saving.register_keras_serializable(package="seqsent")
class TruncateTokens(keras.layers.Layer):
    """Keep at most `length` tokens of right-padded ids, dropping from the start ('pre') or end ('post').

    Output stays right-padded with 0 and is as wide as the longest kept text (at least 1),
    so short batches are not padded to `length` and an all-empty batch still has a time step.
    """

    def __init__(self, length: int, truncation: str = "pre", **kwargs):
        super().__init__(**kwargs)
        self.length = int(length)
        self.truncation = truncation

    def call(self, ids):
        ids = tf.convert_to_tensor(ids)
        max_width = tf.shape(ids)[1]
        width = tf.minimum(self.length, max_width)
        if self.truncation == "post":
            kept = ids[:, :width]
        else:
            lengths = tf.reduce_sum(tf.cast(ids != 0, tf.int32), axis=1)
            start = tf.maximum(lengths - width, 0)
            positions = start[:, None] + tf.range(width)[None, :]
            valid = positions < lengths[:, None]
            positions = tf.minimum(positions, tf.maximum(max_width - 1, 0))
            kept = tf.where(valid, tf.gather(ids, positions, batch_dims=1), tf.zeros_like(positions, dtype=ids.dtype))
        # At least one (padding) step, so a batch of empty texts still runs through the RNN.
        return tf.pad(kept, [[0, 0], [0, tf.maximum(1 - width, 0)]])

    def compute_output_shape(self, input_shape):
        return (input_shape[0], None)

    def compute_output_spec(self, ids):
        return keras.KerasTensor(self.compute_output_shape(ids.shape), dtype=ids.dtype)

    def get_config(self):
        return {**super().get_config(), "length": self.length, "truncation": self.truncation}


def make_truncation(config: TextConfig) -> TruncateTokens:
    return TruncateTokens(config.sequence_length, config.truncation, name="truncate")


def tokenize(texts: Iterable[str], batch_size: int = 1024) -> Iterator[list[str]]:
    """Token lists as the model sees them: standardize_text, then split on spaces as TextVectorization does.

    For tools outside the model (gensim's word2vec) that must agree with its vocabulary.
    """
    batch: list[str] = []

    def flush():
        standardized = standardize_text(tf.constant(batch, dtype=tf.string)).numpy()
        for value in standardized:
            yield [token for token in value.decode("utf-8").split(" ") if token]

    for text in texts:
        batch.append(text)
        if len(batch) == batch_size:
            yield from flush()
            batch = []
    if batch:
        yield from flush()
