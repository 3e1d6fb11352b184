"""Options shared by commands, generated from the config dataclasses: a setting's default and its help text are
written once, in seqsent/config.py, and a new config field needs one line here to become an option."""

from __future__ import annotations

import json
import re
import typing
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

import click
from click.core import ParameterSource

from seqsent.config import (ARCHS, BAD_SHARD_POLICIES, EMPTY_TEXT_POLICIES, LM_STRATEGIES, OPTION_SOURCES, PADDINGS,
                            POOLINGS, RECURRENT_ARCHS, STRATEGIES, STREAMING_MODES, TRUNCATIONS, VECTOR_FORMATS,
                            VECTOR_METHODS, WIDE_TRAININGS, RunConfig, default_of, field_docs)
from seqsent.errors import UsageError


class OptionSpec(NamedTuple):
    flag: str
    section: str
    field: str
    kind: object
    """A click type, or None for an on/off flag pair."""
    help: str


# Flags not spelled as their field (an on/off pair for booleans: --FIELD/--no-FIELD unless named here).
FLAG_NAMES = {
    "data.source": "--data", "data.test_source": "--test-data", "model.embeddings_path": "--embeddings",
    "model.freeze_embeddings": "--freeze-embeddings/--train-embeddings", "train.seed": "--train-seed",
    "model.encoder_path": "--encoder", "lm.include_unsup": "--unsup/--no-unsup", "lm.overwrite": "--overwrite",
    "vectors.overwrite": "--overwrite", "vectors.include_unsup": "--unsup/--no-unsup", "vectors.file_format": "--format",
}
CHOICES = {
    "data.on_empty_text": EMPTY_TEXT_POLICIES, "model.arch": ARCHS, "model.pooling": POOLINGS,
    "model.wide_training": WIDE_TRAININGS, "text.truncation": TRUNCATIONS, "train.strategy": STRATEGIES,
    "train.padding": PADDINGS, "lm.arch": tuple(RECURRENT_ARCHS), "lm.strategy": LM_STRATEGIES,
    "data.streaming": STREAMING_MODES, "data.on_bad_shard": BAD_SHARD_POLICIES,
    "vectors.method": VECTOR_METHODS, "vectors.file_format": VECTOR_FORMATS,
}
FILE_FIELDS = {"data.test_source", "model.embeddings_path", "vectors.output"}
DIRECTORY_FIELDS = {"model.encoder_path", "lm.output"}
PLAIN_FLAGS = {"lm.overwrite", "vectors.overwrite"}


def specs(section: str, fields: str) -> list[OptionSpec]:
    """One option per field of `section` (names separated by spaces), typed, described and defaulted by the field."""
    cls = OPTION_SOURCES[section]
    hints, docs = typing.get_type_hints(cls), field_docs(cls)
    result = []
    for field in fields.split():
        key = f"{section}.{field}"
        hint = hints[field]
        flag = FLAG_NAMES.get(key) or "--" + field.replace("_", "-")
        if hint is bool and key in PLAIN_FLAGS:
            kind = click.BOOL  # a flag that is only ever switched on
        elif hint is bool:
            kind, flag = None, flag if "/" in flag else f"{flag}/--no-{flag[2:]}"
        elif key in CHOICES:
            kind = click.Choice(list(CHOICES[key]))
        elif key in FILE_FIELDS:
            kind = click.Path(dir_okay=False)
        elif key in DIRECTORY_FIELDS:
            kind = click.Path(file_okay=False)
        elif typing.get_origin(hint) is list:  # repeatable: the default is a list (see add_options)
            kind = str if key == "data.classes" else click.Path()  # class names are not paths
        else:
            kind = next(t for t in typing.get_args(hint) or (hint,) if t is not type(None))
        result.append(OptionSpec(flag, section, field, kind, docs[field]))
    return result


DATA_OPTIONS = specs("data", "source test_source text_column label_column validation_fraction test_fraction limit "
                             "train_limit seed on_empty_text streaming classes split_key stream_validation_rows "
                             "vocabulary_sample shuffle_buffer on_bad_shard")
TRAIN_OPTIONS = (
    specs("model", "arch layers units embedding_dim embedding_dropout token_dropout dropout pooling head_units "
                   "head_dropout embeddings_path encoder_path freeze_embeddings wide_ngrams wide_buckets wide_dropout "
                   "wide_training wide_epochs recurrent_models")
    + specs("text", "max_tokens sequence_length truncation")
    + specs("train", "epochs batch_size learning_rate pretrained_rate clipnorm patience strategy mixed_precision "
                     "padding jit_compile seed steps_per_epoch")
    + specs("semi", "unlabelled unlabelled_text_column vat vat_epsilon adversarial adversarial_epsilon "
                    "entropy_weight unlabelled_vocabulary")
)
# How pretraining reads and splits a table --data: `seqsent train`'s own options (TextSourcesConfig has the
# same fields; the split seed is --split-seed there, --seed being the pretraining's own).
TABLE_READING_OPTIONS = [spec for spec in DATA_OPTIONS if spec.field in ("text_column", "label_column",
                                                                         "on_empty_text", "test_source",
                                                                         "test_fraction", "streaming", "split_key")]
TEXT_SOURCES = "data unlabelled unlabelled_text_column include_unsup"  # the texts pretraining reads
PRETRAIN_EMBEDDINGS_OPTIONS = specs("vectors", TEXT_SOURCES) + TABLE_READING_OPTIONS + specs(
    "vectors", "split_seed output overwrite file_format method dim window min_count epochs negative workers seed")
PRETRAIN_LM_OPTIONS = specs("lm", TEXT_SOURCES) + TABLE_READING_OPTIONS + specs(
    "lm", "split_seed output overwrite arch layers units embedding_dim max_tokens window sampled heldout_texts epochs "
          "batch_size learning_rate clipnorm dropout patience strategy runs_dir seed")


def _param_name(flag: str) -> str:
    return flag.split("/")[0].lstrip("-").replace("-", "_")


def add_options(specs, shown_defaults: dict[str, str] | None = None):
    """Click options from specs; `shown_defaults` (field -> words) where the help's default is not the field's own
    (evaluate's --data: the model's training data)."""
    def decorate(func):
        for flag, section, field, kind, help_text in reversed(specs):
            default = default_of(section, field)
            shown = (shown_defaults or {}).get(field, True)
            if shown is True and default is None:  # Click shows no default for None: say there is none
                shown = "none"
            settings = dict(default=default, show_default=shown, help=help_text)
            if isinstance(default, list):  # repeatable: --unlabelled A --unlabelled B
                settings.update(multiple=True, show_default=", ".join(default) or "none")
            if kind is click.BOOL:  # a plain flag
                settings.update(is_flag=True, show_default=False)
            elif kind is not None:  # None: a boolean on/off pair
                settings["type"] = kind
            func = click.option(flag, _param_name(flag), **settings)(func)
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
            if config_file:
                _check_saved_path(config_file, flag, getattr(getattr(config, section), field))
            continue
        setattr(getattr(config, section), field, _value(ctx.params[name]))
    return config


# Fields holding paths a saved config may have recorded relative to where its run started.
PATH_FLAGS = {"--data", "--test-data", "--embeddings", "--encoder", "--unlabelled"}


def _check_saved_path(config_file: str, flag: str, value) -> None:
    """A relative path a --config file kept names a file from where its run started, not from here: say so,
    rather than a bare 'no such file' for a path the user never typed."""
    flag = flag.split("/")[0]
    for path in value if isinstance(value, list) else [value]:
        if flag not in PATH_FLAGS or not isinstance(path, str) or path in ("", "sample", "imdb") or any(
                c in path for c in "*?["):
            continue
        if not Path(path).expanduser().is_absolute() and not Path(path).expanduser().exists():
            raise UsageError(f"{flag} {path} (from --config {config_file}) names nothing from {Path.cwd()}: a "
                             f"relative path in a saved config is read from where that run started; run from "
                             f"there, or give {flag} yourself")


@contextmanager
def naming_config_file(config_file: str | None, flags: dict[str, str]):
    """A usage error naming an option the user did not type but the --config file set says so: `--epochs must be at
    least 1` must not leave them looking for an --epochs on their command line. `flags`: 'section.field' -> flag of
    each option not given on the command line."""
    try:
        yield
    except UsageError as exc:
        if not config_file:
            raise
        try:
            values = json.loads(Path(config_file).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            raise exc from None
        message, named = str(exc), []
        for section, fields in (values.items() if isinstance(values, dict) else ()):
            for field, value in (fields.items() if isinstance(fields, dict) else ()):
                flag = flags.get(f"{section}.{field}")
                if flag and re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", message):
                    named.append(f"{flag} {value if isinstance(value, str) else json.dumps(value)}")
        if not named:
            raise
        raise UsageError(f"{message} (--config {config_file} sets {' and '.join(named)})") from None


def flags_not_given(ctx: click.Context, specs) -> dict[str, str]:
    """'section.field' -> flag of each option the command line left alone (a preset or --config may have set it)."""
    return {f"{spec.section}.{spec.field}": spec.flag.split("/")[0] for spec in specs
            if ctx.get_parameter_source(_param_name(spec.flag)) != ParameterSource.COMMANDLINE}


def _value(value):
    """A repeatable option's values as a list; 'a,b' given once counts as two (--classes neg,pos)."""
    if not isinstance(value, tuple):
        return value
    return [part.strip() for item in value for part in str(item).split(",") if part.strip()]


def resolve_data_config(ctx: click.Context):
    """A DataConfig from the data flags given, or None when none was (use the model's own data)."""
    from seqsent.config import DataConfig

    given = [spec for spec in DATA_OPTIONS if ctx.get_parameter_source(_param_name(spec[0])) == ParameterSource.COMMANDLINE]
    if not given:
        return None
    if not {spec.field for spec in given} & {"source", "test_source"}:  # else they would read the bundled sample
        flags = ", ".join(spec.flag.split("/")[0] for spec in given)
        raise UsageError(f"{flags} without --data or --test-data: without them the model is scored on the data it "
                         "was trained on, split as it was; give --data to read other data with these options")
    data = DataConfig()
    for flag, _, field, _, _ in DATA_OPTIONS:
        setattr(data, field, _value(ctx.params[_param_name(flag)]))
    RunConfig(data=data).validate()
    return data


def config_from_options(cls, option_specs, options: dict, ctx: click.Context | None = None, base=None):
    """A settings dataclass (e.g. LanguageModelConfig) from a command's parsed options; with `base` (a preset), only
    the options given on the command line override it."""
    import dataclasses

    values = dataclasses.asdict(base) if base is not None else {}
    for spec in option_specs:
        name = _param_name(spec.flag)
        if base is None or (ctx is not None and ctx.get_parameter_source(name) == ParameterSource.COMMANDLINE):
            values[spec.field] = _value(options[name])
    return cls(**values)
