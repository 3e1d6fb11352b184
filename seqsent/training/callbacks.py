"""Callbacks of a run: early stopping, best checkpoint, crash backup, TensorBoard, NaN guard."""

from __future__ import annotations

import math
from pathlib import Path

import keras

from seqsent.training.backup import RunCheckpoint, TrainingState


class StopOnNaN(keras.callbacks.Callback):
    """Stop at the first non-finite loss and remember it, so the run can fail with a clear message."""

    def __init__(self):
        super().__init__()
        self.bad_batch: int | None = None
        self.where = ""
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.bad_batch = batch
            self.where = f"batch {batch} of epoch {self._epoch + 1}"
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        # The last step can leave NaN weights behind a finite training loss: only validation shows it.
        loss = (logs or {}).get("val_loss")
        if self.bad_batch is None and loss is not None and not math.isfinite(float(loss)):
            self.bad_batch = -1
            self.where = f"the validation pass of epoch {epoch + 1}"
            self.model.stop_training = True


def make_callbacks(patience: int, work_dir: Path, state: TrainingState | None = None
                   ) -> tuple[list[keras.callbacks.Callback], StopOnNaN, RunCheckpoint]:
    """The run's callbacks, with the NaN guard and the checkpoint (backup, early stopping, best weights) by name.

    `state`: what the backup of an interrupted run restored; the checkpoint carries on from it.
    """
    nan_guard = StopOnNaN()
    # Re-running the same command after a crash resumes from the last finished epoch; the backup is
    # replaced atomically (seqsent/training/backup.py), so Ctrl-C or kill -9 never tears it.
    checkpoint = RunCheckpoint(work_dir, patience=patience, state=state)
    callbacks = [
        nan_guard,
        checkpoint,
        keras.callbacks.TensorBoard(str(work_dir / "tensorboard"), update_freq="epoch"),
    ]
    return callbacks, nan_guard, checkpoint
