"""`--data imdb`: offline first, a local archive next, and a quick clear error when neither is there."""

from __future__ import annotations

import time

import pytest

from seqsent.config import DataConfig
from seqsent.data import load_dataset
from seqsent.errors import DataError
from test_data import EXPECTED_ACL, acl_members, labelled, make_tar


@pytest.fixture
def no_prepared_tfds(monkeypatch, tmp_path):
    """An empty HOME: no ~/tensorflow_datasets, no ~/.keras/datasets, nothing in the working directory."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TFDS_DATA_DIR", str(tmp_path / "home" / "tensorflow_datasets"))
    monkeypatch.delenv("SEQSENT_IMDB_ARCHIVE", raising=False)
    workdir = tmp_path / "work" / "project"
    workdir.mkdir(parents=True)
    monkeypatch.chdir(workdir)
    return tmp_path


def test_imdb_reads_the_archive_named_by_the_environment(no_prepared_tfds, monkeypatch):
    archive = make_tar(no_prepared_tfds / "aclImdb_v1.tar.gz", acl_members())
    monkeypatch.setenv("SEQSENT_IMDB_ARCHIVE", str(archive))
    dataset = load_dataset(DataConfig(source="imdb", validation_fraction=0.2))
    assert labelled(dataset) == EXPECTED_ACL
    assert "local archive" in dataset.description


def test_imdb_finds_the_archive_in_the_keras_datasets_cache(no_prepared_tfds):
    cache = no_prepared_tfds / "home" / ".keras" / "datasets"
    cache.mkdir(parents=True)
    make_tar(cache / "aclImdb_v1.tar.gz", acl_members())
    dataset = load_dataset(DataConfig(source="imdb", validation_fraction=0.2))
    assert labelled(dataset) == EXPECTED_ACL


def test_imdb_without_local_copy_or_network_fails_fast_with_a_hint(no_prepared_tfds, monkeypatch):
    import seqsent.data.tfds_imdb as tfds_imdb

    # The machine may or may not resolve names; this test is about the offline case.
    monkeypatch.setattr(tfds_imdb, "_host_resolves", lambda host, timeout: False)
    started = time.perf_counter()
    with pytest.raises(DataError, match="SEQSENT_IMDB_ARCHIVE"):
        load_dataset(DataConfig(source="imdb"))
    assert time.perf_counter() - started < 30


def test_dns_lookup_is_bounded_by_its_timeout(monkeypatch):
    import socket

    import seqsent.data.tfds_imdb as tfds_imdb

    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: time.sleep(5))
    started = time.perf_counter()
    assert tfds_imdb._host_resolves("example.invalid", timeout=0.2) is False
    assert time.perf_counter() - started < 2


def test_imdb_through_tensorflow_datasets_says_its_validation_split_is_random(monkeypatch):
    """imdb_reviews has no movie ids: a random validation split shares movies with train, and the user is told."""
    import seqsent.data.tfds_imdb as tfds_imdb

    texts = [f"review {i} of a film, {'great' if i % 2 else 'awful'}" for i in range(40)]
    labels = ["pos" if i % 2 else "neg" for i in range(40)]
    prepared = {"train": (texts, labels), "test": (texts[:10], labels[:10])}
    monkeypatch.setattr(tfds_imdb, "_read_prepared", lambda data_dir: prepared)
    dataset = load_dataset(DataConfig(source="imdb", validation_fraction=0.2))
    assert dataset.validation_split == "stratified by label"
    assert any("random split" in note and "no movie ids" in note for note in dataset.notes)



def test_an_unfinished_tensorflow_datasets_copy_is_passed_over_without_absl_warnings(tmp_path, caplog):
    """TFDS warns through absl of a variant folder without dataset_info.json: not a prepared copy, said to nobody."""
    import logging

    from seqsent.data import tfds_imdb

    (tmp_path / "imdb_reviews" / "plain_text" / "1.0.0").mkdir(parents=True)
    with caplog.at_level(logging.WARNING):
        assert tfds_imdb._read_prepared(str(tmp_path)) is None
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING], caplog.text
