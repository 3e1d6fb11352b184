"""The TF Serving contract as a server sees it: a process with TensorFlow only (no Keras, no seqsent),
core ops only, saved_model_cli, the warmup file, kill-safe versions, and models.config."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from conftest import REPO_ROOT, TINY_TEXT_CONFIG, make_ensemble, tiny_texts  # noqa: E402
from seqsent.errors import ModelError, UsageError  # noqa: E402
from seqsent.layout import EXTRA_DIR, KERAS_FILE, METADATA_FILE, WARMUP_FILE, model_metadata  # noqa: E402
from seqsent.serving.models_config import SERVING_CONFIG_FILE, serving_config_text, write_serving_config  # noqa: E402
from seqsent.files import ABANDONED_DIRECTORY_SECONDS, ABANDONED_FILE_SECONDS, hold_lock, release  # noqa: E402
from seqsent.serving.export import OLD_LOCK_PREFIX, STAGING_PREFIX, export_saved_model  # noqa: E402

BINARY_NAMES = ["neg", "pos"]
MULTI_NAMES = ["bad", "good", "meh"]
SENTENCE = "The pacing is slow, but the final act is wonderful and the lead actor is superb. "
LONG_REVIEW = (SENTENCE * (20_000 // len(SENTENCE) + 1))[:20_000]
TEXTS = ["", "A great film, superb acting!", "Awful. Boring plot.", LONG_REVIEW, "Loved it 😀👍🎬🍿",
         "Отличный фильм, рекомендую", "素晴らしい映画でした", "مذهل جدا",
         "great 👍 ужасно 映画"]
SAVED_MODEL_CLI = Path(sys.executable).parent / "saved_model_cli"
PYTHON_ONLY_OPS = {"PyFunc", "PyFuncStateless", "EagerPyFunc"}
QUIET_ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}

# Runs in a fresh interpreter that imports tensorflow and nothing of Keras or seqsent, as TF Serving
# has neither: loads each export with the serve tag, calls serving_default, and lists the graph's ops.
# `import tensorflow` itself imports keras.src.optimizers when Keras is installed (and skips it when
# it is not), so Keras and seqsent are made unimportable first, as on a serving host.
TENSORFLOW_ONLY_SCRIPT = r"""
import json, sys

BLOCKED = ("keras", "tf_keras", "seqsent", "seqsent_cli", "cli", "tensorflow_text")
for name in BLOCKED:
    sys.modules[name] = None  # `import name` now fails as if it were not installed
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow.python.framework import op_def_registry

request = json.load(open(sys.argv[1], encoding="utf-8"))
result = {"models": {}}
for path in request["models"]:
    loaded = tf.saved_model.load(path, tags=["serve"])
    outputs = loaded.signatures["serving_default"](text=tf.constant(request["texts"], dtype=tf.string))
    proto = saved_model_pb2.SavedModel()
    with open(path + "/saved_model.pb", "rb") as handle:
        proto.ParseFromString(handle.read())
    graph_ops, library_ops, functions = set(), set(), set()
    for meta_graph in proto.meta_graphs:
        graph_ops.update(node.op for node in meta_graph.graph_def.node)
        for function in meta_graph.graph_def.library.function:
            functions.add(function.signature.name)
            library_ops.update(node.op for node in function.node_def)
    ops = (graph_ops | library_ops) - functions  # a node may call a library function by its name
    result["models"][path] = {
        "tags": [list(m.meta_info_def.tags) for m in proto.meta_graphs],
        "probabilities": outputs["probabilities"].numpy().tolist(),
        "label_id": outputs["label_id"].numpy().tolist(),
        "label": [x.decode() for x in outputs["label"].numpy()],
        "graph_ops": sorted(graph_ops - functions),
        "library_ops": sorted(library_ops - functions),
        "not_registered": sorted(op for op in ops if op_def_registry.get(op) is None),
    }
result["modules"] = sorted(m for m, module in sys.modules.items() if m.split(".")[0] in BLOCKED and module is not None)
try:
    import keras
    result["keras_importable"] = True
except ImportError:
    result["keras_importable"] = False
with open(sys.argv[2], "w", encoding="utf-8") as handle:
    json.dump(result, handle)
"""


def serve_in_fresh_tensorflow_process(tmp_path: Path, models: list[Path], texts: list[str]) -> dict:
    request, response = tmp_path / "request.json", tmp_path / "response.json"
    request.write_text(json.dumps({"models": [str(m) for m in models], "texts": texts}), encoding="utf-8")
    run = subprocess.run([sys.executable, "-c", TENSORFLOW_ONLY_SCRIPT, str(request), str(response)],
                         cwd=tmp_path, env=QUIET_ENV, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(response.read_text(encoding="utf-8"))


def keras_probabilities(text_model, texts: list[str], num_classes: int) -> np.ndarray:
    out = text_model(tf.constant(texts, dtype=tf.string), training=False).numpy()
    return np.concatenate([1.0 - out, out], axis=1) if num_classes == 2 else out


@pytest.fixture(scope="module")
def tfidf_text_model():
    """A bag-of-words baseline (sparse TF-IDF features), untrained: the other family of exported graphs."""
    from seqsent.config import ModelConfig, TextConfig
    from seqsent.models import build_classifier, build_features, build_text_model

    texts = [t for t, _ in tiny_texts(("good", "bad"), per_class=6)]
    vectorizer, weighting = build_features("tfidf", TextConfig(**TINY_TEXT_CONFIG), texts)
    classifier = build_classifier(ModelConfig(arch="tfidf"), vectorizer.vocabulary_size(), 2, seed=7)
    return build_text_model(vectorizer, weighting, classifier)


@pytest.fixture(scope="module")
def ensemble_text_model(binary_text_model):
    return make_ensemble(binary_text_model)


MODELS = {  # kind -> (class names, text model fixture)
    "binary": (BINARY_NAMES, "binary_text_model"),
    "multi": (MULTI_NAMES, "three_class_text_model"),
    "tfidf": (BINARY_NAMES, "tfidf_text_model"),
    "ensemble": (BINARY_NAMES, "ensemble_text_model"),
}


@pytest.fixture(scope="module")
def exports(tmp_path_factory, request):
    base = tmp_path_factory.mktemp("serving")
    paths = {"base": base}
    for kind, (names, fixture) in MODELS.items():
        paths[kind] = export_saved_model(request.getfixturevalue(fixture), model_metadata(names, {"name": kind}),
                                         base, kind)
    return paths


@pytest.fixture(scope="module")
def fresh_process(exports, tmp_path_factory):
    return serve_in_fresh_tensorflow_process(tmp_path_factory.mktemp("fresh"), [exports[k] for k in MODELS], TEXTS)


# ---------------------------------------------------------------- a process with TensorFlow only


def test_fresh_process_serves_without_importing_keras_or_seqsent(fresh_process, exports):
    assert fresh_process["modules"] == [] and fresh_process["keras_importable"] is False
    for kind in MODELS:
        assert fresh_process["models"][str(exports[kind])]["tags"] == [["serve"]]


@pytest.mark.parametrize("kind", list(MODELS))
def test_fresh_process_probabilities_match_the_keras_model(fresh_process, exports, request, kind):
    names, model_fixture = MODELS[kind]
    served = fresh_process["models"][str(exports[kind])]
    probabilities = np.array(served["probabilities"], dtype=np.float32)
    expected = keras_probabilities(request.getfixturevalue(model_fixture), TEXTS, len(names))
    assert probabilities.shape == (len(TEXTS), len(names))
    np.testing.assert_allclose(probabilities, expected, atol=1e-5, rtol=0)
    assert served["label_id"] == expected.argmax(axis=1).tolist()
    assert served["label"] == [names[i] for i in served["label_id"]]


@pytest.mark.parametrize("kind", list(MODELS))
def test_every_op_in_the_graph_and_its_function_library_is_core_tensorflow(fresh_process, exports, kind):
    served = fresh_process["models"][str(exports[kind])]
    assert served["not_registered"] == []
    ops = set(served["graph_ops"]) | set(served["library_ops"])
    assert not ops & PYTHON_ONLY_OPS  # registered, but they call back into Python, which TF Serving lacks
    # The tokenisation really is in the walked functions (the top-level graph only calls them).
    assert {"StringLower", "StaticRegexReplace", "StringSplitV2", "LookupTableFindV2"} <= set(served["library_ops"])


@pytest.mark.parametrize("kind", list(MODELS))
def test_an_empty_batch_gets_an_empty_answer(exports, kind):
    names, _ = MODELS[kind]
    serve = tf.saved_model.load(str(exports[kind])).signatures["serving_default"]
    out = serve(text=tf.constant([], dtype=tf.string))
    assert out["probabilities"].shape == (0, len(names))
    assert out["label_id"].shape == (0,) and out["label"].shape == (0,)
    assert serve(text=tf.constant(["fine"]))["probabilities"].shape == (1, len(names))


# ---------------------------------------------------------------- saved_model_cli


def saved_model_cli(*args: str) -> str:
    run = subprocess.run([str(SAVED_MODEL_CLI), *args], env=QUIET_ENV, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    return run.stdout


def test_saved_model_cli_show_all_lists_the_serving_signature(exports):
    out = saved_model_cli("show", "--all", "--dir", str(exports["multi"]))
    signature = out.split("signature_def['serving_default']:", 1)[1]
    assert "inputs['text'] tensor_info:\n        dtype: DT_STRING\n        shape: (-1)" in signature
    assert "outputs['probabilities'] tensor_info:\n        dtype: DT_FLOAT\n        shape: (-1, 3)" in signature
    assert "outputs['label_id'] tensor_info:\n        dtype: DT_INT64" in signature
    assert "outputs['label'] tensor_info:\n        dtype: DT_STRING" in signature
    assert "Method name is: tensorflow/serving/predict" in signature


def test_saved_model_cli_run_answers_input_exprs(exports, three_class_text_model):
    out = saved_model_cli("run", "--dir", str(exports["multi"]), "--tag_set", "serve",
                          "--signature_def", "serving_default", "--input_exprs", 'text=["good film", ""]')
    # "Result for output key NAME:" followed by the numpy repr of that output.
    results = dict(part.split(":\n", 1) for part in out.split("Result for output key ")[1:])
    assert set(results) == {"probabilities", "label_id", "label"}
    expected = keras_probabilities(three_class_text_model, ["good film", ""], 3)
    probabilities = np.array([float(x) for x in re.findall(r"[-+]?\d+\.?\d*(?:e[-+]?\d+)?", results["probabilities"])])
    np.testing.assert_allclose(probabilities.reshape(2, 3), expected, atol=1e-5)
    assert [int(x) for x in re.findall(r"\d+", results["label_id"])] == expected.argmax(axis=1).tolist()
    assert re.findall(r"b'([^']*)'", results["label"]) == [MULTI_NAMES[i] for i in expected.argmax(axis=1)]


# ---------------------------------------------------------------- warmup requests


def test_warmup_file_holds_prediction_logs_matching_the_signature(exports):
    from tensorflow_serving.apis import prediction_log_pb2

    signature = tf.saved_model.load(str(exports["binary"])).signatures["serving_default"]
    input_spec = signature.structured_input_signature[1]["text"]
    records = list(tf.data.TFRecordDataset(str(exports["binary"] / EXTRA_DIR / WARMUP_FILE)).as_numpy_iterator())
    assert 1 <= len(records) <= 1000  # TF Serving replays at most 1,000
    batch_sizes = []
    for record in records:
        log = prediction_log_pb2.PredictionLog.FromString(record)
        assert log.WhichOneof("log_type") == "predict_log"
        request = log.predict_log.request
        assert request.model_spec.signature_name == "serving_default"
        assert list(request.inputs) == ["text"]
        tensor = request.inputs["text"]
        assert tf.dtypes.as_dtype(tensor.dtype) == input_spec.dtype == tf.string
        texts = tf.make_ndarray(tensor)
        assert texts.ndim == 1 and input_spec.shape.is_compatible_with(texts.shape)
        batch_sizes.append(len(texts))
        if len(texts) > 1:
            assert b"" in texts.tolist()
        out = signature(text=tf.constant(texts))  # replays as the server will
        assert out["probabilities"].shape == (len(texts), 2)
    assert 1 in batch_sizes and max(batch_sizes) > 1


# ---------------------------------------------------------------- atomic versions


KILL_SCRIPT = r"""
import os, sys, time
sys.path.insert(0, sys.argv[3])
import keras
from conftest import make_tiny_text_model
from seqsent.serving.export import export_saved_model
from seqsent.layout import model_metadata

base, mode = sys.argv[1], sys.argv[2]
model = make_tiny_text_model(2)
metadata = model_metadata(["neg", "pos"], {"name": "m"})
if mode == "hold":
    export_saved_model(model, metadata, base, "m")  # version 1, complete
    import seqsent.serving.export as export_module
    write_warmup = export_module.write_warmup_requests

    def warmup_then_hold(*args, **kwargs):  # keeps the second export midway (SavedModel written) until it is killed
        write_warmup(*args, **kwargs)
        open(os.path.join(base, "holding"), "w").close()
        time.sleep(300)

    export_module.write_warmup_requests = warmup_then_hold
export_saved_model(model, metadata, base, "m")
"""


def start_export_process(base: Path, mode: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(base), mode, str(REPO_ROOT / "tests")],
                            cwd=base, env=QUIET_ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_for(condition, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            raise AssertionError(f"export process ended early: {proc.stderr.read().decode()[-3000:]}")
        assert time.monotonic() < deadline, "timed out waiting for the export process"
        time.sleep(0.005)


def kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    proc.stderr.close()


def staging_dirs(base: Path) -> list[Path]:
    return sorted(base.glob(f"{STAGING_PREFIX}*"))


def assert_complete_version(path: Path) -> None:
    for part in ("saved_model.pb", "variables/variables.index", f"{EXTRA_DIR}/{WARMUP_FILE}",
                 f"{EXTRA_DIR}/{KERAS_FILE}", f"{EXTRA_DIR}/{METADATA_FILE}"):
        assert (path / part).is_file(), f"{path} lacks {part}"
    out = tf.saved_model.load(str(path)).signatures["serving_default"](text=tf.constant(["fine", ""]))
    assert out["probabilities"].shape == (2, 2)


def test_export_killed_midway_leaves_only_a_hidden_staging_dir_and_the_next_export_removes_it(
        tmp_path, binary_text_model):
    base = tmp_path / "m"
    proc = start_export_process(tmp_path, "hold")
    try:
        wait_for(lambda: (tmp_path / "holding").exists(), proc)
        kill(proc)
    finally:
        kill(proc)
    assert sorted(p.name for p in base.iterdir() if not p.name.startswith(".")) == ["1"]
    assert_complete_version(base / "1")
    [leftover] = staging_dirs(base)
    assert (leftover / "saved_model.pb").is_file()  # the partial export is there, under a name TF Serving ignores
    assert not (leftover / EXTRA_DIR / METADATA_FILE).exists()

    fresh = base / f"{STAGING_PREFIX}in-progress"  # another export still writing: must be kept
    fresh.mkdir()
    held = base / f"{STAGING_PREFIX}held"  # an old one a live export still holds locked: kept too
    held.mkdir()
    old_lock_file = base / f"{OLD_LOCK_PREFIX}{leftover.name[len(STAGING_PREFIX):]}"  # an earlier seqsent's
    old_lock_file.touch()
    old = time.time() - max(ABANDONED_DIRECTORY_SECONDS, ABANDONED_FILE_SECONDS) - 60
    for path in (leftover, held, old_lock_file):
        os.utime(path, (old, old))
    lock = hold_lock(held)
    try:
        new = export_saved_model(binary_text_model, model_metadata(BINARY_NAMES, {}), tmp_path, "m")
    finally:
        release(lock)
    assert new.name == "2"
    assert staging_dirs(base) == sorted([fresh, held])
    assert not old_lock_file.exists()
    assert sorted(p.name for p in base.iterdir() if not p.name.startswith(".")) == ["1", "2"]


def test_export_killed_as_soon_as_its_staging_dir_appears_leaves_no_version(tmp_path):
    base = tmp_path / "m"
    proc = start_export_process(tmp_path, "free")
    try:
        wait_for(lambda: base.is_dir() and bool(staging_dirs(base)), proc)
        kill(proc)
    finally:
        kill(proc)
    assert [p.name for p in base.iterdir() if not p.name.startswith(".")] == []
    assert len(staging_dirs(base)) == 1


# ---------------------------------------------------------------- models.config


def parse_serving_config(text: str):
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2

    return text_format.Parse(text, model_server_config_pb2.ModelServerConfig())


def fake_versions(root: Path, layout: dict[str, list[int]]) -> Path:
    """Versions complete enough to be listed: a graph that parses, variables (serving-config reads no more)."""
    from tensorflow.core.protobuf import meta_graph_pb2, saved_model_pb2

    graph = saved_model_pb2.SavedModel(meta_graphs=[meta_graph_pb2.MetaGraphDef()]).SerializeToString()
    for name, versions in layout.items():
        for version in versions:
            (root / name / str(version) / "variables").mkdir(parents=True)
            (root / name / str(version) / "saved_model.pb").write_bytes(graph)
            for file in ("variables.index", "variables.data-00000-of-00001"):
                (root / name / str(version) / "variables" / file).write_bytes(b"")
    return root


def test_serving_config_command_prints_no_tensorflow_start_up_lines(tmp_path):
    """It parses each version's graph, so it imports TensorFlow: silenced as every other command does without --debug."""
    fake_versions(tmp_path / "saved_models", {"m": [1]})
    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    done = subprocess.run([str(Path(sys.executable).parent / "seqsent"), "serving-config", "--file", "-"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "model_platform" in done.stdout, done.stderr
    assert done.stderr == "", done.stderr


def test_serving_config_file_in_a_directory_it_cannot_write_is_named_as_given(tmp_path, capsys):
    from test_cli import assert_one_line_error, run_main

    fake_versions(tmp_path / "saved_models", {"m": [1]})
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where a directory is needed", encoding="utf-8")
    code, _, err = run_main(capsys, "serving-config", "--output-dir", tmp_path / "saved_models",
                            "--file", blocked / "models.config")
    assert_one_line_error(code, err, 2, f"--file {blocked / 'models.config'}: {blocked} is a file, not a directory")


def test_serving_config_leaves_out_damaged_versions_saying_why(tmp_path):
    root = fake_versions(tmp_path / "saved_models", {"m": [1, 2, 3, 4]})
    shutil.rmtree(root / "m" / "2" / "variables")
    (root / "m" / "3" / "saved_model.pb").write_bytes(b"\x12\xff\x01partial")  # a truncated graph
    (root / "m" / "4" / "saved_model.pb").write_bytes(b"")
    notes: list[str] = []
    config = parse_serving_config(serving_config_text(root, "/models", notify=notes.append))
    assert list(config.model_config_list.config[0].model_version_policy.specific.versions) == [1]
    assert notes == [f"Note: left out {root / 'm' / '2'}: its variables/ are missing; is it complete?",
                     f"Note: left out {root / 'm' / '3'}: its saved_model.pb does not parse (DecodeError); is it "
                     "complete?",
                     f"Note: left out {root / 'm' / '4'}: its saved_model.pb holds no graph; is it complete?"]


def test_serving_config_leaves_out_a_version_whose_vocabulary_was_replaced(exports, tmp_path):
    """The server would load it and look every word up in the wrong vocabulary."""
    import gzip

    for version in (1, 2):
        shutil.copytree(exports["tfidf"], tmp_path / "m" / str(version))
    [asset] = (tmp_path / "m" / "2" / "assets").glob("vocabulary-*.txt.gz")
    asset.write_bytes(gzip.compress(b"\n".join(reversed(gzip.decompress(asset.read_bytes()).split(b"\n")))))
    notes: list[str] = []
    config = parse_serving_config(serving_config_text(tmp_path, "/models", notify=notes.append))
    assert list(config.model_config_list.config[0].model_version_policy.specific.versions) == [1]
    assert notes == [f"Note: left out {tmp_path / 'm' / '2'}: its vocabulary assets/{asset.name} is not the file it "
                     "was exported with (its SHA-256 differs: replaced or edited); the export is damaged"]


def test_serving_config_lists_every_model_and_its_versions(tmp_path):
    root = fake_versions(tmp_path / "saved_models", {"imdb-bilstm": [1, 2, 10], "reviews": [3]})
    (root / "imdb-bilstm" / ".staging-abc").mkdir()
    (root / "imdb-bilstm" / "4").mkdir()  # no saved_model.pb: not a version
    (root / "notes").mkdir()
    config = parse_serving_config(serving_config_text(root, base_path="/models"))
    entries = {c.name: c for c in config.model_config_list.config}
    assert list(entries) == ["imdb-bilstm", "reviews"]
    assert entries["imdb-bilstm"].base_path == "/models/imdb-bilstm"
    assert entries["imdb-bilstm"].model_platform == "tensorflow"
    assert list(entries["imdb-bilstm"].model_version_policy.specific.versions) == [1, 2, 10]
    assert list(entries["reviews"].model_version_policy.specific.versions) == [3]
    default = parse_serving_config(serving_config_text(root))
    assert default.model_config_list.config[0].base_path == str((root / "imdb-bilstm").resolve())
    latest = parse_serving_config(serving_config_text(root, "/models", versions="latest", names=["reviews"]))
    [only] = latest.model_config_list.config
    assert only.name == "reviews" and only.model_version_policy.latest.num_versions == 1
    every = parse_serving_config(serving_config_text(root, "gs://bucket/models/", versions="all"))
    assert every.model_config_list.config[1].base_path == "gs://bucket/models/reviews"
    assert every.model_config_list.config[1].model_version_policy.WhichOneof("policy_choice") == "all"


def test_serving_config_refuses_what_cannot_work(tmp_path):
    root = fake_versions(tmp_path / "saved_models", {"a": [1]})
    with pytest.raises(UsageError, match="absolute"):
        serving_config_text(root, base_path="models")
    with pytest.raises(UsageError, match="no exported model named b"):
        serving_config_text(root, names=["b"])
    with pytest.raises(UsageError, match="--versions"):
        serving_config_text(root, versions="newest")
    with pytest.raises(ModelError, match="no exported models"):
        serving_config_text(tmp_path / "empty")


def test_serving_config_command_writes_the_file_atomically_and_exports_refresh_it(
        tmp_path, binary_text_model, monkeypatch):
    from click.testing import CliRunner

    from seqsent_cli.main import group

    root = fake_versions(tmp_path / "saved_models", {"old": [1]})
    result = CliRunner().invoke(group, ["serving-config", "--output-dir", str(root), "--base-path", "/models"])
    assert result.exit_code == 0, result.output
    file = root / SERVING_CONFIG_FILE
    assert result.output.strip() == f"Wrote {file}"
    assert sorted(p.name for p in root.iterdir()) == [SERVING_CONFIG_FILE, "old"]  # no temp file left
    assert oct(file.stat().st_mode & 0o777) == oct(0o644)

    # Each export rewrites a generated models.config with the same settings.
    export_saved_model(binary_text_model, model_metadata(BINARY_NAMES, {}), root, "new")
    config = parse_serving_config(file.read_text(encoding="utf-8"))
    assert [(c.name, c.base_path, list(c.model_version_policy.specific.versions))
            for c in config.model_config_list.config] == [("new", "/models/new", [1]), ("old", "/models/old", [1])]

    stdout = CliRunner().invoke(group, ["serving-config", "--output-dir", str(root), "--file", "-"]).output
    assert parse_serving_config(stdout).model_config_list.config[0].base_path == str((root / "new").resolve())

    # A hand-written models.config is never touched.
    file.write_text("model_config_list {}\n", encoding="utf-8")
    export_saved_model(binary_text_model, model_metadata(BINARY_NAMES, {}), root, "new")
    assert file.read_text(encoding="utf-8") == "model_config_list {}\n"

    # The rename is the only way the file changes: a failed write leaves the old one whole.
    def failing_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError):
        write_serving_config(root, base_path="/models", overwrite=True)
    assert file.read_text(encoding="utf-8") == "model_config_list {}\n"
    assert sorted(p.name for p in root.iterdir()) == [SERVING_CONFIG_FILE, "new", "old"]


def test_serving_config_leaves_a_hand_written_file_alone_unless_overwrite(tmp_path, capsys):
    from seqsent_cli.main import main

    root = fake_versions(tmp_path / "saved_models", {"a": [1]})
    file = root / SERVING_CONFIG_FILE
    file.write_text("my handwritten config\n", encoding="utf-8")
    with pytest.raises(SystemExit) as excinfo:
        main(["serving-config", "--output-dir", str(root)])
    err = capsys.readouterr().err
    assert excinfo.value.code == 2 and err.count("\n") == 1 and "--overwrite" in err
    assert file.read_text(encoding="utf-8") == "my handwritten config\n"
    with pytest.raises(SystemExit) as excinfo:
        main(["serving-config", "--output-dir", str(root), "--overwrite"])
    assert excinfo.value.code == 0
    assert file.read_text(encoding="utf-8").startswith("# seqsent serving-config ")
    with pytest.raises(SystemExit) as excinfo:  # its own file is refreshed without --overwrite
        main(["serving-config", "--output-dir", str(root), "--versions", "all"])
    assert excinfo.value.code == 0 and '"versions": "all"' in file.read_text(encoding="utf-8")


def test_serving_config_command_errors_are_one_line(tmp_path, capsys):
    from seqsent_cli.main import main

    with pytest.raises(SystemExit) as excinfo:
        main(["serving-config", "--output-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert excinfo.value.code == 1 and err.count("\n") == 1 and err.startswith("seqsent: error:")
    assert "no exported models" in err


# ---------------------------------------------------------------- 1,000 real IMDB test reviews


def test_fresh_process_matches_keras_on_1000_real_imdb_test_reviews(shared_archive, tmp_path):
    from seqsent.api import train
    from seqsent.config import RunConfig
    from seqsent.serving.inference import load_model

    config = RunConfig(name="imdb-tiny", output_dir=str(tmp_path / "saved_models"), runs_dir=str(tmp_path / "runs"))
    config.data.source = str(shared_archive)
    config.data.limit = 1000
    config.text.max_tokens, config.text.sequence_length = 5000, 200
    config.model.arch, config.model.units, config.model.embedding_dim = "gru", 8, 16
    config.train.epochs, config.train.batch_size, config.train.learning_rate = 1, 32, 0.01
    config.train.strategy = "default"
    report = train(config, verbose=0)
    assert report.split_sizes["test"] == 1000

    from seqsent.data import load_dataset

    texts = load_dataset(config.data).test.texts + TEXTS
    assert len(texts) == 1000 + len(TEXTS)
    served = serve_in_fresh_tensorflow_process(tmp_path, [report.export_dir], texts)
    assert served["modules"] == []
    result = served["models"][str(report.export_dir)]
    assert result["not_registered"] == []
    keras_model = load_model(report.export_dir / EXTRA_DIR / KERAS_FILE).text_model
    expected = keras_probabilities(keras_model, texts, 2)
    np.testing.assert_allclose(np.array(result["probabilities"], dtype=np.float32), expected, atol=1e-5, rtol=0)
    assert np.ptp(expected[:1000, 1]) > 0.05  # answers depend on the review, so the comparison means something
