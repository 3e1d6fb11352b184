"""Learning curve on IMDB: 1,000 / 5,000 / 25,000 labelled reviews, each with and without the unlabelled ones.

    python benchmarks/learning_curve.py [--archive ../shared/datasets/aclImdb_v1.tar.gz] [--sizes 1000,5000,25000]

Semi-supervised methods matter most where labels are few. For each number of labelled train reviews
(`--train-limit N`: a stratified subset of the 25,000; validation carved out of it, whole movies held out;
the test split stays all 25,000 reviews), two `seqsent train` runs as a user types them:
  without: --preset imdb-supervised (one recurrent model, labels only);
  with:    --preset imdb-unlabelled --embeddings VECTORS --unlabelled ARCHIVE: the model starts from word2vec
           vectors learned once from the train texts + the 50,000 unlabelled reviews (labels never read; on
           validation word2vec started the classifier better than a one-pass language model, docs/unlabelled.md),
           and trains with VAT on the unlabelled reviews.
Prints a table (test accuracy of each exported SavedModel, the gain, wall times) and writes learning_curve.png.
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
sys.path.insert(0, str(ROOT))
SEQSENT = [sys.executable, "-c", "from seqsent_cli.main import main; main()"]
VECTORS = "imdb-w2v.vec"


def timed(args: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(SEQSENT + args, cwd=cwd, check=True)
    return time.perf_counter() - started


def run(name: str, size: int, flags: list[str], archive: Path, work: Path) -> dict:
    seconds = timed(["train", "--data", str(archive), "--train-limit", str(size), "--name", name, "--quiet", *flags],
                    work)
    metrics = json.loads(sorted((work / "runs" / name).glob("*/metrics.json"),
                                key=lambda p: p.stat().st_mtime)[-1].read_text())
    return {"accuracy": metrics["test"]["accuracy"], "examples": metrics["split_sizes"]["test"],
            "train": metrics["split_sizes"]["train"], "validation": metrics["split_sizes"]["validation"],
            "wall_s": seconds}


def plot(rows: list[dict], path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.4, 4.4), dpi=110)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    sizes = [row["size"] for row in rows]
    for key, label, color in (("without", "labels only", "#4c72b0"),
                              ("with", "+ unlabelled reviews (word2vec + VAT)", "#dd8452")):
        ax.plot(sizes, [100 * row[key]["accuracy"] for row in rows], "o-", color=color, label=label, linewidth=2)
    ax.set_xscale("log")
    ax.set_xticks(sizes, [f"{s:,}" for s in sizes])
    ax.minorticks_off()
    ax.set_xlabel("labelled train reviews")
    ax.set_ylabel("test accuracy (%), 25,000 reviews")
    ax.set_title("IMDB learning curve")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    figure.tight_layout()
    figure.savefig(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archive", type=Path, default=ROOT.parent / "shared" / "datasets" / "aclImdb_v1.tar.gz")
    parser.add_argument("--sizes", default="1000,5000,25000")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--vectors", type=Path, default=None,
                        help="word2vec vectors of train + unsup made earlier (e.g. imdb_accuracy.py's imdb-w2v.vec)")
    args = parser.parse_args()
    if not args.archive.is_file():
        sys.exit(f"no archive at {args.archive}")
    archive = args.archive.resolve()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="seqsent-curve-"))
    work.mkdir(parents=True, exist_ok=True)
    pretraining, vectors = 0.0, (args.vectors or work / VECTORS).resolve()
    if not vectors.is_file():
        pretraining = timed(["pretrain-embeddings", "--data", str(archive), "--output", str(vectors)], work)
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        rows.append({"size": size,
                     "without": run(f"curve-{size}-labels", size, ["--preset", "imdb-supervised"], archive, work),
                     "with": run(f"curve-{size}-unlabelled", size, ["--preset", "imdb-unlabelled", "--embeddings",
                                                                     str(vectors), "--unlabelled", str(archive)],
                                 archive, work)})
        print(json.dumps(rows[-1]), flush=True)
    print("\n| labelled reviews (train / validation) | labels only | + unlabelled (word2vec + VAT) | gain | wall time "
          "(labels only / + unlabelled) |")
    print("|---|---|---|---|---|")
    for row in rows:
        without, with_ = row["without"], row["with"]
        print(f"| {row['size']:,} ({without['train']:,} / {without['validation']:,}) | "
              f"{100 * without['accuracy']:.2f}% | {100 * with_['accuracy']:.2f}% | "
              f"{100 * (with_['accuracy'] - without['accuracy']):+.2f} pt | "
              f"{without['wall_s'] / 60:.1f} / {with_['wall_s'] / 60:.1f} min |")
    plot(rows, work / "learning_curve.png")
    print(f"\n(test: {rows[0]['without']['examples']:,} reviews, each exported SavedModel; word2vec "
          f"{'made earlier' if not pretraining else f'learned once in {pretraining / 60:.1f} min'}; plot {work / 'learning_curve.png'})")


if __name__ == "__main__":
    main()
