"""Standardisation, vocabulary and truncation: the tokenisation shared by training and serving."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import TINY_TEXT_CONFIG, make_tiny_text_model

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from seqsent.config import TextConfig  # noqa: E402
from seqsent.text import TruncateTokens, adapt_vectorizer, standardize_text  # noqa: E402

# Every character str.splitlines() splits on, plus other separators and controls.
LINE_BREAKING = ["\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
OTHER_SPACES = ["\t", "\x07", "\u00a0", "\u2003", "\u3000", "\x9f"]
NUL = pytest.param("\x00", id="U+0000")


def standardize(*texts) -> list[str]:
    return [t.decode("utf-8") for t in standardize_text(tf.constant(list(texts))).numpy()]


def test_standardize_lowercases_including_non_ascii():
    assert standardize("Hello WORLD", "ÉCOLE Straße") == ["hello world", "école straße"]


def test_standardize_strips_html_line_breaks():
    assert standardize("Great film.<br /><br />Would watch again<br/>") == ["great film would watch again"]


def test_standardize_removes_punctuation_but_keeps_emoji():
    assert standardize("Wow!!! It's great, (really) -- 10/10 $5 😀") == ["wow it s great really 10 10 5 😀"]


@pytest.mark.parametrize("char", [pytest.param(c, id=f"U+{ord(c):04X}") for c in LINE_BREAKING + OTHER_SPACES] + [NUL])
def test_standardize_folds_separators_and_controls_into_one_space(char):
    assert standardize(f"good{char}movie{char}{char}here{char}") == ["good movie here"]


@pytest.mark.parametrize("text", ["génial", "Tiếng Việt", "Ελληνικά άλφα", "Ångström naïve façade", "ŞİŞLİ",
                                  "नमस्ते क़लम", "plain"])
def test_standardize_composes_accents_written_as_combining_marks_as_nfc_does(text):
    """'e' + U+0301 (how macOS and some exports write 'é') is the same word to the model as 'é' itself."""
    import unicodedata

    from seqsent.data.dataset import comparison_key

    decomposed, composed = unicodedata.normalize("NFD", text), unicodedata.normalize("NFC", text)
    assert standardize(decomposed, composed, "") == [standardize(composed)[0]] * 2 + [""]
    assert standardize(decomposed)[0] == comparison_key(decomposed)  # the Python twin agrees
    batch = tf.constant([[decomposed], ["x"]])
    assert standardize_text(batch).shape == (2, 1)


def test_a_model_labels_a_word_written_decomposed_as_it_labels_it_composed():
    import unicodedata

    model = make_tiny_text_model(2, texts=["génial film", "détesté film"] * 4)
    composed = ["génial", "détesté"]
    decomposed = [unicodedata.normalize("NFD", word) for word in composed]
    np.testing.assert_array_equal(model(tf.constant(decomposed)).numpy(), model(tf.constant(composed)).numpy())


def test_standardize_replaces_invalid_utf8_instead_of_failing():
    (out,) = standardize_text(tf.constant([b"bad \xff\xfe bytes"])).numpy()
    assert out.decode("utf-8").startswith("bad ")  # valid UTF-8 out


def test_vocabulary_never_holds_line_breaking_characters():
    texts = [f"word{c}other{c}x{i}" for i, c in enumerate(LINE_BREAKING + OTHER_SPACES)] * 2
    vocabulary = adapt_vectorizer(TextConfig(**TINY_TEXT_CONFIG), texts).get_vocabulary()
    assert {"word", "other"} <= set(vocabulary)
    for token in vocabulary[2:]:
        assert token.splitlines() == [token], repr(token)
        assert token.split() == [token], repr(token)


IDS = np.array([[1, 2, 3, 4, 5], [6, 7, 0, 0, 0], [0, 0, 0, 0, 0]], dtype=np.int64)


def test_pre_truncation_keeps_the_last_tokens_right_padded():
    out = TruncateTokens(3, "pre")(IDS).numpy()
    assert out.tolist() == [[3, 4, 5], [6, 7, 0], [0, 0, 0]]


def test_post_truncation_keeps_the_first_tokens_right_padded():
    out = TruncateTokens(3, "post")(IDS).numpy()
    assert out.tolist() == [[1, 2, 3], [6, 7, 0], [0, 0, 0]]


@pytest.mark.parametrize("truncation", ["pre", "post"])
def test_truncation_longer_than_batch_leaves_ids_unchanged(truncation):
    assert TruncateTokens(10, truncation)(IDS).numpy().tolist() == IDS.tolist()


@pytest.mark.parametrize("truncation", ["pre", "post"])
def test_truncation_of_all_empty_batch_has_one_padding_step(truncation):
    out = TruncateTokens(4, truncation)(np.zeros((3, 0), dtype=np.int64)).numpy()
    assert out.shape == (3, 1)
    assert not out.any()


def test_truncation_layer_roundtrips_through_its_config():
    layer = TruncateTokens(7, "post", name="cut")
    clone = TruncateTokens.from_config(layer.get_config())
    assert (clone.length, clone.truncation, clone.name) == (7, "post", "cut")


def test_text_model_pipeline_truncates_long_text_to_sequence_length():
    from seqsent.text import make_truncation

    config = TextConfig(max_tokens=50, sequence_length=4, truncation="pre")
    vectorizer = adapt_vectorizer(config, ["one two three four five six"])
    ids = make_truncation(config)(vectorizer(tf.constant(["one two three four five six", "two"]))).numpy()
    vocab = vectorizer.get_vocabulary()
    assert [vocab[i] for i in ids[0]] == ["three", "four", "five", "six"]
    assert [vocab[i] for i in ids[1]] == ["two", "", "", ""]


def roundtrip_predictions(text_model, texts, tmp_path):
    inputs = tf.constant(texts)
    before = text_model(inputs, training=False).numpy()
    path = tmp_path / "model.keras"
    text_model.save(path)
    reloaded = keras.saving.load_model(path, safe_mode=True)
    after = reloaded(inputs, training=False).numpy()
    return before, after, reloaded


def test_text_model_adapted_on_next_line_characters_roundtrips_through_keras_file(tmp_path):
    texts = ["good\x85movie here", "awful\u2028film there", "fine\x1cshow\x1dnow\x1eok", "dull\x0bplot\x0cend",
             "great\u2029acting\rtoo", "boring\x85\x85cast"]
    model = make_tiny_text_model(2, texts=texts)
    before, after, reloaded = roundtrip_predictions(model, texts + ["", "unknown words only"], tmp_path)
    assert np.array_equal(before, after)
    assert reloaded.get_layer("vectorizer").get_vocabulary() == model.get_layer("vectorizer").get_vocabulary()


def test_text_model_adapted_on_real_imdb_reviews_with_next_line_roundtrips(shared_archive, tmp_path):
    from seqsent.data.aclimdb import read_reviews

    reviews = read_reviews(shared_archive)
    texts = [t for t in reviews["train"][0] if "\x85" in t][:200]
    assert len(texts) >= 100  # PITFALLS: 350 train reviews hold U+0085
    model = make_tiny_text_model(2, texts=texts, train_step=False)
    before, after, _ = roundtrip_predictions(model, texts[:32], tmp_path)
    assert np.array_equal(before, after)


PUNCTUATION_ONLY = ["!!!", "...", "---", "??", ";;", ""]


def test_a_vocabulary_learned_from_punctuation_only_texts_is_a_data_error():
    from seqsent.errors import DataError

    with pytest.raises(DataError, match="hold no words after standardisation"):
        adapt_vectorizer(TextConfig(), PUNCTUATION_ONLY)
    assert adapt_vectorizer(TextConfig(), PUNCTUATION_ONLY + ["ok"]).get_vocabulary() == ["", "[UNK]", "ok"]


@pytest.mark.parametrize("arch", ["nbsvm", "tfidf", "bow"])
def test_baseline_features_of_punctuation_only_texts_are_a_data_error(arch):
    from seqsent.errors import DataError
    from seqsent.models.baselines import adapt_bag_features

    with pytest.raises(DataError, match="hold no words after standardisation"):
        adapt_bag_features(arch, TextConfig(), PUNCTUATION_ONLY, np.array([0, 1, 0, 1, 0, 1]))
