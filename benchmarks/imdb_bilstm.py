"""Full-IMDB benchmark of `seqsent train` + `seqsent evaluate`, as a user runs them.

    python benchmarks/imdb_bilstm.py [--archive ../shared/datasets/aclImdb_v1.tar.gz] [--reference]

Trains the default bidirectional LSTM on the 25k train reviews (validation: whole movies
held out of train), then evaluates the exported SavedModel on all 25k test reviews, and
prints wall times and test metrics. --reference also runs the official Keras BiLSTM
example's configuration (20k vocabulary, first 200 tokens, 2 x BiLSTM(64), last state,
2 epochs) with seqsent's builders, side by side.
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
SEQSENT = [sys.executable, "-c", "from seqsent_cli.main import main; main()"]
REFERENCE_FLAGS = ["--max-tokens", "20000", "--sequence-length", "200", "--truncation", "post", "--layers", "2",
                   "--pooling", "last", "--epochs", "2", "--patience", "2", "--embedding-dropout", "0",
                   "--dropout", "0", "--head-dropout", "0", "--learning-rate", "0.001", "--padding", "batch"]


def run(args: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(SEQSENT + args, cwd=cwd, check=True)
    return time.perf_counter() - started


def bench(label: str, flags: list[str], archive: Path, work: Path) -> dict:
    name = label.replace(" ", "-")
    train_s = run(["train", "--data", str(archive), "--name", name, "--quiet", *flags], work)
    model = work / "saved_models" / name
    started = time.perf_counter()
    out = subprocess.run(SEQSENT + ["evaluate", str(model), "--data", str(archive), "--json"],
                         cwd=work, check=True, capture_output=True, text=True).stdout
    eval_s = time.perf_counter() - started
    metrics = json.loads(out)
    return {"config": label, "train_s": train_s, "evaluate_s": eval_s, **metrics}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archive", type=Path, default=ROOT.parent / "shared" / "datasets" / "aclImdb_v1.tar.gz")
    parser.add_argument("--reference", action="store_true", help="also run the Keras example configuration")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    if not args.archive.is_file():
        sys.exit(f"no archive at {args.archive}")
    work = args.workdir or Path(tempfile.mkdtemp(prefix="seqsent-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    rows = [bench("seqsent bilstm", ["--arch", "bilstm"], args.archive, work)]
    if args.reference:
        rows.append(bench("keras example bilstm", ["--arch", "bilstm", *REFERENCE_FLAGS], args.archive, work))
    print(f"\n{'configuration':<24} {'train+test s':>12} {'evaluate s':>10} {'accuracy':>9} {'f1':>7} {'roc_auc':>8}")
    for row in rows:
        print(f"{row['config']:<24} {row['train_s']:>12.0f} {row['evaluate_s']:>10.0f} {row['accuracy']:>9.4f} "
              f"{row['f1']:>7.4f} {row['roc_auc']:>8.4f}")
    print(f"(test split: {rows[0]['examples']} reviews; models under {work / 'saved_models'})")


if __name__ == "__main__":
    main()
