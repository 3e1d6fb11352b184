"""`seqsent evaluate --report`: every file of the report, real PNGs, the training history, atomic writes."""

from __future__ import annotations

import csv
import json
import struct
from pathlib import Path

import numpy as np
import pytest

from conftest import tiny_texts, write_csv

tf = pytest.importorskip("tensorflow")

from seqsent.config import RunConfig  # noqa: E402
from seqsent.errors import UsageError  # noqa: E402
from seqsent.evaluation.metrics import compute_metrics  # noqa: E402
from seqsent.layout import EXTRA_DIR, METADATA_FILE, model_metadata  # noqa: E402
from seqsent.serving.export import export_saved_model  # noqa: E402
from seqsent.api import evaluate, report  # noqa: E402
from seqsent.evaluation.reports import write_report  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
BINARY_FILES = {"metrics.json", "confusion_matrix.png", "roc.png", "precision_recall.png", "training_curves.png",
                "errors.csv", "report.md"}
HISTORY = {"loss": [0.69, 0.52, 0.47], "accuracy": [0.55, 0.74, 0.8], "val_loss": [0.6, 0.5, 0.55],
           "val_accuracy": [0.6, 0.7, 0.68]}


def assert_readable_png(path: Path, min_side: int = 400, max_side: int = 2500) -> None:
    """A real PNG (signature, IHDR), of a size a person can read, that is not a blank canvas."""
    import matplotlib.image

    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path.name} is not a PNG"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert min_side <= width <= max_side and min_side * 0.6 <= height <= max_side, (path.name, width, height)
    pixels = matplotlib.image.imread(path)
    assert pixels.shape[:2] == (height, width)
    assert pixels[..., :3].std() > 0.05, f"{path.name} looks blank"


def export_tiny(text_model, class_names, root: Path, name: str, history=None, per_class: int = 20) -> Path:
    """Export a conftest text model with metadata that records a tiny CSV as its training data."""
    labels = ("good", "bad", "meh")[: len(class_names)]
    data = write_csv(root / f"{name}.csv", tiny_texts(labels, per_class=per_class, seed=4))
    config = RunConfig(name=name, output_dir=str(root / "saved_models"), runs_dir="runs")
    config.data.source = str(data)
    metadata = model_metadata(class_names, config.to_dict())
    if history is not None:
        metadata["history"] = history
    return export_saved_model(text_model, metadata, root / "saved_models", name)


@pytest.fixture(scope="module")
def binary_export(binary_text_model, tmp_path_factory):
    return export_tiny(binary_text_model, ["bad", "good"], tmp_path_factory.mktemp("binary"), "tiny-binary", HISTORY)


@pytest.fixture(scope="module")
def three_class_export(three_class_text_model, tmp_path_factory):
    return export_tiny(three_class_text_model, ["bad", "good", "meh"], tmp_path_factory.mktemp("three"), "tiny-three")


@pytest.fixture(scope="module")
def binary_report(binary_export, tmp_path_factory):
    out = tmp_path_factory.mktemp("reports") / "binary"
    evaluation, written = report(binary_export, out, threshold=0.5)
    return evaluation, written


def test_binary_report_writes_every_file_and_real_pngs(binary_report):
    evaluation, out = binary_report
    assert {p.name for p in out.iterdir()} == BINARY_FILES
    for png in out.glob("*.png"):
        assert_readable_png(png)
    markdown = (out / "report.md").read_text(encoding="utf-8")
    for png in out.glob("*.png"):
        assert f"]({png.name})" in markdown
    assert "Threshold maximising F1 on the validation split" in markdown
    assert not list(out.parent.glob(".binary.*")), "a staging directory was left behind"


def test_report_metrics_match_the_metrics_of_its_probabilities(binary_report):
    evaluation, out = binary_report
    saved = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    expected = compute_metrics(evaluation.labels, evaluation.probabilities, ["bad", "good"], threshold=0.5)
    for key in ("examples", "accuracy", "precision", "recall", "f1", "roc_auc", "loss", "threshold"):
        assert saved[key] == pytest.approx(expected[key]), key
    predicted = (evaluation.probabilities[:, 1] >= 0.5).astype(int)
    assert saved["accuracy"] == pytest.approx(np.mean(predicted == evaluation.labels))
    assert saved["confusion_matrix"] == [[int(np.sum((evaluation.labels == t) & (predicted == p))) for p in (0, 1)]
                                         for t in (0, 1)]
    assert saved["examples"] == 8  # 20% of 40 rows held out as test
    assert set(saved["per_class"]) == {"bad", "good"}
    best = saved["best_threshold_on_validation"]
    assert 0.0 <= best["threshold"] <= 1.0 and best["examples"] == 3  # 10% of the 32 remaining rows
    assert saved["history_source"] == "the model's metadata"


def test_errors_csv_lists_wrong_predictions_most_confident_first(binary_report):
    evaluation, out = binary_report
    with open(out / "errors.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    predicted = (evaluation.probabilities[:, 1] >= 0.5).astype(int)
    assert len(rows) == int((predicted != evaluation.labels).sum())
    confidences = [float(r["predicted_probability"]) for r in rows]
    assert confidences == sorted(confidences, reverse=True)
    for row in rows:
        i = int(row["index"])
        assert row["text"] == evaluation.texts[i]
        assert row["true_label"] == ["bad", "good"][evaluation.labels[i]] != row["predicted_label"]
        assert float(row["predicted_probability"]) >= 0.5


def test_three_class_report_draws_one_vs_rest_curves_and_has_no_threshold(three_class_export, tmp_path):
    evaluation, out = report(three_class_export, tmp_path / "three")
    assert {p.name for p in out.iterdir()} == BINARY_FILES - {"training_curves.png"}
    for png in out.glob("*.png"):
        assert_readable_png(png)
    saved = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert saved["best_threshold_on_validation"] is None and "threshold" not in saved
    assert set(saved["per_class"]) == {"bad", "good", "meh"}
    assert sum(c["support"] for c in saved["per_class"].values()) == saved["examples"]
    assert "No training history" in (out / "report.md").read_text(encoding="utf-8")
    with pytest.raises(UsageError, match="2-class models"):
        evaluate(three_class_export, threshold=0.5)


def test_report_replaces_only_an_older_report_and_only_with_overwrite(binary_report, tmp_path):
    evaluation, _ = binary_report
    target = tmp_path / "existing"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    with pytest.raises(UsageError, match="--overwrite"):
        write_report(evaluation, target)
    assert [p.name for p in target.iterdir()] == ["keep.txt"]
    with pytest.raises(UsageError, match="holds 'keep.txt', which this command does not write"):
        write_report(evaluation, target, overwrite=True)
    assert [p.name for p in target.iterdir()] == ["keep.txt"]
    (target / "keep.txt").unlink()
    (target / "report.md").write_text("an older report")
    write_report(evaluation, target, overwrite=True)
    assert {p.name for p in target.iterdir()} == BINARY_FILES
    assert [p.name for p in tmp_path.iterdir()] == ["existing"], "staging or old directories were left behind"
    empty = tmp_path / "empty"
    empty.mkdir()
    write_report(evaluation, empty)  # an empty directory is fine
    assert (empty / "report.md").is_file()


def test_a_failing_report_leaves_nothing_behind(binary_report, tmp_path, monkeypatch):
    from seqsent.evaluation import plots

    evaluation, _ = binary_report

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(plots, "roc_figure", broken)
    with pytest.raises(RuntimeError):
        write_report(evaluation, tmp_path / "report")
    assert list(tmp_path.iterdir()) == []


def test_history_travels_in_the_exports_metadata(binary_export, three_class_export):
    from seqsent.layout import recorded_history
    from seqsent.serving.inference import load_model

    for path in (binary_export, binary_export / EXTRA_DIR / "keras_model.json"):
        assert recorded_history(load_model(path).metadata) == (HISTORY, "the model's metadata")
    history, source = recorded_history(load_model(three_class_export).metadata)
    assert history is None and "records no training history" in source
    assert (three_class_export / EXTRA_DIR / METADATA_FILE).is_file()


def test_evaluate_report_and_compare_score_a_model_identically(binary_export, tmp_path):
    from seqsent.comparison import score_splits
    from seqsent.config import recorded_data_config
    from seqsent.data import load_dataset
    from seqsent.serving.inference import load_model

    model = load_model(binary_export)
    plain = evaluate(binary_export)
    reported, _ = report(binary_export, tmp_path / "r")
    _, compared, _ = score_splits(model, load_dataset(recorded_data_config(model.metadata, model.path)))
    assert plain.metrics == reported.metrics == compared.metrics
    assert plain.metrics["examples"] == compared.metrics["examples"] > 0


def test_cli_evaluate_report_prints_the_validation_threshold_and_refuses_to_clobber(binary_export, tmp_path, capsys):
    from test_cli import assert_one_line_error, run_main

    out = tmp_path / "cli-report"
    code, stdout, err = run_main(capsys, "evaluate", binary_export, "--report", out, "--threshold", "0.4")
    assert code == 0, err
    assert "threshold  0.4000" in stdout
    assert "Threshold maximising F1 on validation:" in stdout
    assert f"Report: {out / 'report.md'}" in stdout
    assert json.loads((out / "metrics.json").read_text())["threshold"] == 0.4
    code, _, err = run_main(capsys, "evaluate", binary_export, "--report", out)
    assert_one_line_error(code, err, 2, "already exists and is not empty")
    code, stdout, err = run_main(capsys, "evaluate", binary_export, "--report", out, "--overwrite", "--json")
    assert code == 0, err
    printed = json.loads(stdout)
    assert printed["report"] == str(out) and "threshold" not in printed
    assert np.isfinite(printed["best_threshold_on_validation"]["threshold"])
    code, stdout, err = run_main(capsys, "evaluate", binary_export, "--threshold", "0.4", "--json")
    assert code == 0, err
    printed = json.loads(stdout)  # no report written: no "report" key (it said "None", a directory never made)
    assert "report" not in printed and np.isfinite(printed["best_threshold_on_validation"]["threshold"])


def test_evaluate_report_overwrite_never_deletes_the_model_it_scores(binary_export, capsys):
    from test_cli import assert_one_line_error, run_main

    model_dir = binary_export.parent  # saved_models/NAME, holding the version directory
    before = sorted(p.relative_to(model_dir) for p in model_dir.rglob("*"))
    code, _, err = run_main(capsys, "evaluate", binary_export, "--report", model_dir, "--overwrite")
    assert_one_line_error(code, err, 2, f"holds '{binary_export.name}', which this command does not write")
    assert sorted(p.relative_to(model_dir) for p in model_dir.rglob("*")) == before


def test_report_summary_names_the_weakest_class_present_and_says_when_all_tie(binary_report):
    import dataclasses

    from seqsent.evaluation.reports import _markdown

    evaluation, _ = binary_report
    tied = dataclasses.replace(evaluation, scores=dataclasses.replace(evaluation.scores, per_class={
        name: {**values, "f1": 1.0, "support": 4} for name, values in evaluation.per_class.items()}))
    assert "Every class has F1 1.000." in _markdown(tied, [])
    absent = dataclasses.replace(evaluation, scores=dataclasses.replace(evaluation.scores, per_class={
        "bad": {**evaluation.per_class["bad"], "f1": 0.0, "support": 0},
        "good": {**evaluation.per_class["good"], "f1": 0.8, "support": 8}}))
    assert "The class with the lowest F1 is `good` (0.800)." in _markdown(absent, [])
    from seqsent.evaluation.reports import _weakest_class

    one_absent = dataclasses.replace(evaluation, scores=dataclasses.replace(evaluation.scores, per_class={
        "bad": {"f1": 1.0, "support": 4}, "good": {"f1": 1.0, "support": 4}, "rare": {"f1": 0.0, "support": 0}}))
    assert _weakest_class(one_absent) == "Every class the test data holds has F1 1.000. "


def test_characters_the_plot_font_lacks_are_noted_once_not_warned_from_the_source_file(tmp_path):
    """matplotlib warned once per plot, naming seqsent's source file; the boxes it draws are now said in a note."""
    import warnings

    from seqsent.evaluation import plots

    private = "class \U0010fffd"  # a private-use character: no font has it
    assert plots.undrawable(["good", "bad", private]) == [private]
    figure = plots.new_figure(3, 2)
    figure.add_subplot().set_title(private)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plots.save_png(figure, tmp_path / "plot.png")
    assert not [w for w in caught if "missing from font" in str(w.message)]
    assert_readable_png(tmp_path / "plot.png", min_side=200)


def test_a_report_says_which_class_names_its_plots_cannot_draw(binary_export, tmp_path, monkeypatch):
    from seqsent.evaluation import plots

    monkeypatch.setattr(plots, "undrawable", lambda names: [names[0]])  # as a CJK name is without a CJK font
    evaluation, out = report(binary_export, tmp_path / "boxes")
    note = ("the plots' font has no glyph for some characters of 'bad': they show as boxes in the plots (report.md "
            "and metrics.json name the classes in full)")
    assert note in evaluation.notes and f"- Note: {note}" in (out / "report.md").read_text(encoding="utf-8")
