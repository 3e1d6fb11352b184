"""In-domain word vectors learned with gensim (skip-gram word2vec or fastText), for `train --embeddings`.

    report = pretrain_embeddings(WordVectorConfig(data="aclImdb_v1.tar.gz", output="imdb.vec"))

Texts are tokenised with the model's own standardisation (seqsent.text.tokenize), so the terms of
the vector file are the terms of the model's vocabulary; seqsent.models.pretrained_vectors reads
the file back and aligns it to a vocabulary.
"""

from __future__ import annotations

import logging
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

from seqsent.config import WordVectorConfig
from seqsent.data.provenance import learned_texts, vectors_record, write_record
from seqsent.errors import DataError
from seqsent.files import check_creatable, check_output_file, replace_atomically, sha256_of
from seqsent.pretraining import check_sources
from seqsent.progress import Ticker


@dataclass
class PretrainReport:
    output: Path
    method: str
    dim: int
    words: int
    """Distinct words with a vector (those seen at least min_count times)."""
    texts: int
    tokens: int
    sources: list[str]
    seconds: float


def pretrain_embeddings(config: WordVectorConfig, notify=None) -> PretrainReport:
    """Learn word vectors with gensim on the collected texts and write them atomically to config.output."""
    from seqsent.data.unlabelled import collect_texts
    from seqsent.text import tokenize

    config.validate()
    check_sources(config)
    output = check_output_file(config.output, config.overwrite)
    check_creatable(output, "--output", directory=False)
    started = time.perf_counter()
    texts, sources, notes = collect_texts(config.data_config(), config.unlabelled, config.include_unsup, notify,
                                          config.unlabelled_text_column)
    for note in notes:
        (notify or (lambda message: None))(f"Note: {note}")
    sources += notes
    ticker = Ticker(notify, "Tokenising", total=len(texts), unit="texts")
    sentences = []
    for sentence in tokenize(texts):
        sentences.append(sentence)
        ticker.update(len(sentences))
    tokens = sum(len(s) for s in sentences)
    if tokens == 0:
        raise DataError("the texts hold no tokens to learn word vectors from")
    words = train_vectors(sentences, config, notify)
    check_output_file(output, config.overwrite)  # someone may have written there meanwhile
    with replace_atomically(output) as tmp:
        words.save_word2vec_format(str(tmp), binary=config.file_format == "binary")
        # The record first, naming the vectors by their digest: a crash before the rename leaves a record that
        # belongs to no vector file, never a vector file judged by another run's record.
        write_record(vectors_record(output), learned_texts(texts, config.data), sha256_of(tmp))
    return PretrainReport(output=output, method=config.method, dim=config.dim, words=len(words.index_to_key),
                          texts=len(texts), tokens=tokens, sources=sources, seconds=time.perf_counter() - started)


def train_vectors(sentences: list[list[str]], config: WordVectorConfig, notify=None):
    """gensim KeyedVectors learned by skip-gram word2vec or fastText; `notify` hears how far each epoch has got
    (gensim's own progress log, at most every few seconds) and each epoch's end."""
    from gensim.models import FastText, Word2Vec
    from gensim.models.callbacks import CallbackAny2Vec

    class EpochLines(CallbackAny2Vec):
        def __init__(self):
            self.epoch, self.started = 0, time.perf_counter()

        def on_epoch_end(self, model):
            self.epoch += 1
            if notify is not None:
                notify(f"{config.method} epoch {self.epoch}/{config.epochs} done "
                       f"({time.perf_counter() - self.started:.0f} s)")

    model_cls = Word2Vec if config.method == "word2vec" else FastText
    workers = config.workers or os.cpu_count() or 1
    progress = _GensimProgress(notify, config)
    gensim_log = logging.getLogger("gensim.models.word2vec")
    previous_level = gensim_log.level
    gensim_log.addHandler(progress)
    gensim_log.setLevel(logging.INFO)
    try:
        model = model_cls(vector_size=config.dim, window=config.window, min_count=config.min_count, sg=1,
                          negative=config.negative, epochs=config.epochs, workers=workers, seed=config.seed)
        model.build_vocab(corpus_iterable=sentences)
        if not model.wv.index_to_key:  # gensim's train() would fail with "you must first build vocabulary"
            raise DataError(f"no word occurs --min-count {config.min_count} times or more in the {len(sentences):,} "
                            f"texts ({sum(len(s) for s in sentences):,} words) read; lower --min-count or give "
                            "more text")
        model.train(corpus_iterable=sentences, total_examples=model.corpus_count, epochs=model.epochs,
                    callbacks=[EpochLines()])
    finally:
        gensim_log.removeHandler(progress)
        gensim_log.setLevel(previous_level)
    return model.wv


class _GensimProgress(logging.Handler):
    """gensim logs "EPOCH 0 - PROGRESS: at 12.34% examples, ..." every second: passed on every few seconds."""

    def __init__(self, notify, config: WordVectorConfig):
        super().__init__()
        self.ticker = Ticker(notify, config.method)
        self.epochs = config.epochs

    def emit(self, record):
        found = re.search(r"EPOCH (\d+) - PROGRESS: at ([\d.]+)% examples", record.getMessage())
        if found:
            epoch, share = int(found.group(1)) + 1, float(found.group(2))
            self.ticker.say(lambda: f"word vectors, epoch {epoch}/{self.epochs}: {share:.0f}% of the texts")
