"""The library verbs: train, evaluate, predict, export. They take configs, return values and never print."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from seqsent.config import DataConfig, RunConfig


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
    export_dir: Path
    run_dir: Path


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


def write_json_atomic(path: Path, value) -> None:
    """Temp file in the same directory, then rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(value, handle, indent=2, sort_keys=True)
    os.replace(tmp, path)


def _work_dir(config: RunConfig) -> Path:
    """Same command, same directory: a re-run after a crash finds its backup and resumes."""
    digest = hashlib.sha256(config.to_json().encode()).hexdigest()[:10]
    return Path(config.runs_dir) / config.name / f"in-progress-{digest}"


def train(config: RunConfig, verbose: int = 1, dataset=None, on_data=None) -> TrainReport:
    """Load data, fit, export to output_dir/name/version, then score the export on the test split.

    `on_data(dataset)` is called once the data is loaded, before the long part starts.
    """
    from seqsent.data import load_dataset
    from seqsent.evaluation import compute_metrics
    from seqsent.export import export_saved_model, metadata_for
    from seqsent.inference import load_model
    from seqsent.training.trainer import fit

    config.validate()
    dataset = dataset or load_dataset(config.data)
    if on_data is not None:
        on_data(dataset)
    work_dir = _work_dir(config)
    result = fit(config, dataset, work_dir, verbose=verbose)

    export_dir = export_saved_model(result.text_model, metadata_for(dataset.class_names, config.to_dict()),
                                    config.output_dir, config.name)
    # Score the artifact that ships, not the in-memory model.
    exported = load_model(export_dir)
    test_metrics = compute_metrics(dataset.test.labels, exported.predict_proba(dataset.test.texts), dataset.class_names)
    _record_metrics(export_dir, test_metrics)

    run_dir = Path(config.runs_dir) / config.name / export_dir.name
    for leftover in ("backup", "best.weights.h5"):
        target = work_dir / leftover
        shutil.rmtree(target, ignore_errors=True) if target.is_dir() else target.unlink(missing_ok=True)
    summary = {
        "data": dataset.description, "class_names": dataset.class_names,
        "split_sizes": {"train": len(dataset.train), "validation": len(dataset.validation), "test": len(dataset.test)},
        "strategy": result.strategy, "global_batch_size": result.global_batch_size,
        "numeric_policy": result.numeric_policy, "parameters": result.parameters,
        "train_seconds": round(result.seconds, 1), "export_dir": str(export_dir),
    }
    write_json_atomic(work_dir / "config.json", config.to_dict())
    write_json_atomic(work_dir / "history.json", result.history)
    write_json_atomic(work_dir / "metrics.json", {"test": test_metrics, **summary})
    os.replace(work_dir, run_dir)
    return TrainReport(
        config=config, data_description=dataset.description, data_notes=dataset.notes,
        class_names=dataset.class_names, split_sizes=summary["split_sizes"], strategy=result.strategy,
        global_batch_size=result.global_batch_size, parameters=result.parameters, train_seconds=result.seconds,
        epochs_run=len(result.history.get("loss", [])), history=result.history, test_metrics=test_metrics,
        export_dir=export_dir, run_dir=run_dir,
    )


def _record_metrics(export_dir: Path, metrics: dict) -> None:
    from seqsent.export import EXTRA_DIR, METADATA_FILE

    file = export_dir / EXTRA_DIR / METADATA_FILE
    metadata = json.loads(file.read_text(encoding="utf-8"))
    metadata["test_metrics"] = metrics
    write_json_atomic(file, metadata)


def evaluate(model_path: str | Path, data: DataConfig | None = None) -> EvaluationReport:
    """Score a model on the test split of `data` (default: the data it was trained on, else the bundled sample)."""
    from seqsent.data import load_test_split
    from seqsent.evaluation import compute_metrics
    from seqsent.inference import load_model

    model = load_model(model_path)
    recorded = model.metadata.get("config", {}).get("data")
    trained_on = DataConfig(**recorded) if isinstance(recorded, dict) else None
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
    name = name or model.metadata.get("config", {}).get("name") or "model"
    return export_saved_model(keras_model.text_model, model.metadata, output_dir, name, version)
