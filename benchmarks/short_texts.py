"""Transfer to short texts: does an encoder pretrained on IMDB's reviews help a classifier of short texts with few labels?

    python benchmarks/short_texts.py --encoder WORKDIR/imdb-encoder [--archive ...] [--train 5000]

The short texts are the first sentence of each review (HTML line breaks removed; cut at the first '.',
'!' or '?' followed by a space): a classifier of one-line texts, a different task shape from reviews.
Trained on the first sentences of --train reviews drawn from the train split (stratified, seeded), scored on
the first sentences of all 25,000 test reviews; both arms use the same files, flags and seed:
  without: --preset imdb-supervised, its vocabulary learned from the short train texts;
  with:    the same with --encoder (the language model's vocabulary and weights; pretrain-lm never read the
           test split);
  vectors: (with --vectors) the same with --embeddings: word2vec vectors learned from the same IMDB texts;
  vectors-vocabulary: (with --vectors) also --unlabelled ARCHIVE --unlabelled-vocabulary: the vocabulary learned
           from the short train texts and the unlabelled reviews, so words no labelled sentence has keep their
           vectors;
  few-labels: (with --vectors) --preset few-labels with the same vectors and unlabelled reviews (frozen vectors).
Prints a table of test accuracy (exported SavedModel), McNemar's test of each against labels only, wall times.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))
from paired_accuracy import mcnemar  # noqa: E402

SEQSENT = [sys.executable, "-c", "from seqsent_cli.main import main; main()"]
SENTENCE_END = re.compile(r"(?<=[.!?])\s")


def first_sentence(review: str) -> str:
    text = re.sub(r"<[^>]{0,200}>", " ", review)
    return SENTENCE_END.split(" ".join(text.split()), maxsplit=1)[0]


def write_table(path: Path, texts, labels, class_names) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows((first_sentence(t), class_names[y]) for t, y in zip(texts, labels))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archive", type=Path, default=ROOT.parent / "shared" / "datasets" / "aclImdb_v1.tar.gz")
    parser.add_argument("--encoder", type=Path, required=True, help="an encoder from `seqsent pretrain-lm`")
    parser.add_argument("--vectors", type=Path, default=None,
                        help="word2vec vectors of IMDB's texts (pretrain-embeddings), a third and fourth arm")
    parser.add_argument("--train", type=int, default=5000, help="labelled short texts to train on")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()

    import numpy as np

    from seqsent.config import DataConfig
    from seqsent.data import load_dataset
    from seqsent.data.dataset import stratified_indices
    from seqsent.serving.inference import load_model

    work = args.workdir or Path(tempfile.mkdtemp(prefix="seqsent-short-"))
    work.mkdir(parents=True, exist_ok=True)
    dataset = load_dataset(DataConfig(source=str(args.archive), validation_fraction=0.01))
    texts = dataset.train.texts + dataset.validation.texts
    labels = np.concatenate([dataset.train.labels, dataset.validation.labels])
    picked, _ = stratified_indices(labels, args.train, seed=1337)
    train = write_table(work / "short-train.csv", [texts[i] for i in picked], labels[picked], dataset.class_names)
    test = write_table(work / "short-test.csv", dataset.test.texts, dataset.test.labels, dataset.class_names)
    lengths = [len(first_sentence(t).split()) for t in dataset.test.texts]
    print(f"short texts: {args.train:,} train, {len(dataset.test):,} test, median {int(np.median(lengths))} words",
          flush=True)

    results = {}
    preset = ["--preset", "imdb-supervised"]
    arms = [("without", preset), ("with", [*preset, "--encoder", str(args.encoder.resolve())])]
    if args.vectors:
        vectors, unlabelled = ["--embeddings", str(args.vectors.resolve())], ["--unlabelled", str(args.archive.resolve())]
        arms.append(("vectors", [*preset, *vectors]))
        arms.append(("vectors-vocabulary", [*preset, *vectors, *unlabelled, "--unlabelled-vocabulary"]))
        arms.append(("few-labels", ["--preset", "few-labels", *vectors, *unlabelled]))
    for arm, extra in arms:
        started = time.perf_counter()
        subprocess.run(SEQSENT + ["train", "--data", str(train), "--test-data", str(test), "--name", f"short-{arm}",
                                  "--quiet", *extra], cwd=work, check=True)
        metrics = json.loads(sorted((work / "runs" / f"short-{arm}").glob("*/metrics.json"),
                                    key=lambda p: p.stat().st_mtime)[-1].read_text())
        model = load_model(work / metrics["export_dir"])
        probabilities = model.predict_proba([first_sentence(t) for t in dataset.test.texts])
        order = [model.class_names.index(name) for name in dataset.class_names]
        results[arm] = {"accuracy": metrics["test"]["accuracy"], "wall_s": time.perf_counter() - started,
                        "right": probabilities[:, order].argmax(axis=1) == np.asarray(dataset.test.labels)}
        print(json.dumps({arm: {k: v for k, v in results[arm].items() if k != "right"}}), flush=True)
    print("\n| classifier of first sentences | test accuracy | vs labels only (right only here / only there, "
          "McNemar p) | wall time |")
    print("|---|---|---|---|")
    labels = {"without": "labels only (--preset imdb-supervised)", "with": "+ --encoder (IMDB language model)",
              "vectors": "+ --embeddings (IMDB word2vec)",
              "vectors-vocabulary": "+ --embeddings, --unlabelled-vocabulary (IMDB word2vec, unlabelled reviews' words)",
              "few-labels": "`--preset few-labels` (the same, frozen vectors, up to 60 epochs, patience 8)"}
    for arm, _ in arms:
        versus = "–"
        if arm != "without":
            only_here = int(np.sum(results[arm]["right"] & ~results["without"]["right"]))
            only_there = int(np.sum(~results[arm]["right"] & results["without"]["right"]))
            versus = f"{only_here} / {only_there}, p = {mcnemar(only_here, only_there)[1]:.3g}"
        print(f"| {labels[arm]} | {100 * results[arm]['accuracy']:.2f}% | {versus} | "
              f"{results[arm]['wall_s'] / 60:.1f} min |")
    for better, worse in (("vectors-vocabulary", "vectors"), ("few-labels", "vectors-vocabulary")):
        if better in results:
            only_here = int(np.sum(results[better]["right"] & ~results[worse]["right"]))
            only_there = int(np.sum(~results[better]["right"] & results[worse]["right"]))
            print(f"{better} vs {worse}: {100 * (results[better]['accuracy'] - results[worse]['accuracy']):+.2f} pt, "
                  f"{only_here} / {only_there} right only in one, McNemar p = {mcnemar(only_here, only_there)[1]:.3g}")
    print(f"\n({len(dataset.test):,} test sentences, median {int(np.median(lengths))} words; work dir {work})")


if __name__ == "__main__":
    main()
