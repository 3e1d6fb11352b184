"""CSV, TSV and JSON-lines files with a text column and a label column."""

from __future__ import annotations

import csv
import io
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from seqsent.errors import DataError

TABLE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".ndjson")


@dataclass
class Table:
    texts: list[str]
    labels: list[str]
    notes: list[str] = field(default_factory=list)


def is_table(path: Path) -> bool:
    return path.suffix.lower() in TABLE_SUFFIXES


def read_table(path: Path, text_column: str, label_column: str, on_empty: str = "skip") -> Table:
    """Rows with empty or missing text or label are skipped and counted (or, with on_empty='error', refused);
    bad bytes are replaced and counted."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    content = raw.decode("utf-8", errors="replace")
    replaced = content.count("\ufffd") - raw.decode("utf-8", errors="ignore").count("\ufffd")
    if content.startswith("\ufeff"):
        content = content[1:]
    columns = [text_column, label_column]
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        rows = _json_rows(path, content)
    else:
        rows = _delimited_rows(path, content, "\t" if path.suffix.lower() == ".tsv" else ",", columns)
    texts, labels = [], []
    empty = {"text": 0, "label": 0}
    seen: dict[str, None] = {}  # every column met, in order (JSON lines may differ row to row)
    for line_no, row in rows:
        seen.update(dict.fromkeys(map(str, row)))
        text, label = row.get(text_column), row.get(label_column)
        text = "" if text is None else str(text)
        label = "" if label is None else (str(label) if not isinstance(label, bool) else str(int(label)))
        if not text.strip() or not label.strip():
            which = "text" if not text.strip() else "label"
            if on_empty == "error":
                column = text_column if which == "text" else label_column
                if column not in row:
                    raise _missing_column(f"{path}:{line_no}", column, list(map(str, row)))
                raise DataError(f"{path}:{line_no}: empty {which} (column {column!r}); "
                                f"fix the row, or skip such rows with --on-empty-text skip")
            empty[which] += 1
            continue
        texts.append(text)
        labels.append(label.strip())
    for column in columns:
        if seen and column not in seen:
            raise _missing_column(path, column, list(seen))
    notes = []
    if empty["text"] or empty["label"]:
        parts = [f"{n} with an empty or missing {which}" for which, n in empty.items() if n]
        notes.append(f"{path.name}: skipped {sum(empty.values())} row(s): {' and '.join(parts)} "
                     "(--on-empty-text error refuses them)")
    if replaced:
        notes.append(f"{path.name}: replaced {replaced} byte sequence(s) that were not UTF-8")
    if not texts:
        raise DataError(f"{path}: no rows with both a {text_column!r} and a {label_column!r} value")
    return Table(texts, labels, notes)


def _missing_column(path, column: str, existing: list[str]) -> DataError:
    return DataError(f"{path}: no column {column!r}; columns are: {', '.join(existing) or '(none)'} "
                     f"(choose with --text-column / --label-column)")


def _json_rows(path: Path, content: str):
    # Split on "\n" only: JSON strings may hold U+2028/U+0085, which str.splitlines() also breaks at.
    for line_no, line in enumerate(content.split("\n"), start=1):
        line = line.rstrip("\r")
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}:{line_no}: not valid JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise DataError(f"{path}:{line_no}: each line must be a JSON object")
        yield line_no, row


def _delimited_rows(path: Path, content: str, delimiter: str, columns: list[str]):
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    reader = csv.DictReader(io.StringIO(content, newline=""), delimiter=delimiter)
    try:
        header = reader.fieldnames
    except csv.Error as exc:
        raise DataError(f"{path}:1: malformed header row ({exc})") from None
    if not header:
        raise DataError(f"{path}: empty file (expected a header row)")
    for column in columns:  # checked on the header, so a file with no rows still names its columns
        if column not in header:
            raise _missing_column(path, column, list(header))
    try:
        for row in reader:
            if None in row:
                raise DataError(f"{path}:{reader.line_num}: more fields than the header has; is the delimiter right?")
            yield reader.line_num, row
    except csv.Error as exc:
        raise DataError(f"{path}:{reader.line_num}: malformed row ({exc})") from None
