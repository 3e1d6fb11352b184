"""Data larger than memory: peak memory, throughput and time to the first step, as the data grows 50x.

    python benchmarks/data_scale.py [--archive ../shared/datasets/aclImdb_v1.tar.gz] [--sizes 50000,500000,2500000]
                                    [--steps 300] [--workdir DIR]

Builds CSV files of 50,000 / 500,000 / 2,500,000 labelled rows from the IMDB archive's 25,000 train
reviews, each row a varied copy (a random tenth of the words dropped, two sentences swapped, a row id
added), so no two rows are the same; and one test file of 5,000 varied rows. Then, for each size, one
`seqsent train` run of the default model streamed from the file (--streaming on --classes neg,pos
--steps-per-epoch STEPS --epochs 1: the same number of steps on every size, and no full pass over the
data before the first step), in a process of its own, measuring:
  peak RSS of the training process; training reviews per second (batches x 64 / time of the training
  steps, after the first, which includes tracing); time from the process start to the end of the first
  training step; wall time of the whole command (test scoring on the 5,000-row file included).
The 50,000-row file is also trained held in memory (--streaming off) for reference.
Targets (the issue): peak RSS at 2.5M rows within 1.5x of that at 50k; throughput within 10% across sizes;
time to the first step not growing with the data.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SENTENCE = re.compile(r"(?<=[.!?])\s+")

# Runs one training in this (fresh) process and prints a JSON line of measurements.
RUN = r"""
import json, resource, sys, time
started = time.perf_counter()
import keras
from seqsent.api import train
from seqsent.config import RunConfig

class Clock(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        now = time.perf_counter()
        if not hasattr(self, "first"):
            self.first = now
        self.last, self.batches = now, batch + 1

config = RunConfig.from_dict(json.loads(sys.argv[1]))
clock = Clock()
report = train(config, verbose=0, callbacks=(clock,), restart=True)
print(json.dumps({
    "first_step_s": clock.first - started,
    "reviews_per_s": (clock.batches - 1) * config.train.batch_size / max(clock.last - clock.first, 1e-9),
    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "test_accuracy": report.test_metrics["accuracy"], "batches": clock.batches,
}))
"""


def varied(text: str, rng: random.Random, row: int) -> str:
    sentences = SENTENCE.split(text)
    if len(sentences) > 2:
        i, j = rng.sample(range(len(sentences)), 2)
        sentences[i], sentences[j] = sentences[j], sentences[i]
    words = " ".join(sentences).split()
    kept = [w for w in words if rng.random() > 0.1] or words
    return f"{' '.join(kept)} (row {row})"


def build(path: Path, reviews, labels, rows: int, seed: int) -> Path:
    if path.is_file():
        return path
    rng = random.Random(seed)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        for row in range(rows):
            i = rng.randrange(len(reviews))
            writer.writerow([varied(reviews[i], rng, row), labels[i]])
    tmp.rename(path)
    return path


def run(name: str, data: Path, test: Path, steps: int, streaming: str, work: Path) -> dict:
    from seqsent.config import RunConfig

    config = RunConfig(name=name, output_dir=str(work / "models"), runs_dir=str(work / "runs"))
    config.data.source, config.data.test_source, config.data.streaming = str(data), str(test), streaming
    config.data.classes = ["neg", "pos"] if streaming == "on" else []
    config.train.epochs = 1
    config.train.steps_per_epoch = steps if streaming == "on" else None
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", RUN, config.to_json()], capture_output=True, text=True, cwd=work,
                          env={"PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"})
    if done.returncode:
        sys.exit(f"{name} failed: {done.stderr[-3000:]}")
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    return {"run": name, "rows": None, "wall_s": time.perf_counter() - started, **measured}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archive", type=Path, default=ROOT.parent / "shared" / "datasets" / "aclImdb_v1.tar.gz")
    parser.add_argument("--sizes", default="50000,500000,2500000")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    from seqsent.config import DataConfig
    from seqsent.data import load_dataset

    work = args.workdir or Path(tempfile.mkdtemp(prefix="seqsent-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    dataset = load_dataset(DataConfig(source=str(args.archive), validation_fraction=0.01))
    reviews = dataset.train.texts + dataset.validation.texts
    labels = [dataset.class_names[y] for y in list(dataset.train.labels) + list(dataset.validation.labels)]
    test = build(work / "test-5000.csv", reviews, labels, 5000, seed=99)
    sizes = [int(s) for s in args.sizes.split(",")]
    results = []
    for size in sizes:
        started = time.perf_counter()
        data = build(work / f"train-{size}.csv", reviews, labels, size, seed=size)
        print(f"built {data} ({data.stat().st_size / 2**20:,.0f} MB) in {time.perf_counter() - started:.0f} s",
              flush=True)
        for streaming in (("on", "off") if size == sizes[0] else ("on",)):
            result = run(f"scale-{size}-{streaming}", data, test, args.steps, streaming, work)
            result.update(rows=size, streaming=streaming, file_mb=data.stat().st_size / 2**20)
            results.append(result)
            print(json.dumps(result), flush=True)
    print(f"\n| rows | CSV | path | peak RSS | training reviews/s | first step after | wall time | batches |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['rows']:,} | {r['file_mb']:,.0f} MB | {'streamed' if r['streaming'] == 'on' else 'in memory'} | "
              f"{r['peak_rss_mb']:,.0f} MB | {r['reviews_per_s']:,.0f} | {r['first_step_s']:.1f} s | "
              f"{r['wall_s'] / 60:.1f} min | {r['batches']} |")
    streamed = [r for r in results if r["streaming"] == "on"]
    base = streamed[0]
    print(f"\npeak RSS, largest / smallest (streamed): {streamed[-1]['peak_rss_mb'] / base['peak_rss_mb']:.2f}x "
          f"(target <= 1.5x); throughput range: {min(r['reviews_per_s'] for r in streamed) / max(r['reviews_per_s'] for r in streamed):.2f} "
          f"of the fastest (target >= 0.90); work dir {work}")


if __name__ == "__main__":
    main()
