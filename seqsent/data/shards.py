"""Sharded table files, read row by row: CSV, TSV and JSON lines, each optionally gzip-compressed.

The streaming path (seqsent.data.streaming) never holds a file in memory: `iter_rows` yields one
(text, label, key) row at a time from one shard; a source is a file, a directory of shards, or a
glob. Every problem names the file (and line) it is in: a missing column, a bad row, a truncated
gzip stream, an unreadable file.
"""

from __future__ import annotations

import codecs
import csv
import glob
import gzip
import io
import json
import math
import sys
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Iterator, TextIO

from seqsent.errors import DataError
from seqsent.files import GZIP_ERRORS, corrupt_gzip, refuse_utf16
from seqsent.layout import shard_format



def is_glob(source: str) -> bool:
    return any(char in source for char in "*?[")


def find_shards(source: str, flag: str = "--data") -> list[Path]:
    """The table files of a source: a file, a directory of shards (sorted), or a glob; a DataError if none, naming
    the `flag` it was given with."""
    if is_glob(source):
        paths = [Path(p) for p in sorted(glob.glob(str(Path(source).expanduser())))]
        where = f"{flag} {source}: the pattern"
    else:
        path = Path(source).expanduser()
        if not path.exists():
            raise DataError(f"{flag} {source}: no such file or directory")
        paths = sorted(path.iterdir()) if path.is_dir() else [path]
        where = f"{flag} {source}:"
    shards = [p for p in paths if shard_format(p) and not p.name.startswith(".")]
    if not shards:
        raise DataError(f"{where} matches no .csv/.tsv/.jsonl file (optionally .gz)")
    return shards


def open_text(path: Path) -> TextIO:
    """A shard as UTF-8 text (undecodable bytes replaced; UTF-16 refused), decompressed on the fly if it ends in .gz."""
    try:
        raw = gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    try:
        refuse_utf16(raw.peek(4096)[:4096], path)
    except BaseException:
        raw.close()
        raise
    return io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="")


def iter_rows(path: Path, text_column: str, label_column: str, key_column: str | None = None,
              on_empty: str = "skip", skipped: list[int] | None = None) -> Iterator[tuple[str, str, str]]:
    """(text, label, key) per row of one shard; the key is `key_column`'s value, else the text.

    Rows with an empty text or label are skipped (counted in `skipped[0]`) or, with on_empty='error', refused.
    """
    columns = [text_column, label_column] + ([key_column] if key_column else [])
    fmt = shard_format(path)
    try:
        with open_text(path) as handle:
            rows = json_rows(path, handle) if fmt == "jsonl" else delimited_rows(
                path, handle, "\t" if fmt == "tsv" else ",", columns,
                {key_column: "chosen with --split-key"} if key_column else "")
            for line_no, row in rows:
                text = text_cell(row.get(text_column), f"{path}:{line_no}")
                label = label_cell(row.get(label_column), f"{path}:{line_no}")
                if not text.strip() or not label.strip():
                    if on_empty == "error":
                        which = "text" if not text.strip() else "label"
                        raise empty_cell_error(f"{path}:{line_no}", which,
                                               row.get(text_column if which == "text" else label_column))
                    if skipped is not None:
                        skipped[0] += 1
                    continue
                if fmt == "jsonl" and (text_column not in row or label_column not in row):
                    raise missing_column(f"{path}:{line_no}", text_column if text_column not in row else label_column,
                                         list(map(str, row)))
                yield text, label.strip(), cell(row.get(key_column)) if key_column else text
    except GZIP_ERRORS as exc:
        raise corrupt_gzip(path, exc) from None
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None


def check_shard(path: Path, text_column: str, label_column: str, key_column: str | None = None) -> None:
    """Fail before training if a shard cannot be opened or lacks a column (its header or first JSON line)."""
    for _ in iter_rows(path, text_column, label_column, key_column):
        return


def cell(value) -> str:
    """A table cell as text (a JSON true/false as 1/0; labels go through label_cell, which refuses those)."""
    if value is None:
        return ""
    return str(int(value)) if isinstance(value, bool) else str(value)


# How other tools write a missing value into a text file (pandas' and R's defaults, spreadsheets, databases): a label
# cell holding one of these is a missing label, not a class of its own. 'None' is left out: it names a class in
# some data sets (no emotion, no topic).
MISSING_VALUE_MARKERS = frozenset({"nan", "NaN", "NAN", "-nan", "-NaN", "<NA>", "NA", "N/A", "n/a", "#N/A", "#NA",
                                   "NULL", "null", "NaT"})


def label_cell(value, where: str) -> str:
    """A label cell as text; '' when missing (a marker such as NaN, NA or null counts as missing: read as text it
    would make a class of the rows without a label). A JSON list, object or boolean is refused: turned into text it
    would make a class like "['pos']", or merge true with 1. So is NaN or Infinity as a JSON number (pandas' spelling
    of a missing number, which Python's json reads though it is not JSON)."""
    if isinstance(value, (bool, list, dict)):
        kind = {bool: "boolean", list: "list", dict: "object"}[type(value)]
        raise DataError(f"{where}: the label is a JSON {kind} ({_shown(value)}); labels must be strings or integers")
    _refuse_not_finite(value, "label", where)
    label = nfc(cell(value))
    return "" if label.strip() in MISSING_VALUE_MARKERS else label


def nfc(label: str) -> str:
    """A class name in Unicode's composed form: 'café' typed on one system and 'cafe' + a combining accent written by
    another (macOS file names, some exports) are one class, as they look."""
    return label if unicodedata.is_normalized("NFC", label) else unicodedata.normalize("NFC", label)


def empty_cell_error(where: str, which: str, value, column: str | None = None) -> DataError:
    """--on-empty-text error's refusal of a row, naming a missing-value marker that made the cell count as empty."""
    marker = cell(value).strip() if not isinstance(value, float) else ""
    of_column = f" (column {column!r})" if column else ""
    said = f"missing {which}{of_column}: {marker!r} marks a missing value" if marker else f"empty {which}{of_column}"
    return DataError(f"{where}: {said}; fix the row, or skip such rows with --on-empty-text skip")


def text_cell(value, where: str) -> str:
    """A text cell as text. A JSON list or object is refused: turned into text it would teach the model "['a', 'b']"
    (Python's spelling of the value) instead of the words; NaN or Infinity too (it would be the text 'nan')."""
    if isinstance(value, (list, dict)):
        kind = "list" if isinstance(value, list) else "object"
        raise DataError(f"{where}: the text is a JSON {kind} ({_shown(value)}); texts must be strings")
    _refuse_not_finite(value, "text", where)
    return cell(value)


def _refuse_not_finite(value, what: str, where: str) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        why = " (pandas writes a missing value so)" if math.isnan(value) else ""
        raise DataError(f"{where}: the {what} is {_shown(value)}, which is not valid JSON{why}: give the row a "
                        f"{what}, or null to skip the row")


def _shown(value, width: int = 40) -> str:
    shown = json.dumps(value, ensure_ascii=False)
    return shown if len(shown) <= width else shown[:width - 3] + "..."


def missing_column(path, column: str, existing: list[str], hint: str = "") -> DataError:
    """The columns are shown quoted, so a stray space in a header ('text, label') shows; a name that is the wanted
    one but for such spaces is pointed out."""
    padded = [name for name in existing if name.strip() == column.strip() and name != column]
    cased = [name for name in existing if name.strip().casefold() == column.strip().casefold() and name != column]
    if padded:
        hint = f"(the header's {padded[0]!r} is {column!r} with spaces around it: remove them from the header)"
    elif cased:
        hint = f"(column names are case-sensitive: did you mean {cased[0]!r}?)"
    return DataError(f"{path}: no column {column!r}; columns are: {', '.join(map(repr, existing)) or '(none)'} "
                     + (hint or "(choose with --text-column / --label-column)"))


DELIMITER_NAMES = {",": ("comma", ".csv"), "\t": ("tab", ".tsv"), ";": ("semicolon", None)}


def delimiter_hint(header: list[str], delimiter: str) -> str:
    """Why a header may lack a column: a file of another delimiter reads as one column named like 'text\tlabel'."""
    if len(header) != 1:
        return ""
    for other, (name, suffix) in DELIMITER_NAMES.items():
        if other != delimiter and other in header[0]:
            fix = f"name the file {suffix}" if suffix else "save it comma-separated (.csv) or tab-separated (.tsv)"
            return f"(the header looks {name}-separated: {fix})"
    return ""


def json_rows(path: Path, lines) -> Iterator[tuple[int, dict]]:
    """(line number, object) per non-blank line. Lines end at "\\n" only: JSON strings may hold U+2028/U+0085,
    which str.splitlines() also breaks at."""
    pending = ""
    line_no = 0
    for chunk in lines:
        *complete, pending = (pending + chunk).split("\n")  # the last piece waits for its "\n" (or the end)
        for line in complete:
            line_no += 1
            row = _json_row(path, line_no, line)
            if row is not None:
                yield line_no, row
    if pending:
        row = _json_row(path, line_no + 1, pending)
        if row is not None:
            yield line_no + 1, row


def _json_row(path: Path, line_no: int, line: str) -> dict | None:
    line = line.rstrip("\r")
    if not line.strip():
        return None
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}:{line_no}: not valid JSON ({exc.msg})") from None
    if not isinstance(row, dict):
        raise DataError(f"{path}:{line_no}: each line must be a JSON object")
    return row


def delimited_rows(path: Path, handle: TextIO, delimiter: str, columns: list[str],
                   chosen_by: str | dict[str, str] = "") -> Iterator[tuple[int, dict]]:
    """(line number, row) of a CSV or TSV file whose header holds `columns` (the text column, then the label
    column if any, then others). `chosen_by`: where the columns' names came from, for the missing-column error
    (a column -> where mapping names some: the others get the default, --text-column / --label-column)."""
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    reader = csv.DictReader(handle, delimiter=delimiter)
    try:
        header = reader.fieldnames
    except csv.Error as exc:
        raise DataError(f"{path}:1: malformed header row ({exc})") from None
    if not header:
        raise DataError(f"{path}: empty file (expected a header row)")
    for column in columns:  # checked on the header, so a file with no rows still names its columns
        if column not in header:
            hint = delimiter_hint(list(header), delimiter)
            said = chosen_by.get(column, "") if isinstance(chosen_by, dict) else chosen_by
            raise missing_column(path, column, [header[0]] if hint else list(header), hint or (f"({said})" if said else ""))
        if header.count(column) > 1:
            raise DataError(f"{path}:1: the header names the column {column!r} {header.count(column)} times; "
                            "rename all but one")
    swallowed = _SwallowedRows(list(header), columns[1] if len(columns) > 1 else None, delimiter)
    last = None  # (first line, last line, row), held back one row: is it the one that ran to the end of the file?
    try:
        for row in reader:
            if None in row:
                raise DataError(f"{path}:{reader.line_num}: more fields than the header has; is the delimiter right?")
            if last is not None:
                swallowed.check(path, *last)
                yield last[1], last[2]
            last = (last[1] + 1 if last else 2, reader.line_num, row)
    except csv.Error as exc:
        raise DataError(f"{path}:{reader.line_num}: malformed row ({exc})") from None
    if last is not None:
        first, end, row = last
        if None in row.values() and any("\n" in value for value in row.values() if value):
            # An unclosed quote swallows every later line into one field, leaving a single short row.
            quoting = (" (.tsv fields are read with CSV quoting too: a field that starts with a quote runs to the "
                       "next lone quote; double the quotes inside a quoted field)") if delimiter == "\t" else ""
            raise DataError(f"{path}:{first}: this row runs to the end of the file ({end - first + 1} lines) and "
                            f"still lacks fields: is a closing quote missing?{quoting}")
        swallowed.check(path, *last)
        yield end, row


class _SwallowedRows:
    """An unclosed quote that a later stray quote closes (an inch mark: 5" wide) makes every line between them one
    text under one label, with no error from the csv module: a quoted field whose lines look like rows of this
    file (as many fields as the header, a label of the file in the label's place) is refused. A text that merely
    holds a few newlines has no such lines."""

    AT_MOST = 1  # row-like lines a field may hold (a text may happen to end one line in ',pos')
    KNOWN = 1000  # labels remembered (a label column holding texts by mistake is refused later, not held here)

    def __init__(self, header: list[str], label_column: str | None, delimiter: str):
        self.width = len(header)
        self.label_column = label_column
        self.label_at = header.index(label_column) if label_column else None
        self.delimiter = delimiter
        self.labels: set[str] = set()  # the labels met so far

    def check(self, path: Path, first: int, end: int, row: dict) -> None:
        if self.label_column is None:
            return
        label = row.get(self.label_column) or ""  # as written: 'Overall, good' does not end in ',good'
        for value in row.values():
            if value and "\n" in value:
                lines = (line.rstrip("\r") for line in value.split("\n"))
                wide = [line for line in csv.reader(lines, delimiter=self.delimiter) if len(line) == self.width]
                again = Counter(line[self.label_at] for line in wide)  # a label not met yet recurs in here
                looks = [line for line in wide if (found := line[self.label_at]) and (
                    found == label or found in self.labels or again[found] > 1)]
                if len(looks) > self.AT_MOST:
                    raise DataError(
                        f"{path}:{first}: a quoted text runs over {end - first + 1} lines and holds what look like "
                        f"{len(looks)} rows of this file (lines like {_clipped(self.delimiter.join(looks[-1]))!r}): "
                        'is a quote unclosed? (a quote inside a quoted text is written "")')
        if len(self.labels) < self.KNOWN:
            self.labels.add(label)


def _clipped(text: str, width: int = 50) -> str:
    return text if len(text) <= width else "..." + text[-(width - 3):]


def undecodable_sequences(path: Path) -> int:
    """The byte sequences of a file that are not UTF-8 (each read as U+FFFD), counted as a table read into memory
    counts them; a file with a genuine U+FFFD counts 0. Read again only for files whose values held a U+FFFD."""
    replacing = codecs.getincrementaldecoder("utf-8")("replace")
    ignoring = codecs.getincrementaldecoder("utf-8")("ignore")

    def replaced(block: bytes, final: bool = False) -> int:
        return replacing.decode(block, final).count("\ufffd") - ignoring.decode(block, final).count("\ufffd")

    count = 0
    with (gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")) as handle:
        while block := handle.read(1 << 20):
            count += replaced(block)
    return count + replaced(b"", final=True)
