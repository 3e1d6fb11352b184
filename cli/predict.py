"""`seqsent predict MODEL TEXT...`: label and probability per text (arguments, --file or stdin)."""

from __future__ import annotations

import json
import sys

import click

from cli.main import import_tensorflow

from seqsent.errors import DataError, UsageError


@click.command("predict")
@click.argument("model", type=click.Path())
@click.argument("texts", nargs=-1)
@click.option("--file", "file_", type=click.Path(dir_okay=False, allow_dash=True),
              help="Read texts from FILE, one per line ('-' for stdin).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line, with every class's probability.")
def command(model, texts, file_, as_json):
    """Label TEXTS with MODEL (an exported directory or .keras file).

    Without TEXTS or --file, texts are read from stdin, one per line.
    """
    import_tensorflow(click.get_current_context())
    from seqsent.api import predict

    texts = list(texts)
    if file_:
        texts += _read_lines(file_)
    elif not texts:
        if sys.stdin is None or sys.stdin.isatty():
            raise UsageError("give texts as arguments, with --file, or on stdin")
        texts = _read_lines("-")
    if not texts:
        raise DataError("no texts to predict")
    for result in predict(model, texts):
        if as_json:
            click.echo(json.dumps({"text": result.text, "label": result.label, "probability": result.probability,
                                   "probabilities": result.probabilities}, ensure_ascii=False))
        else:
            shown = result.text if len(result.text) <= 60 else result.text[:57] + "..."
            click.echo(f"{result.label}\t{result.probability:.4f}\t{shown}")


def _read_lines(path: str) -> list[str]:
    try:
        if path == "-":
            data = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode()
        else:
            with open(path, "rb") as handle:
                data = handle.read()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    # One text per "\n" line; str.splitlines() would also split inside a review at U+0085 or U+2028.
    lines = (line.rstrip("\r") for line in data.decode("utf-8", errors="replace").split("\n"))
    return [line for line in lines if line.strip()]
