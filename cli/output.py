"""How commands talk: progress and notes for a person, or (--json) one JSON result on stdout and the rest on stderr.

Results go to stdout, so `seqsent train --json > run.json` captures only the result; progress, notes and
warnings go to stderr in JSON mode (and Keras' per-epoch lines with them).
"""

from __future__ import annotations

import contextlib
import json
import sys

import click

VERBOSITY = ("0", "1", "2", "auto")


def verbose_option(func):
    return click.option("--verbose", type=click.Choice(list(VERBOSITY)), default="auto", show_default=True,
                        help="Keras' progress: 0 none, 1 a progress bar, 2 a line per epoch, auto a bar on a "
                             "terminal and lines otherwise.")(func)


def json_option(func):
    return click.option("--json", "as_json", is_flag=True,
                        help="Print the result as one JSON object on stdout (progress and notes go to stderr).")(func)


class Output:
    def __init__(self, as_json: bool = False, verbose: str = "auto", quiet: bool = False):
        if quiet and verbose not in ("auto", "0"):
            from seqsent.errors import UsageError

            raise UsageError(f"--quiet and --verbose {verbose} contradict each other: give one")
        self.as_json = as_json
        from seqsent.progress import keras_verbosity

        self.verbose = 0 if quiet else keras_verbosity(verbose)

    def say(self, message: str = "") -> None:
        """A line for a person: stdout, or stderr when stdout carries JSON."""
        click.echo(message, err=self.as_json)

    def warn(self, message: str) -> None:
        click.echo(f"Warning: {message}", err=True)

    def result(self, value: dict) -> None:
        click.echo(json.dumps(value, indent=2, default=str))

    def keras_progress(self):
        """Where Keras prints its progress while training: stderr in JSON mode (stdout carries the result)."""
        return contextlib.redirect_stdout(sys.stderr) if self.as_json else contextlib.nullcontext()
