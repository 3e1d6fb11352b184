"""`seqsent`: the Click group. Commands load lazily, so `seqsent --help` needs no TensorFlow.

Errors a user can cause print one line and exit 1 (data/model) or 2 (usage);
anything else is a bug and shows its traceback only with --debug.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys

import click

COMMANDS = {
    "train": ("seqsent_cli.train", "Train a recurrent classifier, evaluate it on test and export it."),
    "evaluate": ("seqsent_cli.evaluate", "Score a trained model on a test split."),
    "predict": ("seqsent_cli.predict", "Label texts with a trained model."),
    "export": ("seqsent_cli.export", "Re-export a trained model as a new SavedModel version."),
    "compare": ("seqsent_cli.compare", "Train several architectures on the same splits and compare them."),
    "serving-config": ("seqsent_cli.serving_config", "Write a TF Serving models.config for the exported models."),
    "ensemble": ("seqsent_cli.ensemble", "Combine trained models into one export (log-odds averaged on validation)."),
    "prepare": ("seqsent_cli.prepare", "Shuffle a large labelled source into compressed shards for streamed training."),
    "pretrain-embeddings": ("seqsent_cli.pretrain_embeddings", "Learn word vectors from training and unlabelled text."),
    "pretrain-lm": ("seqsent_cli.pretrain_lm", "Learn a language model from unlabelled text, to start classifiers from."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return list(COMMANDS)

    def get_command(self, ctx, name):
        if name not in COMMANDS:
            return None
        command = getattr(importlib.import_module(COMMANDS[name][0]), "command")
        for param in command.params:
            if isinstance(param, click.Option) and param.name in NOT_EMPTY:
                param.callback = param.callback or _refuse_empty
        return command

    def format_commands(self, ctx, formatter):
        # Short help without importing each command module.
        with formatter.section("Commands"):
            formatter.write_dl([(name, summary) for name, (_, summary) in COMMANDS.items()])


# Where a command writes, and under which name: given as '' (an unset shell variable, more often than a choice),
# `--output-dir ''` wrote into the current directory and `--name ''` took the default name. (An input option given
# '' clears what a --config file set: left alone.)
NOT_EMPTY = {"name", "output_dir", "runs_dir", "output", "report_dir", "file_", "base_path"}


def _refuse_empty(ctx, param, value):
    """An option of NOT_EMPTY given as ''."""
    if ctx.get_parameter_source(param.name) != click.core.ParameterSource.COMMANDLINE:
        return value  # a default ('' for --name: the arch's name)
    for item in value if isinstance(value, tuple) else (value,):
        if isinstance(item, str) and not item.strip():
            raise click.BadParameter("is empty (an unset shell variable?): give a value, or leave the option out")
    return value


def quiet_tensorflow(debug: bool) -> None:
    """TensorFlow's C++ start-up chatter hides the output users came for."""
    if not debug:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        import warnings

        warnings.filterwarnings("ignore", category=UserWarning, module="keras")


def import_tensorflow(ctx: click.Context) -> None:
    """Import TensorFlow with its native start-up lines (absl, oneDNN) silenced unless --debug.

    Those lines are written by C++ straight to file descriptor 2, so Python's
    sys.stderr cannot catch them; the descriptor is pointed at /dev/null meanwhile. Its Python-side notices,
    meant for TensorFlow's developers (e.g. "calls ... triggered tf.function retracing" when compare builds one
    model after another), are kept to errors too.
    """
    import logging

    if (ctx.find_root().obj or {}).get("debug"):
        import tensorflow  # noqa: F401

        return
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
             invoke_without_command=True, no_args_is_help=False, subcommand_metavar="COMMAND [ARGS]...")
@click.option("--debug", is_flag=True, help="Show full tracebacks and TensorFlow logs.")
@click.version_option(package_name="seqsent", prog_name="seqsent")
@click.pass_context
def group(ctx, debug):
    """Recurrent sentiment classifiers (SimpleRNN, LSTM, GRU, bidirectional), from raw text to TF Serving.

    Start with `seqsent train` (bundled IMDB sample), then `seqsent evaluate` and
    `seqsent predict` on the exported model under saved_models/.
    """
    ctx.obj = {"debug": debug}
    if ctx.invoked_subcommand is None:  # bare `seqsent`: the help people came for, not an error
        click.echo(ctx.get_help())
        ctx.exit(0)
    from seqsent.errors import check_keras_backend

    check_keras_backend()
    quiet_tensorflow(debug)


def main(argv=None) -> None:
    try:
        _run(argv)
    except BrokenPipeError:
        # The reader went away (`seqsent predict ... | head -1`): stop quietly with a pipe's status, as command-line
        # tools do; stdout goes to /dev/null so that flushing it at exit does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(128 + signal.SIGPIPE)
    except SystemExit as exc:
        if exc.code == 1 and type(sys.stdout).__name__.endswith("PacifyFlushWrapper"):  # Click's own quiet exit on one
            sys.exit(128 + signal.SIGPIPE)
        raise


def _run(argv) -> None:
    from seqsent.errors import Interrupted, SeqsentError

    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        result = group.main(args=argv, prog_name="seqsent", standalone_mode=False)
        sys.exit(result if isinstance(result, int) else 0)
    except (click.exceptions.Abort, KeyboardInterrupt) as exc:
        # Click turns Ctrl-C into Abort; a run that was training says what it kept (seqsent.errors.Interrupted).
        cause = exc if isinstance(exc, Interrupted) else exc.__cause__ or exc.__context__
        click.echo(f"seqsent: {cause if isinstance(cause, Interrupted) else 'interrupted'}", err=True)
        if not debug:  # graph objects cut off midway complain as they are collected ("Object was never used")
            import logging

            logging.getLogger("tensorflow").setLevel(logging.CRITICAL)
        sys.exit(130)
    except click.UsageError as exc:
        where = f"seqsent {exc.ctx.command_path.split(' ', 1)[1]}" if exc.ctx and " " in exc.ctx.command_path else "seqsent"
        click.echo(f"seqsent: error: {exc.format_message()} (see '{where} --help')", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        click.echo(f"seqsent: error: {exc.format_message()}", err=True)
        sys.exit(exc.exit_code)
    except SeqsentError as exc:
        if debug:
            raise
        click.echo(f"seqsent: error: {' '.join(str(exc).split())}", err=True)  # one line, whatever the message
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except MemoryError:
        if debug:
            raise
        click.echo("seqsent: error: out of memory; try a smaller --batch-size, --units, --embedding-dim, "
                   "--max-tokens or --sequence-length", err=True)
        sys.exit(1)
    except OSError as exc:
        if debug or isinstance(exc, BrokenPipeError):  # (main's to end quietly)
            raise
        if not exc.filename:
            _report_bug(exc)
        # A file system refusal (disk full, permission, read-only): the user's to fix, not a bug.
        click.echo(f"seqsent: error: {exc.filename}: {exc.strerror or exc}", err=True)
        sys.exit(1)
    except Exception as exc:  # a bug, not the user's doing
        if debug:
            raise
        if type(exc).__name__ == "ResourceExhaustedError":  # TensorFlow out of memory
            click.echo("seqsent: error: out of memory in TensorFlow; try a smaller --batch-size, --units, "
                       "--embedding-dim, --max-tokens or --sequence-length", err=True)
            sys.exit(1)
        _report_bug(exc)


def _report_bug(exc: BaseException) -> None:
    click.echo(f"seqsent: internal error: {exc.__class__.__name__}: {str(exc).splitlines()[0] if str(exc) else ''} "
               "(run with --debug for the traceback, and please report it)", err=True)
    sys.exit(1)


if __name__ == "__main__":
    main()
