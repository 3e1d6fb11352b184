"""The wide (bag of n-grams) branch beside the recurrent one, and --preset precedence."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cli.main import main
from conftest import tiny_texts, write_csv
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


def test_train_preset_then_config_file_then_flags_and_the_export_serves_strings(tmp_path, capsys, monkeypatch):
    data = write_csv(tmp_path / "reviews.csv", tiny_texts(("good", "bad"), per_class=15))
    config_file = tmp_path / "c.json"
    config_file.write_text(json.dumps({"model": {"units": 4, "embedding_dim": 8}, "train": {"epochs": 3}}))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as info:
        main(["train", "--preset", "imdb-best", "--config", str(config_file), "--data", str(data), "--epochs", "1",
              "--max-tokens", "200", "--wide-buckets", "128", "--quiet", "--name", "w"])
    out, err = capsys.readouterr()
    assert info.value.code == 0, err
    saved = json.loads((tmp_path / "runs" / "w" / "1" / "config.json").read_text())
    preset = PRESETS["imdb-best"]["model"]
    assert saved["model"]["arch"] == preset["arch"] and saved["model"]["wide_ngrams"] == preset["wide_ngrams"]
    assert saved["model"]["units"] == 4 and saved["model"]["embedding_dim"] == 8  # from the file
    assert saved["train"]["epochs"] == 1 and saved["text"]["max_tokens"] == 200  # flags win
    assert saved["model"]["wide_buckets"] == 128
    from seqsent.inference import load_model

    model = load_model(tmp_path / "saved_models" / "w" / "1")
    assert model.predict_proba(["a great film", ""]).shape == (2, 2)
