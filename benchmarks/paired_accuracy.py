"""Two exported models on the same IMDB test reviews: accuracy of each and McNemar's test of the difference.

    python benchmarks/paired_accuracy.py saved_models/a/1 saved_models/b/1 [--archive ../shared/datasets/aclImdb_v1.tar.gz]

Two accuracies 0.1 point apart on 25,000 reviews may or may not differ: what counts is how many
reviews one model gets right and the other wrong. McNemar's test (normal approximation) on those
two counts says whether the difference is larger than chance.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def mcnemar(only_first: int, only_second: int) -> tuple[float, float]:
    """(z, two-sided p) for the counts of items only the first / only the second model got right."""
    disagreements = only_first + only_second
    if disagreements == 0:
        return 0.0, 1.0
    z = (only_first - only_second) / math.sqrt(disagreements)
    return z, math.erfc(abs(z) / math.sqrt(2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("first", type=Path)
    parser.add_argument("second", type=Path)
    parser.add_argument("--archive", type=Path, default=ROOT.parent / "shared" / "datasets" / "aclImdb_v1.tar.gz")
    args = parser.parse_args()
    if not args.archive.is_file():
        sys.exit(f"no archive at {args.archive}")

    import numpy as np

    from seqsent.config import DataConfig
    from seqsent.data import load_dataset
    from seqsent.serving.inference import load_model

    test = load_dataset(DataConfig(source=str(args.archive))).test
    labels = np.asarray(test.labels)
    right = []
    for path in (args.first, args.second):
        right.append(load_model(path).predict_proba(test.texts).argmax(axis=1) == labels)
        print(f"{path}: accuracy {right[-1].mean():.5f} on {len(labels):,} test reviews", flush=True)
    only_first, only_second = int(np.sum(right[0] & ~right[1])), int(np.sum(~right[0] & right[1]))
    z, p = mcnemar(only_first, only_second)
    print(f"right only by the first: {only_first}; only by the second: {only_second}; "
          f"difference {100 * (right[0].mean() - right[1].mean()):+.2f} points; McNemar z = {z:.2f}, p = {p:.3f}")


if __name__ == "__main__":
    main()
