"""The tf.distribute strategy, this process's role in a cluster, and the numeric policy.

All three are set once, at the start of a run. A MultiWorkerMirroredStrategy must be created
before TensorFlow runs its first op (it configures collective ops at start-up), so
`seqsent train` creates the strategy before it loads any data.
"""

from __future__ import annotations

import glob
import json
import os
from dataclasses import dataclass
from pathlib import Path

import keras
import tensorflow as tf

from seqsent.errors import UsageError

TF_CONFIG = "TF_CONFIG"
MULTI_WORKER_JOBS = ("chief", "worker")


@dataclass
class Distribution:
    """A strategy plus where this process sits in the cluster (one machine: the chief, alone)."""

    strategy: tf.distribute.Strategy
    name: str
    """The resolved --strategy: default, mirrored, multi-worker or tpu."""
    task_type: str | None = None
    task_id: int = 0
    num_workers: int = 1

    @property
    def replicas(self) -> int:
        return self.strategy.num_replicas_in_sync

    @property
    def is_chief(self) -> bool:
        """Only the chief writes the run directory, the backup and the export."""
        if self.task_type is None:
            return True
        if self.task_type == "chief":
            return True
        jobs = self.strategy.cluster_resolver.cluster_spec().jobs
        return self.task_type == "worker" and self.task_id == 0 and "chief" not in jobs

    @property
    def worker(self) -> str:
        return "chief" if self.task_type is None else f"{self.task_type}-{self.task_id}"

    def describe(self) -> str:
        kind = {"default": "default strategy", "mirrored": "MirroredStrategy", "tpu": "TPUStrategy",
                "multi-worker": "MultiWorkerMirroredStrategy"}.get(self.name, type(self.strategy).__name__)
        text = f"{kind}, {self.replicas} replica{'s' if self.replicas != 1 else ''}"
        if self.num_workers > 1:
            text += f" on {self.num_workers} workers (this process: {self.worker}{', the chief' if self.is_chief else ''})"
        return text


def parse_tf_config(value: str) -> dict:
    """TF_CONFIG from JSON text or from a file holding it; checked for what multi-worker training needs."""
    text = value.strip()
    if not text.startswith("{"):
        try:
            text = Path(value).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"--tf-config {value}: neither JSON nor a readable file ({exc})") from None
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"--tf-config: not valid JSON ({exc})") from None
    cluster, task = (parsed.get("cluster"), parsed.get("task")) if isinstance(parsed, dict) else (None, None)
    if not isinstance(cluster, dict) or not isinstance(task, dict):
        raise UsageError('TF_CONFIG must be an object with "cluster" and "task", e.g. '
                         '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}')
    unknown = set(cluster) - set(MULTI_WORKER_JOBS)
    if unknown:
        raise UsageError(f"TF_CONFIG: jobs {', '.join(sorted(unknown))} are not used by multi-worker training "
                         "(only chief and worker)")
    for job, addresses in cluster.items():
        if not isinstance(addresses, list) or not addresses or not all(isinstance(a, str) and ":" in a for a in addresses):
            raise UsageError(f'TF_CONFIG: cluster "{job}" must be a list of "host:port" addresses')
    if len(cluster.get("chief", [])) > 1:
        raise UsageError("TF_CONFIG: a cluster has at most one chief")
    kind, index = task.get("type"), task.get("index")
    if kind not in cluster or not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(cluster[kind]):
        raise UsageError(f"TF_CONFIG: task {task} is not in the cluster {cluster}")
    return parsed


def set_tf_config(value: str) -> dict:
    """--tf-config: set the TF_CONFIG environment variable (read when the strategy is created)."""
    parsed = parse_tf_config(value)
    os.environ[TF_CONFIG] = json.dumps(parsed)
    return parsed


def cluster_size(tf_config: dict | None) -> int:
    return sum(len(addresses) for addresses in (tf_config or {}).get("cluster", {}).values())


def resolve_strategy_name(name: str) -> str:
    """auto: mirrored across a machine's GPUs when it has more than one, else default.

    Physical devices only: listing logical devices would start TensorFlow's runtime, after
    which a multi-worker strategy can no longer be created.
    """
    if name == "auto":
        return "mirrored" if len(tf.config.list_physical_devices("GPU")) > 1 else "default"
    return name


def start_distribution(name: str) -> tuple[Distribution, list[str]]:
    """Create the strategy for --strategy `name`; returns it with warnings for the user."""
    name = resolve_strategy_name(name)
    warnings = []
    tf_config = json.loads(os.environ[TF_CONFIG]) if os.environ.get(TF_CONFIG) else None
    if tf_config is not None and name != "multi-worker":
        warnings.append(f"TF_CONFIG is set but --strategy is {name}: this process trains alone "
                        "(--strategy multi-worker trains with the cluster it describes)")
    if name == "multi-worker":
        from seqsent.training.multi_worker import untested_keras_warning

        warnings += [w for w in [untested_keras_warning()] if w]
        if tf_config is None:  # a cluster forgotten: said, not trained alone in silence
            warnings.append("--strategy multi-worker without --tf-config or TF_CONFIG: no cluster is described, so "
                            "this process trains as the only worker")
        return _multi_worker(tf_config), warnings
    if name == "tpu":
        return Distribution(_tpu_strategy(), "tpu"), warnings
    if name == "mirrored":
        gpus = len(tf.config.list_physical_devices("GPU"))
        if gpus < 2:  # still runs (one replica), but the user asked for data parallelism it cannot give
            warnings.append(f"--strategy mirrored with {'no GPU' if not gpus else 'one GPU'} on this machine: one "
                            "replica, as the default strategy would train")
        return Distribution(tf.distribute.MirroredStrategy(), "mirrored"), warnings
    return Distribution(tf.distribute.get_strategy(), "default"), warnings


def _multi_worker(tf_config: dict | None) -> Distribution:
    if tf_config is not None:
        parse_tf_config(json.dumps(tf_config))  # a hand-set TF_CONFIG gets the same checks as --tf-config
    try:
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    except RuntimeError as exc:
        if "program startup" not in str(exc):
            raise
        raise UsageError("--strategy multi-worker must be set up before TensorFlow runs anything; "
                         "`seqsent train` does that, other commands cannot train on several workers") from None
    resolver = strategy.cluster_resolver
    task_type = resolver.task_type if tf_config else None
    return Distribution(strategy, "multi-worker", task_type=task_type, task_id=int(resolver.task_id or 0),
                        num_workers=max(cluster_size(tf_config), 1))


def _tpu_strategy() -> tf.distribute.Strategy:
    """A Cloud TPU named by $TPU_NAME, or the TPU of a TPU VM; a usage error where there is none.

    Checked before TPUClusterResolver runs: elsewhere it would query the GCE metadata server.
    """
    tpu = os.environ.get("TPU_NAME") or ("local" if glob.glob("/dev/accel*") or glob.glob("/dev/vfio/[0-9]*") else None)
    if tpu is None:
        raise UsageError("--strategy tpu: no TPU here (run on a TPU VM, or set TPU_NAME to a TPU's name or "
                         "grpc:// address)")
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=tpu)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    except (ValueError, RuntimeError, tf.errors.OpError) as exc:
        raise UsageError(f"--strategy tpu: could not use TPU {tpu!r}: {str(exc).splitlines()[0]}") from None


def numeric_policy(mixed_precision: bool, distribution: Distribution) -> tuple[str, list[str]]:
    """The Keras dtype policy of a run, and a warning when --mixed-precision cannot apply.

    Variables stay float32 under both mixed policies (and the output layer computes in float32);
    float16 on GPU (the optimizer then scales the loss), bfloat16 on TPU (no scaling needed). CPUs
    gain nothing from either, so they train in float32.
    """
    if not mixed_precision:
        return "float32", []
    if distribution.name == "tpu":
        return "mixed_bfloat16", []
    if tf.config.list_logical_devices("GPU"):
        return "mixed_float16", []
    return "float32", ["--mixed-precision needs a GPU (float16) or a TPU (bfloat16): training in float32 on CPU"]


def set_numeric_policy(mixed_precision: bool, distribution: Distribution) -> tuple[str, list[str]]:
    policy, warnings = numeric_policy(mixed_precision, distribution)
    keras.mixed_precision.set_global_policy(policy)
    return policy, warnings
