"""The NBSVM baseline and --wide-training separate (an NBSVM and a recurrent model exported as one)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import tiny_texts, write_csv
from seqsent_cli.main import main
from seqsent.config import ModelConfig, RunConfig, TextConfig
from seqsent.errors import UsageError

TEXTS = ["a great film", "great acting great fun", "an awful film", "awful and dull"]
LABELS = [1, 1, 0, 0]


def test_log_count_ratio_is_naive_bayes_of_document_counts():
    from seqsent.models.baselines import adapt_bag_features

    vectorizer, weighting = adapt_bag_features("nbsvm", TextConfig(max_tokens=1000), TEXTS, LABELS)
    vocabulary = vectorizer.get_vocabulary()
    ratios = dict(zip(vocabulary, weighting.term_weights.numpy()))
    # Smoothed document counts (+1) over all terms of each class, normalised.
    positive_total = len(vocabulary) + sum(len(set(_grams(t))) for t in TEXTS[:2])
    negative_total = len(vocabulary) + sum(len(set(_grams(t))) for t in TEXTS[2:])
    expected_great = np.log(3 / positive_total) - np.log(1 / negative_total)  # in both positive texts, once each
    expected_awful = np.log(1 / positive_total) - np.log(3 / negative_total)
    assert ratios["great"] == pytest.approx(expected_great, rel=1e-5)
    assert ratios["awful"] == pytest.approx(expected_awful, rel=1e-5)
    assert "great acting great" in vocabulary  # 1-3-grams


def _grams(text):
    words = text.split()
    return [" ".join(words[i:i + n]) for n in (1, 2, 3) for i in range(len(words) - n + 1)]


def test_nbsvm_refuses_more_than_two_classes():
    from seqsent.models.baselines import adapt_bag_features

    with pytest.raises(ValueError, match="nbsvm needs two classes"):
        adapt_bag_features("nbsvm", TextConfig(), TEXTS, [0, 1, 2, 0])


def test_weighted_log_odds_averages_logits_not_probabilities():
    from seqsent.models.layers import WeightedLogOdds

    p1, p2 = np.array([[0.9], [0.5]], "float32"), np.array([[0.2], [0.99]], "float32")
    logit = lambda p: np.log(p / (1 - p))  # noqa: E731
    mixed = WeightedLogOdds([0.25, 0.75])([p1, p2]).numpy()
    np.testing.assert_allclose(mixed, 1 / (1 + np.exp(-(0.25 * logit(p1) + 0.75 * logit(p2)))), rtol=1e-5)
    np.testing.assert_allclose(WeightedLogOdds([1.0, 0.0])([p1, p2]).numpy(), p1, rtol=1e-5)
    with pytest.raises(ValueError, match="summing to 1"):
        WeightedLogOdds([0.5, 0.6])


def test_separate_wide_training_needs_an_ngram_order():
    with pytest.raises(UsageError, match="--wide-training separate needs --wide-ngrams"):
        RunConfig(model=ModelConfig(arch="gru", wide_training="separate")).validate()
    with pytest.raises(UsageError, match="--wide-training must be one of"):
        RunConfig(model=ModelConfig(arch="gru", wide_ngrams=2, wide_training="both")).validate()


def test_member_configs_move_the_wide_settings_to_an_nbsvm():
    from seqsent.training.ensemble import member_configs

    config = RunConfig(model=ModelConfig(arch="bigru", wide_ngrams=3, wide_buckets=5000, wide_training="separate",
                                         wide_epochs=9, recurrent_models=2))
    deep, wide = member_configs(config)
    assert [d.model.arch for d in deep] == ["bigru", "bigru"] and deep[0].model.wide_ngrams == 0
    assert [d.train.seed for d in deep] == [config.train.seed, config.train.seed + 1]
    assert wide.model.arch == "nbsvm" and wide.text.max_tokens == 5000 and wide.train.epochs == 9
    assert config.model.wide_ngrams == 3  # the run's own config is untouched
    with pytest.raises(UsageError, match="--recurrent-models N goes with --wide-training separate"):
        RunConfig(model=ModelConfig(arch="gru", recurrent_models=2)).validate()


def run_main(capsys, *args):
    with pytest.raises(SystemExit) as info:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    return info.value.code, out, err


def test_nbsvm_arch_trains_and_exports_through_the_cli(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = write_csv(tmp_path / "reviews.csv", tiny_texts(("good", "bad"), per_class=15))
    status, out, err = run_main(capsys, "train", "--data", data, "--arch", "nbsvm", "--epochs", "2", "--quiet",
                                "--name", "nb")
    assert status == 0, err
    from seqsent.serving.inference import load_model

    model = load_model(tmp_path / "saved_models" / "nb" / "1")
    probabilities = model.predict_proba(["loved it, brilliant", "hated it, awful"])
    assert probabilities.shape == (2, 2)


def test_nbsvm_on_three_classes_is_one_error_line(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = write_csv(tmp_path / "reviews.csv", tiny_texts(("good", "bad", "meh"), per_class=10))
    status, out, err = run_main(capsys, "train", "--data", data, "--arch", "nbsvm", "--epochs", "1", "--quiet")
    assert status != 0
    assert len(err.strip().splitlines()) == 1 and "--arch nbsvm needs two classes" in err, err
    assert not (tmp_path / "saved_models").exists()


def test_separate_wide_training_exports_one_model_of_both(tmp_path, capsys, monkeypatch):
    """Two models trained, a weight chosen on validation, one SavedModel that takes strings."""
    monkeypatch.chdir(tmp_path)
    data = write_csv(tmp_path / "reviews.csv", tiny_texts(("good", "bad"), per_class=20))
    args = ["train", "--data", data, "--arch", "gru", "--units", "4", "--embedding-dim", "8", "--max-tokens", "200",
            "--wide-ngrams", "2", "--wide-buckets", "300", "--wide-training", "separate", "--epochs", "1",
            "--wide-epochs", "2", "--recurrent-models", "2",
            "--quiet", "--name", "ens"]
    status, out, err = run_main(capsys, *args)
    assert status == 0, err
    assert "Model 1 of 3: NBSVM of 1-2-grams" in out and "Model 3 of 3: gru (--train-seed 1338)" in out
    assert "Ensemble: log-odds weight" in out and "chosen on the validation split" in out
    assert "Trained NBSVM of 1-2-grams + 2 x gru" in out
    run_dir = tmp_path / "runs" / "ens" / "1"
    saved = json.loads((run_dir / "config.json").read_text())
    assert saved["model"]["wide_training"] == "separate"
    # The run says `tensorboard --logdir runs/ens/1/tensorboard`: every model's logs are there, the backups gone.
    logged = {path.parent.parent.name for path in (run_dir / "tensorboard").glob("*/*/events.out.tfevents.*")}
    assert logged == {"1-nbsvm", "2-recurrent", "3-recurrent"} and not (run_dir / "members").exists()
    # Every model's epochs are recorded, not only the first recurrent model's (history.json).
    histories = json.loads((run_dir / "member-histories.json").read_text())
    assert set(histories) == logged and 1 <= len(histories["1-nbsvm"]["loss"]) <= 2  # --wide-epochs 2
    assert histories["2-recurrent"] == json.loads((run_dir / "history.json").read_text())
    assert len(histories["3-recurrent"]["val_loss"]) == 1

    import tensorflow as tf

    from seqsent.serving.inference import load_model

    export = tmp_path / "saved_models" / "ens" / "1"
    keras_probabilities = load_model(export).predict_proba(["loved it, brilliant", "hated it, awful"])
    serving = tf.saved_model.load(str(export)).signatures["serving_default"]
    served = serving(text=tf.constant(["loved it, brilliant", "hated it, awful"]))["probabilities"].numpy()
    np.testing.assert_allclose(served, keras_probabilities, atol=1e-5)


def test_restart_forgets_the_backups_of_every_model_of_an_ensemble(tmp_path):
    from seqsent.training.backup import MEMBERS_DIR, backup_dirs, remove_backup

    for member in ("1-nbsvm", "2-recurrent"):
        (tmp_path / MEMBERS_DIR / member / "backup").mkdir(parents=True)
    assert [p.parent.name for p in backup_dirs(tmp_path)] == ["1-nbsvm", "2-recurrent"]
    assert remove_backup(tmp_path)
    assert not (tmp_path / MEMBERS_DIR).exists() and backup_dirs(tmp_path) == [tmp_path / "backup"]


# ---------------------------------------------------------------- seqsent ensemble: trained models combined


def test_simplex_grid_weights_sum_to_one_and_the_best_mix_is_found():
    from seqsent.training.ensemble import choose_log_odds_weights, simplex_grid

    grid = simplex_grid(3)
    assert len(grid) == 231 and np.allclose(grid.sum(axis=1), 1.0) and grid.min() >= 0
    labels = np.array([1, 0] * 50)
    good = np.where(labels == 1, 0.9, 0.1)
    useless = np.full(100, 0.5)
    weights, accuracy, step = choose_log_odds_weights(np.stack([useless, good]), labels)
    assert weights == [0.0, 1.0] and accuracy["ensemble"] == 1.0 and accuracy["model 1"] == 0.5  # a coin
    assert step == 0.05


def test_many_models_still_get_weights_searched_not_equal_ones():
    from seqsent.training.ensemble import MAX_WEIGHT_CANDIDATES, choose_log_odds_weights, weight_grid

    for models, step in ((4, 0.05), (5, 0.1), (6, 0.1), (8, 0.2)):
        grid, found = weight_grid(models)
        assert found == step and len(grid) <= MAX_WEIGHT_CANDIDATES and np.allclose(grid.sum(axis=1), 1.0)
    labels = np.array([1, 0] * 50)
    useless = np.full(100, 0.5)
    good = np.where(labels == 1, 0.9, 0.1)
    weights, accuracy, step = choose_log_odds_weights(np.stack([useless] * 4 + [good]), labels)
    assert weights == [0.0, 0.0, 0.0, 0.0, 1.0] and step == 0.1 and accuracy["ensemble"] == 1.0


def test_ensemble_combines_trained_exports_into_one_that_serves(tmp_path, capsys, monkeypatch):
    from test_cli import assert_one_line_error, run_main

    monkeypatch.chdir(tmp_path)
    data = write_csv(tmp_path / "reviews.csv", tiny_texts(("good", "bad"), per_class=30))
    tiny = ["--units", "4", "--embedding-dim", "8", "--max-tokens", "200", "--sequence-length", "20", "--quiet"]
    for arch, name in (("nbsvm", "nb"), ("gru", "rnn")):
        code, _, err = run_main(capsys, "train", "--data", data, "--arch", arch, "--epochs", "2", "--name", name, *tiny)
        assert code == 0, err
    code, out, err = run_main(capsys, "ensemble", "saved_models/nb", "saved_models/rnn", "--name", "both")
    assert code == 0, err
    assert "Weights chosen on the validation split" in out and "Exported: saved_models/both/1" in out
    metadata = json.loads((tmp_path / "saved_models" / "both" / "1" / "assets.extra" / "seqsent.json").read_text())
    assert metadata["test_metrics"]["examples"] > 0 and metadata["class_names"] == ["bad", "good"]
    members = metadata["ensemble"]["members"]
    assert [(m["model"], m["arch"]) for m in members] == [("saved_models/nb", "nbsvm"), ("saved_models/rnn", "gru")]
    assert sum(m["weight"] for m in members) == pytest.approx(1.0)
    card = (tmp_path / "saved_models" / "both" / "1" / "assets.extra" / "README.md").read_text()
    assert "`seqsent ensemble` of 2 exported models" in card and "`nbsvm` (saved_models/nb, weight" in card
    assert "a linear model over bag-of-words features" not in card  # what the first member alone is
    assert "`seqsent ensemble saved_models/nb saved_models/rnn --name both`" in card
    code, out, err = run_main(capsys, "predict", "saved_models/both", "great superb", "awful dull")
    assert code == 0 and len(out.strip().splitlines()) == 2, err
    code, out, err = run_main(capsys, "ensemble", "saved_models/nb", "saved_models/rnn", "--name", "both", "--json")
    result = json.loads(out)  # stdout is the JSON result only; the notes went to stderr
    assert code == 0 and result["export_dir"].endswith("both/2") and "Weights chosen" in err
    assert len(result["weights"]) == 2 and set(result["validation_accuracy"]) >= {"ensemble"}
    code, _, err = run_main(capsys, "ensemble", "saved_models/nb", "--name", "alone")
    assert_one_line_error(code, err, 2, "give two or more models to combine")
    code, _, err = run_main(capsys, "ensemble", "saved_models/nb", "saved_models/rnn", "./saved_models/nb/", "--name",
                            "thrice")
    assert_one_line_error(code, err, 2, "./saved_models/nb/ is given twice")


def test_ensemble_output_dir_that_is_a_file_is_refused_before_any_model_loads(tmp_path, capsys):
    not_a_dir = tmp_path / "bin.csv"
    not_a_dir.write_text("text,label\n", encoding="utf-8")
    with pytest.raises(SystemExit) as excinfo:
        main(["ensemble", str(tmp_path / "missing-a"), str(tmp_path / "missing-b"), "--name", "e",
              "--output-dir", str(not_a_dir)])
    err = capsys.readouterr().err
    assert excinfo.value.code == 2 and err.count("\n") == 1
    assert err.startswith(f"seqsent: error: --output-dir {not_a_dir}: {not_a_dir} is a file, not a directory")


def _train_tiny(capsys, data, arch, name, *options):
    from test_cli import run_main

    tiny = ["--units", "4", "--embedding-dim", "8", "--max-tokens", "200", "--sequence-length", "20", "--quiet"]
    code, _, err = run_main(capsys, "train", "--data", data, "--arch", arch, "--epochs", "1", "--name", name,
                            *tiny, *options)
    assert code == 0, err
    return json.loads((Path("saved_models") / name / "1" / "assets.extra" / "seqsent.json").read_text())


def test_ensemble_of_streamed_models_is_scored_on_their_streamed_test_rows(tmp_path, capsys, monkeypatch):
    """Read into memory, a table is split by label, streamed by hash: an ensemble of streamed members scored on
    the in-memory split would score rows they trained on."""
    from test_cli import run_main

    monkeypatch.chdir(tmp_path)
    data = write_csv(tmp_path / "reviews.csv", tiny_texts(("good", "bad"), per_class=40))
    members = [_train_tiny(capsys, data, arch, name, "--streaming", "on") for arch, name in (("nbsvm", "nb"),
                                                                                             ("gru", "rnn"))]
    code, out, err = run_main(capsys, "ensemble", "saved_models/nb", "saved_models/rnn", "--name", "both")
    assert code == 0, err
    metadata = json.loads((tmp_path / "saved_models/both/1/assets.extra/seqsent.json").read_text())
    assert "streamed" in metadata["data"]["description"]
    assert metadata["test_metrics"]["examples"] == members[0]["test_metrics"]["examples"]
    code, out, err = run_main(capsys, "evaluate", "saved_models/both", "--json")
    assert code == 0 and json.loads(out)["examples"] == members[0]["test_metrics"]["examples"], err


def test_ensemble_refuses_members_split_otherwise_and_data_split_otherwise(tmp_path, capsys, monkeypatch):
    from test_cli import assert_one_line_error, run_main

    monkeypatch.chdir(tmp_path)
    data = write_csv(tmp_path / "reviews.csv", tiny_texts(("good", "bad"), per_class=30))
    _train_tiny(capsys, data, "nbsvm", "nb")
    _train_tiny(capsys, data, "nbsvm", "nb2", "--seed", "2")
    _train_tiny(capsys, data, "nbsvm", "nb-streamed", "--streaming", "on")
    _train_tiny(capsys, data, "nbsvm", "nb-again")
    code, _, err = run_main(capsys, "ensemble", "saved_models/nb", "saved_models/nb2", "--name", "e")
    assert_one_line_error(code, err, 2, "saved_models/nb2 was trained on other splits than saved_models/nb "
                                        "(--seed 1337 / 2)")
    code, _, err = run_main(capsys, "ensemble", "saved_models/nb", "saved_models/nb-streamed", "--name", "e")
    assert_one_line_error(code, err, 2, "(--streaming off / on)")
    code, _, err = run_main(capsys, "ensemble", "saved_models/nb", "saved_models/nb-again", "--name", "e", "--data", data,
                            "--validation-fraction", "0.3")
    assert_one_line_error(code, err, 2, f"--data {data} is split otherwise than saved_models/nb was trained "
                                        "(--validation-fraction 0.1 / 0.3")
    assert not (tmp_path / "saved_models" / "e").exists()
    unrecorded = tmp_path / "unrecorded"
    shutil.copytree(tmp_path / "saved_models" / "nb-again" / "1", unrecorded)
    card = unrecorded / "assets.extra" / "seqsent.json"
    card.write_text(json.dumps({**json.loads(card.read_text()), "config": None}))
    code, _, err = run_main(capsys, "ensemble", "saved_models/nb", str(unrecorded), "--name", "e")
    assert_one_line_error(code, err, 2, f"{unrecorded} records no training data: it cannot be checked not to have "
                                        "trained on saved_models/nb's validation or test rows")


def test_ensemble_notes_a_member_that_predicts_as_another(tmp_path, capsys, monkeypatch):
    from test_cli import run_main

    monkeypatch.chdir(tmp_path)
    data = write_csv(tmp_path / "reviews.csv", tiny_texts(("good", "bad"), per_class=30))
    _train_tiny(capsys, data, "nbsvm", "nb")
    code, _, err = run_main(capsys, "export", "saved_models/nb/1")  # the same model again, as version 2
    assert code == 0, err
    code, out, err = run_main(capsys, "ensemble", "saved_models/nb/1", "saved_models/nb/2", "--name", "e")
    assert code == 0 and ("Note: saved_models/nb/2 predicts as saved_models/nb/1 on every validation text (the same "
                          "model?): it adds nothing") in out + err, out + err
    code, out, err = run_main(capsys, "ensemble", "saved_models/nb/1", "saved_models/nb/2", "--name", "e", "--json")
    assert code == 0 and any(note.startswith("saved_models/nb/2 predicts as saved_models/nb/1")
                             for note in json.loads(out)["notes"]), out


def test_ensemble_data_laid_out_like_the_members_training_file_is_read_with_their_columns(tmp_path, capsys,
                                                                                           monkeypatch):
    """As evaluate does: --data FILE without --text-column / --label-column reads the models' own columns."""
    from test_cli import run_main

    monkeypatch.chdir(tmp_path)
    data = write_csv(tmp_path / "reviews.csv", tiny_texts(("good", "bad"), per_class=30), header=("review", "stars"))
    columns = ("--text-column", "review", "--label-column", "stars")
    _train_tiny(capsys, data, "nbsvm", "nb", *columns)
    _train_tiny(capsys, data, "tfidf", "tf", *columns)
    code, out, err = run_main(capsys, "ensemble", "saved_models/nb", "saved_models/tf", "--name", "e", "--data", data)
    assert code == 0, err
    assert "Note: read with the models' own columns: --text-column review, --label-column stars" in out + err
    assert (tmp_path / "saved_models" / "e" / "1").is_dir()
