"""`seqsent pretrain-embeddings`: options -> WordVectorConfig -> seqsent.pretraining.word2vec -> summary."""

from __future__ import annotations

import click

from seqsent_cli.main import import_tensorflow
from seqsent_cli.options import PRETRAIN_EMBEDDINGS_OPTIONS, add_options, config_from_options
from seqsent.config import WordVectorConfig


@click.command("pretrain-embeddings")
@add_options(PRETRAIN_EMBEDDINGS_OPTIONS)
def command(**options):
    """Learn word vectors from the training texts (and unlabelled text) for `seqsent train --embeddings`.

    Texts are tokenised exactly as the model tokenises them, so every vector is for a word of
    the model's vocabulary. Full IMDB with its unlabelled reviews:

        seqsent pretrain-embeddings --data aclImdb_v1.tar.gz --output imdb.vec
        seqsent train --data aclImdb_v1.tar.gz --embeddings imdb.vec
    """
    from seqsent.pretraining.word2vec import pretrain_embeddings

    config = config_from_options(WordVectorConfig, PRETRAIN_EMBEDDINGS_OPTIONS, options).validate()
    import_tensorflow(click.get_current_context())
    report = pretrain_embeddings(config, notify=click.echo)
    click.echo(f"Learned {report.words:,} {report.dim}-dimensional {report.method} vectors from {report.texts:,} texts "
               f"({report.tokens:,} tokens) in {report.seconds:.0f} s")
    click.echo(f"Wrote {report.output}  (use: seqsent train --embeddings {report.output})")
