"""`seqsent prepare SOURCE`: options -> DataConfig -> seqsent.data.prepare -> shards and a manifest."""

from __future__ import annotations

import click

from seqsent_cli.options import DATA_OPTIONS, add_options, config_from_options
from seqsent.config import DataConfig

# How SOURCE is read and split; the training options (--streaming, --classes, ...) apply to the prepared result.
PREPARE_OPTIONS = [spec for spec in DATA_OPTIONS if spec.field in (
    "test_source", "text_column", "label_column", "split_key", "validation_fraction", "test_fraction", "seed",
    "on_empty_text")]


@click.command("prepare")
@click.argument("source")
@add_options(PREPARE_OPTIONS)
@click.option("--output", required=True, type=click.Path(file_okay=False),
              help="Directory to write (atomically): train/validation/test shards and manifest.json.")
@click.option("--shards", type=int, default=8, show_default=True,
              help="Train shards (validation and test get a quarter as many): at least one per worker.")
@click.option("--overwrite", is_flag=True, help="Replace an existing non-empty --output directory.")
def command(source, output, shards, overwrite, **options):
    """Shuffle SOURCE into compressed shards per split, with a manifest, for streamed training.

    SOURCE is any `seqsent train --data` source: a large CSV/TSV/JSONL file (or a .gz, a directory or a
    glob of them), an aclImdb directory or archive, 'sample' or 'imdb'. Memory stays bounded whatever
    its size. Then: seqsent train --data OUTPUT
    """
    from seqsent.data.prepare import prepare

    config = config_from_options(DataConfig, PREPARE_OPTIONS, options)
    config.source = source
    from seqsent.config import RunConfig

    RunConfig(data=config).validate()
    report = prepare(config, output, shards=shards, overwrite=overwrite, notify=click.echo)
    click.echo(f"Prepared {report.output} in {report.seconds:.0f} s: "
               + ", ".join(f"{split} {count:,} rows in {report.shards[split]} shard(s)"
                           for split, count in report.counts.items())
               + f"; classes: {', '.join(report.classes)}")
    for note in report.notes:
        click.echo(f"Note: {note}")
    click.echo(f"Train on it: seqsent train --data {report.output}")
