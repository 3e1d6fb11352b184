"""`seqsent evaluate MODEL`: score a model on a test split, as a table or JSON, optionally with a report directory."""

from __future__ import annotations

import json

import click

from seqsent_cli.main import import_tensorflow

from seqsent_cli.options import DATA_OPTIONS, add_options


@click.command("evaluate")
@click.argument("model", type=click.Path())
@add_options(DATA_OPTIONS, shown_defaults={"source": "the data MODEL was trained on",
                                           "text_column": "the column MODEL was trained on",
                                           "label_column": "the column MODEL was trained on"})
@click.option("--json", "as_json", is_flag=True, help="Print metrics as JSON.")
@click.option("--report", "report_dir", type=click.Path(file_okay=False), show_default="none: no report",
              help="Write a report directory: metrics.json, confusion matrix, ROC, precision-recall and training "
                   "curve plots, errors.csv (most confidently wrong examples) and report.md.")
@click.option("--threshold", type=click.FloatRange(0.0, 1.0),
              help="2-class models: predict the second class when its probability is at least this  "
                   "[default: the more probable class]")
@click.option("--overwrite", is_flag=True, help="Replace an existing non-empty --report directory.")
@click.pass_context
def command(ctx, model, as_json, report_dir, threshold, overwrite, **_):
    """Score MODEL (an exported directory or .keras file) on the test split of --data.

    Without --data or --test-data, the data the model was trained on is used, split as it was
    (the other data options go with --data). A table --data without
    --text-column/--label-column is read with the columns the model was trained with. With --report
    or --threshold, the threshold that maximises F1 on the validation split is printed too.
    """
    from seqsent_cli.options import resolve_data_config
    from seqsent.files import check_output_dir
    from seqsent.layout import REPORT_FILES

    data = resolve_data_config(ctx)
    # Columns not given: the model's own, so a file laid out like its training file just works.
    model_columns = tuple(column for column in ("text_column", "label_column")
                          if ctx.get_parameter_source(column) != click.core.ParameterSource.COMMANDLINE)
    if overwrite and report_dir is None:
        raise click.UsageError("--overwrite goes with --report (it replaces the report directory); evaluate writes "
                               "nothing else")
    if report_dir is not None:
        check_output_dir(report_dir, overwrite, owned=REPORT_FILES, output_flag="--report")  # before the slow part
    import_tensorflow(click.get_current_context())
    from seqsent.api import evaluate
    from seqsent.evaluation.metrics import format_metrics

    evaluation = evaluate(model, data, threshold, tune_threshold=report_dir is not None or threshold is not None,
                          notify=None if as_json else click.echo,  # --json: stdout holds the result only
                          model_columns=model_columns)
    written = None
    if report_dir is not None:
        from seqsent.evaluation.reports import write_report

        written = write_report(evaluation, report_dir, overwrite)
    best = evaluation.best_threshold
    if as_json:
        extra = {**({"best_threshold_on_validation": best} if best else {}),
                 **({"report": str(written)} if written else {})}
        click.echo(json.dumps({"model": str(evaluation.model_path), "data": evaluation.data_description,
                               **evaluation.metrics, **extra, "notes": evaluation.notes}, indent=2))
        return
    click.echo(f"Model: {evaluation.model_path}")
    described = evaluation.data_description
    says_test = " as test" in described or "(test: " in described  # it names its test part already
    click.echo(f"Data: {described}{'' if says_test else ' (test split)'}")
    for note in evaluation.notes:
        click.echo(f"Note: {note}")
    click.echo(format_metrics(evaluation.metrics))
    if best is not None:
        click.echo(f"Threshold maximising F1 on validation: {best['threshold']:.4f} "
                   f"(F1 {best['f1']:.4f} on {best['examples']:,} examples; use it with evaluate or predict "
                   "--threshold)")
    if written is not None:
        click.echo(f"Report: {written / 'report.md'}")
