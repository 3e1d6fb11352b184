"""The IMDB sample shipped inside the package: training works out of the box, offline.

2,500 train + 2,500 test reviews drawn (seeded, class-balanced) from the Large Movie
Review Dataset by scripts/make_sample.py. See aclimdb.CITATION.
"""

from __future__ import annotations

import gzip
import json
from importlib import resources

from seqsent.data.aclimdb import CLASS_NAMES

SAMPLE_FILE = "imdb_sample.jsonl.gz"
DESCRIPTION = (
    "the bundled IMDB sample (2,500 train / 2,500 test reviews of the Large Movie Review Dataset, Maas et al. 2011)"
)


def read_sample() -> dict[str, tuple[list[str], list[str], list[str]]]:
    reviews: dict[str, tuple[list[str], list[str], list[str]]] = {"train": ([], [], []), "test": ([], [], [])}
    with resources.files("seqsent.data").joinpath("sample", SAMPLE_FILE).open("rb") as raw:
        with gzip.open(raw, "rt", encoding="utf-8") as lines:
            for line in lines:
                row = json.loads(line)
                reviews[row["split"]][0].append(row["text"])
                reviews[row["split"]][1].append(row["label"])
                reviews[row["split"]][2].append(row.get("movie", ""))
    return reviews


sample_class_names = CLASS_NAMES
