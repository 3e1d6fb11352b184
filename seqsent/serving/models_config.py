"""models.config: the TF Serving model server config listing every exported model and version.

`seqsent serving-config` writes it; every later export regenerates it with the same settings
(read back from its first line), so a server polling the file picks up new versions.
"""

from __future__ import annotations

import json
from pathlib import Path

from seqsent.errors import ModelError, SeqsentError, UsageError
from seqsent.files import check_creatable, write_text_atomic
from seqsent.layout import existing_versions

SERVING_CONFIG_FILE = "models.config"
SERVING_CONFIG_HEADER = "# seqsent serving-config "
VERSION_POLICIES = ("specific", "all", "latest")


def exported_models(output_dir: str | Path, damaged: list[str] | None = None) -> dict[str, list[int]]:
    """name -> versions (ascending) of the complete exports (NAME/VERSION/saved_model.pb) under output_dir. A version
    that TF Serving could not load (see damage) is left out and said in `damaged`."""
    output_dir = Path(output_dir)
    if not output_dir.is_dir():
        return {}
    models = {}
    for path in sorted(output_dir.iterdir()):
        if path.name.startswith(".") or not path.is_dir():
            continue
        versions = []
        for version in existing_versions(path):
            if not (path / str(version) / "saved_model.pb").is_file():
                continue  # being written, or not an export: as TF Serving, ignored
            why = damage(path / str(version))
            if why is None:
                versions.append(version)
            elif damaged is not None:
                damaged.append(f"{path / str(version)}: {why}")
        if versions:
            models[path.name] = versions
    return models


def damage(version_dir: Path) -> str | None:
    """Why a server could not load this SavedModel (a graph that does not parse, e.g. truncated; its variables
    missing), or None. The graph is parsed, not run: cheap enough to list every version."""
    from google.protobuf.message import DecodeError
    from tensorflow.core.protobuf import saved_model_pb2

    saved_model = saved_model_pb2.SavedModel()
    try:
        saved_model.ParseFromString((version_dir / "saved_model.pb").read_bytes())
    except (OSError, DecodeError, RuntimeWarning) as exc:
        return f"its saved_model.pb does not parse ({exc.__class__.__name__}); is it complete?"
    if not saved_model.meta_graphs:
        return "its saved_model.pb holds no graph; is it complete?"
    index = version_dir / "variables" / "variables.index"
    if not index.is_file() or not any((version_dir / "variables").glob("variables.data-*")):
        return "its variables/ are missing; is it complete?"
    from seqsent.errors import ModelError
    from seqsent.serving.inference import check_vocabulary_assets

    try:
        check_vocabulary_assets(version_dir)  # missing, truncated or replaced: loaded by the server, wrong ids
    except ModelError as exc:
        return str(exc).removeprefix(f"{version_dir}: ")
    return None


def serving_config_text(output_dir: str | Path, base_path: str | None = None, versions: str = "specific",
                        names: list[str] | None = None, notify=None) -> str:
    """A TF Serving models.config (text-format ModelServerConfig) for the models under output_dir.

    base_path: the directory that holds the models as the server sees it (e.g. /models in the
    tensorflow/serving container); default: output_dir's absolute path. versions: 'specific'
    (serve every version found, listed), 'all' (every version present when the server polls)
    or 'latest' (the newest only, TF Serving's default). Damaged versions are left out, each said to `notify`.
    """
    from google.protobuf import text_format
    from tensorflow_serving.config import model_server_config_pb2

    if versions not in VERSION_POLICIES:
        raise UsageError(f"--versions must be one of {', '.join(VERSION_POLICIES)}, not {versions!r}")
    if base_path is None:
        base_path = str(Path(output_dir).resolve())
    elif not (base_path.startswith("/") or "://" in base_path):
        raise UsageError(f"--base-path {base_path}: give an absolute path as the server sees it, e.g. /models")
    damaged: list[str] = []
    models = exported_models(output_dir, damaged)
    for why in damaged if notify is not None else []:
        notify(f"Note: left out {why}")
    if not models:
        raise ModelError(f"{output_dir}: no exported models here (expected NAME/VERSION/saved_model.pb)")
    if names:
        unknown = [n for n in names if n not in models]
        if unknown:
            raise UsageError(f"no exported model named {', '.join(unknown)} under {output_dir} "
                             f"(found: {', '.join(models)})")
        models = {n: models[n] for n in names}
    config = model_server_config_pb2.ModelServerConfig()
    for name, found in models.items():
        entry = config.model_config_list.config.add(name=name, base_path=f"{base_path.rstrip('/')}/{name}",
                                                    model_platform="tensorflow")
        if versions == "specific":
            entry.model_version_policy.specific.versions.extend(found)
        elif versions == "all":
            entry.model_version_policy.all.SetInParent()
        else:
            entry.model_version_policy.latest.num_versions = 1
    settings = {"base_path": base_path, "versions": versions, "names": names or None}
    # The header lets an export regenerate this file with the same settings (comments are valid text format).
    return SERVING_CONFIG_HEADER + json.dumps(settings, sort_keys=True) + "\n" + text_format.MessageToString(config)


def write_serving_config(output_dir: str | Path, file: str | Path | None = None, base_path: str | None = None,
                         versions: str = "specific", names: list[str] | None = None, overwrite: bool = False,
                         notify=None) -> Path:
    """Write models.config (default OUTPUT_DIR/models.config) atomically; returns its path.

    A file seqsent wrote (its header line) is replaced; any other existing file only with overwrite, since a
    hand-written config is someone's work that exports also leave alone.
    """
    file = Path(file) if file is not None else Path(output_dir) / SERVING_CONFIG_FILE
    text = serving_config_text(output_dir, base_path, versions, names, notify)
    if file.is_dir():
        raise UsageError(f"{file} is a directory; give a file path for models.config")
    check_creatable(file, "--file", directory=False)  # named as given, not as its temporary file
    if not overwrite and not _replaceable(file):
        raise UsageError(f"{file} exists and was not written by seqsent serving-config; pass --overwrite to replace "
                         "it, or --file to write elsewhere")
    write_text_atomic(file, text)
    return file


def _replaceable(file: Path) -> bool:
    """True if file is missing, empty or starts with seqsent's header line: nothing hand-written would be lost."""
    try:
        with open(file, "rb") as handle:
            head = handle.read(len(SERVING_CONFIG_HEADER.encode()))
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return head in (b"", SERVING_CONFIG_HEADER.encode())


def refresh_serving_config(output_dir: str | Path) -> Path | None:
    """Regenerate OUTPUT_DIR/models.config if `seqsent serving-config` wrote it (hand-written files are left alone)."""
    file = Path(output_dir) / SERVING_CONFIG_FILE
    try:
        first_line = file.read_text(encoding="utf-8").split("\n", 1)[0]
        if not first_line.startswith(SERVING_CONFIG_HEADER):
            return None
        settings = json.loads(first_line[len(SERVING_CONFIG_HEADER):])
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(settings, dict):
        return None
    try:
        return write_serving_config(output_dir, file, settings.get("base_path"), settings.get("versions", "specific"),
                                    settings.get("names"), overwrite=True)
    except SeqsentError:  # e.g. a listed model was deleted: the export itself succeeded, leave the file as it was
        return None
