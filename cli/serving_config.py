"""`seqsent serving-config`: write a TF Serving models.config listing every exported model and version."""

from __future__ import annotations

import click

from seqsent.config import RunConfig


@click.command("serving-config")
@click.argument("names", nargs=-1)
@click.option("--output-dir", default=RunConfig().output_dir, show_default=True,
              help="Base directory of exports (holds NAME/VERSION/).")
@click.option("--base-path", default=None,
              help="OUTPUT_DIR as the server sees it, e.g. /models in the tensorflow/serving container  "
                   "[default: OUTPUT_DIR's absolute path]")
@click.option("--versions", type=click.Choice(["specific", "all", "latest"]), default="specific", show_default=True,
              help="specific: serve the versions found now; all: every version present when the server polls; "
                   "latest: the newest only.")
@click.option("--file", "file_", type=click.Path(dir_okay=False, allow_dash=True), default=None,
              help="Where to write it ('-' for stdout)  [default: OUTPUT_DIR/models.config, refreshed by each export]")
@click.option("--overwrite", is_flag=True,
              help="Replace an existing file that seqsent did not write (a file `seqsent serving-config` wrote is "
                   "always refreshed).")
def command(names, output_dir, base_path, versions, file_, overwrite):
    """Write a models.config for `tensorflow_model_server --model_config_file` (all models, or NAMES).

    A hand-written file at the destination is left alone unless --overwrite is given.
    """
    from seqsent_cli.main import import_tensorflow

    import_tensorflow(click.get_current_context())  # the versions' graphs are parsed: its start-up lines silenced
    from seqsent.serving.models_config import serving_config_text, write_serving_config

    def notify(message: str) -> None:
        click.echo(message, err=True)  # stdout may be the file itself (--file -)

    if file_ == "-":
        click.echo(serving_config_text(output_dir, base_path, versions, list(names), notify), nl=False)
        return
    path = write_serving_config(output_dir, file_, base_path, versions, list(names), overwrite=overwrite,
                                notify=notify)
    click.echo(f"Wrote {path}")
