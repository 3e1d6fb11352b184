"""Language-model pretraining (`seqsent pretrain-lm`) and starting a classifier from it (`train --encoder`)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from conftest import tiny_texts, write_csv

tf = pytest.importorskip("tensorflow")

from seqsent.config import LanguageModelConfig, RunConfig  # noqa: E402
from seqsent.errors import UsageError  # noqa: E402
from seqsent.models.encoder import (adopt_encoder_shape, encoder_features, initialise_from_encoder,  # noqa: E402
                                         load_language_model, read_encoder)
from seqsent.models.language_model import LanguageModel, reverse_rows  # noqa: E402
from seqsent.pretraining.lm_rows import stream_rows  # noqa: E402


def test_reverse_rows_reverses_only_the_tokens_and_keeps_padding_on_the_right():
    ids = tf.constant([[5, 6, 7, 0], [8, 9, 0, 0], [0, 0, 0, 0]])
    np.testing.assert_array_equal(reverse_rows(ids).numpy(), [[7, 6, 5, 0], [9, 8, 0, 0], [0, 0, 0, 0]])


def test_stream_rows_cut_the_stream_into_overlapping_windows():
    rows = stream_rows(np.arange(10, dtype=np.int32), window=3)
    np.testing.assert_array_equal(rows, [[0, 1, 2, 3], [3, 4, 5, 6], [6, 7, 8, 9]])


def test_language_model_loss_falls_on_a_tiny_corpus():
    """A corpus with a fixed word order: the exact held-out loss falls far below the uniform guess, both ways."""
    import keras

    keras.utils.set_random_seed(3)
    stream = np.tile(np.arange(2, 12, dtype=np.int32), 200)  # 2 3 4 ... 11 2 3 ...: each word predicts the next
    rows = stream_rows(stream, window=9)
    lm = LanguageModel(12, embedding_dim=8, cell="gru", units=16, directions=2, num_sampled=4)
    lm.compile(optimizer=keras.optimizers.Adam(0.02))
    before = lm.evaluate(rows, batch_size=32, verbose=0)
    lm.fit(rows, batch_size=32, epochs=8, verbose=0, shuffle=False)
    after = [float(loss) for loss in lm.direction_losses(rows[:64], training=False, sampled=False)]
    assert before == pytest.approx(math.log(12), rel=0.15)  # untrained: about uniform over the vocabulary
    assert max(after) < 0.5, after  # forward and backward both learned the order


@pytest.fixture(scope="module")
def encoder(tmp_path_factory):
    """`seqsent pretrain-lm` on a tiny CSV, through the library verb: a bigru encoder of 6 units."""
    from seqsent.api import pretrain_lm

    root = tmp_path_factory.mktemp("lm")
    data = write_csv(root / "reviews.csv", tiny_texts(per_class=60))
    config = LanguageModelConfig(data=str(data), output=str(root / "encoder"), units=6, embedding_dim=5,
                                 max_tokens=60, window=8, batch_size=16, sampled=8, epochs=2, heldout_texts=20,
                                 runs_dir=str(root / "runs"))
    messages = []
    report = pretrain_lm(config, verbose=0, notify=messages.append)
    return report, messages


def test_pretrain_lm_writes_an_encoder_with_perplexity_per_epoch(encoder):
    report, messages = encoder
    assert sorted(p.name for p in report.output.iterdir()) == ["encoder.json", "language_model.weights.h5",
                                                                "texts.npz", "vocabulary.json"]
    metadata = json.loads((report.output / "encoder.json").read_text())
    assert metadata["arch"] == "bigru" and metadata["units"] == 6 and metadata["embedding_dim"] == 5
    assert set(report.perplexity) == {"forward", "backward"}
    assert all(1 < p < 60 for p in report.perplexity.values())  # better than uniform over the 60 words
    assert sum(m.startswith("Epoch ") and "held-out perplexity" in m for m in messages) == 2
    assert len(metadata["history"]["val_loss"]) == 2
    assert not list(report.output.parent.glob(".encoder.staging-*"))


def test_encoder_weights_land_in_the_classifier_tensor_for_tensor(encoder):
    from seqsent.models import build_classifier

    report, _ = encoder
    found = read_encoder(report.output)
    config = RunConfig()
    notes = adopt_encoder_shape(config, found)
    assert config.model.arch == "bigru" and config.model.units == 6 and config.model.embedding_dim == 5
    assert config.text.max_tokens == len(found.vocabulary) and notes
    features = encoder_features(found, config.text)
    assert features.vocabulary == found.vocabulary  # the encoder's words, in its order: nothing learned anew
    classifier = build_classifier(config.model, features.vocabulary_size, 2, seed=9)
    note = initialise_from_encoder(classifier, found)
    assert "perplexity forward" in note and ", backward " in note
    lm = load_language_model(found)
    np.testing.assert_array_equal(classifier.get_layer("embedding").get_weights()[0], lm.embedding.get_weights()[0])
    both = classifier.get_layer("bigru_1")
    for mine, theirs in ((both.forward_layer, lm.stacks[0][0]), (both.backward_layer, lm.stacks[1][0])):
        for a, b in zip(mine.get_weights(), theirs.get_weights()):
            np.testing.assert_array_equal(a, b)


def test_a_unidirectional_classifier_reads_the_forward_language_model(encoder):
    from seqsent.models import build_classifier

    report, _ = encoder
    found = read_encoder(report.output)
    config = RunConfig()
    config.model.arch = "gru"
    adopt_encoder_shape(config, found)
    assert config.model.arch == "gru"
    classifier = build_classifier(config.model, len(found.vocabulary), 2)
    note = initialise_from_encoder(classifier, found)
    assert "perplexity forward" in note and "backward" not in note  # only the forward language model was read
    for a, b in zip(classifier.get_layer("gru_1").get_weights(), load_language_model(found).stacks[0][0].get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_bidirectional_classifier_needs_a_backward_language_model(encoder, tmp_path):
    report, _ = encoder
    forward_only = read_encoder(report.output)
    forward_only.metadata["arch"] = "gru"
    config = RunConfig()
    config.model.arch = "bigru"
    with pytest.raises(UsageError, match="--arch bigru does not match the encoder's arch gru"):
        adopt_encoder_shape(config, forward_only)


def test_a_setting_given_equal_to_its_default_is_refused_by_a_different_encoder(tmp_path):
    """--arch bilstm / --units 64 typed on the command line are the defaults, yet chosen: refused like any other
    value the encoder disagrees with, while the settings not given still take the encoder's."""
    from seqsent.models.encoder import Encoder

    shape = {"arch": "gru", "layers": 1, "units": 8, "embedding_dim": 8, "vocabulary_size": 200}
    found = Encoder(tmp_path, shape, [])
    for key, flag, default in (("arch", "--arch", "bilstm"), ("units", "--units", 64)):
        with pytest.raises(UsageError, match=f"{flag} {default} does not match the encoder's {key}"):
            adopt_encoder_shape(RunConfig(), found, given={f"model.{key}"})
    config = RunConfig()
    assert adopt_encoder_shape(config, found) and (config.model.arch, config.model.units) == ("gru", 8)


def test_the_max_tokens_pretraining_was_given_takes_the_smaller_vocabulary_it_learned(tmp_path):
    """pretrain-lm --max-tokens 200 on a small corpus learns 36 words: train --max-tokens 200 means those, while
    another explicit --max-tokens is still refused."""
    from seqsent.models.encoder import Encoder

    shape = {"arch": "gru", "layers": 1, "units": 8, "embedding_dim": 8, "vocabulary_size": 36,
             "config": {"max_tokens": 200}}
    config = RunConfig()
    config.text.max_tokens = 200
    adopt_encoder_shape(config, Encoder(tmp_path, shape, []), given={"text.max_tokens"})
    assert config.text.max_tokens == 36
    config.text.max_tokens = 300
    with pytest.raises(UsageError, match="--max-tokens 300 does not match the encoder's max tokens 36"):
        adopt_encoder_shape(config, Encoder(tmp_path, shape, []), given={"text.max_tokens"})

@pytest.mark.parametrize("pretrained_rate", [1.0, 0.1])
def test_train_with_an_encoder_exports_a_plain_string_in_model(encoder, tmp_path, pretrained_rate):
    from seqsent.api import train
    from seqsent.serving.inference import load_model

    report, _ = encoder
    data = write_csv(tmp_path / "labelled.csv", tiny_texts(("good", "bad"), per_class=15))
    config = RunConfig(name="from-lm", output_dir=str(tmp_path / "models"), runs_dir=str(tmp_path / "runs"))
    config.data.source = str(data)
    config.model.encoder_path = str(report.output)
    config.train.epochs, config.train.pretrained_rate = 1, pretrained_rate
    result = train(config, verbose=0)
    assert any("start from the language model" in note for note in result.notes)
    # tiny_texts repeats its sentences: the encoder's corpus holds some of these test texts; said, not refused
    assert any("--encoder" in note and "not from this data file" in note for note in result.data_notes)
    recorded = json.loads((result.export_dir / "assets.extra" / "seqsent.json").read_text())["data"]["notes"]
    assert any("--encoder" in note for note in recorded)  # kept with the model, not only printed
    saved = json.loads((result.export_dir / "assets.extra" / "seqsent.json").read_text())
    assert saved["config"]["model"]["units"] == 6 and saved["config"]["model"]["arch"] == "bigru"
    probabilities = load_model(result.export_dir).predict_proba(["great film", "", "awful"])
    assert probabilities.shape == (3, 2) and np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_train_refuses_an_encoder_that_learned_from_its_test_texts(encoder, tmp_path):
    """The encoder was pretrained on the default split of its CSV; a classifier of the same CSV split otherwise has
    test texts the encoder read."""
    from seqsent.api import train
    from seqsent.errors import DataError

    report, _ = encoder
    config = RunConfig(name="leak", output_dir=str(tmp_path / "models"), runs_dir=str(tmp_path / "runs"))
    config.data.source, config.data.seed = str(report.output.parent / "reviews.csv"), 7
    config.model.encoder_path = str(report.output)
    with pytest.raises(DataError, match=r"--encoder .* was learned from \d+ of this run's 36 test texts"):
        train(config, verbose=0)
    assert not (tmp_path / "models").exists()


def test_pretrain_lm_refuses_an_output_directory_that_holds_its_input(tmp_path):
    from seqsent.api import pretrain_lm

    data = write_csv(tmp_path / "reviews.csv", tiny_texts(per_class=5))
    before = data.read_bytes()
    for output, data_path, unlabelled in ((tmp_path, data, []), (data, "sample", [str(data)])):
        config = LanguageModelConfig(data=str(data_path), unlabelled=unlabelled, output=str(output), overwrite=True,
                                     runs_dir=str(tmp_path / "runs"))
        with pytest.raises(UsageError, match="it is an input"):
            pretrain_lm(config, verbose=0)
    assert data.read_bytes() == before and not (tmp_path / "runs").exists()


def test_pretrain_lm_reads_a_table_with_other_column_names(tmp_path, capsys):
    from seqsent_cli.main import main

    data = write_csv(tmp_path / "reviews.csv", tiny_texts(per_class=60), header=("review", "sentiment"))
    with pytest.raises(SystemExit) as info:
        main(["pretrain-lm", "--data", str(data), "--text-column", "review", "--label-column", "sentiment",
              "--output", str(tmp_path / "enc"), "--units", "2", "--embedding-dim", "2", "--window", "8",
              "--batch-size", "16", "--sampled", "4", "--epochs", "1", "--heldout-texts", "20",
              "--runs-dir", str(tmp_path / "runs"), "--quiet"])
    out, err = capsys.readouterr()
    assert info.value.code == 0, err
    assert "Read 144 train texts" in out and (tmp_path / "enc" / "encoder.json").exists()


def test_pretrain_lm_on_punctuation_only_texts_is_a_data_error(tmp_path):
    from seqsent.api import pretrain_lm
    from seqsent.errors import DataError

    data = write_csv(tmp_path / "punct.csv",
                     [(text, label) for text in ("!!!", "...", "---", "??") for label in "ab"] * 3)
    config = LanguageModelConfig(data=str(data), output=str(tmp_path / "enc"), runs_dir=str(tmp_path / "runs"))
    with pytest.raises(DataError, match="hold no words after standardisation"):
        pretrain_lm(config, verbose=0)


def test_pretrain_lm_reports_the_vocabulary_size_it_learned_not_max_tokens(tmp_path):
    from seqsent.pretraining.pretrain import build_corpus

    data = write_csv(tmp_path / "reviews.csv", [("alpha " * (i + 1) + "beta gamma!", "ab"[i % 2]) for i in range(40)])
    config = LanguageModelConfig(data=str(data), output=str(tmp_path / "enc"), max_tokens=30000, window=2,
                                 batch_size=1, heldout_texts=2)
    messages = []
    corpus = build_corpus(config, messages.append)
    assert len(corpus.vocabulary) == 5  # padding, OOV, alpha, beta, gamma
    assert "Vocabulary: 5 terms (the padding and out-of-vocabulary entries included)" in messages, messages
    assert not any("of 30,000" in message for message in messages)


def test_copies_of_held_out_texts_are_not_trained_on_and_too_few_texts_are_said_plainly(tmp_path):
    from seqsent.errors import DataError
    from seqsent.pretraining.pretrain import build_corpus

    texts = tmp_path / "texts.txt"
    texts.write_text("".join(f"text number {i} reads well\n" for i in range(20)) * 3, encoding="utf-8")  # 3 copies
    config = LanguageModelConfig(data="none", unlabelled=[str(texts)], output=str(tmp_path / "enc"), window=2,
                                 batch_size=1, heldout_texts=4)
    messages = []
    corpus = build_corpus(config, messages.append)
    assert corpus.heldout_texts == 4 and corpus.texts == 60 - 4 - 8  # no copy of the 4 held-out texts trains
    assert "Note: 8 training text(s) left out: copies of held-out texts (case and punctuation aside)" in messages
    texts.write_text("one text\ntwo texts\n", encoding="utf-8")
    with pytest.raises(DataError, match="^2 text\\(s\\) to learn from: a language model needs at least 10"):
        build_corpus(config, messages.append)
    texts.write_text("one text\ntwo texts\n" * 100, encoding="utf-8")  # 200 texts, 2 distinct: both held out
    with pytest.raises(DataError, match="^every one of the 200 texts is a copy of one of the 4 held out to measure "
                                        "perplexity \\(2 distinct texts"):
        build_corpus(config, messages.append)


def test_a_stacked_bidirectional_language_model_is_refused_before_pretraining_and_as_a_bidirectional_start(tmp_path):
    """Above the first layer a Bidirectional classifier reads both directions joined (2 x units wide), which the
    language model's separate stacks never see: the weights cannot fit (it was a ValueError inside set_weights)."""
    from seqsent.models.encoder import Encoder

    with pytest.raises(UsageError, match="--arch bigru with --layers 2: a bidirectional classifier's layers above"):
        LanguageModelConfig(data="sample", arch="bigru", layers=2).validate()
    LanguageModelConfig(data="sample", arch="gru", layers=2).validate()  # one direction stacks fine
    stacked = Encoder(tmp_path, {"arch": "bilstm", "layers": 2, "units": 8, "embedding_dim": 8,
                                 "vocabulary_size": 200}, [])
    with pytest.raises(UsageError, match="cannot start a bidirectional classifier .* give --arch lstm"):
        adopt_encoder_shape(RunConfig(), stacked)
    config = RunConfig()
    config.model.arch = "lstm"
    adopt_encoder_shape(config, stacked, given={"model.arch"})
    assert (config.model.arch, config.model.layers) == ("lstm", 2)


def test_an_encoder_learned_before_accents_were_composed_is_read_unless_its_vocabulary_holds_one(encoder, tmp_path):
    """Standardisation 2 composes accents written as combining marks; a vocabulary of 1 without one is still valid."""
    import json
    import shutil

    from seqsent.errors import ModelError
    from seqsent.models.encoder import BEFORE_COMPOSED_ACCENTS, ENCODER_FILE, VOCABULARY_FILE

    report, _ = encoder
    older = tmp_path / "older"
    shutil.copytree(report.output, older)
    metadata = json.loads((older / ENCODER_FILE).read_text(encoding="utf-8"))
    (older / ENCODER_FILE).write_text(json.dumps({**metadata, "standardization": BEFORE_COMPOSED_ACCENTS}),
                                      encoding="utf-8")
    assert read_encoder(older).vocabulary == read_encoder(report.output).vocabulary
    vocabulary = json.loads((older / VOCABULARY_FILE).read_text(encoding="utf-8"))
    vocabulary[-1] = "cafe\u0301"
    (older / VOCABULARY_FILE).write_text(json.dumps(vocabulary), encoding="utf-8")
    with pytest.raises(ModelError, match=f"its vocabulary holds {'cafe' + chr(0x301)!r}, an accent written as a "
                                         "combining mark"):
        read_encoder(older)
