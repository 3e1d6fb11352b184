"""The library verbs: train, evaluate, predict, export. They take configs, return values and never print."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from seqsent.config import DataConfig, RunConfig, recorded_data_config
from seqsent.errors import Interrupted
from seqsent.files import write_json_atomic


@dataclass
class TrainReport:
    config: RunConfig
    data_description: str
    data_notes: list[str]
    class_names: list[str]
    split_sizes: dict[str, int]
    strategy: str
    global_batch_size: int
    parameters: int
    train_seconds: float
    epochs_run: int
    history: dict[str, list[float]]
    test_metrics: dict
    export_dir: Path | None
    """None on a worker that is not the chief: only the chief exports (and scores the export)."""
    run_dir: Path | None
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    """What the run did that a user should hear about (e.g. pretrained embeddings' vocabulary coverage)."""
    per_replica_batch_size: int = 0
    replicas: int = 1
    resumed_from_epoch: int = 0
    """Epochs restored from a crash backup rather than trained by this run."""
    chief: bool = True


@dataclass
class EvaluationReport:
    model_path: Path
    data_description: str
    metrics: dict
    notes: list[str] = field(default_factory=list)


@dataclass
class Prediction:
    text: str
    label: str
    probability: float
    probabilities: dict[str, float]


def _claim_work_dir(config: RunConfig):
    """Same command, same directory: a re-run after a crash finds its backup and resumes.

    The directory is locked while a run uses it; a second identical run started meanwhile
    gets a directory of its own, so two runs never write the same checkpoint.
    Returns (directory, open lock file): the lock lasts as long as the file stays open.
    """
    import fcntl

    digest = hashlib.sha256(config.to_json().encode()).hexdigest()[:10]
    base = Path(config.runs_dir) / config.name / f"in-progress-{digest}"
    for attempt in range(1000):
        work_dir = base if attempt == 0 else base.with_name(f"{base.name}-{attempt}")
        work_dir.mkdir(parents=True, exist_ok=True)
        lock = open(work_dir / ".lock", "w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return work_dir, lock
        except BlockingIOError:
            lock.close()
    raise RuntimeError(f"no free run directory under {base.parent}")


def _finish_run_dir(work_dir: Path, runs_base: Path, version: str) -> Path:
    """Rename the finished run next to its export's version (a suffix if that name is taken)."""
    (work_dir / ".lock").unlink(missing_ok=True)
    for suffix in [""] + [f"-{i}" for i in range(1, 1000)]:
        target = runs_base / f"{version}{suffix}"
        if not target.exists():
            try:
                os.rename(work_dir, target)
                return target
            except OSError:
                continue
    return work_dir


def train(config: RunConfig, verbose: int = 1, dataset=None, on_data=None, notify=None,
          restart: bool = False) -> TrainReport:
    """Load data, fit, export to output_dir/name/version, then score the export on the test split.

    `on_data(dataset)` is called once the data is loaded, before the long part starts;
    `notify(message)` hears about the strategy, warnings and resumed runs. A crash backup of the
    same config is resumed, unless `restart`. With --strategy multi-worker every worker calls this;
    only the chief writes the run directory and the export.
    """
    from seqsent.data import load_dataset
    from seqsent.training.strategy import start_distribution

    config.validate()
    notify = notify or (lambda message: None)
    for flag, directory in (("--output-dir", config.output_dir), ("--runs-dir", config.runs_dir)):
        _check_creatable_dir(flag, Path(directory))  # before the data and the training, not after
    # The strategy before the data: a multi-worker strategy must exist before TensorFlow runs any op.
    distribution, warnings = start_distribution(config.train.strategy)
    notify(f"Strategy: {distribution.describe()}")
    for warning in warnings:
        notify(f"Warning: {warning}")
    dataset = dataset or load_dataset(config.data)
    if on_data is not None:
        on_data(dataset)
    if not distribution.is_chief:
        return _train_as_worker(config, dataset, verbose, distribution, notify)
    work_dir, lock = _claim_work_dir(config)
    try:
        if restart:
            from seqsent.training.backup import remove_backup

            if remove_backup(work_dir):
                notify(f"--restart: removed the backup in {work_dir / 'backup'}; starting from epoch 1")
        return _train_in(work_dir, config, dataset, verbose, distribution, notify)
    except KeyboardInterrupt:
        raise Interrupted(_interrupted_message(work_dir)) from None
    finally:
        lock.close()


def _interrupted_message(work_dir: Path) -> str:
    from seqsent.training.backup import backup_dirs, read_backup_state

    saved = [(backup, state) for backup in backup_dirs(work_dir) if (state := read_backup_state(backup))]
    if not saved:
        return "interrupted before the first epoch finished; nothing to resume (run the command again to start over)"
    backup, state = saved[-1]
    return (f"interrupted; the backup of epoch {state['epoch']} is in {backup}: "
            "run the same command again to resume from it")


def _check_creatable_dir(flag: str, path: Path) -> None:
    """A directory, or one that can be made: its nearest existing ancestor is a writable directory."""
    from seqsent.errors import UsageError

    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(f"{flag} {path}: {existing} is a file, not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"{flag} {path}: {existing} is not writable")


def _train_as_worker(config: RunConfig, dataset, verbose: int, distribution, notify) -> TrainReport:
    """A worker other than the chief: trains in step with it, in a temporary directory removed afterwards."""
    from seqsent.training.trainer import fit

    work_dir = Path(tempfile.mkdtemp(prefix=f"seqsent-{distribution.worker}-"))
    try:
        result = fit(config, dataset, work_dir, verbose=verbose, distribution=distribution, notify=notify)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    return TrainReport(
        config=config, data_description=dataset.description, data_notes=dataset.notes,
        class_names=dataset.class_names,
        split_sizes={"train": len(dataset.train), "validation": len(dataset.validation), "test": len(dataset.test)},
        strategy=result.strategy, global_batch_size=result.global_batch_size, parameters=result.parameters,
        train_seconds=result.seconds, history=result.history, test_metrics={}, export_dir=None, run_dir=None,
        epochs_run=result.resumed_from_epoch + len(result.history.get("loss", [])),  # the chief keeps the history
        warnings=result.warnings,
        per_replica_batch_size=result.per_replica_batch_size, replicas=result.replicas,
        resumed_from_epoch=result.resumed_from_epoch, chief=False,
    )


def _train_in(work_dir: Path, config: RunConfig, dataset, verbose: int, distribution=None, notify=None) -> TrainReport:
    from seqsent.evaluation import compute_metrics
    from seqsent.export import export_saved_model, metadata_for
    from seqsent.inference import load_model
    from seqsent.training.trainer import fit

    from seqsent.errors import TrainingError

    write_json_atomic(work_dir / "config.json", config.to_dict())
    try:
        result = fit(config, dataset, work_dir, verbose=verbose, distribution=distribution, notify=notify)
    except TrainingError as exc:
        raise TrainingError(f"{exc} (the run's config: {work_dir / 'config.json'})") from None

    export_dir = export_saved_model(result.text_model, metadata_for(dataset.class_names, config.to_dict()),
                                    config.output_dir, config.name)
    # Score the artifact that ships, not the in-memory model.
    exported = load_model(export_dir)
    test_metrics = compute_metrics(dataset.test.labels, exported.predict_proba(dataset.test.texts), dataset.class_names)
    _record_results(export_dir, test_metrics, result.history)

    for leftover in ("backup", "best.weights.h5"):
        target = work_dir / leftover
        shutil.rmtree(target, ignore_errors=True) if target.is_dir() else target.unlink(missing_ok=True)
    summary = {
        "data": dataset.description, "class_names": dataset.class_names,
        "split_sizes": {"train": len(dataset.train), "validation": len(dataset.validation), "test": len(dataset.test)},
        "strategy": result.strategy, "global_batch_size": result.global_batch_size,
        "per_replica_batch_size": result.per_replica_batch_size, "replicas": result.replicas,
        "resumed_from_epoch": result.resumed_from_epoch, "jit_compile": result.jit_compile,
        "numeric_policy": result.numeric_policy, "parameters": result.parameters,
        "train_seconds": round(result.seconds, 1), "export_dir": str(export_dir),
    }
    from seqsent.models import embeddings_note

    notes = [note] if (note := embeddings_note(result.text_model)) else []
    if notes:
        summary["embeddings"] = notes[0]
    write_json_atomic(work_dir / "history.json", result.history)
    write_json_atomic(work_dir / "metrics.json", {"test": test_metrics, **summary})
    run_dir = _finish_run_dir(work_dir, Path(config.runs_dir) / config.name, export_dir.name)
    return TrainReport(
        config=config, data_description=dataset.description, data_notes=dataset.notes,
        class_names=dataset.class_names, split_sizes=summary["split_sizes"], strategy=result.strategy,
        global_batch_size=result.global_batch_size, parameters=result.parameters, train_seconds=result.seconds,
        epochs_run=len(result.history.get("loss", [])), history=result.history, test_metrics=test_metrics,
        export_dir=export_dir, run_dir=run_dir, warnings=_divergence_warnings(result.history), notes=notes,
        per_replica_batch_size=result.per_replica_batch_size, replicas=result.replicas,
        resumed_from_epoch=result.resumed_from_epoch,
    )


def _divergence_warnings(history: dict) -> list[str]:
    """Validation loss far above its best by the last epoch: overfitting or a learning rate too high."""
    losses = history.get("val_loss", [])
    if len(losses) >= 2 and losses[-1] > 1.25 * min(losses):
        best = losses.index(min(losses)) + 1
        return [f"validation loss diverged ({min(losses):.4f} at epoch {best}, {losses[-1]:.4f} at the end); "
                f"the exported weights are those of epoch {best}"]
    return []


def _record_results(export_dir: Path, metrics: dict, history: dict) -> None:
    """Test metrics and training history travel with the model (assets.extra/seqsent.json)."""
    from seqsent.export import EXTRA_DIR, METADATA_FILE

    file = export_dir / EXTRA_DIR / METADATA_FILE
    metadata = json.loads(file.read_text(encoding="utf-8"))
    metadata["test_metrics"] = metrics
    metadata["history"] = history
    write_json_atomic(file, metadata)


def evaluate(model_path: str | Path, data: DataConfig | None = None) -> EvaluationReport:
    """Score a model on the test split of `data` (default: the data it was trained on, else the bundled sample)."""
    from seqsent.data import load_test_split
    from seqsent.evaluation import compute_metrics
    from seqsent.inference import load_model

    model = load_model(model_path)
    trained_on = recorded_data_config(model.metadata, model.path)
    data = data or trained_on or DataConfig()
    split, description, notes = load_test_split(data, model.class_names, trained_on)
    metrics = compute_metrics(split.labels, model.predict_proba(split.texts), model.class_names)
    return EvaluationReport(model.path, description, metrics, notes)


def predict(model_path: str | Path, texts: list[str]) -> list[Prediction]:
    from seqsent.inference import load_model

    model = load_model(model_path)
    probabilities = model.predict_proba(texts)
    results = []
    for text, row in zip(texts, probabilities):
        best = int(row.argmax())
        results.append(Prediction(text, model.class_names[best], float(row[best]),
                                  {name: float(p) for name, p in zip(model.class_names, row)}))
    return results


def export(model_path: str | Path, output_dir: str | Path = "saved_models", name: str | None = None,
           version: int | None = None) -> Path:
    """Re-export a trained model (a .keras file or an export) as a new SavedModel version."""
    from seqsent.errors import ModelError
    from seqsent.export import export_saved_model
    from seqsent.inference import load_model

    model = load_model(model_path)
    if model.keras_path is None:
        raise ModelError(f"{model.path}: has no model.keras to re-export from")
    keras_model = model if model.kind == "keras" else load_model(model.keras_path)
    from seqsent.config import _is_safe_name
    from seqsent.errors import UsageError

    if name is None:
        recorded = model.metadata.get("config")
        name = (recorded.get("name") if isinstance(recorded, dict) else None) or "model"
        if not isinstance(name, str) or not _is_safe_name(name):  # never a path from an untrusted file
            raise ModelError(f"{model.path}: its recorded name {name!r} is not a plain directory name; give --name")
    elif not _is_safe_name(name):
        raise UsageError("--name may hold only letters, digits, '.', '_' and '-'")
    return export_saved_model(keras_model.text_model, model.metadata, output_dir, name, version)
