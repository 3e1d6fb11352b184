"""`seqsent pretrain-embeddings`: options -> WordVectorConfig -> seqsent.pretraining.word2vec -> summary."""

from __future__ import annotations

import click

from cli.main import import_tensorflow
from seqsent.config import VECTOR_FORMATS, VECTOR_METHODS, WordVectorConfig

DEFAULTS = WordVectorConfig()


@click.command("pretrain-embeddings")
@click.option("--data", default=DEFAULTS.data, show_default=True,
              help="Labelled data whose train texts are read (labels ignored, test never): any `seqsent train` "
                   "--data source. An aclImdb dir or .tar.gz adds its 50,000 unlabelled train/unsup reviews.")
@click.option("--unlabelled", multiple=True, type=click.Path(exists=False),
              help="More text (repeatable): a plain-text file with one text per line, or an aclImdb dir/archive "
                   "(its train/unsup reviews).")
@click.option("--unsup/--no-unsup", "include_unsup", default=DEFAULTS.include_unsup, show_default=True,
              help="With an aclImdb --data, also learn from its train/unsup reviews.")
@click.option("--output", "-o", default=DEFAULTS.output, show_default=True, type=click.Path(dir_okay=False),
              help="Vector file to write (atomically).")
@click.option("--format", "file_format", type=click.Choice(list(VECTOR_FORMATS)), default=DEFAULTS.file_format,
              show_default=True, help="word2vec text or binary.")
@click.option("--method", type=click.Choice(list(VECTOR_METHODS)), default=DEFAULTS.method, show_default=True,
              help="Skip-gram word2vec, or fastText (skip-gram with character n-grams).")
@click.option("--dim", type=int, default=DEFAULTS.dim, show_default=True, help="Vector size.")
@click.option("--window", type=int, default=DEFAULTS.window, show_default=True, help="Context words on each side.")
@click.option("--min-count", type=int, default=DEFAULTS.min_count, show_default=True,
              help="Ignore words seen fewer times.")
@click.option("--epochs", type=int, default=DEFAULTS.epochs, show_default=True, help="Passes over the texts.")
@click.option("--negative", type=int, default=DEFAULTS.negative, show_default=True, help="Negative samples per word.")
@click.option("--workers", type=int, default=DEFAULTS.workers, show_default=True, help="Threads (0: every core).")
@click.option("--seed", type=int, default=DEFAULTS.seed, show_default=True, help="Random seed.")
def command(data, unlabelled, include_unsup, output, file_format, method, dim, window, min_count, epochs, negative,
            workers, seed):
    """Learn word vectors from the training texts (and unlabelled text) for `seqsent train --embeddings`.

    Texts are tokenised exactly as the model tokenises them, so every vector is for a word of
    the model's vocabulary. Full IMDB with its unlabelled reviews:

        seqsent pretrain-embeddings --data aclImdb_v1.tar.gz --output imdb.vec
        seqsent train --data aclImdb_v1.tar.gz --embeddings imdb.vec
    """
    from seqsent.pretraining.word2vec import pretrain_embeddings

    config = WordVectorConfig(data=data, unlabelled=list(unlabelled), include_unsup=include_unsup, output=output,
                            method=method, dim=dim, window=window, min_count=min_count, epochs=epochs,
                            negative=negative, file_format=file_format, workers=workers, seed=seed).validate()
    import_tensorflow(click.get_current_context())
    report = pretrain_embeddings(config)
    for source in report.sources:
        click.echo(f"Read {source}")
    click.echo(f"Learned {report.words:,} {report.dim}-dimensional {report.method} vectors from {report.texts:,} texts "
               f"({report.tokens:,} tokens) in {report.seconds:.0f} s")
    click.echo(f"Wrote {report.output}  (use: seqsent train --embeddings {report.output})")
