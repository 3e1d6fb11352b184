"""The encoder directory `seqsent pretrain-lm` writes and `seqsent train --encoder DIR` reads.

    DIR/encoder.json                  what it is: arch, shapes, text settings, held-out perplexity, versions
    DIR/vocabulary.json               the vocabulary, in TextVectorization's order (0 padding, 1 OOV)
    DIR/language_model.weights.h5     the language model's weights
    DIR/texts.npz                     hashes of the texts it learned from (seqsent.data.provenance): train
                                      refuses a test split whose texts are among them

A classifier trained with --encoder takes the encoder's vocabulary and standardisation (so an
encoder learned on one corpus serves a classifier of another) and its recurrent shape (cell,
direction, layers, units, embedding dimension), then starts its Embedding and recurrent layers
from the language model's weights.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Collection

from seqsent.config import RECURRENT_ARCHS, STACKED_BIDIRECTIONAL_WHY, RunConfig, TextConfig, is_chosen
from seqsent.data.provenance import DIRECTORY_RECORD
from seqsent.errors import ModelError, UsageError
from seqsent.files import read_json

FORMAT = "seqsent-encoder"
FORMAT_VERSION = 1
ENCODER_FILE = "encoder.json"
VOCABULARY_FILE = "vocabulary.json"
WEIGHTS_FILE = "language_model.weights.h5"
TEXTS_FILE = DIRECTORY_RECORD
ENCODER_FILES = (ENCODER_FILE, VOCABULARY_FILE, WEIGHTS_FILE, TEXTS_FILE)
# Bumped when seqsent.text.standardize_text changes what it does: an encoder's vocabulary is only valid with
# the standardisation it was learned with. 2 composes accents written as combining marks (NFC pairs): a vocabulary
# of 1 is still valid when none of its terms holds a decomposed accent (what 2 reads otherwise).
STANDARDIZATION = "seqsent-standardize-2"
BEFORE_COMPOSED_ACCENTS = "seqsent-standardize-1"


@dataclass
class Encoder:
    path: Path
    metadata: dict
    vocabulary: list[str]

    @property
    def arch(self) -> str:
        return self.metadata["arch"]

    @property
    def shape(self) -> dict:
        """The classifier settings the encoder fixes: {'arch', 'layers', 'units', 'embedding_dim'}."""
        return {key: self.metadata[key] for key in ("arch", "layers", "units", "embedding_dim")}


def encoder_metadata(arch: str, layers: int, units: int, embedding_dim: int, vocabulary_size: int, *, history: dict,
                     perplexity: dict, sources: list[str], config: dict) -> dict:
    import keras
    import tensorflow as tf

    from seqsent.version import __version__

    return {
        "format": FORMAT, "format_version": FORMAT_VERSION, "seqsent_version": __version__,
        "tensorflow_version": tf.__version__, "keras_version": keras.__version__,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "arch": arch, "layers": layers, "units": units, "embedding_dim": embedding_dim,
        "vocabulary_size": vocabulary_size, "standardization": STANDARDIZATION,
        "perplexity": perplexity, "history": history, "sources": sources, "config": config,
    }


def write_encoder(directory: Path, lm, vocabulary: list[str], metadata: dict, learned) -> None:
    """The files into `directory` (a staging directory: seqsent.files.staged_directory renames it); `learned`: the
    seqsent.data.provenance.LearnedTexts of the texts learned from."""
    from seqsent.data.provenance import write_record

    (directory / VOCABULARY_FILE).write_text(json.dumps(vocabulary, ensure_ascii=False), encoding="utf-8")
    lm.save_weights(directory / WEIGHTS_FILE)
    write_record(directory / TEXTS_FILE, learned)
    (directory / ENCODER_FILE).write_text(json.dumps(metadata, indent=2, sort_keys=True), encoding="utf-8")


def read_encoder(path: str | Path) -> Encoder:
    """An encoder directory, checked: what `--encoder` needs is there, of this format, and consistent."""
    path = Path(path).expanduser()
    where = f"--encoder {path}"
    if not path.is_dir():
        raise ModelError(f"{where}: no such directory (give the --output directory of `seqsent pretrain-lm`)")
    metadata = _read_json(path / ENCODER_FILE, where)
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise ModelError(f"{where}: {ENCODER_FILE} does not describe a seqsent encoder")
    if metadata.get("format_version") != FORMAT_VERSION or metadata.get("standardization") not in (
            STANDARDIZATION, BEFORE_COMPOSED_ACCENTS):
        raise ModelError(f"{where}: written by seqsent {metadata.get('seqsent_version', '?')} (encoder format "
                         f"{metadata.get('format_version')!r}, {metadata.get('standardization')!r}); this seqsent reads "
                         f"format {FORMAT_VERSION}, {STANDARDIZATION}: pretrain it again with this seqsent")
    _check_shape(metadata, where)
    vocabulary = _read_json(path / VOCABULARY_FILE, where)
    if (not isinstance(vocabulary, list) or len(vocabulary) != metadata["vocabulary_size"]
            or not all(isinstance(t, str) for t in vocabulary) or vocabulary[:1] != [""]):
        raise ModelError(f"{where}: {VOCABULARY_FILE} is not the {metadata['vocabulary_size']:,}-term vocabulary "
                         f"{ENCODER_FILE} describes")
    if metadata.get("standardization") == BEFORE_COMPOSED_ACCENTS:
        import unicodedata

        decomposed = next((term for term in vocabulary if not unicodedata.is_normalized("NFC", term)), None)
        if decomposed is not None:
            raise ModelError(f"{where}: its vocabulary holds {decomposed!r}, an accent written as a combining mark, "
                             "which this seqsent's standardisation composes (a word the model never meets now): "
                             "pretrain it again with this seqsent")
    if not (path / WEIGHTS_FILE).is_file():
        raise ModelError(f"{where}: {WEIGHTS_FILE} is missing; is the directory complete?")
    return Encoder(path, metadata, vocabulary)


def _read_json(file: Path, where: str):
    if not file.is_file():
        raise ModelError(f"{where}: not a seqsent encoder (no {file.name} in it)")
    return read_json(file, where)


def _check_shape(metadata: dict, where: str) -> None:
    valid = (metadata.get("arch") in RECURRENT_ARCHS
             and all(isinstance(metadata.get(key), int) and not isinstance(metadata.get(key), bool)
                     and metadata[key] >= 1 for key in ("layers", "units", "embedding_dim", "vocabulary_size")))
    if not valid:
        raise ModelError(f"{where}: {ENCODER_FILE} records no usable recurrent shape (arch, layers, units, "
                         "embedding_dim, vocabulary_size)")


def adopt_encoder_shape(config: RunConfig, encoder: Encoder, given: Collection[str] = ()) -> list[str]:
    """The classifier takes the encoder's recurrent shape and vocabulary size, as --embeddings gives its dimension.

    A setting not chosen (see is_chosen; `given`: 'section.field' keys set on purpose) gives way; a chosen one
    must agree (a UsageError naming both), even when it equals the default, except that a unidirectional
    classifier of the encoder's cell may read a bidirectional encoder's forward LM. Returns what was adopted,
    for the user to hear.
    """
    adopted = []
    for section, key, value in (("model", "arch", encoder.arch), ("model", "layers", encoder.metadata["layers"]),
                                ("model", "units", encoder.metadata["units"]),
                                ("model", "embedding_dim", encoder.metadata["embedding_dim"]),
                                ("text", "max_tokens", encoder.metadata["vocabulary_size"])):
        current = getattr(getattr(config, section), key)
        if current == value or (key == "arch" and _reads_forward_lm(current, value)):
            continue
        asked_the_same = key == "max_tokens" and current == _max_tokens_asked(encoder)
        if is_chosen(current, section, key, given) and not asked_the_same:
            flag = "--" + key.replace("_", "-")
            raise UsageError(f"{flag} {current} does not match the encoder's {key.replace('_', ' ')} {value} "
                             f"({encoder.path}); leave {flag} out or give {flag} {value}")
        setattr(getattr(config, section), key, value)
        adopted.append(f"{key.replace('_', ' ')} {value}")
    cell, bidirectional = RECURRENT_ARCHS[encoder.arch]
    if bidirectional and encoder.metadata["layers"] > 1 and RECURRENT_ARCHS[config.model.arch][1]:
        raise UsageError(f"--encoder {encoder.path}: a {encoder.arch} language model of {encoder.metadata['layers']} "
                         f"layers cannot start a bidirectional classifier ({STACKED_BIDIRECTIONAL_WHY}); give "
                         f"--arch {cell} to start from its forward stack, or pretrain again with --layers 1")
    return [f"{', '.join(adopted)}: from the encoder {encoder.path}"] if adopted else []


def _max_tokens_asked(encoder: Encoder):
    """The --max-tokens pretrain-lm was given: a corpus with fewer words learns a smaller vocabulary, and the same
    --max-tokens given to train then means that vocabulary, not a conflict."""
    config = encoder.metadata.get("config")
    return config.get("max_tokens") if isinstance(config, dict) else None


def _reads_forward_lm(classifier_arch: str, encoder_arch: str) -> bool:
    """A unidirectional classifier can start from a bidirectional encoder's forward LM (same cell)."""
    cell, bidirectional = RECURRENT_ARCHS.get(classifier_arch, (None, True))
    return cell == RECURRENT_ARCHS[encoder_arch][0] and not bidirectional


def encoder_features(encoder: Encoder, text: TextConfig):
    """The classifier's feature step with the encoder's vocabulary (nothing learned from the labelled data)."""
    from seqsent.models import Features
    from seqsent.text import make_truncation, make_vectorizer

    return Features(make_vectorizer(text, vocabulary=encoder.vocabulary[2:]), make_truncation(text))


def load_language_model(encoder: Encoder):
    """The encoder's language model with its trained weights."""
    from seqsent.models.language_model import LanguageModel

    cell, bidirectional = RECURRENT_ARCHS[encoder.arch]
    m = encoder.metadata
    lm = LanguageModel(m["vocabulary_size"], m["embedding_dim"], cell, m["units"], m["layers"],
                       directions=2 if bidirectional else 1)
    try:
        lm.load_weights(encoder.path / WEIGHTS_FILE)
    except Exception as exc:  # h5py and Keras raise many types for a damaged or foreign file
        raise ModelError(f"--encoder {encoder.path}: cannot load {WEIGHTS_FILE} ({exc.__class__.__name__}: "
                         f"{str(exc)[:150]})") from None
    return lm


def initialise_from_encoder(classifier, encoder: Encoder) -> str:
    """Start the classifier's Embedding and recurrent layers from the encoder; returns a note for the user."""
    from seqsent.models.language_model import transfer_to_classifier

    copied = transfer_to_classifier(load_language_model(encoder), classifier)
    perplexity = encoder.metadata.get("perplexity") or {}
    read = ("forward", "backward") if any("_backward ->" in c for c in copied) else ("forward",)  # the LMs copied
    shown = ", ".join(f"{name} {perplexity[name]:.1f}" for name in read
                      if isinstance(perplexity.get(name), (int, float)))
    return (f"{len(copied)} layers start from the language model in {encoder.path}"
            + (f" (held-out perplexity {shown})" if shown else ""))
