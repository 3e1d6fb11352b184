"""Accuracy on full IMDB: four configurations, each trained with `seqsent train` as a user runs it.

    python benchmarks/imdb_accuracy.py [--archive ../shared/datasets/aclImdb_v1.tar.gz] [--only a,b,c,d]

Rows (train: the 25k train reviews, validation = whole movies held out of them; test: all 25k test reviews,
scored on the EXPORTED SavedModel, as `seqsent train` does):
  (a) the official Keras BiLSTM example's configuration (20k vocabulary, first 200 tokens,
      2 x BiLSTM(64), last state, 2 epochs), with seqsent's builders;
  (b) linear bag-of-words baselines: TF-IDF unigrams (--arch tfidf) and counts of 1-2-grams (--arch ngram);
  (b) also the NBSVM of 1-3-grams (--arch nbsvm), the strongest linear baseline of the literature;
  (c) the best supervised-only recurrent model: --preset imdb-best, random initial word vectors;
  (d) the same with word vectors pretrained on train + the 50,000 unlabelled reviews
      (`seqsent pretrain-embeddings`, its time included).
For an ensemble export (--wide-training separate), the test accuracy of each of its two models is
printed too (scored from the export's model.keras, on the same test reviews).
Every setting was chosen on the validation split; the test split is read only by this final scoring.
Prints one table: test accuracy, wall time (data loading, training, export and test scoring), trainable
parameters.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from imdb_bilstm import REFERENCE_FLAGS  # noqa: E402  (the Keras example, as the serving benchmark runs it)

SEQSENT = [sys.executable, "-c", "from cli.main import main; main()"]
EMBEDDINGS = "imdb-w2v.vec"

ROWS = {
    "a": ("(a) Keras example BiLSTM", ["--arch", "bilstm", *REFERENCE_FLAGS]),
    "b": ("(b) TF-IDF unigrams, linear", ["--arch", "tfidf", "--max-tokens", "30000"]),
    "b2": ("(b) 1-2-gram counts, linear", ["--arch", "ngram", "--max-tokens", "200000"]),
    "b3": ("(b) NBSVM, 1-3-grams", ["--arch", "nbsvm", "--max-tokens", "1048576"]),
    "c": ("(c) imdb-best, supervised only", ["--preset", "imdb-best"]),
    "d": ("(d) imdb-best + unlabelled data", ["--preset", "imdb-best", "--embeddings", EMBEDDINGS]),
}


def timed(args: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(SEQSENT + args, cwd=cwd, check=True)
    return time.perf_counter() - started


def bench(key: str, archive: Path, work: Path) -> dict:
    label, flags = ROWS[key]
    name = f"bench-{key}"
    seconds = 0.0
    if key == "d":
        seconds += timed(["pretrain-embeddings", "--data", str(archive), "--output", EMBEDDINGS], work)
    seconds += timed(["train", "--data", str(archive), "--name", name, "--quiet", *flags], work)
    runs = sorted((work / "runs" / name).glob("*/metrics.json"), key=lambda p: p.stat().st_mtime)
    metrics = json.loads(runs[-1].read_text(encoding="utf-8"))
    return {"label": label, "accuracy": metrics["test"]["accuracy"], "examples": metrics["split_sizes"]["test"],
            "wall_s": seconds, "train_s": metrics["train_seconds"], "parameters": metrics["parameters"],
            "export": metrics["export_dir"], "members": member_accuracies(work / metrics["export_dir"], archive)}


def member_accuracies(export: Path, archive: Path) -> dict[str, float]:
    """Test accuracy of each model inside an ensemble export ({} for a single model)."""
    import keras
    import numpy as np

    import seqsent.models  # noqa: F401  (registers seqsent's layers with Keras)
    from seqsent.config import DataConfig
    from seqsent.data import load_dataset
    from seqsent.layout import KERAS_FILE

    keras_model = keras.models.load_model(export / "assets.extra" / KERAS_FILE)
    if "ensemble_members" not in [layer.name for layer in keras_model.layers]:
        return {}
    test = load_dataset(DataConfig(source=str(archive))).test
    outputs = keras_model.get_layer("ensemble_members").predict(np.array(test.texts, dtype=object), batch_size=256,
                                                                 verbose=0)
    names = [f"recurrent model {i}" for i in range(1, len(outputs))] + ["NBSVM"]
    return {name: float(np.mean((output[:, 0] > 0.5) == np.asarray(test.labels))) for name, output in zip(names, outputs)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archive", type=Path, default=ROOT.parent / "shared" / "datasets" / "aclImdb_v1.tar.gz")
    parser.add_argument("--only", default="a,b,b2,b3,c,d", help=f"comma-separated rows of {','.join(ROWS)}")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    if not args.archive.is_file():
        sys.exit(f"no archive at {args.archive}")
    keys = [k.strip() for k in args.only.split(",") if k.strip()]
    unknown = [k for k in keys if k not in ROWS]
    if unknown:
        sys.exit(f"unknown rows {unknown}; choose from {','.join(ROWS)}")
    work = args.workdir or Path(tempfile.mkdtemp(prefix="seqsent-accuracy-"))
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    for key in keys:
        rows.append(bench(key, args.archive.resolve(), work))
        print(json.dumps(rows[-1]), flush=True)
    print("\n| configuration | test accuracy | wall time | training | trainable parameters |")
    print("|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['label']} | {100 * row['accuracy']:.2f}% | {row['wall_s'] / 60:.1f} min | "
              f"{row['train_s'] / 60:.1f} min | {row['parameters']:,} |")
    for row in rows:
        for member, accuracy in row["members"].items():
            print(f"{row['label']}: its {member} alone {100 * accuracy:.2f}%")
    print(f"\n(test: {rows[0]['examples']:,} reviews, scored on each exported SavedModel; work dir {work})")


if __name__ == "__main__":
    main()
