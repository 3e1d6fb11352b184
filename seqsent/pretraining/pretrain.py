"""`seqsent pretrain-lm`: a language model learned from unlabelled text, written as an encoder directory.

The steps: collect the texts (train texts of --data, never test; its unlabelled reviews; --unlabelled
files), hold some out for perplexity, learn the vocabulary, cut the token stream into rows, then train
with the same machinery as `seqsent train` (tf.distribute strategy, a crash backup at every epoch that
the same command resumes, the best epoch by held-out loss kept), and write the encoder atomically.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from seqsent.config import RECURRENT_ARCHS, LanguageModelConfig, TextConfig
from seqsent.data.dataset import comparison_key
from seqsent.data.provenance import LearnedTexts, learned_texts
from seqsent.errors import DataError, Interrupted, TrainingError
from seqsent.files import check_creatable, check_output_dir, staged_directory
from seqsent.progress import first_epochs
from seqsent.layout import BACKUP_DIR, claim_run_dir, finish_run_dir, remove_training_leftovers, write_run_config
from seqsent.models.encoder import ENCODER_FILES, encoder_metadata, write_encoder
from seqsent.models.language_model import LanguageModel
from seqsent.pretraining import check_sources
from seqsent.pretraining.lm_rows import heldout_rows, stream_rows, token_stream, training_rows
from seqsent.training.backup import discard_if_unstarted, remove_backup


@dataclass
class PretrainLMReport:
    output: Path
    arch: str
    sources: list[str]
    texts: int
    heldout_texts: int
    tokens: int
    vocabulary_size: int
    parameters: int
    perplexity: dict[str, float]
    """Held-out perplexity (exact softmax) of each direction at the best epoch."""
    history: dict[str, list[float]]
    epochs_run: int
    resumed_from_epoch: int
    seconds: float
    strategy: str
    run_dir: Path | None = None
    warnings: list[str] = field(default_factory=list)


@dataclass
class Corpus:
    train: np.ndarray
    """Rows [n, window + 1] of token ids to learn from."""
    heldout: np.ndarray
    vocabulary: list[str]
    sources: list[str]
    texts: int
    heldout_texts: int
    tokens: int
    learned: LearnedTexts
    """Every text read, held-out ones too (seqsent.data.provenance): recorded with the encoder."""


def pretrain_language_model(config: LanguageModelConfig, verbose: int = 1, notify=None,
                            restart: bool = False) -> PretrainLMReport:
    """Train the language model of `config` and write its encoder directory to config.output."""
    from seqsent.training.strategy import start_distribution

    notify = notify or (lambda message: None)
    config.validate()
    check_sources(config)
    check_output_dir(config.output, config.overwrite, owned=ENCODER_FILES)  # before an hour of training, not after
    check_creatable(config.runs_dir, "--runs-dir", directory=True)
    distribution, warnings = start_distribution(config.strategy)
    notify(f"Strategy: {distribution.describe()}")
    corpus = build_corpus(config, notify)
    data_key = hashlib.sha256(corpus.train.tobytes()).hexdigest()[:16]  # the same command on other texts: a new run
    work_dir, lock = claim_run_dir(config.to_json() + data_key, config.runs_dir, _run_name(config))
    try:
        if restart:
            if remove_backup(work_dir):
                notify(f"--restart: removed the backup in {work_dir / BACKUP_DIR}; starting from epoch 1")
        return _pretrain_in(work_dir, config, corpus, distribution, verbose, notify, warnings)
    except KeyboardInterrupt:
        if discard_if_unstarted(work_dir):
            raise Interrupted("interrupted before the first epoch finished; nothing to resume (run the command "
                              "again to start over)") from None
        raise Interrupted(f"interrupted; the backup of the last finished epoch is in {work_dir / BACKUP_DIR}: run "
                          "the same command again to resume from it") from None
    except TrainingError:  # its message may name the run's files, kept
        raise
    except BaseException:
        discard_if_unstarted(work_dir)
        raise
    finally:
        lock.close()


def _run_name(config: LanguageModelConfig) -> str:
    return "lm-" + (Path(config.output).expanduser().name or "encoder")


def build_corpus(config: LanguageModelConfig, notify) -> Corpus:
    """Texts -> held-out and training rows of token ids, with a vocabulary learned from the training texts."""
    from seqsent.data.unlabelled import collect_texts
    from seqsent.text import adapt_vectorizer

    texts, sources, notes = collect_texts(config.data_config(), config.unlabelled, config.include_unsup, notify,
                                          config.unlabelled_text_column)
    for note in notes:
        notify(f"Note: {note}")
    if len(texts) < 10:
        raise DataError(f"{len(texts)} text(s) to learn from: a language model needs at least 10, a tenth of them "
                        "held out to measure its perplexity; give more text (--unlabelled)")
    order = np.random.default_rng(config.seed).permutation(len(texts))
    held = min(config.heldout_texts, len(texts) // 10)
    heldout_texts = [texts[i] for i in order[:held]]
    heldout_keys = {comparison_key(text) for text in heldout_texts} - {""}
    train_texts = [texts[i] for i in order[held:] if comparison_key(texts[i]) not in heldout_keys]
    if held + len(train_texts) < len(texts):  # a copy of a held-out text would be trained on: perplexity too low
        if not train_texts:
            raise DataError(f"every one of the {len(texts):,} texts is a copy of one of the {held:,} held out to "
                            f"measure perplexity ({len(heldout_keys):,} distinct texts, case and punctuation aside): "
                            "nothing is left to train on; give more distinct text (--unlabelled)")
        notify(f"Note: {len(texts) - held - len(train_texts):,} training text(s) left out: copies of held-out texts "
               "(case and punctuation aside)")
    notify(f"Learning the vocabulary (up to {config.max_tokens:,} terms) from {len(train_texts):,} texts")
    vectorizer = adapt_vectorizer(TextConfig(max_tokens=config.max_tokens), train_texts)
    notify(f"Vocabulary: {vectorizer.vocabulary_size():,} terms (the padding and out-of-vocabulary entries included)")
    train_stream = token_stream(_encode(vectorizer, train_texts, notify))
    train = stream_rows(train_stream, config.window)
    heldout = stream_rows(token_stream(_encode(vectorizer, heldout_texts)), config.window) if held else train[:0]
    if len(train) < config.batch_size or not len(heldout):
        raise DataError(f"{len(train_texts):,} training texts ({len(train_stream):,} tokens; {held:,} more held out) "
                        f"are too few for a language model with --window {config.window} and --batch-size "
                        f"{config.batch_size} ({len(train):,} rows of {config.window + 1} tokens, "
                        f"{len(heldout):,} held out): give more text (--unlabelled) or smaller values")
    return Corpus(train, heldout, vectorizer.get_vocabulary(), sources, len(train_texts), held, len(train_stream),
                  learned_texts(texts, config.data))


def _encode(vectorizer, texts: list[str], notify=None) -> tf.RaggedTensor:
    from seqsent.progress import Ticker

    chunks = []
    ticker = Ticker(notify, "Vectorising", total=len(texts), unit="texts")
    for start in range(0, len(texts), 1024):
        ticker.update(start)
        ids = vectorizer(tf.constant(texts[start : start + 1024], dtype=tf.string))
        chunks.append(tf.RaggedTensor.from_tensor(ids, padding=0))
    return tf.concat(chunks, axis=0)


def _pretrain_in(work_dir: Path, config: LanguageModelConfig, corpus: Corpus, distribution, verbose: int, notify,
                 warnings: list[str]) -> PretrainLMReport:
    from seqsent.training.backup import restore

    write_run_config(work_dir, config.to_dict())
    keras.utils.set_random_seed(config.seed)
    total_steps = config.epochs * (len(corpus.train) // (config.batch_size * distribution.replicas))
    lm = _build_and_compile(config, len(corpus.vocabulary), distribution, max(total_steps, 1))
    state = restore(lm, work_dir / BACKUP_DIR, distribution, config.epochs)
    resumed_from = state.epoch
    if resumed_from:
        notify(f"Resuming from the backup in {work_dir / BACKUP_DIR}: {first_epochs(resumed_from)} of "
               f"{config.epochs} {'is' if resumed_from == 1 else 'are'} done (--restart starts over)")
    started = time.perf_counter()
    history = _fit_remaining_epochs(lm, config, corpus, state, work_dir, distribution, verbose, notify)
    seconds = time.perf_counter() - started
    perplexity = heldout_perplexity(lm, corpus.heldout, config.batch_size)
    metadata = encoder_metadata(config.arch, config.layers, config.units, config.embedding_dim, len(corpus.vocabulary),
                                history=history, perplexity=perplexity, sources=corpus.sources,
                                config=config.to_dict())
    with staged_directory(config.output, config.overwrite, owned=ENCODER_FILES) as staging:
        write_encoder(staging, lm, corpus.vocabulary, metadata, corpus.learned)
    remove_training_leftovers(work_dir)
    run_dir = finish_run_dir(work_dir, Path(config.runs_dir) / _run_name(config), time.strftime("%Y%m%d-%H%M%S"))
    return PretrainLMReport(
        output=Path(config.output).expanduser(), arch=config.arch, sources=corpus.sources, texts=corpus.texts,
        heldout_texts=corpus.heldout_texts, tokens=corpus.tokens, vocabulary_size=len(corpus.vocabulary),
        parameters=int(sum(np.prod(w.shape) for w in lm.trainable_weights)), perplexity=perplexity, history=history,
        epochs_run=len(history.get("loss", [])), resumed_from_epoch=resumed_from, seconds=seconds,
        strategy=distribution.describe(), run_dir=run_dir, warnings=warnings)


def _build_and_compile(config: LanguageModelConfig, vocabulary_size: int, distribution,
                       total_steps: int) -> LanguageModel:
    cell, bidirectional = RECURRENT_ARCHS[config.arch]
    with distribution.strategy.scope():
        lm = LanguageModel(vocabulary_size, config.embedding_dim, cell, config.units, config.layers,
                           directions=2 if bidirectional else 1, num_sampled=min(config.sampled, vocabulary_size - 1),
                           dropout=config.dropout, seed=config.seed)
        # Linear decay to 1e-4 over all epochs: with it a large starting rate (1e-2) reached held-out perplexity
        # 249/239 in one IMDB pass, where 2e-3 with clipnorm 1 stalled at 448/498 (docs/unlabelled.md).
        rate = keras.optimizers.schedules.PolynomialDecay(config.learning_rate, total_steps,
                                                          end_learning_rate=min(1e-4, config.learning_rate))
        lm.compile(optimizer=keras.optimizers.Adam(rate, global_clipnorm=config.clipnorm or None))
        lm.optimizer.build(lm.trainable_variables)  # so that a backup can be loaded into it
    return lm


def _fit_remaining_epochs(lm: LanguageModel, config: LanguageModelConfig, corpus: Corpus, state, work_dir: Path,
                          distribution, verbose: int, notify) -> dict[str, list[float]]:
    from seqsent.training.callbacks import CtrlCBetweenSteps, make_callbacks
    from seqsent.training.multi_worker import keras_multi_worker_fixes

    callbacks, nan_guard, checkpoint = make_callbacks(config.patience, work_dir, state)
    epochs_left = range(state.epoch, config.epochs) if not state.stopped else range(0)
    if not epochs_left:
        checkpoint.set_model(lm)
        checkpoint.restore_best()
        return checkpoint.state.history
    global_batch = config.batch_size * distribution.replicas
    train = training_rows(corpus.train, global_batch, config.seed, epochs_left)
    with keras_multi_worker_fixes(distribution.strategy), CtrlCBetweenSteps() as ctrl_c:
        lm.fit(train, validation_data=heldout_rows(corpus.heldout, global_batch), epochs=config.epochs,
               initial_epoch=state.epoch, steps_per_epoch=int(train.cardinality()) // len(epochs_left),
               callbacks=[*callbacks, ctrl_c, _PerplexityNotes(notify)], verbose=verbose, shuffle=False)
    if nan_guard.bad_batch is not None:
        raise TrainingError(f"pretraining stopped: the loss became NaN/inf at {nan_guard.where}; try a lower "
                            f"--learning-rate (now {config.learning_rate})")
    return checkpoint.state.history


class _PerplexityNotes(keras.callbacks.Callback):
    """One line per epoch: the held-out perplexity, which a loss in nats hides."""

    def __init__(self, notify):
        super().__init__()
        self.notify = notify

    def on_epoch_end(self, epoch, logs=None):
        loss = (logs or {}).get("val_loss")
        if loss is not None and math.isfinite(loss):
            self.notify(f"Epoch {epoch + 1}: held-out perplexity {math.exp(loss):.1f} "
                        f"(training loss {logs.get('loss', float('nan')):.3f}, sampled softmax)")


def heldout_perplexity(lm: LanguageModel, rows: np.ndarray, batch_size: int) -> dict[str, float]:
    """exp(mean exact loss) of each direction on the held-out rows."""
    names = ["forward", "backward"][: lm.directions]
    step = tf.function(lambda batch: tf.stack(lm.direction_losses(batch, training=False, sampled=False)))
    totals = np.zeros(lm.directions)
    for batch in heldout_rows(rows, batch_size):
        totals += step(batch).numpy() * len(batch)  # each batch's mean, weighted by its rows
    return {name: float(math.exp(total / max(len(rows), 1))) for name, total in zip(names, totals)}
