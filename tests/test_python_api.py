"""Data and models handled from Python (`seqsent.from_python`, a loaded model's predict / evaluate): Python's own
ways of being wrong (None, NaN, 2-D arrays, a bare string) get the answers the CLI gives for a table file."""

from __future__ import annotations

import re

import numpy as np
import pytest

from conftest import tiny_texts
from seqsent.data.python import from_python
from seqsent.errors import DataError, UsageError

ROWS = tiny_texts(("pos", "neg"), per_class=20)
TEXTS, LABELS = [t for t, _ in ROWS], [y for _, y in ROWS]


def test_missing_texts_and_labels_are_skipped_with_a_note_not_read_as_the_words_none_and_nan():
    texts, labels = list(TEXTS), list(LABELS)
    texts[0], texts[1], labels[2], labels[3] = None, float("nan"), None, np.nan
    dataset = from_python(texts, labels)
    assert dataset.class_names == ["neg", "pos"]
    assert len(dataset.train) + len(dataset.validation) + len(dataset.test) == len(TEXTS) - 4
    assert "the data: skipped 4 of 40 examples with a missing or empty text or label (None, NaN, NA or blank)" \
        in dataset.notes
    assert not {"None", "nan"} & set(dataset.train.texts + dataset.test.texts)


class _NAType:
    """Stands for pandas' NA (and NaT): seqsent tells them by type name, so pandas need not be installed."""


_NAType.__name__ = "NAType"


def test_pandas_missing_values_and_missing_value_markers_are_skipped_not_made_a_class():
    texts, labels = list(TEXTS), list(LABELS)
    texts[0], labels[1], labels[2] = _NAType(), _NAType(), "NaN"
    dataset = from_python(texts, labels)
    assert dataset.class_names == ["neg", "pos"]
    assert any("skipped 3 of 40 examples" in note for note in dataset.notes), dataset.notes


def test_boolean_labels_are_the_classes_a_csv_file_of_them_gives():
    labels = [i % 2 == 0 for i in range(len(TEXTS))]
    assert from_python(TEXTS, labels).class_names == ["False", "True"]
    assert from_python(TEXTS, np.array(labels)).class_names == ["False", "True"]


def test_a_text_holding_lone_surrogates_is_kept_with_replacement_characters():
    texts = list(TEXTS)
    texts[0] = "caf\udce9 was lovely"  # b"caf\xe9" decoded with errors="surrogateescape"
    dataset = from_python(texts, LABELS)
    kept = [t for t in dataset.train.texts + dataset.validation.texts + dataset.test.texts if "was lovely" in t]
    assert kept == ["caf\ufffd was lovely"]
    kept[0].encode("utf-8")  # what tf.constant needs


def test_an_infinite_label_is_refused():
    with pytest.raises(DataError, match="the data: a label is inf: labels must be class names or finite numbers"):
        from_python(TEXTS, [float("inf")] + [1.0] * (len(TEXTS) - 1))


def test_a_validation_share_leaving_a_class_out_of_train_names_the_python_argument():
    with pytest.raises(DataError, match=r"^validation_fraction=0.1 leaves .* lower validation_fraction or"):
        from_python(["a", "b", "c"], ["x", "y", "x"])


@pytest.mark.parametrize("texts, labels, fragment", [
    (np.array(TEXTS).reshape(20, 2), LABELS[:20], "texts must be one-dimensional, one per example, not of shape (20, 2)"),
    (TEXTS, np.eye(2)[[0, 1] * 20], "labels must be one-dimensional, one per example, not of shape (40, 2) (one-hot"),
    ("a single text", "pos", "texts is a single string; give a list of them"),
    (TEXTS, [[y] for y in LABELS], "labels must be one value per example, not a list"),
])
def test_shapes_that_are_not_one_value_per_example_are_refused(texts, labels, fragment):
    with pytest.raises(DataError, match=re.escape(fragment)):
        from_python(texts, labels)


def test_bytes_labels_are_decoded_as_bytes_texts_are():
    dataset = from_python(TEXTS, [y.encode() for y in LABELS])
    assert dataset.class_names == ["neg", "pos"]


def test_test_texts_that_are_also_train_texts_are_noted_as_for_a_table():
    dataset = from_python(TEXTS[:4] * 30, LABELS[:4] * 30)
    assert any("test texts also appear in train" in note for note in dataset.notes), dataset.notes


def test_a_loaded_model_checks_the_threshold_and_refuses_none_texts(binary_text_model, three_class_text_model):
    from seqsent.serving.inference import in_memory_model

    binary = in_memory_model(binary_text_model, ["bad", "good"])
    for bad in (1.5, -1.0, float("nan")):
        with pytest.raises(UsageError, match="--threshold must be between 0 and 1"):
            binary.predict(["a fine film"], threshold=bad)
    assert len(binary.predict(["a fine film"], threshold=0.3)) == 1
    with pytest.raises(UsageError, match="applies to 2-class models"):
        in_memory_model(three_class_text_model, ["bad", "good", "meh"]).predict(["fine"], threshold=0.9)
    for missing in (None, float("nan")):
        with pytest.raises(DataError, match=f"text 1 is {missing}, a missing value: give a string for every text"):
            binary.predict_proba(["fine", missing])


class _FrameLike:
    """What matters of a pandas DataFrame here: iterating it gives its column names."""

    columns = ["text"]

    def __iter__(self):
        return iter(self.columns)


def test_predict_takes_one_text_per_item_and_refuses_what_would_score_something_else(binary_text_model):
    from seqsent.serving.inference import in_memory_model

    model = in_memory_model(binary_text_model, ["bad", "good"])
    texts = ["a fine film", "dull", "a waste of time"]
    expected = model.predict_proba(texts)
    np.testing.assert_allclose(model.predict_proba(t for t in texts), expected)  # a generator, read once
    np.testing.assert_allclose(model.predict_proba(np.array(texts)), expected)
    for given, fragment in (("a fine film", "not a single str: wrap it in a list"),
                            (_FrameLike(), "not a _FrameLike: for a table, its text column"),
                            ({"a fine film": 1}, "not a dict"), (5, "not a int")):
        with pytest.raises(UsageError, match=re.escape(fragment)):
            model.predict(given)
    with pytest.raises(DataError, match="text 0 is a list, not a text: give one string per text"):
        model.predict([texts])
    for batch_size in (0, -1, True, 2.5):
        with pytest.raises(UsageError, match="batch_size must be a whole number of at least 1"):
            model.predict_proba(texts, batch_size=batch_size)
    np.testing.assert_allclose(model.predict_proba(texts, batch_size=1), expected, atol=1e-6)


def test_evaluate_from_python_notes_a_class_the_texts_lack(three_class_text_model):
    from seqsent.serving.inference import in_memory_model

    model = in_memory_model(three_class_text_model, ["bad", "good", "meh"])
    evaluation = model.evaluate(["a fine film", "a dull film", None], ["good", "bad", "meh"])
    assert any("skipped 1 of 3 examples" in note for note in evaluation.notes), evaluation.notes
    assert any("no example of 'meh'" in note for note in evaluation.notes), evaluation.notes


class _Frame(dict):
    """Named columns, as a pandas DataFrame has them (pandas need not be installed for the tests)."""

    @property
    def columns(self):
        return list(self)


def test_evaluate_reads_a_frame_in_the_columns_it_is_told(three_class_text_model):
    from seqsent.serving.inference import in_memory_model

    model = in_memory_model(three_class_text_model, ["bad", "good", "meh"])
    frame = _Frame(review=["a fine film", "a dull film"], stars=["good", "bad"])
    with pytest.raises(DataError, match="no column 'text'; columns are: 'review', 'stars'"):
        model.evaluate(frame)
    evaluation = model.evaluate(frame, text_column="review", label_column="stars")
    assert evaluation.texts == ["a fine film", "a dull film"]


def test_train_refuses_a_tuple_given_as_its_dataset():
    from seqsent.api import train
    from seqsent.config import RunConfig

    with pytest.raises(UsageError, match="dataset= takes a seqsent Dataset, not a tuple: make one with "
                                         "seqsent.from_python"):
        train(RunConfig(name="t"), dataset=(TEXTS, LABELS))


def test_predict_applies_a_threshold_to_a_two_class_model_in_python_and_on_the_command_line(binary_text_model,
                                                                                           tmp_path, capsys):
    from seqsent.api import predict
    from seqsent.config import RunConfig
    from seqsent.layout import model_metadata
    from seqsent.serving.export import export_saved_model
    from seqsent_cli.main import main

    export = export_saved_model(binary_text_model, model_metadata(["bad", "good"], RunConfig().to_dict()),
                                tmp_path, "m")
    texts = ["a good film", "a bad film", "fine"]
    p_good = [p.probabilities["good"] for p in predict(export, texts)]
    for threshold in (0.0, 1.0, float(np.median(p_good))):
        labels = [p.label for p in predict(export, texts, threshold=threshold)]
        assert labels == ["good" if p >= threshold else "bad" for p in p_good]
    with pytest.raises(SystemExit) as excinfo:
        main(["predict", str(export), "--threshold", "0", "--json", *texts])
    assert excinfo.value.code in (0, None)
    assert capsys.readouterr().out.count('"label": "good"') == 3
    with pytest.raises(SystemExit) as excinfo:
        main(["predict", str(export), "--threshold", "2", "fine"])
    assert excinfo.value.code == 2 and "--threshold must be between 0 and 1" in capsys.readouterr().err


@pytest.mark.parametrize("option", ["validation_fraction", "test_fraction"])
def test_split_fractions_out_of_range_are_refused_by_name(option):
    with pytest.raises(UsageError, match=f"{option} must be between 0 and 1, not 1.5"):
        from_python(TEXTS, LABELS, **{option: 1.5})


def test_a_model_trained_from_python_is_evaluated_and_reported_on_its_python_dataset(tmp_path):
    """The recorded data of such a model is no file to read again: the Dataset itself is given."""
    import seqsent
    from conftest import tiny_run_config

    import random

    dataset = from_python(TEXTS, LABELS)
    config = tiny_run_config("python", output_dir=str(tmp_path / "models"), runs_dir=str(tmp_path / "runs"),
                             name="py")
    config.train.epochs = 1
    random.seed(5), np.random.seed(5)
    expected = random.random(), np.random.random()
    random.seed(5), np.random.seed(5)
    export = seqsent.train(config, dataset=dataset, verbose=0).export_dir
    assert (random.random(), np.random.random()) == expected  # the caller's generators go on as if untouched
    with pytest.raises(UsageError, match=re.escape("not a path: for a file, evaluate(DataConfig(source='t.csv'))")):
        seqsent.load(export).evaluate("t.csv")
    again = seqsent.export(export, output_dir=tmp_path / "models")
    with pytest.raises(UsageError, match="was trained on data given from Python, which an ensemble cannot read"):
        seqsent.ensemble([export, again], "both", output_dir=tmp_path / "models")
    with pytest.raises(UsageError, match="trained on data given from Python: give the data"):
        seqsent.evaluate(export)
    evaluation, _ = seqsent.report(export, tmp_path / "report", data=dataset)
    assert evaluation.metrics["examples"] == len(dataset.test) and evaluation.best_threshold is not None
    assert (tmp_path / "report" / "report.md").is_file()
    assert seqsent.load(export).evaluate(dataset).metrics == seqsent.evaluate(export, dataset).metrics
    with pytest.raises(UsageError, match="data= takes a seqsent.config.DataConfig or a Dataset made by"):
        seqsent.evaluate(export, data={"texts": TEXTS})


def test_every_command_is_a_function_of_the_package_by_the_same_name():
    import seqsent
    from seqsent_cli.main import group

    for command in group.list_commands(None):
        function = getattr(seqsent, command.replace("-", "_"))
        assert callable(function) and not isinstance(function, type(seqsent)), command
    assert set(seqsent.COMMANDS) <= set(seqsent.__all__)


def test_data_settings_a_python_dataset_cannot_apply_are_refused_not_recorded(tmp_path):
    import seqsent
    from conftest import tiny_run_config

    config = tiny_run_config("python", output_dir=str(tmp_path / "models"), runs_dir=str(tmp_path / "runs"))
    config.data.limit = 10
    with pytest.raises(UsageError, match=r"config.data.limit has no effect with a dataset= made by from_python"):
        seqsent.train(config, dataset=from_python(TEXTS, LABELS), verbose=0)
    assert not (tmp_path / "models").exists()


def test_a_dataset_reused_by_a_second_run_gets_that_runs_unlabelled_texts(tmp_path):
    import seqsent
    from conftest import tiny_run_config

    first, second = tmp_path / "first.txt", tmp_path / "second.txt"
    first.write_text("".join(f"an unlabelled text number {i}\n" for i in range(12)), encoding="utf-8")
    second.write_text("".join(f"zebraword review {i}\n" for i in range(15)), encoding="utf-8")
    dataset = from_python(TEXTS, LABELS)
    notes_before = list(dataset.notes)
    seen = []
    for source in (first, second):
        config = tiny_run_config("python", output_dir=str(tmp_path / "models"), runs_dir=str(tmp_path / "runs"),
                                 name=source.stem)
        config.train.epochs, config.semi.unlabelled, config.semi.unlabelled_vocabulary = 1, [str(source)], True
        seqsent.train(config, dataset=dataset, verbose=0, on_data=lambda d: seen.append(list(d.unlabelled)))
    assert len(seen[0]) == 12 and len(seen[1]) == 15 and all("zebraword" in text for text in seen[1])
    assert dataset.unlabelled == [] and dataset.notes == notes_before


def test_progress_is_a_bar_on_a_terminal_and_a_line_per_epoch_otherwise(monkeypatch):
    """The Python API's default, as the CLI's --verbose auto: a bar's redrawn lines fill a log file."""
    import io
    import sys

    from seqsent.progress import keras_verbosity

    monkeypatch.setattr(sys, "stdout", io.StringIO())
    assert keras_verbosity("auto") == 2 and keras_verbosity(1) == 1 and keras_verbosity(0) == 0

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr(sys, "stdout", Terminal())
    assert keras_verbosity("auto") == 1
