"""`seqsent train`: options -> RunConfig -> seqsent.train -> printed summary."""

from __future__ import annotations

import click

from cli.main import import_tensorflow

from cli.options import DATA_OPTIONS, TRAIN_OPTIONS, add_options, resolve_config
from seqsent.config import RunConfig
from seqsent.presets import PRESETS, preset_config

DEFAULTS = RunConfig()


@click.command("train")
@add_options(DATA_OPTIONS + TRAIN_OPTIONS)
@click.option("--name", default=DEFAULTS.name, help="Model name: exports go to OUTPUT_DIR/NAME/VERSION  "
              "[default: DATA-ARCH, e.g. imdb-bilstm, reviews-gru]")
@click.option("--output-dir", default=DEFAULTS.output_dir, show_default=True, help="Base directory of exported models.")
@click.option("--runs-dir", default=DEFAULTS.runs_dir, show_default=True,
              help="Where run directories (config, history, metrics, TensorBoard logs) go.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False),
              help="JSON config (as saved in a run's config.json); flags given here override it.")
@click.option("--preset", type=click.Choice(list(PRESETS)),
              help="Named settings chosen by measurement (imdb-best: see docs/accuracy.md); a --config file and flags "
                   "given here override it.")
@click.option("--quiet", is_flag=True, help="No per-epoch progress.")
@click.option("--restart", is_flag=True,
              help="Start from epoch 1, deleting the crash backup that re-running the same command would resume.")
@click.option("--tf-config", "tf_config", metavar="FILE_OR_JSON",
              help="Cluster of --strategy multi-worker, as JSON or a file of it: sets TF_CONFIG for this run.")
@click.pass_context
def command(ctx, name, output_dir, runs_dir, config_file, quiet, restart, tf_config, **_):
    """Train a recurrent classifier, evaluate it on the test split and export it for TF Serving.

    With no options it trains a bidirectional LSTM on the bundled IMDB sample.
    Full IMDB: --data imdb (or --data path/to/aclImdb_v1.tar.gz).
    """
    import_tensorflow(click.get_current_context())
    from seqsent.api import train

    preset = ctx.params.get("preset")
    config = resolve_config(ctx, DATA_OPTIONS + TRAIN_OPTIONS, config_file, preset_config(preset) if preset else None)
    for key, value in (("name", name), ("output_dir", output_dir), ("runs_dir", runs_dir)):
        if not config_file or ctx.get_parameter_source(key).name == "COMMANDLINE":
            setattr(config, key, value)
    config.validate()
    if config.data.source == "sample":
        click.echo("Training on the bundled IMDB sample (2,500 train / 2,500 test reviews). "
                   "For the full dataset: --data imdb or --data path/to/aclImdb_v1.tar.gz")
    if tf_config:
        from seqsent.training.strategy import set_tf_config

        set_tf_config(tf_config)
    report = train(config, verbose=0 if quiet else 2, on_data=_announce_data, notify=click.echo, restart=restart)
    restored = f" (epochs 1-{report.resumed_from_epoch} from the backup)" if report.resumed_from_epoch else ""
    click.echo(f"\nTrained {config.model.description} ({report.parameters:,} parameters) in {report.train_seconds:.0f} s, "
               f"{report.epochs_run} epoch(s){restored}, {report.strategy}, global batch {report.global_batch_size} "
               f"({report.per_replica_batch_size} per replica x {report.replicas})")
    if not report.chief:
        for note in report.notes:
            click.echo(f"Note: {note}")
        click.echo("This worker is done; the chief exports the model and scores it.")
        return
    from seqsent.evaluation.metrics import format_metrics

    click.echo(f"\nTest metrics ({report.split_sizes['test']:,} examples, scored on the exported SavedModel):")
    click.echo(format_metrics(report.test_metrics))
    for note in report.notes:
        click.echo(f"Note: {note}")
    for warning in report.warnings:
        click.echo(f"Warning: {warning}")
    click.echo(f"\nExported: {report.export_dir}")
    click.echo(f"Run directory: {report.run_dir}  (tensorboard --logdir {report.run_dir / 'tensorboard'})")


def _announce_data(dataset) -> None:
    click.echo(f"Data: {dataset.description}")
    sizes = dataset.split_sizes()
    counted = (f"train {sizes['train']:,} / validation {sizes['validation']:,} ({dataset.validation_split}) / "
               f"test {sizes['test']:,}" if sizes else f"validation {dataset.validation_split}, sizes not counted")
    click.echo(f"Splits: {counted}; classes: {', '.join(dataset.class_names)}")
    for note in dataset.notes:
        click.echo(f"Note: {note}")
