"""`seqsent pretrain-lm`: options -> LanguageModelConfig -> seqsent.api.pretrain_lm -> per-epoch perplexity, summary."""

from __future__ import annotations

import click

from seqsent_cli.main import import_tensorflow
from seqsent_cli.options import PRETRAIN_LM_OPTIONS, add_options, config_from_options
from seqsent_cli.output import Output, verbose_option
from seqsent.config import LanguageModelConfig
from seqsent.progress import first_epochs
from seqsent.presets import LM_PRESETS, lm_preset_config


@click.command("pretrain-lm")
@add_options(PRETRAIN_LM_OPTIONS)
@click.option("--preset", type=click.Choice(list(LM_PRESETS)), show_default="none",
              help="The language model of `seqsent train --preset` of the same name (flags given here override it).")
@click.option("--quiet", is_flag=True, help="No progress from Keras (the per-epoch perplexity lines stay).")
@verbose_option
@click.option("--restart", is_flag=True, help="Start from epoch 1, deleting the crash backup of this command.")
@click.pass_context
def command(ctx, preset, quiet, verbose, restart, **options):
    """Learn a recurrent language model from unlabelled text, to start classifiers from (`train --encoder`).

    Reads the train texts of --data (labels ignored, test never), an aclImdb archive's unlabelled
    reviews, and --unlabelled files; writes an encoder directory: vocabulary, shapes and weights.
    Full IMDB (train + 50,000 unlabelled reviews):

        seqsent pretrain-lm --data aclImdb_v1.tar.gz --output imdb-encoder
        seqsent train --data aclImdb_v1.tar.gz --encoder imdb-encoder
    """
    base = lm_preset_config(preset) if preset else None
    config = config_from_options(LanguageModelConfig, PRETRAIN_LM_OPTIONS, options, ctx, base).validate()
    import_tensorflow(click.get_current_context())
    from seqsent.api import pretrain_lm

    report = pretrain_lm(config, verbose=Output(verbose=verbose, quiet=quiet).verbose, notify=click.echo,
                         restart=restart)
    restored = f", {first_epochs(report.resumed_from_epoch)} from the backup" if report.resumed_from_epoch else ""
    shown = ", ".join(f"{name} {value:.1f}" for name, value in report.perplexity.items())
    click.echo(f"\nLearned a {report.arch} language model ({report.parameters:,} parameters) from {report.texts:,} texts "
               f"({report.tokens:,} tokens, vocabulary {report.vocabulary_size:,}) in {report.seconds:.0f} s, "
               f"{report.epochs_run} epoch(s){restored}, {report.strategy}")
    click.echo(f"Held-out perplexity ({report.heldout_texts:,} texts, exact softmax): {shown}")
    for warning in report.warnings:
        click.echo(f"Warning: {warning}")
    click.echo(f"Wrote {report.output}  (use: seqsent train --encoder {report.output})")

