"""A crash backup that is always whole: Ctrl-C or kill -9 at any moment leaves the last finished epoch's backup.

Keras' BackupAndRestore overwrites `latest.weights.h5` and then `training_metadata.json` in place:
an interrupt while it writes leaves a torn HDF5 file (the re-run then fails to load it) or
weights one epoch ahead of the metadata. Here each epoch's weights go to a new file, written
under a temporary name and renamed; the metadata, naming that file, is replaced atomically
last (the commit point); older weight files are removed only after it. The metadata also
carries the history of the finished epochs, so a resumed run reports all of them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import keras

from seqsent.errors import TrainingError

METADATA_FILE = "training_metadata.json"


def read_backup_state(backup_dir: str | Path) -> dict | None:
    """The committed state of a backup directory ({'epoch': finished epochs, 'weights': file, ...}), or None."""
    try:
        state = json.loads((Path(backup_dir) / METADATA_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    return state if isinstance(state, dict) and isinstance(state.get("epoch"), int) else None


class AtomicBackupAndRestore(keras.callbacks.BackupAndRestore):
    """BackupAndRestore(save_freq='epoch') with an atomically replaced backup and the history of finished epochs."""

    def __init__(self, backup_dir: str, delete_checkpoint: bool = True):
        super().__init__(backup_dir, save_freq="epoch", delete_checkpoint=delete_checkpoint)
        self._restored_history: dict[str, list[float]] = {}
        self._finished_history: dict[str, list[float]] = {}

    def on_train_begin(self, logs=None):
        backup = Path(self.backup_dir)
        state = read_backup_state(backup)
        if state is None:
            if (backup / METADATA_FILE).exists():
                raise TrainingError(f"the crash backup in {backup} is unreadable; delete that directory to start over")
            if (backup / "latest.weights.h5").exists():  # written by Keras' own BackupAndRestore
                self._restore_or_explain(super().on_train_begin)
            return
        weights = backup / str(state.get("weights", ""))
        if not weights.is_file() or weights.parent != backup:
            raise TrainingError(f"the crash backup in {backup} lacks its weights; delete that directory to start over")
        if self.model.optimizer is not None and not self.model.optimizer.built:
            self.model.optimizer.build(self.model.trainable_variables)
        self._restore_or_explain(lambda: self.model.load_weights(str(weights)))
        self.model._initial_epoch = state["epoch"]
        history = state.get("history")
        if isinstance(history, dict):
            self._restored_history = {k: list(v) for k, v in history.items() if isinstance(v, list)}
        self._finished_history = {k: list(v) for k, v in self._restored_history.items()}

    def _restore_or_explain(self, restore) -> None:
        try:
            restore()
        except Exception as exc:  # a torn or foreign file: h5py and Keras raise many types
            raise TrainingError(f"cannot resume from the crash backup in {self.backup_dir} ({exc.__class__.__name__}: "
                                f"{str(exc)[:150]}); delete that directory to start over") from None

    def on_epoch_end(self, epoch, logs=None):
        for key, value in (logs or {}).items():
            try:
                self._finished_history.setdefault(key, []).append(float(value))
            except (TypeError, ValueError):
                pass
        super().on_epoch_end(epoch, logs)

    def _save_model(self):
        backup = Path(self.backup_dir)
        backup.mkdir(parents=True, exist_ok=True)
        name = f"epoch-{self._current_epoch}.weights.h5"
        temporary = backup / f"tmp-{os.getpid()}-{name}"  # Keras insists on the .weights.h5 ending
        self.model.save_weights(str(temporary), overwrite=True)
        _fsync(temporary)
        os.replace(temporary, backup / name)
        state = {"epoch": self._current_epoch, "batch": 0, "weights": name, "history": self._finished_history}
        metadata_tmp = backup / f".{METADATA_FILE}.{os.getpid()}.tmp"
        metadata_tmp.write_text(json.dumps(state), encoding="utf-8")
        _fsync(metadata_tmp)
        os.replace(metadata_tmp, backup / METADATA_FILE)  # the commit point
        _fsync(backup)
        for old in backup.iterdir():
            if old.name != name and old.name.endswith(".weights.h5"):
                old.unlink(missing_ok=True)

    def on_train_end(self, logs=None):
        history = getattr(self.model, "history", None)
        if self._restored_history and history is not None and isinstance(getattr(history, "history", None), dict):
            for key, earlier in self._restored_history.items():
                history.history[key] = earlier + list(history.history.get(key, []))
        super().on_train_end(logs)


def _fsync(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
