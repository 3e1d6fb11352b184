"""The Large Movie Review Dataset in its original layout, as a directory or its .tar.gz.

The archive is read member by member, never extracted, so a hostile archive cannot
write outside anything (no path traversal, no links followed) and a member over
MAX_MEMBER_BYTES is refused.
"""

from __future__ import annotations

import os
import tarfile
import zlib
from pathlib import Path

from seqsent.errors import DataError

CLASS_NAMES = ["neg", "pos"]
MAX_MEMBER_BYTES = 10 * 1024 * 1024
CITATION = (
    "Andrew L. Maas, Raymond E. Daly, Peter T. Pham, Dan Huang, Andrew Y. Ng and Christopher Potts. "
    "Learning Word Vectors for Sentiment Analysis. ACL 2011. https://ai.stanford.edu/~amaas/data/sentiment/"
)

Reviews = dict[str, tuple[list[str], list[str]]]  # split -> (texts, labels)


def is_archive(path: Path) -> bool:
    return path.name.endswith((".tar.gz", ".tgz", ".tar"))


def read_reviews(path: Path) -> Reviews:
    """{'train': (texts, labels), 'test': (texts, labels)} from an aclImdb dir or archive."""
    if path.is_dir():
        reviews = _read_directory(path)
    elif path.is_file() and is_archive(path):
        reviews = _read_archive(path)
    else:
        raise DataError(f"{path}: not an aclImdb directory or .tar.gz archive")
    for split in ("train", "test"):
        if not reviews[split][0]:
            raise DataError(f"{path}: no reviews under {split}/pos or {split}/neg (is this an aclImdb dataset?)")
    return reviews


def _empty() -> Reviews:
    return {"train": ([], []), "test": ([], [])}


def _classify(parts: tuple[str, ...]) -> tuple[str, str] | None:
    """(split, label) for '.../{train,test}/{pos,neg}/<id>_<rating>.txt', else None."""
    if len(parts) < 3 or not parts[-1].endswith(".txt"):
        return None
    split, label = parts[-3], parts[-2]
    if split in ("train", "test") and label in CLASS_NAMES:
        return split, label
    return None


def _read_directory(root: Path) -> Reviews:
    if (root / "aclImdb").is_dir():
        root = root / "aclImdb"
    reviews = _empty()
    for split in ("train", "test"):
        for label in CLASS_NAMES:
            folder = root / split / label
            if not folder.is_dir():
                continue
            for file in sorted(folder.iterdir()):
                if file.suffix == ".txt" and file.is_file() and not file.is_symlink():
                    reviews[split][0].append(file.read_bytes().decode("utf-8", errors="replace"))
                    reviews[split][1].append(label)
    return reviews


def _read_archive(path: Path) -> Reviews:
    reviews = _empty()
    try:
        with tarfile.open(path, "r:*") as archive:
            for member in archive:
                where = _classify(tuple(member.name.split("/")))
                if where is None:
                    continue
                if ".." in member.name.split("/") or os.path.isabs(member.name):
                    raise DataError(f"{path}: refusing unsafe member path {member.name!r}")
                if not member.isfile():
                    continue  # links and devices are never followed
                if member.size > MAX_MEMBER_BYTES:
                    raise DataError(f"{path}: member {member.name!r} is {member.size} bytes, over the {MAX_MEMBER_BYTES} limit")
                handle = archive.extractfile(member)
                if handle is None:
                    continue
                split, label = where
                reviews[split][0].append(handle.read().decode("utf-8", errors="replace"))
                reviews[split][1].append(label)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise DataError(f"{path}: cannot read the archive ({exc.__class__.__name__}: {exc}); is it truncated or corrupt?") from None
    return reviews
