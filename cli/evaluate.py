"""`seqsent evaluate MODEL`: score a model on a test split, as a table or JSON."""

from __future__ import annotations

import json

import click

from cli.main import import_tensorflow

from cli.options import DATA_OPTIONS, add_options


@click.command("evaluate")
@click.argument("model", type=click.Path())
@add_options(DATA_OPTIONS)
@click.option("--json", "as_json", is_flag=True, help="Print metrics as JSON.")
@click.pass_context
def command(ctx, model, as_json, **_):
    """Score MODEL (an exported directory or .keras file) on the test split of --data.

    Without data options, the data the model was trained on is used.
    """
    from cli.options import resolve_data_config
    import_tensorflow(click.get_current_context())
    from seqsent.api import evaluate
    from seqsent.evaluation import format_metrics

    data = resolve_data_config(ctx)
    report = evaluate(model, data)
    if as_json:
        click.echo(json.dumps({"model": str(report.model_path), "data": report.data_description,
                               **report.metrics}, indent=2))
        return
    click.echo(f"Model: {report.model_path}")
    click.echo(f"Data: {report.data_description} (test split)")
    for note in report.notes:
        click.echo(f"Note: {note}")
    click.echo(format_metrics(report.metrics))

