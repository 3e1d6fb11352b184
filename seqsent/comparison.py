"""Train several architectures on the same splits, with the same budget and seed, and measure them.

Textbooks recite that GRUs are smaller and faster than LSTMs, that LSTMs handle long
dependencies better than simple RNNs, and that bidirectional stacks double the cost.
`compare` measures those claims on the user's data: for each architecture it trains with
seqsent.training.trainer.fit (the data is loaded once, so every arch sees the same splits)
and records trainable parameters, training seconds per epoch, inference speed on raw
strings, validation and test accuracy and F1, the epoch of the lowest validation loss,
and test accuracy by review length (terciles of the test set's token counts).

    comparison = compare(config, ["lstm", "gru", "bow"])
    write_comparison(comparison, "comparison")  # compare.md, compare.csv, compare.png
"""

from __future__ import annotations

import copy
import csv
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Collection, Optional, Sequence

import numpy as np

from seqsent.config import ARCHS, RunConfig, ignored_settings
from seqsent.errors import SeqsentError, UsageError

BUCKETS = ("short", "medium", "long")
INFERENCE_BATCH = 256
COLUMNS = [
    "arch", "trainable_parameters", "train_seconds_per_epoch", "inference_reviews_per_second",
    "val_accuracy", "val_f1", "test_accuracy", "test_f1", "epochs_run", "best_epoch",
    *(f"test_accuracy_{bucket}" for bucket in BUCKETS), "error",
]


@dataclass
class ArchResult:
    arch: str
    trainable_parameters: Optional[int] = None
    epochs_run: int = 0
    best_epoch: Optional[int] = None
    """Epoch with the lowest validation loss (its weights are the ones measured)."""
    train_seconds: Optional[float] = None
    train_seconds_per_epoch: Optional[float] = None
    """Mean wall time of an epoch (its validation pass included), from epoch begin to epoch end."""
    inference_reviews_per_second: Optional[float] = None
    """Test reviews through the string-in model (vectoriser included), batches of 256, after one warm-up batch."""
    val_accuracy: Optional[float] = None
    val_f1: Optional[float] = None
    test_accuracy: Optional[float] = None
    test_f1: Optional[float] = None
    test_accuracy_by_length: dict = field(default_factory=dict)
    history: dict = field(default_factory=dict)
    error: Optional[str] = None
    """Why this arch has no numbers (e.g. its loss diverged); the others still ran."""
    notes: list[str] = field(default_factory=list)
    """What training this arch said (warnings, the vectors' coverage), each starting with the arch."""

    def row(self) -> dict:
        row = {key: getattr(self, key) for key in COLUMNS if hasattr(self, key)}
        row.update({f"test_accuracy_{bucket}": self.test_accuracy_by_length.get(bucket) for bucket in BUCKETS})
        row["error"] = self.error or ""
        return {key: row.get(key) for key in COLUMNS}


@dataclass
class Comparison:
    results: list[ArchResult]
    config: RunConfig
    data_description: str
    class_names: list[str]
    split_sizes: dict
    length_edges: tuple[int, int]
    """Token-count terciles of the test set: short <= edges[0] < medium <= edges[1] < long."""
    bucket_sizes: dict
    f1_average: str
    notes: list[str] = field(default_factory=list)
    """What loading the data did that a user should hear about (rows skipped, bytes replaced)."""

    def rows(self) -> list[dict]:
        return [result.row() for result in self.results]

    def failed(self) -> list[str]:
        """The archs that have no numbers (their error is in the table)."""
        return [result.arch for result in self.results if result.error]

    def bucket_labels(self) -> dict[str, str]:
        low, high = self.length_edges
        medium = f"medium ({low + 1}-{high} tokens)" if high > low else f"medium (none: both terciles are {low} tokens)"
        return {"short": f"short (≤ {low} tokens)", "medium": medium, "long": f"long (> {high} tokens)"}


def parse_archs(text: str) -> list[str]:
    """'lstm, gru,bow' -> ['lstm', 'gru', 'bow']; unknown names are a usage error."""
    archs = list(dict.fromkeys(a.strip().lower() for a in text.split(",") if a.strip()))
    unknown = [a for a in archs if a not in ARCHS]
    if unknown or not archs:
        raise UsageError(f"--archs: unknown architecture {', '.join(unknown) or '(none given)'}; "
                         f"choose from {','.join(ARCHS)}")
    return archs


def arch_configs(config: RunConfig, archs: Sequence[str]) -> dict[str, RunConfig]:
    """arch -> `config` with that arch, each validated: an option one arch cannot take is refused before any
    arch trains, not after the others spent their time."""
    runs = {}
    for arch in archs:
        run = copy.deepcopy(config)
        run.model.arch = arch
        try:
            run.validate()
        except UsageError as exc:
            raise UsageError(f"--archs {arch}: {exc}") from None
        runs[arch] = run
    return runs


def ignored_by_all(runs: dict[str, RunConfig], given: Collection[str] = ()) -> list[str]:
    """The notes of settings no compared arch uses (one a bag-of-words arch ignores still shapes a recurrent one)."""
    per_arch = [dict(ignored_settings(run, given)) for run in runs.values()]
    return [note for key, note in per_arch[0].items() if all(key in notes for notes in per_arch[1:])]


def check_archs_fit_data(runs: dict[str, RunConfig], dataset) -> None:
    """The checks `train` makes of the data against an arch (e.g. nbsvm needs two classes), for every arch up front."""
    from seqsent.training.fit import check_arch_fits_classes

    for run in runs.values():
        check_arch_fits_classes(run, dataset)


def token_counts(texts: Sequence[str]) -> np.ndarray:
    """Tokens per text after seqsent's standardisation, before any truncation."""
    import tensorflow as tf

    from seqsent.text import standardize_text

    counts = []
    for start in range(0, len(texts), 1024):
        batch = tf.constant(list(texts[start : start + 1024]), dtype=tf.string)
        counts.append(tf.strings.split(standardize_text(batch)).row_lengths().numpy())
    return np.concatenate(counts) if counts else np.zeros(0, dtype=np.int64)


def length_buckets(counts: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    """Bucket index per text (0 short, 1 medium, 2 long) by the terciles of `counts`, and the tercile edges."""
    low, high = (int(q) for q in np.quantile(counts, [1 / 3, 2 / 3]))
    return np.where(counts <= low, 0, np.where(counts <= high, 1, 2)), (low, high)


def compare(config: RunConfig, archs: Sequence[str], *, dataset=None, verbose: int = 0,
            on_data: Callable | None = None, on_start: Callable | None = None,
            on_result: Callable | None = None, given: Collection[str] = ()) -> Comparison:
    """Train and measure each arch on the same splits; `config` gives the data, text and training settings.

    Callbacks (for progress output): on_data(dataset) once loaded, on_start(index, total, arch)
    and on_result(index, total, ArchResult) around each arch (index from 1). `given`: as for
    seqsent.api.train, the settings chosen on purpose (an --embeddings file sets the dimension of the others).
    """
    archs = parse_archs(",".join(archs))
    runs, dataset = _checked_runs_and_data(config, archs, dataset, given)
    if on_data is not None:
        on_data(dataset)
    buckets, edges = length_buckets(token_counts(dataset.test.texts))
    names = dataset.class_names
    results = []
    for index, arch in enumerate(archs, start=1):
        if on_start is not None:
            on_start(index, len(archs), arch)
        try:
            results.append(_train_and_measure(arch, runs[arch], dataset, buckets, verbose))
        except KeyboardInterrupt:  # the arch's backup went with its scratch directory: nothing resumes
            from seqsent.errors import Interrupted

            done = f"{', '.join(r.arch for r in results)} had finished" if results else "no arch had finished"
            raise Interrupted(f"interrupted while training {arch} ({done}); compare keeps nothing of an unfinished "
                              "run and does not resume: run it again (--archs to compare fewer)") from None
        if on_result is not None:
            on_result(index, len(archs), results[-1])
    return Comparison(
        results=results, config=config, data_description=dataset.description, class_names=names,
        split_sizes={"train": len(dataset.train), "validation": len(dataset.validation), "test": len(dataset.test)},
        length_edges=edges, bucket_sizes={b: int(np.sum(buckets == i)) for i, b in enumerate(BUCKETS)},
        f1_average=f"class `{names[1]}` (the second of two)" if len(names) == 2 else "macro average over the classes",
        notes=list(dataset.notes) + [note for result in results for note in result.notes],
    )


def _checked_runs_and_data(config: RunConfig, archs: list[str], dataset, given: Collection[str]):
    """Every arch's config and the data, everything checked that can fail before the first arch trains; the
    data's notes gain what the settings' checks have to say."""
    from seqsent.data import load_dataset
    from seqsent.data.provenance import note_learned_test_texts
    from seqsent.models import adopt_pretrained_shapes

    config.validate()
    adopted = adopt_pretrained_shapes(config.model, given)
    runs = arch_configs(config, archs)
    if config.train.strategy == "tpu":  # no TPU here: one error now, not a failed row per arch after the data is read
        from seqsent.training.strategy import start_distribution

        start_distribution("tpu")
    dataset = dataset or load_dataset(config.data)
    note_learned_test_texts(dataset, config)
    for note in [note[0].upper() + note[1:] for note in adopted] + ignored_by_all(runs, given):
        if note not in dataset.notes:
            dataset.notes.append(note)
    check_archs_fit_data(runs, dataset)
    return runs, dataset


def _train_and_measure(arch: str, run: RunConfig, dataset, buckets: np.ndarray, verbose: int) -> ArchResult:
    """One arch trained in a scratch directory and measured; a failure, even TensorFlow's own, is its row's error
    (the other archs still run, and those done are kept)."""
    import keras

    from seqsent.serving.inference import in_memory_model
    from seqsent.training.trainer import fit

    keras.backend.clear_session()  # free the previous arch's graphs; fit() seeds everything again
    timer = _epoch_timer()
    try:
        with tempfile.TemporaryDirectory(prefix=f"seqsent-compare-{arch}-") as work_dir:
            fitted = fit(run, dataset, Path(work_dir), verbose=verbose, extra_callbacks=(timer,))
    except SeqsentError as exc:  # e.g. a NaN loss
        return ArchResult(arch, error=str(exc))
    except Exception as exc:  # noqa: BLE001 - TensorFlow's own
        said = str(exc).strip().splitlines()
        return ArchResult(arch, error=f"internal error: {type(exc).__name__}" + (f": {said[0]}" if said else ""))
    result = measure(arch, in_memory_model(fitted.text_model, dataset.class_names), dataset, buckets, timer.seconds,
                     fitted)
    # What train would have said (e.g. --mixed-precision on CPU, the vectors' coverage)
    result.notes = [f"{arch}: Warning: {w}" for w in fitted.warnings] + [f"{arch}: {n}" for n in fitted.notes]
    return result


def _epoch_timer():
    """A Keras callback keeping each epoch's seconds, begin to end: fit()'s set-up and tear-down
    (which can idle for seconds after the last epoch while tf.data threads wind down) are not counted."""
    import keras

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds: list[float] = []

        def on_epoch_begin(self, epoch, logs=None):
            self._started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self._started)

    return EpochTimer()


def score_splits(model, dataset):
    """(validation scores, test scores, test reviews per second) of a trained `model` (a LoadedModel), scored by
    the same function as `seqsent evaluate`; the speed includes computing the metrics (milliseconds)."""
    from seqsent.evaluation.scoring import score

    model.predict_proba(dataset.test.texts[:INFERENCE_BATCH])  # trace once, outside the timing
    started = time.perf_counter()
    test = score(model, dataset.test)
    reviews_per_second = len(dataset.test) / max(time.perf_counter() - started, 1e-9)
    return score(model, dataset.validation), test, reviews_per_second


def measure(arch: str, model, dataset, buckets: np.ndarray, epoch_seconds: list[float], fitted) -> ArchResult:
    """Speed and accuracy of a trained `model`, and what its training recorded."""
    val, test, reviews_per_second = score_splits(model, dataset)
    correct = test.probabilities.argmax(axis=1) == test.labels
    by_length = {bucket: (float(correct[buckets == i].mean()) if np.any(buckets == i) else None)
                 for i, bucket in enumerate(BUCKETS)}
    epochs = len(fitted.history.get("loss", []))
    val_loss = fitted.history.get("val_loss") or []
    return ArchResult(
        arch=arch, trainable_parameters=fitted.parameters, epochs_run=epochs,
        best_epoch=int(np.argmin(val_loss)) + 1 if val_loss else None,
        train_seconds=fitted.seconds,
        train_seconds_per_epoch=float(np.mean(epoch_seconds)) if epoch_seconds else fitted.seconds / max(epochs, 1),
        inference_reviews_per_second=reviews_per_second,
        val_accuracy=val.metrics["accuracy"], val_f1=val.metrics["f1"], test_accuracy=test.metrics["accuracy"],
        test_f1=test.metrics["f1"], test_accuracy_by_length=by_length, history=fitted.history,
    )


# ---------------------------------------------------------------- output


def _fmt(value, kind: str) -> str:
    if value is None:
        return "–"
    return {"int": f"{value:,}", "acc": f"{value:.3f}", "sec": f"{value:.1f}", "rate": f"{value:,.0f}"}[kind]


def format_table(comparison: Comparison) -> str:
    """The comparison as a Markdown table (also readable in a terminal)."""
    labels = comparison.bucket_labels()
    header = ["arch", "trainable params", "train s/epoch", "infer reviews/s", "val acc", "val F1", "test acc",
              "test F1", "best epoch / run", *(labels[b] for b in BUCKETS)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in comparison.results:
        if r.error:
            lines.append(f"| {r.arch} | failed: {r.error} |" + " |" * (len(header) - 2))
            continue
        cells = [r.arch, _fmt(r.trainable_parameters, "int"), _fmt(r.train_seconds_per_epoch, "sec"),
                 _fmt(r.inference_reviews_per_second, "rate"), _fmt(r.val_accuracy, "acc"), _fmt(r.val_f1, "acc"),
                 _fmt(r.test_accuracy, "acc"), _fmt(r.test_f1, "acc"), f"{_fmt(r.best_epoch, 'int')} / {r.epochs_run}",
                 *(_fmt(r.test_accuracy_by_length.get(b), "acc") for b in BUCKETS)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _markdown(comparison: Comparison) -> str:
    c, t = comparison.config, comparison.config.train
    sizes = comparison.split_sizes
    labels = comparison.bucket_labels()
    import tensorflow as tf

    return "\n".join([
        "# Architecture comparison", "",
        f"- Data: {comparison.data_description}; train {sizes['train']:,} / validation {sizes['validation']:,} / "
        f"test {sizes['test']:,}; classes: {', '.join(comparison.class_names)}",
        f"- Same splits, budget and seed for every architecture: at most {t.epochs} epoch(s), early stopping on "
        f"validation loss (patience {t.patience}, best weights kept), batch {t.batch_size}, Adam learning rate "
        f"{t.learning_rate}, seed {t.seed}; vocabulary {c.text.max_tokens:,} tokens.",
        f"- Recurrent archs: {c.model.layers} layer(s) of {c.model.units} units (per direction), embedding "
        f"{c.model.embedding_dim}, pooling {c.model.pooling}; they read the {'last' if c.text.truncation == 'pre' else 'first'} "
        f"{c.text.sequence_length} tokens of a review. Baselines (bow, tfidf, ngram, bm25, nbsvm) read the whole review.",
        f"- Machine: {os.cpu_count()} CPU core(s), TensorFlow {tf.__version__}.", "",
        format_table(comparison), "",
        f"F1 is for the {comparison.f1_average}. Training seconds per epoch include each epoch's validation pass; "
        "inference speed is test reviews per second as raw strings through the whole model (vectoriser included), "
        f"batches of {INFERENCE_BATCH}. Length buckets are terciles of the test set's token counts: "
        + ", ".join(f"{labels[b]}: {comparison.bucket_sizes[b]:,} reviews" for b in BUCKETS) + ".", "",
        "![Comparison](compare.png)", "",
        *([f"- Note: {note}" for note in comparison.notes] + [""] if comparison.notes else []),
        "## Settings", "",
        "The resolved settings shared by every architecture (`model.arch` aside), to reproduce the run:", "",
        "```json", c.to_json(), "```", "",
    ])


def write_comparison(comparison: Comparison, out_dir: str | Path, overwrite: bool = False) -> Path:
    """compare.md, compare.csv and compare.png, written atomically to `out_dir`."""
    from seqsent.evaluation import plots
    from seqsent.files import staged_directory
    from seqsent.layout import COMPARE_FILES

    with staged_directory(out_dir, overwrite, owned=COMPARE_FILES) as staging:
        with open(staging / "compare.csv", "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=COLUMNS)
            writer.writeheader()
            for row in comparison.rows():
                writer.writerow({k: ("" if v is None else round(v, 6) if isinstance(v, float) else v)
                                 for k, v in row.items()})
        (staging / "compare.md").write_text(_markdown(comparison), encoding="utf-8")
        measured = [row for row in comparison.rows() if not row["error"]]
        labels = comparison.bucket_labels()
        title = (f"Architectures on {comparison.split_sizes['train']:,} training reviews, "
                 f"{comparison.config.train.epochs} epoch(s) at most, seed {comparison.config.train.seed}")
        figure = plots.comparison_figure(measured, [labels[b] for b in BUCKETS], title)
        plots.save_png(figure, staging / "compare.png")
    return Path(out_dir).expanduser()
