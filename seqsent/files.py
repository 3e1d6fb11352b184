"""Writes that survive a crash: a reader sees the old file or the new one, never half of one.

Every file and directory seqsent leaves behind goes through here: `replace_atomically` (one file:
a temporary path beside it, flushed, then renamed over it) and `staged_directory` (a whole
directory: built under a hidden name, flushed, renamed into place). Temporary files made with
mkstemp are private (0600); what is renamed into place gets the permissions any other new file
would get under the process's umask (or keeps those of the file it replaces), so another user (a TF
Serving container, say) can read it.
"""

from __future__ import annotations

import fcntl
import fnmatch
import glob
import gzip
import json
import os
import shutil
import tempfile
import time
import uuid
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from seqsent.errors import DataError, UsageError


def fsync_path(path: Path) -> None:
    """Flush a file or a directory (its entries) to disk; a file system that cannot is left alone."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems do not sync directories
        pass
    finally:
        os.close(fd)


def fsync_tree(path: Path) -> None:
    """Flush every file and directory below `path`, so a renamed tree is complete even after a power cut."""
    for root, _, files in os.walk(path):
        for file in files:
            fsync_path(Path(root) / file)
        fsync_path(Path(root))


def umask_mode(directory: bool = False) -> int:
    """The mode a new file (0666) or directory (0777) gets under the current umask."""
    umask = os.umask(0)
    os.umask(umask)
    return (0o777 if directory else 0o666) & ~umask


def _mode_for(path: Path) -> int:
    """A replaced file keeps its permissions; a new one gets the umask's."""
    try:
        return path.stat().st_mode & 0o777
    except OSError:
        return umask_mode()


# What a killed run (kill -9, a machine reset) left behind is removed by the next run writing the same output:
# staging directories no live process holds locked (the kernel releases a dead process's locks) and untouched for a
# minute (the moment between creating one and locking it); temporary files untouched for 15 minutes (they are not
# locked: their writers, HDF5 for one, lock them themselves, and each is written in one go).
ABANDONED_DIRECTORY_SECONDS = 60.0
ABANDONED_FILE_SECONDS = 15 * 60.0


def hold_lock(path: Path) -> int | None:
    """An exclusive lock on a staging directory or temporary file, held until the returned descriptor is closed
    (seqsent.files.release); None where the file system has no locks (then nothing of it is ever removed)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def release(fd: int | None) -> None:
    if fd is not None:
        os.close(fd)


def remove_abandoned(parent: Path, pattern: str, min_age: float = ABANDONED_DIRECTORY_SECONDS) -> list[Path]:
    """Remove the staging directories (unlocked) and temporary files (named by the glob `pattern` in `parent`) that
    killed runs left, untouched for `min_age` seconds. They can be as large as the output."""
    removed, now = [], time.time()
    for path in Path(parent).glob(pattern):
        try:
            if path.is_symlink() or now - path.stat().st_mtime < min_age:
                continue
        except OSError:
            continue
        if not path.is_dir():
            path.unlink(missing_ok=True)
            removed.append(path)
            continue
        fd = hold_lock(path)
        if fd is None:  # a live run's
            continue
        try:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
        finally:
            release(fd)
    return removed


@contextmanager
def replace_atomically(path: str | Path, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path beside `path`; once the block has written it, it replaces `path` in one step.

    On an error (or Ctrl-C) the temporary file is removed and `path` is left as it was; one a killed run left is
    removed by the next. `suffix` is for writers that insist on a file-name ending (Keras' `.weights.h5`).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_abandoned(path.parent, f".{glob.escape(path.name)}.*{glob.escape(suffix)}", ABANDONED_FILE_SECONDS)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        fsync_path(tmp)
        os.chmod(tmp, _mode_for(path))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_path(path.parent)


def write_text_atomic(path: str | Path, text: str) -> None:
    with replace_atomically(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json_atomic(path: str | Path, value) -> None:
    write_text_atomic(path, json.dumps(value, indent=2, sort_keys=True))


def check_creatable(path: str | Path, flag: str, *, directory: bool) -> None:
    """Fail before any long work unless `path` (a directory, or a file) can be written: the nearest existing
    directory on its way is writable, and no file stands where a directory is needed."""
    path = Path(path).expanduser()
    existing = path if directory else path.parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise UsageError(f"{flag} {path}: {existing} is a file, not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"{flag} {path}: {existing} is not writable")
    try:  # access() says yes to root everywhere, even in /proc or on a read-only mount: try it
        os.rmdir(tempfile.mkdtemp(prefix=".seqsent-probe-", dir=existing))
    except OSError as exc:
        raise UsageError(f"{flag} {path}: cannot write in {existing} ({exc.strerror or exc})") from None


def check_output_dir(target: str | Path, overwrite: bool, flag: str = "--overwrite", owned: tuple[str, ...] = (),
                     output_flag: str = "--output") -> Path:
    """Fail early, before any long work, if `target` cannot be written.

    `owned`: the names (fnmatch patterns) of what the command writes there. `flag` replaces the whole directory, so
    it replaces only one holding nothing else: a mistyped path (the model, the data, a home directory) is refused,
    never deleted. `output_flag` names `target` in the error of a directory it cannot be staged in (its parent).
    """
    target = Path(target).expanduser()
    check_creatable(target, output_flag, directory=False)  # staged beside it, then renamed
    if target.exists() and not target.is_dir():
        raise UsageError(f"{target} exists and is not a directory")
    if target.is_dir() and any(target.iterdir()):
        if not overwrite:
            raise UsageError(f"{target} already exists and is not empty; choose another directory or pass {flag}")
        foreign = sorted(entry.name for entry in target.iterdir()
                         if owned and not any(fnmatch.fnmatchcase(entry.name, pattern) for pattern in owned))
        if foreign:
            more = f" (and {len(foreign) - 1} more)" if len(foreign) > 1 else ""
            raise UsageError(f"{target} holds {foreign[0]!r}{more}, which this command does not write: {flag} "
                             "replaces only a directory of the command's own output; choose another directory")
    return target


def check_output_file(target: str | Path, overwrite: bool, flag: str = "--overwrite") -> Path:
    """The file twin of check_output_dir: an existing file is replaced only with `flag`, so nothing is lost by a typo."""
    target = Path(target).expanduser()
    if target.is_dir():
        raise UsageError(f"{target} is a directory; give a file path")
    if target.exists() and not overwrite:
        raise UsageError(f"{target} already exists; choose another file or pass {flag}")
    return target


def check_not_an_input(target: str | Path, inputs, flag: str = "--output") -> None:
    """Refuse an output that is one of the inputs (or, for an output directory, holds one): writing it would destroy
    the data being read, --overwrite or not."""
    out = Path(target).expanduser().resolve()
    for source in inputs:
        path = Path(source).expanduser().resolve()
        if path == out or out in path.parents:
            raise UsageError(f"{flag} {target}: it is an input ({source}); choose another path")


@contextmanager
def staged_directory(target: str | Path, overwrite: bool = False, *, owned: tuple[str, ...]) -> Iterator[Path]:
    """Yield a staging directory beside `target`; on success it is flushed and renamed to `target` in one step.

    An existing non-empty `target` is replaced only with `overwrite`, and only if it holds nothing but `owned` (the
    names this output consists of: check_output_dir). On an error the staging directory is removed and `target` is
    left as it was.
    """
    target = check_output_dir(target, overwrite, owned=owned)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_abandoned(target.parent, f".{glob.escape(target.name)}.staging-*")
    staging = target.parent / f".{target.name}.staging-{uuid.uuid4().hex[:12]}"
    staging.mkdir(mode=umask_mode(directory=True))
    lock = hold_lock(staging)
    old = None
    try:
        yield staging
        fsync_tree(staging)
        if target.is_dir() and any(target.iterdir()):
            check_output_dir(target, overwrite, owned=owned)  # someone may have written there meanwhile
            old = target.parent / f".{target.name}.old-{uuid.uuid4().hex[:12]}"
            os.rename(target, old)
        try:
            os.rename(staging, target)  # replaces an empty directory, never a full one
        except OSError:
            if old is not None:
                os.rename(old, target)
                old = None
            raise UsageError(f"{target} appeared while writing; nothing was written") from None
        fsync_path(target.parent)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        release(lock)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def read_json(file: Path, where: str, error=None):
    """A JSON file's value; a file that is missing, unreadable or not JSON is `error` (default ModelError) saying so,
    prefixed by `where` (the path or option the user gave)."""
    from seqsent.errors import ModelError

    error = error or ModelError
    try:
        return json.loads(Path(file).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise error(f"{where}: {Path(file).name} is missing") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        raise error(f"{where}: its {Path(file).name} is unreadable or corrupt") from None


BYTE_ORDER_MARKS = ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"),
                    (b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16"))


# What reading a truncated or corrupt gzip file raises (BadGzipFile is an OSError: catch these before OSError).
GZIP_ERRORS = (EOFError, zlib.error, gzip.BadGzipFile)


def corrupt_gzip(path, exc: BaseException) -> DataError:
    return DataError(f"{path}: truncated or corrupt gzip data ({exc.__class__.__name__}: {exc})")


def read_bytes(path: str | Path) -> bytes:
    """A whole file's bytes, decompressed when its name ends in .gz (texts.txt.gz, reviews.csv.gz): its compressed
    bytes hold NULs, so they would read as UTF-16. A truncated or corrupt file is a DataError naming it."""
    path = Path(path)
    try:
        data = path.read_bytes()
        return gzip.decompress(data) if path.name.lower().endswith(".gz") else data
    except GZIP_ERRORS as exc:
        raise corrupt_gzip(path, exc) from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None


def decode_utf8(data: bytes) -> tuple[str, int]:
    """The text, byte sequences that are not UTF-8 replaced by U+FFFD, and how many were (a U+FFFD the file
    really holds is not counted): every reader of text notes them."""
    text = data.decode("utf-8", errors="replace")
    return text, text.count("\ufffd") - data.decode("utf-8", errors="ignore").count("\ufffd")


def refuse_utf16(head: bytes, where) -> None:
    """Every text input is read as UTF-8, and UTF-16/32 read so turns into NUL-riddled garbage (texts, column
    names): refuse such a file, `where` naming it, from its first bytes (a byte-order mark, or NUL bytes)."""
    for mark, encoding in BYTE_ORDER_MARKS:
        if head.startswith(mark):
            raise DataError(f"{where}: the file is {encoding} text (it starts with a {encoding} byte-order mark); "
                            "save it as UTF-8")
    if b"\0" in head[:4096]:
        raise DataError(f"{where}: the file holds NUL bytes, so it looks like UTF-16 text (or is not text at all); "
                        "save it as UTF-8")


def sha256_of(path: str | Path) -> str:
    """The SHA-256 of a file's bytes, read in blocks (vector files and tables can be large); OSError if unreadable."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
