"""Learning curve on IMDB: 1,000 / 5,000 / 25,000 labelled reviews, each with and without the unlabelled ones.

    python benchmarks/learning_curve.py [--archive ../shared/datasets/aclImdb_v1.tar.gz] [--sizes 1000,5000,25000]
        [--vectors imdb-w2v.vec] [--without-preset few-labels-supervised] [--with-preset few-labels]
        [--workdir DIR [--reuse]]

Semi-supervised methods matter most where labels are few. For each number of labelled train reviews
(`--train-limit N`: a stratified subset of the 25,000; validation carved out of it, whole movies held out;
the test split stays all 25,000 reviews), two `seqsent train` runs as a user types them:
  without: --preset few-labels-supervised (one BiGRU(128), labels only, random start);
  with:    --preset few-labels --embeddings VECTORS --unlabelled ARCHIVE: the same model, its vocabulary learned
           from the labelled and the 50,000 unlabelled reviews, its Embedding frozen at word2vec vectors learned
           once from the train texts + the unlabelled reviews (labels never read).
(`--without-preset imdb-supervised --with-preset imdb-unlabelled` gives the earlier arms: VAT on the unlabelled
reviews.) Prints a table (test accuracy of each exported SavedModel, the gain with McNemar's test on the same
test reviews, wall times) and writes learning_curve.png.
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
sys.path.insert(0, str(ROOT / "benchmarks"))
SEQSENT = [sys.executable, "-c", "from seqsent_cli.main import main; main()"]
VECTORS = "imdb-w2v.vec"
WALL_TIME = "benchmark_wall_time.json"  # beside the run's metrics.json: the train command's wall time


def _recorded_wall_time(run_dir: Path) -> float:
    recorded = run_dir / WALL_TIME
    return json.loads(recorded.read_text())["wall_s"] if recorded.is_file() else float("nan")


def timed(args: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(SEQSENT + args, cwd=cwd, check=True)
    return time.perf_counter() - started


def run(name: str, size: int, flags: list[str], archive: Path, work: Path, test, class_names, reuse: bool) -> dict:
    """Train as a user types it, then score the export on `test` again for the paired test.

    With `reuse`, a run of this name already in `work` is scored again instead of trained again, so sizes
    run in separate sessions make one table and one plot."""
    import numpy as np

    from seqsent.serving.inference import load_model

    def newest_metrics():
        runs = sorted((work / "runs" / name).glob("*/metrics.json"), key=lambda p: p.stat().st_mtime)
        return runs[-1] if runs else None

    metrics_file = newest_metrics() if reuse else None
    if metrics_file is not None:
        seconds = _recorded_wall_time(metrics_file.parent)
        print(f"{name}: scoring the earlier run in {metrics_file.parent} again (--reuse)", flush=True)
    else:
        seconds = timed(["train", "--data", str(archive), "--train-limit", str(size), "--name", name, "--quiet",
                         *flags], work)
        metrics_file = newest_metrics()
        (metrics_file.parent / WALL_TIME).write_text(json.dumps({"wall_s": seconds}))
    metrics = json.loads(metrics_file.read_text())
    history = json.loads((metrics_file.parent / "history.json").read_text())
    model = load_model(work / metrics["export_dir"])
    order = [model.class_names.index(c) for c in class_names]
    right = model.predict_proba(test.texts)[:, order].argmax(axis=1) == np.asarray(test.labels)
    return {"accuracy": metrics["test"]["accuracy"], "examples": metrics["split_sizes"]["test"],
            "train": metrics["split_sizes"]["train"], "validation": metrics["split_sizes"]["validation"],
            "epochs": len(history["loss"]), "wall_s": seconds, "right": right}


def _minutes(seconds: float) -> str:
    return "?" if seconds != seconds else f"{seconds / 60:.1f}"  # NaN: a reused run from before wall times were kept


def plot(rows: list[dict], path: Path) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.4, 4.4), dpi=110)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    sizes = [row["size"] for row in rows]
    for key, label, color in (("without", "labels only", "#4c72b0"),
                              ("with", "+ unlabelled reviews", "#dd8452")):
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
    parser.add_argument("--without-preset", default="few-labels-supervised")
    parser.add_argument("--with-preset", default="few-labels")
    parser.add_argument("--reuse", action="store_true",
                        help="score runs already in --workdir again instead of training them again")
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
    from paired_accuracy import mcnemar
    from seqsent.config import DataConfig
    from seqsent.data import load_dataset

    full = load_dataset(DataConfig(source=str(archive)))
    test, class_names = full.test, full.class_names
    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        row = {"size": size,
               "without": run(f"curve-{size}-labels", size, ["--preset", args.without_preset], archive, work, test,
                              class_names, args.reuse),
               "with": run(f"curve-{size}-unlabelled", size, ["--preset", args.with_preset, "--embeddings",
                                                               str(vectors), "--unlabelled", str(archive)],
                           archive, work, test, class_names, args.reuse)}
        row["only_with"] = int((row["with"]["right"] & ~row["without"]["right"]).sum())
        row["only_without"] = int((~row["with"]["right"] & row["without"]["right"]).sum())
        row["p"] = mcnemar(row["only_with"], row["only_without"])[1]
        rows.append(row)
        print(json.dumps({k: ({kk: vv for kk, vv in v.items() if kk != "right"} if isinstance(v, dict) else v)
                          for k, v in row.items()}), flush=True)
    print(f"\n| labelled reviews (train / validation) | labels only (`--preset {args.without_preset}`) | + unlabelled "
          f"(`--preset {args.with_preset}`) | gain (right only with / only without, McNemar p) | wall time "
          "(labels only / + unlabelled) |")
    print("|---|---|---|---|---|")
    for row in rows:
        without, with_ = row["without"], row["with"]
        print(f"| {row['size']:,} ({without['train']:,} / {without['validation']:,}) | "
              f"{100 * without['accuracy']:.2f}% | {100 * with_['accuracy']:.2f}% | "
              f"{100 * (with_['accuracy'] - without['accuracy']):+.2f} pt ({row['only_with']} / "
              f"{row['only_without']}, p = {row['p']:.2g}) | "
              f"{_minutes(without['wall_s'])} / {_minutes(with_['wall_s'])} min |")
    plot(rows, work / "learning_curve.png")
    print(f"\n(test: {rows[0]['without']['examples']:,} reviews, each exported SavedModel; word2vec "
          f"{'made earlier' if not pretraining else f'learned once in {pretraining / 60:.1f} min'}; "
          f"plot {work / 'learning_curve.png'})")


if __name__ == "__main__":
    main()
