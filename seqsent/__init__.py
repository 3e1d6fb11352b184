"""seqsent: recurrent sentiment classifiers, from raw text to TensorFlow Serving.

Python API (the CLI calls the same functions):

    from seqsent import RunConfig, train, evaluate, predict, export
    report = train(RunConfig(name="demo"))
    predict(report.export_dir, ["A wonderful film.", "Dull and far too long."])

TensorFlow is imported on first use, so `import seqsent` stays fast.
"""

from seqsent.version import __version__  # noqa: E402
from seqsent.config import DataConfig, ModelConfig, RunConfig, TextConfig, TrainConfig  # noqa: E402

# Each command of the CLI, by the function it calls (module, name there); TensorFlow is imported on first use.
COMMANDS = {
    "train": ("seqsent.api", "train"),
    "evaluate": ("seqsent.api", "evaluate"),
    "report": ("seqsent.api", "report"),
    "predict": ("seqsent.api", "predict"),
    "export": ("seqsent.api", "export"),
    "ensemble": ("seqsent.api", "ensemble"),
    "pretrain_lm": ("seqsent.api", "pretrain_lm"),
    "pretrain_embeddings": ("seqsent.pretraining.word2vec", "pretrain_embeddings"),
    "compare": ("seqsent.comparison", "compare"),
    "prepare": ("seqsent.data.prepare", "prepare"),
    "serving_config": ("seqsent.serving.models_config", "write_serving_config"),
    "load": ("seqsent.serving.inference", "load_model"),
    "from_python": ("seqsent.data.python", "from_python"),
    "build_model": ("seqsent.models", "build_classifier"),
}
# Those that need no TensorFlow (reading and writing files only).
_WITHOUT_TENSORFLOW = {"prepare", "serving_config"}

__all__ = ["RunConfig", "DataConfig", "TextConfig", "ModelConfig", "TrainConfig", *COMMANDS, "__version__"]


def __getattr__(name):
    if name not in COMMANDS:
        raise AttributeError(f"module 'seqsent' has no attribute {name!r}")
    import importlib

    if name not in _WITHOUT_TENSORFLOW:
        from seqsent.errors import check_keras_backend

        check_keras_backend()
    module, attribute = COMMANDS[name]
    return getattr(importlib.import_module(module), attribute)
