"""Shared fixtures: tiny data and tiny models, so the whole default suite runs in a few minutes on 2 CPU cores.

TensorFlow is imported lazily (inside fixtures and tests), so tests that do not need it
(config, CLI --help) do not pay for it.
"""

from __future__ import annotations

import os

# Before anything imports TensorFlow: keep its C++ start-up chatter out of the test output.
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"

import csv  # noqa: E402
import json  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_ARCHIVE = REPO_ROOT / ".." / "shared" / "datasets" / "aclImdb_v1.tar.gz"

# Short texts whose words give the class away, so even one epoch learns something.
WORDS = {
    "good": ["great", "wonderful", "superb", "loved", "brilliant"],
    "bad": ["awful", "boring", "terrible", "hated", "dull"],
    "meh": ["average", "okay", "mediocre", "fine", "passable"],
}


def tiny_texts(labels=("good", "bad", "meh"), per_class: int = 10, seed: int = 0) -> list[tuple[str, str]]:
    """(text, label) rows, `per_class` of each label, deterministic."""
    import random

    rng = random.Random(seed)
    rows = []
    for label in labels:
        words = WORDS.get(label, [label, label + "ish"])
        for i in range(per_class):
            picked = " ".join(rng.choice(words) for _ in range(rng.randint(2, 6)))
            rows.append((f"Review {i}: the film was {picked}.", label))
    rng.shuffle(rows)
    return rows


def write_csv(path: Path, rows, header=("text", "label"), delimiter: str = ",") -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        if header:
            writer.writerow(header)
        writer.writerows(rows)
    return path


def write_jsonl(path: Path, records) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def shared_archive() -> Path:
    """The real aclImdb_v1.tar.gz at ../shared/datasets from the repository root."""
    if not SHARED_ARCHIVE.is_file():
        pytest.skip(f"{SHARED_ARCHIVE} not present (a user's clone has no ../shared); "
                    "real-data checks need the aclImdb_v1.tar.gz archive there")
    return SHARED_ARCHIVE


TINY_TEXT_CONFIG = dict(max_tokens=200, sequence_length=20)
TINY_MODEL_CONFIG = dict(units=4, embedding_dim=8)


def tiny_run_config(source, arch: str = "gru", **kwargs):
    """A RunConfig (keyword arguments as RunConfig's) of a tiny model on `source`: seconds per epoch."""
    from dataclasses import replace

    from seqsent.config import RunConfig

    config = RunConfig(**kwargs)
    config.data.source = str(source)
    config.model = replace(config.model, arch=arch, **TINY_MODEL_CONFIG)
    config.text = replace(config.text, **TINY_TEXT_CONFIG)
    return config


def make_tiny_text_model(num_classes: int, texts=None, train_step: bool = True, **model_kwargs):
    """A string-in text model (vectorizer + truncation + classifier) adapted on tiny texts.

    With `train_step`, one optimiser step is taken so the weights are not only initial values.
    """
    import numpy as np

    from seqsent.config import ModelConfig, TextConfig
    from seqsent.models import build_classifier, build_text_model
    from seqsent.text import adapt_vectorizer, make_truncation

    labels = ["good", "bad", "meh"][:num_classes] if num_classes <= 3 else [f"c{i}" for i in range(num_classes)]
    rows = tiny_texts(labels, per_class=6)
    texts = list(texts) if texts is not None else [t for t, _ in rows]
    text_config = TextConfig(**TINY_TEXT_CONFIG)
    vectorizer = adapt_vectorizer(text_config, texts)
    truncation = make_truncation(text_config)
    config = ModelConfig(**{**TINY_MODEL_CONFIG, **model_kwargs})
    classifier = build_classifier(config, vectorizer.vocabulary_size(), num_classes, seed=7)
    if train_step:
        binary = num_classes == 2
        loss = "binary_crossentropy" if binary else "sparse_categorical_crossentropy"
        classifier.compile(optimizer="adam", loss=loss)
        ids = np.random.default_rng(0).integers(1, vectorizer.vocabulary_size(), size=(8, 12))
        y = np.arange(8) % num_classes
        classifier.train_on_batch(ids, y.reshape(-1, 1).astype("float32") if binary else y)
    return build_text_model(vectorizer, truncation, classifier)


@pytest.fixture(scope="session")
def binary_text_model():
    return make_tiny_text_model(2)


@pytest.fixture(scope="session")
def three_class_text_model():
    return make_tiny_text_model(3, arch="bigru")


def make_ensemble(binary_text_model):
    """--wide-training separate: an NBSVM of 1-3-grams beside the recurrent model under weighted log-odds."""
    import keras

    from seqsent.config import ModelConfig, TextConfig
    from seqsent.models import build_classifier, build_features, build_text_model
    from seqsent.training.ensemble import ensemble_members, ensemble_text_model

    rows = tiny_texts(("good", "bad"), per_class=6)
    texts, labels = [t for t, _ in rows], [int(label == "good") for _, label in rows]
    vectorizer, weighting = build_features("nbsvm", TextConfig(**TINY_TEXT_CONFIG), texts, labels)
    classifier = build_classifier(ModelConfig(arch="nbsvm"), vectorizer.vocabulary_size(), 2, seed=7)
    recurrent = next(layer for layer in binary_text_model.layers if isinstance(layer, keras.Model))
    members = ensemble_members([recurrent], binary_text_model.get_layer("vectorizer"),
                               binary_text_model.get_layer("truncate"), build_text_model(vectorizer, weighting, classifier))
    return ensemble_text_model(members, 0.4)
