"""RunConfig: the one typed place for every setting (round trips, unknown keys, validation, arch shorthands)."""

from __future__ import annotations

import json
import re

import pytest

from seqsent.config import RECURRENT_ARCHS, ModelConfig, RunConfig, default_of
from seqsent.errors import DataError, ModelError, SeqsentError, UsageError


def custom_config() -> RunConfig:
    config = RunConfig(name="custom-run", output_dir="out", runs_dir="r")
    config.data.source = "reviews.csv"
    config.data.test_source = "test.csv"
    config.data.limit = 500
    config.data.seed = 7
    config.text.max_tokens = 321
    config.text.truncation = "post"
    config.model.arch = "bigru"
    config.model.layers = 2
    config.model.pooling = "last"
    config.model.head_units = 16
    config.train.epochs = 3
    config.train.learning_rate = 1e-4
    config.train.padding = "fixed"
    return config


def test_config_roundtrips_through_dict():
    config = custom_config()
    assert RunConfig.from_dict(config.to_dict()) == config


def test_config_roundtrips_through_json_text():
    config = custom_config()
    restored = RunConfig.from_dict(json.loads(config.to_json()))
    assert restored == config
    assert restored.model.arch == "bigru" and restored.data.limit == 500


def test_partial_dict_keeps_defaults_for_missing_keys():
    config = RunConfig.from_dict({"name": "x", "model": {"units": 8}})
    assert config.model.units == 8
    assert config.model.arch == ModelConfig().arch
    assert config.train == RunConfig().train


def test_unknown_top_level_key_is_rejected_with_usage_error():
    with pytest.raises(UsageError, match="bogus"):
        RunConfig.from_dict({"name": "x", "bogus": 1})


def test_unknown_section_key_is_rejected_with_usage_error():
    with pytest.raises(UsageError, match="model.*unitz|unitz.*model"):
        RunConfig.from_dict({"model": {"unitz": 3}})


def test_section_that_is_not_a_mapping_is_rejected():
    with pytest.raises(UsageError, match="train"):
        RunConfig.from_dict({"train": [1, 2]})


def test_default_config_validates():
    config = RunConfig()
    assert config.validate() is config


@pytest.mark.parametrize("section, field, value", [
    ("data", "limit", 10),
    ("model", "dropout", 0.0),
    ("model", "head_units", 0),
    ("train", "clipnorm", 0.0),
    ("train", "patience", 0),
    ("text", "max_tokens", 3),
])
def test_boundary_values_are_accepted(section, field, value):
    config = RunConfig()
    setattr(getattr(config, section), field, value)
    config.validate()


@pytest.mark.parametrize("section, field, value, message", [
    ("model", "arch", "transformer", "--arch"),
    ("model", "pooling", "attention", "--pooling"),
    ("model", "layers", 0, "--layers"),
    ("model", "units", 0, "--units"),
    ("model", "embedding_dim", 0, "--embedding-dim"),
    ("model", "head_units", -1, "--head-units"),
    ("model", "dropout", 1.0, "dropout"),
    ("model", "embedding_dropout", -0.1, "dropout"),
    ("model", "head_dropout", 1.5, "dropout"),
    ("text", "max_tokens", 2, "--max-tokens"),
    ("text", "sequence_length", 0, "--sequence-length"),
    ("text", "truncation", "middle", "--truncation"),
    ("data", "validation_fraction", 0.0, "--validation-fraction"),
    ("data", "validation_fraction", 1.0, "--validation-fraction"),
    ("data", "test_fraction", 0.0, "--test-fraction"),
    ("data", "limit", 9, "--limit"),
    ("train", "epochs", 0, "--epochs"),
    ("train", "batch_size", 0, "--batch-size"),
    ("train", "learning_rate", 0.0, "--learning-rate"),
    ("train", "clipnorm", -1.0, "--clipnorm"),
    ("train", "patience", -1, "--patience"),
    ("train", "strategy", "horovod", "--strategy"),
    ("train", "padding", "none", "--padding"),
    (None, "name", "../escape", "--name"),
    (None, "name", "..", "--name"),
    (None, "name", "a/b", "--name"),
    (None, "name", "a b", "--name"),
    (None, "name", ".hidden", "--name"),
    (None, "name", "-m", "--name"),
    (None, "name", "a" * 129, "--name"),
])
def test_validate_rejects_out_of_range_values_with_usage_error(section, field, value, message):
    config = RunConfig()
    setattr(getattr(config, section) if section else config, field, value)
    with pytest.raises(UsageError) as excinfo:
        config.validate()
    assert message in str(excinfo.value)


def test_config_value_of_wrong_type_is_rejected_with_usage_error():
    with pytest.raises(UsageError, match="model.units must be int"):
        RunConfig.from_dict({"model": {"units": "64"}})


def test_config_accepts_int_where_float_is_expected_and_null_for_optional():
    config = RunConfig.from_dict({"train": {"learning_rate": 1}, "data": {"limit": None}})
    assert config.train.learning_rate == 1 and config.data.limit is None


@pytest.mark.parametrize("arch, cell, bidirectional", [
    ("rnn", "rnn", False), ("lstm", "lstm", False), ("gru", "gru", False),
    ("birnn", "rnn", True), ("bilstm", "lstm", True), ("bigru", "gru", True),
])
def test_arch_shorthand_maps_to_cell_and_direction(arch, cell, bidirectional):
    config = ModelConfig(arch=arch)
    assert (config.cell, config.bidirectional) == (cell, bidirectional)
    assert RECURRENT_ARCHS[arch] == (cell, bidirectional)


def test_default_of_reads_dataclass_defaults():
    assert default_of("model", "arch") == RunConfig().model.arch
    assert default_of("text", "max_tokens") == RunConfig().text.max_tokens
    with pytest.raises(KeyError):
        default_of("model", "nonexistent")


def test_error_types_carry_cli_exit_codes():
    assert UsageError.exit_code == 2
    assert DataError.exit_code == ModelError.exit_code == 1
    assert all(issubclass(e, SeqsentError) for e in (UsageError, DataError, ModelError))


def test_empty_name_resolves_to_data_and_arch():
    config = RunConfig.from_dict({"data": {"source": "reviews.csv"}, "model": {"arch": "gru"}}).validate()
    assert config.name == "reviews-gru"
    assert RunConfig().validate().name == "imdb-bilstm"


def _noted(config, given=()) -> dict[str, str]:
    from seqsent.config import ignored_settings

    return dict(ignored_settings(config, given))


def test_sequence_settings_a_bag_of_words_arch_ignores_are_noted():
    config = RunConfig()
    config.model.arch, config.model.units, config.text.sequence_length = "nbsvm", 128, 50
    noted = _noted(config)
    assert set(noted) == {"model.units", "text.sequence_length"}
    assert noted["model.units"] == ("--units 128 has no effect: a bag-of-words arch has no word vectors, "
                                    "recurrent layers or word order")


def test_a_setting_typed_at_its_default_is_noted_and_one_left_alone_is_not():
    config = RunConfig()
    config.model.arch = "bow"
    assert set(_noted(config, given={"model.layers"})) == {"model.layers"}
    assert _noted(config) == {}


def test_head_dropout_of_a_baseline_is_noted_only_without_a_head_layer():
    config = RunConfig()
    config.model.arch, config.model.head_dropout = "tfidf", 0.5
    assert "model.head_dropout" in _noted(config)
    config.model.head_units = 8
    assert "model.head_dropout" not in _noted(config)


def test_options_of_training_not_asked_for_are_noted():
    config = RunConfig()
    config.model.arch = "bigru"
    config.semi.vat_epsilon, config.semi.adversarial_epsilon = 2.0, 3.0
    config.model.wide_buckets, config.model.wide_dropout, config.model.wide_epochs = 1000, 0.1, 5
    assert set(_noted(config)) == {"semi.vat_epsilon", "semi.adversarial_epsilon", "model.wide_buckets",
                                   "model.wide_dropout", "model.wide_epochs"}
    config.semi.vat, config.semi.adversarial, config.semi.unlabelled = True, True, ["u.txt"]
    config.model.wide_ngrams = 2
    assert set(_noted(config)) == {"model.wide_epochs"}  # a joint wide branch trains for --epochs
    config.model.wide_training = "separate"
    assert set(_noted(config)) == {"model.wide_dropout"}  # the separate NBSVM has no dropout


def test_pretrained_rate_is_noted_when_the_only_pretrained_layer_is_frozen():
    config = RunConfig()
    config.model.arch, config.model.embeddings_path, config.train.pretrained_rate = "bigru", "v.vec", 0.5
    assert "train.pretrained_rate" not in _noted(config)
    config.model.freeze_embeddings = True
    assert "--freeze-embeddings" in _noted(config)["train.pretrained_rate"]


def test_a_recurrent_run_of_the_defaults_notes_nothing():
    assert _noted(RunConfig()) == {}


@pytest.mark.parametrize("section, field, value, fragment", [
    ("model", "units", "8", "config key model.units must be int, not str ('8')"),
    ("train", "epochs", 1.5, "config key train.epochs must be int, not float (1.5)"),
    ("model", "units", True, "config key model.units must be int, not bool (True)"),
    ("data", "source", None, "config key data.source must be str, not NoneType (None)"),
    (None, "model", {"arch": "gru"}, "config section model must be a seqsent.config.ModelConfig, not dict"),
])
def test_a_config_built_in_python_with_wrong_types_is_a_usage_error_naming_the_key(section, field, value, fragment):
    config = RunConfig()
    setattr(getattr(config, section) if section else config, field, value)
    with pytest.raises(UsageError, match=re.escape(fragment)):
        config.validate()


def test_paths_numpy_numbers_and_tuples_in_a_python_config_are_taken_as_plain_values(tmp_path):
    import numpy as np

    config = RunConfig(output_dir=tmp_path / "models")
    config.model.units, config.train.learning_rate, config.data.classes = np.int64(8), np.float32(0.01), ("a", "b")
    config.validate()
    assert config.output_dir == str(tmp_path / "models") and type(config.model.units) is int
    assert config.data.classes == ["a", "b"] and isinstance(config.train.learning_rate, float)


def test_a_whole_number_where_a_float_is_expected_becomes_that_float():
    config = RunConfig()
    config.train.learning_rate, config.model.dropout = 1, 0  # Keras refuses an int learning rate
    config.validate()
    assert type(config.train.learning_rate) is float and config.train.learning_rate == 1.0
    assert type(config.model.dropout) is float and type(config.model.units) is int


@pytest.mark.parametrize("field, value, fragment", [
    ("units", "8", "config key units must be int, not str ('8')"),
    ("epochs", 1.0, "config key epochs must be int, not float (1.0)"),
    ("unlabelled", "texts.txt", "config key unlabelled must be a list of str, not str ('texts.txt')"),
    ("layers", 0, "--layers must be between 1 and 64, not 0"),  # not the bidirectional stack's error
])
def test_pretraining_configs_built_in_python_are_type_checked_like_a_run_config(field, value, fragment):
    from seqsent.config import LanguageModelConfig, WordVectorConfig

    config = LanguageModelConfig()
    setattr(config, field, value)
    with pytest.raises(UsageError, match=re.escape(fragment)):
        config.validate()
    vectors = WordVectorConfig()
    vectors.dim = "100"
    with pytest.raises(UsageError, match=re.escape("config key dim must be int, not str ('100')")):
        vectors.validate()


def test_train_leaves_the_callers_config_as_given(monkeypatch):
    import seqsent.api as api

    class Prepared(Exception):
        pass

    def prepare_config(copy, *_):
        raise Prepared(copy)

    config = RunConfig()
    monkeypatch.setattr(api, "prepare_config", prepare_config)
    with pytest.raises(Prepared) as stopped:
        api.train(config)
    assert stopped.value.args[0] is not config and stopped.value.args[0] == config


def test_a_mistyped_setting_is_refused_not_set_and_never_read():
    from seqsent.config import LanguageModelConfig

    config = RunConfig()
    with pytest.raises(AttributeError, match="ModelConfig has no setting 'unit' \\(did you mean 'units'\\?\\)"):
        config.model.unit = 8
    with pytest.raises(AttributeError, match="LanguageModelConfig has no setting 'epoch'"):
        LanguageModelConfig().epoch = 3
    config.model.units = 8
    assert config.model.units == 8
