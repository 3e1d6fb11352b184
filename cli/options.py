"""Options shared by commands, generated from the config dataclasses so defaults are written once."""

from __future__ import annotations

import json
from pathlib import Path

import click
from click.core import ParameterSource

from seqsent.config import (ARCHS, EMPTY_TEXT_POLICIES, PADDINGS, POOLINGS, STRATEGIES, TRUNCATIONS, WIDE_TRAININGS,
                            RunConfig, default_of)
from seqsent.errors import UsageError

# (flag, section, field, click type, help); help shows the dataclass default.
DATA_OPTIONS = [
    ("--data", "data", "source", str,
     "'sample' (bundled IMDB sample), 'imdb' (full IMDB via tensorflow-datasets, offline from a local "
     "aclImdb_v1.tar.gz), an aclImdb directory or .tar.gz, or a .csv/.tsv/.jsonl file."),
    ("--test-data", "data", "test_source", click.Path(dir_okay=False), "Separate test file for a table --data."),
    ("--text-column", "data", "text_column", str, "Text column of a table file."),
    ("--label-column", "data", "label_column", str, "Label column of a table file (strings or integers)."),
    ("--validation-fraction", "data", "validation_fraction", float, "Share of train held out for validation."),
    ("--test-fraction", "data", "test_fraction", float, "Share of a single table file held out as test."),
    ("--limit", "data", "limit", int, "Use at most N train and N test examples (stratified), for quick runs."),
    ("--seed", "data", "seed", int, "Seed of the splits."),
    ("--on-empty-text", "data", "on_empty_text", click.Choice(list(EMPTY_TEXT_POLICIES)),
     "Table rows with an empty or missing text or label: skip them (counted in a note) or stop with an error."),
]
TRAIN_OPTIONS = [
    ("--arch", "model", "arch", click.Choice(list(ARCHS)),
     "Recurrent cell and direction, or a bag-of-words baseline (bow, tfidf, ngram, nbsvm)."),
    ("--layers", "model", "layers", int, "Stacked recurrent layers."),
    ("--units", "model", "units", int, "Units per recurrent layer (per direction)."),
    ("--embedding-dim", "model", "embedding_dim", int, "Word vector size."),
    ("--embedding-dropout", "model", "embedding_dropout", float, "Spatial dropout on word vectors."),
    ("--token-dropout", "model", "token_dropout", float, "Share of tokens replaced by OOV while training."),
    ("--dropout", "model", "dropout", float, "Dropout on recurrent layer inputs."),
    ("--pooling", "model", "pooling", click.Choice(list(POOLINGS)), "Pooling over time of the last layer's states."),
    ("--head-units", "model", "head_units", int, "Dense layer before the output (0: none)."),
    ("--head-dropout", "model", "head_dropout", float, "Dropout before the output layer."),
    ("--embeddings", "model", "embeddings_path", click.Path(dir_okay=False),
     "Initialise the word vectors from a word2vec (text or binary) or GloVe text file, e.g. from "
     "`seqsent pretrain-embeddings`; --embedding-dim then defaults to the file's dimension."),
    ("--freeze-embeddings/--train-embeddings", "model", "freeze_embeddings", None,
     "Keep the --embeddings vectors fixed while training."),
    ("--wide-ngrams", "model", "wide_ngrams", int,
     "Add a linear bag of 1..N-grams beside the recurrent layers, trained with them (0: none)."),
    ("--wide-buckets", "model", "wide_buckets", int, "Hash slots (weights) for the wide branch's n-grams."),
    ("--wide-dropout", "model", "wide_dropout", float, "Dropout on the wide branch's n-grams while training."),
    ("--wide-training", "model", "wide_training", click.Choice(list(WIDE_TRAININGS)),
     "joint: the wide branch learns inside the recurrent model; separate: it is an NBSVM of 1..N-grams (its "
     "vocabulary the --wide-buckets most frequent) trained on its own, its log-odds averaged with the recurrent "
     "model's (weight fit on validation); one exported model either way."),
    ("--wide-epochs", "model", "wide_epochs", int, "Maximum epochs of the separate wide model (--wide-training separate)."),
    ("--recurrent-models", "model", "recurrent_models", int,
     "Recurrent models (seeds --train-seed, +1, ...) averaged with the separate wide model."),
    ("--max-tokens", "text", "max_tokens", int, "Vocabulary size (learned on the train split)."),
    ("--sequence-length", "text", "sequence_length", int, "Tokens kept per text."),
    ("--truncation", "text", "truncation", click.Choice(list(TRUNCATIONS)),
     "pre: drop tokens from the start (keep the ending); post: keep the start."),
    ("--epochs", "train", "epochs", int, "Maximum epochs (early stopping may end sooner)."),
    ("--batch-size", "train", "batch_size", int, "Per-replica batch size."),
    ("--learning-rate", "train", "learning_rate", float, "Adam learning rate."),
    ("--clipnorm", "train", "clipnorm", float, "Gradient norm clipping (0: off)."),
    ("--patience", "train", "patience", int, "Epochs without validation-loss improvement before stopping."),
    ("--strategy", "train", "strategy", click.Choice(list(STRATEGIES)),
     "tf.distribute strategy: auto (mirrored with more than one GPU, else default), mirrored (this machine's "
     "GPUs), multi-worker (the cluster in TF_CONFIG or --tf-config), tpu."),
    ("--mixed-precision/--no-mixed-precision", "train", "mixed_precision", None,
     "16-bit compute with float32 variables: float16 on GPU, bfloat16 on TPU (CPU: float32, with a warning)."),
    ("--padding", "train", "padding", click.Choice(list(PADDINGS)),
     "bucket: batch texts of similar length; batch: pad each shuffled batch to its longest text; "
     "fixed: pad all to --sequence-length."),
    ("--jit-compile/--no-jit-compile", "train", "jit_compile", None, "Compile the training step with XLA."),
    ("--train-seed", "train", "seed", int, "Seed of weights, shuffling and dropout."),
]


def _param_name(flag: str) -> str:
    return flag.split("/")[0].lstrip("-").replace("-", "_")


def add_options(specs):
    def decorate(func):
        for flag, section, field, kind, help_text in reversed(specs):
            default = default_of(section, field)
            if kind is None:  # boolean on/off pair
                func = click.option(flag, _param_name(flag), default=default, show_default=True, help=help_text)(func)
            else:
                func = click.option(flag, _param_name(flag), type=kind, default=default, show_default=True,
                                    help=help_text)(func)
        return func

    return decorate


def resolve_config(ctx: click.Context, specs, config_file: str | None = None, base: RunConfig | None = None) -> RunConfig:
    """Defaults (or `base`, e.g. a preset) -> --config file -> flags given on the command line."""
    config = base or RunConfig()
    if config_file:
        try:
            values = json.loads(Path(config_file).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise UsageError(f"--config {config_file}: not a readable JSON file ({reason})") from None
        if not isinstance(values, dict):
            raise UsageError(f"--config {config_file}: must hold a JSON object")
        if base is not None:
            from seqsent.presets import merge

            values = merge(base.to_dict(), values)
        config = RunConfig.from_dict(values)
    for flag, section, field, _, _ in specs:
        name = _param_name(flag)
        source = ctx.get_parameter_source(name)
        if (config_file or base is not None) and source != ParameterSource.COMMANDLINE:
            continue
        setattr(getattr(config, section), field, ctx.params[name])
    return config


def resolve_data_config(ctx: click.Context):
    """A DataConfig from the data flags given, or None when none was (use the model's own data)."""
    from seqsent.config import DataConfig

    given = [spec for spec in DATA_OPTIONS if ctx.get_parameter_source(_param_name(spec[0])) == ParameterSource.COMMANDLINE]
    if not given:
        return None
    data = DataConfig()
    for flag, _, field, _, _ in DATA_OPTIONS:
        setattr(data, field, ctx.params[_param_name(flag)])
    RunConfig(data=data).validate()
    return data
