"""--wide-training separate: an NBSVM and recurrent models trained apart, exported as one model.

Trained inside one model (--wide-training joint), the recurrent layers fit the train split within
two or three epochs, the training loss goes to zero and the wide branch stops learning from it. Trained
apart, each model stops at its own best epoch on validation, and the two views of a review (word
order and word vectors; which n-grams occur) err on different reviews. Their log-odds are averaged
with one weight chosen on the validation split, inside one Keras model that takes raw strings.
"""

from __future__ import annotations

import copy
import math
from dataclasses import replace
from pathlib import Path

import keras
import numpy as np

from seqsent.config import ModelConfig, RunConfig, SemiSupervisedConfig
from seqsent.data import Dataset
from seqsent.errors import UsageError
from seqsent.layout import MEMBERS_DIR
from seqsent.models import Features
from seqsent.models.baselines import adapt_bag_features
from seqsent.models.layers import WeightedLogOdds
from seqsent.training.fit import FitResult, fit_one
from seqsent.training.inputs import encode_splits

# The models' names in the run (work directories, TensorBoard logs, histories): the NBSVM is trained first.
NBSVM_MEMBER = "1-nbsvm"


def recurrent_member(index: int) -> str:
    """The name of the model trained `index`-th (from 2: the recurrent models follow the NBSVM)."""
    return f"{index}-recurrent"


# Candidate shares of the recurrent models' (mean) log-odds; the NBSVM gets 1 - w.
WEIGHT_GRID = np.round(np.linspace(0.0, 1.0, 21), 2)


def member_configs(config: RunConfig) -> tuple[list[RunConfig], RunConfig]:
    """(recurrent models, NBSVM): the run's settings, the wide ones moved to an NBSVM of their own; the
    recurrent models differ in their training seed only."""
    deep = []
    for index in range(config.model.recurrent_models):
        member = copy.deepcopy(config)
        member.model = replace(member.model, wide_ngrams=0, wide_training="joint", wide_dropout=0.0, recurrent_models=1)
        member.train = replace(member.train, seed=config.train.seed + index)
        deep.append(member)
    wide = copy.deepcopy(config)
    wide.model = ModelConfig(arch="nbsvm", head_units=0)
    wide.semi = SemiSupervisedConfig()  # adversarial training perturbs word vectors, which an NBSVM has none of
    wide.text = replace(wide.text, max_tokens=config.model.wide_buckets)
    wide.train = replace(wide.train, epochs=config.model.wide_epochs)
    return deep, wide


def fit_separate_wide(config: RunConfig, dataset: Dataset, work_dir: Path, verbose: int, extra_callbacks: tuple, *,
                      distribution, notify, warnings: list[str]) -> FitResult:
    """Train the NBSVM, then the recurrent models, each with its own backup under work_dir/members; return one
    string-in model averaging their log-odds with a weight chosen on the validation split."""
    if dataset.num_classes != 2:
        raise UsageError(f"--wide-training separate needs two classes (an NBSVM compares two); the data has "
                         f"{dataset.num_classes}: use --wide-training joint")
    deep_configs, wide_config = member_configs(config)
    members = work_dir / MEMBERS_DIR
    total = 1 + len(deep_configs)
    notify(f"Model 1 of {total}: NBSVM of 1-{config.model.wide_ngrams}-grams "
           f"(vocabulary of up to {config.model.wide_buckets:,})")
    features = Features(*adapt_bag_features("nbsvm", wide_config.text, dataset.train.texts, dataset.train.labels,
                                            ngrams=config.model.wide_ngrams))
    wide = fit_one(wide_config, dataset, members / NBSVM_MEMBER, verbose, (), distribution=distribution,
                   notify=notify, warnings=warnings, encoded=encode_splits(wide_config, dataset, features))
    # The recurrent models differ in their seed only: one vocabulary, one encoding of the splits for all.
    encoded = encode_splits(deep_configs[0], dataset)
    deep = []
    for index, deep_config in enumerate(deep_configs, start=2):
        notify(f"Model {index} of {total}: {config.model.arch} (--train-seed {deep_config.train.seed})")
        deep.append(fit_one(deep_config, dataset, members / recurrent_member(index), verbose, extra_callbacks,
                            distribution=distribution, notify=notify, warnings=[], encoded=encoded))
    members_model = ensemble_members([d.classifier for d in deep], *encoded.features, wide.text_model)
    weight = _weight_on_validation(members_model, dataset, notify)
    return _ensemble_result(ensemble_text_model(members_model, weight), wide, deep)


def _weight_on_validation(members_model: keras.Model, dataset: Dataset, notify) -> float:
    deep_probabilities, wide_probabilities = _member_probabilities(members_model, dataset.validation.texts)
    weight, accuracies = choose_weight(deep_probabilities, wide_probabilities, dataset.validation.labels)
    alone = ", ".join(f"{name} {value:.4f}" for name, value in accuracies.items() if name != "ensemble")
    plural = "s" if len(deep_probabilities) > 1 else ""
    notify(f"Ensemble: log-odds weight {weight:.2f} on the recurrent model{plural}, {1 - weight:.2f} on the NBSVM, "
           f"chosen on the validation split (accuracy: {alone}; all {accuracies['ensemble']:.4f})")
    return weight


def _ensemble_result(text_model: keras.Model, wide: FitResult, deep: list[FitResult]) -> FitResult:
    """The ensemble's FitResult: the first recurrent model's history and settings, everyone's sizes and times."""
    first = deep[0]
    return FitResult(
        text_model=text_model, history=first.history, strategy=first.strategy,
        global_batch_size=first.global_batch_size, vocabulary_size=first.vocabulary_size,
        parameters=wide.parameters + sum(d.parameters for d in deep),
        seconds=wide.seconds + sum(d.seconds for d in deep), numeric_policy=first.numeric_policy,
        per_replica_batch_size=first.per_replica_batch_size, replicas=first.replicas,
        resumed_from_epoch=first.resumed_from_epoch, jit_compile=first.jit_compile,
        warnings=list(dict.fromkeys(wide.warnings + [w for d in deep for w in d.warnings])),
        notes=list(dict.fromkeys(first.notes)),
        member_histories={NBSVM_MEMBER: wide.history,
                          **{recurrent_member(index): d.history for index, d in enumerate(deep, start=2)}},
    )


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return np.log(p) - np.log1p(-p)


def _weights(weight: float, recurrent_models: int) -> list[float]:
    """Per-model log-odds weights: `weight` shared equally by the recurrent models, the rest the NBSVM's."""
    return [weight / recurrent_models] * recurrent_models + [1.0 - weight]


def _member_probabilities(members: keras.Model, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """P(positive) of each recurrent model [models, texts] and of the NBSVM [texts], one pass over `texts`."""
    outputs = members.predict(np.array(texts, dtype=object), batch_size=256, verbose=0)
    columns = np.stack([o[:, 0] for o in outputs]).astype("float64")
    return columns[:-1], columns[-1]


def choose_weight(deep_probabilities: np.ndarray, wide_probabilities: np.ndarray, labels
                  ) -> tuple[float, dict[str, float]]:
    """The recurrent models' share of the log-odds with the lowest validation log loss (accuracy moves in
    steps of one review; the loss is smooth), and the validation accuracy of each model and of the mix.

    deep_probabilities: [recurrent models, texts]; wide_probabilities: [texts]; both P(positive).
    """
    labels = np.asarray(labels)
    deep_logits = _logit(np.asarray(deep_probabilities))
    mean_deep = deep_logits.mean(axis=0)
    wide_logits = _logit(np.asarray(wide_probabilities))

    def log_loss(logits):
        return float(np.mean(np.logaddexp(0.0, -logits) * labels + np.logaddexp(0.0, logits) * (1 - labels)))

    losses = [log_loss(w * mean_deep + (1 - w) * wide_logits) for w in WEIGHT_GRID]
    weight = float(WEIGHT_GRID[int(np.argmin(losses))])

    def accuracy(logits):
        return float(np.mean((logits > 0).astype(int) == labels))

    accuracies = {"NBSVM": accuracy(wide_logits)}
    for index, logits in enumerate(deep_logits, start=1):
        accuracies["recurrent" if len(deep_logits) == 1 else f"recurrent {index}"] = accuracy(logits)
    accuracies["ensemble"] = accuracy(weight * mean_deep + (1 - weight) * wide_logits)
    return weight, accuracies


def ensemble_members(deep: list[keras.Model], vectorizer, transform, wide: keras.Model) -> keras.Model:
    """Raw strings [batch] -> [P(positive) of each recurrent classifier, ..., of the NBSVM], each [batch, 1];
    the recurrent classifiers share one vocabulary, so the text is tokenised once for all of them."""
    text = keras.Input(shape=(), dtype="string", name="text")
    ids = transform(vectorizer(text))
    outputs = [_renamed(classifier, f"recurrent_model_{index}")(ids) for index, classifier in enumerate(deep, 1)]
    outputs.append(_renamed(wide, "nbsvm_model")(text))
    return keras.Model(text, outputs, name="ensemble_members")


def _renamed(model: keras.Model, name: str) -> keras.Model:
    """The same layers and weights under a name of its own (models of one arch arrive with the same name)."""
    return keras.Model(model.input, model.output, name=name)


def ensemble_text_model(members: keras.Model, weight: float) -> keras.Model:
    """Raw strings [batch] -> P(positive) [batch, 1]: the members' log-odds, `weight` shared by the recurrent
    models, 1 - weight the NBSVM's."""
    text = keras.Input(shape=(), dtype="string", name="text")
    probabilities = WeightedLogOdds(_weights(weight, len(members.outputs) - 1), name="probabilities")(members(text))
    return keras.Model(text, probabilities, name="seqsent_ensemble")


# ---------------------------------------------------------------- ensembles of trained models (`seqsent ensemble`)


def simplex_grid(models: int, step: float = 0.05) -> np.ndarray:
    """Every weight vector of `models` non-negative weights summing to 1, in steps of `step`."""
    units = round(1 / step)

    def compositions(total, parts):
        if parts == 1:
            yield (total,)
            return
        for first in range(total + 1):
            for rest in compositions(total - first, parts - 1):
                yield (first, *rest)

    return np.array(list(compositions(units, models)), dtype=np.float64) / units


# Candidate weight vectors searched at most (a finer grid for few models, a coarser one for more).
MAX_WEIGHT_CANDIDATES = 5000
WEIGHT_STEPS = (0.05, 0.1, 0.2, 0.25, 0.5)


def weight_grid(models: int) -> tuple[np.ndarray, float]:
    """The finest simplex grid of WEIGHT_STEPS with at most MAX_WEIGHT_CANDIDATES vectors, and its step: 0.05 up to
    four models, 0.1 for five or six, coarser beyond."""
    for step in WEIGHT_STEPS:
        units = round(1 / step)
        if math.comb(units + models - 1, models - 1) <= MAX_WEIGHT_CANDIDATES:
            return simplex_grid(models, step), step
    return np.full((1, models), 1 / models), 0.0


def choose_log_odds_weights(probabilities: np.ndarray, labels) -> tuple[list[float], dict[str, float], float]:
    """Weights of the models' log-odds with the lowest validation log loss (weight_grid), the validation accuracy
    of each model and of the mix, and the grid's step.

    probabilities: [models, texts] of P(positive class).
    """
    labels = np.asarray(labels)
    logits = _logit(np.asarray(probabilities, dtype=np.float64))
    grid, step = weight_grid(len(logits))
    chunk = max(1, 2_000_000 // max(1, logits.shape[1]))  # candidates scored at a time: memory stays small
    losses = np.concatenate([_log_loss(grid[start:start + chunk] @ logits, labels)
                             for start in range(0, len(grid), chunk)])
    best = grid[int(np.argmin(losses))]
    accuracy = {f"model {i}": float(np.mean((row > 0) == labels)) for i, row in enumerate(logits, start=1)}
    accuracy["ensemble"] = float(np.mean((best @ logits > 0) == labels))
    return [float(w) for w in best], accuracy, step


def _log_loss(mixed: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Mean log loss of each row of log-odds [candidates, texts]."""
    return np.mean(np.logaddexp(0.0, -mixed) * labels + np.logaddexp(0.0, mixed) * (1 - labels), axis=1)


def log_odds_ensemble(text_models: list[keras.Model], weights: list[float]) -> keras.Model:
    """Raw strings [batch] -> P(positive) [batch, 1]: trained string-in models' log-odds averaged with `weights`;
    each model keeps its own tokenisation."""
    text = keras.Input(shape=(), dtype="string", name="text")
    outputs = [_renamed(model, f"member_{index}")(text) for index, model in enumerate(text_models, start=1)]
    probabilities = WeightedLogOdds(list(weights), name="probabilities")(outputs)
    return keras.Model(text, probabilities, name="seqsent_log_odds_ensemble")
