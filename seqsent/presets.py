"""Named presets: settings chosen by measurement, applied before a --config file and flags.

    seqsent train --preset imdb-best --data aclImdb_v1.tar.gz --embeddings imdb.vec

Precedence, lowest first: the dataclass defaults, the preset, a --config file, flags given on the
command line. A preset holds settings only, never data or file paths (pass --embeddings yourself).
"""

from __future__ import annotations

import copy
from typing import Any

from seqsent.config import RunConfig
from seqsent.errors import UsageError

PRESETS: dict[str, dict[str, Any]] = {
    # Chosen on IMDB's movie-held-out validation split (2,505 reviews, standard error about 0.55 points; see
    # docs/accuracy.md, "Accuracy on IMDB"); the test split was used only for the final figures. Validation accuracy
    # (word2vec vectors pretrained on train + unsup, --embeddings):
    #   BiGRU(64) + wide 1-2-grams trained jointly (the previous imdb-best): 90.7%
    #   NBSVM of 1-3-grams alone: 91.5%; BiGRU(64), 30k vocabulary, alone: 90.3%
    #   NBSVM + one BiGRU, trained apart, log-odds weighted on validation: 91.9%
    #   NBSVM + two BiGRUs (seeds 1337, 1338): 92.1% (three BiGRUs: 92.1%, so two)
    "imdb-best": {
        "text": {"max_tokens": 30000},
        "model": {"arch": "bigru", "wide_ngrams": 3, "wide_training": "separate", "recurrent_models": 2},
    },
}


# `seqsent pretrain-lm --preset NAME`: the language model a `seqsent train --preset NAME` classifier starts from
# (the same recurrent shape, so that --encoder fits it).
LM_PRESETS: dict[str, dict[str, Any]] = {}


def lm_preset_config(name: str):
    """The LanguageModelConfig defaults with the preset's settings applied."""
    from seqsent.config import LanguageModelConfig

    if name not in LM_PRESETS:
        raise UsageError(f"--preset must be one of {', '.join(LM_PRESETS) or '(none)'}, not {name!r}")
    return LanguageModelConfig(**{**LanguageModelConfig().to_dict(), **copy.deepcopy(LM_PRESETS[name])})


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """`override` on top of `base`, section by section (a nested dict is merged, not replaced)."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def preset_values(name: str) -> dict[str, Any]:
    if name not in PRESETS:
        raise UsageError(f"--preset must be one of {', '.join(PRESETS)}, not {name!r}")
    return copy.deepcopy(PRESETS[name])


def preset_config(name: str) -> RunConfig:
    """The defaults with the preset's settings applied."""
    return RunConfig.from_dict(merge(RunConfig().to_dict(), preset_values(name)))
