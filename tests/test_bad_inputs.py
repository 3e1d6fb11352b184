"""Bad input never costs a traceback: one table of bad inputs, each through the real CLI entry point.

Every case asserts the exit code (2: usage, 1: data or model), a single stderr line starting
`seqsent: error:` that names the problem, and no traceback. Most run `seqsent_cli.main.main` in
process; cases marked "cli" run the installed console script in a subprocess.

Set SEQSENT_BAD_INPUTS_TABLE=path to append each case's observed (code, message) to a
markdown table there (used for the issue's closing note).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from seqsent_cli.options import DATA_OPTIONS, TRAIN_OPTIONS
from conftest import make_tiny_text_model, tiny_texts, write_csv, write_jsonl

SEQSENT = Path(sys.executable).parent / "seqsent"
QUIET_ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


@dataclass
class Case:
    id: str
    args: tuple
    code: int
    fragment: str
    stdin: bytes | None = None
    via: str = "main"  # "main": seqsent_cli.main.main in process; "cli": the console script in a subprocess
    root_skips: bool = False  # chmod cannot make a file unreadable for root
    empty_stdout: bool = False  # e.g. evaluate --json prints nothing half-way


def case(id, *args, code, fragment, **kwargs) -> Case:
    return Case(id, args, code, fragment, **kwargs)


TINY = ("--epochs", "1", "--units", "4", "--embedding-dim", "8", "--max-tokens", "200", "--sequence-length", "20",
        "--output-dir", "{tmp}/out", "--runs-dir", "{tmp}/runs", "--quiet")

# Out-of-range values for every numeric option of `seqsent train` (test_every_numeric_train_option_is_covered).
OUT_OF_RANGE = [
    ("--validation-fraction", "0", "--validation-fraction must be between 0 and 1"),
    ("--validation-fraction", "1.5", "--validation-fraction must be between 0 and 1"),
    ("--test-fraction", "1", "--test-fraction must be between 0 and 1"),
    ("--limit", "5", "--limit must be at least 10"),
    ("--train-limit", "3", "--train-limit must be at least 10"),
    ("--seed", "-1", "--seed must be between 0 and 4294967295"),
    ("--layers", "0", "--layers must be at least 1"),
    ("--layers", "1000", "--layers must be at most 64"),
    ("--units", "0", "--units must be at least 1"),
    ("--units", "100000", "--units must be at most 65,536"),
    ("--embedding-dim", "-8", "--embedding-dim must be at least 1"),
    ("--embedding-dropout", "-0.1", "--embedding-dropout must be in [0, 1)"),
    ("--token-dropout", "nan", "--token-dropout must be in [0, 1)"),
    ("--dropout", "1.5", "--dropout must be in [0, 1)"),
    ("--head-units", "-1", "--head-units must be 0 or more"),
    ("--head-dropout", "1", "--head-dropout must be in [0, 1)"),
    ("--wide-ngrams", "6", "--wide-ngrams must be between 0 and 5"),
    ("--wide-buckets", "0", "--wide-buckets must be between 1 and"),
    ("--wide-dropout", "1", "--wide-dropout must be in [0, 1)"),
    ("--wide-epochs", "0", "--wide-epochs must be between 1 and"),
    ("--recurrent-models", "17", "--recurrent-models must be between 1 and 16"),
    ("--max-tokens", "2", "--max-tokens must be at least 3"),
    ("--sequence-length", "0", "--sequence-length must be at least 1"),
    ("--sequence-length", "99999999999", "--sequence-length must be at most 2,147,483,647"),
    ("--epochs", "-1", "--epochs must be at least 1"),
    ("--epochs", "0", "--epochs must be at least 1"),
    ("--batch-size", "0", "--batch-size must be at least 1"),
    ("--learning-rate", "0", "--learning-rate must be a positive number"),
    ("--learning-rate", "inf", "--learning-rate must be a positive number"),
    ("--pretrained-rate", "inf", "--pretrained-rate must be a positive number"),
    ("--clipnorm", "-1", "--clipnorm must be 0 (off) or a positive number"),
    ("--clipnorm", "inf", "--clipnorm must be 0 (off) or a positive number"),
    ("--patience", "-1", "--patience must be 0 or more"),
    ("--train-seed", str(2**32), "--train-seed must be between 0 and 4294967295"),
    ("--stream-validation-rows", "0", "--stream-validation-rows must be at least 1"),
    ("--vocabulary-sample", "0", "--vocabulary-sample must be at least 1"),
    ("--shuffle-buffer", "-5", "--shuffle-buffer must be at least 1"),
    ("--steps-per-epoch", "0", "--steps-per-epoch must be between 1 and"),
    ("--vat-epsilon", "0", "--vat-epsilon must be a positive number"),
    ("--adversarial-epsilon", "-1", "--adversarial-epsilon must be a positive number"),
    ("--entropy-weight", "-0.5", "--entropy-weight must be 0 or more"),
]

CASES = [
    # ---- paths
    case("data: missing file", "train", "--data", "{tmp}/missing.csv", code=1, fragment="missing.csv: no such file"),
    case("data: unreadable file (chmod 000)", "train", "--data", "{unreadable}", code=1, fragment="cannot read",
         root_skips=True),
    case("data: directory named like a table", "train", "--data", "{dir_csv}", code=1,
         fragment="cannot read (Is a directory)"),
    case("data: directory that is no aclImdb", "train", "--data", "{empty_dir}", code=1, fragment="no reviews under"),
    case("data: unsupported file type", "train", "--data", "{txt}", code=1, fragment="unsupported file type"),
    case("test data: missing file", "train", "--data", "{good}", "--test-data", "{tmp}/nope.csv", code=1,
         fragment="--test-data {tmp}/nope.csv: no such file"),
    case("test data: a directory", "train", "--data", "{good}", "--test-data", "{empty_dir}", code=2,
         fragment="is a directory"),
    case("output dir is a file", "train", "--data", "{good}", "--output-dir", "{good}", code=2,
         fragment="is a file, not a directory"),
    case("runs dir under a file", "train", "--data", "{good}", "--runs-dir", "{good}/runs", code=2,
         fragment="is a file, not a directory"),
    # ---- table contents
    case("data: empty file", "train", "--data", "{empty}", code=1, fragment="empty file (expected a header row)"),
    case("data: CSV with only a header", "train", "--data", "{header_only}", code=1, fragment="no rows with both"),
    case("data: empty text with --on-empty-text error", "train", "--data", "{gaps}", "--on-empty-text", "error",
         code=1, fragment="gaps.csv:3: empty text"),
    case("data: missing text column (CSV)", "train", "--data", "{columns}", code=1,
         fragment="no column 'text'; columns are: 'review', 'sentiment'"),
    case("data: missing label column (JSONL)", "train", "--data", "{no_label}", code=1,
         fragment="no column 'label'; columns are: 'text', 'stars'"),
    case("data: invalid JSON line", "train", "--data", "{bad_json}", code=1, fragment="bad.jsonl:2: not valid JSON"),
    case("data: JSON-lines label NaN", "train", "--data", "{nan_label}", code=1,
         fragment="nan.jsonl:3: the label is NaN, which is not valid JSON"),
    case("data: stray quote merging rows", "train", "--data", "{stray_quote}", code=1,
         fragment="stray.csv:3: a quoted text runs over 4 lines and holds what look like 3 rows of this file"),
    case("data: header name with a space", "train", "--data", "{spaced_header}", code=1,
         fragment="no column 'label'; columns are: 'text', ' label' (the header's ' label' is 'label' with spaces"),
    case("data: row with more fields than the header", "train", "--data", "{extra}", code=1,
         fragment="more fields than the header"),
    case("data: a single class", "train", "--data", "{one_class}", code=1, fragment="single class ('good')"),
    case("data: test labels unseen in train", "train", "--data", "{two_class}", "--test-data", "{unseen}", code=1,
         fragment="labels not seen in the training data: 'surprised'"),
    case("data: label column holding the texts", "train", "--data", "{swapped}", code=1,
         fragment="is the label column right?"),
    case("data: same text and label column", "train", "--data", "{good}", "--label-column", "text", code=2,
         fragment="--text-column and --label-column must differ"),
    # ---- archives
    case("archive: truncated .tar.gz", "train", "--data", "{truncated}", code=1, fragment="truncated or corrupt"),
    case("archive: corrupt .tar.gz", "train", "--data", "{corrupt}", code=1, fragment="truncated or corrupt"),
    case("archive: ../ member", "train", "--data", "{traversal}", code=1, fragment="refusing unsafe member path"),
    case("archive: absolute member", "train", "--data", "{absolute}", code=1, fragment="refusing unsafe member path"),
    # ---- models
    case("model: missing path", "predict", "{tmp}/no-model", "text", code=1, fragment="no such model"),
    case("model: a text file", "predict", "{txt}", "text", code=1, fragment="not a seqsent model"),
    case("model: directory without a model", "predict", "{empty_dir}", "text", code=1,
         fragment="not a seqsent model (no saved_model.pb"),
    case("model: SavedModel without seqsent.json", "predict", "{no_metadata}", "text", code=1,
         fragment="not a seqsent model (no seqsent.json"),
    case("model: corrupt seqsent.json", "predict", "{corrupt_json}", "text", code=1,
         fragment="seqsent.json is unreadable or corrupt"),
    case("model: incompatible format version", "evaluate", "{future}", code=1,
         fragment="model format 99; this seqsent reads format 1"),
    case("model: seqsent.json with bad class names", "predict", "{bad_classes}", "text", code=1,
         fragment="lists invalid class names"),
    case("model: corrupt saved_model.pb", "predict", "{corrupt_pb}", "text", code=1,
         fragment="cannot load the SavedModel"),
    case("model: .keras file that is not a zip", "predict", "{not_zip}", "text", code=1,
         fragment="not a .keras file (a .keras file is a zip archive)"),
    case("model: .keras file with a Lambda layer (code)", "predict", "{lambda_keras}", "text", code=1,
         fragment="holds Python code (e.g. a Lambda layer), which safe mode never runs"),
    case("model: seqsent.json with unusable data settings", "evaluate", "{bad_data_config}", code=1,
         fragment="records unusable data settings"),
    case("export: seqsent.json with an unknown arch", "export", "{bad_model_config}", "--output-dir", "{tmp}/exports",
         code=1, fragment="records unusable settings (model.arch 'transformer' is none of"),
    case("export: recorded name that is a path", "export", "{evil_name}", "--output-dir", "{tmp}/exports", code=1,
         fragment="is not a plain directory name"),
    case("export: --name that is a path", "export", "{model}", "--name", "../escape", "--output-dir",
         "{tmp}/exports", code=2, fragment="--name may hold only"),
    case("evaluate: --overwrite without --report", "evaluate", "{model}", "--overwrite", code=2,
         fragment="--overwrite goes with --report"),
    case("export: --output-dir that is a file", "export", "{model}", "--output-dir", "{model}/saved_model.pb",
         code=2, fragment="saved_model.pb is a file, not a directory"),
    case("export: --name of a hidden directory", "export", "{model}", "--name", ".hidden", "--output-dir",
         "{tmp}/exports", code=2, fragment="starts with a letter, a digit or '_'"),
    case("export: --version 0", "export", "{model}", "--version", "0", "--output-dir", "{tmp}/exports", code=2,
         fragment="--version must be between 1 and 9223372036854775807"),
    case("export: existing version", "export", "{model}", "--version", "1", "--output-dir", "{model_root}", code=2,
         fragment="already exists; versions are never overwritten"),
    # ---- predict / evaluate input
    case("predict: no texts (blank stdin)", "predict", "{model}", stdin=b"\n  \n", code=1, fragment="no texts to predict"),
    case("predict: --file missing", "predict", "{model}", "--file", "{tmp}/texts.txt", code=1,
         fragment="texts.txt: cannot read (No such file or directory)"),
    case("predict: --file a directory", "predict", "{model}", "--file", "{empty_dir}", code=2,
         fragment="is a directory"),
    case("predict: --file of blank lines", "predict", "{model}", "--file", "{blank_lines}", code=1,
         fragment="holds only blank lines"),
    case("evaluate --json: missing column", "evaluate", "{model}", "--json", "--data", "{columns}", code=1,
         fragment="no column 'text'", empty_stdout=True),
    case("evaluate --json: unseen labels", "evaluate", "{model}", "--json", "--data", "{unseen}", code=1,
         fragment="not seen in the training data", empty_stdout=True),
    case("evaluate --json: missing data", "evaluate", "{model}", "--json", "--data", "{tmp}/missing.csv", code=1,
         fragment="no such file", empty_stdout=True),
    case("evaluate: --threshold 2", "evaluate", "{model}", "--threshold", "2", code=2, fragment="--threshold"),
    case("evaluate: --seed -3", "evaluate", "{model}", "--data", "{good}", "--seed", "-3", code=2,
         fragment="--seed must be between 0 and 4294967295"),
    # ---- options and config
    case("unknown option", "train", "--bogus", code=2, fragment="No such option '--bogus'", via="cli"),
    case("unknown command", "fly", code=2, fragment="No such command 'fly'", via="cli"),
    case("unknown --arch", "train", "--arch", "transformer", code=2, fragment="'transformer' is not one of"),
    case("unknown --pooling", "train", "--pooling", "median", code=2, fragment="'median' is not one of"),
    case("unknown --on-empty-text", "train", "--on-empty-text", "ignore", code=2, fragment="'ignore' is not one of"),
    case("--epochs not a number", "train", "--epochs", "abc", code=2, fragment="'abc' is not a valid integer",
         via="cli"),
    case("--name with a slash", "train", "--name", "a/b", code=2, fragment="--name may hold only"),
    case("--embeddings: missing file", "train", "--data", "{good}", "--embeddings", "{tmp}/none.vec", code=2,
         fragment="none.vec: no such file"),
    case("--embeddings: not a vectors file", "train", "--data", "{good}", "--embeddings", "{txt}", *TINY, code=1,
         fragment="not a word2vec or GloVe file"),
    case("--embeddings: a truncated vectors file", "train", "--data", "{good}", "--embeddings", "{truncated_vec}",
         *TINY, code=1, fragment="line 4 has 2 values; expected 8"),
    case("--embeddings: fewer vectors than its header announces", "train", "--data", "{good}", "--embeddings",
         "{short_vec}", *TINY, code=1, fragment="short.vec: truncated: the header announces 34 words, the file holds 2"),
    case("--embeddings: more vectors than its header announces", "train", "--data", "{good}", "--embeddings",
         "{long_vec}", *TINY, code=1, fragment="long.vec: line 3 is past the 1 words its header announces"),
    # ---- learning from unlabelled text: encoders, VAT
    case("--encoder: missing directory", "train", "--data", "{good}", "--encoder", "{tmp}/no-encoder", code=1,
         fragment="no-encoder: no such directory"),
    case("--encoder: a directory that is no encoder", "train", "--data", "{good}", "--encoder", "{empty_dir}", code=1,
         fragment="not a seqsent encoder (no encoder.json in it)"),
    case("--encoder: corrupt encoder.json", "train", "--data", "{good}", "--encoder", "{encoder_corrupt}", code=1,
         fragment="its encoder.json is unreadable or corrupt"),
    case("--encoder: weights missing", "train", "--data", "{good}", "--encoder", "{encoder_no_weights}", code=1,
         fragment="language_model.weights.h5 is missing"),
    case("--encoder: from a newer seqsent", "train", "--data", "{good}", "--encoder", "{encoder_future}", code=1,
         fragment="pretrain it again with this seqsent"),
    case("--encoder: of another arch", "train", "--data", "{good}", "--encoder", "{encoder}", "--arch", "lstm",
         code=2, fragment="--arch lstm does not match the encoder's arch bigru"),
    case("--encoder: another number of units", "train", "--data", "{good}", "--encoder", "{encoder}", "--units", "8",
         code=2, fragment="--units 8 does not match the encoder's units 4"),
    case("--encoder with a baseline arch", "train", "--data", "{good}", "--encoder", "{encoder}", "--arch", "tfidf",
         code=2, fragment="--encoder goes with a recurrent --arch"),
    case("--encoder with --embeddings", "train", "--data", "{good}", "--encoder", "{encoder}", "--embeddings",
         "{good}", code=2, fragment="--encoder and --embeddings both initialise the Embedding"),
    case("--preset few-labels without its inputs", "train", "--data", "{good}", "--preset", "few-labels", code=2,
         fragment="--preset few-labels needs --embeddings FILE"),
    case("--preset imdb-unlabelled without --unlabelled", "train", "--data", "{good}", "--preset",
         "imdb-unlabelled", code=2, fragment="--preset imdb-unlabelled needs --unlabelled SOURCE"),
    case("--pretrained-rate without pretrained layers", "train", "--data", "{good}", "--pretrained-rate", "0.1",
         code=2, fragment="--pretrained-rate goes with --encoder or --embeddings"),
    case("--vat without --unlabelled", "train", "--data", "{good}", "--vat", code=2,
         fragment="--vat needs --unlabelled SOURCE"),
    case("--unlabelled without --vat", "train", "--data", "{good}", "--unlabelled", "{txt}", code=2,
         fragment="--unlabelled texts are used by --vat, --entropy-weight or --unlabelled-vocabulary"),
    case("--unlabelled-vocabulary without --unlabelled", "train", "--data", "{good}", "--unlabelled-vocabulary",
         code=2, fragment="--unlabelled-vocabulary needs --unlabelled SOURCE"),
    case("--unlabelled-vocabulary with a baseline arch", "train", "--data", "{good}", "--unlabelled", "{txt}",
         "--unlabelled-vocabulary", "--arch", "tfidf", code=2,
         fragment="--unlabelled-vocabulary goes with a recurrent --arch, not 'tfidf'"),
    case("--unlabelled-vocabulary with --encoder", "train", "--data", "{good}", "--unlabelled", "{txt}",
         "--unlabelled-vocabulary", "--encoder", "{encoder}", code=2,
         fragment="--unlabelled-vocabulary and --encoder both fix the vocabulary"),
    case("stream: --unlabelled-vocabulary with streamed data", "train", "--data", "{good}", "--streaming", "on",
         "--unlabelled", "{txt}", "--unlabelled-vocabulary", *TINY, code=2,
         fragment="--unlabelled-vocabulary needs data held in memory"),
    case("--vat with a baseline arch", "train", "--data", "{good}", "--unlabelled", "{txt}", "--vat", "--arch",
         "nbsvm", code=2, fragment="predictions on unlabelled text): a recurrent --arch"),
    case("--unlabelled: missing file", "train", "--data", "{good}", "--unlabelled", "{tmp}/none.txt", "--vat", *TINY,
         code=1, fragment="--unlabelled {tmp}/none.txt: no such file"),
    # ---- streamed data
    case("stream: a pattern matching no shard", "train", "--data", "{tmp}/nothing-*.csv", *TINY, code=1,
         fragment="matches no .csv/.tsv/.jsonl file"),
    case("stream: one class given", "train", "--data", "{good}", "--classes", "good", code=2,
         fragment="--classes needs at least two classes"),
    case("stream: unknown --streaming", "train", "--streaming", "maybe", code=2, fragment="'maybe' is not one of"),
    case("stream: --steps-per-epoch with data in memory", "train", "--data", "{good}", "--steps-per-epoch", "5",
         *TINY, code=2, fragment="--steps-per-epoch goes with streamed data"),
    case("stream: --vat with streamed data", "train", "--data", "{good}", "--streaming", "on", "--unlabelled",
         "{txt}", "--vat", *TINY, code=2, fragment="need data held in memory, not streamed data"),
    case("stream: a shard with other columns", "train", "--data", "{columns}", "--streaming", "on", *TINY, code=1,
         fragment="columns.csv: no column 'text'; columns are: 'review', 'sentiment'"),
    case("stream: a label outside --classes", "train", "--data", "{good}", "--streaming", "on", "--classes",
         "good,bad", *TINY, code=1, fragment="label 'meh' is not one of the classes"),
    case("prepare: missing source", "prepare", "{tmp}/nope.csv", "--output", "{tmp}/prepared", code=1,
         fragment="nope.csv: no such file"),
    case("prepare: --output is a file", "prepare", "{good}", "--output", "{good}", code=2,
         fragment="good.csv' is a file"),
    case("pretrain-lm: baseline arch", "pretrain-lm", "--arch", "tfidf", code=2, fragment="'tfidf' is not one of"),
    case("pretrain-lm: --window 0", "pretrain-lm", "--window", "0", code=2, fragment="--window must be between 1"),
    case("pretrain-lm: --output is a file", "pretrain-lm", "--data", "{good}", "--output", "{good}", code=2,
         fragment="good.csv' is a file"),
    case("pretrain-lm: too little text", "pretrain-lm", "--data", "{good}", "--output", "{tmp}/lm-out", "--runs-dir",
         "{tmp}/lm-runs", code=1, fragment="too few for a language model"),
    case("--wide-ngrams with a baseline arch", "train", "--wide-ngrams", "2", "--arch", "bow", code=2,
         fragment="--wide-ngrams goes with a recurrent --arch"),
    case("evaluate: --report onto a file", "evaluate", "{model}", "--report", "{good}", code=2,
         fragment="is a file"),
    case("--config: bad JSON", "train", "--config", "{config_bad_json}", code=2, fragment="not a readable JSON file"),
    case("--config: not an object", "train", "--config", "{config_list}", code=2, fragment="must hold a JSON object"),
    case("--config: unknown top-level key", "train", "--config", "{config_unknown_top}", code=2,
         fragment="unknown config keys: optimizer"),
    case("--config: unknown section key", "train", "--config", "{config_unknown}", code=2,
         fragment="unknown keys in config section 'model': unitz"),
    case("--config: wrong type", "train", "--config", "{config_wrong_type}", code=2,
         fragment="config key train.epochs must be int, not str"),
    case("--config: value out of range", "train", "--config", "{config_out_of_range}", code=2,
         fragment="--dropout must be in [0, 1), not 2"),
    case("--config: missing file", "train", "--config", "{tmp}/none.json", code=2,
         fragment="not a readable JSON file (No such file or directory)"),
    case("--config: a directory", "train", "--config", "{empty_dir}", code=2, fragment="is a directory"),
    *[case(f"train {flag} {value}", "train", "--data", "{good}", flag, value, code=2, fragment=message)
      for flag, value, message in OUT_OF_RANGE],
    case("predict: not a model (console script)", "predict", "{txt}", "text", code=1, fragment="not a seqsent model",
         via="cli"),
]


# ---------------------------------------------------------------- the files the table refers to


def make_tar(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path


def acl_members() -> dict[str, bytes]:
    members = {}
    for split in ("train", "test"):
        for label, word in (("pos", "great"), ("neg", "awful")):
            for i in range(4):
                members[f"aclImdb/{split}/{label}/{i}_5.txt"] = f"{split} review {i}: {word} film".encode()
    return members


def tamper(source: Path, target: Path, edit) -> Path:
    """A copy of an export whose seqsent.json went through `edit(metadata)`."""
    shutil.copytree(source, target)
    file = target / "assets.extra" / "seqsent.json"
    metadata = json.loads(file.read_text(encoding="utf-8"))
    edit(metadata)
    file.write_text(json.dumps(metadata), encoding="utf-8")
    return target


@pytest.fixture(scope="module")
def paths(tmp_path_factory):
    import keras

    from seqsent.config import RunConfig
    from seqsent.serving.export import export_saved_model
    from seqsent.layout import model_metadata

    tmp = tmp_path_factory.mktemp("bad")
    p = {"tmp": tmp}
    p["good"] = write_csv(tmp / "good.csv", tiny_texts(per_class=10))
    p["two_class"] = write_csv(tmp / "two.csv", tiny_texts(("good", "bad"), per_class=10))
    p["unseen"] = write_csv(tmp / "unseen.csv", tiny_texts(("good", "bad", "surprised"), per_class=3))
    p["one_class"] = write_csv(tmp / "one.csv", tiny_texts(("good",), per_class=10))
    p["swapped"] = write_csv(tmp / "swapped.csv", [(label, text) for text, label in tiny_texts(per_class=10)])
    p["columns"] = write_csv(tmp / "columns.csv", tiny_texts(per_class=3), header=("review", "sentiment"))
    p["gaps"] = write_csv(tmp / "gaps.csv", [("fine film", "good"), ("", "bad"), ("dull", "bad")])
    p["header_only"] = write_csv(tmp / "header.csv", [])
    p["no_label"] = write_jsonl(tmp / "nolabel.jsonl", [{"text": t, "stars": 3} for t, _ in tiny_texts(per_class=2)])
    (tmp / "bad.jsonl").write_text('{"text": "ok", "label": "a"}\n{"text": oops}\n', encoding="utf-8")
    p["bad_json"] = tmp / "bad.jsonl"
    (tmp / "nan.jsonl").write_text('{"text": "ok", "label": 1}\n{"text": "fine", "label": 0}\n'
                                   '{"text": "meh", "label": NaN}\n', encoding="utf-8")
    p["nan_label"] = tmp / "nan.jsonl"
    (tmp / "stray.csv").write_text('text,label\nfine,good\n"Great but dull,bad\nok,good\nmeh,bad\n'
                                   'it is 5" wide,good\nnice,good\n', encoding="utf-8")
    p["stray_quote"] = tmp / "stray.csv"
    (tmp / "spaced.csv").write_text("text, label\nfine, good\ndull, bad\n", encoding="utf-8")
    p["spaced_header"] = tmp / "spaced.csv"
    (tmp / "extra.csv").write_text("text,label\nfine,a\ntoo,many,fields\n", encoding="utf-8")
    p["extra"] = tmp / "extra.csv"
    (tmp / "empty.csv").write_bytes(b"")
    p["empty"] = tmp / "empty.csv"
    p["unreadable"] = write_csv(tmp / "unreadable.csv", tiny_texts(per_class=5))
    p["unreadable"].chmod(0)
    (tmp / "dir.csv").mkdir()
    p["dir_csv"] = tmp / "dir.csv"
    (tmp / "empty_dir").mkdir()
    p["empty_dir"] = tmp / "empty_dir"
    (tmp / "notes.txt").write_text("hello", encoding="utf-8")
    p["txt"] = tmp / "notes.txt"
    (tmp / "blank.txt").write_text("\n   \n\n", encoding="utf-8")
    p["blank_lines"] = tmp / "blank.txt"
    vector = " ".join(["0.1"] * 8)  # TINY's --embedding-dim
    (tmp / "truncated.vec").write_text(f"3 8\ngood {vector}\nbad {vector}\nfilm 0.1 0.2", encoding="utf-8")
    p["truncated_vec"] = tmp / "truncated.vec"
    (tmp / "short.vec").write_text(f"34 8\ngood {vector}\nbad {vector}\n", encoding="utf-8")  # a copy cut at a line
    p["short_vec"] = tmp / "short.vec"
    (tmp / "long.vec").write_text(f"1 8\ngood {vector}\nbad {vector}\n", encoding="utf-8")
    p["long_vec"] = tmp / "long.vec"

    good_tar = make_tar(tmp / "good.tar.gz", {**acl_members(), "aclImdb/train/pos/9_9.txt": os.urandom(60_000)})
    (tmp / "truncated.tar.gz").write_bytes(good_tar.read_bytes()[: good_tar.stat().st_size // 2])
    p["truncated"] = tmp / "truncated.tar.gz"
    (tmp / "corrupt.tar.gz").write_bytes(b"\x1f\x8b\x08\x00" + b"\x00garbage" * 200)
    p["corrupt"] = tmp / "corrupt.tar.gz"
    p["traversal"] = make_tar(tmp / "traversal.tar.gz", {**acl_members(), "aclImdb/../../train/pos/0_10.txt": b"x"})
    p["absolute"] = make_tar(tmp / "absolute.tar.gz", {**acl_members(), "/tmp/aclImdb/train/pos/0_10.txt": b"x"})

    configs = {
        "config_bad_json": "{not json",
        "config_list": "[1, 2]",
        "config_unknown_top": json.dumps({"optimizer": "sgd"}),
        "config_unknown": json.dumps({"model": {"unitz": 4}}),
        "config_wrong_type": json.dumps({"train": {"epochs": "5"}}),
        "config_out_of_range": json.dumps({"model": {"dropout": 2}}),
    }
    for key, text in configs.items():
        (tmp / f"{key}.json").write_text(text, encoding="utf-8")
        p[key] = tmp / f"{key}.json"

    config = RunConfig(name="m")
    config.data.source = str(p["good"])
    model_root = tmp / "models"
    p["model"] = export_saved_model(make_tiny_text_model(3), model_metadata(["bad", "good", "meh"], config.to_dict()),
                                    model_root, "m")
    p["model_root"] = model_root
    bad = tmp / "bad_models"
    p["corrupt_json"] = tamper(p["model"], bad / "corrupt_json", lambda m: None)
    (p["corrupt_json"] / "assets.extra" / "seqsent.json").write_text("{not json", encoding="utf-8")
    p["future"] = tamper(p["model"], bad / "future", lambda m: m.update(format_version=99, seqsent_version="9.0"))
    p["bad_classes"] = tamper(p["model"], bad / "bad_classes", lambda m: m.update(class_names=["a", "a", 3]))
    p["bad_data_config"] = tamper(p["model"], bad / "bad_data_config",
                                  lambda m: m["config"]["data"].update(limit="lots"))
    p["evil_name"] = tamper(p["model"], bad / "evil_name", lambda m: m["config"].update(name="../../evil"))
    p["bad_model_config"] = tamper(p["model"], bad / "bad_model_config",
                                   lambda m: m["config"]["model"].update(arch="transformer"))
    p["no_metadata"] = tamper(p["model"], bad / "no_metadata", lambda m: None)
    (p["no_metadata"] / "assets.extra" / "seqsent.json").unlink()
    p["corrupt_pb"] = tamper(p["model"], bad / "corrupt_pb", lambda m: None)
    (p["corrupt_pb"] / "saved_model.pb").write_bytes(b"\x08\x01garbage" * 10)
    (bad / "not_zip").mkdir()
    shutil.copy(p["model"] / "assets.extra" / "seqsent.json", bad / "not_zip" / "seqsent.json")
    (bad / "not_zip" / "model.keras").write_bytes(b"this is not a zip file")
    p["not_zip"] = bad / "not_zip" / "model.keras"
    (bad / "lambda").mkdir()
    shutil.copy(p["model"] / "assets.extra" / "seqsent.json", bad / "lambda" / "seqsent.json")
    inputs = keras.Input((3,))
    keras.Model(inputs, keras.layers.Lambda(lambda x: x * 2)(inputs)).save(bad / "lambda" / "model.keras")
    p["lambda_keras"] = bad / "lambda" / "model.keras"
    p.update(make_bad_encoders(tmp / "encoders"))
    return {k: str(v) for k, v in p.items()}


def make_bad_encoders(root: Path) -> dict:
    """A tiny untrained bigru encoder (4 units) and damaged copies of it."""
    from seqsent.models.encoder import ENCODER_FILE, WEIGHTS_FILE, encoder_metadata, write_encoder
    from seqsent.models.language_model import LanguageModel
    from seqsent.data.provenance import learned_texts

    vocabulary = ["", "[UNK]", "film", "great", "awful"]
    good = root / "good"
    good.mkdir(parents=True)
    lm = LanguageModel(len(vocabulary), embedding_dim=8, cell="gru", units=4, directions=2, num_sampled=2)
    write_encoder(good, lm, vocabulary, encoder_metadata("bigru", 1, 4, 8, len(vocabulary), history={}, perplexity={},
                                                         sources=[], config={}), learned_texts([], "none"))
    found = {"encoder": good}
    for name, damage in (("encoder_corrupt", lambda d: (d / ENCODER_FILE).write_text("{oops")),
                         ("encoder_no_weights", lambda d: (d / WEIGHTS_FILE).unlink()),
                         ("encoder_future", lambda d: (d / ENCODER_FILE).write_text(
                             (d / ENCODER_FILE).read_text().replace('"format_version": 1', '"format_version": 7')))):
        copy = root / name
        shutil.copytree(good, copy)
        damage(copy)
        found[name] = copy
    return found


# ---------------------------------------------------------------- the table


def run_case(c: Case, paths: dict, capsys, monkeypatch) -> tuple[int, str, str]:
    args = [a.format(**paths) for a in c.args]
    monkeypatch.chdir(paths["tmp"])
    if c.via == "cli":
        result = subprocess.run([str(SEQSENT), *args], capture_output=True, text=True, env=QUIET_ENV,
                                cwd=paths["tmp"], timeout=120, input=(c.stdin or b"").decode())
        return result.returncode, result.stdout, result.stderr
    from seqsent_cli.main import main

    if c.stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(c.stdin)))
    with pytest.raises(SystemExit) as excinfo:
        main(args)
    out, err = capsys.readouterr()
    return excinfo.value.code, out, err


def record(c: Case, code: int, message: str) -> None:
    table = os.environ.get("SEQSENT_BAD_INPUTS_TABLE")
    if table:
        with open(table, "a", encoding="utf-8") as handle:
            handle.write(f"| {c.id} | {c.via} | {code} | `{message.replace('|', '¦')}` |\n")


@pytest.mark.parametrize("c", CASES, ids=[c.id for c in CASES])
def test_bad_input_is_one_error_line_with_its_exit_code(c, paths, capsys, monkeypatch):
    if c.root_skips and os.geteuid() == 0:
        pytest.skip("running as root: chmod 000 does not stop root from reading the file")
    if c.via == "cli" and not SEQSENT.exists():
        pytest.skip(f"{SEQSENT} not installed")
    code, out, err = run_case(c, paths, capsys, monkeypatch)
    lines = [line for line in err.splitlines() if line.strip()]
    record(c, code, lines[-1] if lines else "")
    assert "Traceback" not in err + out
    assert len(lines) == 1, err
    assert lines[0].startswith("seqsent: error:"), err
    assert c.fragment.format(**paths) in lines[0], lines[0]
    assert code == c.code, err
    if c.empty_stdout:
        assert out == ""


def test_table_holds_at_least_30_distinct_cases():
    assert len({c.id for c in CASES}) == len(CASES) >= 30


def test_every_numeric_train_option_is_covered():
    numeric = {flag for flag, _, _, kind, _ in DATA_OPTIONS + TRAIN_OPTIONS if kind in (int, float)}
    assert numeric == {flag for flag, _, _ in OUT_OF_RANGE}


def test_bad_input_leaves_no_run_or_model_directory(paths):
    """Runs that failed before their first epoch (a truncated --embeddings file is found after the run directory
    is claimed) leave nothing to resume, so no `in-progress-*` directory either."""
    tmp = Path(paths["tmp"])
    assert not list((tmp / "runs").rglob("in-progress-*")) and not (tmp / "saved_models").exists()
    assert not (tmp / "out").exists()
    assert not [p for p in (tmp / "exports").rglob("*") if p.name.isdigit()] if (tmp / "exports").exists() else True
    assert not (tmp.parent / "escape").exists() and not (tmp.parent.parent / "evil").exists()


def test_archive_over_the_total_size_limit_is_refused(paths, capsys, monkeypatch, tmp_path):
    import seqsent.data.aclimdb as aclimdb
    from seqsent_cli.main import main

    monkeypatch.setattr(aclimdb, "MAX_TOTAL_BYTES", 100)  # the test archive's reviews hold 2 KB or so
    archive = make_tar(tmp_path / "many.tar.gz", acl_members())
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as excinfo:
        main(["train", "--data", str(archive)])
    err = capsys.readouterr().err
    assert excinfo.value.code == 1 and err.strip().splitlines() == [
        f"seqsent: error: {archive}: the reviews in this archive exceed 100 bytes; refusing it"]


# ---------------------------------------------------------------- bad bytes and empty rows are not errors


def test_empty_text_rows_and_bad_bytes_are_skipped_and_replaced_with_notes(paths, capsys, monkeypatch, tmp_path):
    from seqsent_cli.main import main

    data = tmp_path / "messy.csv"
    rows = [f"{text},{label}".encode() for text, label in tiny_texts(per_class=3)]
    rows += [b",good", b"   ,bad", b"caf\xe9 \xff fine,meh", b"no label here,"]
    data.write_bytes(b"text,label\n" + b"\n".join(rows) + b"\n")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as excinfo:
        main(["evaluate", paths["model"], "--data", str(data)])
    out, err = capsys.readouterr()
    assert excinfo.value.code == 0, err
    assert "Note: messy.csv: skipped 3 row(s): 2 with an empty or missing text and 1 with an empty or missing label" \
        in out
    assert "Note: messy.csv: replaced 2 byte sequence(s) that were not UTF-8" in out


def test_predict_replaces_and_counts_bytes_that_are_not_utf8(paths, tmp_path):
    """Argument bytes reach Python as lone surrogates; printing them used to crash."""
    if not SEQSENT.exists():
        pytest.skip(f"{SEQSENT} not installed")
    texts = tmp_path / "texts.txt"
    texts.write_bytes(b"good \xff film\nfine\n")
    result = subprocess.run([os.fsencode(SEQSENT), b"predict", os.fsencode(paths["model"]), b"caf\xe9 great",
                             b"--file", os.fsencode(texts), b"--json"], capture_output=True, env=QUIET_ENV,
                            timeout=120)
    assert result.returncode == 0, result.stderr.decode()
    records = [json.loads(line) for line in result.stdout.decode("utf-8").splitlines()]
    assert [r["text"] for r in records] == ["caf\ufffd great", "good \ufffd film", "fine"]
    for r in records:
        assert sum(r["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
    assert "Note: replaced 1 byte sequence(s) of the arguments that were not UTF-8" in result.stderr.decode()
    assert f"Note: {texts}: replaced 1 byte sequence(s)" in result.stderr.decode()
