"""Resumable training: kill -9 after an epoch, run the same command again, and the run carries on where it was.

- the CLI, end to end: SIGKILL once the first epoch's backup is committed; the same command
  resumes at epoch 2, trains epochs 2-3 only, exports a complete model, and its history equals
  that of an uninterrupted run of the same config (training order, optimizer state and dropout
  random state are all restored);
- the in-process fit resumes too; --restart starts over; the early-stopping bookkeeping and the best weights survive a crash;
- a diverged epoch never replaces the last good backup.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import tiny_run_config, tiny_texts, write_csv

SEQSENT = Path(sys.executable).parent / "seqsent"
QUIET_ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
TINY = ["--arch", "gru", "--units", "4", "--embedding-dim", "8", "--max-tokens", "200", "--sequence-length", "20",
        "--batch-size", "8", "--epochs", "3", "--patience", "3", "--name", "R"]


def seqsent(args, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen([str(SEQSENT), *args], cwd=cwd, env=QUIET_ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen) -> str:
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err[-3000:]
    return out


def committed_epoch(work: Path) -> int:
    for metadata in work.glob("runs/R/in-progress-*/backup/training_metadata.json"):
        try:
            return json.loads(metadata.read_text())["epoch"]
        except (OSError, ValueError):
            pass  # never happens with the atomic rename; tolerated while polling
    return 0


@pytest.mark.skipif(not SEQSENT.exists(), reason=f"{SEQSENT} not installed")
def test_sigkill_after_first_epoch_then_same_command_resumes_at_epoch_two_like_an_uninterrupted_run(tmp_path):
    victim_dir, reference_dir = tmp_path / "victim", tmp_path / "reference"
    for work in (victim_dir, reference_dir):
        work.mkdir()
        write_csv(work / "reviews.csv", tiny_texts(per_class=60))
    args = ["train", "--data", "reviews.csv", *TINY]
    reference = seqsent(args, reference_dir)  # the same command, never interrupted
    victim = seqsent(args, victim_dir)
    try:
        deadline = time.monotonic() + 180
        while committed_epoch(victim_dir) < 1:
            assert victim.poll() is None, f"ended early: {victim.communicate()[1][-2000:]}"
            assert time.monotonic() < deadline, "no backup within 180 s"
            time.sleep(0.002)
        victim.send_signal(signal.SIGKILL)
        first_out, _ = victim.communicate(timeout=60)
    finally:
        if victim.poll() is None:
            victim.kill()
    assert victim.returncode == -signal.SIGKILL
    assert committed_epoch(victim_dir) == 1, "killed after the first epoch's backup, before the second's"
    assert "Epoch 1/3" in first_out and not (victim_dir / "saved_models").exists()

    resumed_out = finish(seqsent(args, victim_dir))
    assert "Resuming from the backup in runs/R/in-progress-" in resumed_out
    assert "epoch 1 of 3 is done" in resumed_out
    epochs_trained = [line.split()[1] for line in resumed_out.splitlines() if line.startswith("Epoch ")]
    assert epochs_trained == ["2/3", "3/3"]  # no finished epoch trained again
    assert "3 epoch(s) (epoch 1 from the backup)" in resumed_out

    export = victim_dir / "saved_models" / "R" / "1"
    for part in ("saved_model.pb", "variables/variables.index", "assets.extra/keras_model.json",
                 "assets.extra/seqsent.json", "assets.extra/tf_serving_warmup_requests"):
        assert (export / part).is_file(), f"{export} lacks {part}"
    assert not list((victim_dir / "runs" / "R").glob("in-progress-*"))  # the backup is gone once exported

    finish(reference)
    resumed = json.loads((victim_dir / "runs" / "R" / "1" / "history.json").read_text())
    uninterrupted = json.loads((reference_dir / "runs" / "R" / "1" / "history.json").read_text())
    assert len(resumed["loss"]) == 3
    for key in ("loss", "val_loss", "accuracy", "val_accuracy"):
        assert resumed[key] == pytest.approx(uninterrupted[key], rel=1e-5, abs=1e-6), key
    metrics = [json.loads((d / "runs" / "R" / "1" / "metrics.json").read_text()) for d in (victim_dir, reference_dir)]
    assert metrics[0]["resumed_from_epoch"] == 1 and metrics[1]["resumed_from_epoch"] == 0
    assert metrics[0]["test"]["accuracy"] == pytest.approx(metrics[1]["test"]["accuracy"])


# ---------------------------------------------------------------- in-process: fit() with a crash


class CrashAfterEpoch:
    """A Keras callback that raises once `epoch` (from 1) has ended and been backed up."""

    def __new__(cls, epoch: int):
        import keras

        class Crash(keras.callbacks.Callback):
            def on_epoch_end(self, index, logs=None):
                if index + 1 == epoch:
                    raise RuntimeError("simulated crash")

        return Crash()


@pytest.fixture(scope="module")
def tiny_run():
    from seqsent.data import load_dataset

    def config(tmp: Path, **train):
        run = tiny_run_config(tmp / "reviews.csv", name="r", output_dir=str(tmp / "models"), runs_dir=str(tmp / "runs"))
        run.train.batch_size = 8
        run.train.epochs = 3
        run.train.patience = 3
        for key, value in train.items():
            setattr(run.train, key, value)
        return run.validate()

    def dataset(tmp: Path):
        write_csv(tmp / "reviews.csv", tiny_texts(per_class=12))
        return load_dataset(config(tmp).data)

    return config, dataset


def test_crash_then_fit_again_resumes_with_the_whole_history(tiny_run, tmp_path):
    from seqsent.training.backup import read_backup_state
    from seqsent.training.trainer import fit

    config, load = tiny_run
    dataset = load(tmp_path)
    run = config(tmp_path)
    messages = []
    with pytest.raises(RuntimeError, match="simulated crash"):
        fit(run, dataset, tmp_path / "crashed", verbose=0, extra_callbacks=(CrashAfterEpoch(2),))
    state = read_backup_state(tmp_path / "crashed" / "backup")
    assert state["epoch"] == 2 and len(state["history"]["loss"]) == 2
    assert len(state["seed_states"]) >= 1  # dropout random state, for an exact resume

    resumed = fit(run, dataset, tmp_path / "crashed", verbose=0, notify=messages.append)
    assert resumed.resumed_from_epoch == 2
    assert any(m.startswith("Resuming from the backup in") and "epochs 1-2 of 3" in m for m in messages)
    assert resumed.history["loss"][:2] == state["history"]["loss"] and len(resumed.history["loss"]) == 3


def test_train_with_restart_says_it_removed_the_backup(tiny_run, tmp_path):
    from seqsent.api import run_key, train
    from seqsent.layout import claim_run_dir
    from seqsent.training.trainer import fit

    config, load = tiny_run
    dataset = load(tmp_path)
    run = config(tmp_path, epochs=2)
    work_dir, lock = claim_run_dir(run_key(run.validate(), dataset), run.runs_dir, run.name)  # the one train picks
    lock.close()
    with pytest.raises(RuntimeError):
        fit(run, dataset, work_dir, verbose=0, extra_callbacks=(CrashAfterEpoch(1),))
    messages = []
    report = train(run, verbose=0, dataset=dataset, notify=messages.append, restart=True)
    assert any(m.startswith("--restart: removed the backup in") for m in messages)
    assert not any(m.startswith("Resuming") for m in messages)
    assert report.resumed_from_epoch == 0 and report.epochs_run == 2


def test_early_stopping_bookkeeping_and_best_weights_survive_a_crash(tmp_path):
    """val_loss 0.5, 0.4, 0.45 | crash | 0.47: patience 2 stops after epoch 4 with epoch 2's weights,
    as it would have without the crash."""
    import keras

    from seqsent.training.backup import RunCheckpoint, read_state, restore
    from seqsent.training.strategy import Distribution
    import tensorflow as tf

    def model(value):
        inputs = keras.Input((1,))
        built = keras.Model(inputs, keras.layers.Dense(1, name="d")(inputs))
        built.compile(optimizer="sgd", loss="mse")
        built.optimizer.build(built.trainable_variables)
        built.layers[-1].kernel.assign([[value]])
        return built

    first = RunCheckpoint(tmp_path, patience=2)
    first.set_model(model(0.0))
    for epoch, val_loss in enumerate([0.5, 0.4, 0.45]):
        first.model.layers[-1].kernel.assign([[float(epoch + 1)]])  # the weights "of epoch N" are N
        first.on_epoch_end(epoch, {"loss": 1.0, "val_loss": val_loss})
    assert not first.model.stop_training

    # A new process: the state comes back from the backup, the model from its weights file.
    again = model(-1.0)
    state = restore(again, tmp_path / "backup", Distribution(tf.distribute.get_strategy(), "default"))
    assert (state.epoch, state.best, state.best_epoch, state.wait) == (3, pytest.approx(0.4), 2, 1)
    assert float(again.layers[-1].kernel.numpy()[0, 0]) == 3.0
    second = RunCheckpoint(tmp_path, patience=2, state=state)
    second.set_model(again)
    again.layers[-1].kernel.assign([[4.0]])
    second.on_epoch_end(3, {"loss": 1.0, "val_loss": 0.47})
    assert again.stop_training and second.state.stopped
    second.on_train_end()
    assert float(again.layers[-1].kernel.numpy()[0, 0]) == 2.0  # the best epoch's weights
    assert read_state(tmp_path / "backup").history["val_loss"] == pytest.approx([0.5, 0.4, 0.45, 0.47])


def test_a_diverged_epoch_keeps_the_last_good_backup(tmp_path):
    import keras

    from seqsent.training.backup import RunCheckpoint, read_backup_state

    inputs = keras.Input((1,))
    built = keras.Model(inputs, keras.layers.Dense(1)(inputs))
    built.compile(optimizer="sgd", loss="mse")
    checkpoint = RunCheckpoint(tmp_path, patience=3)
    checkpoint.set_model(built)
    checkpoint.on_epoch_end(0, {"loss": 1.0, "val_loss": 0.9})
    checkpoint.on_epoch_end(1, {"loss": 0.5, "val_loss": float("nan")})
    checkpoint.on_epoch_end(2, {"loss": float("inf"), "val_loss": 0.1})
    state = read_backup_state(tmp_path / "backup")
    assert state["epoch"] == 1 and state["history"]["val_loss"] == [0.9]
    assert sorted(p.name for p in (tmp_path / "backup").iterdir()) == ["epoch-0001.weights.h5",
                                                                      "training_metadata.json"]


def test_training_order_is_keyed_by_epoch_so_a_resumed_run_sees_the_same_batches():
    import tensorflow as tf

    from seqsent.training.pipeline import training_dataset

    rng = np.random.default_rng(0)
    ids = tf.ragged.constant([list(rng.integers(2, 50, size=n)) for n in rng.integers(1, 30, size=50)], tf.int64)
    labels = np.arange(50) % 2

    def batches(epochs, padding):
        ds = training_dataset(ids, labels, 2, batch_size=8, max_length=30, seed=3, padding=padding, epochs=epochs)
        assert int(ds.cardinality()) % len(epochs) == 0
        return [(x.numpy().tolist(), y.numpy().tolist()) for x, y in ds]

    for padding in ("bucket", "batch", "fixed"):
        whole = batches(range(0, 3), padding)
        per_epoch = len(whole) // 3
        assert batches(range(1, 3), padding) == whole[per_epoch:]
        assert whole[:per_epoch] != whole[per_epoch : 2 * per_epoch]  # each epoch has its own order


@pytest.mark.parametrize("damage", ["missing", "truncated"])
def test_resume_whose_best_epoch_weights_are_missing_or_damaged_stops_before_training(tmp_path, damage):
    """Else the run trains its remaining epochs and then fails (truncated), or exports the last epoch as the best
    (missing)."""
    import keras
    import tensorflow as tf

    from seqsent.layout import BEST_WEIGHTS
    from seqsent.training.backup import RunCheckpoint, restore
    from seqsent.training.strategy import Distribution

    def model():
        inputs = keras.Input((1,))
        built = keras.Model(inputs, keras.layers.Dense(1, name="d")(inputs))
        built.compile(optimizer="sgd", loss="mse")
        built.optimizer.build(built.trainable_variables)
        return built

    checkpoint = RunCheckpoint(tmp_path, patience=5)
    checkpoint.set_model(model())
    for epoch, val_loss in enumerate([0.4, 0.5]):  # best epoch 1, last epoch 2
        checkpoint.on_epoch_end(epoch, {"loss": 1.0, "val_loss": val_loss})
    best = tmp_path / BEST_WEIGHTS
    if damage == "missing":
        best.unlink()
    else:
        best.write_bytes(best.read_bytes()[:1000])
    from seqsent.errors import TrainingError

    with pytest.raises(TrainingError, match=r"best epoch's weights .*epoch 1.* --restart"):
        restore(model(), tmp_path / "backup", Distribution(tf.distribute.get_strategy(), "default"))


@pytest.mark.parametrize("edit, epochs, said", [
    ({"epoch": 99}, 3, "says 99 epoch.* but its history has 2"),
    ({}, 1, "says 2 epoch.* more than the run's --epochs 1"),
])
def test_resume_refuses_a_backup_whose_epoch_count_is_not_believable(tmp_path, edit, epochs, said):
    """Believed, an epoch count past the history or the run's epochs skips training and exports as finished."""
    import json

    import keras
    import tensorflow as tf

    from seqsent.errors import TrainingError
    from seqsent.training.backup import METADATA_FILE, RunCheckpoint, restore
    from seqsent.training.strategy import Distribution

    def model():
        inputs = keras.Input((1,))
        built = keras.Model(inputs, keras.layers.Dense(1, name="d")(inputs))
        built.compile(optimizer="sgd", loss="mse")
        built.optimizer.build(built.trainable_variables)
        return built

    checkpoint = RunCheckpoint(tmp_path, patience=5)
    checkpoint.set_model(model())
    for epoch, val_loss in enumerate([0.5, 0.4]):
        checkpoint.on_epoch_end(epoch, {"loss": 1.0, "val_loss": val_loss})
    metadata = tmp_path / "backup" / METADATA_FILE
    metadata.write_text(json.dumps({**json.loads(metadata.read_text()), **edit}))
    distribution = Distribution(tf.distribute.get_strategy(), "default")
    with pytest.raises(TrainingError, match=rf"^cannot resume: .*{METADATA_FILE}.*{said}; run with --restart"):
        restore(model(), tmp_path / "backup", distribution, epochs)
    if not edit:
        assert restore(model(), tmp_path / "backup", distribution, 3).epoch == 2  # the same backup, believable
