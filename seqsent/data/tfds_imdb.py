"""`--data imdb`: the full IMDB reviews through tensorflow-datasets, offline first.

Order of attempts, so nobody waits minutes for a download that cannot happen:
1. a prepared TFDS data dir (`imdb_reviews` under --tfds-data-dir or ~/tensorflow_datasets);
2. a local copy of aclImdb_v1.tar.gz ($SEQSENT_IMDB_ARCHIVE, the TFDS manual dir,
   ~/.keras/datasets, the working directory, ../shared/datasets), read directly;
3. a TFDS download, only when the download host resolves within a few seconds.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from contextlib import contextmanager
from pathlib import Path

from seqsent.data.aclimdb import CLASS_NAMES, read_reviews
from seqsent.errors import DataError

ARCHIVE_NAME = "aclImdb_v1.tar.gz"
DOWNLOAD_HOST = "ai.stanford.edu"


def archive_candidates() -> list[Path]:
    env = os.environ.get("SEQSENT_IMDB_ARCHIVE")
    home = Path.home()
    candidates = [Path(env)] if env else []
    candidates += [
        home / "tensorflow_datasets" / "downloads" / "manual" / ARCHIVE_NAME,
        home / ".keras" / "datasets" / ARCHIVE_NAME,
        Path.cwd() / ARCHIVE_NAME,
        Path.cwd().parent / "shared" / "datasets" / ARCHIVE_NAME,
    ]
    return candidates


def read_imdb(tfds_data_dir: str | None = None) -> tuple[dict[str, tuple[list[str], list[str]]], str]:
    """(reviews by split, where they came from)."""
    prepared = _read_prepared(tfds_data_dir)
    if prepared is not None:
        return prepared, "IMDB reviews (tensorflow-datasets imdb_reviews, prepared data dir)"
    for candidate in archive_candidates():
        if candidate.is_file():
            return read_reviews(candidate), f"IMDB reviews (local archive {candidate})"
    if not _host_resolves(DOWNLOAD_HOST, timeout=5.0):
        raise DataError(
            "--data imdb: no prepared tensorflow-datasets copy, no local aclImdb_v1.tar.gz and no network; "
            "set SEQSENT_IMDB_ARCHIVE=/path/to/aclImdb_v1.tar.gz or pass --data /path/to/aclImdb_v1.tar.gz"
        )
    return _download(tfds_data_dir), "IMDB reviews (tensorflow-datasets imdb_reviews, downloaded)"


def _read_prepared(data_dir: str | None):
    import tensorflow_datasets as tfds

    try:
        with _absl_warnings_silenced():  # e.g. "Variant folder ... has no dataset_info.json" of an unfinished copy
            splits = tfds.load("imdb_reviews", split=["train", "test"], as_supervised=True, download=False,
                               data_dir=data_dir)
    except Exception:  # TFDS raises several types for "not prepared here"
        return None
    return {name: _to_lists(ds) for name, ds in zip(("train", "test"), splits)}


@contextmanager
def _absl_warnings_silenced():
    """TFDS logs through absl what it meets while looking for a prepared copy; not finding one is an answer here
    (the local archive is read next), not a warning for the user."""
    logger = logging.getLogger("absl")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def _download(data_dir: str | None):
    import tensorflow_datasets as tfds

    try:
        splits = tfds.load("imdb_reviews", split=["train", "test"], as_supervised=True, download=True, data_dir=data_dir)
    except Exception as exc:
        raise DataError(f"--data imdb: tensorflow-datasets download failed ({exc.__class__.__name__}: {exc})") from None
    return {name: _to_lists(ds) for name, ds in zip(("train", "test"), splits)}


def _to_lists(ds) -> tuple[list[str], list[str]]:
    texts, labels = [], []
    for text, label in ds.as_numpy_iterator():
        texts.append(text.decode("utf-8", errors="replace"))
        labels.append(CLASS_NAMES[int(label)])
    return texts, labels


def _host_resolves(host: str, timeout: float) -> bool:
    """DNS lookup bounded by `timeout` (the resolver's own retries can take minutes)."""
    result: list[bool] = []

    def lookup() -> None:
        try:
            socket.getaddrinfo(host, 443)
            result.append(True)
        except OSError:
            result.append(False)

    thread = threading.Thread(target=lookup, daemon=True)
    thread.start()
    thread.join(timeout)
    return bool(result and result[0])
