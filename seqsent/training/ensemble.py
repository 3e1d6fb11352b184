"""--wide-training separate: an NBSVM and a recurrent model trained apart, exported as one model.

Trained inside one model (--wide-training joint), the recurrent layers fit the train split within
two or three epochs, the training loss goes to zero and the wide branch stops learning from it. Trained
apart, each model stops at its own best epoch on validation, and the two views of a review (word
order and word vectors; which n-grams occur) err on different reviews. Their log-odds are averaged
with one weight chosen on the validation split, inside one Keras model that takes raw strings.
"""

from __future__ import annotations

import copy
from dataclasses import replace
from pathlib import Path

import keras
import numpy as np

from seqsent.config import ModelConfig, RunConfig
from seqsent.data import Dataset
from seqsent.errors import UsageError
from seqsent.models.baselines import adapt_bag_features
from seqsent.models.layers import WeightedLogOdds
from seqsent.training.backup import MEMBERS_DIR

# Candidate weights of the recurrent model's log-odds (the NBSVM gets 1 - w).
WEIGHT_GRID = np.round(np.linspace(0.0, 1.0, 21), 2)


def member_configs(config: RunConfig) -> tuple[RunConfig, RunConfig]:
    """(recurrent model, NBSVM): the run's settings, the wide ones moved to an NBSVM of their own."""
    deep = copy.deepcopy(config)
    deep.model = replace(deep.model, wide_ngrams=0, wide_training="joint", wide_dropout=0.0)
    wide = copy.deepcopy(config)
    wide.model = ModelConfig(arch="nbsvm", head_units=0)
    wide.text = replace(wide.text, max_tokens=config.model.wide_buckets)
    return deep, wide


def fit_separate_wide(config: RunConfig, dataset: Dataset, work_dir: Path, verbose: int, extra_callbacks: tuple, *,
                      distribution, notify, warnings: list[str]):
    from seqsent.training.trainer import FitResult, fit_one

    if dataset.num_classes != 2:
        raise UsageError(f"--wide-training separate needs two classes (an NBSVM compares two); the data has "
                         f"{dataset.num_classes}: use --wide-training joint")
    deep_config, wide_config = member_configs(config)
    order = config.model.wide_ngrams
    notify(f"Model 1 of 2: NBSVM of 1-{order}-grams (vocabulary of up to {config.model.wide_buckets:,})")
    features = adapt_bag_features("nbsvm", wide_config.text, dataset.train.texts, dataset.train.labels, ngrams=order)
    members = work_dir / MEMBERS_DIR
    wide = fit_one(wide_config, dataset, members / "1-nbsvm", verbose, (), distribution=distribution,
                   notify=notify, warnings=warnings, features=features)
    notify(f"Model 2 of 2: {config.model.arch}")
    deep = fit_one(deep_config, dataset, members / "2-recurrent", verbose, extra_callbacks,
                   distribution=distribution, notify=notify, warnings=[])
    weight, accuracies = choose_weight(deep.text_model, wide.text_model, dataset.validation)
    notify(f"Ensemble: log-odds weight {weight:.2f} on the recurrent model, {1 - weight:.2f} on the NBSVM, "
           f"chosen on the validation split (accuracy: recurrent {accuracies['recurrent']:.4f}, "
           f"NBSVM {accuracies['nbsvm']:.4f}, both {accuracies['ensemble']:.4f})")
    return FitResult(
        text_model=ensemble_text_model(deep.text_model, wide.text_model, weight),
        history=deep.history,
        strategy=deep.strategy,
        global_batch_size=deep.global_batch_size,
        vocabulary_size=deep.vocabulary_size,
        parameters=deep.parameters + wide.parameters,
        seconds=deep.seconds + wide.seconds,
        numeric_policy=deep.numeric_policy,
        per_replica_batch_size=deep.per_replica_batch_size,
        replicas=deep.replicas,
        resumed_from_epoch=deep.resumed_from_epoch,
        jit_compile=deep.jit_compile,
        warnings=list(dict.fromkeys(wide.warnings + deep.warnings)),
    )


def _positive_probabilities(text_model: keras.Model, texts: list[str]) -> np.ndarray:
    return text_model.predict(np.array(texts, dtype=object), batch_size=256, verbose=0)[:, 0].astype("float64")


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return np.log(p) - np.log1p(-p)


def choose_weight(deep: keras.Model, wide: keras.Model, validation) -> tuple[float, dict[str, float]]:
    """The recurrent model's share of the log-odds with the lowest validation log loss (accuracy moves in
    steps of one review; the loss is smooth), and the validation accuracy of each model and of the mix."""
    labels = np.asarray(validation.labels)
    deep_logits = _logit(_positive_probabilities(deep, validation.texts))
    wide_logits = _logit(_positive_probabilities(wide, validation.texts))

    def log_loss(logits):
        return float(np.mean(np.logaddexp(0.0, -logits) * labels + np.logaddexp(0.0, logits) * (1 - labels)))

    losses = [log_loss(w * deep_logits + (1 - w) * wide_logits) for w in WEIGHT_GRID]
    weight = float(WEIGHT_GRID[int(np.argmin(losses))])

    def accuracy(logits):
        return float(np.mean((logits > 0).astype(int) == labels))

    return weight, {"recurrent": accuracy(deep_logits), "nbsvm": accuracy(wide_logits),
                    "ensemble": accuracy(weight * deep_logits + (1 - weight) * wide_logits)}


def ensemble_text_model(deep: keras.Model, wide: keras.Model, weight: float) -> keras.Model:
    """Raw strings [batch] -> P(positive) [batch, 1] of the weighted log-odds of both models."""
    # Both arrive named seqsent_text_classifier: re-wrapped (same layers, same weights) under names of their own.
    deep = keras.Model(deep.input, deep.output, name="recurrent_model")
    wide = keras.Model(wide.input, wide.output, name="nbsvm_model")
    text = keras.Input(shape=(), dtype="string", name="text")
    outputs = WeightedLogOdds(weight, name="probabilities")([deep(text), wide(text)])
    return keras.Model(text, outputs, name="seqsent_ensemble")
