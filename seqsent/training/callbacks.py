"""Callbacks of a run: early stopping, best checkpoint, crash backup, TensorBoard, NaN guard, Ctrl-C."""

from __future__ import annotations

import math
import signal
import threading
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


class CtrlCBetweenSteps(keras.callbacks.Callback):
    """Ctrl-C during `fit` stops the run at the end of the current step, not inside TensorFlow or h5py.

    Python raises KeyboardInterrupt at whatever bytecode runs when the signal lands: inside a backup's
    HDF5 write, a summary write or TensorFlow's own Python, which can leave native state half-changed
    (CI saw such a run die of SIGSEGV instead of exiting 130). So the first Ctrl-C is only noted and
    raised at the next step boundary; a second one interrupts at once. Used as a context manager around
    `fit` (the handler is put back however fit ends); outside the main thread, or under a SIGINT handler
    of the caller's own, it changes nothing.
    """

    def __init__(self):
        super().__init__()
        self.requested = False
        self._previous = None

    def __enter__(self) -> "CtrlCBetweenSteps":
        if (threading.current_thread() is threading.main_thread()
                and signal.getsignal(signal.SIGINT) is signal.default_int_handler):
            self._previous = signal.signal(signal.SIGINT, self._note)
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None
        if kind is None and self.requested:
            raise KeyboardInterrupt  # fit ended on its own before the next step boundary came

    def _note(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def _stop_if_requested(self, *args, **kwargs):
        if self.requested:
            raise KeyboardInterrupt

    on_train_batch_end = on_test_batch_end = on_epoch_begin = _stop_if_requested
