"""Resumable training: a backup at the end of every epoch, early stopping and the best model, in one state.

Ctrl-C or kill -9 at any moment leaves the last finished epoch's backup whole. Each epoch's
weights (model and optimizer) go to a new file `epoch-N.weights.h5` (Keras' BackupAndRestore
overwrites one file in place, so an interrupt can tear it); `training_metadata.json`, naming
that file, is replaced atomically last (the commit point); the previous weights file is
removed only after it. The metadata also carries the history of the finished epochs, the
early-stopping bookkeeping (best validation loss, its epoch, epochs without improvement) and
the dropout random-generator states, none of which Keras' callbacks keep across a crash.
`best.weights.h5` beside the backup holds the best epoch's weights; the end of training
restores them, as Keras' EarlyStopping(restore_best_weights=True) does.

With the training order keyed by epoch (pipeline.training_dataset), a resumed run trains
exactly as an uninterrupted one would.

Multi-worker: only the chief's backup counts. On resume the chief loads it and every worker
receives the chief's weights, optimizer state and counters (multi_worker.broadcast_from_chief),
so a worker restarted on a fresh machine joins in the same state. The other workers keep
their own backup in a temporary directory, never read.
"""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import keras

from seqsent.errors import TrainingError
from seqsent.files import replace_atomically, write_json_atomic
from seqsent.layout import BACKUP_DIR, BEST_WEIGHTS, LOCK_FILE, MEMBERS_DIR, RUN_CONFIG

METADATA_FILE = "training_metadata.json"
LEGACY_WEIGHTS = "latest.weights.h5"  # written by Keras' own BackupAndRestore (seqsent before 0.2)


@dataclass
class TrainingState:
    epoch: int = 0
    """Epochs finished."""
    history: dict = field(default_factory=dict)
    best: float | None = None
    """Lowest validation loss so far."""
    best_epoch: int = 0
    """Epoch (from 1) of that loss; 0 before any."""
    wait: int = 0
    """Epochs since the last improvement."""
    stopped: bool = False
    """Early stopping ended training (nothing is left to run)."""
    weights: str | None = None
    seed_states: list = field(default_factory=list)
    batch: int = 0
    """Always 0: backups are made at the end of epochs (the key Keras' BackupAndRestore writes)."""


def read_backup_state(backup_dir: str | Path) -> dict | None:
    """The committed state of a backup directory ({'epoch': finished epochs, 'weights': file, ...}), or None."""
    try:
        state = json.loads((Path(backup_dir) / METADATA_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return state if isinstance(state, dict) and isinstance(state.get("epoch"), int) else None


def read_state(backup_dir: Path) -> TrainingState | None:
    """The last complete backup (None: there is none); an error when one is there but cannot be used."""
    values = read_backup_state(backup_dir)
    if values is None:
        if (backup_dir / METADATA_FILE).exists():
            raise TrainingError(f"the crash backup in {backup_dir} is unreadable; run with --restart to start over")
        return None
    known = {name for name in TrainingState.__dataclass_fields__}
    state = TrainingState(**{key: value for key, value in values.items() if key in known})
    state.weights = state.weights or LEGACY_WEIGHTS
    if Path(state.weights).name != state.weights or not (backup_dir / state.weights).is_file():
        raise TrainingError(f"the crash backup in {backup_dir} lacks its weights; run with --restart to start over")
    return state


def remove_backup(work_dir: Path) -> bool:
    """--restart: forget the backup and the best weights of an earlier attempt. True if there was one."""
    backup, best, members = work_dir / BACKUP_DIR, work_dir / BEST_WEIGHTS, work_dir / MEMBERS_DIR
    found = backup.exists() or best.exists() or members.exists()
    shutil.rmtree(backup, ignore_errors=True)
    shutil.rmtree(members, ignore_errors=True)
    best.unlink(missing_ok=True)
    return found


def discard_if_unstarted(work_dir: Path) -> bool:
    """A run that failed before writing anything but its config (a bad --encoder, unreadable data...) leaves no
    `in-progress-*` directory behind: there is nothing in it to resume. True if it was removed."""
    if any(path.name not in (LOCK_FILE, RUN_CONFIG) for path in work_dir.iterdir()):
        return False
    shutil.rmtree(work_dir, ignore_errors=True)
    try:
        work_dir.parent.rmdir()  # the run name's directory, when this was its only run
    except OSError:
        pass
    return True


def backup_dirs(work_dir: Path) -> list[Path]:
    """The backup directory of a run, or of each model of an ensemble run, in training order."""
    members = sorted((work_dir / MEMBERS_DIR).glob(f"*/{BACKUP_DIR}"))
    return members or [work_dir / BACKUP_DIR]


def _seed_variables(model: keras.Model):
    """Dropout random-generator states: not in the weights file, yet needed for an exact resume."""
    return [v for v in model.variables if "seed_generator_state" in v.path]


def _state_variables(model: keras.Model):
    """Everything the chief sends to the other workers on resume."""
    return list(model.variables) + list(model.optimizer.variables)


def restore(model: keras.Model, backup_dir: Path, distribution, epochs: int | None = None) -> TrainingState:
    """Load the backup into the compiled model (optimizer built); a fresh state when there is none. `epochs`: the
    run's configured epochs, which no backup of it can have passed."""
    from seqsent.training.multi_worker import broadcast_from_chief

    state = (read_state(backup_dir) if distribution.is_chief else None) or TrainingState()
    if state.epoch:
        _check_epoch_count(backup_dir / METADATA_FILE, state, epochs)
        try:
            model.load_weights(backup_dir / state.weights)
            for variable, value in zip(_seed_variables(model), state.seed_states):
                variable.assign(value)
        except Exception as exc:  # a foreign or damaged file: h5py and Keras raise many types
            raise TrainingError(f"cannot resume from the crash backup in {backup_dir} ({exc.__class__.__name__}: "
                                f"{str(exc)[:150]}); run with --restart to start over") from None
        _check_best_weights(backup_dir.parent / BEST_WEIGHTS, state)
    if distribution.num_workers > 1:
        numbers = [state.epoch, math.nan if state.best is None else state.best, state.best_epoch, state.wait,
                   float(state.stopped)]
        epoch, best, best_epoch, wait, stopped = broadcast_from_chief(distribution.strategy, distribution.is_chief,
                                                                      numbers)
        if epoch:
            broadcast_from_chief(distribution.strategy, distribution.is_chief, [], _state_variables(model))
        if not distribution.is_chief:
            state = TrainingState(epoch=int(epoch), best=None if math.isnan(best) else float(best),
                                  best_epoch=int(best_epoch), wait=int(wait), stopped=bool(stopped))
    return state


def _check_epoch_count(path: Path, state: TrainingState, epochs: int | None) -> None:
    """The epoch count decides which epochs are left and what the report says was trained: one that disagrees with
    the backup's own history, or passes the run's --epochs, comes from an edited or damaged file and must not be
    believed (the run would skip training and export the restored weights as finished)."""
    history = state.history if isinstance(state.history, dict) else {"?": None}
    lengths = sorted({len(values) if isinstance(values, list) else -1 for values in history.values()})
    legacy = state.weights == LEGACY_WEIGHTS  # Keras' own BackupAndRestore kept no history
    if not legacy and lengths != [state.epoch]:
        held = "/".join(str(n) for n in lengths if n >= 0) or "0"
        raise TrainingError(f"cannot resume: the crash backup's state ({path}) says {state.epoch} epoch(s) are done "
                            f"but its history has {held}; run with --restart to start over")
    if epochs is not None and state.epoch > epochs:
        raise TrainingError(f"cannot resume: the crash backup's state ({path}) says {state.epoch} epoch(s) are done, "
                            f"more than the run's --epochs {epochs}; run with --restart to start over")


def _check_best_weights(path: Path, state: TrainingState) -> None:
    """A resumed run ends by restoring its best epoch: a missing or damaged file of it must stop the resume now,
    not export the last epoch silently or fail after the remaining epochs have trained."""
    if not state.best_epoch or state.best_epoch == state.epoch:
        return
    import h5py

    try:
        with h5py.File(path, "r"):
            pass
    except Exception as exc:  # missing, truncated, not HDF5
        raise TrainingError(f"cannot resume: the best epoch's weights ({path}, epoch {state.best_epoch}) are missing "
                            f"or damaged ({exc.__class__.__name__}); run with --restart to start over") from None


class RunCheckpoint(keras.callbacks.Callback):
    """At the end of each epoch: early-stopping bookkeeping, best weights, then the backup.

    Early stopping follows Keras' EarlyStopping(monitor, patience, restore_best_weights=True),
    but its bookkeeping survives a crash with the rest of the state.
    """

    def __init__(self, work_dir: Path, patience: int, state: TrainingState | None = None, monitor: str = "val_loss"):
        super().__init__()
        self.backup_dir = work_dir / BACKUP_DIR
        self.best_path = work_dir / BEST_WEIGHTS
        self.patience = patience
        self.monitor = monitor
        self.state = state or TrainingState()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if not all(math.isfinite(float(logs.get(key, 0.0))) for key in ("loss", self.monitor)):
            return  # diverged: keep the last good backup (the run fails with a message about the learning rate)
        state = self.state
        state.epoch = epoch + 1
        for key, value in logs.items():
            state.history.setdefault(key, []).append(float(value))
        current = logs.get(self.monitor)
        if current is not None and math.isfinite(current) and (state.best is None or current < state.best):
            state.best, state.best_epoch, state.wait = float(current), epoch + 1, 0
            _save_weights_atomically(self.model, self.best_path)
        else:
            state.wait += 1
            if state.wait >= self.patience and epoch > 0:
                state.stopped = True
                self.model.stop_training = True
        self._save_backup()

    def on_train_end(self, logs=None):
        self.restore_best()

    def restore_best(self) -> None:
        """Leave the model with the best epoch's weights (when they are not the last epoch's already)."""
        if self.state.best_epoch and self.state.best_epoch != self.state.epoch and self.best_path.is_file():
            self.model.load_weights(self.best_path)

    def _save_backup(self) -> None:
        self.backup_dir.mkdir(parents=True, exist_ok=True)
        state = self.state
        previous = state.weights
        state.weights = f"epoch-{state.epoch:04d}.weights.h5"
        state.seed_states = [v.numpy().tolist() for v in _seed_variables(self.model)]
        _save_weights_atomically(self.model, self.backup_dir / state.weights)
        write_json_atomic(self.backup_dir / METADATA_FILE, asdict(state))  # the commit point
        if previous and previous != state.weights:
            (self.backup_dir / previous).unlink(missing_ok=True)


def _save_weights_atomically(model: keras.Model, path: Path) -> None:
    with replace_atomically(path, suffix=".weights.h5") as tmp:  # Keras insists on the .weights.h5 ending
        model.save_weights(tmp, overwrite=True)
