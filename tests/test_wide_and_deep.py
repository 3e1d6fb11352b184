"""The wide (bag of n-grams) branch beside the recurrent one, and presets (the CLI run that uses both:
tests/test_embeddings.py)."""

from __future__ import annotations

import numpy as np
import pytest

from seqsent.config import ModelConfig, RunConfig
from seqsent.errors import UsageError
from seqsent.presets import PRESETS, merge, preset_config


def test_hashed_ngrams_keep_unigrams_and_put_ngrams_after_the_vocabulary():
    from seqsent.models.layers import HashedNgrams

    ids = np.array([[5, 6, 7, 0], [7, 6, 5, 0]])
    grams = HashedNgrams(3, 100, 10)(ids).numpy()
    assert grams.shape == (2, 12)
    np.testing.assert_array_equal(grams[:, :4], ids)
    bigrams, trigrams = grams[:, 4:8], grams[:, 8:]
    assert np.all((bigrams[:, :2] >= 10) & (bigrams[:, :2] < 110)) and np.all(bigrams[:, 2:] == 0)  # padding: none
    assert np.all(trigrams[:, 0] >= 10) and np.all(trigrams[:, 1:] == 0)
    assert bigrams[0, 0] != bigrams[1, 1]  # "5 6" and "6 5" are different bigrams
    np.testing.assert_array_equal(grams, HashedNgrams(3, 100, 10)(ids).numpy())


def test_wide_and_deep_classifier_trains_both_branches_and_round_trips(tmp_path):
    import keras

    from seqsent.models import build_classifier

    model = build_classifier(ModelConfig(arch="bigru", units=4, embedding_dim=8, wide_ngrams=2, wide_buckets=64), 40, 2)
    wide = model.get_layer("ngram_weights")
    assert wide.get_weights()[0].shape == (40 + 64, 1) and not np.any(wide.get_weights()[0])  # starts at zero
    model.compile(optimizer="adam", loss="binary_crossentropy")
    ids = np.random.default_rng(0).integers(1, 40, size=(8, 7))
    model.train_on_batch(ids, (np.arange(8) % 2).reshape(-1, 1).astype("float32"))
    assert np.any(wide.get_weights()[0])
    path = tmp_path / "m.keras"
    model.save(path)
    np.testing.assert_allclose(keras.models.load_model(path).predict(ids, verbose=0), model.predict(ids, verbose=0),
                               atol=1e-6)


def test_three_class_wide_and_deep_gives_a_distribution():
    from seqsent.models import build_classifier

    model = build_classifier(ModelConfig(arch="gru", units=4, embedding_dim=8, wide_ngrams=3, wide_buckets=32), 30, 3)
    probabilities = model.predict(np.array([[3, 4, 5, 0], [0, 0, 0, 0]]), verbose=0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_wide_options_are_validated():
    with pytest.raises(UsageError, match="--wide-ngrams goes with a recurrent"):
        RunConfig(model=ModelConfig(arch="tfidf", wide_ngrams=2)).validate()


def test_preset_merges_section_by_section():
    assert merge({"model": {"arch": "lstm", "units": 8}}, {"model": {"units": 4}}) == {"model": {"arch": "lstm",
                                                                                                 "units": 4}}
    config = preset_config("imdb-best")
    for section, values in PRESETS["imdb-best"].items():
        for key, value in values.items():
            assert getattr(getattr(config, section), key) == value
    with pytest.raises(UsageError, match="--preset must be one of"):
        preset_config("nope")


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_is_a_valid_config_apart_from_the_paths_the_user_gives(name, tmp_path):
    """Presets hold settings, never paths: a preset that needs --unlabelled or --embeddings is valid once they are
    given, and says so without."""
    config = preset_config(name)
    if config.semi.vat or config.semi.unlabelled_vocabulary:
        with pytest.raises(UsageError, match="needs --unlabelled"):
            config.validate()
        config.semi.unlabelled = ["texts.txt"]
    if config.model.freeze_embeddings:
        with pytest.raises(UsageError, match="--freeze-embeddings needs --embeddings"):
            config.validate()
        config.model.embeddings_path = str(tmp_path / "vectors.vec")
        (tmp_path / "vectors.vec").write_text("1 2\nfilm 0.1 0.2\n")
    config.validate()


def test_a_language_model_preset_has_the_shape_of_the_train_preset_of_its_name():
    """So that `pretrain-lm --preset X` makes an encoder that `train --preset X --encoder` accepts."""
    from seqsent.presets import LM_PRESETS, lm_preset_config

    for name in LM_PRESETS:
        lm, classifier = lm_preset_config(name), preset_config(name)
        assert (lm.arch, lm.units, lm.layers, lm.embedding_dim, lm.max_tokens) == (
            classifier.model.arch, classifier.model.units, classifier.model.layers, classifier.model.embedding_dim,
            classifier.text.max_tokens)
