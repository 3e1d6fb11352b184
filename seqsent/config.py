"""One typed place for every setting of a run, shared by the CLI and the Python API.

Defaults and their descriptions live here only: the CLI generates its options and --help from them.
A resolved RunConfig is saved with every run and every exported model, so any
result can be reproduced.
"""

from __future__ import annotations

import dataclasses
import json
import math
import typing
from dataclasses import dataclass, field
from typing import Any, Collection, Optional

from seqsent.errors import UsageError

# --arch shorthands: name -> (cell, bidirectional)
RECURRENT_ARCHS = {
    "rnn": ("rnn", False),
    "lstm": ("lstm", False),
    "gru": ("gru", False),
    "birnn": ("rnn", True),
    "bilstm": ("lstm", True),
    "bigru": ("gru", True),
}
CELLS = ("rnn", "lstm", "gru")
# Bag-of-words baselines built with the same Keras machinery (seqsent/models/baselines.py).
BASELINE_ARCHS = ("bow", "tfidf", "ngram", "bm25", "nbsvm")
ARCHS = tuple(RECURRENT_ARCHS) + BASELINE_ARCHS
POOLINGS = ("last", "max", "mean", "max-mean")
TRUNCATIONS = ("pre", "post")
STRATEGIES = ("auto", "default", "mirrored", "multi-worker", "tpu")
LM_STRATEGIES = ("auto", "default", "mirrored")
# How training batches are padded: by length buckets, to each batch's longest text, or all to --sequence-length.
PADDINGS = ("bucket", "batch", "fixed")
EMPTY_TEXT_POLICIES = ("skip", "error")
STREAMING_MODES = ("auto", "on", "off")
BAD_SHARD_POLICIES = ("error", "skip")
# How a wide branch learns: in one model with the recurrent layers, or as its own model averaged with them.
WIDE_TRAININGS = ("joint", "separate")
# Upper bounds of numeric options: past them TensorFlow's int32 indices overflow or a model cannot fit in memory.
MAX_INT32 = 2**31 - 1
MAX_SEED = 2**32 - 1  # numpy and Keras seeds
MAX_LAYERS = 64
MAX_WIDTH = 65536
# seqsent pretrain-embeddings: gensim methods and vector file formats.
VECTOR_METHODS = ("word2vec", "fasttext")
VECTOR_FORMATS = ("text", "binary")


class Settings:
    """A typed settings class: a name that is not one of its fields (`config.model.unit = 8` for `units`) is refused
    rather than set and never read."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in self.__dataclass_fields__:
            import difflib

            close = difflib.get_close_matches(name, self.__dataclass_fields__, n=1)
            raise AttributeError(f"{type(self).__name__} has no setting {name!r}"
                                 + (f" (did you mean {close[0]!r}?)" if close else ""))
        object.__setattr__(self, name, value)


@dataclass
class DataConfig(Settings):
    """Where the examples come from and how train is split for validation."""

    source: str = "sample"
    """'sample' (bundled IMDB sample), 'imdb' (full IMDB via tensorflow-datasets, offline from a local
    aclImdb_v1.tar.gz), an aclImdb directory or .tar.gz, or a .csv/.tsv/.jsonl file."""
    test_source: Optional[str] = None
    """A separate test file for table --data (otherwise a share of it is held out as test); an error with other
    data. (Given to evaluate without --data, the file is scored whole, in the model's columns.)"""
    text_column: str = "text"
    """Text column of table data (an error with other data)."""
    label_column: str = "label"
    """Label column of table data (strings or integers, 2 or more classes; an error with other data)."""
    validation_fraction: float = 0.1
    """Share of train held out for early stopping and tuning (whole movies for IMDB data, stratified otherwise);
    the test split is never used for either. Every class must keep a training example."""
    test_fraction: float = 0.2
    """Share of a single table file held out (stratified) as test when no separate test file is given."""
    limit: Optional[int] = None
    """Use at most this many train and this many test examples (stratified), for quick runs."""
    train_limit: Optional[int] = None
    """Use at most this many labelled train examples (stratified, validation carved out of them), the test split
    untouched: a learning curve, or a run with few labels."""
    seed: int = 1337
    """Seed of the splits."""
    streaming: str = "auto"
    """Read table data row by row instead of holding it: on, off, or auto (a glob, a directory of shards, a .gz
    file, a `seqsent prepare` directory, or a table file of 256 MB or more). off reads one plain table file
    (those sources are refused)."""
    classes: list[str] = field(default_factory=list)
    """Streaming: the class names, in order (repeatable); without them a first pass reads every label. An error
    with data read into memory, which gives its own."""
    split_key: Optional[str] = None
    """Streaming: the column whose value decides a row's split by hash (rows sharing it stay together, e.g. a
    movie's reviews); default the text. A table read into memory is split stratified by label instead: there it is
    an error (train: add --streaming on; prepare always splits by it)."""
    stream_validation_rows: int = 10000
    """Streaming: the validation split is cut at this many rows (held in memory, read once)."""
    vocabulary_sample: int = 100000
    """Streaming: the vocabulary is learned from this many train texts, the first ones of the shards."""
    shuffle_buffer: int = 20000
    """Streaming: rows shuffled in memory at a time (each pass also reads the shards in a new order)."""
    on_bad_shard: str = "error"
    """Streaming: a shard that cannot be read (truncated, other columns): stop with an error naming it, or skip it
    (counted in a note)."""
    on_empty_text: str = "skip"
    """Table rows whose text or label is empty or missing (a label such as NaN, NA, N/A or null is missing, as pandas
    reads it): 'skip' them (counted in a note) or stop with an 'error'."""


EMPTY_DATA = ("--data is empty (an unset shell variable?): name a table file, a directory, a glob, an aclImdb archive, "
              "'sample' or 'imdb'")


@dataclass
class TextConfig(Settings):
    """Standardisation and vocabulary: learned from the train split only."""

    max_tokens: int = 10000
    """Vocabulary size, including the padding and out-of-vocabulary entries."""
    sequence_length: int = 400
    """Tokens kept per text; longer texts are truncated."""
    truncation: str = "pre"
    """'pre' drops tokens from the start (keeps the ending, where reviews give their verdict); 'post' keeps the start."""


@dataclass
class ModelConfig(Settings):
    """An Embedding, a recurrent stack, pooling over time and a classification head."""

    arch: str = "bilstm"
    """Shorthand for cell + direction: rnn, lstm, gru, birnn, bilstm, bigru; or a baseline: bow, tfidf, ngram, bm25,
    nbsvm."""
    layers: int = 1
    """Stacked recurrent layers."""
    units: int = 64
    """Units per recurrent layer (per direction in a bidirectional one)."""
    embedding_dim: int = 128
    """Word vector size; with --embeddings or --encoder, theirs when not given (a different one given is refused)."""
    embedding_dropout: float = 0.3
    """Spatial dropout on embeddings: drops whole embedding channels."""
    token_dropout: float = 0.0
    """Share of tokens replaced by the out-of-vocabulary token while training (word dropout)."""
    dropout: float = 0.2
    """Dropout on each recurrent layer's inputs (keeps cuDNN kernels usable, unlike recurrent dropout)."""
    pooling: str = "max-mean"
    """How the sequence of states becomes one vector: last, max, mean or max-mean."""
    head_units: int = 0
    """Width of a dense layer before the output; 0 for none."""
    head_dropout: float = 0.3
    """Dropout before the output layer."""
    embeddings_path: Optional[str] = None
    """A word2vec (text or binary) or GloVe text file, e.g. from `seqsent pretrain-embeddings`, whose vectors
    initialise the Embedding of a recurrent arch; its dimension becomes the embedding dimension."""
    encoder_path: Optional[str] = None
    """A directory written by `seqsent pretrain-lm`: the classifier takes its vocabulary and recurrent shape (cell,
    direction, layers, units, embedding dimension) and starts its Embedding and recurrent layers from the language
    model's weights."""
    freeze_embeddings: bool = False
    """Keep the pretrained word vectors fixed while training (needs --embeddings)."""
    wide_ngrams: int = 0
    """Add a linear bag-of-n-grams branch (1..N-grams of the tokens) beside the recurrent one; 0: none."""
    wide_buckets: int = 1048576
    """Hash slots for the wide branch's n-grams of 2 or more tokens (one weight each)."""
    wide_dropout: float = 0.0
    """Dropout on the wide branch's n-gram occurrences while training (a regulariser for the linear model)."""
    wide_training: str = "joint"
    """joint: the wide branch is trained with the recurrent layers, inside one model. separate: the wide part is
    an NBSVM (--arch nbsvm over 1..wide_ngrams-grams, its vocabulary the wide_buckets most frequent) trained on its
    own, and the two models' log-odds are averaged with a weight fit on the validation split."""
    wide_epochs: int = 20
    """Maximum epochs of the separate wide model (early stopping, with --patience, ends it sooner): a linear
    model learns more slowly than the recurrent layers overfit, and an epoch of it takes seconds."""
    recurrent_models: int = 1
    """With --wide-training separate: recurrent models trained (seeds --train-seed, +1, ...) and averaged."""

    @property
    def description(self) -> str:
        """What is trained, in a few words: the arch, or the models of a --wide-training separate ensemble."""
        if self.wide_ngrams and self.wide_training == "separate":
            recurrent = f"{self.recurrent_models} x {self.arch}" if self.recurrent_models > 1 else self.arch
            return f"NBSVM of 1-{self.wide_ngrams}-grams + {recurrent} (epochs: the first {self.arch})"
        return self.arch

    @property
    def cell(self) -> str:
        return RECURRENT_ARCHS[self.arch][0]

    @property
    def bidirectional(self) -> bool:
        return RECURRENT_ARCHS[self.arch][1]


@dataclass
class TrainConfig(Settings):
    """Optimisation, distribution and checkpointing."""

    epochs: int = 6
    """Maximum epochs (early stopping may end sooner)."""
    batch_size: int = 64
    """Per-replica batch; the global batch is this times the number of replicas."""
    learning_rate: float = 1e-3
    """Adam's learning rate."""
    pretrained_rate: float = 1.0
    """Learning rate of the layers that start from --encoder or --embeddings, as a fraction of --learning-rate
    (ULMFiT's discriminative rates): below 1, fine-tuning moves what pretraining learned less than the new head."""
    clipnorm: float = 1.0
    """Gradient norm clipping against exploding gradients in backprop through time; 0 disables."""
    patience: int = 1
    """Epochs without validation-loss improvement before early stopping (best weights restored)."""
    strategy: str = "auto"
    """auto (mirrored with >1 GPU, else default), default, mirrored (this machine's GPUs), multi-worker
    (the machines TF_CONFIG lists), or tpu."""
    mixed_precision: bool = False
    """16-bit compute, float32 variables and output layer: float16 on GPU, bfloat16 on TPU; float32 (with a
    warning) on CPU."""
    padding: str = "bucket"
    """bucket: batch texts of similar length (little padding); batch: pad each shuffled batch to its longest text;
    fixed: pad every batch to --sequence-length."""
    jit_compile: bool = False
    """Compile the training step with XLA."""
    steps_per_epoch: Optional[int] = None
    """Streamed data only: batches per epoch; default one pass over the train split. Streaming data without a
    manifest needs a first pass to count its rows unless this is given (data in memory is counted already)."""
    seed: int = 1337
    """Seed of weights, shuffling and dropout."""


@dataclass
class SemiSupervisedConfig(Settings):
    """Learning from texts without labels while the classifier trains (Miyato et al. 2016): virtual adversarial
    training on unlabelled texts, adversarial training on labelled ones. Recurrent archs only."""

    unlabelled: list[str] = field(default_factory=list)
    """Texts without labels: plain-text files (one text per line), .csv/.tsv/.jsonl tables (their
    --unlabelled-text-column; labels ignored) or aclImdb dirs/archives (their train/unsup reviews); never the test
    data."""
    unlabelled_text_column: Optional[str] = None
    """The column of the texts in --unlabelled tables; default: --text-column (the labelled data's)."""
    vat: bool = False
    """Virtual adversarial training on the unlabelled texts (needs --unlabelled)."""
    vat_epsilon: float = 5.0
    """Norm of VAT's perturbation of a text's (normalised) word embeddings."""
    adversarial: bool = False
    """Adversarial training on the labelled texts: the loss at the worst perturbation of their embeddings is added."""
    adversarial_epsilon: float = 5.0
    """Norm of the adversarial perturbation of a labelled text's (normalised) word embeddings."""
    entropy_weight: float = 0.0
    """Weight of entropy minimisation on the unlabelled texts (needs --unlabelled); 0: none."""
    unlabelled_vocabulary: bool = False
    """Learn the vocabulary from the train and --unlabelled texts (never test): words no labelled text has still
    get ids, and with --embeddings their vectors, so the model reads them. Pays where labels are few."""

    @property
    def active(self) -> bool:
        return self.vat or self.adversarial or self.entropy_weight > 0


@dataclass
class RunConfig(Settings):
    """Everything a `seqsent train` run needs; saved as config.json with the run and the model."""

    name: str = ""
    """Model name; empty: '<data>-<arch>', e.g. imdb-bilstm or reviews-gru."""
    data: DataConfig = field(default_factory=DataConfig)
    text: TextConfig = field(default_factory=TextConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    semi: SemiSupervisedConfig = field(default_factory=SemiSupervisedConfig)
    output_dir: str = "saved_models"
    runs_dir: str = "runs"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def default_name(self) -> str:
        """'imdb-<arch>' for the IMDB sources, '<file or directory stem>-<arch>' for table data."""
        from pathlib import Path

        from seqsent.layout import MANIFEST_FILE, shard_format

        source = self.data.source
        path = Path(source.split("*")[0].split("?")[0].split("[")[0].rstrip("-_.") or "data")
        shards_dir = path.is_dir() and any(shard_format(p) or p.name == MANIFEST_FILE for p in path.iterdir())
        if source in ("sample", "imdb") or not (shard_format(Path(source)) or shards_dir or "*" in source):
            return f"imdb-{self.model.arch}"  # the IMDB sources: the sample, TFDS, an aclImdb directory or archive
        stem = path.name.split(".")[0]
        stem = "".join(c if c.isalnum() or c in "._-" else "-" for c in stem)
        return f"{stem[:100] or 'model'}-{self.model.arch}"  # a long file name still makes a valid --name

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    def _check_types(self) -> None:
        """A config built in Python is checked as a --config file is ('8' for units failed deep inside Keras, 1.5
        epochs after the data was read); NumPy numbers count as the Python numbers they hold, paths as strings."""
        for key in ("name", "output_dir", "runs_dir"):
            setattr(self, key, _as_plain(getattr(self, key)))
            if not isinstance(getattr(self, key), str):
                raise UsageError(f"config key {key} must be a string, not {type(getattr(self, key)).__name__}")
        for section, cls in SECTIONS.items():
            values = getattr(self, section)
            if not isinstance(values, cls):
                raise UsageError(f"config section {section} must be a seqsent.config.{cls.__name__}, not "
                                 f"{type(values).__name__}")
            check_field_types(values, f"{section}.")

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "RunConfig":
        sections = SECTIONS
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise UsageError(f"unknown config keys: {', '.join(sorted(unknown))}")
        kwargs: dict[str, Any] = {}
        for key, value in values.items():
            if key == "train" and isinstance(value, dict) and "bucket_by_length" in value:
                value = _upgrade_train_section(value)
            if key in sections:
                kwargs[key] = _section_from_dict(sections[key], value, key)
            elif not isinstance(value, str):
                raise UsageError(f"config key {key} must be a string, not {type(value).__name__}")
            else:
                kwargs[key] = value
        return cls(**kwargs)

    def validate(self) -> "RunConfig":
        """Reject values that cannot work, with a message naming the option.

        Long on purpose: one table, one line per rule, so every option's limits can be read in one place.
        """
        from pathlib import Path

        self._check_types()
        if not self.name:
            self.name = self.default_name()
        checks = [
            (self.model.arch in ARCHS, f"--arch must be one of {', '.join(ARCHS)}, not {self.model.arch!r}"),
            (self.model.pooling in POOLINGS, f"--pooling must be one of {', '.join(POOLINGS)}"),
            (self.model.layers >= 1, "--layers must be at least 1"),
            (self.model.units >= 1, "--units must be at least 1"),
            (self.model.embedding_dim >= 1, "--embedding-dim must be at least 1"),
            (self.model.head_units >= 0, "--head-units must be 0 or more"),
            (not self.model.embeddings_path or self.model.arch in RECURRENT_ARCHS,
             f"--embeddings goes with a recurrent --arch, not {self.model.arch!r}"),
            (not self.model.embeddings_path or Path(self.model.embeddings_path).expanduser().is_file(),
             f"--embeddings {self.model.embeddings_path}: no such file"),
            (not self.model.encoder_path or self.model.arch in RECURRENT_ARCHS,
             f"--encoder goes with a recurrent --arch, not {self.model.arch!r}"),
            (not (self.model.encoder_path and self.model.embeddings_path),
             "--encoder and --embeddings both initialise the Embedding: give one of them"),
            *_semi_checks(self),
            (not self.model.freeze_embeddings or bool(self.model.embeddings_path),
             "--freeze-embeddings needs --embeddings FILE (it keeps the file's vectors fixed; frozen random vectors "
             "learn nothing, and an --encoder's layers are slowed with --pretrained-rate instead)"),
            (0 <= self.model.wide_ngrams <= 5, f"--wide-ngrams must be between 0 and 5, not {self.model.wide_ngrams}"),
            (1 <= self.model.wide_buckets <= 2**27,
             f"--wide-buckets must be between 1 and {2**27:,}, not {self.model.wide_buckets:,}"),
            (self.model.wide_training in WIDE_TRAININGS,
             f"--wide-training must be one of {', '.join(WIDE_TRAININGS)}, not {self.model.wide_training!r}"),
            (1 <= self.model.wide_epochs <= MAX_INT32,
             f"--wide-epochs must be between 1 and {MAX_INT32:,}, not {self.model.wide_epochs:,}"),
            (1 <= self.model.recurrent_models <= 16,
             f"--recurrent-models must be between 1 and 16, not {self.model.recurrent_models}"),
            (self.model.recurrent_models == 1 or self.model.wide_training == "separate",
             "--recurrent-models N goes with --wide-training separate (the models are averaged with the NBSVM)"),
            (self.model.wide_training == "joint" or self.model.wide_ngrams >= 1,
             "--wide-training separate needs --wide-ngrams N (the n-gram order of the separate wide model)"),
            (not self.model.wide_ngrams or self.model.arch in RECURRENT_ARCHS,
             f"--wide-ngrams goes with a recurrent --arch, not {self.model.arch!r}"),
            *[(0.0 <= rate < 1.0, f"{flag} must be in [0, 1), not {rate}") for flag, rate in (
                ("--dropout", self.model.dropout), ("--embedding-dropout", self.model.embedding_dropout),
                ("--head-dropout", self.model.head_dropout), ("--token-dropout", self.model.token_dropout),
                ("--wide-dropout", self.model.wide_dropout))],
            *[(value <= limit, f"{flag} must be at most {limit:,}, not {value:,}") for flag, value, limit in (
                ("--layers", self.model.layers, MAX_LAYERS), ("--units", self.model.units, MAX_WIDTH),
                ("--embedding-dim", self.model.embedding_dim, MAX_WIDTH),
                ("--head-units", self.model.head_units, MAX_WIDTH), ("--max-tokens", self.text.max_tokens, MAX_INT32),
                ("--sequence-length", self.text.sequence_length, MAX_INT32),
                ("--batch-size", self.train.batch_size, MAX_INT32), ("--epochs", self.train.epochs, MAX_INT32),
                ("--patience", self.train.patience, MAX_INT32))],
            (self.text.max_tokens >= 3, "--max-tokens must be at least 3"),
            (self.text.sequence_length >= 1, "--sequence-length must be at least 1"),
            (self.text.truncation in TRUNCATIONS, "--truncation must be 'pre' or 'post'"),
            (bool(self.data.source.strip()), EMPTY_DATA),
            (0.0 < self.data.validation_fraction < 1.0, "--validation-fraction must be between 0 and 1"),
            (0.0 < self.data.test_fraction < 1.0, "--test-fraction must be between 0 and 1"),
            (self.data.limit is None or self.data.limit >= 10, "--limit must be at least 10"),
            (self.data.train_limit is None or self.data.train_limit >= 10, "--train-limit must be at least 10"),
            (self.data.text_column != self.data.label_column,
             f"--text-column and --label-column must differ (both are {self.data.text_column!r})"),
            (self.data.streaming in STREAMING_MODES,
             f"--streaming must be one of {', '.join(STREAMING_MODES)}, not {self.data.streaming!r}"),
            (self.data.on_bad_shard in BAD_SHARD_POLICIES,
             f"--on-bad-shard must be one of {', '.join(BAD_SHARD_POLICIES)}, not {self.data.on_bad_shard!r}"),
            (len(set(self.data.classes)) == len(self.data.classes) and all(c.strip() for c in self.data.classes),
             "--classes must be distinct, non-empty names"),
            (not self.data.classes or len(self.data.classes) >= 2, "--classes needs at least two classes"),
            *[(value >= 1, f"{flag} must be at least 1, not {value}") for flag, value in (
                ("--stream-validation-rows", self.data.stream_validation_rows),
                ("--vocabulary-sample", self.data.vocabulary_sample), ("--shuffle-buffer", self.data.shuffle_buffer))],
            (self.train.steps_per_epoch is None or 1 <= self.train.steps_per_epoch <= MAX_INT32,
             f"--steps-per-epoch must be between 1 and {MAX_INT32:,}, not {self.train.steps_per_epoch}"),
            (self.data.on_empty_text in EMPTY_TEXT_POLICIES,
             f"--on-empty-text must be one of {', '.join(EMPTY_TEXT_POLICIES)}, not {self.data.on_empty_text!r}"),
            *[(0 <= seed <= MAX_SEED, f"{flag} must be between 0 and {MAX_SEED}, not {seed}")
              for flag, seed in (("--seed", self.data.seed), ("--train-seed", self.train.seed))],
            (self.train.epochs >= 1, "--epochs must be at least 1"),
            (self.train.batch_size >= 1, "--batch-size must be at least 1"),
            (0 < self.train.learning_rate < math.inf, f"--learning-rate must be a positive number, not {self.train.learning_rate}"),
            (0 < self.train.pretrained_rate < math.inf,
             f"--pretrained-rate must be a positive number, not {self.train.pretrained_rate}"),
            (self.train.pretrained_rate == 1.0 or bool(self.model.encoder_path or self.model.embeddings_path),
             "--pretrained-rate goes with --encoder or --embeddings (the layers it slows start from them)"),
            (0 <= self.train.clipnorm < math.inf, f"--clipnorm must be 0 (off) or a positive number, not {self.train.clipnorm}"),
            (self.train.patience >= 0, "--patience must be 0 or more"),
            (self.train.strategy in STRATEGIES, f"--strategy must be one of {', '.join(STRATEGIES)}"),
            (self.train.padding in PADDINGS, f"--padding must be one of {', '.join(PADDINGS)}, not {self.train.padding!r}"),
            (is_safe_name(self.name), NAME_RULE),
        ]
        for ok, message in checks:
            if not ok:
                raise UsageError(message)
        return self


# Why a bag-of-words arch ignores the sequence settings.
_BAG = "a bag-of-words arch has no word vectors, recurrent layers or word order"


def ignored_settings(config: "RunConfig", given: Collection[str] = ()) -> list[tuple[str, str]]:
    """('section.field', note) for each setting chosen (see is_chosen) that changes nothing in this run.

    Noted rather than refused: a --config file or preset reused with another --arch would otherwise fail on
    settings the user never typed; said at all, so nobody waits an hour believing e.g. a --vat-epsilon was used.
    """
    model, semi = config.model, config.semi
    bag = model.arch in BASELINE_ARCHS
    rules = [  # (ignored, section, field, why)
        *[(bag, "model", name, _BAG) for name in (
            "layers", "units", "pooling", "embedding_dim", "embedding_dropout", "token_dropout", "dropout")],
        *[(bag, "text", name, _BAG) for name in ("sequence_length", "truncation")],
        (bag, "train", "padding", f"{_BAG} (its batches are sparse rows, never padded)"),
        (bag and not model.head_units, "model", "head_dropout",
         "a bag-of-words arch drops out only after a --head-units layer (its sparse inputs are kept whole)"),
        *[(not model.wide_ngrams, "model", name, "it shapes the wide n-gram branch of --wide-ngrams N")
          for name in ("wide_buckets", "wide_dropout", "wide_epochs")],
        (model.wide_training == "joint", "model", "wide_epochs",
         "it ends the NBSVM of --wide-training separate; a joint wide branch trains for --epochs"),
        (model.wide_training == "separate", "model", "wide_dropout",
         "the NBSVM of --wide-training separate has no dropout"),
        (not semi.vat, "semi", "vat_epsilon", "it sizes the perturbation of --vat, not given"),
        (not semi.adversarial, "semi", "adversarial_epsilon", "it sizes the perturbation of --adversarial, not given"),
        (not semi.unlabelled, "semi", "unlabelled_text_column", "it names the texts' column of --unlabelled tables"),
        (model.freeze_embeddings and not model.encoder_path, "train", "pretrained_rate",
         "the only pretrained layer, the --embeddings, is kept fixed by --freeze-embeddings"),
    ]
    notes: dict[str, str] = {}
    for ignored, section, name, why in rules:
        value = getattr(getattr(config, section), name)
        key = f"{section}.{name}"
        if ignored and key not in notes and is_chosen(value, section, name, given):
            notes[key] = f"--{name.replace('_', '-')} {value} has no effect: {why}"
    return list(notes.items())


def _semi_checks(config: "RunConfig") -> list[tuple[bool, str]]:
    semi, model = config.semi, config.model
    joint_wide = model.wide_ngrams and model.wide_training == "joint"
    return [
        *[(0 < value < math.inf, f"{flag} must be a positive number, not {value}")
          for flag, value in (("--vat-epsilon", semi.vat_epsilon), ("--adversarial-epsilon", semi.adversarial_epsilon))],
        (0 <= semi.entropy_weight < math.inf, f"--entropy-weight must be 0 or more, not {semi.entropy_weight}"),
        (not semi.vat or bool(semi.unlabelled), "--vat needs --unlabelled SOURCE (the texts it learns from)"),
        (not semi.entropy_weight or bool(semi.unlabelled), "--entropy-weight needs --unlabelled SOURCE"),
        (not semi.unlabelled or semi.vat or semi.entropy_weight > 0 or semi.unlabelled_vocabulary,
         "--unlabelled texts are used by --vat, --entropy-weight or --unlabelled-vocabulary: give one of them"),
        (not semi.unlabelled_vocabulary or bool(semi.unlabelled), "--unlabelled-vocabulary needs --unlabelled SOURCE"),
        (not semi.unlabelled_vocabulary or model.arch in RECURRENT_ARCHS,
         f"--unlabelled-vocabulary goes with a recurrent --arch, not {model.arch!r}"),
        (not (semi.unlabelled_vocabulary and model.encoder_path),
         "--unlabelled-vocabulary and --encoder both fix the vocabulary: give one of them"),
        (not semi.active or model.arch in RECURRENT_ARCHS,
         f"--vat, --adversarial and --entropy-weight train recurrent models (perturbed word embeddings, predictions "
         f"on unlabelled text): a recurrent --arch, not {model.arch!r}"),
        (not semi.active or not joint_wide,
         "--vat, --adversarial and --entropy-weight go with --wide-training separate, not a joint wide branch"),
        (not any(str(source).strip() in ("sample", "imdb") for source in semi.unlabelled),
         "--unlabelled takes a text file, a .csv/.tsv/.jsonl table or an aclImdb dir/archive, not 'sample' or 'imdb'"),
    ]


def _upgrade_train_section(values: dict[str, Any]) -> dict[str, Any]:
    """Configs saved by seqsent 0.1 say bucket_by_length true/false where --padding now says bucket/batch."""
    values = dict(values)
    bucket = values.pop("bucket_by_length")
    if not isinstance(bucket, bool):
        raise UsageError(f"config key train.bucket_by_length must be bool, not {type(bucket).__name__} ({bucket!r})")
    values.setdefault("padding", "bucket" if bucket else "batch")
    return values


def check_field_types(values: Any, prefix: str = "") -> None:
    """Each field of the dataclass `values` made plain (_as_plain) and checked against its annotation; a whole number
    where a float is expected becomes that float (Keras refuses an int learning rate)."""
    for key, hint in typing.get_type_hints(type(values)).items():
        value = _as_plain(getattr(values, key))
        if not _has_type(value, hint):
            raise UsageError(f"config key {prefix}{key} must be {_type_name(hint)}, not {type(value).__name__} "
                             f"({value!r})")
        if isinstance(value, int) and not isinstance(value, bool) and not _has_type(value, _without_float(hint)):
            value = float(value)
        setattr(values, key, value)


def _without_float(hint: Any) -> Any:
    """The annotation with float left out (what an int passes without becoming a float)."""
    if hint is float:
        return type(None)
    if typing.get_origin(hint) is typing.Union:
        return typing.Union[tuple(_without_float(arg) for arg in typing.get_args(hint))]
    return hint


def _as_plain(value: Any) -> Any:
    """A pathlib.Path as its string, a NumPy number as its Python number, a tuple as a list (of such)."""
    import os

    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if type(value).__module__ == "numpy" and hasattr(value, "item") and not hasattr(value, "__len__"):
        return value.item()
    if isinstance(value, tuple):
        value = list(value)
    return [_as_plain(item) for item in value] if isinstance(value, list) else value


def _section_from_dict(section_cls, values: dict[str, Any], section: str):
    if not isinstance(values, dict):
        raise UsageError(f"config section {section!r} must be a mapping")
    known = {f.name for f in dataclasses.fields(section_cls)}
    unknown = set(values) - known
    if unknown:
        raise UsageError(f"unknown keys in config section {section!r}: {', '.join(sorted(unknown))}")
    hints = typing.get_type_hints(section_cls)
    for key, value in values.items():
        if not _has_type(value, hints[key]):
            raise UsageError(f"config key {section}.{key} must be {_type_name(hints[key])}, not {type(value).__name__} ({value!r})")
    return section_cls(**values)


def _has_type(value: Any, hint: Any) -> bool:
    """JSON-level type check: ints are accepted where floats are expected, bools never pass as numbers."""
    if typing.get_origin(hint) is typing.Union:
        return any(_has_type(value, arg) for arg in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if typing.get_origin(hint) is list:
        return isinstance(value, list) and all(_has_type(item, typing.get_args(hint)[0]) for item in value)
    return isinstance(value, hint)


def _type_name(hint: Any) -> str:
    if typing.get_origin(hint) is list:
        return f"a list of {_type_name(typing.get_args(hint)[0])}"
    if typing.get_origin(hint) is typing.Union:
        return " or ".join(_type_name(arg) for arg in typing.get_args(hint))
    return "null" if hint is type(None) else hint.__name__


NAME_MAX = 128  # a directory name, with room for the run directories' suffixes under file systems' 255-byte limit
NAME_RULE = (f"--name may hold only letters, digits, '.', '_' and '-', at most {NAME_MAX} of them, and starts with a "
             "letter, a digit or '_' (a name starting with '.' is a hidden directory, which serving-config skips)")


def is_safe_name(name: str) -> bool:
    return (bool(name) and len(name.encode("utf-8")) <= NAME_MAX and name[0] not in ".-"
            and all(c.isalnum() or c in "._-" for c in name))


def recorded_data_config(metadata: dict, model_path: Any) -> Optional[DataConfig]:
    """The data a model was trained on, from its seqsent.json; None when it records none.

    Keys this seqsent does not know (written by a newer one) are ignored; a value of the wrong type
    (a damaged or hand-edited file) is a ModelError, not a crash.
    """
    from seqsent.errors import ModelError

    config = metadata.get("config") if isinstance(metadata, dict) else None
    recorded = config.get("data") if isinstance(config, dict) else None
    if not isinstance(recorded, dict):
        return None
    known = {f.name for f in dataclasses.fields(DataConfig)}
    try:
        return _section_from_dict(DataConfig, {k: v for k, v in recorded.items() if k in known}, "data")
    except UsageError as exc:
        raise ModelError(f"{model_path}: its seqsent.json records unusable data settings ({exc}); "
                         "give the evaluation data with --data") from None


def recorded_run_config(metadata: dict, model_path: Any) -> Optional["RunConfig"]:
    """The whole config an export records (None when it records none), checked as a --config file is: `export`
    and `ensemble` copy it into the new export, where a damaged value would travel on unseen."""
    from seqsent.errors import ModelError

    config = metadata.get("config") if isinstance(metadata, dict) else None
    if config is None:
        return None
    try:
        if not isinstance(config, dict):
            raise UsageError(f"config must be a mapping, not {type(config).__name__}")
        run = RunConfig.from_dict(config)
        if run.model.arch not in ARCHS:
            raise UsageError(f"model.arch {run.model.arch!r} is none of {', '.join(ARCHS)}")
    except UsageError as exc:
        raise ModelError(f"{model_path}: its seqsent.json records unusable settings ({exc}); the export is damaged or "
                         "was written by another seqsent version") from None
    return run


SECTIONS = {"data": DataConfig, "text": TextConfig, "model": ModelConfig, "train": TrainConfig,
            "semi": SemiSupervisedConfig}


def field_docs(cls) -> dict[str, str]:
    """The docstring under each field of a config dataclass, whitespace folded: the CLI's help texts, so that a
    setting's default and its description are written once, here."""
    import ast
    import inspect
    import textwrap

    docs = {}
    for klass in reversed([c for c in cls.__mro__ if dataclasses.is_dataclass(c)]):  # inherited fields too
        body = ast.parse(textwrap.dedent(inspect.getsource(klass))).body[0].body
        for item, following in zip(body, body[1:]):
            if (isinstance(item, ast.AnnAssign) and isinstance(following, ast.Expr)
                    and isinstance(following.value, ast.Constant) and isinstance(following.value.value, str)):
                docs[item.target.id] = " ".join(following.value.value.split())
    return docs




def default_of(section: str, name: str) -> Any:
    """The default of one field, for CLI help texts (so defaults are written once)."""
    for f in dataclasses.fields(OPTION_SOURCES[section]):
        if f.name == name:
            return f.default if f.default is not dataclasses.MISSING else f.default_factory()
    raise KeyError(f"{section}.{name}")


def is_chosen(value: Any, section: str, name: str, given: Collection[str] = ()) -> bool:
    """Whether a setting was chosen rather than left to be filled in (by --encoder or --embeddings): named in `given`
    ('section.field' keys; the CLI passes the flags typed, so `--units 64` counts though 64 is the default) or set
    to other than its default (all a dataclass can tell from Python, and what a preset or --config file sets)."""
    return f"{section}.{name}" in given or value != default_of(section, name)


@dataclass
class TextSourcesConfig(Settings):
    """The texts pretraining learns from, labels never read: shared by pretrain-embeddings and pretrain-lm."""

    data: str = "sample"
    """Data whose train texts are read (labels ignored, test never): any --data source of `seqsent train`; none: the
    --unlabelled texts only (no test texts are known then, to leave out: keep them out of --unlabelled yourself)."""
    unlabelled: list[str] = field(default_factory=list)
    """More text (repeatable): plain-text files (one text per line), .csv/.tsv/.jsonl tables (their
    --unlabelled-text-column; labels ignored) or aclImdb dirs/archives (their train/unsup)."""
    unlabelled_text_column: Optional[str] = None
    """The column of the texts in --unlabelled tables; default: --text-column."""
    include_unsup: bool = True
    """With an aclImdb --data, also read its 50,000 unlabelled train/unsup reviews."""
    # How a table --data is read and split: the options (and help texts) of `seqsent train`'s DataConfig, reused by
    # the CLI; split it as the classifier will be, or that classifier's test texts are among those learned from.
    text_column: str = DataConfig.text_column
    label_column: str = DataConfig.label_column
    on_empty_text: str = DataConfig.on_empty_text
    test_source: Optional[str] = None
    test_fraction: float = DataConfig.test_fraction
    split_seed: int = DataConfig.seed
    """A single table --data's split seed, `seqsent train --seed`: give the classifier's, so that its test texts
    are the ones left out here."""
    streaming: str = DataConfig.streaming
    split_key: Optional[str] = DataConfig.split_key

    def data_config(self) -> DataConfig:
        """The DataConfig --data is read with: its train texts are learned from, its test texts never."""
        return DataConfig(source=self.data, text_column=self.text_column, label_column=self.label_column,
                          on_empty_text=self.on_empty_text, test_source=self.test_source,
                          test_fraction=self.test_fraction, seed=self.split_seed, streaming=self.streaming,
                          split_key=self.split_key)

    def source_checks(self) -> list[tuple[bool, str]]:
        """validate()'s rules for the options above, shared by both pretraining commands."""
        return [
            (bool(self.data.strip()), EMPTY_DATA),
            (0.0 < self.test_fraction < 1.0, "--test-fraction must be between 0 and 1"),
            (0 <= self.split_seed < 2**32, f"--split-seed must be between 0 and {2**32 - 1}, not {self.split_seed}"),
        ]


@dataclass
class WordVectorConfig(TextSourcesConfig):
    """Settings of `seqsent pretrain-embeddings` (word vectors learned with gensim); the CLI reads its defaults and
    help from here."""

    output: str = "embeddings.vec"
    """Vector file to write (atomically)."""
    overwrite: bool = False
    """Replace an existing --output file."""
    method: str = "word2vec"
    """word2vec (skip-gram) or fasttext (skip-gram with character n-grams)."""
    dim: int = 128
    """Vector size."""
    window: int = 5
    """Context words on each side."""
    min_count: int = 2
    """Ignore words seen fewer times."""
    epochs: int = 5
    """Passes over the texts."""
    negative: int = 5
    """Negative samples per word."""
    file_format: str = "text"
    """text (word2vec text, readable by GloVe/fastText tools too) or binary (word2vec binary)."""
    workers: int = 0
    """Threads; 0 uses every CPU core. Only 1 gives the same vectors run after run (gensim's threads race)."""
    seed: int = 1337
    """Random seed."""

    def validate(self) -> "WordVectorConfig":
        check_field_types(self)
        checks = [
            (self.method in VECTOR_METHODS, f"--method must be one of {', '.join(VECTOR_METHODS)}, not {self.method!r}"),
            (self.file_format in VECTOR_FORMATS, f"--format must be one of {', '.join(VECTOR_FORMATS)}"),
            (1 <= self.dim <= MAX_WIDTH, f"--dim must be between 1 and {MAX_WIDTH:,}, not {self.dim}"),
            (1 <= self.window <= 1000, f"--window must be between 1 and 1000, not {self.window}"),
            (self.min_count >= 1, f"--min-count must be at least 1, not {self.min_count}"),
            (1 <= self.epochs <= 1000, f"--epochs must be between 1 and 1000, not {self.epochs}"),
            (1 <= self.negative <= 100, f"--negative must be between 1 and 100 (word2vec learns from its negative "
                                        f"samples), not {self.negative}"),
            (0 <= self.workers <= 1024, f"--workers must be between 0 and 1024, not {self.workers}"),
            (0 <= self.seed < 2**32, f"--seed must be between 0 and {2**32 - 1}, not {self.seed}"),
            *self.source_checks(),
            (bool(self.output), "--output must be a file path"),
        ]
        for ok, message in checks:
            if not ok:
                raise UsageError(message)
        from pathlib import Path

        out = Path(self.output).expanduser()
        if out.is_dir():
            raise UsageError(f"--output {self.output}: is a directory; give a file path")
        return self


# Why a stacked bidirectional language model cannot start a bidirectional classifier (pretrain-lm and train say it).
STACKED_BIDIRECTIONAL_WHY = ("a bidirectional classifier's layers above the first read both directions joined, which "
                             "a language model's separate forward and backward stacks never learn to read")
STACKED_BIDIRECTIONAL = (f"{STACKED_BIDIRECTIONAL_WHY}; pretrain --layers 1, or a one-directional --arch (its stack "
                         "starts a classifier of that arch)")


@dataclass
class LanguageModelConfig(TextSourcesConfig):
    """Settings of `seqsent pretrain-lm`: a next-word recurrent language model whose Embedding and recurrent layers
    start a classifier (`seqsent train --encoder DIR`); the CLI reads its defaults and help from here."""

    output: str = "encoder"
    """The encoder directory to write (atomically), for `seqsent train --encoder`."""
    overwrite: bool = False
    """Replace an existing non-empty --output directory."""
    arch: str = "bigru"
    """Recurrent cell and direction of the classifier it will start: a bidirectional arch trains a forward and a
    backward language model."""
    layers: int = 1
    """Stacked recurrent layers."""
    units: int = 64
    """Units per recurrent layer (per direction)."""
    embedding_dim: int = 128
    """Word vector size."""
    max_tokens: int = 30000
    """Vocabulary size (learned on the texts read, test never), the padding and out-of-vocabulary entries included."""
    window: int = 100
    """Tokens per training row: the texts' token stream is cut into rows of this length."""
    sampled: int = 1024
    """Words sampled per training step for the sampled softmax (the exact softmax scores held-out text)."""
    heldout_texts: int = 500
    """Texts held out to measure perplexity (at most a tenth of the texts)."""
    epochs: int = 2
    """Passes over the texts (the epoch of the lowest held-out loss is kept)."""
    batch_size: int = 128
    """Rows per step (per replica)."""
    learning_rate: float = 1e-2
    """Adam's starting learning rate, decayed linearly to 1e-4 over all epochs."""
    clipnorm: float = 5.0
    """Global gradient norm clipping (0: off); 1.0 stalls the language model (measured: docs/unlabelled.md)."""
    dropout: float = 0.0
    """Dropout on each recurrent layer's inputs."""
    patience: int = 1
    """Epochs without held-out improvement before stopping."""
    strategy: str = "auto"
    """auto (mirrored with more than one GPU, else default), default, or mirrored (this machine's GPUs)."""
    runs_dir: str = "runs"
    """Where the crash backup goes (runs/lm-OUTPUT/); the same command resumes from it."""
    seed: int = 1337
    """Seed of the held-out texts, the weights and the order of rows."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    def validate(self) -> "LanguageModelConfig":
        """Reject values that cannot work, with a message naming the option."""
        check_field_types(self)
        checks = [
            (self.arch in RECURRENT_ARCHS, f"--arch must be a recurrent arch ({', '.join(RECURRENT_ARCHS)}), "
                                           f"not {self.arch!r}"),
            (self.strategy in LM_STRATEGIES, f"--strategy must be one of {', '.join(LM_STRATEGIES)}"),
            (self.layers < 1 or self.layers == 1 or not RECURRENT_ARCHS.get(self.arch, (None, False))[1],
             f"--arch {self.arch} with --layers {self.layers}: {STACKED_BIDIRECTIONAL}"),  # (< 1: the range's error)
            *self.source_checks(),
            (bool(self.output), "--output must be a directory path"),
            *[(1 <= value <= limit, f"{flag} must be between 1 and {limit:,}, not {value:,}") for flag, value, limit in (
                ("--layers", self.layers, MAX_LAYERS), ("--units", self.units, MAX_WIDTH),
                ("--embedding-dim", self.embedding_dim, MAX_WIDTH), ("--window", self.window, 100_000),
                ("--epochs", self.epochs, MAX_INT32), ("--batch-size", self.batch_size, MAX_INT32),
                ("--heldout-texts", self.heldout_texts, MAX_INT32))],
            (3 <= self.max_tokens <= MAX_INT32, f"--max-tokens must be between 3 and {MAX_INT32:,}"),
            (1 <= self.sampled, f"--sampled must be at least 1, not {self.sampled}"),
            (0 < self.learning_rate < math.inf, f"--learning-rate must be a positive number, not {self.learning_rate}"),
            (0 <= self.clipnorm < math.inf, f"--clipnorm must be 0 (off) or a positive number, not {self.clipnorm}"),
            (0.0 <= self.dropout < 1.0, f"--dropout must be in [0, 1), not {self.dropout}"),
            (self.patience >= 0, "--patience must be 0 or more"),
            (0 <= self.seed <= MAX_SEED, f"--seed must be between 0 and {MAX_SEED}, not {self.seed}"),
        ]
        for ok, message in checks:
            if not ok:
                raise UsageError(message)
        return self


# Where each command's options come from: RunConfig's sections, and `seqsent pretrain-lm`'s settings.
OPTION_SOURCES = {**SECTIONS, "lm": LanguageModelConfig, "vectors": WordVectorConfig}
