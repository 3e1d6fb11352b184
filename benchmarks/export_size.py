"""Export size against the float32 size of the model's weights: the default BiLSTM and the imdb-best ensemble.

    python benchmarks/export_size.py [--data sample|PATH] [--models default,imdb-best] [--legacy] [--keep DIR]

Each model is built, not trained: an export's size does not depend on the values of its weights, only on their
shapes and on the vocabularies. The feature steps (vocabularies, NBSVM ratios) are learned on the train split of
--data, as training would: the bundled sample by default (its vocabularies are smaller than IMDB's: the sizes are
printed), or an aclImdb archive for the real ones (--data ../shared/datasets/aclImdb_v1.tar.gz; the NBSVM's 1-3-gram
vocabulary takes about a minute there).
- default: RunConfig() defaults, a BiLSTM(64) over 128-d embeddings, vocabulary up to 10,000;
- imdb-best: --preset imdb-best, an NBSVM of 1-3-grams (vocabulary up to 2^20) and two BiGRU(64) (vocabulary up to
  30,000) in one Keras model, their log-odds averaged (weight 0.5: the weight is a constant, not a size).
Each is exported with seqsent's exporter into a temporary directory (or --keep DIR). Printed per model: every part
of the export (saved_model.pb, variables/, assets/ with the vocabularies, each file of assets.extra/), the total,
the float32 size of the weights (every weight, trained or not), and total / weights, against the target of 1.3.
--legacy also writes the layout seqsent used before (ExportArchive tracking the Keras variables, plus a whole
model.keras; no optimizer state here, as the models are not trained) for comparison.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TARGET = 1.3


def build_default(dataset):
    """RunConfig() defaults: the feature step learned on train, the classifier with its initial weights."""
    from seqsent.config import RunConfig
    from seqsent.models import build_classifier, build_features, build_text_model

    config = RunConfig()
    features = build_features(config.model.arch, config.text, dataset.train.texts, dataset.train.labels)
    classifier = build_classifier(config.model, features.vocabulary_size, dataset.num_classes, seed=config.train.seed)
    return config, build_text_model(features.vectorizer, features.transform, classifier)


def build_imdb_best(dataset):
    """--preset imdb-best, as seqsent.training.ensemble assembles it after training its members."""
    from seqsent.models import Features, build_classifier, build_features, build_text_model
    from seqsent.models.baselines import adapt_bag_features
    from seqsent.presets import preset_config
    from seqsent.training.ensemble import ensemble_members, ensemble_text_model, member_configs

    config = preset_config("imdb-best")
    deep_configs, wide_config = member_configs(config)
    wide = Features(*adapt_bag_features("nbsvm", wide_config.text, dataset.train.texts, dataset.train.labels,
                                        ngrams=config.model.wide_ngrams))
    wide_classifier = build_classifier(wide_config.model, wide.vocabulary_size, 2, seed=wide_config.train.seed)
    deep = build_features(config.model.arch, deep_configs[0].text, dataset.train.texts)
    classifiers = [build_classifier(c.model, deep.vocabulary_size, 2, seed=c.train.seed) for c in deep_configs]
    members = ensemble_members(classifiers, deep.vectorizer, deep.transform,
                               build_text_model(wide.vectorizer, wide.transform, wide_classifier))
    return config, ensemble_text_model(members, 0.5)


def write_legacy(directory: Path, text_model, class_names: list[str]) -> None:
    """What write_saved_model wrote before: Keras variables tracked (each weight saved twice), and model.keras."""
    import keras
    import tensorflow as tf

    from seqsent.serving.export import SIGNATURE, serving_function

    archive = keras.export.ExportArchive()
    archive.track(text_model)
    archive.add_endpoint(SIGNATURE, serving_function(text_model, class_names),
                         input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    archive.write_out(str(directory), verbose=False)
    (directory / "assets.extra").mkdir()
    text_model.save(directory / "assets.extra" / "model.keras")


def parts(version: Path) -> dict[str, int]:
    """Bytes per part of an export: variables/, assets/ (the vocabularies), and every other file."""
    sizes: dict[str, int] = {}
    for path in sorted(p for p in version.rglob("*") if p.is_file()):
        relative = path.relative_to(version)
        top = relative.parts[0]
        key = f"{top}/" if top in ("variables", "assets") else str(relative)
        sizes[key] = sizes.get(key, 0) + path.stat().st_size
    return sizes


def weights_float32_bytes(text_model) -> int:
    import numpy as np

    return int(sum(np.prod(w.shape) for w in text_model.weights)) * 4


def vocabulary_sizes(text_model) -> str:
    from seqsent.serving.export import _vectorizers

    return ", ".join(f"{path} {layer.vocabulary_size():,}" for path, layer in _vectorizers(text_model))


def megabytes(n: int) -> str:
    return f"{n / 1e6:.3f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="sample", help="where the vocabularies are learned  [default: sample]")
    parser.add_argument("--models", default="default,imdb-best")
    parser.add_argument("--legacy", action="store_true", help="also write the layout used before, for comparison")
    parser.add_argument("--keep", type=Path, help="write the exports here (kept) instead of a temporary directory")
    args = parser.parse_args()

    import numpy as np
    import tensorflow as tf

    from seqsent.config import DataConfig
    from seqsent.data import load_dataset
    from seqsent.layout import KERAS_FILE, model_metadata
    from seqsent.serving.export import export_saved_model
    from seqsent.serving.inference import load_model

    started = time.perf_counter()
    dataset = load_dataset(DataConfig(source=args.data))
    print(f"Data: {dataset.description}; train split {len(dataset.train.texts):,} texts "
          f"(loaded in {time.perf_counter() - started:.0f} s)")
    builders = {"default": build_default, "imdb-best": build_imdb_best}
    work = args.keep or Path(tempfile.mkdtemp(prefix="export-size-"))
    rows = []
    try:
        for name in args.models.split(","):
            started = time.perf_counter()
            config, text_model = builders[name](dataset)
            built = time.perf_counter() - started
            weights = weights_float32_bytes(text_model)
            print(f"\n## {name}: {config.model.description}, {weights // 4:,} weights; vocabularies: "
                  f"{vocabulary_sizes(text_model)} (built in {built:.0f} s)")
            started = time.perf_counter()
            metadata = model_metadata(dataset.class_names, config.to_dict())
            version = export_saved_model(text_model, metadata, work / "exports", name)
            exported = time.perf_counter() - started
            layouts = [("this export", version, exported)]
            if args.legacy:
                legacy = work / "legacy" / name / "1"
                legacy.parent.mkdir(parents=True, exist_ok=True)
                started = time.perf_counter()
                write_legacy(legacy, text_model, dataset.class_names)
                layouts.append(("before (legacy)", legacy, time.perf_counter() - started))
            print("\n| part | " + " | ".join(label for label, _, _ in layouts) + " |")
            print("|---|" + "---:|" * len(layouts))
            sizes = [parts(path) for _, path, _ in layouts]
            for key in sorted(set().union(*sizes), key=lambda k: (k.startswith("assets.extra"), k)):
                print(f"| {key} | " + " | ".join(megabytes(s[key]) if key in s else "–" for s in sizes) + " |")
            totals = [sum(s.values()) for s in sizes]
            print("| **total** | " + " | ".join(f"**{megabytes(t)}**" for t in totals) + " |")
            print(f"| weights, float32 | " + " | ".join(megabytes(weights) for _ in layouts) + " |")
            print("| **total / weights** | " + " | ".join(f"**{t / weights:.3f}x**" for t in totals) + " |")
            print("| export seconds | " + " | ".join(f"{seconds:.1f}" for _, _, seconds in layouts) + " |")
            # The export still does what it is for: its SavedModel and its Keras model answer as the model does.
            texts = dataset.test.texts[:64]
            expected = text_model(tf.constant(texts), training=False).numpy()[:, 0]
            served = load_model(version).predict_proba(texts)[:, 1]
            started = time.perf_counter()
            keras_copy = load_model(version / "assets.extra" / KERAS_FILE)
            loaded = time.perf_counter() - started
            rebuilt = keras_copy.predict_proba(texts)[:, 1]
            print(f"\nMax |difference| from the in-memory model on 64 test texts: SavedModel "
                  f"{np.abs(served - expected).max():.2e}, Keras model rebuilt from the export "
                  f"{np.abs(rebuilt - expected).max():.2e} (rebuilt in {loaded:.1f} s)")
            ratio = totals[0] / weights
            rows.append((name, totals[0], weights, ratio))
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    print("\n| model | export | weights (float32) | ratio | target |\n|---|---:|---:|---:|---|")
    for name, total, weights, ratio in rows:
        print(f"| {name} | {megabytes(total)} | {megabytes(weights)} | {ratio:.3f}x | "
              f"{'met' if ratio <= TARGET else 'NOT met'} (<= {TARGET}x) |")


if __name__ == "__main__":
    main()
