"""The command line, end to end on a tiny 3-class CSV: train, evaluate, predict, export, and its error lines."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from seqsent_cli.main import COMMANDS, group, main
from seqsent_cli.options import DATA_OPTIONS, TRAIN_OPTIONS
from conftest import REPO_ROOT, tiny_texts, write_csv
from seqsent.config import RunConfig, default_of

CLASSES = ["bad", "good", "meh"]
SEQSENT = Path(sys.executable).parent / "seqsent"


def invoke(*args, input=None):
    result = CliRunner().invoke(group, [str(a) for a in args], input=input, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def run_main(capsys, *args):
    """seqsent_cli.main.main as the console script runs it: returns (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as excinfo:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    return excinfo.value.code, out, err


def assert_one_line_error(code, err, expected_code, fragment):
    assert code == expected_code, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("seqsent: error:"), err
    assert fragment in lines[0]


# ---------------------------------------------------------------- help


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_group_help_lists_every_command():
    output = invoke("--help").output
    for name in COMMANDS:
        assert re.search(rf"^\s+{name}\s", output, re.MULTILINE), name
    assert "--debug" in output and "--version" in output


def test_bare_seqsent_prints_the_help_on_stdout_and_exits_0(capsys):
    code, out, err = run_main(capsys)
    assert code == 0 and not err
    assert out.startswith("Usage: seqsent [OPTIONS] COMMAND [ARGS]...")
    for name in COMMANDS:
        assert re.search(rf"^\s+{name}\s", out, re.MULTILINE), name


def test_version_option_prints_package_version():
    from seqsent import __version__

    assert __version__ in invoke("--version").output


@pytest.mark.parametrize("command", list(COMMANDS))
def test_command_help_lists_every_option_and_its_default(command):
    output = invoke(command, "--help").output
    cmd = group.get_command(click.Context(group), command)
    for param in cmd.params:
        if not isinstance(param, click.Option):
            assert param.human_readable_name.upper() in output
            continue
        for opt in param.opts + param.secondary_opts:
            assert opt in output, f"{opt} missing from `seqsent {command} --help`"
        ctx = click.Context(cmd)
        plain_flag = param.is_flag and not param.secondary_opts  # off unless given: nothing to show
        if not plain_flag and not param.required:  # one without a default says so ("none: ...")
            assert "default:" in param.get_help_record(ctx)[1], f"{param.name} hides its default"


@pytest.mark.parametrize("command, specs", [("train", DATA_OPTIONS + TRAIN_OPTIONS), ("evaluate", DATA_OPTIONS)])
def test_help_defaults_come_from_the_config_dataclasses(command, specs):
    output = squash(invoke(command, "--help").output)
    for flag, section, field, _, _ in specs:
        default = default_of(section, field)
        if default is None:
            continue
        if command == "evaluate" and field == "source":  # without --data: the model's own data, not the sample
            shown = "(the data MODEL was trained on)"
        elif command == "evaluate" and field in ("text_column", "label_column"):
            shown = "(the column MODEL was trained on)"
        elif isinstance(default, bool):
            shown = flag.split("/")[0 if default else 1].strip().lstrip("-")
        elif isinstance(default, list):  # a repeatable option
            shown = f"({', '.join(default) or 'none'})"  # click shows a text default in brackets
        else:
            shown = str(default)
        assert f"[default:{squash(shown)}]" in output, f"{flag} should show default {shown}"
    if command == "train":
        assert "[default:DATA-ARCH" in output


def test_train_help_names_class_names_as_text_not_paths():
    output = invoke("train", "--help").output
    assert re.search(r"--classes TEXT", output) and re.search(r"--unlabelled PATH", output)


def test_help_does_not_import_tensorflow():
    code = ("import sys\nfrom seqsent_cli.main import main, COMMANDS\n"
            "for args in [['--help']] + [[c, '--help'] for c in COMMANDS]:\n"
            "    try:\n        main(args)\n    except SystemExit as e:\n        assert e.code == 0, args\n"
            "print('tensorflow' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"


# ---------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli")
    write_csv(path / "reviews.csv", tiny_texts(per_class=20))
    return path


@pytest.fixture(scope="module")
def trained(workdir):
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(workdir)
        result = invoke("train", "--data", workdir / "reviews.csv", "--arch", "gru", "--epochs", 1, "--units", 4,
                        "--embedding-dim", 8, "--max-tokens", 200, "--sequence-length", 20, "--name", "t",
                        "--output-dir", workdir / "models", "--runs-dir", workdir / "runs")
    return {"output": result.output, "export": workdir / "models" / "t" / "1", "run": workdir / "runs" / "t" / "1"}


def test_train_reports_splits_metrics_and_export(trained):
    output = trained["output"]
    assert "classes: bad, good, meh" in output
    assert "Test metrics" in output and "confusion matrix" in output
    assert f"Exported: {trained['export']}" in output
    assert (trained["export"] / "saved_model.pb").is_file()


def test_train_writes_a_reproducible_run_directory(trained):
    run = trained["run"]
    config = RunConfig.from_dict(json.loads((run / "config.json").read_text(encoding="utf-8")))
    assert (config.name, config.model.arch, config.model.units, config.text.max_tokens) == ("t", "gru", 4, 200)
    metrics = json.loads((run / "metrics.json").read_text(encoding="utf-8"))
    assert metrics["class_names"] == CLASSES
    assert metrics["test"]["examples"] == metrics["split_sizes"]["test"] == 12
    history = json.loads((run / "history.json").read_text(encoding="utf-8"))
    assert len(history["loss"]) == 1
    assert not list(run.parent.glob("in-progress-*"))


def test_evaluate_prints_a_metrics_table(trained):
    output = invoke("evaluate", trained["export"]).output
    assert f"Model: {trained['export']}" in output
    assert "reviews.csv" in output
    for name in CLASSES:
        assert name in output
    assert re.search(r"accuracy\s+\d\.\d{4}", output)
    # Training's advice on its small validation split is not evaluate's to give.
    assert "the validation split holds" in trained["output"] and "the validation split holds" not in output


def test_evaluate_notes_split_options_that_change_nothing(trained, workdir, tmp_path):
    """The training file is split as trained, another file scored whole: a --seed or --test-fraction given is said
    to have had no effect rather than silently ignored."""
    own = invoke("evaluate", trained["export"], "--data", workdir / "reviews.csv", "--seed", 5, "--limit", 10).output
    assert ("Note: --seed 5, --limit 10 had no effect: the model's training data is split as it was in training "
            "(its recorded settings)") in own
    assert own.split("examples")[1].split()[0] == invoke("evaluate", trained["export"]).output.split(
        "examples")[1].split()[0]
    other = write_csv(tmp_path / "other.csv", tiny_texts(per_class=4, seed=9))
    whole = invoke("evaluate", trained["export"], "--data", other, "--test-fraction", 0.5).output
    assert "Note: --test-fraction 0.5 had no effect: data the model was not trained on is scored whole" in whole
    assert "examples   12" in whole


def test_evaluate_on_a_copy_of_the_training_file_counts_the_texts_the_model_trained_on(trained, workdir, tmp_path):
    """A copy with its rows in another order is another file, scored whole: its train rows flatter the metrics."""
    header, *rows = (workdir / "reviews.csv").read_bytes().splitlines(keepends=True)
    copy = tmp_path / "copy.csv"
    copy.write_bytes(header + b"".join(reversed(rows)))
    output = invoke("evaluate", trained["export"], "--data", copy).output
    train_rows = json.loads((trained["export"] / "assets.extra" / "seqsent.json").read_text())["data"]["split_sizes"]["train"]
    assert (f"Note: {train_rows} of the 60 scored texts are texts the model trained on ({workdir / 'reviews.csv'}): "
            "the metrics overstate accuracy on unseen texts") in output
    other = write_csv(tmp_path / "other.csv", tiny_texts(per_class=4, seed=9))
    assert "texts the model trained on" not in invoke("evaluate", trained["export"], "--data", other).output


def test_evaluate_json_matches_the_metrics_recorded_at_export(trained):
    metrics = json.loads(invoke("evaluate", trained["export"], "--json").stdout)
    assert metrics["class_names"] == CLASSES
    assert metrics["examples"] == 12
    assert len(metrics["confusion_matrix"]) == 3
    recorded = json.loads((trained["run"] / "metrics.json").read_text(encoding="utf-8"))["test"]
    assert metrics["accuracy"] == pytest.approx(recorded["accuracy"])
    assert metrics["loss"] == pytest.approx(recorded["loss"], abs=1e-6)


def test_evaluate_names_the_test_part_of_its_data_once(trained):
    output = invoke("evaluate", trained["export"]).stdout
    [data_line] = [line for line in output.splitlines() if line.startswith("Data:")]
    assert data_line.endswith("reviews.csv (12 rows held out as test)"), data_line


def test_evaluate_on_data_lacking_a_class_says_how_macro_averages_count_it_and_plots_quietly(trained, tmp_path,
                                                                                              capsys):
    import warnings

    data = write_csv(tmp_path / "two.csv", [row for row in tiny_texts(per_class=4, seed=5) if row[1] != "meh"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code, out, err = run_main(capsys, "evaluate", trained["export"], "--data", data, "--report", tmp_path / "r")
    assert code == 0, err
    assert "the test data has no example of 'meh': the macro averages count each such class with recall" in out
    assert not [w for w in caught if "legend" in str(w.message)], [str(w.message) for w in caught]


def test_evaluate_reads_another_table_with_the_model_recorded_columns(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rows = tiny_texts(("neg", "pos"), per_class=10)
    data = write_csv(tmp_path / "train.csv", rows, header=("review", "sentiment"))
    invoke("train", "--data", data, "--text-column", "review", "--label-column", "sentiment", "--arch", "bow",
           "--epochs", 1, "--max-tokens", 100, "--name", "cols", "--quiet")
    other = write_csv(tmp_path / "other.csv", tiny_texts(("neg", "pos"), per_class=4, seed=3),
                      header=("review", "sentiment"))
    result = invoke("evaluate", tmp_path / "saved_models" / "cols", "--data", other, "--json")
    metrics = json.loads(result.stdout)
    assert metrics["examples"] == 8
    assert "read with the model's own columns: --text-column review, --label-column sentiment" in metrics["notes"]


def test_evaluate_refuses_a_recorded_relative_data_path_naming_another_file_from_here(tmp_path, monkeypatch, capsys):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    monkeypatch.chdir(tmp_path / "a")
    write_csv(tmp_path / "a" / "train.csv", tiny_texts(("neg", "pos"), per_class=10))
    invoke("train", "--data", "train.csv", "--arch", "bow", "--epochs", 1, "--max-tokens", 100, "--name", "m",
           "--quiet")
    model = tmp_path / "a" / "saved_models" / "m"
    monkeypatch.chdir(tmp_path / "b")  # here "train.csv" is another file: the same texts, the labels swapped
    swapped = [(text, {"neg": "pos", "pos": "neg"}[label]) for text, label in tiny_texts(("neg", "pos"), per_class=10)]
    write_csv(tmp_path / "b" / "train.csv", swapped)
    code, out, err = run_main(capsys, "evaluate", model)
    assert_one_line_error(code, err, 1, "train.csv is not the file")
    shutil.copy(tmp_path / "a" / "train.csv", tmp_path / "b" / "train.csv")  # a copy is the file
    code, out, err = run_main(capsys, "evaluate", model)
    assert code == 0 and "held out as test" in out, err


def test_evaluate_of_a_model_that_records_no_training_data_says_it_scored_the_sample(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = write_csv(tmp_path / "train.csv", tiny_texts(("neg", "pos"), per_class=10))
    invoke("train", "--data", data, "--arch", "bow", "--epochs", 1, "--max-tokens", 100, "--name", "m", "--quiet")
    metadata = tmp_path / "saved_models" / "m" / "1" / "assets.extra" / "seqsent.json"
    recorded = json.loads(metadata.read_text(encoding="utf-8"))
    del recorded["config"]  # e.g. a model exported from a .keras file of unknown origin
    metadata.write_text(json.dumps(recorded), encoding="utf-8")
    notes = json.loads(invoke("evaluate", tmp_path / "saved_models" / "m", "--data", "sample", "--limit", 20,
                              "--json").stdout)["notes"]
    assert any("records no training data, so the bundled IMDB sample was scored" in note for note in notes)


def test_evaluate_reads_again_a_sample_model_whose_older_record_kept_an_ignored_test_fraction(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    invoke("train", "--data", "sample", "--limit", 40, "--arch", "bow", "--epochs", 1, "--max-tokens", 100,
           "--name", "m", "--quiet")
    metadata = tmp_path / "saved_models" / "m" / "1" / "assets.extra" / "seqsent.json"
    recorded = json.loads(metadata.read_text(encoding="utf-8"))
    recorded["config"]["data"]["test_fraction"] = 0.3  # accepted, and ignored, before seqsent refused it
    metadata.write_text(json.dumps(recorded), encoding="utf-8")
    result = json.loads(invoke("evaluate", tmp_path / "saved_models" / "m", "--json").stdout)
    assert result["examples"] > 0


def _tiny_bow_model(tmp_path, monkeypatch, name="m"):
    monkeypatch.chdir(tmp_path)
    data = write_csv(tmp_path / "train.csv", tiny_texts(("neg", "pos"), per_class=10))
    invoke("train", "--data", "train.csv", "--arch", "bow", "--epochs", 1, "--max-tokens", 100, "--name", name,
           "--quiet")
    return data, tmp_path / "saved_models" / name


@pytest.mark.parametrize("options", [["--limit", "20"], ["--seed", "1"], ["--text-column", "text"]])
@pytest.mark.parametrize("command", [["evaluate", "{model}"], ["ensemble", "{model}", "{model}", "--name", "e"]])
def test_data_options_without_data_are_refused_not_applied_to_the_bundled_sample(tmp_path, monkeypatch, capsys,
                                                                                 command, options):
    monkeypatch.chdir(tmp_path)
    model = tmp_path / "saved_models" / "m"  # refused before the model is read
    code, out, err = run_main(capsys, *[str(model) if part == "{model}" else part for part in command], *options)
    assert_one_line_error(code, err, 2, f"{options[0]} without --data or --test-data")
    assert not (tmp_path / "saved_models" / "e").exists()


def test_evaluate_help_says_the_default_data_is_the_models_own():
    assert "[default: (the data MODEL was trained on)]" in " ".join(invoke("evaluate", "--help").output.split())


def test_evaluate_test_data_naming_the_training_file_says_train_rows_are_scored(tmp_path, monkeypatch):
    data, model = _tiny_bow_model(tmp_path, monkeypatch)
    copy = shutil.copy(data, tmp_path / "copy.csv")  # known by its contents, not its name
    result = json.loads(invoke("evaluate", model, "--test-data", copy, "--json").stdout)
    assert result["examples"] == 20
    assert any("is the file the model was trained on: every row is scored" in note for note in result["notes"])
    other = write_csv(tmp_path / "other.csv", tiny_texts(("neg", "pos"), per_class=4, seed=5))
    assert not any("trained on" in note for note in
                   json.loads(invoke("evaluate", model, "--test-data", other, "--json").stdout)["notes"])


def test_evaluate_from_another_directory_names_the_recorded_training_path(tmp_path, monkeypatch, capsys):
    _, model = _tiny_bow_model(tmp_path, monkeypatch)
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    code, _, err = run_main(capsys, "evaluate", model)
    assert_one_line_error(code, err, 1, "was trained on --data train.csv, a path relative to where it was trained")


@pytest.mark.parametrize("command", [["train"], ["prepare", "", "--output", "prepared"],
                                     ["pretrain-embeddings", "--output", "v.vec"], ["pretrain-lm", "--output", "lm"]])
def test_an_empty_data_value_is_refused_not_read_as_the_working_directory(tmp_path, monkeypatch, capsys, command):
    monkeypatch.chdir(tmp_path)
    write_csv(tmp_path / "reviews.csv", tiny_texts(("neg", "pos"), per_class=10))
    data = [] if command[0] == "prepare" else ["--data", ""]
    code, _, err = run_main(capsys, *command, *data)
    assert_one_line_error(code, err, 2, "--data is empty (an unset shell variable?)")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reviews.csv"]


@pytest.mark.parametrize("command", [["predict", "{model}", "fine"], ["export", "{model}", "--name", "copy"]])
def test_class_names_the_model_does_not_score_are_a_one_line_error(trained, tmp_path, capsys, command):
    model = tmp_path / "edited"
    shutil.copytree(trained["export"], model)
    metadata = model / "assets.extra" / "seqsent.json"
    recorded = json.loads(metadata.read_text(encoding="utf-8"))
    recorded["class_names"] += ["extra"]  # 4 names for 3 outputs
    metadata.write_text(json.dumps(recorded), encoding="utf-8")
    args = [part.format(model=model) for part in command]
    if command[0] == "export":
        args += ["--output-dir", tmp_path / "out"]
    code, _, err = run_main(capsys, *args)
    assert_one_line_error(code, err, 1, f"{model}: its seqsent.json names 4 classes (bad, good, meh, extra) but the "
                                        "model scores 3")


def test_a_two_class_model_of_one_sigmoid_unit_is_said_to_score_two_classes(tmp_path):
    from seqsent.errors import ModelError
    from seqsent.serving.inference import _check_class_count

    _check_class_count(tmp_path, ["neg", "pos"], 1)
    with pytest.raises(ModelError, match=r"names 3 classes \(a, b, c\) but the model scores 2;"):
        _check_class_count(tmp_path, ["a", "b", "c"], 1)


def test_a_file_where_the_model_directory_goes_is_refused_before_training(workdir, tmp_path, capsys):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "clash").write_text("not a directory", encoding="utf-8")
    code, out, err = run_main(capsys, "train", "--data", workdir / "reviews.csv", "--arch", "bow", "--epochs", 1,
                              "--name", "clash", "--output-dir", tmp_path / "out", "--runs-dir", tmp_path / "runs")
    assert_one_line_error(code, err, 2, "out/clash is a file, not a directory")
    assert "Epoch" not in out and not (tmp_path / "runs").exists()


def parse_predictions(output):
    lines = output.strip().splitlines()
    parsed = []
    for line in lines:
        label, probability, text = line.split("\t")
        assert label in CLASSES
        assert 1 / 3 - 1e-4 <= float(probability) <= 1.0
        parsed.append((label, text))
    return parsed


def test_predict_labels_texts_given_as_arguments(trained):
    parsed = parse_predictions(invoke("predict", trained["export"], "superb film", "dull and boring").output)
    assert [text for _, text in parsed] == ["superb film", "dull and boring"]


def test_predict_from_python_reads_a_generator_once_and_gives_bytes_back_as_text(trained):
    import seqsent

    texts = ["a fine film", "dull"]
    expected = [(p.label, p.probability) for p in seqsent.predict(trained["export"], texts)]
    from_generator = seqsent.predict(trained["export"], (t for t in texts))
    assert [(p.label, p.probability) for p in from_generator] == expected
    from_bytes = seqsent.predict(trained["export"], [t.encode() for t in texts])
    assert [p.text for p in from_bytes] == texts and [p.line().split("\t")[2] for p in from_bytes] == texts


def test_predict_reads_texts_from_a_file(trained, tmp_path):
    texts = tmp_path / "texts.txt"
    texts.write_text("great movie\n\nawful movie\n" + "x" * 100 + "\n", encoding="utf-8")
    parsed = parse_predictions(invoke("predict", trained["export"], "--file", texts).stdout)
    assert len(parsed) == 3  # the blank line is skipped
    assert parsed[2][1].endswith("...") and len(parsed[2][1]) == 60


def test_predict_piped_into_a_reader_that_stops_early_exits_quietly(trained, tmp_path):
    """`seqsent predict ... | head -1`: the closed pipe is no error to report (exit 141, as a killed writer's)."""
    import subprocess
    import sys

    texts = tmp_path / "many.txt"
    texts.write_text("".join(f"a fine film number {i}, worth seeing again\n" for i in range(3000)), encoding="utf-8")
    seqsent = Path(sys.executable).parent / "seqsent"
    proc = subprocess.Popen([str(seqsent), "predict", str(trained["export"]), "--file", str(texts)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    first = proc.stdout.readline()
    proc.stdout.close()  # more than a pipe's buffer (64 KiB) is still to be written
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141 and first.count(b"\t") == 2
    assert "error" not in stderr and "Traceback" not in stderr and "Exception" not in stderr, stderr


def test_predict_reads_texts_from_stdin_as_json(trained):
    output = invoke("predict", trained["export"], "--json", input="wonderful\nmediocre film\n").output
    records = [json.loads(line) for line in output.strip().splitlines()]
    assert [r["text"] for r in records] == ["wonderful", "mediocre film"]
    for record in records:
        assert set(record["probabilities"]) == set(CLASSES)
        assert sum(record["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
        assert record["probability"] == pytest.approx(record["probabilities"][record["label"]])


def test_predict_file_notes_how_many_blank_lines_it_skipped(trained, tmp_path, capsys):
    texts = tmp_path / "blanks.txt"
    texts.write_text("loved it\n\nawful\n   \r\nfine\n", encoding="utf-8")
    code, out, err = run_main(capsys, "predict", trained["export"], "--file", texts)
    assert code == 0, err
    assert [text for _, text in parse_predictions(out)] == ["loved it", "awful", "fine"]
    assert f"{texts}: skipped 2 blank lines" in err


def test_predict_file_with_a_byte_order_mark_predicts_its_first_line_as_written(trained, tmp_path, capsys):
    texts = tmp_path / "bom.txt"
    texts.write_bytes(b"\xef\xbb\xbfwonderful\nwonderful\n")
    code, out, err = run_main(capsys, "predict", trained["export"], "--file", texts, "--json")
    assert code == 0, err
    first, second = [json.loads(line) for line in out.strip().splitlines()]
    assert first == second and first["text"] == "wonderful"


@pytest.mark.parametrize("text", ["", "   "])
def test_predict_empty_text_argument_is_a_one_line_error(capsys, tmp_path, text):
    code, out, err = run_main(capsys, "predict", tmp_path / "no-model", "fine", text)
    assert_one_line_error(code, err, 2, "text argument 2 is empty")
    assert not out


def test_predict_file_of_only_blank_lines_is_a_one_line_error(capsys, tmp_path):
    texts = tmp_path / "blank.txt"
    texts.write_text("\n  \n\n", encoding="utf-8")
    code, _, err = run_main(capsys, "predict", tmp_path / "no-model", "--file", texts)
    assert_one_line_error(code, err, 1, "only blank lines")


def test_predict_file_line_holding_unicode_separators_is_one_text(trained, tmp_path):
    texts = tmp_path / "texts.txt"
    texts.write_text("good\x85movie\u2028really\n", encoding="utf-8")
    output = invoke("predict", trained["export"], "--file", texts, "--json").output
    records = [json.loads(line) for line in output.strip().split("\n")]  # JSON lines: one per "\n"
    assert [r["text"] for r in records] == ["good\x85movie\u2028really"]


def test_predict_plain_output_keeps_a_text_holding_line_breaks_on_one_line(monkeypatch, tmp_path):
    """The text is escaped ("\\n") in the plain output only; --json keeps it exact."""
    import seqsent.api
    from seqsent.api import Prediction

    def predict(model, texts, threshold=None):
        return [Prediction(text, "good", 0.9, {"good": 0.9, "bad": 0.1}) for text in texts]

    monkeypatch.setattr(seqsent.api, "predict", predict)
    text = "fine\nfilm\r\nreally\u2028so"
    plain = invoke("predict", tmp_path / "model", text, "other").output
    assert plain.splitlines() == ["good\t0.9000\tfine\\nfilm\\r\\nreally\\u2028so", "good\t0.9000\tother"]
    records = invoke("predict", tmp_path / "model", text, "--json").output.strip().split("\n")
    assert [json.loads(record)["text"] for record in records] == [text]
    assert Prediction("x", "line\nbreak", 0.9, {}).line() == "line\\nbreak\t0.9000\tx"  # a class name holding one


def test_predict_file_that_is_a_table_labels_its_text_column_not_its_header_or_labels(monkeypatch, tmp_path):
    """A .csv/.tsv/.jsonl --file is read as `train --unlabelled` reads one: the texts of its --text-column."""
    import seqsent.api
    from seqsent.api import Prediction

    monkeypatch.setattr(seqsent.api, "predict", lambda model, texts, threshold=None: [Prediction(t, "good", 0.9, {}) for t in texts])
    table = write_csv(tmp_path / "reviews.csv", [("a fine film", "good"), ("dull, far too long", "bad")])
    records = [json.loads(line) for line in invoke("predict", tmp_path / "model", "--file", table, "--json").output
               .strip().split("\n")]
    assert [r["text"] for r in records] == ["a fine film", "dull, far too long"]
    lines = tmp_path / "reviews.jsonl"
    lines.write_text('{"review": "superb", "stars": 5}\n{"review": "awful", "stars": 1}\n', encoding="utf-8")
    output = invoke("predict", tmp_path / "model", "--file", lines, "--text-column", "review").output
    assert [line.split("\t")[2] for line in output.splitlines()] == ["superb", "awful"]


def test_predict_text_column_without_a_table_file_or_missing_from_it_is_a_one_line_error(capsys, tmp_path):
    plain = tmp_path / "texts.txt"
    plain.write_text("fine\n", encoding="utf-8")
    code, _, err = run_main(capsys, "predict", tmp_path / "model", "--file", plain, "--text-column", "review")
    assert_one_line_error(code, err, 2, "--text-column goes with a table --file (.csv/.tsv/.jsonl)")
    table = write_csv(tmp_path / "reviews.csv", [("a fine film", "good")])
    code, _, err = run_main(capsys, "predict", tmp_path / "model", "--file", table, "--text-column", "review")
    assert_one_line_error(code, err, 1, "no column 'review'")


def _export_recording_columns(base: Path, text_column: str) -> Path:
    """An export's directory as far as reading its seqsent.json goes (no graph: predict is replaced in the test)."""
    version = base / "1"
    (version / "assets.extra").mkdir(parents=True)
    (version / "saved_model.pb").write_bytes(b"")
    (version / "assets.extra" / "seqsent.json").write_text(json.dumps({
        "format": "seqsent-model", "format_version": 1, "class_names": ["bad", "good"],
        "config": {"data": {"source": "reviews.csv", "text_column": text_column, "label_column": "stars"}}}))
    return version


def test_predict_table_file_is_read_by_the_models_training_text_column_and_skipped_rows_are_counted(
        monkeypatch, capsys, tmp_path):
    import seqsent.api
    from seqsent.api import Prediction

    monkeypatch.setattr(seqsent.api, "predict", lambda model, texts, threshold=None: [Prediction(t, "good", 0.9, {}) for t in texts])
    model = _export_recording_columns(tmp_path / "model", "review")
    table = tmp_path / "new.csv"
    table.write_text("review,text\nsuperb,not this\n,nor this\nawful,nor that\n", encoding="utf-8")
    code, out, err = run_main(capsys, "predict", model, "--file", table)
    assert code == 0
    assert [line.split("\t")[2] for line in out.splitlines()] == ["superb", "awful"]
    assert "skipped 1 row without a text in column 'review'" in err
    code, out, _ = run_main(capsys, "predict", model, "--file", table, "--text-column", "text")
    assert [line.split("\t")[2] for line in out.splitlines()] == ["not this", "nor this", "nor that"]


def test_predict_table_without_the_models_text_column_names_where_the_column_came_from(capsys, tmp_path):
    model = _export_recording_columns(tmp_path / "model", "review")
    table = write_csv(tmp_path / "other.csv", [("a fine film", "good")])  # columns text, label
    code, _, err = run_main(capsys, "predict", model, "--file", table)
    assert_one_line_error(code, err, 1, "no column 'review'")
    assert "the model's training --text-column; choose another with --text-column" in err
    assert "--label-column" not in err  # predict has no such option
    header_only = tmp_path / "header.csv"
    header_only.write_text("review,label\n", encoding="utf-8")
    code, _, err = run_main(capsys, "predict", model, "--file", header_only)
    assert_one_line_error(code, err, 1, "no rows below its header")
    metadata = model / "assets.extra" / "seqsent.json"
    metadata.write_text(json.dumps({**json.loads(metadata.read_text()), "config": {}}))  # records no columns
    code, _, err = run_main(capsys, "predict", model, "--file", header_only)
    assert_one_line_error(code, err, 1, "no column 'text'")
    assert "the default, as the model records no training column" in err


def test_export_writes_the_next_version_that_predicts_the_same(trained):
    output = invoke("export", trained["export"], "--output-dir", trained["export"].parent.parent).output
    second = trained["export"].parent / "2"
    assert f"Exported: {second}" in output
    assert (second / "saved_model.pb").is_file()
    first = invoke("predict", trained["export"], "--json", "superb", "boring").output
    again = invoke("predict", second, "--json", "superb", "boring").output
    for a, b in zip(first.splitlines(), again.splitlines()):
        assert json.loads(a)["probabilities"] == pytest.approx(json.loads(b)["probabilities"], abs=1e-6)


def test_export_refuses_an_existing_version(trained, capsys):
    code, _, err = run_main(capsys, "export", trained["export"], "--output-dir", trained["export"].parent.parent,
                            "--version", 1)
    assert_one_line_error(code, err, 2, "already exists")


def test_export_from_a_keras_file_under_a_new_name(trained, tmp_path):
    keras_file = trained["export"] / "assets.extra" / "keras_model.json"
    output = invoke("export", keras_file, "--name", "renamed", "--output-dir", tmp_path).output
    assert f"Exported: {tmp_path / 'renamed' / '1'}" in output
    output = invoke("predict", tmp_path / "renamed", "--json", "superb").output
    records = [json.loads(line) for line in output.splitlines()]
    assert set(records[0]["probabilities"]) == set(CLASSES)


def test_evaluate_on_data_holding_a_subset_of_the_classes(trained, tmp_path):
    data = write_csv(tmp_path / "two.csv", tiny_texts(("good", "bad"), per_class=10, seed=5))
    metrics = json.loads(invoke("evaluate", trained["export"], "--data", data, "--json").stdout)
    assert metrics["class_names"] == CLASSES
    # A file the model was not trained on is scored whole.
    assert metrics["examples"] == 20
    assert [sum(row) for row in metrics["confusion_matrix"]] == [10, 10, 0]  # rows: bad, good, meh


def test_evaluate_on_data_of_a_single_class(trained, tmp_path):
    data = write_csv(tmp_path / "good.csv", tiny_texts(("good",), per_class=10))
    metrics = json.loads(invoke("evaluate", trained["export"], "--data", data, "--json").stdout)
    assert metrics["examples"] == 10
    assert [sum(row) for row in metrics["confusion_matrix"]] == [0, 10, 0]


def test_binary_train_on_tsv_reports_roc_auc(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = write_csv(tmp_path / "reviews.tsv", tiny_texts(("neg", "pos"), per_class=15), delimiter="\t")
    output = invoke("train", "--data", data, "--arch", "birnn", "--pooling", "last", "--padding", "batch", "--epochs", 1,
                    "--units", 4, "--embedding-dim", 8, "--max-tokens", 200, "--sequence-length", 20,
                    "--name", "b", "--output-dir", tmp_path / "models", "--runs-dir", tmp_path / "runs",
                    "--quiet").output
    assert "classes: neg, pos" in output
    assert re.search(r"roc_auc\s+\d\.\d{4}", output)
    records = [json.loads(line) for line in
               invoke("predict", tmp_path / "models" / "b", "--json", "fine", "x").output.splitlines()]
    assert [set(r["probabilities"]) for r in records] == [{"neg", "pos"}] * 2


# ---------------------------------------------------------------- errors


def test_config_file_that_is_not_json_is_a_one_line_usage_error(capsys, tmp_path):
    config = tmp_path / "config.json"
    config.write_text("{not json", encoding="utf-8")
    code, _, err = run_main(capsys, "train", "--config", config)
    assert_one_line_error(code, err, 2, "--config")


def test_config_file_with_unknown_key_is_a_one_line_usage_error(capsys, tmp_path):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"model": {"unitz": 4}}), encoding="utf-8")
    code, _, err = run_main(capsys, "train", "--config", config)
    assert_one_line_error(code, err, 2, "unitz")


def test_a_relative_path_a_config_file_kept_is_said_to_be_read_from_where_its_run_started(capsys, tmp_path,
                                                                                           monkeypatch):
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"data": {"source": "reviews.csv"}, "semi": {"unlabelled": ["extra.txt"]}}),
                      encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code, _, err = run_main(capsys, "train", "--config", config)
    assert_one_line_error(code, err, 2, f"--data reviews.csv (from --config {config}) names nothing from {tmp_path}: "
                                        "a relative path in a saved config is read from where that run started")
    write_csv(tmp_path / "reviews.csv", tiny_texts(per_class=5))  # there now: the next path is checked
    code, _, err = run_main(capsys, "train", "--config", config)
    assert_one_line_error(code, err, 2, "--unlabelled extra.txt (from --config")


def test_a_config_file_replacing_a_presets_settings_is_noted(capsys, tmp_path):
    """A saved config.json holds every field, so it replaced every setting of a --preset given beside it, silently."""
    saved = tmp_path / "config.json"
    saved.write_text(json.dumps(RunConfig().to_dict()), encoding="utf-8")
    code, out, _ = run_main(capsys, "train", "--preset", "imdb-supervised", "--config", saved, "--epochs", 2,
                            "--data", tmp_path / "missing.csv")
    assert code == 1  # stopped by the missing data, after the note
    assert f"Note: --preset imdb-supervised changes nothing: --config {saved} sets every setting it makes" in out
    saved.write_text(json.dumps({"model": {"arch": "gru"}}), encoding="utf-8")
    _, out, _ = run_main(capsys, "train", "--preset", "imdb-supervised", "--config", saved, "--data",
                         tmp_path / "missing.csv")
    assert f"Note: --config {saved} replaces these settings of --preset imdb-supervised: --arch bigru" in out


def test_predict_with_empty_stdin_is_a_one_line_error(capsys, monkeypatch, trained):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"\n\n")))
    code, _, err = run_main(capsys, "predict", trained["export"])
    assert_one_line_error(code, err, 1, "no texts")




def test_missing_data_path_is_a_one_line_error(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_main(capsys, "train", "--data", tmp_path / "missing.csv", "--epochs", 1)
    assert_one_line_error(code, err, 1, "missing.csv")
    assert not (tmp_path / "runs").exists() and not (tmp_path / "saved_models").exists()


def test_unknown_arch_exits_with_usage_code_and_no_traceback(capsys):
    code, _, err = run_main(capsys, "train", "--arch", "transformer")
    assert code == 2
    assert "Traceback" not in err
    assert "--arch" in err and "transformer" in err


def test_unknown_arch_is_a_one_line_error(capsys):
    code, _, err = run_main(capsys, "train", "--arch", "transformer")
    assert_one_line_error(code, err, 2, "--arch")


def test_out_of_range_option_is_a_one_line_usage_error(capsys):
    code, _, err = run_main(capsys, "train", "--units", 0)
    assert_one_line_error(code, err, 2, "--units")


def test_model_path_that_is_not_a_model_is_a_one_line_error(capsys, tmp_path):
    not_a_model = tmp_path / "notes.txt"
    not_a_model.write_text("hello", encoding="utf-8")
    for path in (not_a_model, tmp_path, tmp_path / "missing"):
        code, _, err = run_main(capsys, "predict", path, "some text")
        assert_one_line_error(code, err, 1, "model")


def test_evaluate_with_labels_unseen_in_training_is_a_one_line_error(trained, capsys, tmp_path):
    data = write_csv(tmp_path / "other.csv", tiny_texts(("good", "bad", "surprised"), per_class=10))
    code, _, err = run_main(capsys, "evaluate", trained["export"], "--data", data)
    assert_one_line_error(code, err, 1, "surprised")


def test_console_script_reports_a_missing_data_path_in_one_line(tmp_path):
    if not SEQSENT.exists():
        pytest.skip(f"{SEQSENT} not installed")
    result = subprocess.run([str(SEQSENT), "train", "--data", "missing.csv"], capture_output=True, text=True,
                            cwd=tmp_path, timeout=120)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "seqsent: error: --data missing.csv: no such file or directory (or use 'sample' or 'imdb')"]


def test_train_json_prints_one_json_result_on_stdout_and_the_progress_on_stderr(workdir, capsys, monkeypatch):
    monkeypatch.chdir(workdir)
    code, out, err = run_main(capsys, "train", "--data", workdir / "reviews.csv", "--arch", "gru", "--epochs", 1,
                              "--units", 4, "--embedding-dim", 8, "--max-tokens", 200, "--sequence-length", 20,
                              "--name", "j", "--output-dir", workdir / "models", "--runs-dir", workdir / "runs",
                              "--json", "--verbose", "2")
    assert code == 0, err
    result = json.loads(out)  # nothing but the result on stdout, Keras' epoch lines included
    assert result["name"] == "j" and result["test_metrics"]["examples"] > 0 and result["export_dir"]
    assert set(result) >= {"notes", "data_notes", "warnings", "history", "split_sizes"}
    assert "val_loss" in err and "Data:" in err  # Keras prints its epoch line to stderr here


def test_compare_json_lists_each_arch_and_the_notes(workdir, capsys, monkeypatch):
    monkeypatch.chdir(workdir)
    code, out, err = run_main(capsys, "compare", "--data", workdir / "reviews.csv", "--archs", "gru,bow", "--epochs",
                              1, "--units", 4, "--embedding-dim", 8, "--max-tokens", 200, "--sequence-length", 20,
                              "--wide-buckets", 1000, "--output", workdir / "cmp-json", "--json", "--quiet")
    assert code == 0, err
    result = json.loads(out)
    assert [row["arch"] for row in result["rows"]] == ["gru", "bow"] and "notes" in result
    # --units shapes gru though bow ignores it; no arch uses --wide-buckets without --wide-ngrams
    assert not any("--units" in note for note in result["notes"])
    assert "--wide-buckets 1000 has no effect: it shapes the wide n-gram branch of --wide-ngrams N" in result["notes"]
    assert all(0 <= row["test_accuracy"] <= 1 for row in result["rows"])
    assert "[1/2] gru" in err


def test_train_notes_an_option_the_arch_ignores_before_it_trains(workdir, capsys, monkeypatch):
    monkeypatch.chdir(workdir)
    code, out, err = run_main(capsys, "train", "--data", workdir / "reviews.csv", "--arch", "bow", "--epochs", 1,
                              "--units", 64, "--max-tokens", 200, "--name", "ignored", "--output-dir",
                              workdir / "models", "--runs-dir", workdir / "runs", "--quiet")
    assert code == 0, err
    note = "Note: --units 64 has no effect: a bag-of-words arch has no word vectors, recurrent layers or word order"
    assert note in out and out.index(note) < out.index("Data:")


def test_another_keras_backend_is_refused_in_one_line(capsys, monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    code, _, err = run_main(capsys, "train")
    assert_one_line_error(code, err, 2, "KERAS_BACKEND is 'jax': seqsent needs Keras' TensorFlow backend")


def test_shell_completion_lists_the_commands():
    """The completion script README documents (_SEQSENT_COMPLETE=bash_source) completes command names."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    seqsent = Path(sys.executable).parent / "seqsent"
    done = subprocess.run([str(seqsent)], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "_SEQSENT_COMPLETE": "bash_complete", "COMP_WORDS": "seqsent pre",
                               "COMP_CWORD": "1"})
    assert {"plain,prepare", "plain,pretrain-embeddings", "plain,pretrain-lm"} <= set(done.stdout.split()), done


def test_train_preset_conflict_says_the_preset_set_the_option_the_user_never_typed(capsys, tmp_path):
    code, _, err = run_main(capsys, "train", "--preset", "imdb-best", "--arch", "bow", "--data", tmp_path / "x.csv")
    assert_one_line_error(code, err, 2, "--wide-ngrams goes with a recurrent --arch, not 'bow' "
                                        "(--preset imdb-best sets --wide-ngrams 3)")
    code, _, err = run_main(capsys, "train", "--preset", "imdb-best", "--arch", "bow", "--wide-ngrams", 2,
                            "--data", tmp_path / "x.csv")
    assert_one_line_error(code, err, 2, "--wide-ngrams goes with a recurrent --arch, not 'bow'")
    assert "--preset" not in err  # typed by the user: nothing to explain


@pytest.mark.parametrize("command", ["train", "compare"])
def test_quiet_with_a_verbose_level_is_a_one_line_usage_error(command, capsys):
    code, _, err = run_main(capsys, command, "--quiet", "--verbose", "2")
    assert_one_line_error(code, err, 2, "--quiet and --verbose 2 contradict each other: give one")


def _echo_predictions(monkeypatch):
    """seqsent.api.predict replaced by one that labels every text 'good': these tests are about reading and printing."""
    import seqsent.api
    from seqsent.api import Prediction

    monkeypatch.setattr(seqsent.api, "predict", lambda model, texts, threshold=None: [
        Prediction(t, "good", 0.9, {"good": 0.9, "bad": 0.1}) for t in texts])


@pytest.mark.parametrize("name", ["reviews.csv", "reviews.tsv", "reviews.jsonl", "texts.txt"])
def test_predict_gzip_file_is_read_as_its_uncompressed_form_with_the_same_notes(monkeypatch, capsys, tmp_path, name):
    """A .csv.gz is a table (was refused as 'looks like UTF-16': its compressed bytes were read as lines)."""
    import gzip

    _echo_predictions(monkeypatch)
    contents = {".csv": "text,label\nfine film,good\n,bad\n\"dull, long\",bad\n",
                ".tsv": "text\tlabel\nfine film\tgood\n\tbad\n\"dull, long\"\tbad\n",
                ".jsonl": '{"text": "fine film"}\n{"text": ""}\n{"text": "dull, long"}\n',
                ".txt": "fine film\n\ndull, long\n"}[Path(name).suffix]
    plain = tmp_path / name
    plain.write_text(contents, encoding="utf-8")
    packed = tmp_path / f"{name}.gz"
    packed.write_bytes(gzip.compress(contents.encode()))
    code, out, err = run_main(capsys, "predict", tmp_path / "model", "--file", packed, "--json")
    assert code == 0, err
    assert [json.loads(line)["text"] for line in out.splitlines()] == ["fine film", "dull, long"]
    code, plain_out, plain_err = run_main(capsys, "predict", tmp_path / "model", "--file", plain, "--json")
    assert (out, err.replace(str(packed), str(plain))) == (plain_out, plain_err)
    assert "skipped 1 " in err


@pytest.mark.parametrize("name", ["reviews.csv.gz", "texts.txt.gz"])
def test_predict_broken_gzip_file_is_a_one_line_error_naming_it(capsys, tmp_path, name):
    import gzip

    truncated = tmp_path / name
    truncated.write_bytes(gzip.compress(b"text,label\n" + b"a fine film,good\n" * 50)[:30])
    code, _, err = run_main(capsys, "predict", tmp_path / "model", "--file", truncated)
    assert_one_line_error(code, err, 1, f"{truncated}: truncated or corrupt gzip data")
    not_gzip = tmp_path / f"not-{name}"
    not_gzip.write_text("text,label\na fine film,good\n", encoding="utf-8")
    code, _, err = run_main(capsys, "predict", tmp_path / "model", "--file", not_gzip)
    assert_one_line_error(code, err, 1, f"{not_gzip}: truncated or corrupt gzip data (BadGzipFile")


def test_predict_plain_output_shows_a_tab_inside_a_text_escaped_so_each_line_has_three_fields(monkeypatch, tmp_path):
    """A quoted TSV cell may hold a tab: printed as is, it would split the text into a fourth field."""
    _echo_predictions(monkeypatch)
    table = tmp_path / "reviews.tsv"
    table.write_text('text\tlabel\n"fine\tfilm"\tgood\n', encoding="utf-8")
    plain = invoke("predict", tmp_path / "model", "--file", table, "one\ttwo").output
    assert [line.split("\t") for line in plain.splitlines()] == [["good", "0.9000", "one\\ttwo"],
                                                                 ["good", "0.9000", "fine\\tfilm"]]
    records = invoke("predict", tmp_path / "model", "--file", table, "--json").output.splitlines()
    assert [json.loads(record)["text"] for record in records] == ["fine\tfilm"]


def test_predict_table_file_notes_bytes_that_are_not_utf8_as_a_plain_file_does(monkeypatch, capsys, tmp_path):
    _echo_predictions(monkeypatch)
    table = tmp_path / "latin.csv"
    table.write_bytes(b"text,label\ncaf\xe9 was fine,good\n")
    code, out, err = run_main(capsys, "predict", tmp_path / "model", "--file", table, "--json")
    assert code == 0, err
    assert f"Note: {table}: replaced 1 byte sequence(s) that were not UTF-8" in err
    assert json.loads(out)["text"] == "caf\ufffd was fine"


@pytest.mark.parametrize("args", [("train", "--name", ""), ("train", "--output-dir", " "), ("train", "--runs-dir", ""),
                                  ("evaluate", "m", "--report", ""), ("serving-config", "--output-dir", ""),
                                  ("export", "m", "--name", ""), ("pretrain-lm", "--output", "")])
def test_an_option_given_empty_is_refused_not_taken_as_the_current_directory_or_the_default(capsys, tmp_path,
                                                                                              monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_main(capsys, *args)
    flag = next(a for a in args if a.startswith("--"))
    assert_one_line_error(code, err, 2, f"Invalid value for '{flag}': is empty (an unset shell variable?)")
    assert list(tmp_path.iterdir()) == []


def test_a_usage_error_about_an_option_the_config_file_set_names_the_file(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"train": {"epochs": 0}}), encoding="utf-8")
    code, _, err = run_main(capsys, "train", "--config", config)
    assert_one_line_error(code, err, 2, f"--epochs must be at least 1 (--config {config} sets --epochs 0)")
    config.write_text(json.dumps({"data": {"text_column": "review"}}), encoding="utf-8")
    code, _, err = run_main(capsys, "train", "--config", config, "--data", "sample", "--limit", 50)
    assert_one_line_error(code, err, 2, "--text-column review goes with a table --data")
    assert err.strip().endswith(f"(--config {config} sets --text-column review)")


def test_an_input_option_given_empty_clears_what_the_config_file_set(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"model": {"embeddings_path": "vectors.vec"}}), encoding="utf-8")
    code, _, err = run_main(capsys, "train", "--config", config, "--embeddings", "", "--epochs", 0)
    assert_one_line_error(code, err, 2, "--epochs must be at least 1")  # not about --embeddings
