"""Training throughput of bucketed batches against fixed-length padding, full IMDB, default config.

    python benchmarks/pipeline_throughput.py [--archive ../shared/datasets/aclImdb_v1.tar.gz]
                                             [--paddings bucket,fixed] [--epochs N] [--limit N]

Loads the aclImdb archive once (train split minus whole movies held out for validation, as
`seqsent train` does), then trains the default model (RunConfig(): BiLSTM, 400 tokens,
batch 64, early stopping) to the end once per --padding mode, everything else equal, and
scores each on the 25,000 test reviews. Throughput is training reviews per second over the
training phase of every epoch (from the epoch's start to its validation pass; tf.function
tracing included, as a user pays for it). The padding share is the share of padded cells
in one epoch's batches. The load average is printed before and after: on a shared machine
the time columns are only as good as the CPU was free.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def epoch_timer():
    import keras

    class EpochTimer(keras.callbacks.Callback):
        """Seconds of each epoch's training phase (on_epoch_begin to the start of validation)."""

        def __init__(self):
            super().__init__()
            self.train_seconds: list[float] = []
            self._started = None

        def on_epoch_begin(self, epoch, logs=None):
            self._started = time.perf_counter()

        def on_test_begin(self, logs=None):
            if self._started is not None:  # validation inside fit(), not a later evaluate()
                self.train_seconds.append(time.perf_counter() - self._started)
                self._started = None

    return EpochTimer()


def padding_share(config, dataset) -> float:
    """Share of the cells of one epoch's training batches that are padding."""
    import numpy as np

    from seqsent.models import build_features
    from seqsent.training.pipeline import encode_texts, training_dataset

    vectorizer, truncation = build_features(config.model.arch, config.text, dataset.train.texts)
    ids = encode_texts(dataset.train.texts, vectorizer, truncation)
    batches = training_dataset(ids, dataset.train.labels, dataset.num_classes, batch_size=config.train.batch_size,
                               max_length=config.text.sequence_length, seed=config.train.seed,
                               padding=config.train.padding)
    cells = tokens = 0
    for x, _ in batches:
        x = x.numpy()
        cells += x.size
        tokens += int(np.count_nonzero(x))
    return 1 - tokens / cells


def run(padding: str, dataset, archive: Path, epochs: int | None, limit: int | None) -> dict:
    import keras
    import numpy as np

    from seqsent.config import RunConfig
    from seqsent.evaluation.metrics import compute_metrics
    from seqsent.training.trainer import fit

    config = RunConfig(name=f"bench-{padding}")
    config.data.source = str(archive)
    config.data.limit = limit
    config.train.padding = padding
    if epochs:
        config.train.epochs = epochs
    config.validate()
    keras.backend.clear_session()
    share = padding_share(config, dataset)
    timer = epoch_timer()
    with tempfile.TemporaryDirectory(prefix=f"seqsent-bench-{padding}-") as work_dir:
        fitted = fit(config, dataset, Path(work_dir), verbose=2, extra_callbacks=(timer,))
    started = time.perf_counter()
    texts = np.array(dataset.test.texts, dtype=object)
    probabilities = fitted.text_model.predict(texts, batch_size=256, verbose=0)
    if probabilities.shape[1] == 1:  # sigmoid head: P(second class)
        probabilities = np.concatenate([1.0 - probabilities, probabilities], axis=1)
    predict_seconds = time.perf_counter() - started
    metrics = compute_metrics(dataset.test.labels, probabilities, dataset.class_names)
    val_loss = fitted.history["val_loss"]
    n_train = len(dataset.train)
    return {
        "padding": padding, "padding_share": share, "epochs": len(val_loss),
        "best_epoch": val_loss.index(min(val_loss)) + 1,
        "train_s_per_epoch": float(np.mean(timer.train_seconds)),
        "reviews_per_s": n_train * len(timer.train_seconds) / sum(timer.train_seconds),
        "fit_seconds": fitted.seconds, "test_accuracy": metrics["accuracy"], "test_f1": metrics["f1"],
        "predict_seconds": predict_seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archive", type=Path, default=ROOT.parent / "shared" / "datasets" / "aclImdb_v1.tar.gz")
    parser.add_argument("--paddings", default="bucket,fixed", help="comma-separated --padding modes to compare")
    parser.add_argument("--epochs", type=int, default=None, help="override the default maximum epochs")
    parser.add_argument("--limit", type=int, default=None, help="at most N train and N test reviews (a quick check)")
    args = parser.parse_args()
    if not args.archive.is_file():
        sys.exit(f"no archive at {args.archive}")

    from seqsent.config import DataConfig
    from seqsent.data import load_dataset

    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)", flush=True)
    started = time.perf_counter()
    dataset = load_dataset(DataConfig(source=str(args.archive), limit=args.limit))
    print(f"data: {dataset.description}; train {len(dataset.train):,} / validation {len(dataset.validation):,} / "
          f"test {len(dataset.test):,} ({time.perf_counter() - started:.0f} s)", flush=True)
    rows = []
    for padding in args.paddings.split(","):
        print(f"\n== --padding {padding}", flush=True)
        rows.append(run(padding.strip(), dataset, args.archive, args.epochs, args.limit))
        print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)

    print(f"\nload average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("\n| padding | padded cells | epochs (best) | train s/epoch | train reviews/s | test accuracy | test F1 |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['padding']} | {r['padding_share']:.1%} | {r['epochs']} ({r['best_epoch']}) | "
              f"{r['train_s_per_epoch']:.1f} | {r['reviews_per_s']:,.0f} | {r['test_accuracy']:.4f} | {r['test_f1']:.4f} |")
    if len(rows) == 2:
        a, b = rows
        print(f"\n{a['padding']} / {b['padding']}: throughput x{a['reviews_per_s'] / b['reviews_per_s']:.2f}, "
              f"test accuracy {100 * (a['test_accuracy'] - b['test_accuracy']):+.2f} points")


if __name__ == "__main__":
    main()
