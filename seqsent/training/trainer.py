"""The training entry point: one classifier (fit.py), or an NBSVM and recurrent models trained apart (ensemble.py)."""

from __future__ import annotations

from pathlib import Path

from seqsent.config import RunConfig
from seqsent.data import Dataset
from seqsent.training.ensemble import fit_separate_wide
from seqsent.training.fit import FitResult, fit_one
from seqsent.training.strategy import Distribution, start_distribution


def fit(config: RunConfig, dataset: Dataset, work_dir: Path, verbose: int = 1, extra_callbacks: tuple = (), *,
        distribution: Distribution | None = None, notify=None) -> FitResult:
    """Train on dataset.train, early-stop on dataset.validation; the backup and best weights live in work_dir.

    A backup in work_dir/backup (from a run that crashed) is resumed. `extra_callbacks` run after
    the run's own (e.g. to time epochs). `distribution` defaults to config.train.strategy;
    `notify(message)` hears warnings and the resume notice as they happen.
    """
    notify = notify or (lambda message: None)
    warnings: list[str] = []
    if distribution is None:
        distribution, warnings = start_distribution(config.train.strategy)
    train = fit_separate_wide if config.model.wide_ngrams and config.model.wide_training == "separate" else fit_one
    return train(config, dataset, work_dir, verbose, extra_callbacks, distribution=distribution, notify=notify,
                 warnings=warnings)
