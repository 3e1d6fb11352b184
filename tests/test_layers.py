"""Custom layers: each keeps the shared layer contract (tests/layer_contract.py) and computes numbers worked
out by hand from its definition."""

from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from layer_contract import check_layer_contract  # noqa: E402

# Every custom layer (and the registered standardisation function), imported here only.
from seqsent.models.baselines import BM25Weighting, IDFWeighting, TermWeighting  # noqa: E402
from seqsent.models.layers import (  # noqa: E402
    OOV_ID, HashedNgrams, MaskedGlobalPooling, MaskedSum, TokenDropout, WeightedLogOdds)
from seqsent.text import TruncateTokens, standardize_text  # noqa: E402

# [batch, time, features] with a mask: row 0 has a padded step, row 1 is all negative (a padded 0
# would win a max) and row 2 is an empty text (every step masked).
STEPS = np.array([[[1.0, -2.0], [3.0, -4.0], [100.0, 100.0]],
                  [[-5.0, -6.0], [-7.0, -1.0], [0.0, 0.0]],
                  [[9.0, 9.0], [9.0, 9.0], [9.0, 9.0]]], dtype="float32")
STEP_MASK = np.array([[True, True, False], [True, True, False], [False, False, False]])
# Right-padded token ids (0 = padding, 1 = out of vocabulary), as TextVectorization makes them.
IDS = np.array([[2, 3, 4, 5, 0], [6, 1, 7, 0, 0], [8, 0, 0, 0, 0], [0, 0, 0, 0, 0]], dtype="int64")
TERM_WEIGHTS = np.array([0.5, 2.0, 0.0, -1.0], dtype="float32")
DENSE_COUNTS = np.array([[1.0, 2.0, 3.0, 4.0], [0.0, 1.0, 0.0, 0.0]], dtype="float32")
PROBABILITIES = [np.array([[0.8], [0.9], [0.5]], "float32"), np.array([[0.5], [0.1], [0.3]], "float32")]


def sparse_counts():
    return tf.SparseTensor(indices=[[0, 0], [0, 3], [1, 1]], values=[2.0, 1.0, 5.0], dense_shape=[2, 4])


def weighted(cls):
    """A term-weighting layer whose weights are not the initial ones, so a lost weight shows."""
    def make():
        layer = cls(4)
        layer.term_weights.assign(TERM_WEIGHTS)
        return layer
    return make


def bm25():
    layer = BM25Weighting(4, k1=1.5, b=0.5)
    layer.idf.assign(TERM_WEIGHTS)
    layer.average_length.assign(3.0)
    return layer


# name: (layer factory, first call argument, contract keywords)
CASES = {
    "MaskedGlobalPooling-max": (lambda: MaskedGlobalPooling("max"), STEPS,
                                dict(mask=STEP_MASK, input_shape=(None, 2), expected_output_shape=(3, 2))),
    "MaskedGlobalPooling-mean": (lambda: MaskedGlobalPooling("mean"), STEPS,
                                 dict(mask=STEP_MASK, input_shape=(None, 2), expected_output_shape=(3, 2))),
    "MaskedGlobalPooling-max-mean": (lambda: MaskedGlobalPooling("max-mean"), STEPS,
                                     dict(mask=STEP_MASK, input_shape=(None, 2), expected_output_shape=(3, 4))),
    "MaskedSum": (MaskedSum, STEPS, dict(mask=STEP_MASK, input_shape=(None, 2), expected_output_shape=(3, 2))),
    "TokenDropout": (lambda: TokenDropout(0.5, seed=3), IDS,
                     dict(input_shape=(None,), expected_output_shape=(4, 5), random_in_training=True)),
    "HashedNgrams-2": (lambda: HashedNgrams(2, 100, 10), IDS, dict(input_shape=(None,), expected_output_shape=(4, 10))),
    "HashedNgrams-3": (lambda: HashedNgrams(3, 100, 10), IDS, dict(input_shape=(None,), expected_output_shape=(4, 15))),
    "WeightedLogOdds": (lambda: WeightedLogOdds([0.25, 0.75]), PROBABILITIES, dict(expected_output_shape=(3, 1))),
    "TermWeighting-dense": (weighted(TermWeighting), DENSE_COUNTS, dict(expected_output_shape=(2, 4))),
    "TermWeighting-sparse": (weighted(TermWeighting), sparse_counts(), dict(expected_output_shape=(2, 4))),
    "IDFWeighting-sparse": (weighted(IDFWeighting), sparse_counts(), dict(expected_output_shape=(2, 4))),
    "BM25Weighting-dense": (bm25, DENSE_COUNTS, dict(expected_output_shape=(2, 4))),
    "BM25Weighting-sparse": (bm25, sparse_counts(), dict(expected_output_shape=(2, 4))),
    "TruncateTokens-pre": (lambda: TruncateTokens(3, "pre"), IDS,
                           dict(input_shape=(None,), expected_output_shape=(4, 3))),
    "TruncateTokens-post": (lambda: TruncateTokens(3, "post"), IDS,
                            dict(input_shape=(None,), expected_output_shape=(4, 3))),
}


@pytest.mark.parametrize("name", list(CASES))
def test_layer_keeps_the_layer_contract(name, tmp_path):
    factory, inputs, keywords = CASES[name]
    check_layer_contract(factory, inputs, tmp_path=tmp_path, **keywords)


@pytest.mark.parametrize("name", [name for name in CASES if "sparse" not in name])
def test_symbolic_output_dtype_is_the_real_output_dtype(name):
    factory, inputs, keywords = CASES[name]
    layer = factory()
    shape = keywords.get("input_shape")
    symbolic = keras.tree.map_structure(
        lambda x: keras.Input(shape=shape if shape is not None else x.shape[1:], dtype=str(x.dtype)), inputs)
    real = layer(inputs, training=False)
    assert keras.backend.standardize_dtype(layer(symbolic).dtype) == keras.backend.standardize_dtype(real.dtype)


@pytest.mark.parametrize("cls", [MaskedGlobalPooling, TokenDropout, HashedNgrams, MaskedSum, WeightedLogOdds,
                                 TermWeighting, IDFWeighting, BM25Weighting, TruncateTokens])
def test_layer_is_saved_under_a_stable_name_independent_of_its_module(cls):
    # .keras files already written name the class "seqsent>ClassName": a layer moved to another module still loads.
    assert keras.saving.get_registered_name(cls) == f"seqsent>{cls.__name__}"


def test_standardize_text_is_restored_by_its_saved_name_in_safe_mode():
    serialized = keras.saving.serialize_keras_object(standardize_text)
    assert keras.saving.get_registered_name(standardize_text) == "seqsent>standardize_text"
    assert keras.saving.deserialize_keras_object(serialized, safe_mode=True) is standardize_text


# MaskedSum


def test_masked_sum_ignores_padded_steps():
    out = MaskedSum()(STEPS, mask=STEP_MASK).numpy()
    np.testing.assert_array_equal(out, [[4.0, -6.0], [-12.0, -7.0], [0.0, 0.0]])


def test_masked_sum_without_a_mask_sums_every_step():
    out = MaskedSum()(STEPS).numpy()
    np.testing.assert_array_equal(out, [[104.0, 94.0], [-12.0, -7.0], [27.0, 27.0]])


# MaskedGlobalPooling

POOLED = {
    "max": [[3.0, -2.0], [-5.0, -1.0], [0.0, 0.0]],
    "mean": [[2.0, -3.0], [-6.0, -3.5], [0.0, 0.0]],
    "max-mean": [[3.0, -2.0, 2.0, -3.0], [-5.0, -1.0, -6.0, -3.5], [0.0, 0.0, 0.0, 0.0]],
}


@pytest.mark.parametrize("mode", list(POOLED))
def test_masked_pooling_uses_only_unmasked_steps_and_pools_an_empty_text_to_zeros(mode):
    np.testing.assert_allclose(MaskedGlobalPooling(mode)(STEPS, mask=STEP_MASK).numpy(), POOLED[mode], rtol=1e-6)


def test_masked_pooling_without_a_mask_pools_every_step():
    out = MaskedGlobalPooling("max-mean")(STEPS[:1]).numpy()
    np.testing.assert_allclose(out, [[100.0, 100.0, 104.0 / 3, 94.0 / 3]], rtol=1e-6)


def test_masked_pooling_rejects_an_unknown_mode():
    with pytest.raises(ValueError, match="unknown pooling mode 'min'"):
        MaskedGlobalPooling("min")


# TokenDropout


def test_token_dropout_leaves_ids_unchanged_at_inference():
    layer = TokenDropout(1.0, seed=0)
    np.testing.assert_array_equal(layer(IDS, training=False).numpy(), IDS)
    np.testing.assert_array_equal(layer(IDS).numpy(), IDS)  # training unset, as in predict


def test_token_dropout_at_rate_one_makes_every_token_oov_and_keeps_padding():
    out = TokenDropout(1.0, seed=0)(IDS, training=True).numpy()
    assert OOV_ID == 1
    np.testing.assert_array_equal(out, [[1, 1, 1, 1, 0], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0], [0, 0, 0, 0, 0]])


def test_token_dropout_drops_about_rate_of_tokens_and_a_new_set_each_batch():
    ids = np.tile(np.arange(2, 102, dtype="int64"), (100, 1))  # 10,000 tokens, none OOV
    ids[:, 80:] = 0  # 8,000 of them padding-free, 2,000 padding
    layer = TokenDropout(0.5, seed=11)
    first, second = layer(ids, training=True).numpy(), layer(ids, training=True).numpy()
    for out in (first, second):
        assert not out[:, 80:].any()  # padding stays padding
        kept = out[:, :80] != OOV_ID
        np.testing.assert_array_equal(out[:, :80][kept], ids[:, :80][kept])  # the rest are unchanged
        assert 3800 <= (~kept).sum() <= 4200  # Binomial(8000, 0.5): mean 4000, sd 45
    assert (first != second).mean() > 0.3  # the seed generator advances between batches
    np.testing.assert_array_equal(TokenDropout(0.5, seed=11)(ids, training=True).numpy(), first)  # same seed


def test_token_dropout_at_rate_zero_is_identity_in_training():
    np.testing.assert_array_equal(TokenDropout(0.0, seed=0)(IDS, training=True).numpy(), IDS)


# HashedNgrams: an n-gram of ids a, b, ... gets slot vocab_size + (h mod buckets), h the polynomial hash
# h(a) = a, h(..., b) = (h(...) * 1000003 + b) mod 1099511627689; n-grams touching padding are 0.


def test_hashed_ngrams_keep_unigrams_and_hash_bigrams_after_the_vocabulary():
    ids = np.array([[2, 3, 4, 0], [1, 7, 0, 0]])
    # h(2, 3) = 2000009, h(3, 4) = 3000013, h(1, 7) = 1000010; mod 100: 9, 13, 10; plus vocab_size 10
    expected = [[2, 3, 4, 0, 19, 23, 0, 0],
                [1, 7, 0, 0, 20, 0, 0, 0]]
    np.testing.assert_array_equal(HashedNgrams(2, 100, 10)(ids).numpy(), expected)


def test_hashed_ngrams_chain_the_hash_for_trigrams_modulo_the_prime():
    # h(2, 3, 4) = (2000009 * 1000003 + 4) mod 1099511627689 = 2000015000031 - 1099511627689 = 900503372342
    expected = [[2, 3, 4, 0, 19, 23, 0, 0, 10 + 42, 0, 0, 0]]
    np.testing.assert_array_equal(HashedNgrams(3, 100, 10)(np.array([[2, 3, 4, 0]])).numpy(), expected)


@pytest.mark.parametrize("time", [0, 1])
def test_hashed_ngrams_output_is_time_times_ngrams_wide_for_short_batches(time):
    out = HashedNgrams(3, 100, 10)(np.full((2, time), 5, dtype="int64")).numpy()
    assert out.shape == (2, time * 3)


# WeightedLogOdds


def test_weighted_log_odds_is_the_sigmoid_of_the_weighted_logit_sum():
    # equal weights: 0.5 * logit(0.8) + 0.5 * logit(0.5) = 0.5 * ln 4 = ln 2 -> 2/3
    # 0.25 * logit(0.9) + 0.75 * logit(0.1) = (0.25 - 0.75) * ln 9 = -ln 3 -> 1/4
    p, q = np.array([[0.8], [0.9]], "float32"), np.array([[0.5], [0.1]], "float32")
    np.testing.assert_allclose(WeightedLogOdds([0.5, 0.5])([p, q]).numpy()[0], [2 / 3], rtol=1e-5)
    np.testing.assert_allclose(WeightedLogOdds([0.25, 0.75])([p, q]).numpy()[1], [1 / 4], rtol=1e-5)
    three = WeightedLogOdds([0.5, 0.25, 0.25])([np.array([[0.5]]), np.array([[0.8]]), np.array([[0.8]])])
    np.testing.assert_allclose(three.numpy(), [[2 / 3]], rtol=1e-5)  # 0.5 * ln 4 again


def test_weighted_log_odds_of_certain_probabilities_stays_finite():
    out = WeightedLogOdds()([np.array([[1.0], [0.0]]), np.array([[1.0], [0.0]])]).numpy()
    assert np.isfinite(out).all() and out[0, 0] > 0.999 and out[1, 0] < 0.001


@pytest.mark.parametrize("weights", [[0.5, 0.6], [1.0], [-0.5, 1.5], []])
def test_weighted_log_odds_rejects_weights_that_are_not_a_distribution_over_two_or_more_models(weights):
    with pytest.raises(ValueError, match="two or more non-negative numbers summing to 1"):
        WeightedLogOdds(weights)


def test_weighted_log_odds_rejects_a_different_number_of_inputs_than_weights():
    with pytest.raises(ValueError, match="expected 2 inputs, got 3"):
        WeightedLogOdds([0.5, 0.5])(PROBABILITIES + PROBABILITIES[:1])


# TermWeighting and IDFWeighting


@pytest.mark.parametrize("cls", [TermWeighting, IDFWeighting])
def test_term_weighting_multiplies_dense_counts_by_each_terms_weight(cls):
    out = weighted(cls)()(DENSE_COUNTS).numpy()
    np.testing.assert_array_equal(out, [[0.5, 4.0, 0.0, -4.0], [0.0, 2.0, 0.0, 0.0]])


@pytest.mark.parametrize("cls", [TermWeighting, IDFWeighting])
def test_term_weighting_multiplies_sparse_counts_and_keeps_them_sparse(cls):
    counts = sparse_counts()
    out = weighted(cls)()(counts)
    assert isinstance(out, tf.SparseTensor)
    np.testing.assert_array_equal(out.indices.numpy(), counts.indices.numpy())
    np.testing.assert_array_equal(tf.sparse.to_dense(out).numpy(), [[1.0, 0.0, 0.0, -1.0], [0.0, 10.0, 0.0, 0.0]])


def test_term_weighting_starts_from_weight_one_and_is_not_trained():
    layer = TermWeighting(3)
    np.testing.assert_array_equal(layer(np.array([[1, 2, 3]])).numpy(), [[1.0, 2.0, 3.0]])
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 1


# TruncateTokens (IDS rows hold 4, 3, 1 and 0 tokens)


def test_pre_truncation_keeps_each_texts_last_tokens_whatever_its_length():
    np.testing.assert_array_equal(TruncateTokens(2, "pre")(IDS).numpy(), [[4, 5], [1, 7], [8, 0], [0, 0]])


def test_post_truncation_keeps_each_texts_first_tokens():
    np.testing.assert_array_equal(TruncateTokens(2, "post")(IDS).numpy(), [[2, 3], [6, 1], [8, 0], [0, 0]])


@pytest.mark.parametrize("truncation", ["pre", "post"])
def test_truncation_longer_than_the_texts_only_drops_padding_columns_beyond_length(truncation):
    # width min(length, 5) = 4: the only text of 4 tokens is whole; the padding column 5 goes
    expected = [[2, 3, 4, 5], [6, 1, 7, 0], [8, 0, 0, 0], [0, 0, 0, 0]]
    np.testing.assert_array_equal(TruncateTokens(4, truncation)(IDS).numpy(), expected)


# BM25Weighting


def test_bm25_weighting_saturates_counts_and_normalises_lengths_by_hand():
    # k1 1.5, b 0.5, average length 3: norm(d) = 1.5 * (0.5 + 0.5 * |d| / 3); weight = idf * tf * 2.5 / (tf + norm)
    # row 0: |d| = 10, norm 3.25; row 1: |d| = 1, norm 1.0
    expected = [[0.5 * 1 * 2.5 / 4.25, 2.0 * 2 * 2.5 / 5.25, 0.0, -1.0 * 4 * 2.5 / 7.25],
                [0.0, 2.0 * 1 * 2.5 / 2.0, 0.0, 0.0]]
    np.testing.assert_allclose(bm25()(DENSE_COUNTS).numpy(), expected, rtol=1e-6)


def test_bm25_weighting_of_sparse_counts_equals_that_of_dense_ones():
    sparse = sparse_counts()
    layer = bm25()
    np.testing.assert_allclose(tf.sparse.to_dense(layer(sparse)).numpy(), layer(tf.sparse.to_dense(sparse)).numpy(),
                               rtol=1e-6)
