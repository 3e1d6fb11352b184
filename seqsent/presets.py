"""Named presets: settings chosen by measurement, applied before a --config file and flags.

    seqsent train --preset imdb-best --data aclImdb_v1.tar.gz --embeddings imdb.vec

Precedence, lowest first: the dataclass defaults, the preset, a --config file, flags given on the
command line. A preset holds settings only, never data or file paths (pass --embeddings yourself).
"""

from __future__ import annotations

import copy
import re
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
    # One recurrent model, no n-grams (docs/unlabelled.md, validation split): BiGRU(128) with word2vec vectors of
    # train + unsup 91.3% (random start 87.7%, a one-pass language model 88.4%); every run peaked at epoch 2
    # (by validation loss) and overfitted after, so 4 epochs at most and patience 1.
    "imdb-supervised": {
        "text": {"max_tokens": 30000},
        "model": {"arch": "bigru", "units": 128},
        "train": {"epochs": 4, "patience": 1},
    },
    # + virtual adversarial training on the unlabelled texts (pass --unlabelled yourself): BiGRU(64), epsilon 5 on
    # normalised word2vec vectors: validation 86.9 / 89.1 / 90.1% after epochs 1-3 and still rising (VAT slows the
    # fit and delays overfitting), so more epochs and patience 2. Sized for this 2-core CPU (~4 min per epoch).
    "imdb-unlabelled": {
        "text": {"max_tokens": 30000},
        "model": {"arch": "bigru", "units": 64},
        "train": {"epochs": 8, "patience": 2},
        "semi": {"vat": True, "vat_epsilon": 5.0},
    },
    # The same sized for a GPU (not run here: ~4x the CPU time per epoch of imdb-unlabelled on this machine).
    "imdb-unlabelled-gpu": {
        "text": {"max_tokens": 30000},
        "model": {"arch": "bigru", "units": 256, "embedding_dim": 256},
        "train": {"epochs": 12, "patience": 3, "batch_size": 128, "mixed_precision": True},
        "semi": {"vat": True, "vat_epsilon": 5.0, "adversarial": True, "adversarial_epsilon": 5.0},
    },
    # Few labels (about 1,000), with word vectors and unlabelled texts (pass --embeddings and --unlabelled yourself).
    # Chosen at 1,000 IMDB labels (900 train / 100 validation) on 5,000 other train reviews (benchmarks/
    # learning_curve.py; docs/unlabelled.md): BiGRU(128) from word2vec of train + unsup 84.5%; + the vocabulary of
    # the unlabelled texts 85.4%; frozen vectors 86.1% with either vocabulary (a tie; the unlabelled texts' one kept
    # because it serves the words no labelled text has). Frozen vectors keep those words where word2vec put them,
    # beside the words the classifier did learn; with 200k trainable weights the fit is slow, so up to 60 epochs,
    # and patience 8 because 100 validation reviews are noisy. Measured after: + --adversarial 87.1% (p = 0.014
    # against the preset) but on the learning curve 0.50 point worse at 5,000 labels (p = 0.009), so it stays out;
    # + --vat 86.5% (a tie); + --entropy-weight 1 81.5%. With all 25,000 IMDB labels it is the best
    # single recurrent model measured (validation 91.42% against imdb-supervised's 91.14%; test 91.85% against
    # 91.16%, p = 4e-6).
    "few-labels": {
        "text": {"max_tokens": 30000},
        "model": {"arch": "bigru", "units": 128, "freeze_embeddings": True},
        "train": {"epochs": 60, "patience": 8},
        "semi": {"unlabelled_vocabulary": True},
    },
    # Its labels-only counterpart (the same model, vocabulary of the labelled texts, a random trainable start).
    "few-labels-supervised": {
        "text": {"max_tokens": 30000},
        "model": {"arch": "bigru", "units": 128},
        "train": {"epochs": 60, "patience": 8},
    },
}


# `seqsent pretrain-lm --preset NAME`: the language model a `seqsent train --preset NAME` classifier starts from
# (the same recurrent shape, so that --encoder fits it).
# Measured: forward + backward GRU(128), Adam 1e-2 -> 1e-4, clipnorm 5, one pass over IMDB train + unsup (17.3M
# tokens): held-out perplexity 249 / 239 (unigram: 892), ~12-20 min on this 2-core CPU.
LM_PRESETS: dict[str, dict[str, Any]] = {
    "imdb-supervised": {"arch": "bigru", "units": 128, "embedding_dim": 128, "max_tokens": 30000, "epochs": 1},
    "imdb-unlabelled": {"arch": "bigru", "units": 64, "embedding_dim": 128, "max_tokens": 30000, "epochs": 1},
    "imdb-unlabelled-gpu": {"arch": "bigru", "units": 256, "embedding_dim": 256, "max_tokens": 30000, "epochs": 3,
                            "batch_size": 256},
}


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


def check_preset_inputs(name: str, config: RunConfig) -> None:
    """A preset that learns from word vectors or unlabelled texts needs their paths from the user: say which, in
    the preset's terms, rather than let a rule about an option the user never typed speak."""
    values = PRESETS.get(name, {})
    missing = []
    frozen = values.get("model", {}).get("freeze_embeddings") and config.model.freeze_embeddings
    if frozen and not config.model.embeddings_path:
        missing.append("--embeddings FILE (word vectors, e.g. from `seqsent pretrain-embeddings`)")
    semi = values.get("semi", {})
    uses_unlabelled = ((semi.get("vat") and config.semi.vat)
                       or (semi.get("unlabelled_vocabulary") and config.semi.unlabelled_vocabulary))
    if uses_unlabelled and not config.semi.unlabelled:
        missing.append("--unlabelled SOURCE (texts without labels: a text file, one per line, or an aclImdb source)")
    if missing:
        raise UsageError(f"--preset {name} needs {' and '.join(missing)}")


def validate_with_preset(name: str, config: RunConfig, flags: dict[str, str]) -> RunConfig:
    """config.validate(), its error saying which of the options it names the preset set: `--preset imdb-best --arch
    bow` must not leave the user wondering where a --wide-ngrams they never typed came from. `flags`: 'section.field'
    -> flag of each option not given on the command line."""
    try:
        return config.validate()
    except UsageError as exc:
        message, named = str(exc), []
        for section, values in PRESETS.get(name, {}).items():
            for field, value in values.items():
                flag = flags.get(f"{section}.{field}")
                still = flag and getattr(getattr(config, section), field) == value  # not replaced by a --config file
                if still and re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", message):
                    named.append(flag if value is True else f"{flag} {value}")
        if not named:
            raise
        raise UsageError(f"{message} (--preset {name} sets {' and '.join(named)})") from None


def overridden_preset_settings(name: str, file_values: dict, flags: dict[str, str]) -> tuple[list[str], bool]:
    """The preset's settings a --config file (`file_values`, its JSON) set otherwise, as 'flag value' of the preset,
    and whether it set every one not typed (the preset then changes nothing). Typed flags are meant: not counted.
    `flags`: 'section.field' -> flag of each option not given on the command line."""
    replaced, untouched = [], 0
    for section, values in PRESETS.get(name, {}).items():
        for field, value in values.items():
            flag = flags.get(f"{section}.{field}")
            in_file = isinstance(file_values.get(section), dict) and field in file_values[section]
            if flag and not in_file:
                untouched += 1
            elif flag and file_values[section][field] != value:
                replaced.append(flag if value is True else f"{flag} {value}")
    return replaced, untouched == 0


def preset_config(name: str) -> RunConfig:
    """The defaults with the preset's settings applied."""
    return RunConfig.from_dict(merge(RunConfig().to_dict(), preset_values(name)))
