"""Interrupted and concurrent runs never cost a user their data.

- two `seqsent train --name X` at once: two complete, distinct versions and run directories;
- Ctrl-C during training: exit 130, one line saying how to resume, the last finished epoch's
  backup intact; the same command resumes from it;
- SIGKILL of `seqsent export` midway: the previous version byte for byte, no partial version
  (tests/test_serving.py kills the library's export at two fixed points; this kills the CLI);
- NaN loss: training stops with a message naming the run's config file.

Subprocesses run the installed console script on a tiny CSV with a tiny model.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import make_tiny_text_model, tiny_texts, write_csv

SEQSENT = Path(sys.executable).parent / "seqsent"
QUIET_ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
TINY = ["--arch", "gru", "--units", "4", "--embedding-dim", "8", "--max-tokens", "200", "--sequence-length", "20",
        "--output-dir", "models", "--runs-dir", "runs"]

pytestmark = pytest.mark.skipif(not SEQSENT.exists(), reason=f"{SEQSENT} not installed")


def _default_sigint():
    # A shell without job control starts `cmd &` with SIGINT ignored, and children inherit that: were the
    # tests run so, the Ctrl-C below would reach no handler. A user's terminal delivers it.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(args, cwd: Path, stdin=None) -> subprocess.Popen:
    return subprocess.Popen([str(SEQSENT), *args], cwd=cwd, env=QUIET_ENV, stdin=stdin, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, preexec_fn=_default_sigint)


def wait_until(condition, proc: subprocess.Popen, timeout: float = 120, poll: float = 0.002):
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found:
            return found
        if proc.poll() is not None:
            raise AssertionError(f"process ended early ({proc.returncode}): {proc.stderr.read()[-2000:]}")
        assert time.monotonic() < deadline, "timed out"
        time.sleep(poll)


def tree_digest(path: Path) -> dict[str, str]:
    return {str(f.relative_to(path)): hashlib.sha256(f.read_bytes()).hexdigest()
            for f in sorted(path.rglob("*")) if f.is_file()}


def numeric_dirs(path: Path) -> list[str]:
    return sorted((p.name for p in path.iterdir() if p.name.isdigit()), key=int) if path.is_dir() else []


# ---------------------------------------------------------------- concurrent trains


def test_two_concurrent_trains_to_one_name_give_two_complete_versions(tmp_path):
    write_csv(tmp_path / "reviews.csv", tiny_texts(per_class=10))
    args = ["train", "--data", "reviews.csv", "--epochs", "1", "--name", "X", "--quiet", *TINY]
    procs = [start(args, tmp_path) for _ in range(2)]
    results = [proc.communicate(timeout=300) for proc in procs]
    for proc, (out, err) in zip(procs, results):
        assert proc.returncode == 0, err
    exported = sorted(line.split(": ", 1)[1] for out, _ in results for line in out.splitlines()
                      if line.startswith("Exported: "))
    assert exported == ["models/X/1", "models/X/2"]
    assert numeric_dirs(tmp_path / "models" / "X") == ["1", "2"]
    assert not list((tmp_path / "models" / "X").glob(".staging-*"))
    for version in ("1", "2"):
        export = tmp_path / "models" / "X" / version
        for part in ("saved_model.pb", "variables/variables.index", "assets.extra/keras_model.json",
                     "assets.extra/seqsent.json", "assets.extra/tf_serving_warmup_requests"):
            assert (export / part).is_file(), f"{export} lacks {part}"
        assert json.loads((export / "assets.extra" / "seqsent.json").read_text())["test_metrics"]["examples"] == 6
        run = tmp_path / "runs" / "X" / version
        for part in ("config.json", "history.json", "metrics.json"):
            assert (run / part).is_file(), f"{run} lacks {part}"
        assert json.loads((run / "metrics.json").read_text())["export_dir"] == f"models/X/{version}"
    # Same command, so the same configuration hash: each run still had a work directory of its own.
    assert sorted(p.name for p in (tmp_path / "runs" / "X").iterdir()) == ["1", "2"]


# ---------------------------------------------------------------- Ctrl-C


def test_ctrl_c_keeps_the_last_finished_epoch_and_the_same_command_resumes(tmp_path):
    import h5py

    write_csv(tmp_path / "reviews.csv", tiny_texts(per_class=40))
    args = ["train", "--data", "reviews.csv", "--epochs", "12", "--patience", "12", "--name", "X", *TINY]
    proc = start(args, tmp_path)
    try:
        metadata = wait_until(lambda: next(tmp_path.glob("runs/X/in-progress-*/backup/training_metadata.json"), None),
                              proc)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    backup = metadata.parent
    assert lines == [lines[0]] and lines[0].startswith("seqsent: interrupted; the backup of epoch "), err
    assert f"is in runs/X/{backup.parent.name}/backup: run the same command again to resume from it" in lines[0]

    state = json.loads(metadata.read_text())
    assert 1 <= state["epoch"] < 12 and f"the backup of epoch {state['epoch']} " in lines[0]
    assert len(state["history"]["loss"]) == state["epoch"]
    with h5py.File(backup / state["weights"], "r") as weights:  # a whole HDF5 file, not a torn one
        assert len(weights.keys()) > 0
    assert sorted(p.name for p in backup.iterdir()) == sorted([state["weights"], "training_metadata.json"])
    assert not (tmp_path / "models").exists()

    resumed = subprocess.run([str(SEQSENT), *args], cwd=tmp_path, env=QUIET_ENV, capture_output=True, text=True,
                             timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"Resuming from the backup in runs/X/{backup.parent.name}/backup" in resumed.stdout
    assert f"Epoch {state['epoch'] + 1}/12" in resumed.stdout and "Epoch 1/12" not in resumed.stdout
    history = json.loads((tmp_path / "runs" / "X" / "1" / "history.json").read_text())
    assert history["loss"][: state["epoch"]] == pytest.approx(state["history"]["loss"])  # the whole run's history
    assert len(history["loss"]) > state["epoch"]
    assert numeric_dirs(tmp_path / "models" / "X") == ["1"]
    assert not list((tmp_path / "runs" / "X").glob("in-progress-*"))


def test_ctrl_c_of_another_command_says_interrupted_only(tmp_path):
    proc = start(["predict", str(tmp_path / "model")], tmp_path, stdin=subprocess.PIPE)  # waits on stdin
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert [line for line in err.splitlines() if line.strip()] == ["seqsent: interrupted"]


@pytest.fixture
def python_ctrl_c_handler():
    """Python's own SIGINT handler for the test: a shell starts background jobs with SIGINT ignored, which
    CtrlCBetweenSteps rightly leaves alone, so the suite must not depend on how it was started."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_ctrl_c_inside_a_step_is_raised_when_the_step_ends_and_a_second_one_at_once(python_ctrl_c_handler):
    import keras
    import numpy as np

    from seqsent.training.callbacks import CtrlCBetweenSteps

    finished = []

    class CtrlCInStepTwo(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if batch == 2:
                # What the operating system calls when Ctrl-C lands while the step runs (the end-to-end test
                # above sends a real SIGINT to a real run; here the moment it lands is fixed).
                signal.getsignal(signal.SIGINT)(signal.SIGINT, None)

        def on_train_batch_end(self, batch, logs=None):
            finished.append(batch)

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.zeros((40, 3), "float32"), np.zeros((40, 1), "float32")
    with pytest.raises(KeyboardInterrupt):
        with CtrlCBetweenSteps() as ctrl_c:
            assert signal.getsignal(signal.SIGINT) == ctrl_c._note
            model.fit(x, y, batch_size=4, epochs=3, callbacks=[CtrlCInStepTwo(), ctrl_c], verbose=0)
    assert finished == [0, 1, 2]  # step 2 finished; nothing after it ran
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # put back

    with pytest.raises(KeyboardInterrupt), CtrlCBetweenSteps() as ctrl_c:
        ctrl_c._note(signal.SIGINT, None)  # noted
        ctrl_c._note(signal.SIGINT, None)  # the user insists: now
        pytest.fail("the second Ctrl-C did not interrupt")


# ---------------------------------------------------------------- SIGKILL during export


def test_export_command_killed_midway_leaves_the_previous_version_byte_for_byte(tmp_path):
    from seqsent.serving.export import export_saved_model
    from seqsent.layout import model_metadata

    first = export_saved_model(make_tiny_text_model(2), model_metadata(["neg", "pos"], {"name": "m"}), tmp_path, "m")
    before = tree_digest(first)
    proc = start(["export", str(first), "--output-dir", str(tmp_path)], tmp_path)
    try:
        # Killed once the new version is being written: its SavedModel is in the staging directory.
        wait_until(lambda: any((p / "saved_model.pb").exists() for p in (tmp_path / "m").glob(".staging-*")), proc)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    assert numeric_dirs(tmp_path / "m") == ["1"]  # no partial version 2 for TF Serving to load
    assert tree_digest(first) == before


# ---------------------------------------------------------------- NaN


def test_nan_loss_stops_training_with_a_message_naming_the_config(tmp_path, monkeypatch, capsys):
    import numpy as np

    import seqsent.training.fit as trainer
    from seqsent_cli.main import main

    build = trainer.build_classifier

    def poisoned(*args, **kwargs):  # a NaN bias: the first batch's loss is NaN
        model = build(*args, **kwargs)
        bias = model.trainable_weights[-1]
        bias.assign(np.full(bias.shape, np.nan, dtype="float32"))
        return model

    monkeypatch.setattr(trainer, "build_classifier", poisoned)
    monkeypatch.chdir(tmp_path)
    write_csv(tmp_path / "reviews.csv", tiny_texts(per_class=10))
    with pytest.raises(SystemExit) as excinfo:
        main(["train", "--data", "reviews.csv", "--epochs", "3", "--name", "X", "--quiet", *TINY])
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.strip()]
    assert excinfo.value.code == 1 and len(lines) == 1, err
    [work_dir] = (tmp_path / "runs" / "X").glob("in-progress-*")
    config = work_dir / "config.json"
    assert lines[0].startswith("seqsent: error: training stopped: the loss became NaN/inf at batch 0 of epoch 1")
    assert lines[0].endswith(f"(the run's config: runs/X/{work_dir.name}/config.json)")
    assert json.loads(config.read_text())["name"] == "X"
    assert not (tmp_path / "models").exists()


def test_nan_only_in_validation_also_stops_training(monkeypatch):
    """The last step can leave NaN weights behind a finite training loss."""
    from seqsent.training.callbacks import StopOnNaN

    class Model:
        stop_training = False

    guard = StopOnNaN()
    guard.set_model(Model())
    guard.on_epoch_begin(0)
    guard.on_train_batch_end(0, {"loss": 0.7})
    guard.on_epoch_end(0, {"loss": 0.7, "val_loss": float("nan")})
    assert guard.model.stop_training and guard.where == "the validation pass of epoch 1"
