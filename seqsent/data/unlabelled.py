"""Unlabelled texts: for word vectors and language models, and for semi-supervised training.

A source is an aclImdb directory or archive (its train/unsup reviews: 50,000 in aclImdb), a
.csv/.tsv/.jsonl table (its text column; labels ignored), or a plain-text file with one text per line.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from seqsent.data.dataset import comparison_key
from seqsent.errors import DataError
from seqsent.files import decode_utf8, read_bytes, refuse_utf16

if TYPE_CHECKING:
    from seqsent.config import DataConfig


def read_text_lines(path: Path, notes: list[str] | None = None) -> list[str]:
    """One text per non-empty line of a UTF-8 text file, gzipped or not (undecodable bytes replaced, and counted in
    `notes`; UTF-16 refused)."""
    data = read_bytes(path)
    refuse_utf16(data[:4096], path)
    content, replaced = decode_utf8(data)
    _note_replaced(path, replaced, notes)
    lines = [line.strip() for line in content.split("\n")]
    if lines:
        lines[0] = lines[0].removeprefix("\ufeff").strip()  # a byte-order mark is not part of the first text
    return [line for line in lines if line]


def _note_replaced(path, replaced: int, notes: list[str] | None) -> None:
    if replaced and notes is not None:
        notes.append(f"--unlabelled {path}: replaced {replaced} byte sequence(s) that were not UTF-8")


def read_unlabelled_source(source: str, notify=None, text_column: str = "text", notes: list[str] | None = None
                           ) -> list[str]:
    """Texts of an --unlabelled source: an aclImdb dir/archive (its train/unsup), a table's `text_column` (read
    as lines, its header and labels would become texts), or a text file (one per line). Bytes that were not UTF-8
    are counted in `notes`."""
    from seqsent.data.aclimdb import is_archive, read_unlabelled
    from seqsent.data.tables import is_text_table, text_column_rows

    path = Path(source).expanduser()
    if not path.exists():
        raise DataError(f"--unlabelled {source}: no such file or directory")
    if path.is_dir() or is_archive(path):
        texts = read_unlabelled(path, notify)
        if not texts:
            raise DataError(f"--unlabelled {source}: no train/unsup/*.txt reviews in it")
        return texts
    if is_text_table(path):
        texts, without, replaced = text_column_rows(path, text_column, f"--unlabelled {source}",
                                                    "chosen with --unlabelled-text-column, by default --text-column")
        _note_replaced(source, replaced, notes)
        if without and notes is not None:
            notes.append(f"--unlabelled {source}: skipped {without:,} row(s) with no text in its column "
                         f"{text_column!r}")
        return texts
    texts = read_text_lines(path, notes)
    if not texts:
        raise DataError(f"--unlabelled {source}: no texts in it (empty, or blank lines only)")
    return texts


def check_sources_once(sources: list[str], data_source: str | None = None) -> None:
    """A source given twice would count its texts twice (word2vec's --min-count passed by every word seen once, a
    language model's held-out texts also trained on); so would the --data file given again as --unlabelled."""
    from seqsent.errors import UsageError

    seen: dict[Path, str] = {}
    data_path = Path(data_source).expanduser().resolve() if data_source and Path(data_source).expanduser().exists() \
        else None
    for source in sources:
        resolved = Path(source).expanduser().resolve()
        if resolved in seen:
            raise UsageError(f"--unlabelled {source} is given twice ({seen[resolved]}): each source counts once")
        if resolved == data_path:
            raise UsageError(f"--unlabelled {source} is --data: its train texts are read already (its test texts "
                             "never are); leave it out")
        seen[resolved] = source


def without_test_texts(texts: list[str], test_texts: list[str]) -> list[str]:
    """`texts` less those the model reads as a test text (case and punctuation aside): learning from them would leak
    the test split into training."""
    test = {comparison_key(text) for text in test_texts} - {""}
    return [text for text in texts if comparison_key(text) not in test]


def collect_texts(data_source: str | DataConfig, unlabelled: list[str], include_unsup: bool = True, notify=None,
                  unlabelled_text_column: str | None = None) -> tuple[list[str], list[str], list[str]]:
    """Texts to learn from without labels, one description per source, and notes: the train texts of
    `data_source` (labels ignored, test never read), its train/unsup reviews when it is an aclImdb dir/archive
    and `include_unsup`, and every `unlabelled` source (a table's `unlabelled_text_column`, by default the data's
    text column); texts that are also test texts are left out."""
    from seqsent.config import DataConfig
    from seqsent.data import load_dataset
    from seqsent.data.aclimdb import is_archive, read_unlabelled

    data = data_source if isinstance(data_source, DataConfig) else DataConfig(source=data_source)  # a table's columns
    data_source = data.source
    check_sources_once(unlabelled, data_source if data_source != "none" else None)
    sources = []
    say = notify or (lambda message: None)

    def found(description: str) -> None:
        sources.append(description)
        say(f"Read {description}")

    from seqsent.data.streaming import wants_streaming

    notes = []
    if data_source == "none":  # pretraining.NO_DATA: the --unlabelled texts only
        texts, test_texts = [], []
    elif wants_streaming(data):
        texts, test_texts, description, notes = _streamed_texts(data, notify, need_test=bool(unlabelled))
        found(f"{len(texts):,} train texts of {description}, split by hash as `seqsent train` streams it (labels not "
              "used; test not read)")
    else:
        dataset = load_dataset(data, notify)
        texts, test_texts = dataset.train.texts + dataset.validation.texts, dataset.test.texts
        found(f"{len(texts):,} train texts of {dataset.description} (labels not used; test not read)")
    path = Path(data_source).expanduser()
    if include_unsup and data_source not in ("sample", "imdb") and (path.is_dir() or is_archive(path)):
        unsup = read_unlabelled(path, notify)
        if unsup:
            texts += unsup
            found(f"{len(unsup):,} unlabelled reviews (train/unsup) of {path}")
    for source in unlabelled:
        extra = read_unlabelled_source(source, notify, unlabelled_text_column or data.text_column, notes)
        texts += extra
        found(f"{len(extra):,} texts of {source}")
    kept = without_test_texts(texts, test_texts)
    if len(kept) < len(texts):
        notes.append(f"{len(texts) - len(kept):,} texts left out: they are also test texts (case and punctuation "
                     "aside)")
        if not kept:
            raise DataError("no texts left to learn from: every one is also a test text (case and punctuation "
                            "aside); give other text (--unlabelled)")
    if data_source == "none":
        notes.append("--data none: no test texts were known to leave out of the --unlabelled texts")
    return kept, sources, notes


def _streamed_texts(data: DataConfig, notify, need_test: bool) -> tuple[list[str], list[str], str, list[str]]:
    """Train and validation texts of data streamed, split as a streamed `seqsent train` splits it (by hash: not the
    stratified split of a table read into memory), and its test texts when other sources must be kept from them."""
    from seqsent.data.streaming import open_stream

    stream = open_stream(data, notify, need_counts=False)
    texts = [text for split in ("train", "validation") for text, _ in stream.rows(split, purpose="pretraining")]
    test_texts = [text for text, _ in stream.rows("test", purpose="pretraining")] if need_test else []
    return texts, test_texts, stream.description, stream.report.notes()


def read_unlabelled_sources(sources: list[str], test_texts: list[str], notify=None, text_column: str = "text"
                            ) -> tuple[list[str], list[str]]:
    """The texts of every --unlabelled source (a table's `text_column`), and notes for the user: how many were read,
    and how many are also test texts (learning from those would leak the test split into training: dropped)."""
    texts: list[str] = []
    replaced: list[str] = []
    check_sources_once(sources)
    for source in sources:
        texts += read_unlabelled_source(source, notify, text_column, replaced)
    kept = without_test_texts(texts, test_texts)
    notes = [f"unlabelled: {len(kept):,} texts from {', '.join(sources)}"] + replaced
    if len(kept) < len(texts):
        notes.append(f"{len(texts) - len(kept):,} unlabelled texts are also test texts (case and punctuation aside) "
                     "and were left out")
    if not kept:
        raise DataError(f"--unlabelled {', '.join(sources)}: no texts left to learn from: every one is also a test "
                        "text (case and punctuation aside)")
    return kept, notes
