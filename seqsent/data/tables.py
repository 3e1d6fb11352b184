"""CSV, TSV and JSON-lines files with a text column and a label column."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from seqsent.data.shards import (delimited_rows, empty_cell_error, json_rows, label_cell, missing_column,
                                 text_cell)
from seqsent.errors import DataError
from seqsent.files import decode_utf8, read_bytes, refuse_utf16

TABLE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".ndjson")


@dataclass
class Table:
    texts: list[str]
    labels: list[str]
    notes: list[str] = field(default_factory=list)


def is_table(path: Path) -> bool:
    return path.suffix.lower() in TABLE_SUFFIXES


def is_text_table(path: Path) -> bool:
    """A table whose texts can be read whole (texts to label, unlabelled texts): .csv/.tsv/.jsonl, gzipped or not.
    (A .csv.gz --data is streamed instead: see seqsent.data.streaming.)"""
    return _table_suffix(path) in TABLE_SUFFIXES


def _table_suffix(path: Path) -> str:
    """'.csv' for reviews.csv and reviews.csv.gz."""
    path = Path(path)
    return (path.with_suffix("") if path.suffix.lower() == ".gz" else path).suffix.lower()


def table_digest(path: Path) -> str | None:
    """SHA-256 of a table file's bytes, recorded with a model: evaluation then knows the file it trained on by its
    contents (a copy counts, an edited file or another file of the same name does not). None if unreadable."""
    from seqsent.files import sha256_of

    try:
        return sha256_of(path)
    except OSError:
        return None


def read_table(path: Path, text_column: str, label_column: str, on_empty: str = "skip") -> Table:
    """Rows with empty or missing text or label are skipped and counted (or, with on_empty='error', refused);
    bad bytes are replaced and counted."""
    columns = [text_column, label_column]
    rows, replaced = _rows(path, columns)
    texts, labels = [], []
    empty = {"text": 0, "label": 0}
    seen: dict[str, None] = {}  # every column met, in order (JSON lines may differ row to row)
    for line_no, row in rows:
        seen.update(dict.fromkeys(map(str, row)))
        text = text_cell(row.get(text_column), f"{path}:{line_no}")
        label = label_cell(row.get(label_column), f"{path}:{line_no}")
        if not text.strip() or not label.strip():
            which = "text" if not text.strip() else "label"
            if on_empty == "error":
                column = text_column if which == "text" else label_column
                if column not in row:
                    raise missing_column(f"{path}:{line_no}", column, list(map(str, row)))
                raise empty_cell_error(f"{path}:{line_no}", which, row.get(column), column)
            empty[which] += 1
            continue
        texts.append(text)
        labels.append(label.strip())
    for column in columns:
        if seen and column not in seen:
            raise missing_column(path, column, list(seen))
    notes = []
    if empty["text"] or empty["label"]:
        parts = [f"{n} with an empty or missing {which}" for which, n in empty.items() if n]
        if empty["label"]:
            parts[-1] += " (a blank cell, or a marker such as NaN, NA or null)"
        notes.append(f"{path.name}: skipped {sum(empty.values())} row(s): {' and '.join(parts)} "
                     "(--on-empty-text error refuses them)")
    if replaced:
        notes.append(f"{path.name}: replaced {replaced} byte sequence(s) that were not UTF-8")
    twins = case_twins(labels)
    if twins:
        notes.append(f"{path.name}: {twins}")
    if not texts:
        raise DataError(f"{path}: no rows with both a {text_column!r} and a {label_column!r} value")
    return Table(texts, labels, notes)


def case_twins(labels: list[str]) -> str | None:
    """Labels are read as strings, so 'Pos' and 'pos' (or 'pos ' and 'pos', or 'pos' with a zero-width space) are two
    classes: they stay so, but a user should hear it (it is more often a slip in the data than two meanings). None
    when no two labels differ only so."""
    groups: dict[str, set[str]] = {}
    for label in set(labels):
        groups.setdefault(_INVISIBLE.sub("", label).casefold(), set()).add(label)
    twins = sorted(sorted(group) for group in groups.values() if len(group) > 1)
    if not twins:
        return None
    shown = "; ".join(", ".join(map(repr, group[:-1])) + f" and {group[-1]!r}" for group in twins[:3])
    more = f" (and {len(twins) - 3} more)" if len(twins) > 3 else ""
    only_case = all(len({label.casefold() for label in group}) == 1 for group in twins)
    how = "in case" if only_case else "in case, spaces or invisible characters"
    return f"labels {shown}{more} differ only {how}: they are separate classes"


# Spaces and characters that show nothing (zero-width space and joiners, word joiner, byte order mark).
_INVISIBLE = re.compile(r"[\s\u200b-\u200d\u2060\ufeff]+")


def text_column_rows(path: Path, text_column: str, where: str, chosen_by: str) -> tuple[list[str], int, int]:
    """The non-empty texts of a table file's text column, its other columns (labels) ignored (a table given as
    unlabelled text or texts to label: `where`, e.g. '--unlabelled FILE', and `chosen_by` say so in errors); how
    many rows had none (texts to label must be told, or results stop lining up with the file's rows); and how many
    byte sequences were not UTF-8."""
    rows, replaced = _rows(path, [text_column], chosen_by)
    texts, seen, without = [], False, 0
    for line_no, row in rows:
        seen = seen or text_column in row
        text = text_cell(row.get(text_column), f"{path}:{line_no}").strip()
        if text:
            texts.append(text)
        else:
            without += 1
    if not texts and not without:  # a CSV/TSV header was checked for the column already
        raise DataError(f"{where}: no rows{'' if _is_json_lines(path) else ' below its header'}")
    if not seen:
        raise DataError(f"{where}: no column {text_column!r} (read as a table: its text column, {chosen_by})")
    if not texts:
        raise DataError(f"{where}: no texts in its column {text_column!r}")
    return texts, without, replaced


def _rows(path: Path, columns: list[str], chosen_by: str = ""):
    """(line number, row) of a whole table file (gzipped or not) decoded as UTF-8 (a BOM dropped; UTF-16 refused),
    and how many undecodable byte sequences were replaced."""
    raw = read_bytes(path)
    refuse_utf16(raw[:4096], path)
    content, replaced = decode_utf8(raw)
    if content.startswith("\ufeff"):
        content = content[1:]
    if _is_json_lines(path):
        return json_rows(path, [content]), replaced
    delimiter = "\t" if _table_suffix(path) == ".tsv" else ","
    return delimited_rows(path, io.StringIO(content, newline=""), delimiter, columns, chosen_by), replaced


def _is_json_lines(path: Path) -> bool:
    return _table_suffix(path) in (".jsonl", ".ndjson")
