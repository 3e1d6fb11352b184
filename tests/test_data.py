"""Every data source -> one Dataset, with seeded stratified splits and clear errors."""

from __future__ import annotations

import gzip
import io
import json
import re
import tarfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from conftest import tiny_texts, write_csv, write_jsonl
from seqsent.config import DataConfig
from seqsent.data import load_dataset
from seqsent.data.streaming import open_stream
from seqsent.errors import DataError, UsageError


def load(source, **kwargs):
    return load_dataset(DataConfig(source=str(source), **kwargs))


def all_split_texts(dataset):
    return dataset.train.texts + dataset.validation.texts + dataset.test.texts


def class_counts(split, class_names):
    return Counter(class_names[i] for i in split.labels)


# ---------------------------------------------------------------- bundled sample

@pytest.fixture(scope="module")
def sample_dataset():
    return load_dataset(DataConfig())


def test_bundled_sample_has_default_split_sizes(sample_dataset):
    assert (len(sample_dataset.train), len(sample_dataset.validation), len(sample_dataset.test)) == (2250, 250, 2500)
    assert sample_dataset.class_names == ["neg", "pos"]


def test_bundled_sample_classes_are_balanced(sample_dataset):
    assert np.bincount(sample_dataset.test.labels).tolist() == [1250, 1250]
    train_and_validation = np.concatenate([sample_dataset.train.labels, sample_dataset.validation.labels])
    assert np.bincount(train_and_validation).tolist() == [1250, 1250]
    # validation holds whole movies, so its balance is close but not exact
    assert 0.4 < sample_dataset.validation.labels.mean() < 0.6


def test_bundled_sample_validation_never_overlaps_train(sample_dataset):
    assert not set(sample_dataset.train.texts) & set(sample_dataset.validation.texts)


def test_bundled_sample_validation_holds_out_whole_movies(sample_dataset):
    from seqsent.data.sample import read_sample

    texts, _, movies = read_sample()["train"]
    movie_of = dict(zip(texts, movies))
    train_movies = {movie_of[t] for t in sample_dataset.train.texts}
    validation_movies = {movie_of[t] for t in sample_dataset.validation.texts}
    assert len(validation_movies) > 10
    assert not train_movies & validation_movies


def test_limit_takes_stratified_subsets_of_train_and_test():
    dataset = load_dataset(DataConfig(limit=200))
    assert len(dataset.train) + len(dataset.validation) == 200
    assert 20 <= len(dataset.validation) <= 30
    assert len(dataset.test) == 200
    assert np.bincount(dataset.test.labels).tolist() == [100, 100]
    assert np.bincount(np.concatenate([dataset.train.labels, dataset.validation.labels])).tolist() == [100, 100]


def test_train_limit_subsets_train_only_keeping_whole_movies_in_validation():
    from seqsent.data.sample import read_sample

    dataset = load_dataset(DataConfig(train_limit=300))
    assert len(dataset.train) + len(dataset.validation) == 300 and len(dataset.test) == 2500
    assert np.bincount(np.concatenate([dataset.train.labels, dataset.validation.labels])).tolist() == [150, 150]
    texts, _, movies = read_sample()["train"]
    movie_of = dict(zip(texts, movies))
    assert not {movie_of[t] for t in dataset.train.texts} & {movie_of[t] for t in dataset.validation.texts}
    assert dataset.validation_split == "whole movies held out"


# ---------------------------------------------------------------- aclImdb directory and archive

ACL_FILES = {
    "train/pos": ["Loved it, superb acting.", "A brilliant, moving film.", "Wonderful from start to end."],
    "train/neg": ["Awful and boring.", "Terrible script, dull cast.", "I hated every minute."],
    "test/pos": ["Great fun.", "Superb."],
    "test/neg": ["Dull.", "Boring mess."],
}


def make_acl_dir(root: Path) -> Path:
    base = root / "aclImdb"
    for folder, texts in ACL_FILES.items():
        (base / folder).mkdir(parents=True)
        for i, text in enumerate(texts):
            (base / folder / f"{i}_{8 if 'pos' in folder else 2}.txt").write_text(text, encoding="utf-8")
    (base / "train" / "unsup").mkdir()
    (base / "train" / "unsup" / "0_0.txt").write_text("unlabelled, must be ignored", encoding="utf-8")
    (base / "README").write_text("not a review", encoding="utf-8")
    (base / "train" / "urls_pos.txt").write_text("http://example.com", encoding="utf-8")
    return root


def make_tar(path: Path, members: dict[str, bytes], symlinks: dict[str, str] | None = None) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for name, target in (symlinks or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            archive.addfile(info)
    return path


def acl_members() -> dict[str, bytes]:
    members = {}
    for folder, texts in ACL_FILES.items():
        for i, text in enumerate(texts):
            members[f"aclImdb/{folder}/{i}_{8 if 'pos' in folder else 2}.txt"] = text.encode()
    members["aclImdb/train/unsup/0_0.txt"] = b"unlabelled, must be ignored"
    members["aclImdb/README"] = b"not a review"
    return members


def labelled(dataset) -> set[tuple[str, str]]:
    pairs = set()
    for split in (dataset.train, dataset.validation, dataset.test):
        pairs |= {(t, dataset.class_names[y]) for t, y in zip(split.texts, split.labels)}
    return pairs


EXPECTED_ACL = {(t, folder.split("/")[1]) for folder, texts in ACL_FILES.items() for t in texts}


def test_aclimdb_directory_loads_labelled_reviews(tmp_path):
    dataset = load(make_acl_dir(tmp_path), validation_fraction=0.2)
    assert dataset.class_names == ["neg", "pos"]
    assert len(dataset.train) + len(dataset.validation) == 6
    assert len(dataset.test) == 4
    assert set(dataset.test.texts) == set(ACL_FILES["test/pos"] + ACL_FILES["test/neg"])
    assert labelled(dataset) == EXPECTED_ACL  # unsup, README and urls files are ignored


def test_aclimdb_archive_loads_the_same_reviews_as_the_directory(tmp_path):
    archive = make_tar(tmp_path / "aclImdb_v1.tar.gz", acl_members())
    from_archive = load(archive, validation_fraction=0.2)
    from_dir = load(make_acl_dir(tmp_path / "dir"), validation_fraction=0.2)
    assert labelled(from_archive) == labelled(from_dir) == EXPECTED_ACL
    assert len(from_archive.test) == 4


def make_acl_movies_dir(root: Path, with_urls: bool) -> Path:
    """20 pos + 20 neg train reviews; with urls files, about 10 movies per class (2 reviews each)."""
    base = root / "aclImdb"
    for split in ("train", "test"):
        for label in ("pos", "neg"):
            (base / split / label).mkdir(parents=True)
            for i in range(20):
                (base / split / label / f"{i}_5.txt").write_text(f"{split} {label} review {i}", encoding="utf-8")
            if with_urls:
                urls = [f"http://www.imdb.com/title/tt{label}{split}{i // 2:04d}/usercomments" for i in range(20)]
                (base / split / f"urls_{label}.txt").write_text("\n".join(urls) + "\n", encoding="utf-8")
    return root


def test_aclimdb_validation_holds_out_whole_movies_from_urls_files(tmp_path):
    dataset = load(make_acl_movies_dir(tmp_path, with_urls=True), validation_fraction=0.2)

    def movie(text):  # "<split> <label> review <i>" is about movie <label><i // 2>
        _, label, _, i = text.split()
        return label, int(i) // 2

    assert len(dataset.validation) >= 8
    assert not {movie(t) for t in dataset.train.texts} & {movie(t) for t in dataset.validation.texts}


def test_aclimdb_directory_without_urls_files_gets_a_stratified_validation_split(tmp_path):
    dataset = load(make_acl_movies_dir(tmp_path, with_urls=False), validation_fraction=0.2)
    assert class_counts(dataset.validation, dataset.class_names) == {"neg": 4, "pos": 4}


def test_aclimdb_directory_without_test_split_is_refused(tmp_path):
    root = make_acl_dir(tmp_path)
    for file in (root / "aclImdb" / "test").rglob("*.txt"):
        file.unlink()
    with pytest.raises(DataError, match="test/pos"):
        load(root)


def test_truncated_archive_is_refused_with_data_error(tmp_path):
    good = make_tar(tmp_path / "good.tar.gz", {**acl_members(), "aclImdb/train/pos/9_9.txt": bytes(range(256)) * 400})
    data = good.read_bytes()
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="truncated or corrupt"):
        load(truncated)


def test_corrupt_archive_is_refused_with_data_error(tmp_path):
    corrupt = tmp_path / "corrupt.tar.gz"
    corrupt.write_bytes(gzip.compress(b"this is not a tar file at all " * 40)[:20] + b"\x00garbage" * 50)
    with pytest.raises(DataError, match="truncated or corrupt"):
        load(corrupt)


@pytest.mark.parametrize("member", ["../aclImdb/train/pos/0_10.txt", "/tmp/aclImdb/train/pos/0_10.txt",
                                    "aclImdb/../../train/pos/0_10.txt"])
def test_archive_member_escaping_its_root_under_train_pos_is_refused(tmp_path, member):
    archive = make_tar(tmp_path / "evil.tar.gz", {**acl_members(), member: b"evil"})
    with pytest.raises(DataError, match="unsafe member"):
        load(archive)


def test_archive_member_climbing_out_of_train_pos_is_never_read(tmp_path):
    archive = make_tar(tmp_path / "evil.tar.gz", {**acl_members(), "aclImdb/train/pos/../../../evil.txt": b"evil"})
    try:
        dataset = load(archive)
    except DataError as exc:  # refusing is fine too
        assert "unsafe" in str(exc)
    else:
        assert "evil" not in all_split_texts(dataset)


def test_archive_symlink_member_is_not_followed(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("secret", encoding="utf-8")
    archive = make_tar(tmp_path / "links.tar.gz", acl_members(), symlinks={"aclImdb/train/pos/7_7.txt": str(secret)})
    dataset = load(archive)
    assert "secret" not in all_split_texts(dataset)
    assert labelled(dataset) == EXPECTED_ACL


def test_archive_member_over_size_limit_is_refused(tmp_path, monkeypatch):
    import seqsent.data.aclimdb as aclimdb

    monkeypatch.setattr(aclimdb, "MAX_MEMBER_BYTES", 20)
    archive = make_tar(tmp_path / "big.tar.gz", {**acl_members(), "aclImdb/train/pos/8_8.txt": b"x" * 21})
    with pytest.raises(DataError, match="limit"):
        load(archive)


def test_real_archive_loads_with_limit(shared_archive):
    started = time.perf_counter()
    dataset = load(shared_archive, limit=200)
    assert dataset.class_names == ["neg", "pos"]
    assert len(dataset.train) + len(dataset.validation) == 200
    assert 20 <= len(dataset.validation) <= 30
    assert len(dataset.test) == 200
    assert np.bincount(dataset.test.labels).tolist() == [100, 100]
    assert time.perf_counter() - started < 60


# ---------------------------------------------------------------- tables

def test_csv_with_three_string_classes(tmp_path):
    rows = tiny_texts(per_class=10)
    dataset = load(write_csv(tmp_path / "reviews.csv", rows))
    assert dataset.class_names == ["bad", "good", "meh"]
    assert dataset.num_classes == 3
    assert len(dataset.test) == 6  # test_fraction 0.2 of 30, stratified
    assert class_counts(dataset.test, dataset.class_names) == {"bad": 2, "good": 2, "meh": 2}
    assert sorted(all_split_texts(dataset)) == sorted(t for t, _ in rows)
    assert not set(dataset.test.texts) & set(dataset.train.texts + dataset.validation.texts)
    # labels stay attached to their texts
    truth = dict(rows)
    for split in (dataset.train, dataset.validation, dataset.test):
        assert all(truth[t] == dataset.class_names[y] for t, y in zip(split.texts, split.labels))


def test_numeric_labels_sort_by_value(tmp_path):
    rows = [(f"text {i}", label) for i, label in enumerate(["2", "10", "1"] * 5)]
    dataset = load(write_csv(tmp_path / "n.csv", rows))
    assert dataset.class_names == ["1", "2", "10"]


def test_tsv_keeps_commas_inside_texts(tmp_path):
    rows = [(f"slow, long, but {w}", label) for w, label in [("fine", "pos"), ("dull", "neg")] * 6]
    dataset = load(write_csv(tmp_path / "reviews.tsv", rows, delimiter="\t"))
    assert dataset.class_names == ["neg", "pos"]
    assert sorted(all_split_texts(dataset)) == sorted(t for t, _ in rows)


def test_jsonl_with_integer_labels_and_custom_columns(tmp_path):
    records = [{"review": f"review number {i}", "stars": i % 2, "extra": None} for i in range(20)]
    dataset = load(write_jsonl(tmp_path / "reviews.jsonl", records), text_column="review", label_column="stars")
    assert dataset.class_names == ["0", "1"]
    assert len(all_split_texts(dataset)) == 20


def test_jsonl_text_holding_unicode_line_separators_loads(tmp_path):
    records = [{"text": f"good\u2028movie {i}\x85really", "label": "pos" if i % 2 else "neg"} for i in range(10)]
    dataset = load(write_jsonl(tmp_path / "sep.jsonl", records))
    assert sorted(all_split_texts(dataset)) == sorted(r["text"] for r in records)


def test_csv_with_byte_order_mark_finds_its_columns(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes("\ufefftext,label\n".encode() + "".join(f"t{i},{i % 2}\n" for i in range(10)).encode())
    assert load(path).class_names == ["0", "1"]


def test_separate_test_file_is_used_whole_as_test(tmp_path):
    train_rows = tiny_texts(per_class=10, seed=1)
    test_rows = tiny_texts(per_class=3, seed=2)
    test_file = write_csv(tmp_path / "test.csv", test_rows)
    dataset = load(write_csv(tmp_path / "train.csv", train_rows), test_source=str(test_file))
    assert sorted(dataset.test.texts) == sorted(t for t, _ in test_rows)
    assert len(dataset.train) + len(dataset.validation) == 30
    assert "test.csv" in dataset.description


def test_test_file_with_labels_unseen_in_train_is_refused(tmp_path):
    test_file = write_csv(tmp_path / "test.csv", tiny_texts(("good", "bad", "surprised"), per_class=3))
    with pytest.raises(DataError, match="surprised"):
        load(write_csv(tmp_path / "train.csv", tiny_texts(("good", "bad"), per_class=10)), test_source=str(test_file))


def test_missing_test_file_is_refused(tmp_path):
    with pytest.raises(DataError, match="--test-data"):
        load(write_csv(tmp_path / "train.csv", tiny_texts(per_class=5)), test_source=str(tmp_path / "nope.csv"))


def test_test_file_with_non_table_source_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match="--test-data"):
        load(make_acl_dir(tmp_path), test_source=str(write_csv(tmp_path / "t.csv", tiny_texts(per_class=2))))


def validation_of(tmp_path, seed):
    rows = [(f"positive review {i}", "pos") for i in range(60)] + [(f"negative review {i}", "neg") for i in range(30)]
    train = tmp_path / "train.csv"
    if not train.exists():
        write_csv(train, rows)
        write_csv(tmp_path / "test.csv", rows[:5] + rows[-5:])
    return load(train, test_source=str(tmp_path / "test.csv"), validation_fraction=0.2, seed=seed)


def test_validation_split_is_seeded(tmp_path):
    first, again, other = validation_of(tmp_path, 1), validation_of(tmp_path, 1), validation_of(tmp_path, 2)
    assert first.validation.texts == again.validation.texts
    assert first.train.texts == again.train.texts
    assert set(first.validation.texts) != set(other.validation.texts)


def test_validation_split_keeps_class_proportions(tmp_path):
    dataset = validation_of(tmp_path, 3)
    assert len(dataset.validation) == 18
    assert class_counts(dataset.validation, dataset.class_names) == {"pos": 12, "neg": 6}
    assert class_counts(dataset.train, dataset.class_names) == {"pos": 48, "neg": 24}
    assert not set(dataset.train.texts) & set(dataset.validation.texts)


def test_limit_applies_to_table_sources(tmp_path):
    dataset = validation_of(tmp_path, 1)
    limited = load(tmp_path / "train.csv", test_source=str(tmp_path / "test.csv"), limit=30, validation_fraction=0.2)
    assert len(limited.train) + len(limited.validation) == 30
    assert class_counts(limited.train, limited.class_names) + class_counts(limited.validation, limited.class_names) \
        == {"pos": 20, "neg": 10}
    assert len(dataset.train) + len(dataset.validation) == 90


def test_empty_text_rows_are_skipped_and_counted(tmp_path):
    rows = tiny_texts(("a", "b"), per_class=5) + [("", "a"), ("   ", "b"), ("no label here", "")]
    dataset = load(write_csv(tmp_path / "gaps.csv", rows))
    assert len(all_split_texts(dataset)) == 10
    assert any("skipped 3 row" in note for note in dataset.notes)


def test_labels_that_mark_a_missing_value_are_skipped_not_made_a_class(tmp_path):
    rows = tiny_texts(("0", "1"), per_class=10) + [("a film", "NaN"), ("a play", "NA"), ("a show", " null ")]
    data = write_csv(tmp_path / "gaps.csv", rows)
    dataset = load(data)
    assert dataset.class_names == ["0", "1"] and len(all_split_texts(dataset)) == 20
    assert any("skipped 3 row(s): 3 with an empty or missing label (a blank cell, or a marker such as NaN"
               in note for note in dataset.notes), dataset.notes
    stream = open_stream(DataConfig(source=str(data), streaming="on"))
    assert stream.class_names == ["0", "1"] and sum(stream.counts.values()) == 20


def test_on_empty_text_error_names_the_missing_value_marker(tmp_path):
    data = write_csv(tmp_path / "gaps.csv", tiny_texts(("0", "1"), per_class=3) + [("a film", "NaN")])
    fragment = r"gaps.csv:8: missing label.*'NaN' marks a missing value; fix the row"
    with pytest.raises(DataError, match=fragment):
        load(data, on_empty_text="error")
    with pytest.raises(DataError, match=fragment):
        open_stream(DataConfig(source=str(data), streaming="on", on_empty_text="error"))


def test_unknown_labels_that_are_a_class_number_written_otherwise_are_pointed_out():
    from seqsent.data.dataset import encode_labels

    with pytest.raises(DataError, match=r"labels not seen in the training data: '0', '1' \(known: 0.0, 1.0\); '0' is "
                                        r"the class '0.0' written otherwise"):
        encode_labels(["1", "0"], ["0.0", "1.0"], "the test data")
    with pytest.raises(DataError, match=r"\(known: 0.0, 1.0\)$"):
        encode_labels(["1", "pos"], ["0.0", "1.0"], "the test data")


def test_non_utf8_bytes_are_replaced_and_counted(tmp_path):
    path = tmp_path / "latin.csv"
    lines = [b"text,label"] + [f"fine text {i},{i % 2}".encode() for i in range(10)]
    lines[1] = b"caf\xe9 au lait \xff,0"  # two invalid sequences
    lines[2] = "a real \ufffd stays,1".encode()  # a genuine U+FFFD is not counted
    path.write_bytes(b"\n".join(lines) + b"\n")
    dataset = load(path)
    assert "caf\ufffd au lait \ufffd" in all_split_texts(dataset)
    assert any("replaced 2 byte sequence" in note for note in dataset.notes)


@pytest.mark.parametrize("name", ["missing.csv", "missing.tar.gz", "no/such/dir"])
def test_missing_data_path_is_a_data_error(tmp_path, name):
    with pytest.raises(DataError, match="no such file"):
        load(tmp_path / name)


def test_unsupported_file_type_is_a_data_error(tmp_path):
    path = tmp_path / "reviews.txt"
    path.write_text("hello", encoding="utf-8")
    with pytest.raises(DataError, match="unsupported"):
        load(path)


def test_missing_column_error_names_the_existing_columns(tmp_path):
    path = write_csv(tmp_path / "cols.csv", tiny_texts(per_class=3), header=("review", "sentiment"))
    with pytest.raises(DataError) as excinfo:
        load(path)
    message = str(excinfo.value)
    assert "'text'" in message and "review" in message and "sentiment" in message


def test_single_class_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="single class"):
        load(write_csv(tmp_path / "one.csv", tiny_texts(("good",), per_class=10)))


@pytest.mark.parametrize("name, content", [
    ("empty.csv", b""),
    ("header_only.csv", b"text,label\n"),
    ("empty.jsonl", b""),
    ("blank.tsv", b"\n\n"),
])
def test_empty_file_is_a_data_error(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DataError):
        load(path)


def test_invalid_json_line_is_reported_with_its_line_number(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "ok", "label": "a"}\n{"text": oops}\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"bad.jsonl:2"):
        load(path)


def test_jsonl_without_a_final_newline_is_read_and_a_cut_last_line_is_named(tmp_path):
    from seqsent.data.tables import read_table

    rows = tiny_texts(("pos", "neg"), per_class=3)
    path = tmp_path / "no-newline.jsonl"
    path.write_text("\n".join(json.dumps({"text": t, "label": y}) for t, y in rows), encoding="utf-8")
    assert read_table(path, "text", "label").texts == [t for t, _ in rows]
    path.write_text(path.read_text(encoding="utf-8")[:-5], encoding="utf-8")  # the last line cut off
    with pytest.raises(DataError, match=r"no-newline.jsonl:6: not valid JSON"):
        read_table(path, "text", "label")


def test_row_with_more_fields_than_header_is_a_data_error(tmp_path):
    path = tmp_path / "extra.csv"
    path.write_text("text,label\nfine,a\ntoo,many,fields\n", encoding="utf-8")
    with pytest.raises(DataError, match="delimiter"):
        load(path)


# ---------------------------------------------------------------- table options with other sources

def test_test_data_with_the_sample_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match=r"--test-data goes with a table --data \(.csv/.tsv/.jsonl\)"):
        load("sample", test_source=str(write_csv(tmp_path / "t.csv", tiny_texts(per_class=2))))


@pytest.mark.parametrize("option", ["text_column", "label_column"])
def test_column_option_with_the_sample_is_a_usage_error(option):
    with pytest.raises(UsageError, match=f"--{option.replace('_', '-')} review goes with a table --data"):
        load("sample", **{option: "review"})


def test_test_fraction_with_the_sample_is_a_usage_error_not_ignored():
    with pytest.raises(UsageError, match=r"--test-fraction 0.5 splits a table --data .*--data sample holds its own "
                                         r"test split"):
        load("sample", test_fraction=0.5)


def test_evaluating_with_test_data_and_no_data_scores_that_file_in_the_models_columns(tmp_path):
    from seqsent.data import load_test_split

    rows = tiny_texts(per_class=2)
    test_file = write_csv(tmp_path / "t.csv", rows, header=("review", "sentiment"))
    trained_on = DataConfig(source=str(tmp_path / "train.csv"), text_column="review", label_column="sentiment")
    split, description, _ = load_test_split(DataConfig(test_source=str(test_file)), ["bad", "good", "meh"], trained_on)
    assert split.texts == [text for text, _ in rows] and description == f"{test_file} (all 6 rows scored as test)"


def test_evaluating_with_test_data_and_imdb_style_data_is_a_usage_error(tmp_path):
    from seqsent.data import load_test_split

    test_file = write_csv(tmp_path / "t.csv", tiny_texts(("neg", "pos"), per_class=2))
    with pytest.raises(UsageError, match="--test-data goes with a table --data"):
        load_test_split(DataConfig(source=str(make_acl_dir(tmp_path)), test_source=str(test_file)), ["neg", "pos"])


# ---------------------------------------------------------------- UTF-16 files

def write_utf16(path: Path, text: str, encoding: str = "utf-16") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize("encoding, named", [("utf-16", "UTF-16"), ("utf-32", "UTF-32"), ("utf-16-le", "NUL bytes")])
def test_utf16_table_is_refused_naming_the_file_and_asking_for_utf8(tmp_path, encoding, named):
    path = write_utf16(tmp_path / "wide.csv", "text,label\n" + "".join(f"t{i},{i % 2}\n" for i in range(10)), encoding)
    with pytest.raises(DataError) as excinfo:
        load(path)
    message = str(excinfo.value)
    assert str(path) in message and named in message and "save it as UTF-8" in message and "\0" not in message


def test_utf16_unlabelled_text_file_is_refused(tmp_path):
    from seqsent.data.unlabelled import read_unlabelled_source

    with pytest.raises(DataError, match="UTF-16.*save it as UTF-8"):
        read_unlabelled_source(str(write_utf16(tmp_path / "more.txt", "a review\nanother one\n")))


def test_utf16_file_to_predict_is_one_error_line(tmp_path, capsys):
    from seqsent_cli.main import main

    path = write_utf16(tmp_path / "texts.txt", "a review\nanother one\n")
    with pytest.raises(SystemExit) as excinfo:
        main(["predict", str(tmp_path / "model"), "--file", str(path)])
    assert excinfo.value.code == 1
    assert capsys.readouterr().err.strip().splitlines() == [
        f"seqsent: error: {path}: the file is UTF-16 text (it starts with a UTF-16 byte-order mark); save it as UTF-8"]


# ---------------------------------------------------------------- tables given as unlabelled text

@pytest.mark.parametrize("name", ["more.csv", "more.tsv", "more.jsonl"])
def test_unlabelled_table_gives_its_text_column_not_its_lines(tmp_path, name):
    from seqsent.data.unlabelled import read_unlabelled_sources

    rows = tiny_texts(per_class=2)
    path = tmp_path / name
    if name.endswith(".jsonl"):
        write_jsonl(path, [{"review": text, "sentiment": label} for text, label in rows])
    else:
        write_csv(path, rows, header=("review", "sentiment"), delimiter="\t" if name.endswith(".tsv") else ",")
    texts, _ = read_unlabelled_sources([str(path)], [], text_column="review")
    assert texts == [text for text, _ in rows]


def test_gzipped_unlabelled_texts_and_tables_are_read_as_their_uncompressed_forms(tmp_path):
    """Their compressed bytes hold NULs: they were refused as UTF-16 text."""
    from seqsent.data.unlabelled import read_unlabelled_source

    rows = tiny_texts(per_class=2)
    (tmp_path / "more.txt.gz").write_bytes(gzip.compress("".join(f"{t}\n" for t, _ in rows).encode()))
    write_csv(tmp_path / "more.csv", rows)
    (tmp_path / "more.csv.gz").write_bytes(gzip.compress((tmp_path / "more.csv").read_bytes()))
    for name in ("more.txt.gz", "more.csv.gz"):
        assert read_unlabelled_source(str(tmp_path / name)) == [t for t, _ in rows]
    (tmp_path / "cut.txt.gz").write_bytes((tmp_path / "more.txt.gz").read_bytes()[:-12])
    with pytest.raises(DataError, match="cut.txt.gz: truncated or corrupt gzip data"):
        read_unlabelled_source(str(tmp_path / "cut.txt.gz"))


def test_unlabelled_table_without_the_text_column_is_refused(tmp_path):
    from seqsent.data.unlabelled import read_unlabelled_source

    path = write_jsonl(tmp_path / "more.jsonl", [{"review": "a fine film"}])
    with pytest.raises(DataError, match="--unlabelled .*more.jsonl: no column 'text'"):
        read_unlabelled_source(str(path))
    path = write_csv(tmp_path / "more.csv", [("a fine film", "good")], header=("review", "sentiment"))
    with pytest.raises(DataError, match=r"no column 'text'.*\(chosen with --unlabelled-text-column, by default "
                                        r"--text-column\)$"):
        read_unlabelled_source(str(path))  # not "--label-column": an unlabelled table's labels are not read


def test_unlabelled_tables_column_can_differ_from_the_labelled_tables(tmp_path, capsys, monkeypatch):
    from seqsent.data.unlabelled import collect_texts
    from seqsent_cli.main import main

    labelled = write_csv(tmp_path / "reviews.csv", tiny_texts(("good", "bad"), per_class=15),
                         header=("review", "label"))
    unlabelled = write_jsonl(tmp_path / "more.jsonl", [{"body": f"an unseen film number {i}"} for i in range(6)])
    data = DataConfig(source=str(labelled), text_column="review")
    texts, _, _ = collect_texts(data, [str(unlabelled)], unlabelled_text_column="body")
    assert "an unseen film number 5" in texts
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as excinfo:
        main(["train", "--data", str(labelled), "--text-column", "review", "--unlabelled", str(unlabelled),
              "--unlabelled-text-column", "body", "--unlabelled-vocabulary", "--arch", "gru", "--units", "4",
              "--embedding-dim", "8", "--max-tokens", "200", "--epochs", "1", "--quiet"])
    out, err = capsys.readouterr()
    assert excinfo.value.code == 0, err
    assert f"Note: unlabelled: 6 texts from {unlabelled}" in out


# ---------------------------------------------------------------- JSON labels

@pytest.mark.parametrize("label, kind", [(["pos"], "list"), ({"a": 1}, "object"), (True, "boolean")])
def test_jsonl_label_that_is_not_a_string_or_integer_is_refused_naming_its_line(tmp_path, label, kind):
    records = [{"text": f"review {i}", "label": "pos" if i % 2 else "neg"} for i in range(6)]
    records.insert(3, {"text": "odd one", "label": label})
    with pytest.raises(DataError, match=f"odd.jsonl:4: the label is a JSON {kind} .*labels must be strings or integers"):
        load(write_jsonl(tmp_path / "odd.jsonl", records))


@pytest.mark.parametrize("label, shown", [(float("nan"), "NaN"), (float("inf"), "Infinity")])
def test_jsonl_label_nan_or_infinity_is_refused_naming_its_line(tmp_path, label, shown):
    records = [{"text": f"review {i}", "label": i % 2} for i in range(6)]
    records.insert(3, {"text": "odd one", "label": label})  # written as NaN / Infinity: not JSON, read by Python
    with pytest.raises(DataError, match=f"odd.jsonl:4: the label is {shown}, which is not valid JSON"):
        load(write_jsonl(tmp_path / "odd.jsonl", records))
    records[3] = {"text": label, "label": 1}
    with pytest.raises(DataError, match=f"odd.jsonl:4: the text is {shown}, which is not valid JSON"):
        load(write_jsonl(tmp_path / "odd.jsonl", records))


def test_jsonl_labels_one_and_one_point_zero_are_refused_as_the_csv_ones_are(tmp_path):
    records = [{"text": text, "label": {"neg": 0, "pos": 1 if i % 2 else 1.0}[label]}
               for i, (text, label) in enumerate(tiny_texts(("neg", "pos"), per_class=6))]
    path = write_jsonl(tmp_path / "mixed.jsonl", records)
    with pytest.raises(DataError, match=r"^labels '1' and '1.0' are one number written in different ways"):
        load(path)
    with pytest.raises(DataError, match=r"^labels '1' and '1.0' are one number written in different ways"):
        open_stream(DataConfig(source=str(path), streaming="on"))


@pytest.mark.parametrize("text, kind", [(["a", "b"], "list"), ({"a": "b"}, "object")])
def test_jsonl_text_that_is_not_a_string_is_refused_naming_its_line(tmp_path, text, kind):
    from seqsent.data.unlabelled import read_unlabelled_source

    records = [{"text": f"review {i}", "label": "pos" if i % 2 else "neg"} for i in range(6)]
    records.insert(3, {"text": text, "label": "pos"})
    path = write_jsonl(tmp_path / "odd.jsonl", records)
    with pytest.raises(DataError, match=f"odd.jsonl:4: the text is a JSON {kind} .*texts must be strings"):
        load(path)
    with pytest.raises(DataError, match=f"odd.jsonl:4: the text is a JSON {kind}"):
        read_unlabelled_source(str(path))


def test_test_fraction_leaving_a_class_out_of_train_is_refused_naming_it(tmp_path):
    rows = [(f"good review {i}", "pos") for i in range(40)] + [("the only bad one", "neg")]
    with pytest.raises(DataError, match=r"--test-fraction 0.9 holds out 37 of the 41 rows as test and leaves no "
                                        r"training example of 1 of the 2 classes; lower --test-fraction"):
        load(write_csv(tmp_path / "skewed.csv", rows), test_fraction=0.9)


def test_validation_fraction_leaving_a_class_out_of_train_is_refused(tmp_path):
    path = write_csv(tmp_path / "small.csv", tiny_texts(("good", "bad"), per_class=60))
    with pytest.raises(DataError, match="--validation-fraction 0.99 leaves 1 training example"):
        load(path, validation_fraction=0.99)


# ---------------------------------------------------------------- malformed CSV headers and quotes

@pytest.mark.parametrize("name, header, hint", [
    ("tabs.csv", "text\tlabel", "the header looks tab-separated: name the file .tsv"),
    ("semi.csv", "text;label", "the header looks semicolon-separated"),
    ("commas.tsv", "text,label", "the header looks comma-separated: name the file .csv"),
])
def test_missing_column_error_hints_at_the_delimiter_the_header_looks_like(tmp_path, name, header, hint):
    path = tmp_path / name
    path.write_text(f"{header}\nfine film{header[4]}pos\n", encoding="utf-8")
    with pytest.raises(DataError, match=f"no column 'text'; columns are: '.*' \\({hint}"):
        load(path)


def test_missing_column_error_quotes_the_columns_and_points_at_a_name_with_spaces_or_in_another_case(tmp_path):
    path = tmp_path / "spaced.csv"
    path.write_text("text, label\nfine film, pos\ndull film, neg\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"^[^\n]*spaced.csv: no column 'label'; columns are: 'text', ' label' \(the "
                                        r"header's ' label' is 'label' with spaces around it: remove them"):
        load(path)
    jsonl = write_jsonl(tmp_path / "keys.jsonl", [{"text ": "fine", "label": "pos"}])
    with pytest.raises(DataError, match=r"no column 'text'; columns are: 'text ', 'label' \(the header's 'text '"):
        load(jsonl)
    cased = tmp_path / "cased.csv"
    cased.write_text("Text,Label\nfine film,pos\ndull film,neg\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"no column 'text'; columns are: 'Text', 'Label' \(column names are "
                                        r"case-sensitive: did you mean 'Text'\?\)"):
        load(cased)


def test_header_naming_a_used_column_twice_is_refused_naming_it(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("text,label,label\nfine,pos,neg\ndull,neg,pos\n", encoding="utf-8")
    with pytest.raises(DataError, match="dup.csv:1: the header names the column 'label' 2 times"):
        load(path)


def test_unterminated_quote_swallowing_the_file_is_refused_asking_for_the_closing_quote(tmp_path):
    path = tmp_path / "broken.csv"
    path.write_text('text,label\n"unterminated,pos\nfoo,neg\n', encoding="utf-8")
    with pytest.raises(DataError, match="broken.csv:2: .*is a closing quote missing\\?$"):
        load(path)
    tsv = tmp_path / "broken.tsv"
    tsv.write_text('text\tlabel\n"unterminated\tpos\nfoo\tneg\n', encoding="utf-8")
    with pytest.raises(DataError, match="broken.tsv:2: .*closing quote missing\\? \\(.tsv fields are read with CSV "
                                        "quoting too"):
        load(tsv)


def test_quoted_text_over_several_lines_in_the_last_row_still_loads(tmp_path):
    rows = tiny_texts(("good", "bad"), per_class=5) + [("line one\nline two", "good")]
    assert "line one\nline two" in all_split_texts(load(write_csv(tmp_path / "multi.csv", rows)))


def test_stray_quote_merging_later_rows_into_one_text_is_refused_naming_its_line(tmp_path):
    rows = tiny_texts(("good", "bad"), per_class=10)
    lines = [f"{text},{label}" for text, label in rows]
    lines[3] = '"Great they said but ' + lines[3]  # opened, never closed ...
    lines[9] = 'it is 5" wide and ' + lines[9]  # ... until an inch mark 6 rows on closes it
    path = tmp_path / "stray.csv"
    path.write_text("text,label\n" + "\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"^[^\n]*stray.csv:5: a quoted text runs over 7 lines and holds what look "
                                        r"like 6 rows of this file .*is a quote unclosed\?"):
        load(path)
    with pytest.raises(DataError, match="stray.csv:5: a quoted text runs over 7 lines"):
        open_stream(DataConfig(source=str(path), streaming="on"))


def test_quoted_text_with_newlines_and_a_comma_ending_a_line_still_loads(tmp_path):
    text = "Pros: the cast,good\nCons: the plot, the pacing\n\nOverall, good"  # one line that looks like a row
    rows = tiny_texts(("good", "bad"), per_class=5) + [(text, "good")] + tiny_texts(("good", "bad"), per_class=3)
    assert text in all_split_texts(load(write_csv(tmp_path / "multi.csv", rows)))


def test_train_limit_below_the_number_of_classes_names_train_limit_not_validation_fraction(tmp_path):
    path = write_csv(tmp_path / "many.csv", tiny_texts([f"c{i}" for i in range(12)], per_class=6))
    with pytest.raises(DataError, match=r"^--train-limit 10 keeps fewer texts than the 12 classes need"):
        load(path, train_limit=10)
    assert len(load(path, train_limit=30).train) > 0


def test_labels_differing_only_in_case_stay_separate_classes_with_a_note(tmp_path):
    rows = tiny_texts(("Pos", "pos", "neg"), per_class=6)
    dataset = load(write_csv(tmp_path / "cased.csv", rows))
    assert dataset.class_names == ["Pos", "neg", "pos"]
    assert "cased.csv: labels 'Pos' and 'pos' differ only in case: they are separate classes" in dataset.notes
    assert not any("case" in note for note in load(write_csv(tmp_path / "plain.csv", tiny_texts())).notes)


def test_a_label_written_decomposed_is_the_class_it_looks_like(tmp_path):
    """'café' composed, and 'cafe' + U+0301 (how macOS and some exports write it), are one class."""
    composed, decomposed = "caf\u00e9", "cafe\u0301"
    rows = [(text, decomposed if i % 2 and label == composed else label)
            for i, (text, label) in enumerate(tiny_texts((composed, "th\u00e9"), per_class=8))]
    dataset = load(write_csv(tmp_path / "nfd.csv", rows))
    assert dataset.class_names == [composed, "th\u00e9"]
    from seqsent.data.python import from_python

    assert from_python([t for t, _ in rows], [y for _, y in rows]).class_names == [composed, "th\u00e9"]


def test_labels_differing_only_in_spaces_or_invisible_characters_are_noted(tmp_path):
    rows = tiny_texts(("pos", "pos\u200b", "neg"), per_class=6)
    dataset = load(write_csv(tmp_path / "zw.csv", rows))
    assert len(dataset.class_names) == 3
    assert ("zw.csv: labels 'pos' and 'pos\\u200b' differ only in case, spaces or invisible characters: they are "
            "separate classes") in dataset.notes


def test_test_texts_also_in_train_are_counted_in_a_note(tmp_path):
    train_rows = [(f"train review {i}", "pos" if i % 2 else "neg") for i in range(40)]
    test_rows = [(f"test review {i}", "pos" if i % 2 else "neg") for i in range(8)]
    test_file = write_csv(tmp_path / "test.csv", test_rows)
    train_file = write_csv(tmp_path / "train.csv", train_rows)
    assert not any("also appear in train" in note for note in load(train_file, test_source=str(test_file)).notes)
    dataset = load(train_file, test_source=str(write_csv(tmp_path / "dup.csv", test_rows + train_rows)),
                   validation_fraction=0.25)
    shared = sum(text in set(dataset.train.texts) for text in dataset.test.texts)
    assert shared == 30  # the 10 of train_rows that went to validation do not count
    assert "30 of the 48 test texts also appear in train: test accuracy overstates" in " ".join(dataset.notes)
    shouted = [(text.upper() + "!", label) for text, label in train_rows]  # the same texts to the model
    dataset = load(train_file, test_source=str(write_csv(tmp_path / "loud.csv", test_rows + shouted)),
                   validation_fraction=0.25)
    assert "30 of the 48 test texts also appear in train" in " ".join(dataset.notes)


def test_a_text_is_compared_as_the_model_reads_it():
    import tensorflow as tf

    from seqsent.data.dataset import comparison_key
    from seqsent.text import standardize_text

    texts = ["GREAT movie!<br />Loved  it,\u00a0\u00a1really! \U0001F600 $5", "Ça   va.", "café, 中文，好！", ""]
    expected = [t.decode() for t in standardize_text(tf.constant(texts)).numpy()]
    assert [comparison_key(text) for text in texts] == expected


def test_unlabelled_texts_that_are_test_texts_in_other_case_are_left_out(tmp_path):
    from seqsent.data.unlabelled import read_unlabelled_sources

    test_texts = ["A fine film.", "Dull, dull, dull."]
    path = tmp_path / "more.txt"
    path.write_text("A FINE FILM\ndull dull DULL!\nsomething else\n", encoding="utf-8")
    texts, notes = read_unlabelled_sources([str(path)], test_texts)
    assert texts == ["something else"]
    assert "2 unlabelled texts are also test texts (case and punctuation aside) and were left out" in notes
    path.write_text("A FINE FILM\n", encoding="utf-8")
    with pytest.raises(DataError, match="no texts left to learn from: every one is also a test text"):
        read_unlabelled_sources([str(path)], test_texts)


def test_an_unlabelled_source_given_twice_or_holding_no_text_is_refused_and_skipped_rows_are_noted(tmp_path,
                                                                                                   monkeypatch):
    from seqsent.data.unlabelled import collect_texts, read_unlabelled_sources

    monkeypatch.chdir(tmp_path)
    lines = tmp_path / "more.txt"
    lines.write_text("a fine film\nan odd one\n", encoding="utf-8")
    with pytest.raises(UsageError, match=f"--unlabelled ./more.txt is given twice \\({lines}\\): each source counts "
                                         "once"):
        read_unlabelled_sources([str(lines), "./more.txt"], [])  # the same file, named otherwise
    blank = tmp_path / "blank.txt"
    blank.write_text("\n  \n", encoding="utf-8")
    with pytest.raises(DataError, match=f"--unlabelled {blank}: no texts in it \\(empty, or blank lines only\\)"):
        read_unlabelled_sources([str(blank)], [])
    table = write_csv(tmp_path / "more.csv", [("a fine film", "x"), ("", "y"), ("an odd one", "z")])
    texts, notes = read_unlabelled_sources([str(table)], [])
    assert texts == ["a fine film", "an odd one"]
    assert f"--unlabelled {table}: skipped 1 row(s) with no text in its column 'text'" in notes
    data = write_csv(tmp_path / "data.csv", tiny_texts(per_class=10))
    with pytest.raises(UsageError, match=f"--unlabelled {data} is --data: its train texts are read already"):
        collect_texts(str(data), [str(data)])


def test_labels_that_are_one_number_written_two_ways_are_refused_naming_them(tmp_path):
    rows = [(text, {"neg": "0", "pos": "1"}[label] if i % 2 else {"neg": "0.0", "pos": "1.0"}[label])
            for i, (text, label) in enumerate(tiny_texts(("neg", "pos"), per_class=6))]
    with pytest.raises(DataError, match=r"^labels '0' and '0.0'; '1' and '1.0' are one number written in different"):
        load(write_csv(tmp_path / "mixed.csv", rows))
    floats = [(text, {"neg": "0.0", "pos": "1.0"}[label]) for text, label in tiny_texts(("neg", "pos"), per_class=6)]
    assert load(write_csv(tmp_path / "floats.csv", floats)).class_names == ["0.0", "1.0"]  # one way: fine


def test_evaluating_a_copy_of_the_training_file_scores_its_held_out_test_part(tmp_path):
    from seqsent.data import load_test_split
    from seqsent.data.tables import table_digest

    original = write_csv(tmp_path / "train.csv", tiny_texts(("neg", "pos"), per_class=20))
    copy = tmp_path / "copy.csv"
    copy.write_bytes(original.read_bytes())
    trained_on = DataConfig(source=str(original), seed=7)
    held_out = load(original, seed=7).test.texts
    split, description, _ = load_test_split(DataConfig(source=str(copy)), ["neg", "pos"], trained_on,
                                            trained_digest=table_digest(original))
    assert split.texts == held_out and "held out as test" in description
    # Without the recorded digest (an older model) another path is another file: all of it is scored, and said so.
    split, description, _ = load_test_split(DataConfig(source=str(copy)), ["neg", "pos"], trained_on)
    assert len(split) == 40 and description.endswith("(all 40 rows scored as test)")


def test_an_edited_training_file_is_scored_whole_with_a_note(tmp_path):
    from seqsent.data import load_test_split
    from seqsent.data.tables import table_digest

    path = write_csv(tmp_path / "train.csv", tiny_texts(("neg", "pos"), per_class=20))
    digest = table_digest(path)
    write_csv(path, tiny_texts(("neg", "pos"), per_class=21))
    split, _, notes = load_test_split(DataConfig(source=str(path)), ["neg", "pos"], DataConfig(source=str(path)),
                                      trained_digest=digest)
    assert len(split) == 42 and any("has changed since the model was trained on it" in note for note in notes)


def test_an_unlabelled_text_file_with_a_byte_order_mark_reads_its_first_text_as_written(tmp_path):
    from seqsent.data.unlabelled import read_unlabelled_source

    path = tmp_path / "more.txt"
    path.write_bytes(b"\xef\xbb\xbfa review\n\nanother one\n")
    assert read_unlabelled_source(str(path)) == ["a review", "another one"]


def test_text_written_without_spaces_gets_a_note_saying_to_segment_it(tmp_path):
    import random

    rng = random.Random(0)
    characters = [chr(code) for code in range(0x4E00, 0x4E00 + 300)]

    def review() -> str:  # clauses of 6-14 characters, as Chinese is written: no spaces
        return "，".join("".join(rng.choices(characters, k=rng.randint(6, 14))) for _ in range(4)) + "。"

    rows = [(review(), "好" if i % 2 else "差") for i in range(60)]
    note = "must be segmented into words first"
    dataset = load(write_csv(tmp_path / "zh.csv", rows))
    assert any(note in n and "100% of the words occur once" in n for n in dataset.notes), dataset.notes
    spaced = [(" ".join(text), label) for text, label in rows]
    assert not any(note in n for n in load(write_csv(tmp_path / "spaced.csv", spaced)).notes)
    assert not any(note in n for n in load(write_csv(tmp_path / "en.csv", tiny_texts(per_class=30))).notes)


def test_unlabelled_bytes_that_are_not_utf8_are_counted_in_a_note_as_for_labelled_data(tmp_path):
    from seqsent.data.unlabelled import read_unlabelled_sources

    lines = tmp_path / "more.txt"
    lines.write_bytes(b"caf\xe9 was fine\nan ok film\n")
    table = tmp_path / "more.csv"
    table.write_bytes(b"text\nna\xefve but \xe9njoyable\n")
    texts, notes = read_unlabelled_sources([str(lines), str(table)], [])
    assert texts[0] == "caf\ufffd was fine" and len(texts) == 3
    assert f"--unlabelled {lines}: replaced 1 byte sequence(s) that were not UTF-8" in notes
    assert f"--unlabelled {table}: replaced 2 byte sequence(s) that were not UTF-8" in notes


def test_a_validation_split_of_few_examples_is_noted_and_a_larger_one_is_not(tmp_path):
    small = load(write_csv(tmp_path / "small.csv", tiny_texts(per_class=20)))
    assert any(note.startswith(f"the validation split holds {len(small.validation)} example(s): early stopping")
               for note in small.notes), small.notes
    large = load(write_csv(tmp_path / "large.csv", tiny_texts(per_class=200)))
    assert len(large.validation) >= 20 and not any("the validation split holds" in note for note in large.notes)


def test_many_classes_of_few_rows_raising_the_held_out_shares_is_noted(tmp_path):
    """One example of each class goes to test and to validation: with 40 classes of 3 rows that is a third each."""
    from seqsent.data import open_data

    rows = [(f"words of class {i % 40} number {i}", f"c{i % 40}") for i in range(120)]
    write_csv(tmp_path / "many.csv", rows)
    dataset = open_data(DataConfig(source=str(tmp_path / "many.csv"), test_fraction=0.1, validation_fraction=0.05))
    assert len(dataset.test) == 40 and len(dataset.validation) == 40
    assert ("--test-fraction 0.1 asks for 12 of 120 rows as test; 40 were held out, one or more of each of the 40 "
            "classes (stratified), leaving 80 to train on: give more rows per class") in dataset.notes
    assert any(note.startswith("--validation-fraction 0.05 asks for 4 of 80 rows as validation; 40 were held out")
               for note in dataset.notes)
    balanced = write_csv(tmp_path / "two.csv", [(f"text {i}", "ab"[i % 2]) for i in range(100)])
    assert not [note for note in open_data(DataConfig(source=str(balanced))).notes if "asks for" in note]


def test_a_single_class_left_after_skipping_missing_labels_says_what_was_skipped(tmp_path):
    """'nan' is a missing label: the rows holding it are not the second class the user may think they are."""
    from seqsent.data import open_data

    path = write_csv(tmp_path / "infnan.csv", [(f"text number {i}", ["inf", "nan"][i % 2]) for i in range(60)])
    with pytest.raises(DataError, match=re.escape("the training data has a single class ('inf'); need 2 or more "
                                                  "(infnan.csv: skipped 30 row(s): 30 with an empty or missing label")):
        open_data(DataConfig(source=str(path)))


def test_the_data_description_says_how_many_test_rows_limit_kept(tmp_path):
    dataset = load(write_csv(tmp_path / "d.csv", tiny_texts(per_class=40)), limit=20)
    assert len(dataset.test) == 20
    assert dataset.description.endswith(f"; --limit keeps 20 of its {round(120 * 0.2)} test rows")


def test_labels_are_encoded_against_class_names_written_decomposed_by_an_older_model():
    import unicodedata

    from seqsent.data.dataset import encode_labels

    decomposed = unicodedata.normalize("NFD", "caf\u00e9")
    assert encode_labels(["caf\u00e9", "other", decomposed], [decomposed, "other"], "test").tolist() == [0, 1, 0]
