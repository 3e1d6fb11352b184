"""Data larger than memory: shards read row by row, hash splits, `seqsent prepare`, streamed training that resumes
exactly, bad shards, and two workers that each read only their own shards."""

from __future__ import annotations

import csv
import gzip
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import tiny_run_config, tiny_texts, write_csv
from seqsent.config import DataConfig
from seqsent.data.shards import find_shards, iter_rows
from seqsent.data.streaming import open_stream, split_of, wants_streaming
from seqsent.errors import DataError

SEQSENT = Path(sys.executable).parent / "seqsent"
QUIET_ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def write_shards(root: Path, count: int = 4, per_shard: int = 60, gz: bool = True, sort: bool = False) -> list[Path]:
    """`count` CSV shards of good/bad reviews with a movie column (10 reviews a movie)."""
    root.mkdir(parents=True, exist_ok=True)
    rows = tiny_texts(("good", "bad"), per_class=count * per_shard // 2, seed=3)
    rows = sorted(rows, key=lambda row: row[1]) if sort else rows
    paths = []
    for shard in range(count):
        path = root / f"part-{shard}.csv{'.gz' if gz else ''}"
        with (gzip.open(path, "wt", newline="") if gz else open(path, "w", newline="")) as handle:
            writer = csv.writer(handle)
            writer.writerow(["text", "label", "movie"])
            for i, (text, label) in enumerate(rows[shard * per_shard : (shard + 1) * per_shard]):
                writer.writerow([f"{text} #{shard}-{i}", label, f"m{(shard * per_shard + i) // 10}"])
        paths.append(path)
    return paths


# ---------------------------------------------------------------- reading and splitting


def test_shards_of_every_format_read_row_by_row(tmp_path):
    (tmp_path / "a.tsv").write_text("text\tlabel\nfine film\tpos\n", encoding="utf-8")
    with gzip.open(tmp_path / "b.jsonl.gz", "wt") as handle:
        handle.write(json.dumps({"text": "dull", "label": "neg"}) + "\n\n" + json.dumps({"text": "ok", "label": 1}))
    (tmp_path / "notes.txt").write_text("not a shard")
    shards = find_shards(str(tmp_path))
    assert [p.name for p in shards] == ["a.tsv", "b.jsonl.gz"]
    assert [row for p in shards for row in iter_rows(p, "text", "label")] == [
        ("fine film", "pos", "fine film"), ("dull", "neg", "dull"), ("ok", "1", "ok")]
    assert [p.name for p in find_shards(str(tmp_path / "*.tsv"))] == ["a.tsv"]
    assert wants_streaming(DataConfig(source=str(tmp_path / "*.tsv")))
    assert wants_streaming(DataConfig(source=str(tmp_path / "b.jsonl.gz")))
    assert not wants_streaming(DataConfig(source=str(tmp_path / "a.tsv")))  # small: held in memory
    assert wants_streaming(DataConfig(source=str(tmp_path / "a.tsv"), streaming="on"))


def test_hash_split_is_stable_keeps_keys_together_and_honours_the_fractions():
    splits = [split_of(f"movie {i % 500}", 0.1, 0.2, seed=7) for i in range(5000)]
    assert splits == [split_of(f"movie {i % 500}", 0.1, 0.2, seed=7) for i in range(5000)]  # another run, same
    by_key = {}
    for i, split in enumerate(splits):
        by_key.setdefault(i % 500, set()).add(split)
    assert all(len(found) == 1 for found in by_key.values())  # a movie's reviews share one split
    shares = {s: splits.count(s) / len(splits) for s in ("train", "validation", "test")}
    assert abs(shares["test"] - 0.2) < 0.05 and abs(shares["validation"] - 0.1) < 0.05
    assert splits != [split_of(f"movie {i % 500}", 0.1, 0.2, seed=8) for i in range(5000)]  # the seed matters


def test_the_validation_fraction_is_a_share_of_train_as_for_data_in_memory():
    """0.5 of what a 0.4 test share leaves is 0.3 of all rows (it was 0.5 of all rows: a quarter of train more)."""
    splits = [split_of(f"row {i}", 0.5, 0.4, seed=3) for i in range(20000)]
    assert abs(splits.count("validation") / len(splits) - 0.5 * (1 - 0.4)) < 0.015
    assert abs(splits.count("test") / len(splits) - 0.4) < 0.015


def test_a_stream_finds_its_classes_and_counts_in_one_pass_or_takes_them_as_given(tmp_path):
    write_shards(tmp_path / "raw")
    config = DataConfig(source=str(tmp_path / "raw"), split_key="movie", test_fraction=0.2)
    counted = open_stream(config)
    assert counted.class_names == ["bad", "good"] and sum(counted.split_sizes().values()) == 240
    given = open_stream(DataConfig(**{**config.__dict__, "classes": ["good", "bad"]}), need_counts=False)
    assert given.class_names == ["good", "bad"] and given.split_sizes() == {}
    rows = {split: list(given.rows(split)) for split in ("train", "validation", "test")}
    assert sum(len(r) for r in rows.values()) == 240
    assert {len(r) for r in rows.values()} == set(counted.split_sizes()[s] for s in rows)


def test_empty_rows_are_counted_once_however_many_passes_read_them(tmp_path):
    rows = tiny_texts(per_class=10) + [("", "good"), ("a film", ""), ("", "bad")]
    data = write_csv(tmp_path / "d.csv", rows)
    stream = open_stream(DataConfig(source=str(data), streaming="on"))  # the first pass over the labels
    for _ in range(3):  # epochs
        for split in ("train", "validation", "test"):
            list(stream.rows(split))
    assert stream.report.notes() == ["skipped 3 row(s) with an empty text or label (a label such as NaN, NA or null "
                                     "counts as empty)"]


# ---------------------------------------------------------------- bad shards


def test_bad_shards_are_named_in_one_error_or_skipped_and_counted(tmp_path):
    paths = write_shards(tmp_path / "raw", per_shard=400)
    data = paths[1].read_bytes()
    paths[1].write_bytes(data[: len(data) // 2])  # a gzip stream cut halfway: its first rows still read fine
    config = DataConfig(source=str(tmp_path / "raw"), classes=["bad", "good"])
    stream = open_stream(config, need_counts=False)
    with pytest.raises(DataError, match="part-1.csv.gz: truncated or corrupt gzip"):
        list(stream.rows("train"))
    skipping = open_stream(DataConfig(**{**config.__dict__, "on_bad_shard": "skip"}), need_counts=False)
    kept = list(skipping.rows("train"))
    assert kept and any("part-1.csv.gz" in note and "truncated" in note for note in skipping.report.notes())
    paths[2].write_bytes(data[:200])  # cut within its first rows: found before any training
    with pytest.raises(DataError, match="part-2.csv.gz: truncated or corrupt gzip"):
        open_stream(config, need_counts=False)
    skipping = open_stream(DataConfig(**{**config.__dict__, "on_bad_shard": "skip"}), need_counts=False)
    assert [p.name for p in skipping.shards["train"]] == ["part-0.csv.gz", "part-1.csv.gz", "part-3.csv.gz"]

    other = write_shards(tmp_path / "other", count=2)
    write_csv(tmp_path / "other" / "part-9.csv", [("text", "sentiment")] * 2, header=("review", "sentiment"))
    with pytest.raises(DataError, match="part-9.csv: no column 'text'; columns are: 'review', 'sentiment'"):
        open_stream(DataConfig(source=str(other[0].parent), classes=["bad", "good"]), need_counts=False)


def test_skipping_a_bad_shard_holds_in_the_first_pass_over_the_labels_too(tmp_path):
    paths = write_shards(tmp_path / "raw", per_shard=400)
    data = paths[1].read_bytes()
    paths[1].write_bytes(data[: len(data) // 2])  # passes the check of its first rows, breaks half-way
    config = DataConfig(source=str(tmp_path / "raw"))  # no --classes: the labels are read in a first pass
    with pytest.raises(DataError, match="part-1.csv.gz: truncated or corrupt gzip"):
        open_stream(config)
    skipping = open_stream(DataConfig(**{**config.__dict__, "on_bad_shard": "skip"}))
    assert skipping.class_names == ["bad", "good"]
    read = {split: len(list(skipping.rows(split))) for split in ("train", "validation", "test")}
    assert read == skipping.split_sizes() and 1200 < sum(read.values()) < 1600  # the rows before the break kept
    skipped = [note for note in skipping.report.notes() if "part-1.csv.gz" in note]
    assert len(skipped) == 1 and re.match(r"skipped the rest of shard .*part-1.csv.gz after its first \d+ row\(s\), "
                                          r"which were kept: truncated or corrupt gzip", skipped[0])


def test_an_unreadable_shard_among_many_is_an_error_naming_it(tmp_path):
    paths = write_shards(tmp_path / "raw", gz=False)
    paths[2].unlink()
    paths[2].mkdir()  # not a file: cannot be read
    with pytest.raises(DataError, match="part-2.csv"):
        open_stream(DataConfig(source=str(tmp_path / "raw" / "part-*"), classes=["bad", "good"]), need_counts=False)


# ---------------------------------------------------------------- prepare


def test_prepare_shuffles_a_sorted_source_into_shards_with_the_same_splits_as_streaming_it(tmp_path):
    from seqsent.data.prepare import prepare

    write_shards(tmp_path / "raw", count=1, per_shard=400, gz=False, sort=True)  # all "bad" rows first
    config = DataConfig(source=str(tmp_path / "raw" / "part-0.csv"), split_key="movie")
    report = prepare(config, tmp_path / "prepared", shards=4)
    manifest = json.loads((tmp_path / "prepared" / "manifest.json").read_text())
    assert manifest["classes"] == ["bad", "good"] and report.shards["train"] == 4
    raw = open_stream(DataConfig(**{**config.__dict__, "streaming": "on"}))
    assert manifest["counts"] == raw.split_sizes()
    prepared = open_stream(DataConfig(source=str(tmp_path / "prepared")))
    assert sorted(t for t, _ in prepared.rows("validation")) == sorted(t for t, _ in raw.rows("validation"))
    first = [label for _, label in prepared.rows("train", prepared.shards["train"][:1])][:40]
    assert 5 < sum(first) < 35, "the first rows of a shard should mix the classes of a sorted source"


# ---------------------------------------------------------------- streamed training


@pytest.fixture
def stream_run(tmp_path):
    from seqsent.data.prepare import prepare

    write_shards(tmp_path / "raw", count=1, per_shard=240, gz=False)
    prepare(DataConfig(source=str(tmp_path / "raw" / "part-0.csv"), split_key="movie"), tmp_path / "prepared", shards=3)

    def config():
        run = tiny_run_config(tmp_path / "prepared", name="s", output_dir=str(tmp_path / "models"),
                              runs_dir=str(tmp_path / "runs"))
        run.train.batch_size, run.train.epochs, run.train.patience = 16, 3, 3
        run.data.shuffle_buffer = 50
        return run.validate()

    return config, open_stream(config().data)


def test_a_streamed_run_resumed_after_a_crash_equals_an_uninterrupted_one(stream_run, tmp_path):
    from test_resume import CrashAfterEpoch

    from seqsent.training.trainer import fit

    config, data = stream_run
    whole = fit(config(), data, tmp_path / "whole", verbose=0)
    with pytest.raises(RuntimeError, match="simulated crash"):
        fit(config(), data, tmp_path / "crashed", verbose=0, extra_callbacks=(CrashAfterEpoch(1),))
    resumed = fit(config(), data, tmp_path / "crashed", verbose=0)
    assert resumed.resumed_from_epoch == 1 and len(resumed.history["loss"]) == 3
    for key in ("loss", "val_loss", "accuracy"):
        assert resumed.history[key] == pytest.approx(whole.history[key], rel=1e-5, abs=1e-6), key
    for a, b in zip(resumed.classifier.get_weights(), whole.classifier.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_streamed_training_exports_and_scores_the_test_split_it_never_held(stream_run, tmp_path):
    from seqsent.api import evaluate, train

    config, data = stream_run
    report = train(config(), verbose=0)
    assert report.test_metrics["examples"] == data.split_sizes()["test"]
    assert any(note.startswith("train rows read per shard") for note in report.notes)
    again = evaluate(report.export_dir)  # streams the same test split back
    assert again.metrics == report.test_metrics and again.texts == []
    # The training data given again with another --seed is still split as trained, and says so.
    same = evaluate(report.export_dir, DataConfig(**{**config().data.__dict__, "seed": 5}))
    assert same.metrics == report.test_metrics
    assert same.notes[0] == ("--seed 5 had no effect: the model's training data is split as it was in training (its "
                             "recorded settings)")
    # Other streamed data is scored whole, as another table file is (it was scored on its hash-test split only).
    other = write_shards(tmp_path / "other", count=1, per_shard=40)[0]
    scored = evaluate(report.export_dir, DataConfig(source=str(other), test_fraction=0.5))
    assert scored.metrics["examples"] == 40 and scored.data_description.endswith("(streamed: all rows scored as test)")
    assert scored.notes[0].startswith("--test-fraction 0.5 had no effect: data the model was not trained on is scored")


@pytest.mark.skipif(not SEQSENT.exists(), reason=f"{SEQSENT} not installed")
def test_two_workers_each_read_only_their_own_shards_and_train_like_one_process(tmp_path):
    from seqsent.data.prepare import prepare
    from test_distribute import free_ports, tf_config

    write_shards(tmp_path / "raw", count=1, per_shard=400, gz=False)
    prepare(DataConfig(source=str(tmp_path / "raw" / "part-0.csv"), split_key="movie"), tmp_path / "prepared", shards=4)
    common = ["--data", str(tmp_path / "prepared"), "--arch", "gru", "--units", "8", "--embedding-dim", "8",
              "--max-tokens", "200", "--sequence-length", "20", "--epochs", "2", "--learning-rate", "0.02",
              "--dropout", "0", "--embedding-dropout", "0", "--head-dropout", "0", "--name", "mw", "--quiet"]
    cluster, single = tmp_path / "cluster", tmp_path / "single"
    cluster.mkdir()
    single.mkdir()
    ports = free_ports(2)
    procs = [subprocess.Popen([str(SEQSENT), "train", *common, "--strategy", "multi-worker", "--batch-size", "16",
                               "--tf-config", tf_config(ports, index)], cwd=cluster, env=QUIET_ENV, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for index in (0, 1)]
    procs.append(subprocess.Popen([str(SEQSENT), "train", *common, "--batch-size", "32"], cwd=single, env=QUIET_ENV,
                                  text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    outputs = []
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, err[-3000:]
            outputs.append(out)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    read = [next(line for line in out.splitlines() if line.startswith("Note: train rows read per shard"))
            for out in outputs[:2]]
    shards = [{part.split()[0] for part in line.split(": ", 2)[2].split(", ")} for line in read]
    assert shards[0] == {"train-00000-of-00004.jsonl.gz", "train-00002-of-00004.jsonl.gz"}, read[0]
    assert shards[1] == {"train-00001-of-00004.jsonl.gz", "train-00003-of-00004.jsonl.gz"}, read[1]
    distributed = json.loads((cluster / "runs" / "mw" / "1" / "metrics.json").read_text())
    alone = json.loads((single / "runs" / "mw" / "1" / "metrics.json").read_text())
    assert distributed["global_batch_size"] == alone["global_batch_size"] == 32
    # Each worker draws its batches from its own shards, so the runs see different batches: the same accuracy
    # within noise, not the same numbers (the words give these tiny reviews' classes away).
    assert abs(distributed["test"]["accuracy"] - alone["test"]["accuracy"]) <= 0.1


@pytest.mark.parametrize("option, value, flag", [("text_column", "review", "--text-column review"),
                                                  ("test_fraction", 0.5, "--test-fraction 0.5"),
                                                  ("validation_fraction", 0.3, "--validation-fraction 0.3"),
                                                  ("seed", 3, "--seed 3"), ("split_key", "movie", "--split-key movie")])
def test_column_and_split_options_with_a_prepared_directory_are_a_usage_error(tmp_path, option, value, flag):
    from seqsent.data.prepare import prepare
    from seqsent.errors import UsageError

    write_csv(tmp_path / "raw.csv", tiny_texts(("bad", "good"), per_class=10))
    prepare(DataConfig(source=str(tmp_path / "raw.csv")), tmp_path / "prepared", shards=1)
    with pytest.raises(UsageError, match=f"{flag} goes with raw table files.*give {flag.split()[0]} to `seqsent prepare`"):
        open_stream(DataConfig(source=str(tmp_path / "prepared"), **{option: value}))


@pytest.mark.parametrize("source", ["table", "sample"])
@pytest.mark.parametrize("option, value, fragment", [
    ("split_key", "product", "--split-key product splits streamed data only"),
    ("classes", ["bad", "good"], "--classes goes with streamed data")])
def test_streaming_only_options_with_data_read_into_memory_are_refused_not_ignored(tmp_path, source, option, value,
                                                                                   fragment):
    from seqsent.data import load_dataset
    from seqsent.errors import UsageError

    path = write_csv(tmp_path / "raw.csv", tiny_texts(("bad", "good"), per_class=10))
    with pytest.raises(UsageError, match=fragment):
        load_dataset(DataConfig(source=str(path) if source == "table" else "sample", **{option: value}))


def test_utf16_shard_is_refused_naming_it(tmp_path):
    path = tmp_path / "part-0.csv.gz"
    path.write_bytes(gzip.compress("text,label\nfine,a\nbad,b\n".encode("utf-16")))
    with pytest.raises(DataError, match="part-0.csv.gz: the file is UTF-16 text.*save it as UTF-8"):
        list(iter_rows(path, "text", "label"))


@pytest.mark.parametrize("source, kind", [("shards", "a directory of table shards"), ("shards/*.csv.gz", "a glob"),
                                          ("shards/part-0.csv.gz", "a .gz table file"),
                                          ("prepared", "a `seqsent prepare` directory")])
def test_streaming_off_with_a_streamed_source_says_to_stream_it(tmp_path, source, kind):
    from seqsent.data import load_dataset
    from seqsent.data.prepare import prepare
    from seqsent.errors import UsageError

    write_shards(tmp_path / "shards", count=2, per_shard=10)
    if source == "prepared":
        prepare(DataConfig(source=str(tmp_path / "shards")), tmp_path / "prepared", shards=1)
    with pytest.raises(UsageError, match=f"{kind} is read streamed.*use --streaming auto or on"):
        load_dataset(DataConfig(source=str(tmp_path / source), streaming="off"))
    if source != "shards":  # (a directory holding table files may be an aclImdb directory: its options first)
        with pytest.raises(UsageError, match=f"{kind} is read streamed"):  # not "has no columns to choose"
            load_dataset(DataConfig(source=str(tmp_path / source), streaming="off", text_column="review"))


def test_streamed_jsonl_label_that_is_a_list_is_refused_naming_its_line(tmp_path):
    path = tmp_path / "part-0.jsonl"
    path.write_text('{"text": "fine", "label": "pos"}\n{"text": "odd", "label": ["pos"]}\n', encoding="utf-8")
    with pytest.raises(DataError, match="part-0.jsonl:2: the label is a JSON list"):
        list(iter_rows(path, "text", "label"))


def test_prepare_refuses_a_single_class_and_an_already_prepared_directory(tmp_path):
    from seqsent.data.prepare import prepare
    from seqsent.errors import UsageError

    write_csv(tmp_path / "one.csv", tiny_texts(("good",), per_class=20))
    with pytest.raises(DataError, match=r"one.csv: the data has a single class \('good'\); need 2 or more"):
        prepare(DataConfig(source=str(tmp_path / "one.csv")), tmp_path / "out", shards=1)
    assert not (tmp_path / "out").exists()
    write_csv(tmp_path / "raw.csv", tiny_texts(("bad", "good"), per_class=20))
    prepare(DataConfig(source=str(tmp_path / "raw.csv")), tmp_path / "prepared", shards=2)
    with pytest.raises(UsageError, match="is already a prepared directory: train on it as it is"):
        prepare(DataConfig(source=str(tmp_path / "prepared"), seed=7), tmp_path / "again", shards=2)


def prepare_cli(capsys, *args) -> tuple[int, str, str]:
    """`seqsent prepare ARGS` as the console script runs it: (exit code, stdout, stderr)."""
    from seqsent_cli.main import main

    with pytest.raises(SystemExit) as exited:
        main(["prepare", *map(str, args)])
    out, err = capsys.readouterr()
    return exited.value.code, out, err


def rows_in(split: str, count: int, label: str, validation: float = 0.1, test: float = 0.2) -> list[tuple[str, str]]:
    """`count` rows of `label` whose texts hash into `split` (seed 1337, DataConfig's default)."""
    texts = (f"{label} review number {i}" for i in range(10_000))
    return [(text, label) for text in texts if split_of(text, validation, test, 1337) == split][:count]


def test_prepare_refuses_a_class_without_training_rows_as_train_does_in_memory(tmp_path):
    from seqsent.data.prepare import prepare

    write_csv(tmp_path / "two.csv", tiny_texts(("neg", "pos"), per_class=20))
    write_csv(tmp_path / "three.csv", tiny_texts(("neg", "neu", "pos"), per_class=5))
    with pytest.raises(DataError, match=r"^the test data has labels not seen in the training data: 'neu'"):
        prepare(DataConfig(source=str(tmp_path / "two.csv"), test_source=str(tmp_path / "three.csv")),
                tmp_path / "ptx", shards=1)
    rare = rows_in("train", 30, "neg") + rows_in("train", 30, "pos") + rows_in("validation", 5, "pos") + \
        rows_in("test", 5, "neg") + rows_in("test", 2, "neu")  # 'neu' only in test
    write_csv(tmp_path / "rare.csv", rare)
    with pytest.raises(DataError, match=r"rare.csv: the split leaves no training example of 1 of the 3 classes "
                                        r"\('neu': their rows all fell in validation or test\)"):
        prepare(DataConfig(source=str(tmp_path / "rare.csv")), tmp_path / "prare", shards=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rare.csv", "three.csv", "two.csv"]  # no output, no scratch


def test_prepare_removes_the_scratch_buckets_a_killed_prepare_left(tmp_path):
    import os
    import time

    from seqsent.data.prepare import prepare

    left = tmp_path / ".seqsent-prepare-killed"
    (left / "buckets").mkdir(parents=True)
    os.utime(left, (time.time() - 3600,) * 2)
    data = write_csv(tmp_path / "d.csv", tiny_texts(per_class=20))
    prepare(DataConfig(source=str(data)), tmp_path / "prepared", shards=1)
    assert not left.exists() and (tmp_path / "prepared" / "manifest.json").is_file()
    assert not list(tmp_path.glob(".seqsent-prepare-*"))


def test_prepare_notes_skipped_rows_and_bytes_that_are_not_utf8_as_train_does(tmp_path):
    from seqsent.data.prepare import prepare
    from seqsent.data.tables import read_table

    write_csv(tmp_path / "lat.csv", tiny_texts(("neg", "pos"), per_class=20) + [("", "neg"), ("no label", "")])
    with open(tmp_path / "lat.csv", "ab") as handle:
        handle.write(b"caf\xe9 was fine,pos\n")  # Latin-1, not UTF-8
    report = prepare(DataConfig(source=str(tmp_path / "lat.csv")), tmp_path / "plat", shards=1)
    assert report.notes == ["lat.csv: skipped 2 row(s) with an empty or missing text or label (a label such as NaN, "
                            "NA or null counts as missing; --on-empty-text error refuses them)",
                            "lat.csv: replaced 1 byte sequence(s) that were not UTF-8"]
    assert report.notes[1] in read_table(tmp_path / "lat.csv", "text", "label").notes  # train's own words
    write_csv(tmp_path / "genuine.csv", tiny_texts(("neg", "pos"), per_class=20) + [("caf\ufffd", "pos")])
    assert prepare(DataConfig(source=str(tmp_path / "genuine.csv")), tmp_path / "pgen", shards=1).notes == []


def test_streamed_training_data_notes_bytes_that_are_not_utf8_as_a_table_in_memory_does(tmp_path):
    write_csv(tmp_path / "lat.csv", tiny_texts(("neg", "pos"), per_class=20))
    with open(tmp_path / "lat.csv", "ab") as handle:
        handle.write(b"caf\xe9 was fine,tr\xe8s bon\n")  # Latin-1, not UTF-8: in a text and in a label
    with open(tmp_path / "lat.csv", "rb") as plain, gzip.open(tmp_path / "lat.csv.gz", "wb") as packed:
        packed.write(plain.read())
    stream = open_stream(DataConfig(source=str(tmp_path / "lat.csv.gz")))  # the first pass over the labels
    assert "lat.csv.gz: replaced 2 byte sequence(s) that were not UTF-8" in stream.notes


def test_test_texts_also_in_train_are_noted_when_streamed_and_when_prepared(tmp_path):
    """As a table read into memory notes them: --test-data holding train texts scores what the model memorised."""
    from seqsent.data.prepare import prepare

    rows = tiny_texts(("neg", "pos"), per_class=20)
    write_csv(tmp_path / "train.csv", rows)
    with open(tmp_path / "train.csv", "rb") as plain, gzip.open(tmp_path / "train.csv.gz", "wb") as packed:
        packed.write(plain.read())
    write_csv(tmp_path / "test.csv", rows[:6] + [(f"an unseen review {i}", "pos") for i in range(4)])
    config = DataConfig(source=str(tmp_path / "train.csv.gz"), test_source=str(tmp_path / "test.csv"))
    in_train = sum(split_of(text, config.validation_fraction, 0.0, config.seed) == "train" for text, _ in rows[:6])
    assert in_train  # the others of the six fell in validation
    expected = (f"{in_train} of the 10 test texts also appear in train: test accuracy overstates accuracy on unseen "
                "texts (remove the duplicates from the test data)")
    streamed = open_stream(config)
    assert expected in streamed.notes
    report = prepare(DataConfig(source=str(tmp_path / "train.csv"), test_source=str(tmp_path / "test.csv")),
                     tmp_path / "prepared", shards=1)
    assert expected in report.notes
    assert expected in open_stream(DataConfig(source=str(tmp_path / "prepared"))).notes
    apart = open_stream(DataConfig(source=str(tmp_path / "train.csv.gz")))  # split by the text: copies stay together
    assert not [note for note in apart.notes if "also appear in train" in note]


def test_prepare_refuses_a_split_that_would_be_empty_and_writes_nothing(tmp_path):
    from seqsent.data.prepare import prepare

    write_csv(tmp_path / "tiny.csv", [("good film", "pos"), ("bad film", "neg")])
    with pytest.raises(DataError, match=r"tiny.csv: the test split would be empty \(2 row\(s\) split by "
                                        r"--validation-fraction 0.1 and --test-fraction 0.2\); give more rows"):
        prepare(DataConfig(source=str(tmp_path / "tiny.csv")), tmp_path / "ptiny", shards=1)
    write_csv(tmp_path / "train.csv", rows_in("train", 10, "neg", test=0.0) + rows_in("train", 10, "pos", test=0.0))
    with pytest.raises(DataError, match=r"train.csv: the validation split would be empty \(20 row\(s\) split by "
                                        r"--validation-fraction 0.1\); give more rows, or a larger --validation"):
        prepare(DataConfig(source=str(tmp_path / "train.csv"), test_source=str(tmp_path / "tiny.csv")),
                tmp_path / "ptrain", shards=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny.csv", "train.csv"]


def test_training_on_a_prepared_directory_without_validation_rows_says_to_prepare_it_again(tmp_path):
    from seqsent.data.prepare import prepare
    from seqsent.training.inputs import stream_inputs

    write_csv(tmp_path / "raw.csv", tiny_texts(("bad", "good"), per_class=20))
    prepare(DataConfig(source=str(tmp_path / "raw.csv")), tmp_path / "prepared", shards=1)
    manifest_file = tmp_path / "prepared" / "manifest.json"
    manifest = json.loads(manifest_file.read_text())  # as an older seqsent prepare could write it
    manifest["shards"]["validation"], manifest["counts"]["validation"] = [], 0
    manifest_file.write_text(json.dumps(manifest))
    config = tiny_run_config(tmp_path / "prepared")
    with pytest.raises(DataError, match="the validation split has no rows; run `seqsent prepare` again with a "
                                        "larger --validation-fraction"):
        stream_inputs(config, open_stream(config.data), lambda message: None)


def test_prepare_names_its_source_split_key_and_output_as_the_user_gave_them(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_csv(tmp_path / "two.csv", tiny_texts(("neg", "pos"), per_class=20))
    (tmp_path / "nokey.jsonl").write_text("".join(json.dumps({"text": t, "label": l}) + "\n"
                                                  for t, l in tiny_texts(("neg", "pos"), per_class=20)))
    for args, code, said in (
            (["nonexist.csv", "--output", "p"], 1, "seqsent: error: nonexist.csv: no such file or directory"),
            (["two.csv", "--test-data", "nope.csv", "--output", "p"], 1,
             "seqsent: error: --test-data nope.csv: no such file or directory"),
            (["two.csv", "--split-key", "movie", "--output", "p"], 1,
             "seqsent: error: two.csv: no column 'movie'; columns are: 'text', 'label' (chosen with --split-key)"),
            (["nokey.jsonl", "--split-key", "movie", "--output", "p"], 1,
             "seqsent: error: nokey.jsonl: no row has a value in the --split-key column 'movie'"),
            (["nonexist.csv", "--output", "two.csv/p"], 2,  # the output checked first, before any data is read
             "seqsent: error: --output two.csv/p: two.csv is a file, not a directory")):
        exit_code, _, err = prepare_cli(capsys, *args)
        assert exit_code == code and err.startswith(said) and err.count("\n") == 1 and "--data" not in err, err
    if Path("/proc/self").is_dir():  # a parent no one may write in, root included
        code, _, err = prepare_cli(capsys, "two.csv", "--output", "/proc/x")
        assert code == 2 and err.startswith("seqsent: error: --output /proc/x: ") and "seqsent-prepare" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nokey.jsonl", "two.csv"]
    assert prepare_cli(capsys, "two.csv", "--output", "new/sub/p")[0] == 0  # parents made, as for any output
    assert (tmp_path / "new" / "sub" / "p" / "manifest.json").is_file()


def test_prepare_overwrites_its_own_output_but_never_a_directory_holding_the_source(tmp_path):
    from seqsent.data.prepare import prepare
    from seqsent.errors import UsageError

    (tmp_path / "data").mkdir()
    write_csv(tmp_path / "data" / "raw.csv", tiny_texts(("bad", "good"), per_class=20))
    with pytest.raises(UsageError, match="holds 'raw.csv', which this command does not write: --overwrite"):
        prepare(DataConfig(source=str(tmp_path / "data" / "raw.csv")), tmp_path / "data", shards=1, overwrite=True)
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["raw.csv"]
    prepare(DataConfig(source=str(tmp_path / "data" / "raw.csv")), tmp_path / "prepared", shards=2)
    prepare(DataConfig(source=str(tmp_path / "data" / "raw.csv")), tmp_path / "prepared", shards=1, overwrite=True)
    assert len(list((tmp_path / "prepared").glob("train-*.jsonl.gz"))) == 1


def test_a_prepared_manifest_of_another_format_one_class_or_other_classes_is_refused(tmp_path):
    from seqsent.data.prepare import prepare

    write_csv(tmp_path / "raw.csv", tiny_texts(("bad", "good"), per_class=20))
    prepare(DataConfig(source=str(tmp_path / "raw.csv")), tmp_path / "prepared", shards=1)
    manifest_file = tmp_path / "prepared" / "manifest.json"
    manifest = json.loads(manifest_file.read_text())
    for change, message in (({"format_version": 2}, "has format version 2, which this seqsent does not read"),
                            ({"classes": ["good"]}, r"has 1 class\(es\) \('good'\); need 2 or more"),
                            ({"classes": ["bad", "meh"]}, "label 'good' is not one of the classes .*manifest.json "
                                                          "lists other classes: prepare the data again")):
        manifest_file.write_text(json.dumps({**manifest, **change}))
        with pytest.raises(DataError, match=message):
            open_stream(DataConfig(source=str(tmp_path / "prepared")))


def test_skipping_bad_shards_of_a_prepared_directory_is_refused_saying_why(tmp_path):
    from seqsent.data.prepare import prepare

    write_csv(tmp_path / "raw.csv", tiny_texts(("bad", "good"), per_class=40))
    prepare(DataConfig(source=str(tmp_path / "raw.csv")), tmp_path / "prepared", shards=2)
    shard = sorted((tmp_path / "prepared").glob("train-*.jsonl.gz"))[-1]
    shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])
    with pytest.raises(DataError, match="--on-bad-shard skip does not apply to a prepared directory"):
        open_stream(DataConfig(source=str(tmp_path / "prepared"), on_bad_shard="skip"))


@pytest.mark.parametrize("rows", ["text,label\n", "text,label\nfoo,\nbar,\n"])
def test_streamed_table_without_a_labelled_row_is_refused_as_in_memory(tmp_path, rows):
    path = tmp_path / "empty.csv"
    path.write_text(rows, encoding="utf-8")
    with pytest.raises(DataError, match="no rows with both a 'text' and a 'label' value"):
        open_stream(DataConfig(source=str(path), streaming="on"))


def test_streamed_labels_differing_only_in_case_are_noted_as_in_memory(tmp_path):
    path = write_csv(tmp_path / "cased.csv", tiny_texts(("pos", "Pos", "neg"), per_class=10))
    data = open_stream(DataConfig(source=str(path), streaming="on"))
    assert "labels 'Pos' and 'pos' differ only in case: they are separate classes" in data.notes


def test_streamed_options_are_named_in_their_errors_and_rows_without_a_split_key_are_noted(tmp_path):
    shard = write_shards(tmp_path / "raw", count=1, per_shard=40)[0]
    with pytest.raises(DataError, match=r"^--test-data .*nope.csv: no such file or directory$"):
        open_stream(DataConfig(source=str(shard), test_source=str(tmp_path / "nope.csv")))
    with pytest.raises(DataError, match=r"no column 'film'; columns are: 'text', 'label', 'movie' \(chosen with "
                                        r"--split-key\)$"):
        open_stream(DataConfig(source=str(shard), split_key="film"))
    rows = [{"text": f"a good film {i}", "label": "good"} for i in range(20)] + [
        {"text": f"a bad film {i}", "label": "bad", "movie": f"m{i}"} for i in range(20)]
    path = tmp_path / "keys.jsonl.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("".join(json.dumps(row) + "\n" for row in rows))
    stream = open_stream(DataConfig(source=str(path), split_key="movie"))
    assert any(note.startswith("20 of 40 rows have no value in the --split-key column 'movie': they all fall in one "
                               "split (") for note in stream.notes), stream.notes


def test_a_text_column_taken_as_labels_is_refused_while_read_not_after(tmp_path, monkeypatch):
    """Millions of distinct 'labels' would fill the memory before the classes are checked at the end of a pass."""
    import seqsent.data.dataset as dataset

    monkeypatch.setattr(dataset, "LABEL_CHECK_ROWS", 50)
    path = tmp_path / "texts-as-labels.csv"
    path.write_text("text,label\n" + "".join(f"review {i},words of review {i}\n" for i in range(200)), encoding="utf-8")
    with pytest.raises(DataError, match=r"50 distinct labels in 50 training rows, fewer than 2 examples per class"):
        open_stream(DataConfig(source=str(path), streaming="on"))
    from seqsent.data.prepare import prepare

    with pytest.raises(DataError, match=r"distinct labels in 50 training rows"):
        prepare(DataConfig(source=str(path)), tmp_path / "prepared", shards=1)
    assert not (tmp_path / "prepared").exists()


def test_class_names_written_decomposed_in_classes_or_an_older_prepared_directory_still_match(tmp_path):
    """Labels are read composed (NFC); --classes copied from a macOS file name, or a directory prepared before
    labels were composed, may hold the decomposed form of the same names."""
    import unicodedata

    from seqsent.data.prepare import prepare

    composed = "caf\u00e9"
    decomposed = unicodedata.normalize("NFD", composed)
    rows = tiny_texts((decomposed, "other"), per_class=20)
    write_csv(tmp_path / "d.csv", rows)
    with open(tmp_path / "d.csv", "rb") as plain, gzip.open(tmp_path / "d.csv.gz", "wb") as packed:
        packed.write(plain.read())
    stream = open_stream(DataConfig(source=str(tmp_path / "d.csv.gz"), classes=[decomposed, "other"]))
    assert stream.class_names == [composed, "other"]
    prepare(DataConfig(source=str(tmp_path / "d.csv")), tmp_path / "prepared", shards=1)
    manifest = json.loads((tmp_path / "prepared" / "manifest.json").read_text(encoding="utf-8"))
    manifest["classes"] = [decomposed if name == composed else name for name in manifest["classes"]]
    (tmp_path / "prepared" / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    for shard in (tmp_path / "prepared").glob("*.jsonl.gz"):  # as an older seqsent wrote them: as given
        lines = gzip.decompress(shard.read_bytes()).decode("utf-8").replace(json.dumps(composed)[1:-1],
                                                                            json.dumps(decomposed)[1:-1])
        shard.write_bytes(gzip.compress(lines.encode("utf-8")))
    assert open_stream(DataConfig(source=str(tmp_path / "prepared"))).class_names == [composed, "other"]
