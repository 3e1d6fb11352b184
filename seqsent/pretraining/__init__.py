"""Learning from unlabelled text before the classifier trains: word vectors (word2vec.py), a language model
(pretrain.py)."""

from __future__ import annotations


def check_sources(config) -> None:
    """Before any reading: the table options are valid, and --output is none of the inputs it would destroy."""
    from seqsent.config import RunConfig
    from seqsent.files import check_not_an_input

    RunConfig(data=config.data_config()).validate()
    inputs = ([] if config.data in ("sample", "imdb") else [config.data]) + list(config.unlabelled)
    check_not_an_input(config.output, inputs)
