"""Would unfreezing frozen word vectors after the classifier converged help? Validation only.

    python benchmarks/unfreeze_after.py saved_models/NAME/VERSION [--learning-rate 1e-4] [--epochs 3]

The question behind ULMFiT's gradual unfreezing, asked of a `--freeze-embeddings` export (e.g. `--preset few-labels`):
starting from its best weights, train its Embedding too, at a low rate, on the same train split, and print the
validation loss and accuracy of each epoch beside the export's own. The data and split come from the export's
recorded configuration (the same seed, so the same validation reviews); the test split is never read.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def batches(split, shuffle: bool, batch_size: int):
    import numpy as np
    import tensorflow as tf

    data = tf.data.Dataset.from_tensor_slices((np.array(split.texts, dtype=object), split.labels.astype("float32")))
    if shuffle:
        data = data.shuffle(len(split), seed=7, reshuffle_each_iteration=True)
    return data.batch(batch_size).prefetch(2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("export", type=Path, help="a two-class export whose word vectors were frozen")
    parser.add_argument("--learning-rate", type=float, default=1e-4)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()

    import keras

    from seqsent.config import RunConfig
    from seqsent.data import load_dataset
    from seqsent.files import read_json
    from seqsent.layout import EXTRA_DIR
    from seqsent.serving.keras_copy import load_keras_copy

    recorded = read_json(args.export / EXTRA_DIR / "seqsent.json", "the export's description")
    config = RunConfig.from_dict(recorded["config"])
    if not config.model.freeze_embeddings:
        sys.exit(f"{args.export} was trained with its word vectors trained already (no --freeze-embeddings)")
    dataset = load_dataset(config.data)
    if dataset.num_classes != 2:
        sys.exit("this benchmark scores two-class models (binary cross-entropy)")
    model = load_keras_copy(args.export)
    for layer in model._flatten_layers():
        if isinstance(layer, keras.layers.Embedding):
            layer.trainable = True
    model.compile(optimizer=keras.optimizers.Adam(args.learning_rate, clipnorm=config.train.clipnorm or None),
                  loss="binary_crossentropy", metrics=["accuracy"])
    validation = batches(dataset.validation, False, args.batch_size)
    start_loss, start_accuracy = model.evaluate(validation, verbose=0)
    started = time.perf_counter()
    history = model.fit(batches(dataset.train, True, args.batch_size), validation_data=validation,
                        epochs=args.epochs, verbose=2).history
    minutes = (time.perf_counter() - started) / 60
    print(f"\n{args.export}: word vectors unfrozen, Adam {args.learning_rate:g}, {len(dataset.validation):,} "
          f"validation texts ({minutes:.1f} min)")
    print("| epoch | validation loss | validation accuracy |\n|---|---|---|")
    print(f"| frozen (the export) | {start_loss:.4f} | {100 * start_accuracy:.2f}% |")
    for epoch, (loss, accuracy) in enumerate(zip(history["val_loss"], history["val_accuracy"]), start=1):
        print(f"| + {epoch} unfrozen | {loss:.4f} | {100 * accuracy:.2f}% |")


if __name__ == "__main__":
    main()
