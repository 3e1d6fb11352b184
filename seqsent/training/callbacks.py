"""Callbacks of a run: early stopping, best checkpoint, crash backup, TensorBoard, NaN guard."""

from __future__ import annotations

import math
from pathlib import Path

import keras

from seqsent.config import TrainConfig


class StopOnNaN(keras.callbacks.Callback):
    """Stop at the first non-finite loss and remember it, so the run can fail with a clear message."""

    def __init__(self):
        super().__init__()
        self.bad_batch: int | None = None

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            self.bad_batch = batch
            self.model.stop_training = True


def make_callbacks(config: TrainConfig, work_dir: Path) -> tuple[list[keras.callbacks.Callback], StopOnNaN]:
    nan_guard = StopOnNaN()
    callbacks = [
        nan_guard,
        # Re-running the same command after a crash resumes from the last finished epoch.
        keras.callbacks.BackupAndRestore(str(work_dir / "backup"), save_freq="epoch", delete_checkpoint=True),
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=config.patience, restore_best_weights=True),
        keras.callbacks.ModelCheckpoint(str(work_dir / "best.weights.h5"), monitor="val_loss",
                                        save_best_only=True, save_weights_only=True),
        keras.callbacks.TensorBoard(str(work_dir / "tensorboard"), update_freq="epoch"),
    ]
    return callbacks, nan_guard
