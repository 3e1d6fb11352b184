"""`seqsent train`: options -> RunConfig -> seqsent.train -> printed summary."""

from __future__ import annotations

import shlex

import click

from seqsent_cli.main import import_tensorflow
from seqsent_cli.options import (DATA_OPTIONS, TRAIN_OPTIONS, add_options, flags_not_given, naming_config_file,
                                 resolve_config)
from seqsent_cli.output import Output, json_option, verbose_option
from seqsent.config import RunConfig
from seqsent.progress import first_epochs
from seqsent.presets import (PRESETS, check_preset_inputs, overridden_preset_settings, preset_config,
                             validate_with_preset)

DEFAULTS = RunConfig()


@click.command("train")
@add_options(DATA_OPTIONS + TRAIN_OPTIONS)
@click.option("--name", default=DEFAULTS.name, help="Model name: exports go to OUTPUT_DIR/NAME/VERSION  "
              "[default: DATA-ARCH, e.g. imdb-bilstm, reviews-gru]")
@click.option("--output-dir", default=DEFAULTS.output_dir, show_default=True, help="Base directory of exported models.")
@click.option("--runs-dir", default=DEFAULTS.runs_dir, show_default=True,
              help="Where run directories (config, history, metrics, TensorBoard logs) go.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), show_default="none: the defaults",
              help="JSON config (as saved in a run's config.json); flags given here override it.")
@click.option("--preset", type=click.Choice(list(PRESETS)), show_default="none",
              help="Named settings chosen by measurement (imdb-best: see docs/accuracy.md); a --config file and flags "
                   "given here override it.")
@click.option("--quiet", is_flag=True, help="No progress from Keras (the same as --verbose 0).")
@verbose_option
@json_option
@click.option("--restart", is_flag=True,
              help="Start from epoch 1, deleting the crash backup that re-running the same command would resume.")
@click.option("--tf-config", "tf_config", metavar="FILE_OR_JSON", show_default="the TF_CONFIG variable, if set",
              help="Cluster of --strategy multi-worker, as JSON or a file of it: sets TF_CONFIG for this run.")
@click.pass_context
def command(ctx, name, output_dir, runs_dir, config_file, quiet, verbose, as_json, restart, tf_config, **_):
    """Train a recurrent classifier, evaluate it on the test split and export it for TF Serving.

    With no options it trains a bidirectional LSTM on the bundled IMDB sample.
    Full IMDB: --data imdb (or --data path/to/aclImdb_v1.tar.gz).
    """
    out = Output(as_json, verbose, quiet)
    preset = ctx.params.get("preset")
    config = resolve_config(ctx, DATA_OPTIONS + TRAIN_OPTIONS, config_file, preset_config(preset) if preset else None)
    for key, value in (("name", name), ("output_dir", output_dir), ("runs_dir", runs_dir)):
        if not config_file or ctx.get_parameter_source(key).name == "COMMANDLINE":
            setattr(config, key, value)
    not_given = flags_not_given(ctx, DATA_OPTIONS + TRAIN_OPTIONS)
    # Typed on the command line, so kept (or refused) even when equal to the default: --encoder / --embeddings
    # fill in only the rest.
    given = {f"{spec.section}.{spec.field}" for spec in DATA_OPTIONS + TRAIN_OPTIONS} - set(not_given)
    if preset and config_file:
        _note_preset_replaced(preset, config_file, not_given, out)
    with naming_config_file(config_file, not_given):
        if preset:
            check_preset_inputs(preset, config)
            validate_with_preset(preset, config, not_given)
        else:
            config.validate()
    import_tensorflow(click.get_current_context())  # after the checks: a usage error costs no TensorFlow start
    from seqsent.api import train

    if config.data.source == "sample":
        out.say("Training on the bundled IMDB sample (2,500 train / 2,500 test reviews). "
                "For the full dataset: --data imdb or --data path/to/aclImdb_v1.tar.gz")
    if tf_config:
        from seqsent.training.strategy import set_tf_config

        set_tf_config(tf_config)
    with out.keras_progress(), naming_config_file(config_file, not_given):
        report = train(config, verbose=out.verbose, on_data=lambda dataset: _announce_data(dataset, out),
                       notify=out.say, restart=restart, given=given)
    if as_json:
        out.result(_summary(report))
        return
    _print_summary(report, report.config, out)  # as trained: an --encoder may have set its shape


def _note_preset_replaced(preset: str, config_file: str, not_given: dict, out: Output) -> None:
    """A --config file beside a --preset overrides it: said, as a saved config.json holds every setting."""
    import json
    from pathlib import Path

    file_values = json.loads(Path(config_file).read_text(encoding="utf-8"))  # read and checked by resolve_config
    replaced, all_set = overridden_preset_settings(preset, file_values, not_given)
    if all_set:
        out.say(f"Note: --preset {preset} changes nothing: --config {config_file} sets every setting it makes")
    elif replaced:
        out.say(f"Note: --config {config_file} replaces these settings of --preset {preset}: {', '.join(replaced)}")


def _summary(report) -> dict:
    """The JSON result of `train --json`: everything the text summary says, and the run's history."""
    keys = ("data_description", "class_names", "split_sizes", "strategy", "global_batch_size", "parameters",
            "train_seconds", "epochs_run", "resumed_from_epoch", "test_metrics", "export_dir", "run_dir",
            "warnings", "notes", "data_notes", "chief", "history")
    return {"name": report.config.name, **{key: getattr(report, key) for key in keys}}


def _print_summary(report, config, out: Output) -> None:
    restored = f" ({first_epochs(report.resumed_from_epoch)} from the backup)" if report.resumed_from_epoch else ""
    out.say(f"\nTrained {config.model.description} ({report.parameters:,} trainable parameters) in {report.train_seconds:.0f} s, "
            f"{report.epochs_run} epoch(s){restored}, {report.strategy}, global batch {report.global_batch_size} "
            f"({report.per_replica_batch_size} per replica x {report.replicas})")
    if not report.chief:
        for note in report.notes:
            out.say(f"Note: {note}")
        out.say("This worker is done; the chief exports the model and scores it.")
        return
    from seqsent.evaluation.metrics import format_metrics

    out.say(f"\nTest metrics ({report.test_metrics['examples']:,} examples, scored on the exported SavedModel):")
    out.say(format_metrics(report.test_metrics))
    for note in report.notes:
        out.say(f"Note: {note}")
    out.say(f"\nExported: {report.export_dir}")  # warnings were printed as they happened
    logs = shlex.quote(str(report.run_dir / "tensorboard"))  # pasted into a shell as it is
    out.say(f"Run directory: {report.run_dir}  (tensorboard --logdir {logs})")


def _announce_data(dataset, out: Output) -> None:
    out.say(f"Data: {dataset.description}")
    sizes = dataset.split_sizes()
    counted = (f"train {sizes['train']:,} / validation {sizes['validation']:,} ({dataset.validation_split}) / "
               f"test {sizes['test']:,}" if sizes else f"validation {dataset.validation_split}, sizes not counted")
    out.say(f"Splits: {counted}; classes: {', '.join(dataset.class_names)}")
    for note in dataset.notes:
        out.say(f"Note: {note}")
