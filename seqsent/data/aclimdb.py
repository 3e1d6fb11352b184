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
# All members read from one archive (aclImdb's reviews and urls files hold about 140 MB): a bound on what a
# hostile archive of many small members can make us hold in memory.
MAX_TOTAL_BYTES = 2 * 1024**3
CITATION = (
    "Andrew L. Maas, Raymond E. Daly, Peter T. Pham, Dan Huang, Andrew Y. Ng and Christopher Potts. "
    "Learning Word Vectors for Sentiment Analysis. ACL 2011. https://ai.stanford.edu/~amaas/data/sentiment/"
)

Reviews = dict[str, tuple[list[str], list[str], list[str]]]  # split -> (texts, labels, movie ids)


def is_archive(path: Path) -> bool:
    return path.name.endswith((".tar.gz", ".tgz", ".tar"))


def read_reviews(path: Path, notify=None) -> Reviews:
    """{'train': (texts, labels), 'test': (texts, labels)} from an aclImdb dir or archive; `notify` hears how far
    reading a large archive has got."""
    if path.is_dir():
        reviews = _read_directory(path)
    elif path.is_file() and is_archive(path):
        reviews = _read_archive(path, notify)
    else:
        raise DataError(f"{path}: not an aclImdb directory or .tar.gz archive")
    for split in ("train", "test"):
        if not reviews[split][0]:
            shards = " nor .csv/.tsv/.jsonl table shards" if path.is_dir() else ""
            raise DataError(f"{path}: no reviews under {split}/pos or {split}/neg{shards} (is this an aclImdb "
                            "dataset?)")
    return reviews


class _Collector:
    """Reviews as they are read, joined at the end with the movie each one is about.

    The movie (from urls_<label>.txt, line N for review N) lets validation hold out whole
    movies, as the test split does: train and test of aclImdb share no movie.
    """

    def __init__(self):
        self.reviews: dict[tuple[str, str], list[tuple[int, str]]] = {}
        self.urls: dict[tuple[str, str], list[str]] = {}

    def add_review(self, split: str, label: str, file_name: str, text: str) -> None:
        review_id = file_name.split("_", 1)[0]
        key = int(review_id) if review_id.isdigit() else -1
        self.reviews.setdefault((split, label), []).append((key, text))

    def add_urls(self, split: str, label: str, content: str) -> None:
        self.urls[(split, label)] = content.splitlines()

    def result(self) -> Reviews:
        out: Reviews = {"train": ([], [], []), "test": ([], [], [])}
        for (split, label), items in sorted(self.reviews.items()):
            urls = self.urls.get((split, label), [])
            texts, labels, groups = out[split]
            for review_id, text in sorted(items, key=lambda item: item[0]):
                texts.append(text)
                labels.append(label)
                movie = urls[review_id] if 0 <= review_id < len(urls) else ""
                groups.append(movie.replace("/usercomments", "").rstrip("/").rsplit("/", 1)[-1])  # "" when unknown
        return out


def _urls_key(parts: tuple[str, ...]) -> tuple[str, str] | None:
    """(split, label) for '.../{train,test}/urls_{pos,neg}.txt'."""
    if len(parts) >= 2 and parts[-2] in ("train", "test") and parts[-1] in ("urls_pos.txt", "urls_neg.txt"):
        return parts[-2], parts[-1][5:8]
    return None


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
    collector = _Collector()
    for split in ("train", "test"):
        for label in CLASS_NAMES:
            urls = root / split / f"urls_{label}.txt"
            if urls.is_file():
                collector.add_urls(split, label, urls.read_text(encoding="utf-8", errors="replace"))
            folder = root / split / label
            if not folder.is_dir():
                continue
            for file in sorted(folder.iterdir()):
                if file.suffix == ".txt" and file.is_file() and not file.is_symlink():
                    collector.add_review(split, label, file.name, file.read_bytes().decode("utf-8", errors="replace"))
    return collector.result()


def _read_archive(path: Path, notify=None) -> Reviews:
    from seqsent.progress import Ticker

    collector = _Collector()
    total = 0
    ticker = Ticker(notify, f"Reading {path.name}", unit="archive members")
    try:
        with tarfile.open(path, "r:gz" if path.name.endswith((".gz", ".tgz")) else "r:*") as archive:
            for seen, member in enumerate(archive, start=1):
                ticker.update(seen)
                if member.isfile() and (_urls_key(tuple(member.name.split("/"))) or _classify(tuple(member.name.split("/")))):
                    total += member.size
                    if total > MAX_TOTAL_BYTES:
                        raise DataError(f"{path}: the reviews in this archive exceed {MAX_TOTAL_BYTES:,} bytes; refusing it")
                parts = tuple(member.name.split("/"))
                urls_key = _urls_key(parts)
                if urls_key is not None and member.isfile() and member.size <= MAX_MEMBER_BYTES:
                    handle = archive.extractfile(member)
                    if handle is not None:
                        collector.add_urls(*urls_key, handle.read().decode("utf-8", errors="replace"))
                    continue
                where = _classify(parts)
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
                collector.add_review(split, label, parts[-1], handle.read().decode("utf-8", errors="replace"))
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        reason = " ".join(str(exc).split())[:200]  # tarfile's "r:*" lists one line per method it tried
        raise DataError(f"{path}: cannot read the archive ({exc.__class__.__name__}: {reason}); is it truncated or corrupt?") from None
    return collector.result()


def read_unlabelled(path: Path, notify=None) -> list[str]:
    """The unlabelled reviews (train/unsup/*.txt: 50,000 in aclImdb) of an aclImdb dir or archive, in review order.

    Same rules as read_reviews: archive members are read, never extracted; links are never
    followed; '..' or absolute member paths, oversized members and archives are refused.
    """
    if path.is_dir():
        root = path / "aclImdb" if (path / "aclImdb").is_dir() else path
        folder = root / "train" / "unsup"
        files = sorted(folder.iterdir()) if folder.is_dir() else []
        found = [(file.name, file.read_bytes()) for file in files
                 if file.suffix == ".txt" and file.is_file() and not file.is_symlink()]
    elif path.is_file() and is_archive(path):
        found = _unsup_members(path, notify)
    else:
        raise DataError(f"{path}: not an aclImdb directory or .tar.gz archive")
    numbered = []
    for file_name, data in found:
        review_id = file_name.split("_", 1)[0]
        numbered.append((int(review_id) if review_id.isdigit() else -1, data.decode("utf-8", errors="replace")))
    return [text for _, text in sorted(numbered, key=lambda item: item[0])]


def _unsup_members(path: Path, notify=None) -> list[tuple[str, bytes]]:
    """(file name, bytes) of the archive's train/unsup/*.txt members, read with the archive rules."""
    from seqsent.progress import Ticker

    found, total = [], 0
    ticker = Ticker(notify, f"Reading the unlabelled reviews of {path.name}", unit="archive members")
    try:
        with tarfile.open(path, "r:gz" if path.name.endswith((".gz", ".tgz")) else "r:*") as archive:
            for seen, member in enumerate(archive, start=1):
                ticker.update(seen)
                parts = tuple(member.name.split("/"))
                if "unsup" in parts and (".." in parts or os.path.isabs(member.name)):
                    raise DataError(f"{path}: refusing unsafe member path {member.name!r}")
                is_unsup = len(parts) >= 3 and parts[-3:-1] == ("train", "unsup") and parts[-1].endswith(".txt")
                if not is_unsup or not member.isfile():
                    continue  # links and devices are never followed
                if member.size > MAX_MEMBER_BYTES:
                    raise DataError(f"{path}: member {member.name!r} is {member.size} bytes, "
                                    f"over the {MAX_MEMBER_BYTES} limit")
                total += member.size
                if total > MAX_TOTAL_BYTES:
                    raise DataError(f"{path}: the unlabelled reviews exceed {MAX_TOTAL_BYTES:,} bytes; refusing it")
                handle = archive.extractfile(member)
                if handle is not None:
                    found.append((parts[-1], handle.read()))
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        reason = " ".join(str(exc).split())[:200]
        raise DataError(f"{path}: cannot read the archive ({exc.__class__.__name__}: {reason}); "
                        "is it truncated or corrupt?") from None
    return found
