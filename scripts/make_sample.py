"""Build the IMDB sample bundled with seqsent from the full Large Movie Review Dataset.

    python scripts/make_sample.py ../shared/datasets/aclImdb_v1.tar.gz

Writes seqsent/data/sample/imdb_sample.jsonl.gz: a seeded, class-balanced draw of
TRAIN_PER_CLASS reviews per class from train and TEST_PER_CLASS from test.
"""

from __future__ import annotations

import gzip
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from seqsent.data.aclimdb import CLASS_NAMES, read_reviews  # noqa: E402

TRAIN_PER_CLASS = 1250
TEST_PER_CLASS = 1250
SEED = 20111
OUT = ROOT / "seqsent" / "data" / "sample" / "imdb_sample.jsonl.gz"


def main(archive: str) -> None:
    reviews = read_reviews(Path(archive))
    rng = random.Random(SEED)
    rows = []
    for split, per_class in (("train", TRAIN_PER_CLASS), ("test", TEST_PER_CLASS)):
        texts, labels, movies = reviews[split]
        for label in CLASS_NAMES:
            members = sorted((t, m) for t, lab, m in zip(texts, labels, movies) if lab == label)
            for text, movie in rng.sample(members, per_class):
                rows.append({"split": split, "label": label, "movie": movie, "text": text})
    rng.shuffle(rows)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    tmp = OUT.with_suffix(".tmp")
    # mtime=0 keeps the file byte-identical across runs.
    with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as out:
        for row in rows:
            out.write((json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8"))
    tmp.replace(OUT)
    print(f"wrote {len(rows)} reviews to {OUT} ({OUT.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else str(ROOT.parent / "shared" / "datasets" / "aclImdb_v1.tar.gz"))
