"""seqsent: recurrent sentiment classifiers, from raw text to TensorFlow Serving.

Python API (the CLI calls the same functions):

    from seqsent import RunConfig, train, evaluate, predict, export
    report = train(RunConfig(name="demo"))
    predict(report.export_dir, ["A wonderful film.", "Dull and far too long."])

TensorFlow is imported on first use, so `import seqsent` stays fast.
"""

from seqsent.version import __version__  # noqa: E402
from seqsent.config import DataConfig, ModelConfig, RunConfig, TextConfig, TrainConfig  # noqa: E402

__all__ = ["RunConfig", "DataConfig", "TextConfig", "ModelConfig", "TrainConfig",
           "train", "evaluate", "report", "predict", "export", "pretrain_lm", "load", "from_python", "build_model",
           "__version__"]


def __getattr__(name):
    if name in ("train", "evaluate", "report", "predict", "export", "pretrain_lm", "load", "from_python",
                "build_model"):
        from seqsent.errors import check_keras_backend

        check_keras_backend()
    if name in ("train", "evaluate", "report", "predict", "export", "pretrain_lm"):
        from seqsent import api

        return getattr(api, name)
    if name == "load":
        from seqsent.serving.inference import load_model

        return load_model
    if name == "from_python":
        from seqsent.data.python import from_python

        return from_python
    if name == "build_model":
        from seqsent.models import build_classifier

        return build_classifier
    raise AttributeError(f"module 'seqsent' has no attribute {name!r}")
