"""`seqsent export MODEL`: write a trained model as a new SavedModel version for TF Serving."""

from __future__ import annotations

import click

from seqsent_cli.main import import_tensorflow

from seqsent.config import RunConfig


@click.command("export")
@click.argument("model", type=click.Path())
@click.option("--name", default=None, help="Model name  [default: the name it was trained under]")
@click.option("--version", "version", type=int, default=None, help="Version number  [default: next free]")
@click.option("--output-dir", default=RunConfig().output_dir, show_default=True, help="Base directory of exports.")
def command(model, name, version, output_dir):
    """Export MODEL (a .keras file or an export) to OUTPUT_DIR/NAME/VERSION, atomically."""
    import_tensorflow(click.get_current_context())
    from seqsent.api import export

    click.echo(f"Exported: {export(model, output_dir=output_dir, name=name, version=version)}")
