"""Pretrained word vectors for the Embedding layer: read word2vec / GloVe files, align them to a vocabulary.

    aligned = align_embeddings("imdb.vec", vectorizer.get_vocabulary(), seed=1337)
    aligned.matrix        # [vocabulary size, dim]: row 0 (padding) zeros, rows of words not in the file random
    aligned.describe()    # "embeddings cover 97.1% of the vocabulary (9,709 of 9,998 words) ..."

File formats read (detected from the content, not the name):
- word2vec text: a header line "<count> <dim>", then "<word> <v1> ... <vdim>" per line (fastText .vec too);
- word2vec binary: the same header, then per word "<word> " and dim little-endian float32 values;
- GloVe text: no header, "<word> <v1> ... <vdim>" per line.
(`seqsent pretrain-embeddings`, seqsent.pretraining.word2vec, writes the first two.)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

import numpy as np

from seqsent.errors import DataError, UsageError

MAX_DIMENSION = 65536


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
# Reading vector files


def _file_error(path: Path, message: str) -> DataError:
    return DataError(f"--embeddings {path}: {message}")


def _parse_header(line: bytes) -> Optional[tuple[int, int]]:
    """(count, dim) for a word2vec header line "<count> <dim>", else None (GloVe has no header)."""
    fields = line.split()
    if len(fields) == 2 and all(f.isdigit() for f in fields):
        return int(fields[0]), int(fields[1])
    return None


BOM = b"\xef\xbb\xbf"  # a UTF-8 byte-order mark some editors and Windows tools put first


def _text_row_values(line: bytes) -> Optional[int]:
    """How many values a '<word> <number> ...' text row holds (None if it is not one: a binary row, say)."""
    try:
        fields = line.decode("utf-8").rstrip("\r\n").rstrip(" ").split(" ")
        [float(v) for v in fields[1:]]
    except (UnicodeDecodeError, ValueError):
        return None
    return len(fields) - 1 if len(fields) > 1 else None


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
            first = handle.readline(1 << 20).removeprefix(BOM)
            if first.startswith(b"\x1f\x8b"):
                raise _file_error(path, "a gzip file: decompress it first (gunzip), vector files are read as they are")
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
                values = _text_row_values(row)
                if values is not None and values != dim:  # read otherwise as binary, or words glued to numbers
                    raise _file_error(path, f"line 2 has {values} values; its header says {dim}")
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
    """A word2vec header's word count is checked against the lines that follow: a file cut short (a copy that
    stopped) or with lines appended reads otherwise like a smaller or larger vocabulary."""
    announced = _parse_header(handle.readline().removeprefix(BOM))[0] if has_header else None
    words = 0
    for number, raw in enumerate(handle, start=2 if has_header else 1):
        line = raw.rstrip(b"\r\n").removeprefix(BOM) if number == 1 else raw.rstrip(b"\r\n")
        if not line.strip():
            continue
        words += 1
        if announced is not None and words > announced:
            raise _file_error(path, f"line {number:,} is past the {announced:,} words its header announces")
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            text = line.decode("utf-8", errors="replace")
        fields = text.rstrip(" ").split(" ")
        if len(fields) < dim + 1:
            raise _file_error(path, f"line {number:,} has {len(fields) - 1} values; expected {dim}")
        word = " ".join(fields[:-dim])  # some GloVe files have words holding spaces
        if len(fields) > dim + 1 and _text_row_values(line) is not None:  # not a word with spaces: a number more
            raise _file_error(path, f"line {number:,} has {len(fields) - 1} values; expected {dim}")
        if wanted is not None and word not in wanted and word.lower() not in wanted:
            continue
        try:
            vector = np.asarray(fields[-dim:], dtype=np.float32)
        except ValueError:
            raise _file_error(path, f"line {number:,} holds a value that is not a number") from None
        yield word, _finite(path, f"line {number:,}", vector)
    if announced is not None and words < announced:
        raise _file_error(path, f"truncated: the header announces {announced:,} words, the file holds {words:,}")


def _iter_binary(path: Path, handle, dim: int, wanted):
    count, _ = _parse_header(handle.readline().removeprefix(BOM))
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
    if handle.read(4096).strip():
        raise _file_error(path, f"more follows the {count:,} words its header announces")


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
