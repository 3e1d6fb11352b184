"""The model card of an export (assets.extra/README.md): what the model is, what it was trained and tested on, what it
is for and not for, and how to make it again. Written from seqsent.json, at the same time, so the two always agree."""

from __future__ import annotations


def model_card(metadata: dict) -> str:
    """assets.extra/README.md: what the model is, its data, test metrics, intended use and limits, how it was made.

    Made from seqsent.json alone, so it is rewritten whenever the metadata is (train adds the test metrics before
    the version appears). Says only what the metadata records.
    """
    config = metadata.get("config") if isinstance(metadata.get("config"), dict) else {}
    name = metadata.get("name") or config.get("name") or "model"  # "name": set by `seqsent export`
    source = metadata.get("exported_from") if isinstance(metadata.get("exported_from"), dict) else None
    again = ""
    if source:
        when = source.get("created") or "(date not recorded)"
        again = f" by `seqsent export` from `{source.get('path')}` (exported {when}, as `{config.get('name')}`)"
    lines = [f"# Model card: {name}", "",
             f"`{name}`, exported {metadata.get('created', '(date not recorded)')}{again}; its version is the number "
             "of the directory holding `assets.extra/`. Written by seqsent from `assets.extra/seqsent.json`, which "
             "holds everything below in full.", ""]
    for section in (_what_it_is, _data, _test_metrics, _use_and_limits, _how_it_was_made):
        lines += section(metadata, config) + [""]
    return "\n".join(lines).rstrip() + "\n"


def _what_it_is(metadata: dict, config: dict) -> list[str]:
    model, text = config.get("model") or {}, config.get("text") or {}
    summary = metadata.get("model") or {}
    names = metadata.get("class_names") or []
    lines = ["## What it is", "",
             f"A text classifier: raw text in, one of {len(names)} classes out ({', '.join(f'`{n}`' for n in names)}).",
             f"- Architecture: {_ensemble(metadata.get('ensemble')) or _architecture(model, text)}"]
    if summary.get("parameters") is not None:
        lines.append(f"- Parameters: {summary['parameters']:,} ({summary.get('trainable_parameters', 0):,} trained), "
                     f"{summary['parameters'] * 4 / 1e6:.2f} MB as float32, stored once in `variables/`")
    for vocabulary in summary.get("vocabularies") or []:
        lines.append(f"- Vocabulary of `{vocabulary['layer']}`: {vocabulary['size']:,} entries (padding and "
                     "out-of-vocabulary included), learned on the train split")
    return lines + ["- Serving: SavedModel signature `serving_default`, input `text` (1-D `tf.string`), outputs "
                    f"`probabilities` (float32, [batch, {len(names)}]), `label_id` (int64), `label` (string)"]


def _data(metadata: dict, config: dict) -> list[str]:
    data = metadata.get("data") if isinstance(metadata.get("data"), dict) else None
    if not data:
        source = (config.get("data") or {}).get("source", "(not recorded)")
        return ["## Data", "", f"Trained on `{source}`; the splits are not recorded (exported from a model whose "
                                "metadata predates them)."]
    sizes = data.get("split_sizes") or {}
    description = str(data.get("description") or "(not recorded)").rstrip(".")
    lines = ["## Data", "", f"Data: {description}."]  # not capitalised: it may start with a file name
    if sizes:
        order = ["train", "validation", "test"] + sorted(set(sizes) - {"train", "validation", "test"})
        lines.append("Splits: " + ", ".join(f"{split} {sizes[split]:,}" for split in order if split in sizes)
                     + f" (validation: {data.get('validation_split', 'how, not recorded')}). Validation served "
                     "early stopping and any tuning; the test split, only the figures below.")
    return lines


def _test_metrics(metadata: dict, config: dict) -> list[str]:
    metrics = metadata.get("test_metrics")
    if not (isinstance(metrics, dict) and metrics):
        return ["## Test metrics", "", "Not measured at export: `seqsent evaluate --report MODEL --data ...` measures it."]
    keys = ("accuracy", "precision", "recall", "f1", "roc_auc", "loss")
    return (["## Test metrics", "", f"On {metrics.get('examples', 0):,} test examples, scored on this export as served "
             f"(F1: {metrics.get('average', 'n/a')}; decision: the most probable class):", "",
             "| metric | value |", "|---|---|"]
            + [f"| {key} | {metrics[key]:.4f} |" for key in keys if isinstance(metrics.get(key), (int, float))])


def _task(metadata: dict) -> str:
    """'the sentiment' for the classes of movie reviews (IMDB, the sample); the classes themselves otherwise: a model
    of topics or languages is no sentiment classifier."""
    names = list(metadata.get("class_names") or [])
    if names == ["neg", "pos"]:
        return "the sentiment"
    shown = ", ".join(f"`{name}`" for name in names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
    return f"the classes {shown}"


def _use_and_limits(metadata: dict, config: dict) -> list[str]:
    return ["## Intended use and limits", "",
            f"- For {_task(metadata)} of texts like its training data, in their language (English, for IMDB and "
            "the bundled sample: movie reviews). Other domains (product reviews, social media, news) and other "
            "languages score lower, by an amount not measured here: evaluate on your own data first.",
            "- Not for decisions about people (hiring, credit, moderation of individuals, health) or any decision "
            "with legal or similar effect: it reads words, not intent, and errs on sarcasm, negation and mixed "
            "reviews.",
            "- Probabilities are not calibrated: 0.9 does not mean right 9 times in 10. Choose a decision threshold "
            "on held-out data (`seqsent evaluate --report` tunes one on the validation split)."]


def _how_it_was_made(metadata: dict, config: dict) -> list[str]:
    model, text, data_config = (config.get(key) or {} for key in ("model", "text", "data"))
    train = config.get("train") or {}
    ensemble = metadata.get("ensemble") if isinstance(metadata.get("ensemble"), dict) else None
    lines = ["## How it was made", ""]
    if ensemble:
        members = " ".join(str(m.get("model")) for m in ensemble.get("members", []))
        lines.append(f"- Command: `seqsent ensemble {members} --name {config.get('name')}` (nothing trained again); "
                     f"the data and text settings are the first member's: data `{data_config.get('source', '?')}`.")
    elif model or data_config:
        settings = [f"data `{data_config.get('source', '?')}`", f"arch `{model.get('arch', '?')}`"]
        settings += [f"{label} {value}" for label, value in (
            ("max tokens", text.get("max_tokens")), ("sequence length", text.get("sequence_length")),
            ("epochs (at most)", train.get("epochs")), ("batch", train.get("batch_size")),
            ("learning rate", train.get("learning_rate")), ("seed", train.get("seed")),
            ("embeddings", model.get("embeddings_path")), ("encoder", model.get("encoder_path"))) if value is not None]
        settings += _semi_supervised_settings(model, train, config.get("semi") or {})
        lines += [f"- Settings: {', '.join(settings)}.",
                  "- Command: the `config` object of `assets.extra/seqsent.json` is the whole resolved configuration "
                  "(the run directory's `config.json`); saved as `config.json`, `seqsent train --config config.json` "
                  "trains this model again, with the same settings."]
    else:
        lines.append("- Settings: not recorded.")
    return lines + [f"- Versions: seqsent {metadata.get('seqsent_version', '?')}, TensorFlow "
                    f"{metadata.get('tensorflow_version', '?')}, Keras {metadata.get('keras_version', '?')}."]


def _semi_supervised_settings(model: dict, train: dict, semi: dict) -> list[str]:
    """What the model learned from besides its labels, and how: a reader of the card should not need the JSON."""
    settings = []
    if model.get("freeze_embeddings"):
        settings.append("embeddings frozen")
    if train.get("pretrained_rate", 1.0) != 1.0:
        settings.append(f"pretrained rate {train['pretrained_rate']}")
    unlabelled = semi.get("unlabelled") or []
    if unlabelled:
        settings.append("unlabelled " + ", ".join(f"`{source}`" for source in unlabelled))
    if semi.get("unlabelled_vocabulary"):
        settings.append("vocabulary of labelled and unlabelled texts")
    if semi.get("vat"):
        settings.append(f"VAT (epsilon {semi.get('vat_epsilon')})")
    if semi.get("adversarial"):
        settings.append(f"adversarial training (epsilon {semi.get('adversarial_epsilon')})")
    if semi.get("entropy_weight"):
        settings.append(f"entropy minimisation (weight {semi['entropy_weight']})")
    return settings


def _ensemble(ensemble) -> str:
    """`seqsent ensemble`'s export: its config is the first member's, so the members are named here."""
    if not (isinstance(ensemble, dict) and ensemble.get("members")):
        return ""
    members = ", ".join(f"`{m.get('arch') or '?'}` ({m.get('model')}, weight {m.get('weight', 0):.2f})"
                        for m in ensemble["members"])
    return (f"`seqsent ensemble` of {len(ensemble['members'])} exported models, their log-odds averaged with "
            f"weights chosen on the validation split: {members}")


def _architecture(model: dict, text: dict) -> str:
    from seqsent.config import RECURRENT_ARCHS

    arch = model.get("arch")
    if not arch:
        return "not recorded"
    if arch in RECURRENT_ARCHS:
        cell, bidirectional = RECURRENT_ARCHS[arch]
        kept = "last" if text.get("truncation", "pre") == "pre" else "first"
        stack = (f"{model.get('layers', 1)} x {'bidirectional ' if bidirectional else ''}{cell.upper()}"
                 f"({model.get('units')}) over {model.get('embedding_dim')}-d word embeddings, "
                 f"{model.get('pooling')} pooling, the {kept} {text.get('sequence_length')} tokens of a text")
        if model.get("wide_ngrams") and model.get("wide_training") == "separate":
            return (f"an NBSVM of 1-{model['wide_ngrams']}-grams and {model.get('recurrent_models', 1)} `{arch}` "
                    f"model(s) ({stack}), trained apart, their log-odds averaged with a weight chosen on validation")
        wide = f", beside a linear branch of 1-{model['wide_ngrams']}-grams" if model.get("wide_ngrams") else ""
        return f"`{arch}`: {stack}{wide}"
    return f"`{arch}`: a linear model over bag-of-words features"
