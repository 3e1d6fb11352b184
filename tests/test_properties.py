"""Property-based tests (hypothesis): any Unicode string, of any length, is safe to standardise,
tokenise and predict on.

Each property draws a list of texts and checks the whole list in one model call, 200 examples
per property. Texts mix any code point (lone surrogates included: undecodable bytes reach
Python as those), characters known to have broken things (NUL, U+0085, U+2028, BOM, <br />)
and long repetitions; the serving signature also gets arbitrary bytes.
"""

from __future__ import annotations

import unicodedata

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
hypothesis = pytest.importorskip("hypothesis")

import tempfile  # noqa: E402

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.configuration import set_hypothesis_home_dir  # noqa: E402

# Hypothesis caches (Unicode tables, constants) go to a temporary directory, not ./.hypothesis in the work tree.
set_hypothesis_home_dir(tempfile.mkdtemp(prefix="seqsent-hypothesis-"))

from conftest import TINY_TEXT_CONFIG  # noqa: E402
from seqsent.serving.export import export_saved_model  # noqa: E402
from seqsent.layout import model_metadata  # noqa: E402
from seqsent.serving.inference import load_model  # noqa: E402
from seqsent.text import standardize_text  # noqa: E402

PROPERTY = settings(max_examples=200, deadline=None, database=None,  # no .hypothesis directory in the work tree
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

TROUBLE = ["\x00", "\x85", "\u2028", "\u2029", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\r\n", "\ufeff", "\u200b",
           "<br />", "<", ">", "İ", "ẞ", "Σ", "\u0301", "👍🏽", "👨\u200d👩\u200d👧", "\ud800", "\udcff", "\U0010ffff"]
PIECES = st.one_of(st.characters(), st.sampled_from(TROUBLE), st.sampled_from(list("ab cd.,!?")))
SHORT = st.lists(PIECES, max_size=60).map("".join)
LONG = st.builds(lambda unit, times: unit * times, st.lists(PIECES, min_size=1, max_size=12).map("".join),
                 st.integers(1, 4000))  # up to ~50k characters
TEXTS = st.lists(st.one_of(SHORT, SHORT, SHORT, LONG), min_size=1, max_size=12)

SPACE_LIKE_CATEGORIES = ("Zs", "Zl", "Zp", "Cc")
PUNCTUATION_CATEGORIES = ("Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Sm", "Sc", "Sk")


def as_bytes(texts: list[str]) -> list[bytes]:
    return [t.encode("utf-8", "surrogatepass") for t in texts]


def standardise(texts: list[str]) -> list[str]:
    # Strict decoding: the output must be valid UTF-8 whatever went in.
    return [s.decode("utf-8") for s in standardize_text(tf.constant(as_bytes(texts), dtype=tf.string)).numpy()]


# ---------------------------------------------------------------- standardisation and tokenisation


@PROPERTY
@given(TEXTS)
def test_standardisation_gives_clean_single_spaced_idempotent_tokens(texts):
    out = standardise(texts)
    assert len(out) == len(texts)
    for s in out:
        assert s == s.strip() and "  " not in s
        for char in s:
            category = unicodedata.category(char)
            assert char == " " or category not in SPACE_LIKE_CATEGORIES, repr(char)
            assert category not in PUNCTUATION_CATEGORIES, repr(char)
        for token in s.split(" "):
            # The vocabulary asset is read back with str.splitlines(): no token may break there.
            assert token.splitlines() == ([token] if token else []), repr(token)
    assert standardise(out) == out


@pytest.fixture(scope="module")
def text_layers(three_class_text_model):
    layers = {layer.name: layer for layer in three_class_text_model.layers}
    return layers["vectorizer"], layers["truncate"]


@PROPERTY
@given(TEXTS)
def test_tokenisation_keeps_the_last_tokens_right_padded_within_the_vocabulary(text_layers, texts):
    vectorizer, truncate = text_layers
    length = TINY_TEXT_CONFIG["sequence_length"]
    ids = truncate(vectorizer(tf.constant(as_bytes(texts), dtype=tf.string))).numpy()
    assert ids.ndim == 2 and ids.shape[0] == len(texts) and 1 <= ids.shape[1] <= length
    assert ids.min() >= 0 and ids.max() < vectorizer.vocabulary_size()
    tokens = [text.split() for text in standardise(texts)]
    # 'pre' truncation: the ids of the last tokens, as if only those had been given.
    last = vectorizer(tf.constant([" ".join(t[-length:]) for t in tokens] + ["x " * length])).numpy()
    for row, text_tokens, expected in zip(ids, tokens, last):
        kept = int(np.count_nonzero(row))
        assert kept == min(len(text_tokens), length)  # every token has an id (1 when out of vocabulary)
        assert not row[kept:].any()  # right padded
        assert list(row[:kept]) == list(expected[:kept])


# ---------------------------------------------------------------- predict


@pytest.fixture(scope="module")
def models(tmp_path_factory, three_class_text_model):
    export = export_saved_model(three_class_text_model, model_metadata(["bad", "good", "meh"], {"name": "p"}),
                                tmp_path_factory.mktemp("properties"), "p")
    keras_model = tf.function(lambda text: three_class_text_model(text, training=False),  # traced once, not eager
                              input_signature=[tf.TensorSpec([None], tf.string)])
    return {"keras": keras_model, "export": load_model(export),
            "keras_file": load_model(export / "assets.extra" / "keras_model.json"),
            "signature": tf.saved_model.load(str(export)).signatures["serving_default"]}


def assert_probabilities(probabilities: np.ndarray, rows: int) -> None:
    assert probabilities.shape == (rows, 3)
    assert np.isfinite(probabilities).all()
    assert (probabilities >= 0).all() and (probabilities <= 1).all()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


@PROPERTY
@given(TEXTS)
def test_keras_model_gives_finite_probabilities_summing_to_one(models, texts):
    probabilities = models["keras"](tf.constant(as_bytes(texts), dtype=tf.string)).numpy()
    assert_probabilities(probabilities, len(texts))


@PROPERTY
@given(TEXTS)
def test_predict_on_export_and_keras_file_gives_the_same_finite_probabilities(models, texts):
    exported = models["export"].predict_proba(texts)  # str with lone surrogates included
    assert_probabilities(exported, len(texts))
    np.testing.assert_allclose(models["keras_file"].predict_proba(texts), exported, atol=1e-5)


@PROPERTY
@given(st.lists(st.one_of(st.binary(max_size=200), SHORT.map(lambda t: t.encode("utf-8", "surrogatepass"))),
                min_size=1, max_size=12))
def test_serving_signature_takes_any_bytes_and_answers_each_text_as_if_alone(models, texts):
    out = models["signature"](text=tf.constant(texts, dtype=tf.string))
    probabilities = out["probabilities"].numpy()
    assert_probabilities(probabilities, len(texts))
    assert (out["label_id"].numpy() == probabilities.argmax(axis=1)).all()
    assert set(out["label"].numpy()) <= {b"bad", b"good", b"meh"}
    alone = models["signature"](text=tf.constant(texts[:1], dtype=tf.string))["probabilities"].numpy()
    np.testing.assert_allclose(alone[0], probabilities[0], atol=1e-5)  # padding in a batch changes nothing
