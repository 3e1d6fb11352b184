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


def read_table(path: Path, text_column: str, label_column: str) -> Table:
    """Rows with empty text or label are skipped and counted; bad bytes are replaced and counted."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    content = raw.decode("utf-8", errors="replace")
    replaced = content.count("\ufffd") - raw.decode("utf-8", errors="ignore").count("\ufffd")
    if content.startswith("\ufeff"):
        content = content[1:]
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        rows = _json_rows(path, content)
    else:
        rows = _delimited_rows(path, content, "\t" if path.suffix.lower() == ".tsv" else ",")
    texts, labels, skipped = [], [], 0
    for line_no, row in rows:
        if text_column not in row or label_column not in row:
            missing = text_column if text_column not in row else label_column
            raise DataError(
                f"{path}:{line_no}: no column {missing!r}; columns are: {', '.join(map(str, row)) or '(none)'} "
                f"(choose with --text-column / --label-column)"
            )
        text, label = row[text_column], row[label_column]
        text = "" if text is None else str(text)
        label = "" if label is None else (str(label) if not isinstance(label, bool) else str(int(label)))
        if not text.strip() or not label.strip():
            skipped += 1
            continue
        texts.append(text)
        labels.append(label.strip())
    notes = []
    if skipped:
        notes.append(f"{path.name}: skipped {skipped} row(s) with empty text or label")
    if replaced:
        notes.append(f"{path.name}: replaced {replaced} byte sequence(s) that were not UTF-8")
    if not texts:
        raise DataError(f"{path}: no rows with both a {text_column!r} and a {label_column!r} value")
    return Table(texts, labels, notes)


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


def _delimited_rows(path: Path, content: str, delimiter: str):
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    reader = csv.DictReader(io.StringIO(content, newline=""), delimiter=delimiter)
    if not reader.fieldnames:
        raise DataError(f"{path}: empty file (expected a header row)")
    try:
        for row in reader:
            if None in row:
                raise DataError(f"{path}:{reader.line_num}: more fields than the header has; is the delimiter right?")
            yield reader.line_num, row
    except csv.Error as exc:
        raise DataError(f"{path}:{reader.line_num}: malformed row ({exc})") from None
