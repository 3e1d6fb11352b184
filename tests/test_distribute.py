"""tf.distribute on CPU: two real workers, every strategy this machine has, dtypes under mixed precision.

- two `seqsent train --strategy multi-worker` processes on 127.0.0.1 train like one process with
  the same global batch; only the chief exports; the other worker cleans up after itself;
- the classifier builds under the default, mirrored and (in a fresh process, as TensorFlow
  requires) single-worker multi-worker strategies, in float32;
- mixed precision: float32 with a warning on CPU; under mixed_float16 the recurrent layers compute
  in float16 while variables and the output layer stay float32, the optimizer scales the loss,
  and the exported copy computes in float32;
- TF_CONFIG checks, TPU absent, cuDNN eligibility warnings, XLA.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from conftest import SHARED_ARCHIVE, TINY_MODEL_CONFIG, tiny_run_config, tiny_texts, write_csv

SEQSENT = Path(sys.executable).parent / "seqsent"
QUIET_ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def run_as_one_worker(script: str, tmp_path: Path, timeout: int = 120) -> dict:
    """Run `script` in a fresh process given a one-worker TF_CONFIG file (sys.argv[1]); the JSON it prints last."""
    config = tmp_path / "tf_config.json"
    config.write_text(tf_config(free_ports(1), 0))
    done = subprocess.run([sys.executable, "-c", script, str(config)], capture_output=True, text=True, timeout=timeout,
                          env={**QUIET_ENV, "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent),
                                                                           os.environ.get("PYTHONPATH", "")])})
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def tf_config(ports: list[int], index: int) -> str:
    return json.dumps({"cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
                       "task": {"type": "worker", "index": index}})


def data_args(tmp_path: Path) -> list[str]:
    """400 real IMDB reviews where the shared archive is; a tiny CSV elsewhere."""
    if SHARED_ARCHIVE.is_file():
        return ["--data", str(SHARED_ARCHIVE.resolve()), "--limit", "400"]
    return ["--data", str(write_csv(tmp_path / "reviews.csv", tiny_texts(("neg", "pos"), per_class=100)))]


@pytest.mark.skipif(not SEQSENT.exists(), reason=f"{SEQSENT} not installed")
def test_two_workers_train_like_one_process_and_only_the_chief_exports(tmp_path):
    # Dropout off: each replica would otherwise draw its own masks, and the two runs could not match.
    common = [*data_args(tmp_path), "--arch", "lstm", "--units", "8", "--embedding-dim", "16",
              "--max-tokens", "2000", "--sequence-length", "64", "--epochs", "1", "--learning-rate", "0.02",
              "--dropout", "0", "--embedding-dropout", "0", "--head-dropout", "0", "--name", "mw", "--quiet"]
    cluster, single, worker_tmp = tmp_path / "cluster", tmp_path / "single", tmp_path / "worker-tmp"
    for directory in (cluster, single, worker_tmp):
        directory.mkdir()
    ports = free_ports(2)
    procs = {
        "chief": subprocess.Popen(
            [str(SEQSENT), "train", *common, "--strategy", "multi-worker", "--batch-size", "16",
             "--tf-config", tf_config(ports, 0)], cwd=cluster, env=QUIET_ENV, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE),
        "worker": subprocess.Popen(
            [str(SEQSENT), "train", *common, "--strategy", "multi-worker", "--batch-size", "16",
             "--tf-config", tf_config(ports, 1)], cwd=cluster, env={**QUIET_ENV, "TMPDIR": str(worker_tmp)},
            text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE),
        # One process with the same global batch (2 x 16): the same steps on the same examples.
        "single": subprocess.Popen([str(SEQSENT), "train", *common, "--strategy", "default", "--batch-size", "32"],
                                   cwd=single, env=QUIET_ENV, text=True, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE),
    }
    outputs = {}
    try:
        for name, proc in procs.items():
            out, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, f"{name}: {err[-3000:]}"
            outputs[name] = out
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()

    assert "MultiWorkerMirroredStrategy, 2 replicas on 2 workers (this process: worker-0, the chief)" in outputs["chief"]
    assert "global batch 32 (16 per replica x 2)" in outputs["chief"]
    assert "Exported: saved_models/mw/1" in outputs["chief"]
    assert "(this process: worker-1)" in outputs["worker"] and "Exported" not in outputs["worker"]
    assert "This worker is done; the chief exports the model" in outputs["worker"]
    assert "global batch 32 (32 per replica x 1)" in outputs["single"]
    # Both workers ran in one directory: one export, one run directory, nothing else; the worker's
    # temporary directory is gone.
    assert sorted(p.name for p in (cluster / "saved_models" / "mw").iterdir()) == ["1"]
    assert sorted(p.name for p in (cluster / "runs" / "mw").iterdir()) == ["1"]
    assert list(worker_tmp.iterdir()) == []

    distributed = json.loads((cluster / "runs" / "mw" / "1" / "metrics.json").read_text())
    alone = json.loads((single / "runs" / "mw" / "1" / "metrics.json").read_text())
    assert distributed["replicas"] == 2 and alone["replicas"] == 1
    assert distributed["global_batch_size"] == alone["global_batch_size"] == 32
    # The same optimisation up to float summation order and how an odd-sized batch is split between the
    # workers (each averages its share): measured, training loss equal to 2e-5, test loss to 1e-5, accuracy
    # identical. 0.02 of accuracy (8 of 400 reviews) allows a few reviews at the 0.5 threshold to flip; a
    # worker training on the wrong shard or batch would move the losses far beyond these bounds.
    history = [json.loads((d / "runs" / "mw" / "1" / "history.json").read_text()) for d in (cluster, single)]
    assert history[0]["loss"][0] == pytest.approx(history[1]["loss"][0], rel=1e-3)
    assert distributed["test"]["loss"] == pytest.approx(alone["test"]["loss"], rel=1e-3)
    assert abs(distributed["test"]["accuracy"] - alone["test"]["accuracy"]) <= 0.02


@pytest.mark.skipif(not SEQSENT.exists(), reason=f"{SEQSENT} not installed")
def test_two_workers_killed_mid_run_resume_from_the_chiefs_backup(tmp_path):
    """SIGKILL both workers after the chief's first backup; the same commands (new ports) carry on from it."""
    data = write_csv(tmp_path / "reviews.csv", tiny_texts(("neg", "pos"), per_class=60))
    common = ["--data", str(data), "--arch", "gru", "--units", "4", "--embedding-dim", "8", "--max-tokens", "200",
              "--sequence-length", "20", "--epochs", "10", "--patience", "10", "--batch-size", "8",
              "--strategy", "multi-worker", "--name", "mw"]
    cluster, worker_tmp = tmp_path / "cluster", tmp_path / "worker-tmp"
    cluster.mkdir()
    worker_tmp.mkdir()

    def launch(verbosity: list[str]) -> list[subprocess.Popen]:
        ports = free_ports(2)
        return [subprocess.Popen([str(SEQSENT), "train", *common, *verbosity, "--tf-config", tf_config(ports, index)],
                                 cwd=cluster, env={**QUIET_ENV, "TMPDIR": str(worker_tmp)}, text=True,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE) for index in (0, 1)]

    first = launch(["--quiet"])
    try:
        deadline = time.monotonic() + 240
        while not (metadata := next(cluster.glob("runs/mw/in-progress-*/backup/training_metadata.json"), None)):
            assert all(p.poll() is None for p in first), first[0].stderr.read()[-2000:]
            assert time.monotonic() < deadline, "no backup within 240 s"
            time.sleep(0.01)
        for proc in first:
            proc.send_signal(signal.SIGKILL)
    finally:
        for proc in first:
            proc.kill()
            proc.communicate()
    done = json.loads(metadata.read_text())["epoch"]
    assert 1 <= done < 10, "the run ended before it could be killed"
    killed_workers_tmp = set(worker_tmp.iterdir())  # a killed worker cannot remove its temporary directory

    chief, worker = launch([])
    outputs = []
    try:
        for proc in (chief, worker):
            out, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, err[-3000:]
            outputs.append(out)
    finally:
        for proc in (chief, worker):
            if proc.poll() is None:
                proc.kill()
    assert not metadata.exists()  # the finished run's backup is cleaned up
    assert f"Resuming from the backup in runs/mw/{metadata.parent.parent.name}/backup: epoch" in outputs[0]
    assert "Resuming from the chief's backup" in outputs[1]
    resumed_at = int(re.search(r"Resuming from the backup[^:]*: epochs? (?:1-)?(\d+) of", outputs[0]).group(1))
    assert resumed_at >= done
    assert f"Epoch {resumed_at + 1}/10" in outputs[0] and "Epoch 1/10" not in outputs[0]
    assert "Exported: saved_models/mw/1" in outputs[0] and "Exported" not in outputs[1]
    history = json.loads((cluster / "runs" / "mw" / "1" / "history.json").read_text())
    assert len(history["loss"]) == 10  # the epochs before the kill, and the rest
    assert set(worker_tmp.iterdir()) == killed_workers_tmp  # the resumed worker cleaned up after itself


# ---------------------------------------------------------------- strategies and dtypes


def build_in(strategy, num_classes=2, arch="bilstm"):
    from seqsent.config import ModelConfig
    from seqsent.models import build_classifier

    with strategy.scope():
        model = build_classifier(ModelConfig(arch=arch, **TINY_MODEL_CONFIG), 50, num_classes, seed=1)
        model.compile(optimizer="adam", loss="binary_crossentropy" if num_classes == 2 else
                      "sparse_categorical_crossentropy")
    return model


def recurrent_layers(model):
    from seqsent.models.recurrent import _recurrent_layers

    return [layer for _, layer in _recurrent_layers(model.layers)]


@pytest.mark.parametrize("name, replicas", [("default", 1), ("mirrored", 1), ("auto", 1)])
def test_classifier_builds_in_float32_under_each_local_strategy(name, replicas):
    import keras

    from seqsent.training.strategy import set_numeric_policy, start_distribution

    distribution, warnings = start_distribution(name)
    assert distribution.replicas == replicas and distribution.is_chief
    assert warnings == ([] if name != "mirrored" else  # no GPU here
                        ["--strategy mirrored with no GPU on this machine: one replica, as the default strategy "
                         "would train"])
    assert distribution.name == ("default" if name == "auto" else name)  # no GPU here: auto is default
    assert set_numeric_policy(False, distribution) == ("float32", [])
    model = build_in(distribution.strategy)
    assert all(v.dtype == "float32" for v in model.trainable_variables)
    assert {layer.compute_dtype for layer in recurrent_layers(model)} == {"float32"}
    assert model.get_layer("probabilities").compute_dtype == "float32"
    if name == "mirrored":
        assert isinstance(distribution.strategy, __import__("tensorflow").distribute.MirroredStrategy)
        assert type(model.trainable_variables[0].value).__name__ == "MirroredVariable"
    assert not isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)


def test_multi_worker_strategy_with_a_single_worker_tf_config_in_a_fresh_process(tmp_path):
    """MultiWorkerMirroredStrategy must exist before TensorFlow runs an op: a new process, as `seqsent train`."""
    script = """
import json, os, sys
from seqsent.training.strategy import set_tf_config, start_distribution, set_numeric_policy
set_tf_config(sys.argv[1])
distribution, warnings = start_distribution("multi-worker")
from test_distribute import build_in, recurrent_layers
model = build_in(distribution.strategy)
print(json.dumps({
    "describe": distribution.describe(), "replicas": distribution.replicas, "chief": distribution.is_chief,
    "workers": distribution.num_workers, "policy": set_numeric_policy(True, distribution),
    "variables": sorted({v.dtype for v in model.trainable_variables}),
    "recurrent": sorted({l.compute_dtype for l in recurrent_layers(model)}),
    "variable_type": type(model.trainable_variables[0].value).__name__,
}))
"""
    facts = run_as_one_worker(script, tmp_path)
    assert facts["describe"] == "MultiWorkerMirroredStrategy, 1 replica"
    assert (facts["replicas"], facts["chief"], facts["workers"]) == (1, True, 1)
    assert facts["policy"][0] == "float32" and "needs a GPU" in facts["policy"][1][0]
    assert facts["variables"] == ["float32"] and facts["recurrent"] == ["float32"]
    assert facts["variable_type"] == "MirroredVariable"


def test_multi_worker_strategy_without_a_cluster_says_it_trains_alone():
    script = ("import json\nfrom seqsent.training.strategy import start_distribution\n"
              "distribution, warnings = start_distribution('multi-worker')\n"
              "print(json.dumps({'workers': distribution.num_workers, 'warnings': warnings}))")
    env = {key: value for key, value in QUIET_ENV.items() if key != "TF_CONFIG"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    facts = json.loads(done.stdout.strip().splitlines()[-1])
    assert facts["workers"] == 1
    assert any("without --tf-config or TF_CONFIG: no cluster is described" in w for w in facts["warnings"])


def test_mixed_precision_on_cpu_trains_in_float32_and_says_so(tmp_path):
    """Also: --jit-compile (XLA on CPU) and fixed padding, through the trainer."""
    from seqsent.data import load_dataset
    from seqsent.training.trainer import fit

    config = tiny_run_config(write_csv(tmp_path / "reviews.csv", tiny_texts(per_class=8)), name="m")
    config.train.epochs = 1
    config.train.mixed_precision = True
    config.train.jit_compile = True
    config.train.padding = "fixed"
    messages = []
    result = fit(config.validate(), load_dataset(config.data), tmp_path / "run", verbose=0, notify=messages.append)
    assert "Warning: --mixed-precision needs a GPU (float16) or a TPU (bfloat16): training in float32 on CPU" \
        in messages
    assert result.numeric_policy == "float32" and result.jit_compile is True
    assert len(result.history["loss"]) == 1


@pytest.fixture
def mixed_float16():
    import keras

    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy("float32")


@pytest.mark.parametrize("arch, num_classes", [("bilstm", 2), ("gru", 3), ("rnn", 2)])
def test_under_mixed_float16_the_output_layer_and_variables_stay_float32(arch, num_classes, mixed_float16):
    import keras
    import tensorflow as tf

    from seqsent.training.fit import _portable_copy

    model = build_in(tf.distribute.get_strategy(), num_classes, arch)
    assert {layer.compute_dtype for layer in recurrent_layers(model)} == {"float16"}
    assert model.get_layer("embedding").compute_dtype == "float16"
    assert model.get_layer("probabilities").dtype_policy.name == "float32"
    assert all(v.dtype == "float32" for v in model.trainable_variables)
    assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)  # float16 gradients need loss scaling
    ids = np.random.default_rng(0).integers(1, 50, size=(4, 9))
    probabilities = model.predict(ids, verbose=0)
    assert probabilities.dtype == np.float32 and np.all(np.isfinite(probabilities))

    exported = _portable_copy(model)  # what seqsent exports after mixed-precision training
    assert {layer.dtype_policy.name for layer in exported.layers} == {"float32"}
    assert {layer.compute_dtype for layer in recurrent_layers(exported)} == {"float32"}
    np.testing.assert_allclose(exported.predict(ids, verbose=0), probabilities, atol=2e-3)


def test_numeric_policy_per_device():
    import tensorflow as tf

    from seqsent.training.strategy import Distribution, numeric_policy

    local = Distribution(tf.distribute.get_strategy(), "default")
    assert numeric_policy(False, local) == ("float32", [])
    assert numeric_policy(True, local)[0] == "float32"  # no GPU on this machine
    assert numeric_policy(True, Distribution(tf.distribute.get_strategy(), "tpu")) == ("mixed_bfloat16", [])


# ---------------------------------------------------------------- TF_CONFIG, TPU, cuDNN, Keras fixes


def test_tf_config_from_json_or_file_sets_the_environment(tmp_path, monkeypatch):
    from seqsent.training.strategy import TF_CONFIG, parse_tf_config, set_tf_config

    monkeypatch.setenv(TF_CONFIG, "{}")  # recorded, so the variable set_tf_config writes is removed afterwards
    monkeypatch.delenv(TF_CONFIG)
    text = json.dumps({"cluster": {"chief": ["a:1"], "worker": ["b:2", "c:3"]}, "task": {"type": "worker", "index": 1}})
    file = tmp_path / "cluster.json"
    file.write_text(text)
    assert parse_tf_config(text) == parse_tf_config(str(file)) == json.loads(text)
    set_tf_config(str(file))
    assert json.loads(os.environ[TF_CONFIG]) == json.loads(text)


@pytest.mark.parametrize("value, fragment", [
    ("{not json", "not valid JSON"),
    ("/no/such/file.json", "neither JSON nor a readable file"),
    ('{"cluster": {"worker": ["a:1"]}}', 'with "cluster" and "task"'),
    ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 1}}', "is not in the cluster"),
    ('{"cluster": {"worker": ["a:1"], "ps": ["b:2"]}, "task": {"type": "worker", "index": 0}}', "ps are not used"),
    ('{"cluster": {"worker": ["a"]}, "task": {"type": "worker", "index": 0}}', '"host:port"'),
])
def test_bad_tf_config_is_a_usage_error(value, fragment):
    from seqsent.errors import UsageError
    from seqsent.training.strategy import parse_tf_config

    with pytest.raises(UsageError, match=None) as excinfo:
        parse_tf_config(value)
    assert fragment in str(excinfo.value)


def test_tpu_strategy_without_a_tpu_is_a_usage_error(monkeypatch):
    import glob

    from seqsent.errors import UsageError
    from seqsent.training.strategy import start_distribution

    monkeypatch.delenv("TPU_NAME", raising=False)
    if glob.glob("/dev/accel*") or glob.glob("/dev/vfio/[0-9]*"):
        pytest.skip("this machine may have a TPU")
    with pytest.raises(UsageError, match="--strategy tpu: no TPU here"):
        start_distribution("tpu")


def test_tf_config_with_a_local_strategy_warns_that_the_cluster_is_ignored(monkeypatch):
    from seqsent.training.strategy import TF_CONFIG, start_distribution

    monkeypatch.setenv(TF_CONFIG, tf_config([1, 2], 0))
    _, warnings = start_distribution("default")
    assert warnings and "TF_CONFIG is set but --strategy is default" in warnings[0]


def test_cudnn_blockers_name_each_setting_that_rules_out_the_cudnn_kernels():
    import keras

    from seqsent.models.recurrent import cudnn_blockers

    assert cudnn_blockers(build_in(__import__("tensorflow").distribute.get_strategy(), arch="bilstm")) == []
    assert cudnn_blockers(build_in(__import__("tensorflow").distribute.get_strategy(), arch="gru")) == []
    assert cudnn_blockers(build_in(__import__("tensorflow").distribute.get_strategy(), arch="birnn")) == [
        "birnn_1 forward: SimpleRNN has no cuDNN kernel (lstm and gru have)",
        "birnn_1 backward: SimpleRNN has no cuDNN kernel (lstm and gru have)"]
    inputs = keras.Input((5, 3))
    x = keras.layers.LSTM(2, recurrent_dropout=0.2, return_sequences=True, name="a")(inputs)
    x = keras.layers.GRU(2, reset_after=False, activation="relu", return_sequences=True, name="b")(x)
    x = keras.layers.Bidirectional(keras.layers.LSTM(2, unroll=True, use_bias=False), name="c")(x)
    problems = cudnn_blockers(keras.Model(inputs, x))
    assert problems[0] == "a: recurrent dropout 0.2 rules out the cuDNN LSTM kernel"
    assert problems[1] == "b: activation relu, reset_after=False rules out the cuDNN GRU kernel"
    assert len(problems) == 4 and all("unroll=True, no bias" in p for p in problems[2:])


def test_keras_multi_worker_fixes_apply_only_under_a_multi_worker_strategy_and_are_undone():
    import tensorflow as tf
    from keras.src.backend.tensorflow import trainer as keras_tf_trainer

    from seqsent.training.multi_worker import keras_multi_worker_fixes

    reduce, build = keras_tf_trainer.reduce_per_replica, keras_tf_trainer.TensorFlowTrainer._maybe_symbolic_build
    with keras_multi_worker_fixes(tf.distribute.get_strategy()):
        assert keras_tf_trainer.reduce_per_replica is reduce  # nothing to fix on one worker
    assert keras_tf_trainer.reduce_per_replica is reduce
    assert keras_tf_trainer.TensorFlowTrainer._maybe_symbolic_build is build


# ---------------------------------------------------------------- padding


def test_padding_modes_shape_the_training_batches():
    import tensorflow as tf

    from seqsent.training.pipeline import evaluation_dataset, training_dataset

    rng = np.random.default_rng(1)
    lengths = rng.integers(1, 120, size=200)
    ids = tf.ragged.constant([list(rng.integers(2, 50, size=n)) for n in lengths], tf.int64)
    labels = np.arange(200) % 2

    def widths(padding):
        ds = training_dataset(ids, labels, 2, batch_size=16, max_length=120, seed=1, padding=padding)
        batches = [x.numpy() for x, _ in ds]
        assert sum(len(b) for b in batches) == 200 and len(batches) == int(ds.cardinality())
        return [b.shape[1] for b in batches], [int((b != 0).sum()) / b.size for b in batches]

    fixed, fixed_fill = widths("fixed")
    assert set(fixed) == {120}
    batch, batch_fill = widths("batch")
    assert max(batch) <= 119 and len(set(batch)) > 1
    bucket, bucket_fill = widths("bucket")
    # Buckets hold similar lengths, so batches are mostly tokens, not padding.
    assert np.mean(bucket_fill) > np.mean(batch_fill) > np.mean(fixed_fill)
    assert np.mean(bucket_fill) > 0.75
    evaluation = evaluation_dataset(ids, labels, 2, batch_size=16, padding="fixed", max_length=120)
    assert {x.shape[1] for x, _ in evaluation} == {120}
