"""Pretrained word vectors: word2vec text/binary and GloVe files, alignment to the vocabulary, frozen vs
trainable Embedding, `seqsent pretrain-embeddings` and `seqsent train --embeddings`, bad files as one line."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import numpy as np
import pytest

from seqsent_cli.main import main
from conftest import tiny_texts, write_csv
from seqsent.config import ModelConfig, RunConfig
from seqsent.models.pretrained_vectors import align_embeddings, load_vectors, sniff_format, vector_dimension
from seqsent.text import tokenize
from seqsent.errors import DataError, UsageError

VOCABULARY = ["", "[UNK]", "the", "film", "great", "awful", "zyzzyva"]  # TextVectorization order: padding, OOV, terms
VECTORS = {
    "the": [0.1, 0.2, 0.3],
    "film": [1.0, -1.0, 0.5],
    "Great": [2.0, 2.5, -3.0],  # matched to "great" by case
    "awful": [-2.0, 0.0, 4.0],
    "unused": [9.0, 9.0, 9.0],
}


def keyed_vectors(vectors=VECTORS):
    from gensim.models import KeyedVectors

    words = KeyedVectors(vector_size=3)
    words.add_vectors(list(vectors), np.array(list(vectors.values()), dtype=np.float32))
    return words


@pytest.fixture
def w2v_text(tmp_path) -> Path:
    path = tmp_path / "vectors.vec"
    keyed_vectors().save_word2vec_format(str(path), binary=False)
    return path


@pytest.fixture
def w2v_binary(tmp_path) -> Path:
    path = tmp_path / "vectors.bin"
    keyed_vectors().save_word2vec_format(str(path), binary=True)
    return path


@pytest.fixture
def glove(tmp_path) -> Path:
    path = tmp_path / "glove.txt"
    path.write_text("".join(f"{w} {' '.join(str(v) for v in vec)}\n" for w, vec in VECTORS.items()), encoding="utf-8")
    return path


# ---------------------------------------------------------------- reading the three formats


@pytest.mark.parametrize("fixture, kind", [("w2v_text", "word2vec-text"), ("w2v_binary", "word2vec-binary"),
                                           ("glove", "glove-text")])
def test_word2vec_text_binary_and_glove_files_load_the_same_vectors(fixture, kind, request):
    path = request.getfixturevalue(fixture)
    assert sniff_format(path) == (kind, 3)
    vectors = load_vectors(path)
    assert sorted(vectors) == sorted(VECTORS)
    for word, values in VECTORS.items():
        np.testing.assert_allclose(vectors[word], values, rtol=1e-6)


def test_a_binary_file_holding_more_than_its_header_announces_is_refused(w2v_binary):
    from seqsent.errors import DataError

    with open(w2v_binary, "ab") as handle:
        handle.write(b"extra " + np.ones(3, dtype="<f4").tobytes() + b"\n")
    with pytest.raises(DataError, match="more follows the 5 words its header announces"):
        load_vectors(w2v_binary)


@pytest.mark.parametrize("fixture", ["w2v_text", "glove", "w2v_binary"])
def test_a_file_starting_with_a_byte_order_mark_reads_as_without_it(fixture, request, tmp_path):
    path = request.getfixturevalue(fixture)
    marked = tmp_path / f"bom-{path.name}"
    marked.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert sniff_format(marked) == sniff_format(path)
    assert sorted(load_vectors(marked)) == sorted(VECTORS)


@pytest.mark.parametrize("header, fragment", [(b"5 2\n", "line 2 has 3 values; its header says 2"),
                                              (b"5 4\n", "line 2 has 3 values; its header says 4")])
def test_a_header_whose_dimension_disagrees_with_the_rows_says_so(glove, tmp_path, header, fragment):
    path = tmp_path / "wrong-header.vec"
    path.write_bytes(header + glove.read_bytes())
    with pytest.raises(DataError, match=fragment):
        load_vectors(path)


def test_a_glove_line_with_a_number_too_many_is_refused_not_read_as_a_word_with_spaces(glove):
    with open(glove, "a", encoding="utf-8") as handle:
        handle.write("extra 1 2 3 4\n")
    with pytest.raises(DataError, match="line 6 has 4 values; expected 3"):
        load_vectors(glove)


def test_glove_words_holding_spaces_are_read_not_rejected(tmp_path):
    path = tmp_path / "glove.txt"
    path.write_text("the 1 2\n. . . 3 4\nfilm 5 6\n", encoding="utf-8")
    assert sorted(load_vectors(path)) == [". . .", "film", "the"]


# ---------------------------------------------------------------- alignment


@pytest.mark.parametrize("fixture", ["w2v_text", "w2v_binary", "glove"])
def test_alignment_puts_each_words_vector_on_its_vocabulary_row(fixture, request):
    aligned = align_embeddings(request.getfixturevalue(fixture), VOCABULARY, dim=3, seed=5)
    matrix = aligned.matrix
    assert matrix.shape == (len(VOCABULARY), 3) and matrix.dtype == np.float32
    np.testing.assert_array_equal(matrix[0], 0.0)  # padding row
    for word in ("the", "film", "awful"):
        np.testing.assert_allclose(matrix[VOCABULARY.index(word)], VECTORS[word], rtol=1e-6)
    np.testing.assert_allclose(matrix[VOCABULARY.index("great")], VECTORS["Great"], rtol=1e-6)
    assert (aligned.found, aligned.terms) == (4, 5)
    assert "embeddings cover 80.0% of the vocabulary (4 of 5 words" in aligned.describe()


def test_oov_and_missing_words_get_small_seeded_random_rows(w2v_text):
    first = align_embeddings(w2v_text, VOCABULARY, seed=5).matrix
    again = align_embeddings(w2v_text, VOCABULARY, seed=5).matrix
    other = align_embeddings(w2v_text, VOCABULARY, seed=6).matrix
    for row in (VOCABULARY.index("[UNK]"), VOCABULARY.index("zyzzyva")):
        assert np.any(first[row] != 0)
        assert np.abs(first[row]).max() < 20  # the spread of the file's values, not arbitrary
        np.testing.assert_array_equal(first[row], again[row])
        assert np.any(first[row] != other[row])


def test_an_exact_match_wins_over_a_differently_cased_one(tmp_path):
    path = tmp_path / "cased.txt"
    path.write_text("Film 1 1\nfilm 2 2\nFILM 3 3\n", encoding="utf-8")
    matrix = align_embeddings(path, ["", "[UNK]", "film"]).matrix
    np.testing.assert_array_equal(matrix[2], [2, 2])


def test_an_embedding_dim_other_than_the_files_is_a_usage_error(w2v_text):
    with pytest.raises(UsageError, match="--embedding-dim 8 does not match the 3-dimensional vectors"):
        align_embeddings(w2v_text, VOCABULARY, dim=8)
    assert vector_dimension(w2v_text) == 3


def test_an_embedding_dim_given_equal_to_the_default_is_refused_by_a_file_of_another_dimension(w2v_text, tmp_path,
                                                                                             capsys):
    """`--embedding-dim 128` typed is chosen: a 3-dimensional file refuses it rather than replacing it."""
    from seqsent.models import adopt_pretrained_shapes

    with pytest.raises(UsageError, match="--embedding-dim 128 does not match the 3-dimensional vectors"):
        adopt_pretrained_shapes(ModelConfig(embeddings_path=str(w2v_text)), given={"model.embedding_dim"})
    left_out = ModelConfig(embeddings_path=str(w2v_text))
    assert adopt_pretrained_shapes(left_out) and left_out.embedding_dim == 3
    status, _, err = run_main(capsys, "train", "--output-dir", tmp_path / "m", "--runs-dir", tmp_path / "r",
                              "--embeddings", w2v_text, "--embedding-dim", 128)
    assert status == 2 and "--embedding-dim 128 does not match" in err and len(err.strip().splitlines()) == 1, err


# ---------------------------------------------------------------- the Embedding layer


def train_step(classifier, vocab_size):
    classifier.compile(optimizer="adam", loss="binary_crossentropy")
    ids = np.random.default_rng(0).integers(2, vocab_size, size=(8, 5))
    classifier.train_on_batch(ids, (np.arange(8) % 2).reshape(-1, 1).astype("float32"))


@pytest.mark.parametrize("freeze", [True, False])
def test_embedding_starts_from_the_file_and_stays_fixed_only_when_frozen(w2v_text, freeze):
    from seqsent.models import build_classifier, pretrained_embeddings

    config = ModelConfig(arch="gru", units=4, embedding_dim=3, embeddings_path=str(w2v_text), freeze_embeddings=freeze)
    vectors = pretrained_embeddings(config, VOCABULARY, seed=5)
    classifier = build_classifier(config, len(VOCABULARY), 2, seed=5, initial_embeddings=vectors.matrix)
    expected = align_embeddings(w2v_text, VOCABULARY, seed=5).matrix
    embedding = classifier.get_layer("embedding")
    np.testing.assert_array_equal(embedding.get_weights()[0], expected)
    assert "cover 80.0%" in vectors.describe()
    recurrent_before = classifier.get_layer("gru_1").get_weights()[0].copy()
    train_step(classifier, len(VOCABULARY))
    after = embedding.get_weights()[0]
    assert np.any(classifier.get_layer("gru_1").get_weights()[0] != recurrent_before)  # the step did train
    if freeze:
        np.testing.assert_array_equal(after, expected)
        assert not embedding.trainable_weights
    else:
        assert np.any(after != expected)
    # The matrix is weights, not configuration: the saved config stays small.
    assert len(json.dumps(classifier.get_config(), default=str)) < 20000


def test_pretrained_vectors_are_aligned_to_the_vocabulary_of_the_features(w2v_text):
    from seqsent.config import TextConfig
    from seqsent.models import build_classifier, build_features, pretrained_embeddings

    features = build_features("gru", TextConfig(max_tokens=50), ["the great film", "an awful film"])
    vocabulary = features.vocabulary
    config = ModelConfig(arch="gru", units=4, embedding_dim=3, embeddings_path=str(w2v_text))
    vectors = pretrained_embeddings(config, vocabulary, seed=1)
    classifier = build_classifier(config, len(vocabulary), 2, seed=1, initial_embeddings=vectors.matrix)
    matrix = classifier.get_layer("embedding").get_weights()[0]
    np.testing.assert_allclose(matrix[vocabulary.index("film")], VECTORS["film"], rtol=1e-6)


# ---------------------------------------------------------------- pretraining


def test_tokenize_matches_the_models_standardisation():
    assert list(tokenize(["A <br />GREAT film... isn't it?", ""])) == [["a", "great", "film", "isn", "t", "it"], []]


def test_pretrain_embeddings_cli_writes_a_loadable_file_from_train_and_unlabelled_text(tmp_path, capsys):
    rows = tiny_texts(("good", "bad"), per_class=15)
    data = write_csv(tmp_path / "reviews.csv", rows)
    extra = tmp_path / "more.txt"
    extra.write_text("An UNLABELLED <br />review of a Film.\n\nanother unlabelled review\n", encoding="utf-8")
    out = tmp_path / "sub" / "vectors.bin"
    with pytest.raises(SystemExit) as exit_info:
        main(["pretrain-embeddings", "--data", str(data), "--unlabelled", str(extra), "--output", str(out),
              "--format", "binary", "--dim", "8", "--min-count", "1", "--epochs", "1", "--workers", "1"])
    printed = capsys.readouterr().out
    assert exit_info.value.code == 0, printed
    assert "2 texts of" in printed and f"Wrote {out}" in printed
    kind, dim = sniff_format(out)
    assert (kind, dim) == ("word2vec-binary", 8)
    words = set(load_vectors(out))
    assert {"unlabelled", "film", "review", "great"} <= words  # lowercased, punctuation and <br /> gone
    assert not any(w in words for w in ("Film.", "br", "<br"))
    assert not list(out.parent.glob(".*"))  # no temporary file left behind


def test_unlabelled_reviews_are_read_from_an_archive_without_extracting(tmp_path):
    from seqsent.data.aclimdb import read_unlabelled

    archive = tmp_path / "aclImdb_v1.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        for name, text in [("aclImdb/train/unsup/1_0.txt", "second"), ("aclImdb/train/unsup/0_0.txt", "first"),
                           ("aclImdb/train/pos/0_9.txt", "labelled")]:
            info = tarfile.TarInfo(name)
            info.size = len(text)
            tar.addfile(info, io.BytesIO(text.encode()))
    assert read_unlabelled(archive) == ["first", "second"]
    for name in ("aclImdb/train/unsup/../unsup/0_0.txt", "../aclImdb/train/unsup/0_0.txt"):
        evil = tmp_path / "evil.tar.gz"
        with tarfile.open(evil, "w:gz") as tar:
            info = tarfile.TarInfo(name)
            info.size = 1
            tar.addfile(info, io.BytesIO(b"x"))
        with pytest.raises(DataError, match="unsafe member"):
            read_unlabelled(evil)
    assert not (tmp_path / "aclImdb").exists()


# ---------------------------------------------------------------- bad files and options: one line each


BAD_FILES = {
    "empty": b"",
    "header-only": b"3 4\n",
    "short-row": b"the 1 2 3\nfilm 1 2\n",
    "not-a-number": b"2 3\nthe 1 2 3\nfilm 1 x 3\n",
    "nan": b"the 1 2 nan\n",
    "truncated-binary": b"2 3\nthe " + np.zeros(3, "<f4").tobytes() + b"\nfilm " + b"\x00\x01",
    "garbage": bytes(range(256)) * 4,
    "no-word-matches": b"alpha 1 2 3\nbeta 4 5 6\n",
    "gzipped": __import__("gzip").compress(b"the 1 2 3\n"),
}


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_bad_vector_files_are_data_errors(name, tmp_path):
    path = tmp_path / f"{name}.vec"
    path.write_bytes(BAD_FILES[name])
    with pytest.raises(DataError) as info:
        align_embeddings(path, ["", "[UNK]", "the", "film"])
    assert "--embeddings" in str(info.value) and "\n" not in str(info.value)


def run_main(capsys, *args):
    with pytest.raises(SystemExit) as info:
        main([str(a) for a in args])
    out, err = capsys.readouterr()
    return info.value.code, out, err


@pytest.mark.parametrize("args, code, fragment", [
    (["--embeddings", "{missing}"], 2, "no such file"),
    (["--embeddings", "{bad}"], 1, "not a word2vec or GloVe file"),
    (["--embeddings", "{good}", "--embedding-dim", "8"], 2, "--embedding-dim 8 does not match"),
    (["--embeddings", "{good}", "--arch", "tfidf"], 2, "--embeddings goes with a recurrent --arch"),
    (["--freeze-embeddings"], 2, "--freeze-embeddings needs --embeddings"),
])
def test_train_with_bad_embeddings_options_is_one_error_line(args, code, fragment, tmp_path, capsys, w2v_text):
    bad = tmp_path / "bad.vec"
    bad.write_text("hello world\n", encoding="utf-8")
    paths = {"missing": tmp_path / "nope.vec", "bad": bad, "good": w2v_text}
    args = [a.format(**{k: str(v) for k, v in paths.items()}) for a in args]
    status, out, err = run_main(capsys, "train", "--output-dir", tmp_path / "m", "--runs-dir", tmp_path / "r", *args)
    assert status == code, err
    assert len(err.strip().splitlines()) == 1 and err.startswith("seqsent: error:") and fragment in err, err
    assert not (tmp_path / "m").exists()


def test_train_with_preset_config_file_flags_and_embeddings_through_the_cli(tmp_path, capsys, monkeypatch):
    """One tiny run: preset -> --config file -> flags; --embeddings sets the dimension; the export serves strings."""
    from seqsent.presets import PRESETS

    data = write_csv(tmp_path / "reviews.csv", tiny_texts(("good", "bad"), per_class=15))
    vectors = {w: list(np.random.default_rng(len(w)).normal(size=6)) for w in ["the", "film", "was", "great", "awful"]}
    path = tmp_path / "v.txt"  # GloVe: no header
    path.write_text("".join(f"{w} {' '.join(map(str, v))}\n" for w, v in vectors.items()), encoding="utf-8")
    config_file = tmp_path / "c.json"
    config_file.write_text(json.dumps({"model": {"units": 4}, "train": {"epochs": 3}}))
    monkeypatch.chdir(tmp_path)
    status, out, err = run_main(capsys, "train", "--preset", "imdb-best", "--config", config_file, "--data", data,
                                "--epochs", "1", "--max-tokens", "200", "--wide-buckets", "128", "--embeddings", path,
                                "--freeze-embeddings", "--quiet", "--name", "e")
    assert status == 0, err
    assert f"Embedding dim 6, the dimension of {path}" in out
    assert "Note: embeddings cover" in out and "GloVe text, 6 dimensions" in out
    saved = json.loads((tmp_path / "runs" / "e" / "1" / "config.json").read_text())
    for key, value in PRESETS["imdb-best"]["model"].items():
        assert saved["model"][key] == value  # from the preset
    assert saved["model"]["units"] == 4  # from the file
    assert saved["train"]["epochs"] == 1 and saved["text"]["max_tokens"] == 200  # flags win
    assert saved["model"]["wide_buckets"] == 128 and saved["model"]["embedding_dim"] == 6
    assert saved["model"]["freeze_embeddings"] is True
    from seqsent.serving.inference import load_model

    model = load_model(tmp_path / "saved_models" / "e" / "1")
    assert model.predict_proba(["a great film", ""]).shape == (2, 2)  # the export takes raw strings
    assert RunConfig.from_dict(saved).model.embeddings_path == str(path)


def test_few_labels_preset_reads_words_only_unlabelled_texts_have_through_their_vectors(tmp_path, capsys, monkeypatch):
    """Any table plus a text file: the export's vocabulary holds a word no labelled text has, its row is the
    file's vector (frozen), and the serving model reads it."""
    data = write_csv(tmp_path / "reviews.csv", tiny_texts(("good", "bad"), per_class=15))
    (tmp_path / "texts.txt").write_text("a splendiferous film\nsplendiferous and great\n", encoding="utf-8")
    vector = [0.5, -1.5, 2.0]
    (tmp_path / "v.txt").write_text(f"splendiferous {' '.join(map(str, vector))}\nfilm 1 1 1\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    status, out, err = run_main(capsys, "train", "--preset", "few-labels", "--data", data, "--unlabelled",
                                tmp_path / "texts.txt", "--embeddings", tmp_path / "v.txt", "--units", "4",
                                "--epochs", "1", "--quiet", "--name", "few")
    assert status == 0, err
    assert "and 2 unlabelled texts (--unlabelled-vocabulary)" in out
    import keras

    from seqsent.serving.inference import load_model
    from seqsent.serving.keras_copy import load_keras_copy

    text_model = load_keras_copy(tmp_path / "saved_models" / "few" / "1")
    vocabulary = text_model.get_layer("vectorizer").get_vocabulary()
    classifier = next(layer for layer in text_model.layers if isinstance(layer, keras.Model))
    row = classifier.get_layer("embedding").get_weights()[0][vocabulary.index("splendiferous")]
    np.testing.assert_allclose(row, vector, rtol=1e-6)
    assert load_model(tmp_path / "saved_models" / "few" / "1").predict_proba(["splendiferous", ""]).shape == (2, 2)


# ---------------------------------------------------------------- pretrain-embeddings: outputs and table options


def test_pretrain_embeddings_refuses_an_output_that_is_one_of_its_inputs(tmp_path, capsys):
    data = write_csv(tmp_path / "reviews.csv", tiny_texts(("good", "bad"), per_class=15))
    extra = tmp_path / "more.txt"
    extra.write_text("an unlabelled review\n", encoding="utf-8")
    before = data.read_bytes(), extra.read_bytes()
    for output in (data, tmp_path / "sub" / ".." / "more.txt"):
        status, out, err = run_main(capsys, "pretrain-embeddings", "--data", data, "--unlabelled", extra,
                                    "--output", output, "--overwrite", "--dim", "4", "--epochs", "1")
        assert status == 2 and len(err.strip().splitlines()) == 1 and "it is an input" in err, err
    assert (data.read_bytes(), extra.read_bytes()) == before


def test_pretrain_embeddings_replaces_an_existing_file_only_with_overwrite(tmp_path, capsys):
    data = write_csv(tmp_path / "reviews.csv", tiny_texts(("good", "bad"), per_class=15))
    out = tmp_path / "precious.vec"
    out.write_text("hand-made vectors\n", encoding="utf-8")
    args = ["pretrain-embeddings", "--data", data, "--output", out, "--dim", "4", "--epochs", "1", "--workers", "1"]
    status, _, err = run_main(capsys, *args)
    assert status == 2 and "already exists; choose another file or pass --overwrite" in err, err
    assert out.read_text(encoding="utf-8") == "hand-made vectors\n"
    status, _, err = run_main(capsys, *args, "--overwrite")
    assert status == 0, err
    assert sniff_format(out) == ("word2vec-text", 4)


def test_pretrain_embeddings_with_data_none_learns_from_a_text_only_table_alone(tmp_path, capsys):
    texts = write_csv(tmp_path / "texts.csv", [(text,) for text, _ in tiny_texts(("good", "bad"), per_class=15)],
                      header=("text",))
    out = tmp_path / "own.vec"
    args = ["pretrain-embeddings", "--data", "none", "--output", out, "--dim", "4", "--epochs", "1", "--workers", "1"]
    status, _, err = run_main(capsys, *args)
    assert status == 2 and err.strip() == ("seqsent: error: --data none learns from the --unlabelled texts only: give "
                                           "--unlabelled FILE"), err
    status, stdout, err = run_main(capsys, *args, "--unlabelled", texts)
    assert status == 0, err
    assert "IMDB" not in stdout and "30 texts of" in stdout, stdout  # the bundled sample is not mixed in
    assert "no test texts were known to leave out" in stdout
    assert sniff_format(out) == ("word2vec-text", 4)


def test_pretrain_embeddings_reads_a_table_with_other_column_names(tmp_path, capsys):
    data = write_csv(tmp_path / "reviews.csv", tiny_texts(("good", "bad"), per_class=15), header=("review", "sentiment"))
    out = tmp_path / "v.vec"
    status, _, err = run_main(capsys, "pretrain-embeddings", "--data", data, "--text-column", "review",
                              "--label-column", "sentiment", "--output", out, "--dim", "4", "--epochs", "1",
                              "--min-count", "1", "--workers", "1")
    assert status == 0, err
    assert {"film", "review"} <= set(load_vectors(out))


def test_pretrain_embeddings_with_no_word_reaching_min_count_is_one_error_line(tmp_path, capsys):
    data = write_csv(tmp_path / "reviews.csv", tiny_texts(("good", "bad"), per_class=15))
    out = tmp_path / "v.vec"
    status, _, err = run_main(capsys, "pretrain-embeddings", "--data", data, "--output", out, "--min-count", "100000",
                              "--dim", "4", "--epochs", "1", "--workers", "1")
    assert status == 1 and len(err.strip().splitlines()) == 1, err
    assert "no word occurs --min-count 100000 times or more in the 24 texts" in err, err
    assert not out.exists()


def test_pretraining_split_like_the_classifier_leaves_out_exactly_its_test_texts(tmp_path):
    from seqsent.config import DataConfig, WordVectorConfig
    from seqsent.data import load_dataset
    from seqsent.data.unlabelled import collect_texts

    path = write_csv(tmp_path / "reviews.csv", tiny_texts(("neg", "pos"), per_class=30))
    classifier_test = set(load_dataset(DataConfig(source=str(path), seed=7, test_fraction=0.3)).test.texts)
    split_alike = WordVectorConfig(data=str(path), split_seed=7, test_fraction=0.3).data_config()
    learned, _, _ = collect_texts(split_alike, [])
    assert len(learned) == 60 - len(classifier_test) and not classifier_test & set(learned)
    default_split, _, _ = collect_texts(WordVectorConfig(data=str(path)).data_config(), [])
    assert classifier_test & set(default_split)  # why the split options exist: the default split differs


def test_pretraining_split_options_are_checked(tmp_path):
    from seqsent.config import WordVectorConfig
    from seqsent.errors import UsageError

    with pytest.raises(UsageError, match="--test-fraction must be between 0 and 1"):
        WordVectorConfig(test_fraction=1.5).validate()
    with pytest.raises(UsageError, match="--split-seed must be between"):
        WordVectorConfig(split_seed=-1).validate()


def test_no_negative_samples_is_a_usage_error_not_gensims(tmp_path):
    """gensim needs negative samples (seqsent gives it no hierarchical softmax) and said so in a traceback."""
    from seqsent.config import WordVectorConfig
    from seqsent.errors import UsageError

    with pytest.raises(UsageError, match=r"--negative must be between 1 and 100 \(word2vec learns from its negative"):
        WordVectorConfig(negative=0).validate()


def test_train_refuses_vectors_pretrained_on_its_test_texts_and_accepts_those_split_alike(tmp_path, capsys):
    """pretrain-embeddings records (hashes of) the texts it learned from; train counts its test texts among them."""
    data = write_csv(tmp_path / "reviews.csv", tiny_texts(("neg", "pos"), per_class=30))
    common = ["--data", data, "--dim", "4", "--min-count", "1", "--epochs", "1", "--workers", "1"]
    for name, seed in (("other.vec", "7"), ("alike.vec", "1337")):
        status, _, err = run_main(capsys, "pretrain-embeddings", *common, "--split-seed", seed,
                                  "--output", tmp_path / name)
        assert status == 0, err
    train = ["train", "--data", data, "--arch", "gru", "--units", "2", "--epochs", "1", "--quiet",
             "--output-dir", tmp_path / "m", "--runs-dir", tmp_path / "r", "--embeddings"]
    status, _, err = run_main(capsys, *train, tmp_path / "other.vec")
    assert status == 1 and len(err.strip().splitlines()) == 1, err
    assert "was learned from" in err and "of this run's 12 test texts" in err and "--split-seed" in err
    assert not (tmp_path / "m").exists()
    status, _, err = run_main(capsys, *train, tmp_path / "alike.vec")
    assert status == 0, err


def test_streamed_train_refuses_vectors_pretrained_in_memory_and_takes_those_pretrained_streamed(tmp_path, capsys):
    """A table read into memory is split by label, streamed by hash: their test texts differ, and are checked."""
    data = write_csv(tmp_path / "reviews.csv", tiny_texts(("neg", "pos"), per_class=30))
    status, _, err = run_main(capsys, "pretrain-embeddings", "--data", data, "--dim", "4", "--min-count", "1",
                              "--epochs", "1", "--workers", "1", "--output", tmp_path / "v.vec")
    assert status == 0, err
    status, _, err = run_main(capsys, "train", "--data", data, "--streaming", "on", "--arch", "gru", "--units", "2",
                              "--epochs", "1", "--quiet", "--output-dir", tmp_path / "m", "--runs-dir", tmp_path / "r",
                              "--embeddings", tmp_path / "v.vec")
    assert status == 1 and len(err.strip().splitlines()) == 1, err
    assert "test texts (this same data, split otherwise)" in err and "split as this run is (--streaming on" in err
    assert not (tmp_path / "m").exists()
    status, _, err = run_main(capsys, "pretrain-embeddings", "--data", data, "--streaming", "on", "--dim", "4",
                              "--min-count", "1", "--epochs", "1", "--workers", "1", "--output", tmp_path / "v.vec",
                              "--overwrite")
    assert status == 0, err  # split by hash too: none of the streamed run's test texts learned from
    status, _, err = run_main(capsys, "train", "--data", data, "--streaming", "on", "--arch", "gru", "--units", "2",
                              "--epochs", "1", "--quiet", "--output-dir", tmp_path / "m", "--runs-dir", tmp_path / "r",
                              "--embeddings", tmp_path / "v.vec")
    assert status == 0 and "learned from" not in err, err


def test_an_encoder_without_its_record_of_learned_texts_is_noted_and_vectors_without_one_are_not(tmp_path):
    from seqsent.data.provenance import check_learned_test_texts

    data = write_csv(tmp_path / "reviews.csv", [("a fine film", "good")])
    encoder = tmp_path / "enc"
    encoder.mkdir()  # its texts.npz deleted, or copied without it
    vectors = tmp_path / "glove.txt"
    vectors.write_text("film 0.1 0.2\n", encoding="utf-8")  # GloVe: never had one
    notes = check_learned_test_texts(str(vectors), str(encoder), str(data), ["a fine film"])
    assert notes == [f"--encoder {encoder} has no texts.npz (pretrain-lm writes one): seqsent cannot check that it did "
                     "not learn from this run's test texts"]


def test_a_record_of_learned_texts_belongs_only_to_the_vector_file_it_names(tmp_path):
    from seqsent.files import sha256_of
    from seqsent.data.provenance import (LearnedTexts, check_learned_test_texts, read_record, text_fingerprints,
                                                vectors_record, write_record)

    data = write_csv(tmp_path / "reviews.csv", [("a fine film", "good")])
    vectors = tmp_path / "v.vec"
    vectors.write_text("1 2\nfilm 0.1 0.2\n", encoding="utf-8")
    learned = LearnedTexts(text_fingerprints(["A fine FILM.", "dull"]))  # from another corpus
    write_record(vectors_record(vectors), learned, sha256_of(vectors))
    notes = check_learned_test_texts(str(vectors), None, str(data), ["a fine film", "Dull!", "unseen"])
    assert len(notes) == 1 and "include 2 of the 3 test texts (not from this data file" in notes[0]  # as the model reads them
    vectors.write_text("1 2\nfilm 0.3 0.2\n", encoding="utf-8")  # replaced since: the record is another file's
    assert read_record("--embeddings", vectors).vectors_sha256 != sha256_of(vectors)  # names the file it was for
    assert check_learned_test_texts(str(vectors), None, str(data), ["a fine film"]) == []
    write_record(vectors_record(vectors), learned, sha256_of(vectors))
    link = tmp_path / "link.vec"
    link.symlink_to(vectors)  # the record lies beside the file the link names
    assert len(check_learned_test_texts(str(link), None, str(data), ["a fine film"])) == 1
    vectors_record(vectors).write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(DataError, match="is damaged"):
        check_learned_test_texts(str(vectors), None, str(data), ["a fine film"])
    np.savez(vectors_record(vectors), fingerprints=np.array(["a", "b"]), data_sha256=np.array(""),
             vectors_sha256=np.array(sha256_of(vectors)))  # the right keys, the wrong arrays
    with pytest.raises(DataError, match="is damaged"):
        check_learned_test_texts(str(vectors), None, str(data), ["a fine film"])


def test_compare_takes_the_vectors_dimension_and_refuses_vectors_learned_from_its_test_texts(tmp_path, capsys):
    data = write_csv(tmp_path / "reviews.csv", tiny_texts(("neg", "pos"), per_class=30))
    common = ["--data", data, "--dim", "4", "--min-count", "1", "--epochs", "1", "--workers", "1"]
    for name, seed in (("other.vec", "7"), ("alike.vec", "1337")):
        assert run_main(capsys, "pretrain-embeddings", *common, "--split-seed", seed, "--output", tmp_path / name)[0] == 0
    compare = ["compare", "--data", data, "--archs", "gru", "--units", "2", "--epochs", "1", "--quiet", "--embeddings"]
    status, _, err = run_main(capsys, *compare, tmp_path / "other.vec", "--output", tmp_path / "c1")
    assert status == 1 and len(err.strip().splitlines()) == 1 and "(this same data, split otherwise)" in err, err
    status, out, err = run_main(capsys, *compare, tmp_path / "alike.vec", "--output", tmp_path / "c2")
    assert status == 0, err  # no --embedding-dim: the file's 4 dimensions, as train takes them
    assert "Embedding dim 4, the dimension of" in out


def test_pretraining_data_none_refuses_test_data_it_cannot_split(tmp_path, capsys):
    texts = tmp_path / "texts.txt"
    texts.write_text("a fine film\n", encoding="utf-8")
    test = write_csv(tmp_path / "test.csv", [("a fine film", "good")])
    status, _, err = run_main(capsys, "pretrain-embeddings", "--data", "none", "--unlabelled", texts, "--test-data",
                              test, "--output", tmp_path / "v.vec")
    assert status == 2 and "--test-data goes with a table --data" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "v.vec").exists()


@pytest.mark.parametrize("flag, value", [("--test-fraction", "0.3"), ("--split-seed", "7"), ("--label-column", "y")])
def test_pretraining_data_none_refuses_split_and_label_options_it_would_ignore(tmp_path, capsys, flag, value):
    texts = tmp_path / "texts.txt"
    texts.write_text("a fine film\n", encoding="utf-8")
    status, _, err = run_main(capsys, "pretrain-embeddings", "--data", "none", "--unlabelled", texts, flag, value,
                              "--output", tmp_path / "v.vec")
    assert status == 2 and err.strip() == (f"seqsent: error: {flag} {value} goes with a table --data; --data none "
                                           "reads no data to split or label (leave it out)"), err
    assert not (tmp_path / "v.vec").exists()
