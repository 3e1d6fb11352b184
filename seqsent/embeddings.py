"""In-domain word vectors: learn them with gensim, read word2vec / GloVe files, align them to a vocabulary.

    report = pretrain_embeddings(PretrainConfig(data="aclImdb_v1.tar.gz", output="imdb.vec"))
    aligned = align_embeddings("imdb.vec", vectorizer.get_vocabulary(), seed=1337)
    aligned.matrix        # [vocabulary size, dim]: row 0 (padding) zeros, rows of words not in the file random
    aligned.describe()    # "embeddings cover 97.1% of the vocabulary (9,709 of 9,998 words) ..."

Texts are tokenised for gensim with the model's own standardisation (seqsent.text.standardize_text,
run through TensorFlow in batches) and split on spaces, exactly as TextVectorization splits them,
so the terms of the vector file are the terms of the model's vocabulary.

File formats read (detected from the content, not the name):
- word2vec text: a header line "<count> <dim>", then "<word> <v1> ... <vdim>" per line (fastText .vec too);
- word2vec binary: the same header, then per word "<word> " and dim little-endian float32 values;
- GloVe text: no header, "<word> <v1> ... <vdim>" per line.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Optional

import numpy as np

from seqsent.errors import DataError, UsageError

METHODS = ("word2vec", "fasttext")
FORMATS = ("text", "binary")
PAD_INDEX = 0
MAX_DIMENSION = 65536
TOKENIZE_BATCH = 1024


@dataclass
class PretrainConfig:
    """Settings of `seqsent pretrain-embeddings`; the CLI reads its defaults from here."""

    data: str = "sample"
    """Labelled data whose train texts are used (labels ignored, test split never): any --data source of train."""
    unlabelled: list[str] = field(default_factory=list)
    """More texts: plain-text files (one text per line) or aclImdb dirs/archives (their train/unsup reviews)."""
    include_unsup: bool = True
    """With an aclImdb --data, also read its 50,000 unlabelled train/unsup reviews."""
    output: str = "embeddings.vec"
    method: str = "word2vec"
    """word2vec (skip-gram) or fasttext (skip-gram with character n-grams)."""
    dim: int = 128
    window: int = 5
    min_count: int = 2
    epochs: int = 5
    negative: int = 5
    file_format: str = "text"
    """text (word2vec text, readable by GloVe/fastText tools too) or binary (word2vec binary)."""
    workers: int = 0
    """Threads; 0 uses every CPU core."""
    seed: int = 1337

    def validate(self) -> "PretrainConfig":
        checks = [
            (self.method in METHODS, f"--method must be one of {', '.join(METHODS)}, not {self.method!r}"),
            (self.file_format in FORMATS, f"--format must be one of {', '.join(FORMATS)}"),
            (1 <= self.dim <= MAX_DIMENSION, f"--dim must be between 1 and {MAX_DIMENSION:,}, not {self.dim}"),
            (1 <= self.window <= 1000, f"--window must be between 1 and 1000, not {self.window}"),
            (self.min_count >= 1, f"--min-count must be at least 1, not {self.min_count}"),
            (1 <= self.epochs <= 1000, f"--epochs must be between 1 and 1000, not {self.epochs}"),
            (0 <= self.negative <= 100, f"--negative must be between 0 and 100, not {self.negative}"),
            (0 <= self.workers <= 1024, f"--workers must be between 0 and 1024, not {self.workers}"),
            (0 <= self.seed < 2**32, f"--seed must be between 0 and {2**32 - 1}, not {self.seed}"),
            (bool(self.output), "--output must be a file path"),
        ]
        for ok, message in checks:
            if not ok:
                raise UsageError(message)
        out = Path(self.output).expanduser()
        if out.is_dir():
            raise UsageError(f"--output {self.output}: is a directory; give a file path")
        return self


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


@dataclass
class AlignedEmbeddings:
    """An Embedding matrix for a TextVectorization vocabulary, and how much of it the file covered."""

    matrix: np.ndarray
    found: int
    """Vocabulary terms (padding and OOV excluded) that have a vector in the file."""
    terms: int
    """Vocabulary terms, padding and OOV excluded."""
    path: str
    file_format: str

    @property
    def dim(self) -> int:
        return int(self.matrix.shape[1])

    @property
    def coverage(self) -> float:
        return self.found / self.terms if self.terms else 0.0

    def describe(self) -> str:
        return (f"embeddings cover {100 * self.coverage:.1f}% of the vocabulary ({self.found:,} of {self.terms:,} "
                f"words; the others and OOV start random) from {self.path} ({self.file_format}, {self.dim} dimensions)")


# ---------------------------------------------------------------------------------------------------------------------
# Tokenisation shared with the model


def tokenize(texts: Iterable[str], batch_size: int = TOKENIZE_BATCH) -> Iterator[list[str]]:
    """Token lists, standardised by seqsent.text.standardize_text and split on spaces as TextVectorization does."""
    import tensorflow as tf

    from seqsent.text import standardize_text

    batch: list[str] = []

    def flush():
        standardized = standardize_text(tf.constant(batch, dtype=tf.string)).numpy()
        for value in standardized:
            yield [token for token in value.decode("utf-8").split(" ") if token]

    for text in texts:
        batch.append(text)
        if len(batch) == batch_size:
            yield from flush()
            batch = []
    if batch:
        yield from flush()


# ---------------------------------------------------------------------------------------------------------------------
# Pretraining


def read_text_lines(path: Path) -> list[str]:
    """One text per non-empty line of a UTF-8 text file (undecodable bytes replaced)."""
    try:
        with open(path, "rb") as handle:
            return [line.decode("utf-8", errors="replace").strip() for line in handle if line.strip()]
    except OSError as exc:
        raise DataError(f"{path}: cannot read it ({exc.strerror or exc})") from None


def read_unlabelled_source(source: str) -> list[str]:
    """Texts of an --unlabelled source: an aclImdb dir/archive (its train/unsup) or a text file (one per line)."""
    from seqsent.data.aclimdb import is_archive, read_unlabelled

    path = Path(source).expanduser()
    if not path.exists():
        raise DataError(f"--unlabelled {source}: no such file or directory")
    if path.is_dir() or is_archive(path):
        texts = read_unlabelled(path)
        if not texts:
            raise DataError(f"--unlabelled {source}: no train/unsup/*.txt reviews in it")
        return texts
    return read_text_lines(path)


def collect_texts(config: PretrainConfig) -> tuple[list[str], list[str]]:
    """(texts, one description per source): --data's train texts (never test), its unsup, --unlabelled files."""
    from seqsent.config import DataConfig
    from seqsent.data import load_dataset
    from seqsent.data.aclimdb import is_archive, read_unlabelled

    dataset = load_dataset(DataConfig(source=config.data))
    texts = dataset.train.texts + dataset.validation.texts
    sources = [f"{len(texts):,} train texts of {dataset.description} (labels not used; test not read)"]
    path = Path(config.data).expanduser()
    if config.include_unsup and config.data not in ("sample", "imdb") and (path.is_dir() or is_archive(path)):
        unsup = read_unlabelled(path)
        if unsup:
            texts += unsup
            sources.append(f"{len(unsup):,} unlabelled reviews (train/unsup) of {path}")
    for source in config.unlabelled:
        extra = read_unlabelled_source(source)
        texts += extra
        sources.append(f"{len(extra):,} texts of {source}")
    return texts, sources


def pretrain_embeddings(config: PretrainConfig) -> PretrainReport:
    """Learn word vectors with gensim on the collected texts and write them atomically to config.output."""
    import time

    config.validate()
    _check_writable(Path(config.output).expanduser())
    started = time.perf_counter()
    texts, sources = collect_texts(config)
    sentences = list(tokenize(texts))
    tokens = sum(len(s) for s in sentences)
    if tokens == 0:
        raise DataError("the texts hold no tokens to learn word vectors from")
    words = train_vectors(sentences, config)
    report_words = len(words.index_to_key)
    if report_words == 0:
        raise DataError(f"no word occurs {config.min_count} times or more; lower --min-count or give more text")
    write_vectors(words, Path(config.output).expanduser(), binary=config.file_format == "binary")
    return PretrainReport(output=Path(config.output).expanduser(), method=config.method, dim=config.dim,
                          words=report_words, texts=len(texts), tokens=tokens, sources=sources,
                          seconds=time.perf_counter() - started)


def train_vectors(sentences: list[list[str]], config: PretrainConfig):
    """gensim KeyedVectors learned by skip-gram word2vec or fastText."""
    from gensim.models import FastText, Word2Vec

    model_cls = Word2Vec if config.method == "word2vec" else FastText
    workers = config.workers or os.cpu_count() or 1
    model = model_cls(sentences=sentences, vector_size=config.dim, window=config.window, min_count=config.min_count,
                      sg=1, negative=config.negative, epochs=config.epochs, workers=workers, seed=config.seed)
    return model.wv


def write_vectors(words, output: Path, binary: bool = False) -> None:
    """word2vec text or binary, written to a temporary file beside `output` and renamed into place."""
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".tmp", dir=output.parent)
    os.close(fd)
    try:
        words.save_word2vec_format(tmp, binary=binary)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; a vector file is as readable as any other output
        os.replace(tmp, output)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _check_writable(output: Path) -> None:
    existing = output.parent
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"--output {output}: {existing} is not a writable directory")


# ---------------------------------------------------------------------------------------------------------------------
# Reading vector files


def _file_error(path: Path, message: str) -> DataError:
    return DataError(f"--embeddings {path}: {message}")


def _parse_header(line: bytes) -> Optional[tuple[int, int]]:
    """(count, dim) for a word2vec header line "<count> <dim>", else None (GloVe has no header)."""
    fields = line.split()
    if len(fields) == 2 and all(f.isdigit() for f in fields):
        return int(fields[0]), int(fields[1])
    return None


def _looks_like_text_row(line: bytes, dim: int) -> bool:
    try:
        fields = line.decode("utf-8").rstrip("\n").rstrip(" ").split(" ")
        if len(fields) < dim + 1:
            return False
        [float(v) for v in fields[-dim:]]
        return True
    except (UnicodeDecodeError, ValueError):
        return False


def sniff_format(path: str | Path) -> tuple[str, int]:
    """('word2vec-text' | 'word2vec-binary' | 'glove-text', dimension), from the first lines of the file."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise _file_error(path, "no such file")
    try:
        with open(path, "rb") as handle:
            first = handle.readline(1 << 20)
            if not first.strip():
                raise _file_error(path, "empty, or its first line is blank; expected a word2vec or GloVe vector file")
            header = _parse_header(first)
            if header is not None:
                count, dim = header
                if not 1 <= dim <= MAX_DIMENSION:
                    raise _file_error(path, f"its header gives {dim} dimensions; expected 1 to {MAX_DIMENSION:,}")
                peek = handle.read(min(1 << 20, 64 + 32 * dim))
                row = peek.split(b"\n", 1)[0] if b"\n" in peek else peek
                if count and not peek:
                    raise _file_error(path, f"its header announces {count:,} words but no vector follows")
                return ("word2vec-text" if (not peek or _looks_like_text_row(row, dim)) else "word2vec-binary"), dim
            try:
                fields = first.decode("utf-8").rstrip("\n").rstrip(" ").split(" ")
            except UnicodeDecodeError:
                raise _file_error(path, "not a word-vector file (its first line is not UTF-8 text)") from None
            dim = len(fields) - 1
            if dim < 1 or not _looks_like_text_row(first, dim):
                raise _file_error(path, "not a word2vec or GloVe file: the first line is neither a '<count> <dim>' "
                                        "header nor '<word> <number> <number> ...'")
            return "glove-text", dim
    except OSError as exc:
        raise _file_error(path, f"cannot read it ({exc.strerror or exc})") from None


def vector_dimension(path: str | Path) -> int:
    """The dimension of the vectors in a word2vec/GloVe file (reads its first lines only)."""
    return sniff_format(path)[1]


def _finite(path: Path, where: str, vector: np.ndarray) -> np.ndarray:
    if not np.all(np.isfinite(vector)):
        raise _file_error(path, f"{where} holds a NaN or infinite value")
    return vector


def iter_vectors(path: str | Path, wanted: Optional[set[str]] = None) -> Iterator[tuple[str, np.ndarray]]:
    """(word, float32 vector) of each entry, in file order; with `wanted`, only those words are parsed."""
    path = Path(path).expanduser()
    kind, dim = sniff_format(path)
    try:
        with open(path, "rb") as handle:
            if kind == "word2vec-binary":
                yield from _iter_binary(path, handle, dim, wanted)
            else:
                yield from _iter_text(path, handle, dim, kind == "word2vec-text", wanted)
    except OSError as exc:
        raise _file_error(path, f"cannot read it ({exc.strerror or exc})") from None


def _iter_text(path: Path, handle, dim: int, has_header: bool, wanted):
    if has_header:
        handle.readline()
    for number, raw in enumerate(handle, start=2 if has_header else 1):
        line = raw.rstrip(b"\r\n")
        if not line.strip():
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            text = line.decode("utf-8", errors="replace")
        fields = text.rstrip(" ").split(" ")
        if len(fields) < dim + 1:
            raise _file_error(path, f"line {number:,} has {len(fields) - 1} values; expected {dim}")
        word = " ".join(fields[:-dim])  # some GloVe files have words holding spaces
        if wanted is not None and word not in wanted and word.lower() not in wanted:
            continue
        try:
            vector = np.asarray(fields[-dim:], dtype=np.float32)
        except ValueError:
            raise _file_error(path, f"line {number:,} holds a value that is not a number") from None
        yield word, _finite(path, f"line {number:,}", vector)


def _iter_binary(path: Path, handle, dim: int, wanted):
    count, _ = _parse_header(handle.readline())
    width = 4 * dim
    for number in range(1, count + 1):
        word_bytes = bytearray()
        while True:
            byte = handle.read(1)
            if not byte:
                raise _file_error(path, f"truncated: the header announces {count:,} words, the file ends in word "
                                        f"{number:,}")
            if byte == b" ":
                break
            if byte != b"\n" or word_bytes:  # gensim and the original tool put a newline before each word
                word_bytes += byte
            if len(word_bytes) > 10000:
                raise _file_error(path, f"word {number:,} is over 10,000 bytes long: not a word2vec binary file")
        data = handle.read(width)
        if len(data) < width:
            raise _file_error(path, f"truncated: the vector of word {number:,} of {count:,} is incomplete")
        word = word_bytes.decode("utf-8", errors="replace").lstrip("\n")
        if wanted is not None and word not in wanted and word.lower() not in wanted:
            continue
        yield word, _finite(path, f"the vector of word {number:,}", np.frombuffer(data, dtype="<f4").astype(np.float32))


def load_vectors(path: str | Path) -> dict[str, np.ndarray]:
    """Every vector of a (small) file, first occurrence of each word kept."""
    vectors: dict[str, np.ndarray] = {}
    for word, vector in iter_vectors(path):
        vectors.setdefault(word, vector)
    return vectors


# ---------------------------------------------------------------------------------------------------------------------
# Alignment to a TextVectorization vocabulary


def align_embeddings(path: str | Path, vocabulary: list[str], dim: Optional[int] = None, seed: int = 1337
                     ) -> AlignedEmbeddings:
    """A [len(vocabulary), dim] matrix for TextVectorization ids (0 padding, 1 OOV, then terms).

    Row 0 is zeros. Each term takes the file's vector for it (an exact match, else the vector of
    a differently cased form, e.g. "Film" for "film"); OOV and terms the file lacks get random
    vectors of the same per-value spread as the file's, so they start neither silent nor loud.
    `dim`, when given, must equal the file's dimension (a UsageError otherwise).
    """
    path = Path(path).expanduser()
    kind, file_dim = sniff_format(path)
    if dim is not None and dim != file_dim:
        raise UsageError(f"--embedding-dim {dim} does not match the {file_dim}-dimensional vectors of {path}; "
                         f"give --embedding-dim {file_dim} or leave it out")
    index = {term: i for i, term in enumerate(vocabulary) if i > 1 and term}
    lowered: dict[str, int] = {}
    for term, i in index.items():
        lowered.setdefault(term.lower(), i)
    matrix = np.zeros((len(vocabulary), file_dim), dtype=np.float32)
    exact = np.zeros(len(vocabulary), dtype=bool)
    by_case = np.zeros(len(vocabulary), dtype=bool)
    for word, vector in iter_vectors(path, wanted=set(index) | set(lowered)):
        i = index.get(word)
        if i is not None:
            if not exact[i]:
                matrix[i], exact[i] = vector, True
            continue
        i = lowered.get(word.lower())
        if i is not None and not exact[i] and not by_case[i]:
            matrix[i], by_case[i] = vector, True
    found_rows = exact | by_case
    found = int(found_rows.sum())
    if found == 0:
        raise _file_error(path, f"none of the {len(index):,} vocabulary words has a vector in it; is it a vector "
                                "file for this language, tokenised like seqsent (lowercase, no punctuation)?")
    spread = float(matrix[found_rows].std()) or 0.05
    rng = np.random.default_rng(seed)
    missing = ~found_rows
    missing[0] = False  # padding stays zeros
    matrix[missing] = rng.normal(0.0, spread, size=(int(missing.sum()), file_dim)).astype(np.float32)
    human = {"word2vec-text": "word2vec text", "word2vec-binary": "word2vec binary", "glove-text": "GloVe text"}[kind]
    return AlignedEmbeddings(matrix=matrix, found=found, terms=len(index), path=str(path), file_format=human)
