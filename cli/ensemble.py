"""`seqsent ensemble MODEL MODEL...`: trained models -> one export averaging their log-odds -> printed summary."""

from __future__ import annotations

import click

from seqsent_cli.main import import_tensorflow
from seqsent_cli.options import DATA_OPTIONS, add_options, resolve_data_config
from seqsent_cli.output import Output, json_option
from seqsent.config import RunConfig


@click.command("ensemble")
@click.argument("models", nargs=-1, required=True)
@click.option("--name", required=True, help="Name of the combined model: it is exported to OUTPUT_DIR/NAME/VERSION.")
@click.option("--output-dir", default=RunConfig().output_dir, show_default=True, help="Base directory of exports.")
@add_options(DATA_OPTIONS, shown_defaults={"source": "the data the first model was trained on",
                                           "text_column": "the column the models were trained on",
                                           "label_column": "the column the models were trained on"})
@json_option
@click.pass_context
def command(ctx, models, name, output_dir, as_json, **_):
    """Combine trained two-class MODELS into one export, no model trained again.

    Their log-odds are averaged with weights chosen on the validation split of the data the first model was
    trained on (or --data), by the lowest log loss; the result is scored on that data's test split and
    exported as `seqsent train` exports. E.g. an NBSVM and a recurrent model trained by two commands.
    """
    data = resolve_data_config(ctx)
    # Columns not given: the models' own, so a file laid out like their training file just works.
    model_columns = tuple(column for column in ("text_column", "label_column")
                          if ctx.get_parameter_source(column) != click.core.ParameterSource.COMMANDLINE)
    import_tensorflow(click.get_current_context())
    from seqsent.api import ensemble
    from seqsent.evaluation.metrics import format_metrics

    out = Output(as_json)
    notes: list[str] = []

    def notify(message: str) -> None:
        if message.startswith("Note: "):  # kept for --json, as train's
            notes.append(message.removeprefix("Note: "))
        out.say(message)

    report = ensemble(list(models), name, output_dir, notify=notify, data=data, model_columns=model_columns)
    if as_json:
        out.result({"name": name, **{key: getattr(report, key) for key in (
            "members", "weights", "validation_accuracy", "test_metrics", "data_description", "export_dir")},
            "notes": notes})
        return
    out.say(f"\nTest metrics ({report.test_metrics['examples']:,} examples of {report.data_description}, scored on "
            "the exported SavedModel):")
    out.say(format_metrics(report.test_metrics))
    out.say(f"\nExported: {report.export_dir}")
