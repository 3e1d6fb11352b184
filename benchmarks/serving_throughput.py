"""SavedModel inference throughput on CPU, beside Keras `predict` and a direct Keras call, on real IMDB test reviews.

    python benchmarks/serving_throughput.py [MODEL] [--archive ../shared/datasets/aclImdb_v1.tar.gz]
                                            [--reviews 1024] [--batch-sizes 1,32,256]

MODEL is an export (version directory, or a model directory for its newest version); without
it, a small model is trained first (`seqsent train --limit 2000 --epochs 1`, in a temporary
directory). The same reviews, in the same order and batches, go through:
- SavedModel: the `serving_default` signature loaded with tf.saved_model.load (what TF Serving runs);
- Keras predict: `model.predict(reviews, batch_size=B)` on the Keras model kept in the export;
- Keras call: `model(batch, training=False)` per batch, eagerly (the recurrent loop runs step
  by step in Python: slow, so it stops after --max-seconds and says how many reviews it timed).
Each is run once on a batch first (tracing, caches), then timed; SavedModel and predict are
timed --repeats times, alternately, and the best run is kept. Batch 1 uses the first
--batch1-reviews reviews only (one call per review). Numbers move with CPU load: the
1-minute load average is printed with them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = Path(__file__).resolve().parents[1]
SEQSENT = [sys.executable, "-c", "from seqsent_cli.main import main; main()"]


def train_small_model(archive: Path, work: Path) -> Path:
    print(f"No MODEL given: training a small one on {archive} (--limit 2000 --epochs 1) in {work}", flush=True)
    subprocess.run(SEQSENT + ["train", "--data", str(archive), "--limit", "2000", "--epochs", "1", "--quiet",
                              "--name", "throughput", "--output-dir", str(work / "saved_models"),
                              "--runs-dir", str(work / "runs")], cwd=work, check=True)
    return work / "saved_models" / "throughput"


def batches(texts: list[str], size: int) -> list[list[str]]:
    return [texts[i:i + size] for i in range(0, len(texts), size)]


def time_per_batch(fn, texts: list[str], size: int, max_seconds: float) -> tuple[float, float, int]:
    """(reviews per second, median seconds per batch, reviews timed) of fn(batch) over texts.

    One untimed batch first; stops after the batch that passes max_seconds.
    """
    chunks = batches(texts, size)
    fn(chunks[0])
    seconds, done = [], 0
    started = time.perf_counter()
    for chunk in chunks:
        t = time.perf_counter()
        fn(chunk)
        seconds.append(time.perf_counter() - t)
        done += len(chunk)
        if time.perf_counter() - started > max_seconds:
            break
    return done / (time.perf_counter() - started), statistics.median(seconds), done


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", type=Path, help="an export directory  [default: train a small model]")
    parser.add_argument("--archive", type=Path, default=ROOT.parent / "shared" / "datasets" / "aclImdb_v1.tar.gz")
    parser.add_argument("--reviews", type=int, default=1024, help="test reviews per measurement")
    parser.add_argument("--batch1-reviews", type=int, default=256, help="test reviews at batch size 1")
    parser.add_argument("--batch-sizes", default="1,32,256")
    parser.add_argument("--repeats", type=int, default=3, help="SavedModel and predict runs per batch size (best kept)")
    parser.add_argument("--max-seconds", type=float, default=10.0, help="time budget of the eager Keras call")
    args = parser.parse_args()
    if not args.archive.is_file():
        sys.exit(f"no archive at {args.archive} (give --archive path/to/aclImdb_v1.tar.gz)")
    sizes = [int(s) for s in args.batch_sizes.split(",")]

    model_path = args.model or train_small_model(args.archive, Path(tempfile.mkdtemp(prefix="seqsent-throughput-")))

    import numpy as np
    import tensorflow as tf

    from seqsent.config import DataConfig
    from seqsent.data import load_dataset
    from seqsent.layout import EXTRA_DIR, KERAS_FILE
    from seqsent.serving.inference import load_model, resolve_model_path

    path = resolve_model_path(model_path)
    reviews = load_dataset(DataConfig(source=str(args.archive), limit=args.reviews)).test.texts[: args.reviews]
    serve = tf.saved_model.load(str(path)).signatures["serving_default"]
    keras_model = load_model(path / EXTRA_DIR / KERAS_FILE).text_model

    def savedmodel(chunk):
        return serve(text=tf.constant(chunk, dtype=tf.string))["probabilities"].numpy()

    def keras_call(chunk):
        return keras_model(tf.constant(chunk, dtype=tf.string), training=False).numpy()

    # Same answers before timing anything.
    check = reviews[:64]
    direct = keras_call(check)
    served = savedmodel(check)
    served = served[:, 1:] if direct.shape[1] == 1 else served
    print(f"max |SavedModel - Keras| on {len(check)} reviews: {np.abs(served - direct).max():.2e}")

    print(f"\nModel: {path}   reviews: real IMDB test reviews from {args.archive.name}, "
          f"mean {statistics.mean(len(r) for r in reviews):.0f} characters")
    print(f"TensorFlow {tf.__version__}, {os.cpu_count()} CPU(s), load average {os.getloadavg()[0]:.2f} at start")
    header = (f"{'batch':>5} {'reviews':>7} {'SavedModel rev/s':>16} {'ms/batch p50':>12} "
              f"{'Keras predict rev/s':>19} {'Keras call rev/s':>16} {'(reviews)':>9}")
    print(header)
    print("-" * len(header))
    for size in sizes:
        texts = reviews[: args.batch1_reviews] if size == 1 else reviews
        array = np.array(texts, dtype=object)  # predict takes a 1-D object array, not a list
        keras_model.predict(array[:size], batch_size=size, verbose=0)
        sm_rate = predict_rate = 0.0
        for _ in range(args.repeats):  # alternated, best of each: other processes only ever slow a run down
            rate, median, _ = time_per_batch(savedmodel, texts, size, float("inf"))
            if rate > sm_rate:
                sm_rate, sm_median = rate, median
            started = time.perf_counter()
            keras_model.predict(array, batch_size=size, verbose=0)
            predict_rate = max(predict_rate, len(texts) / (time.perf_counter() - started))
        call_rate, _, call_done = time_per_batch(keras_call, texts, size, args.max_seconds)
        print(f"{size:>5} {len(texts):>7} {sm_rate:>16.0f} {sm_median * 1000:>12.1f} "
              f"{predict_rate:>19.0f} {call_rate:>16.1f} {call_done:>9}", flush=True)
    print(f"(load average {os.getloadavg()[0]:.2f} at end)")


if __name__ == "__main__":
    main()
