"""What a pretrained file remembers of the texts it learned from, so that `seqsent train` can tell when its own test
texts were among them: a test score of texts the vectors were learned from is not a test score. Pretraining on the
same table split otherwise is a mistake, refused; another corpus that shares some texts is noted.

A text is kept as 8 bytes of a hash of how the model reads it (seqsent.data.dataset.comparison_key), not as text:
50,000 reviews take 400 kB. Word vectors get a file beside them, `<vectors>.texts.npz`, which names the vector file
by its SHA-256 (a vector file replaced since is not judged by another's record); an encoder directory holds
`texts.npz`. Files without one (GloVe, fastText, older seqsent) are not checked.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqsent.errors import DataError
from seqsent.files import sha256_of

VECTORS_SUFFIX = ".texts.npz"
"""The record of a vector file FILE is FILE.texts.npz."""
DIRECTORY_RECORD = "texts.npz"
"""The record of a directory (an encoder) is a file in it."""


def text_fingerprints(texts) -> np.ndarray:
    """Sorted distinct 64-bit hashes of the texts as the model reads them (case, punctuation, spacing aside)."""
    return np.unique(_hashes(texts))


def _hashes(texts) -> np.ndarray:
    from seqsent.data.dataset import text_hash

    return np.array([text_hash(text) for text in texts], dtype=np.uint64)


def vectors_record(vectors: Path) -> Path:
    return vectors.with_name(vectors.name + VECTORS_SUFFIX)


@dataclass
class LearnedTexts:
    fingerprints: np.ndarray
    """text_fingerprints of every text learned from."""
    data_sha256: str = ""
    """SHA-256 of the table --data they came from ('' for other sources): a classifier of the same table whose test
    texts are among them was split otherwise, a mistake; another table sharing some texts is not."""
    vectors_sha256: str = ""
    """Of a record read back: the vector file it was written for ('' for an encoder's)."""


def learned_texts(texts, data_source: str) -> LearnedTexts:
    return LearnedTexts(text_fingerprints(texts), table_sha256(data_source))


def table_sha256(data_source: str) -> str:
    """The SHA-256 of a table --data, '' for other sources (an aclImdb test split is fixed: nothing to compare)."""
    from seqsent.data.tables import is_table, table_digest

    path = Path(data_source).expanduser()
    return (table_digest(path) or "") if path.is_file() and is_table(path) else ""


def write_record(file: Path, learned: LearnedTexts, vectors_sha256: str = "") -> None:
    """The record, written atomically (a half-written record would wrongly clear or refuse a run)."""
    from seqsent.files import replace_atomically

    with replace_atomically(file, suffix=".npz") as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, fingerprints=learned.fingerprints, data_sha256=np.array(learned.data_sha256),
                     vectors_sha256=np.array(vectors_sha256))


def read_record(flag: str, path: str | Path) -> LearnedTexts | None:
    """What `--embeddings FILE` or `--encoder DIR` (`flag`) records of the texts it learned from, or None when there
    is no record (whether a vector file's record is still its own is checked by check_learned_test_texts, only
    when it counts: that reads the whole vector file)."""
    path = Path(path).expanduser()
    file = path / DIRECTORY_RECORD if flag == "--encoder" else vectors_record(path)
    if not file.exists() and path.is_symlink():
        file = vectors_record(path.resolve())  # a link to vectors: the record lies beside the file itself
    if not file.exists():
        return None
    try:
        with np.load(file, allow_pickle=False) as record:
            fingerprints, data_sha256, recorded_digest = (record[key] for key in ("fingerprints", "data_sha256",
                                                                                  "vectors_sha256"))
            if (fingerprints.dtype != np.uint64 or fingerprints.ndim != 1
                    or any(value.ndim != 0 or value.dtype.kind != "U" for value in (data_sha256, recorded_digest))):
                raise ValueError("not the arrays seqsent writes")
            return LearnedTexts(fingerprints, str(data_sha256), str(recorded_digest))
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        raise DataError(f"{flag} {path}: its record of the texts learned from, {file.name}, is damaged (not the file "
                        "seqsent writes): pretrain again, or delete it (then nothing is checked)") from None


def count_learned(test_chunks, fingerprints: np.ndarray) -> tuple[int, int]:
    """How many texts of `test_chunks` (lists of texts) are among the texts `fingerprints` record, and of how many."""
    learned = total = 0
    for texts in test_chunks:
        if len(texts):
            learned += int(np.isin(_hashes(texts), fingerprints).sum())
            total += len(texts)
    return learned, total


def note_learned_test_texts(dataset, config) -> None:
    """check_learned_test_texts for a run (a RunConfig) on `dataset`: refused, or notes added to the data's notes.
    Streamed data's test texts are read for it in one pass, only when a pretrained file has a record to compare."""
    from seqsent.data.streaming import StreamingDataset

    if not (config.model.embeddings_path or config.model.encoder_path):
        return
    streamed = isinstance(dataset, StreamingDataset)
    if streamed:
        test_texts = lambda: (texts for texts, _ in dataset.chunks("test", purpose="pretraining check"))  # noqa: E731
    else:
        test_texts = dataset.test.texts
    for note in check_learned_test_texts(config.model.embeddings_path, config.model.encoder_path, config.data.source,
                                         test_texts, streamed):
        if note not in dataset.notes:  # `seqsent compare` trains several models on one dataset
            dataset.notes.append(note)


def check_learned_test_texts(embeddings_path: str | None, encoder_path: str | None, data_source: str,
                             test_texts, streamed: bool = False) -> list[str]:
    """`train --embeddings/--encoder` from a file that learned from this run's test texts: a DataError when it
    learned from this same table split otherwise (the test score would count texts it has read); notes when
    another corpus holds some of them (shared texts, not a mistake, but the user should know). `test_texts`: a
    list, or a function giving them in lists (streamed data, read only when there is a record to compare)."""
    notes = []
    for flag, path in (("--embeddings", embeddings_path), ("--encoder", encoder_path)):
        learned = read_record(flag, path) if path else None
        if learned is None:
            if path and flag == "--encoder":  # pretrain-lm always writes one: deleted, or copied without it
                notes.append(f"--encoder {path} has no {DIRECTORY_RECORD} (pretrain-lm writes one): seqsent cannot "
                             "check that it did not learn from this run's test texts")
            continue
        count, total = count_learned(test_texts() if callable(test_texts) else [test_texts], learned.fingerprints)
        if not count or (flag == "--embeddings" and learned.vectors_sha256 != sha256_of(path)):
            continue  # none learned, or the vector file was replaced after its record was written (another file's)
        if learned.data_sha256 and learned.data_sha256 == table_sha256(data_source):
            command = "pretrain-embeddings" if flag == "--embeddings" else "pretrain-lm"
            fix = (f"run `seqsent {command}` again split as this run is (--streaming on, and the same --split-key, "
                   "--test-data, --test-fraction and --split-seed as train's --seed)" if streamed else
                   f"run `seqsent {command}` again with this run's split (the same --test-data, --test-fraction and "
                   "--split-seed as train's --seed, --streaming off), or split this run as that one was")
            raise DataError(
                f"{flag} {path} was learned from {count:,} of this run's {total:,} test texts (this same "
                f"data, split otherwise), so the test score would count texts it has read: {fix}")
        notes.append(f"{flag} {path} was learned from texts that include {count:,} of the {total:,} test "
                     "texts (not from this data file's own split, so seqsent cannot tell a corpus that shares texts "
                     "from a mistake; their labels were never read): if that is many, pretrain on this data with "
                     "this run's split")
    return notes
