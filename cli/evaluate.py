"""`seqsent evaluate MODEL`: score a model on a test split, as a table or JSON, optionally with a report directory."""

from __future__ import annotations

import json

import click

from cli.main import import_tensorflow

from cli.options import DATA_OPTIONS, add_options


@click.command("evaluate")
@click.argument("model", type=click.Path())
@add_options(DATA_OPTIONS)
@click.option("--json", "as_json", is_flag=True, help="Print metrics as JSON.")
@click.option("--report", "report_dir", type=click.Path(file_okay=False),
              help="Write a report directory: metrics.json, confusion matrix, ROC, precision-recall and training "
                   "curve plots, errors.csv (most confidently wrong examples) and report.md.")
@click.option("--threshold", type=click.FloatRange(0.0, 1.0),
              help="2-class models: predict the second class when its probability is at least this  "
                   "[default: the more probable class]")
@click.option("--overwrite", is_flag=True, help="Replace an existing non-empty --report directory.")
@click.pass_context
def command(ctx, model, as_json, report_dir, threshold, overwrite, **_):
    """Score MODEL (an exported directory or .keras file) on the test split of --data.

    Without data options, the data the model was trained on is used. With --report or
    --threshold, the threshold that maximises F1 on the validation split is printed too.
    """
    from cli.options import resolve_data_config
    import_tensorflow(click.get_current_context())
    from seqsent.api import evaluate
    from seqsent.evaluation import format_metrics

    data = resolve_data_config(ctx)
    best, written = None, None
    if report_dir is not None or threshold is not None:
        from seqsent.reports import check_output_dir, evaluate_detailed, write_report

        if report_dir is not None:
            check_output_dir(report_dir, overwrite)  # before the slow part
        report = evaluate_detailed(model, data, threshold)
        best = report.best_threshold
        if report_dir is not None:
            written = write_report(report, report_dir, overwrite)
    else:
        report = evaluate(model, data)
    if as_json:
        extra = {"best_threshold_on_validation": best, "report": str(written)} if written or best else {}
        click.echo(json.dumps({"model": str(report.model_path), "data": report.data_description,
                               **report.metrics, **extra}, indent=2))
        return
    click.echo(f"Model: {report.model_path}")
    click.echo(f"Data: {report.data_description} (test split)")
    for note in report.notes:
        click.echo(f"Note: {note}")
    click.echo(format_metrics(report.metrics))
    if best is not None:
        click.echo(f"Threshold maximising F1 on validation: {best['threshold']:.4f} "
                   f"(F1 {best['f1']:.4f} on {best['examples']:,} examples; use it with --threshold)")
    if written is not None:
        click.echo(f"Report: {written / 'report.md'}")

