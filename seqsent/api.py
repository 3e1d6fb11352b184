"""The library verbs: train, evaluate, report, predict, export. They take configs, return values and never print.

The CLI is a thin layer over these; a notebook calls the same functions:

    report = train(RunConfig(name="demo"))
    evaluation = evaluate(report.export_dir)
    predict(report.export_dir, ["A wonderful film.", "Dull and far too long."])
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Collection

from seqsent.config import NAME_RULE, DataConfig, RunConfig, is_safe_name
from seqsent.errors import Interrupted, ModelError, TrainingError, UsageError
from seqsent.files import check_creatable
from seqsent.progress import keras_verbosity
from seqsent.layout import (claim_run_dir, finish_run_dir, model_metadata, remove_training_leftovers, write_run_config,
                            write_run_results)


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
class Prediction:
    text: str
    label: str
    probability: float
    probabilities: dict[str, float]

    def line(self, width: int = 60) -> str:
        """Label, probability and the text, tab-separated on one line: the text's line breaks and tabs shown escaped
        ("\\n", "\\t") and the text clipped to `width`, so one text is one output line of three fields (JSON output
        keeps the text exact)."""
        shown = self.text.translate(_ESCAPED_LINE_BREAKS).replace("\t", "\\t")
        shown = shown if len(shown) <= width else shown[: width - 3] + "..."
        label = self.label.translate(_ESCAPED_LINE_BREAKS).replace("\t", "\\t")  # a class name may hold them too
        return f"{label}\t{self.probability:.4f}\t{shown}"


# What str.splitlines() splits at, each as its Python escape ("\n", "\x85", "\u2028").
_ESCAPED_LINE_BREAKS = {ord(c): c.encode("unicode_escape").decode() for c in "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"}


# ---------------------------------------------------------------- train


def train(config: RunConfig, verbose: int | str = "auto", dataset=None, on_data=None, notify=None,
          restart: bool = False, callbacks: tuple = (), given: Collection[str] = ()) -> TrainReport:
    """Load data, fit, export to output_dir/name/version, then score the export on the test split.

    `verbose`: Keras' progress (0, 1 a bar, 2 a line per epoch; 'auto' a bar on a terminal, lines otherwise).
    `callbacks`: Keras callbacks run by `fit` after seqsent's own (progress, timing, your own logging).
    `on_data(dataset)` is called once the data is loaded, before the long part starts;
    `notify(message)` hears about the strategy, warnings and resumed runs. A crash backup of the
    same config is resumed, unless `restart`. With --strategy multi-worker every worker calls this;
    only the chief writes the run directory and the export. `given`: 'section.field' keys set on purpose though
    equal to their default (e.g. {"model.units"}), so that an --encoder or --embeddings file that disagrees
    refuses them rather than replacing them (values other than the default always count as set).
    """
    with callers_random_state_kept():
        return _train(config, verbose, dataset, on_data, notify, restart, callbacks, given)


@contextmanager
def callers_random_state_kept():
    """Training seeds Python's and NumPy's global generators (keras.utils.set_random_seed) for its own
    reproducibility; a notebook's next random.random() or np.random draw goes on as if it had not."""
    import random

    import numpy as np

    python_state, numpy_state = random.getstate(), np.random.get_state()
    try:
        yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)


def _train(config: RunConfig, verbose, dataset, on_data, notify, restart: bool, callbacks, given) -> TrainReport:
    from seqsent.data import open_data
    from seqsent.training.backup import discard_if_unstarted
    from seqsent.training.strategy import start_distribution

    import copy

    notify = notify or log_or_warn
    verbose = keras_verbosity(verbose)  # 'auto': a bar on a terminal, a line per epoch otherwise
    config = prepare_config(copy.deepcopy(config), notify, given)  # the caller's, reused for a next run, stays as given
    # The strategy before the data: a multi-worker strategy must exist before TensorFlow runs any op.
    distribution, warnings = start_distribution(config.train.strategy)
    notify(f"Strategy: {distribution.describe()}")
    for warning in warnings:
        notify(f"Warning: {warning}")
    if dataset is not None and not hasattr(dataset, "class_names"):
        raise UsageError(f"dataset= takes a seqsent Dataset, not a {type(dataset).__name__}: make one with "
                         "seqsent.from_python(texts, labels) (or a DataFrame)")
    if dataset is not None:
        # The run adds its own --unlabelled texts and notes to a copy: the caller's Dataset serves the next run as given.
        dataset = dataclasses.replace(dataset, notes=list(dataset.notes), unlabelled=[])
    if dataset is not None and dataset.description.startswith("Python data"):
        from seqsent.data.python import PYTHON_SOURCE

        _refuse_data_settings_from_python(config)
        config.data.source = PYTHON_SOURCE  # recorded with the run and the model: not a file to read again
    dataset = dataset or open_data(config.data, notify, need_counts=config.train.steps_per_epoch is None)
    _check_streaming(dataset, config)
    _add_unlabelled(dataset, config, notify)
    from seqsent.data.provenance import note_learned_test_texts

    note_learned_test_texts(dataset, config)
    if on_data is not None:
        on_data(dataset)
    if not distribution.is_chief:
        return _train_as_worker(config, dataset, verbose, distribution, notify, callbacks)
    work_dir, lock = claim_run_dir(run_key(config, dataset), config.runs_dir, config.name)
    try:
        if restart:
            _forget_backup(work_dir, notify)
        return _train_in(work_dir, config, dataset, verbose, distribution, notify, callbacks)
    except KeyboardInterrupt:
        message = _interrupted_message(work_dir)
        discard_if_unstarted(work_dir)
        raise Interrupted(message) from None
    except TrainingError:  # e.g. a NaN loss: its message names the run's config.json, kept
        raise
    except BaseException:
        discard_if_unstarted(work_dir)
        raise
    finally:
        lock.close()


def log_or_warn(message: str) -> None:
    """The Python API's default `notify`: progress to the 'seqsent' logger, warnings through `warnings`."""
    import logging
    import warnings

    from seqsent.errors import SeqsentWarning

    if message.startswith("Warning: "):
        warnings.warn(message[len("Warning: "):], SeqsentWarning, stacklevel=3)
    else:
        logging.getLogger("seqsent").info(message)


def run_key(config: RunConfig, dataset) -> str:
    """What a crash backup is kept under: the run's settings and its data, so a backup made on other data (a
    changed file, other Python data) is never resumed."""
    return config.to_json() + dataset.fingerprint()


def prepare_config(config: RunConfig, notify=None, given: Collection[str] = ()) -> RunConfig:
    """Validate, then apply the rules that make a config whole: shapes fixed by pretrained weights, and writable
    output directories, all checked before the data is read and the training starts, not after."""
    from seqsent.config import ignored_settings
    from seqsent.models import adopt_pretrained_shapes

    named = bool(config.name)
    config.validate()
    notes = adopt_pretrained_shapes(config.model, given)
    if config.model.encoder_path:
        from seqsent.models.encoder import adopt_encoder_shape, read_encoder

        notes += adopt_encoder_shape(config, read_encoder(config.model.encoder_path), given)
        if not named:
            config.name = config.default_name()  # DATA-ARCH with the arch the encoder gave
        config.validate()  # the adopted shape, checked like any other
    for note in notes:
        (notify or (lambda message: None))(note[0].upper() + note[1:])
    for _, note in ignored_settings(config, given):
        (notify or (lambda message: None))(f"Note: {note}")
    name = config.name or config.default_name()
    for flag, directory in (("--output-dir", config.output_dir), ("--runs-dir", config.runs_dir)):
        # The model's own directory under it too: a file or a read-only directory named NAME there would
        # otherwise stop the export only after the training.
        check_creatable(Path(directory) / name, flag, directory=True)
    return config


def _check_streaming(dataset, config: RunConfig) -> None:
    """What streamed data cannot do yet, refused before the training starts."""
    from seqsent.data.streaming import StreamingDataset

    if not isinstance(dataset, StreamingDataset):
        if config.train.steps_per_epoch is not None:
            raise UsageError("--steps-per-epoch goes with streamed data (an epoch of data in memory is one pass)")
        return
    if config.semi.active:
        raise UsageError("--vat, --adversarial and --entropy-weight need data held in memory, not streamed data")
    if config.semi.unlabelled_vocabulary:
        raise UsageError("--unlabelled-vocabulary needs data held in memory (streamed data learns its vocabulary "
                         "from --vocabulary-sample train texts)")
    if config.model.wide_ngrams and config.model.wide_training == "separate":
        raise UsageError("--wide-training separate needs data held in memory, not streamed data")


def _refuse_data_settings_from_python(config: RunConfig) -> None:
    """A Dataset made by from_python is split already: config.data's settings would be recorded, never applied."""
    defaults = DataConfig()
    changed = [name for name in DataConfig.__dataclass_fields__  # (text_column: an --unlabelled table's, too)
               if name not in ("source", "text_column") and getattr(config.data, name) != getattr(defaults, name)]
    if changed:
        raise UsageError(f"config.data.{changed[0]} has no effect with a dataset= made by from_python (its splits "
                         "are made there: from_python(..., validation_fraction=, test_fraction=, seed=)); leave "
                         f"config.data at its defaults ({', '.join('data.' + name for name in changed)} set)")


def _add_unlabelled(dataset, config: RunConfig, notify=None) -> None:
    """The --unlabelled texts, read once for the run (an ensemble's recurrent models share them)."""
    if not config.semi.unlabelled:
        return
    from seqsent.data.unlabelled import read_unlabelled_sources

    dataset.unlabelled, notes = read_unlabelled_sources(config.semi.unlabelled, dataset.test.texts, notify,
                                                        config.semi.unlabelled_text_column or config.data.text_column)
    dataset.notes.extend(notes)


def _forget_backup(work_dir: Path, notify) -> None:
    from seqsent.training.backup import remove_backup

    if remove_backup(work_dir):
        notify(f"--restart: removed the backup in {work_dir / 'backup'}; starting from epoch 1")


def _interrupted_message(work_dir: Path) -> str:
    from seqsent.training.backup import backup_dirs, read_backup_state

    saved = [(backup, state) for backup in backup_dirs(work_dir) if (state := read_backup_state(backup))]
    if not saved:
        return "interrupted before the first epoch finished; nothing to resume (run the command again to start over)"
    backup, state = saved[-1]
    return (f"interrupted; the backup of epoch {state['epoch']} is in {backup}: "
            "run the same command again to resume from it")


def _train_as_worker(config: RunConfig, dataset, verbose: int, distribution, notify, callbacks=()) -> TrainReport:
    """A worker other than the chief: trains in step with it, in a temporary directory removed afterwards."""
    from seqsent.training.trainer import fit

    work_dir = Path(tempfile.mkdtemp(prefix=f"seqsent-{distribution.worker}-"))
    try:
        result = fit(config, dataset, work_dir, verbose=verbose, extra_callbacks=tuple(callbacks),
                     distribution=distribution, notify=notify)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    return _report(config, dataset, result, test_metrics={}, export_dir=None, run_dir=None, chief=False,
                   epochs_run=result.resumed_from_epoch + len(result.history.get("loss", [])))


def _train_in(work_dir: Path, config: RunConfig, dataset, verbose: int, distribution, notify,
              callbacks=()) -> TrainReport:
    """The chief's run: fit, export and score the export, record the run, name its directory after the export."""
    from seqsent.training.trainer import fit

    config_file = write_run_config(work_dir, config.to_dict())
    try:
        result = fit(config, dataset, work_dir, verbose=verbose, extra_callbacks=tuple(callbacks),
                     distribution=distribution, notify=notify)
    except TrainingError as exc:
        raise TrainingError(f"{exc} (the run's config: {config_file})") from None
    export_dir, test_metrics = _export_and_score(result, config, dataset, notify)
    remove_training_leftovers(work_dir)
    write_run_results(work_dir, result.history, {"test": test_metrics, **_run_summary(result, dataset, export_dir)},
                      member_histories=result.member_histories)
    run_dir = finish_run_dir(work_dir, Path(config.runs_dir) / config.name, export_dir.name)
    for warning in _divergence_warnings(result.history):
        notify(f"Warning: {warning}")
    return _report(config, dataset, result, test_metrics=test_metrics, export_dir=export_dir, run_dir=run_dir,
                   warnings=_divergence_warnings(result.history), epochs_run=len(result.history.get("loss", [])))


def _export_and_score(result, config: RunConfig, dataset, notify=None, extra: dict | None = None
                      ) -> tuple[Path, dict]:
    """Export, then score the artifact that ships (not the in-memory model) on the test split; the metrics go into
    its metadata before the version appears, so a version never changes once TF Serving can see it.

    `extra`: more metadata (an ensemble's members and weights)."""
    from seqsent.evaluation.scoring import score
    from seqsent.serving.export import new_version, write_export_metadata, write_saved_model
    from seqsent.serving.inference import load_model

    streamed = hasattr(dataset, "chunks")
    data = {"description": dataset.description, "split_sizes": _split_sizes(dataset),
            "validation_split": dataset.validation_split,
            **({} if streamed else _source_digest(config.data)),  # streamed: no whole-file read
            **({"notes": list(dataset.notes)} if dataset.notes else {})}  # e.g. test texts its vectors had read
    metadata = {**model_metadata(dataset.class_names, config.to_dict(), history=result.history, data=data),
                **({"member_histories": result.member_histories} if getattr(result, "member_histories", None) else {}),
                **(extra or {})}
    test = dataset.chunks("test") if streamed else dataset.test  # streamed: never held whole
    notify = notify or (lambda message: None)
    with new_version(config.output_dir, config.name) as staged:
        notify(f"Exporting {config.name} under {config.output_dir}")
        metadata = write_saved_model(staged.path, result.text_model, metadata, config.name)
        notify("Scoring the export on the test split")
        test_metrics = score(load_model(staged.path), test, notify=notify).metrics
        write_export_metadata(staged.path, {**metadata, "test_metrics": test_metrics})  # seqsent.json, model card
    return staged.published, test_metrics


def _source_digest(data: DataConfig) -> dict:
    """{"source_sha256": ...} for a table file read whole (see seqsent.data.tables.table_digest), else {}."""
    from seqsent.data.tables import is_table, table_digest

    source = Path(data.source).expanduser()
    if data.source in ("sample", "imdb", "python") or not is_table(source) or not source.is_file():
        return {}
    digest = table_digest(source)
    return {"source_sha256": digest} if digest else {}


def _run_summary(result, dataset, export_dir: Path) -> dict:
    summary = {
        "data": dataset.description, "class_names": dataset.class_names, "split_sizes": _split_sizes(dataset),
        "validation_split": dataset.validation_split,
        "strategy": result.strategy, "global_batch_size": result.global_batch_size,
        "per_replica_batch_size": result.per_replica_batch_size, "replicas": result.replicas,
        "resumed_from_epoch": result.resumed_from_epoch, "jit_compile": result.jit_compile,
        "numeric_policy": result.numeric_policy, "parameters": result.parameters,
        "train_seconds": round(result.seconds, 1), "export_dir": str(export_dir),
    }
    if result.notes:
        summary["embeddings"] = result.notes[0]
    return summary


def _split_sizes(dataset) -> dict[str, int]:
    return dataset.split_sizes()


def _report(config: RunConfig, dataset, result, *, test_metrics: dict, export_dir, run_dir, epochs_run: int,
            chief: bool = True, warnings: list[str] | None = None) -> TrainReport:
    from seqsent.evaluation.metrics import absent_class_notes

    return TrainReport(
        config=config, data_description=dataset.description, data_notes=dataset.notes,
        class_names=dataset.class_names, split_sizes=_split_sizes(dataset), strategy=result.strategy,
        global_batch_size=result.global_batch_size, parameters=result.parameters, train_seconds=result.seconds,
        epochs_run=epochs_run, history=result.history, test_metrics=test_metrics, export_dir=export_dir,
        run_dir=run_dir, warnings=result.warnings if not chief else (warnings or []),
        notes=list(result.notes) + _shard_notes(dataset)
        + absent_class_notes(dataset.class_names, test_metrics.get("confusion_matrix")),
        per_replica_batch_size=result.per_replica_batch_size, replicas=result.replicas,
        resumed_from_epoch=result.resumed_from_epoch, chief=chief,
    )


def _shard_notes(dataset) -> list[str]:
    """Streamed data: what reading the shards did (rows per shard in this process, shards skipped)."""
    report = getattr(dataset, "report", None)
    if report is None:
        return []
    notes = []
    for purpose in ("vocabulary", "train", "validation", "test"):
        read = ", ".join(f"{Path(path).name} {rows:,}" for (kind, path), rows in sorted(report.rows.items())
                         if kind == purpose)
        if read:
            notes.append(f"{purpose} rows read per shard by this process: {read}")
    return notes + report.notes()


def _divergence_warnings(history: dict) -> list[str]:
    """Validation loss far above its best by the last epoch: overfitting or a learning rate too high."""
    losses = history.get("val_loss", [])
    if len(losses) >= 2 and losses[-1] > 1.25 * min(losses):
        best = losses.index(min(losses)) + 1
        return [f"validation loss diverged ({min(losses):.4f} at epoch {best}, {losses[-1]:.4f} at the end); "
                f"the exported weights are those of epoch {best}"]
    return []


# ---------------------------------------------------------------- ensemble


@dataclass
class EnsembleReport:
    export_dir: Path
    members: list[str]
    weights: list[float]
    validation_accuracy: dict[str, float]
    test_metrics: dict
    data_description: str


def ensemble(model_paths: list[str | Path], name: str, output_dir: str | Path = "saved_models", notify=None,
             data: DataConfig | None = None, model_columns: tuple[str, ...] = ()) -> EnsembleReport:
    """Combine trained two-class models into one export: their log-odds averaged with weights chosen on the
    validation split of their training data (lowest log loss), scored on its test split, exported like `train`'s.

    No model is trained again: e.g. an NBSVM and a recurrent model trained apart, each by its own command.
    `model_columns`: as evaluate's (the columns the first model was trained on, for a table `data`).
    """
    import numpy as np

    from seqsent.config import recorded_data_config, recorded_run_config
    from seqsent.data import as_recorded
    from seqsent.serving.inference import resolve_model_path
    from seqsent.training.ensemble import choose_log_odds_weights, log_odds_ensemble

    notify = notify or log_or_warn
    _check_ensemble_request(model_paths, name, output_dir)
    members = [_keras_model_of(path) for path in model_paths]  # each loaded once: it predicts and is combined
    names = members[0].class_names
    if len(names) != 2 or any(m.class_names != names for m in members):
        raise UsageError("seqsent ensemble combines two-class models with the same class names "
                         f"({', '.join(f'{p}: ' + '/'.join(m.class_names) for p, m in zip(model_paths, members))})")
    recorded_runs = [recorded_run_config(m.metadata, p) for p, m in zip(model_paths, members)]  # checked before the
    # validation predictions, not after: the first is copied into the export
    recorded = [as_recorded(recorded_data_config(m.metadata, resolve_model_path(p))) for p, m in zip(model_paths, members)]
    data, note = _with_model_columns(data, recorded[0], model_columns, "models'")
    if note:
        notify(f"Note: {note}")
    _check_members_split_alike([str(p) for p in model_paths], recorded, data)
    data = data or recorded[0]
    if data is None:
        raise UsageError(f"{model_paths[0]} records no training data: give it with --data")
    from seqsent.data.python import PYTHON_SOURCE

    if data.source == PYTHON_SOURCE:
        raise UsageError(f"{model_paths[0]} was trained on data given from Python, which an ensemble cannot read "
                         "again to choose its weights: train the members on a file (save the data as a CSV)")
    dataset, validation = _ensemble_splits(data, names, notify)
    probabilities = np.stack([m.predict_proba(validation.texts)[:, 1] for m in members])
    weights, accuracy, step = choose_log_odds_weights(probabilities, validation.labels)
    searched = f"in steps of {step:g}" if step else "equal: too many models to search"
    notify(f"Weights chosen on the validation split ({searched}): " + ", ".join(
        f"{p} {w:.2f}" for p, w in zip(model_paths, weights)) + " (validation accuracy: "
        + ", ".join(f"{k} {v:.4f}" for k, v in accuracy.items()) + ")")
    for note in _members_adding_nothing([str(p) for p in model_paths], probabilities, weights):
        notify(f"Note: {note}")
    config = recorded_runs[0] or RunConfig()
    config.name, config.output_dir, config.data = name, str(output_dir), data  # what evaluate scores it on
    result = _Combined(log_odds_ensemble([m.text_model for m in members], weights), history={})
    # The config is the first member's (its data and text settings); what the export is, is said here.
    ensemble = {"members": [{"model": str(path), "arch": (m.metadata.get("config") or {}).get("model", {}).get("arch"),
                             "weight": weight} for path, m, weight in zip(model_paths, members, weights)],
                "validation_accuracy": accuracy}
    export_dir, test_metrics = _export_and_score(result, config, dataset, notify, extra={"ensemble": ensemble})
    return EnsembleReport(export_dir, [str(p) for p in model_paths], weights, accuracy, test_metrics,
                          dataset.description)


def _check_ensemble_request(model_paths: list, name: str, output_dir) -> None:
    """What can be refused before any member loads."""
    if not is_safe_name(name):
        raise UsageError(NAME_RULE)
    if len(model_paths) < 2:
        raise UsageError("give two or more models to combine")
    given_twice = next((p for i, p in enumerate(model_paths)
                        if any(Path(p).resolve() == Path(q).resolve() for q in model_paths[:i])), None)
    if given_twice is not None:
        raise UsageError(f"{given_twice} is given twice: each model counts once (its weight is chosen)")
    check_creatable(output_dir, "--output-dir", directory=True)  # before fitting the weights, not after


def _members_adding_nothing(paths: list[str], probabilities, weights) -> list[str]:
    """Members that change nothing: one predicting as another does on every validation text (the same model, e.g.
    a re-export), one whose chosen weight is 0 (it stays in the export, unused)."""
    import numpy as np

    notes = [f"{paths[j]} predicts as {paths[i]} on every validation text (the same model?): it adds nothing"
             for j in range(len(paths)) for i in range(j) if np.allclose(probabilities[i], probabilities[j], atol=1e-6)]
    notes += [f"{path} got weight 0 on validation: it is in the export but adds nothing to its predictions"
              for path, weight in zip(paths, weights) if weight == 0]
    return notes


def _check_members_split_alike(paths: list[str], recorded: list, given) -> None:
    """The weights are chosen on validation rows and the ensemble scored on test rows that no member may have
    trained on: so the members must have split their data alike, and a --data of that data split it as they did."""
    from seqsent.data import split_differences

    unknown = [path for path, config in zip(paths, recorded) if config is None]
    if unknown and len(unknown) < len(paths):
        known = paths[recorded.index(next(c for c in recorded if c is not None))]
        raise UsageError(f"{unknown[0]} records no training data: it cannot be checked not to have trained on "
                         f"{known}'s validation or test rows; combine models whose exports record their data")
    first = recorded[0]
    if first is None:
        return
    for path, config in zip(paths[1:], recorded[1:]):
        differences = split_differences(first, config) if config is not None else []
        if differences:
            raise UsageError(f"{path} was trained on other splits than {paths[0]} ({'; '.join(differences)}): "
                             "each would be chosen and scored on rows the other trained on; train the members with "
                             "the same data options")
    differences = split_differences(first, given) if given is not None else []
    if differences and not differences[0].startswith("--data "):  # other data: scored as given
        raise UsageError(f"--data {given.source} is split otherwise than {paths[0]} was trained "
                         f"({'; '.join(differences)}, the models' / given): its validation and test rows would hold "
                         "rows the models trained on; give the same options, or leave --data out")


def _ensemble_splits(data: DataConfig, class_names: list[str], notify):
    """(the data to score on, its validation Split in the models' class order): streamed data is read as `train`
    streams it, split by hash, so that the test rows are the members' test rows."""
    import dataclasses

    from seqsent.data import load_dataset
    from seqsent.data.streaming import open_stream, wants_streaming
    from seqsent.evaluation.scoring import in_class_order

    if not wants_streaming(data):
        dataset = load_dataset(data, notify)
        return dataset, in_class_order(dataset.validation, dataset.class_names, class_names)
    stream = open_stream(dataclasses.replace(data, classes=list(class_names)), notify, need_counts=False)
    validation = stream.held_in_memory("validation", data.stream_validation_rows, purpose="ensemble weights")
    if validation is None:
        raise UsageError(f"--data {data.source}: no validation rows to choose the weights on")
    return stream, validation


@dataclass
class _Combined:
    text_model: object
    history: dict


def _keras_model_of(path):
    """The Keras string-in model of an export (rebuilt from its Keras description) or of a .keras file."""
    from seqsent.errors import ModelError
    from seqsent.layout import keras_file
    from seqsent.serving.inference import load_model, resolve_model_path

    resolved = resolve_model_path(path)
    if resolved.is_dir():
        resolved = keras_file(resolved)
        if resolved is None:
            raise ModelError(f"{path}: has no Keras model to combine")
    return load_model(resolved)


# ---------------------------------------------------------------- pretrain-lm


def pretrain_lm(config, verbose: int | str = "auto", notify=None, restart: bool = False):
    """Learn a language model (a seqsent.config.LanguageModelConfig) and write its encoder directory; returns a
    seqsent.pretraining.pretrain.PretrainLMReport (held-out perplexity, sizes, times)."""
    from seqsent.pretraining.pretrain import pretrain_language_model

    with callers_random_state_kept():
        return pretrain_language_model(config, verbose=keras_verbosity(verbose), notify=notify or log_or_warn,
                                       restart=restart)


# ---------------------------------------------------------------- evaluate, report, predict, export


def evaluate(model_path: str | Path, data=None, threshold: float | None = None,
             tune_threshold: bool = False, notify=None, model_columns: tuple[str, ...] = ()):
    """Score a model on the test split of `data` (default: the data it was trained on, else the bundled sample).

    `data`: a DataConfig, or a Dataset from seqsent.from_python (its test split scored, its validation split tuned on).

    With `tune_threshold` (2 classes), also the threshold that maximises F1 on the validation split.
    `model_columns` ('text_column', 'label_column'): take those from the data the model was trained on rather than
    from `data`, so a file laid out like the training file just works (the CLI does so for options not given).
    Returns a seqsent.evaluation.scoring.Evaluation (metrics, per-class metrics, probabilities, history).
    """
    from seqsent.config import recorded_data_config
    from seqsent.evaluation.scoring import check_threshold, evaluate_model
    from seqsent.serving.inference import load_model

    model = load_model(model_path)
    check_threshold(model, threshold)
    trained_on = recorded_data_config(model.metadata, model.path) if model_columns else None
    data, note = _with_model_columns(data, trained_on, model_columns, "model's")
    evaluation = evaluate_model(model, data, threshold, tune_threshold, notify)
    if note:
        evaluation.notes.insert(0, note)
    return evaluation


def _with_model_columns(data, trained_on, model_columns: tuple[str, ...], whose: str):
    """`data` (a table DataConfig) with the columns named in `model_columns` taken from `trained_on`, the data the
    model(s) trained on, so that a file laid out like the training file just works; and a note saying so, or None."""
    import dataclasses

    from seqsent.data.tables import is_table

    table = isinstance(data, DataConfig) and Path(data.source).expanduser().is_file() and is_table(
        Path(data.source).expanduser())
    if not table or trained_on is None:
        return data, None
    recorded = {c: getattr(trained_on, c) for c in model_columns if getattr(trained_on, c) != getattr(data, c)}
    if not recorded:
        return data, None
    return dataclasses.replace(data, **recorded), f"read with the {whose} own columns: " + ", ".join(
        f"--{c.replace('_', '-')} {v}" for c, v in recorded.items())


def report(model_path: str | Path, out_dir: str | Path, data=None,
           threshold: float | None = None, overwrite: bool = False):
    """Evaluate a model (threshold tuned on validation) and write its report directory; returns both.
    `data`: as for evaluate (a DataConfig, or a Dataset from seqsent.from_python)."""
    from seqsent.evaluation.reports import write_report
    from seqsent.files import check_output_dir
    from seqsent.layout import REPORT_FILES

    check_output_dir(out_dir, overwrite, owned=REPORT_FILES, output_flag="out_dir")  # before the slow part
    evaluation = evaluate(model_path, data, threshold, tune_threshold=True)
    return evaluation, write_report(evaluation, out_dir, overwrite)


def recorded_text_column(model_path: str | Path) -> str | None:
    """The text column of the table a model was trained on (None when it records none), read from its seqsent.json
    without loading it: a table of texts to label is most often laid out like that one."""
    from seqsent.config import recorded_data_config
    from seqsent.layout import METADATA_FILE, metadata_file, read_model_metadata
    from seqsent.serving.inference import resolve_model_path

    try:
        resolved = resolve_model_path(model_path)
        file = metadata_file(resolved) if resolved.is_dir() else resolved.parent / METADATA_FILE  # as load_model reads
        trained_on = recorded_data_config(read_model_metadata(file, resolved), resolved) if file.is_file() else None
    except ModelError:
        return None  # loading the model says why it cannot be read; damaged data settings do not stop a prediction
    return None if trained_on is None else trained_on.text_column


def predict(model_path: str | Path, texts: list[str], threshold: float | None = None) -> list[Prediction]:
    """Each text's class (the most probable, or with a `threshold` on a 2-class model's P(second class)), its
    probability and every class's."""
    from seqsent.evaluation.metrics import predicted_classes
    from seqsent.evaluation.scoring import check_threshold
    from seqsent.serving.inference import load_model, text_list

    model = load_model(model_path)
    check_threshold(model, threshold)
    texts = text_list(texts)  # read once: a generator is used up by scoring
    probabilities = model.predict_proba(texts)
    texts = [t.decode("utf-8", errors="replace") if isinstance(t, bytes) else str(t) for t in texts]
    results = []
    for text, row, chosen in zip(texts, probabilities, predicted_classes(probabilities, threshold)):
        results.append(Prediction(text, model.class_names[chosen], float(row[chosen]),
                                  {name: float(p) for name, p in zip(model.class_names, row)}))
    return results


def export(model_path: str | Path, output_dir: str | Path = "saved_models", name: str | None = None,
           version: int | None = None) -> Path:
    """Re-export a trained model (an export, its keras_model.json, or a .keras file) as a new SavedModel version.

    The new version is written in the current layout (weights stored once, a model card), whatever the old one's."""
    from seqsent.config import recorded_run_config
    from seqsent.layout import KERAS_FILE, LEGACY_KERAS_FILE
    from seqsent.serving.export import export_saved_model
    from seqsent.serving.inference import load_model

    check_creatable(output_dir, "--output-dir", directory=True)
    model = load_model(model_path)
    if model.keras_path is None:
        raise ModelError(f"{model.path}: has no Keras model to re-export from "
                         f"(assets.extra/{KERAS_FILE}, or {LEGACY_KERAS_FILE} in an older export)")
    import datetime

    recorded_run_config(model.metadata, model.path)  # copied into the new export: checked, not carried on damaged
    keras_model = model if model.kind == "keras" else load_model(model.keras_path)
    name = _export_name(model, name)
    # The new export's own name and time (the card said the source's); config keeps how the model was trained.
    metadata = {**model.metadata, "name": name,
                "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                "exported_from": {"path": str(model.path), "created": model.metadata.get("created")}}
    return export_saved_model(keras_model.text_model, metadata, output_dir, name, version)


def _export_name(model, name: str | None) -> str:
    """--name, else the name the model was trained under (never a path from an untrusted file)."""
    if name is not None:
        if not is_safe_name(name):
            raise UsageError(NAME_RULE)
        return name
    recorded = model.metadata.get("config")
    name = model.metadata.get("name") or (recorded.get("name") if isinstance(recorded, dict) else None) or "model"
    if not isinstance(name, str) or not is_safe_name(name):
        raise ModelError(f"{model.path}: its recorded name {name!r} is not a plain directory name; give --name")
    return name
