"""`seqsent compare`: same splits and seed for every arch, length buckets by hand, the three files and the CLI."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from conftest import tiny_texts, write_csv

tf = pytest.importorskip("tensorflow")

from seqsent.comparison import (COLUMNS, compare, format_table, length_buckets, parse_archs,  # noqa: E402
                             token_counts, write_comparison)
from seqsent.config import RunConfig  # noqa: E402
from seqsent.errors import TrainingError, UsageError  # noqa: E402
from test_reports import assert_readable_png  # noqa: E402

TINY_FLAGS = ["--max-tokens", "200", "--sequence-length", "20", "--units", "4", "--embedding-dim", "8",
              "--batch-size", "16", "--learning-rate", "0.02"]


def tiny_config(data) -> RunConfig:
    config = RunConfig(name="compare")
    config.data.source = str(data)
    config.text.max_tokens, config.text.sequence_length = 200, 20
    config.model.units, config.model.embedding_dim = 4, 8
    config.train.epochs, config.train.batch_size, config.train.learning_rate = 2, 16, 0.02
    return config


@pytest.fixture(scope="module")
def tiny_csv(tmp_path_factory):
    return write_csv(tmp_path_factory.mktemp("compare") / "tiny.csv", tiny_texts(("good", "bad"), per_class=30))


@pytest.fixture(scope="module")
def comparison(tiny_csv):
    return compare(tiny_config(tiny_csv), ["gru", "bigru", "bow"])


def test_parse_archs_keeps_order_drops_duplicates_and_rejects_unknown_names():
    assert parse_archs(" LSTM,gru ,lstm,bow") == ["lstm", "gru", "bow"]
    with pytest.raises(UsageError, match="unknown architecture cnn"):
        parse_archs("lstm,cnn")
    with pytest.raises(UsageError):
        parse_archs(" , ")


def test_token_counts_follow_the_standardisation():
    assert token_counts(["Great film!<br />Loved it", "", "a  b\u2028c"]).tolist() == [4, 0, 3]


def test_length_buckets_are_terciles_of_token_counts():
    # terciles of 1..9: 3.67 and 6.33 -> short <= 3 < medium <= 6 < long
    buckets, edges = length_buckets(np.arange(1, 10))
    assert edges == (3, 6)
    assert buckets.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2]


def test_tied_terciles_name_the_medium_bucket_empty_not_an_impossible_range():
    from seqsent.comparison import Comparison

    buckets, edges = length_buckets(np.array([12] * 8 + [20]))
    assert edges == (12, 12) and 1 not in buckets.tolist()
    labels = Comparison([], None, "", [], {}, edges, {}, "positive class").bucket_labels()
    assert labels == {"short": "short (≤ 12 tokens)", "medium": "medium (none: both terciles are 12 tokens)",
                      "long": "long (> 12 tokens)"}


def test_compare_measures_every_arch_on_the_same_splits(comparison):
    assert [r.arch for r in comparison.results] == ["gru", "bigru", "bow"]
    assert comparison.split_sizes == {"train": 43, "validation": 5, "test": 12}
    assert sum(comparison.bucket_sizes.values()) == 12
    for r in comparison.results:
        assert r.error is None
        assert r.trainable_parameters > 0 and r.epochs_run in (1, 2) and 1 <= r.best_epoch <= r.epochs_run
        assert 0 < r.train_seconds_per_epoch <= r.train_seconds / r.epochs_run  # epochs only, no set-up
        assert r.inference_reviews_per_second > 0
        assert 0 <= r.val_accuracy <= 1 and 0 <= r.test_accuracy <= 1
        # accuracy overall is the size-weighted mean of the length buckets
        weighted = sum(r.test_accuracy_by_length[b] * n for b, n in comparison.bucket_sizes.items() if n)
        assert weighted / 12 == pytest.approx(r.test_accuracy)
    gru, bigru, bow = comparison.results
    # a bidirectional layer is two recurrent layers; the embedding and output layer change little
    assert bigru.trainable_parameters > gru.trainable_parameters
    gru_cell = 3 * (4 * (8 + 4) + 2 * 4)  # GRU(4) on 8-d inputs, reset_after biases
    assert bigru.trainable_parameters - gru.trainable_parameters == gru_cell + 4 * 2  # + output weights of 4 more units


def test_compare_loads_data_once_and_the_same_seed_gives_the_same_model(tiny_csv, monkeypatch):
    import seqsent.data

    loads = []
    real = seqsent.data.load_dataset
    monkeypatch.setattr(seqsent.data, "load_dataset", lambda config: loads.append(config) or real(config))
    first = compare(tiny_config(tiny_csv), ["bow", "bow"])
    assert len(loads) == 1
    assert len(first.results) == 1  # duplicates dropped
    second = compare(tiny_config(tiny_csv), ["bow"])
    assert first.results[0].history == second.results[0].history
    assert first.results[0].test_accuracy == second.results[0].test_accuracy


def test_write_comparison_writes_markdown_csv_and_png(comparison, tmp_path):
    out = write_comparison(comparison, tmp_path / "cmp")
    assert {p.name for p in out.iterdir()} == {"compare.md", "compare.csv", "compare.png"}
    with open(out / "compare.csv", newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == COLUMNS
        rows = list(reader)
    assert [row["arch"] for row in rows] == ["gru", "bigru", "bow"]
    for row, result in zip(rows, comparison.results):
        assert int(row["trainable_parameters"]) == result.trainable_parameters
        assert float(row["test_accuracy"]) == pytest.approx(result.test_accuracy)
        assert float(row["test_accuracy_long"]) == pytest.approx(result.test_accuracy_by_length["long"])
        assert row["error"] == ""
    markdown = (out / "compare.md").read_text(encoding="utf-8")
    assert format_table(comparison) in markdown and "](compare.png)" in markdown
    assert "train 43 / validation 5 / test 12" in markdown
    settings = json.loads(markdown.split("```json\n", 1)[1].split("```", 1)[0])
    assert RunConfig.from_dict(settings).to_dict() == comparison.config.to_dict()
    assert_readable_png(out / "compare.png", min_side=800)
    with pytest.raises(UsageError, match="not empty"):
        write_comparison(comparison, out)


def make_rnn_fail(monkeypatch, error: Exception) -> None:
    """Training of --arch rnn raises `error`; every other arch trains for real."""
    import seqsent.training.trainer as trainer

    real = trainer.fit

    def fit(config, *args, **kwargs):
        if config.model.arch == "rnn":
            raise error
        return real(config, *args, **kwargs)

    monkeypatch.setattr(trainer, "fit", fit)


@pytest.fixture
def rnn_fails_to_train(monkeypatch):
    """Training of --arch rnn ends as a NaN loss would end it."""
    make_rnn_fail(monkeypatch, TrainingError("training stopped: the loss became NaN/inf at batch 3"))


def test_an_arch_that_fails_to_train_is_reported_and_the_others_still_run(tiny_csv, tmp_path, rnn_fails_to_train):
    result = compare(tiny_config(tiny_csv), ["rnn", "tfidf"])
    assert result.results[0].error.startswith("training stopped") and result.results[1].error is None
    assert "failed: training stopped" in format_table(result)
    out = write_comparison(result, tmp_path / "partial")
    rows = list(csv.DictReader(open(out / "compare.csv", encoding="utf-8")))
    assert rows[0]["trainable_parameters"] == "" and rows[0]["error"].startswith("training stopped")
    assert_readable_png(out / "compare.png", min_side=800)


def test_ctrl_c_of_compare_says_what_had_finished_and_that_nothing_resumes(tiny_csv, tmp_path, capsys, monkeypatch):
    from test_cli import run_main

    make_rnn_fail(monkeypatch, KeyboardInterrupt())
    code, _, err = run_main(capsys, "compare", "--data", tiny_csv, "--archs", "bow,rnn,tfidf", "--epochs", "1",
                            "--output", tmp_path / "out", "--quiet", *TINY_FLAGS)
    assert code == 130 and err.strip().splitlines() == [
        "seqsent: interrupted while training rnn (bow had finished); compare keeps nothing of an unfinished run and "
        "does not resume: run it again (--archs to compare fewer)"], err
    assert not (tmp_path / "out").exists()


def test_cli_compare_prints_progress_and_a_table_then_refuses_to_clobber(tiny_csv, tmp_path, capsys):
    from test_cli import assert_one_line_error, run_main

    out = tmp_path / "cli-compare"
    code, stdout, err = run_main(capsys, "compare", "--data", tiny_csv, "--archs", "lstm,ngram", "--epochs", "1",
                                 "--output", out, "--quiet", *TINY_FLAGS)
    assert code == 0, err
    assert "[1/2] lstm: training" in stdout and "[2/2] ngram:" in stdout and "reviews/s" in stdout
    assert "| arch | trainable params |" in stdout
    assert {p.name for p in out.iterdir()} == {"compare.md", "compare.csv", "compare.png"}
    code, _, err = run_main(capsys, "compare", "--data", tiny_csv, "--archs", "bow", "--output", out)
    assert_one_line_error(code, err, 2, "--overwrite")
    code, _, err = run_main(capsys, "compare", "--data", tiny_csv, "--archs", "lstm,transformer")
    assert_one_line_error(code, err, 2, "unknown architecture transformer")


def _no_training(monkeypatch):
    import seqsent.training.trainer as trainer

    def fit(config, *args, **kwargs):
        raise AssertionError(f"{config.model.arch} trained before the options were checked")

    monkeypatch.setattr(trainer, "fit", fit)


def test_nbsvm_on_three_classes_is_refused_before_any_arch_trains(tmp_path, monkeypatch):
    _no_training(monkeypatch)
    three = write_csv(tmp_path / "three.csv", tiny_texts(("good", "bad", "meh"), per_class=12))
    with pytest.raises(UsageError, match="--arch nbsvm needs two classes"):
        compare(tiny_config(three), ["bow", "nbsvm"])


def test_cli_compare_refuses_an_arch_the_data_cannot_train_before_training_and_writes_nothing(
        tmp_path, capsys, monkeypatch):
    from test_cli import assert_one_line_error, run_main

    _no_training(monkeypatch)
    three = write_csv(tmp_path / "three.csv", tiny_texts(("good", "bad", "meh"), per_class=12))
    code, _, err = run_main(capsys, "compare", "--data", three, "--archs", "gru,nbsvm", "--output", tmp_path / "c")
    assert_one_line_error(code, err, 2, "--arch nbsvm needs two classes")
    assert not (tmp_path / "c").exists()


def test_compare_validates_each_arch_options_before_loading_data(tmp_path):
    config = tiny_config(tmp_path / "missing.csv")
    vectors = tmp_path / "v.vec"
    vectors.write_text("2 3\ngood 0.1 0.2 0.3\nbad 0.3 0.2 0.1\n", encoding="utf-8")
    config.model.embeddings_path, config.model.embedding_dim = str(vectors), 3
    with pytest.raises(UsageError, match="--archs bow: --embeddings goes with a recurrent --arch"):
        compare(config, ["gru", "bow"])


def test_cli_compare_with_a_failed_arch_exits_non_zero_after_its_table(tiny_csv, tmp_path, capsys,
                                                                       rnn_fails_to_train):
    from test_cli import run_main

    out = tmp_path / "partial"
    code, stdout, err = run_main(capsys, "compare", "--data", tiny_csv, "--archs", "rnn,bow", "--epochs", "1",
                                 "--output", out, "--quiet", *TINY_FLAGS)
    assert code == 1
    assert "| rnn | failed: training stopped" in stdout and (out / "compare.csv").is_file()
    assert err.strip().splitlines() == [f"seqsent: error: 1 of 2 architecture(s) failed: rnn (why is in the table "
                                        f"and {out / 'compare.csv'})"]


def test_compare_holds_its_data_in_memory_and_refuses_streaming(tmp_path, capsys):
    """A streamed table is split by hash, one in memory by label: compare (which reads it whole) must not say it
    streamed. The CLI has no streaming options; the Python API refuses --streaming on."""
    from conftest import tiny_run_config
    from seqsent_cli.main import main

    data = write_csv(tmp_path / "reviews.csv", tiny_texts(per_class=10))
    config = tiny_run_config(data)
    config.data.streaming = "on"
    with pytest.raises(UsageError, match="--streaming on: this command reads --data .* into memory"):
        compare(config, ["gru"])
    with pytest.raises(SystemExit) as excinfo:
        main(["compare", "--data", str(data), "--streaming", "on", "--archs", "gru"])
    assert excinfo.value.code == 2 and "No such option '--streaming'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as excinfo:  # an epoch of data in memory is one pass, as train says
        main(["compare", "--data", str(data), "--steps-per-epoch", "2", "--archs", "gru"])
    assert excinfo.value.code == 2 and "No such option '--steps-per-epoch'" in capsys.readouterr().err


def test_an_arch_that_fails_in_tensorflow_is_a_failed_row_and_what_training_said_is_kept(tiny_csv, tmp_path,
                                                                                           monkeypatch):
    """An error of TensorFlow's own lost every arch already trained; --mixed-precision's warning on CPU was
    dropped, and --jit-compile failed every bag-of-words arch (XLA has no sparse kernels)."""
    make_rnn_fail(monkeypatch, ValueError("a kernel TensorFlow lacks\nits second line"))
    config = tiny_config(tiny_csv)
    config.train.mixed_precision, config.train.jit_compile, config.train.epochs = True, True, 1
    result = compare(config, ["rnn", "bow"])
    assert result.results[0].error == "internal error: ValueError: a kernel TensorFlow lacks"
    assert result.results[1].error is None and result.results[1].test_accuracy is not None
    assert "bow: Warning: --jit-compile: XLA cannot compile --arch bow's sparse bag of words; training without XLA" \
        in result.notes
    assert any(note.startswith("bow: Warning: --mixed-precision needs a GPU") for note in result.notes)
    markdown = (write_comparison(result, tmp_path / "out") / "compare.md").read_text(encoding="utf-8")
    assert "- Note: bow: Warning: --jit-compile" in markdown


def test_compare_without_a_tpu_refuses_strategy_tpu_before_reading_data(tmp_path, monkeypatch):
    """Each arch became a failed row after the data was read; train refuses at once."""
    monkeypatch.delenv("TPU_NAME", raising=False)
    config = tiny_config(tmp_path / "never-read.csv")
    config.train.strategy = "tpu"
    with pytest.raises(UsageError, match="--strategy tpu: no TPU here"):
        compare(config, ["bow", "gru"])
