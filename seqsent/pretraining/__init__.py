"""Learning from unlabelled text before the classifier trains: word vectors (word2vec.py), a language model
(pretrain.py)."""

from __future__ import annotations

NO_DATA = "none"
"""--data none: learn from --unlabelled texts only (a corpus without labels, e.g. for another classifier)."""


def check_sources(config) -> None:
    """Before any reading: the table options are valid, and --output is none of the inputs it would destroy."""
    from seqsent.config import RunConfig
    from seqsent.errors import UsageError
    from seqsent.files import check_not_an_input

    if config.data == NO_DATA and not config.unlabelled:
        raise UsageError("--data none learns from the --unlabelled texts only: give --unlabelled FILE")
    if config.data == NO_DATA and config.test_source:
        raise UsageError("--test-data goes with a table --data; --data none reads no data to split (its test texts "
                         "are not left out of --unlabelled: remove them from FILE yourself)")
    if config.data == NO_DATA:
        from seqsent.config import DataConfig

        for flag, value, default in (("--test-fraction", config.test_fraction, DataConfig.test_fraction),
                                     ("--split-seed", config.split_seed, DataConfig.seed),
                                     ("--label-column", config.label_column, DataConfig.label_column)):
            if value != default:
                raise UsageError(f"{flag} {value} goes with a table --data; --data none reads no data to split "
                                 "or label (leave it out)")
    RunConfig(data=config.data_config()).validate()
    inputs = ([] if config.data in ("sample", "imdb", NO_DATA) else [config.data]) + list(config.unlabelled)
    check_not_an_input(config.output, inputs)
