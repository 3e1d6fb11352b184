"""`seqsent predict MODEL TEXT...`: label and probability per text (arguments, --file: lines or a table's text column,
either possibly gzip-compressed, or stdin)."""

from __future__ import annotations

import json
import os
import sys

from pathlib import Path

import click
from click.core import ParameterSource

from seqsent_cli.main import import_tensorflow

from seqsent.config import default_of
from seqsent.data.tables import is_text_table, text_column_rows
from seqsent.errors import DataError, UsageError
from seqsent.files import decode_utf8


@click.command("predict")
@click.argument("model", type=click.Path())
@click.argument("texts", nargs=-1)
@click.option("--file", "file_", type=click.Path(dir_okay=False, allow_dash=True),
              show_default="none: the TEXTS arguments",
              help="Read texts from FILE: a .csv/.tsv/.jsonl table's --text-column (its header and other columns "
                   "are not texts; rows without a text are skipped), else one text per line ('-' for stdin; blank "
                   "lines skipped, with a note on stderr), so match results to texts by their text (or use --json). "
                   "A FILE ending in .gz is decompressed (reviews.csv.gz is a table, texts.txt.gz lines).")
@click.option("--text-column", default=None, show_default=f"the model's training --text-column, else "
                                                             f"{default_of('data', 'text_column')}",
              help="The column of a table --file that holds the texts (as `train --text-column`).")
@click.option("--threshold", type=float, default=None, show_default="the most probable class",
              help="2-class models: the second class when its probability is at least this (e.g. the threshold "
                   "`evaluate --report` found best for F1).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line, with every class's probability.")
@click.pass_context
def command(ctx, model, texts, file_, text_column, threshold, as_json):
    """Label TEXTS with MODEL (an exported directory or .keras file).

    Without TEXTS or --file, texts are read from stdin, one per line (blank lines skipped, with a note);
    TEXTS and --file together are labelled in that order, the arguments first.
    A .csv/.tsv/.jsonl --file is read as a table: the texts of its --text-column. A .gz --file is decompressed.
    An empty TEXT argument is an error: there is nothing to label.
    """
    # Arguments that were not UTF-8 reach Python as lone surrogates: back to their bytes, then replaced.
    decoded = [decode_utf8(os.fsencode(text)) for text in texts]
    texts, replaced = [text for text, _ in decoded], sum(count for _, count in decoded)
    empty = [str(number) for number, text in enumerate(texts, 1) if not text.strip()]
    if empty:
        raise UsageError(f"text argument{'s' if len(empty) > 1 else ''} {', '.join(empty)} "
                         f"{'are' if len(empty) > 1 else 'is'} empty; give some text to label")
    if replaced:
        click.echo(f"Note: replaced {replaced} byte sequence(s) of the arguments that were not UTF-8", err=True)
    table = bool(file_) and file_ != "-" and is_text_table(Path(file_))  # .csv.gz too, as --data
    if ctx.get_parameter_source("text_column") == ParameterSource.COMMANDLINE and not table:
        read = f"--file {file_} is read" if file_ and file_ != "-" else "texts from arguments or stdin are read"
        raise UsageError(f"--text-column goes with a table --file (.csv/.tsv/.jsonl); {read} one per line")
    if table:
        texts += _table_texts(model, Path(file_), text_column)
    elif file_:
        texts += _read_lines(file_)
    elif not texts:
        if sys.stdin is None or sys.stdin.isatty():
            raise UsageError("give texts as arguments, with --file, or on stdin")
        texts = _read_lines("-")
    if not texts:
        raise DataError(f"no texts to predict{' (' + file_ + ' is empty or holds only blank lines)' if file_ else ''}")
    import_tensorflow(click.get_current_context())  # after the input checks, which need no TensorFlow
    from seqsent.api import predict

    for result in predict(model, texts, threshold):
        if as_json:
            click.echo(json.dumps({"text": result.text, "label": result.label, "probability": result.probability,
                                   "probabilities": result.probabilities}, ensure_ascii=False))
        else:
            click.echo(result.line())


def _table_texts(model: str, path: Path, text_column: str | None) -> list[str]:
    from seqsent.api import recorded_text_column

    if text_column is None:
        text_column = recorded_text_column(model)
        chosen_by = "the model's training --text-column; choose another with --text-column"
        if text_column is None:
            text_column = default_of("data", "text_column")
            chosen_by = "the default, as the model records no training column; choose another with --text-column"
    else:
        chosen_by = "chosen with --text-column"
    texts, without, replaced = text_column_rows(path, text_column, f"--file {path}", chosen_by)
    if replaced:
        click.echo(f"Note: {path}: replaced {replaced} byte sequence(s) that were not UTF-8", err=True)
    if without:  # said aloud, as for blank lines: the results no longer line up with the file's rows
        click.echo(f"Note: {path}: skipped {without} row{'s' if without > 1 else ''} without a text in column "
                   f"{text_column!r}", err=True)
    return texts


def _read_lines(path: str) -> list[str]:
    from seqsent.files import read_bytes, refuse_utf16

    if path == "-":
        data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode()
    else:
        data = read_bytes(path)  # texts.txt.gz decompressed

    refuse_utf16(data[:4096], "stdin" if path == "-" else path)
    data = data.removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte-order mark would glue itself to the first word
    # One text per "\n" line; str.splitlines() would also split inside a review at U+0085 or U+2028.
    content, replaced = decode_utf8(data)
    lines = content.split("\n")
    if replaced:
        click.echo(f"Note: {'stdin' if path == '-' else path}: replaced {replaced} byte sequence(s) that were not UTF-8",
                   err=True)
    if lines and not lines[-1]:
        lines.pop()  # the final newline ends the last line; it does not start a blank one
    lines = [line.rstrip("\r") for line in lines]
    texts = [line for line in lines if line.strip()]
    blank = len(lines) - len(texts)
    if blank and texts:
        # Said aloud: otherwise the results silently stop lining up with the input's line numbers.
        click.echo(f"Note: {'stdin' if path == '-' else path}: skipped {blank} blank line{'s' if blank > 1 else ''}",
                   err=True)
    return texts
