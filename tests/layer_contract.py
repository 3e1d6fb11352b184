"""One contract every custom layer must keep, checked the same way for each (as Keras' LayerTest.run_layer_test
and keras-hub's TestCase.run_layer_test do).

Why: a layer can compute the right numbers when called once and still break the model that holds it.
A get_config that forgets an argument shows only when a saved model is loaded (a served model then
silently runs with a default); a compute_output_shape that disagrees with call hands the next layer a
wrong shape; a masked layer that reads padded steps makes a text's prediction depend on how long the
other texts of its batch are. Each step below is one of those failures; a new layer gets all of them
by adding one case to the parametrized test in tests/test_layers.py.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf


def check_layer_contract(layer_factory, inputs, *, tmp_path, mask=None, expected_output_shape=None,
                         input_shape=None, random_in_training=False):
    """Check the layer that `layer_factory()` makes against its contract, on `inputs`.

    inputs: what the layer's call takes first: an array, a tf.SparseTensor, or a list of arrays.
    mask: a boolean [batch, time] mask for a layer that supports masking; the masked steps of `inputs`
        are replaced by other values, which must not change the output.
    expected_output_shape: the concrete output shape; None entries match any size.
    input_shape: the shape (without batch) of the keras.Input of the saved model, with None for
        variable sizes, e.g. (None,) for token ids; the concrete shape of `inputs` if not given.
    random_in_training: the layer is random at training=True (then only shape and dtype are compared there).
    """
    layer = layer_factory()
    mask_kwargs = {} if mask is None else {"mask": mask}
    output = _numpy(layer(inputs, training=False, **mask_kwargs))
    assert layer.built

    # Shapes: compute_output_shape (what the next layer of a model is built for) agrees with call.
    _assert_shape_matches(layer.compute_output_shape(_shape(inputs)), output.shape, "compute_output_shape")
    if expected_output_shape is not None:
        _assert_shape_matches(expected_output_shape, output.shape, "expected_output_shape")

    # Masked steps do not count: other values there give the same output.
    if mask is not None:
        noise = np.random.default_rng(0).normal(scale=1e3, size=inputs.shape).astype(inputs.dtype)
        changed = np.where(np.expand_dims(mask, -1), inputs, noise)
        _assert_same(_numpy(layer(changed, training=False, mask=mask)), output, "other values at masked steps")

    # Training mode: same shape and dtype; a deterministic layer gives the same numbers.
    trained = _numpy(layer(inputs, training=True, **mask_kwargs))
    assert trained.shape == output.shape and trained.dtype == output.dtype
    if not random_in_training:
        _assert_same(trained, output, "training=True")

    # get_config -> from_config: the same layer (same config, and with the same weights the same output).
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    clone(inputs, training=False, **mask_kwargs)
    clone.set_weights(layer.get_weights())
    _assert_same(_numpy(clone(inputs, training=False, **mask_kwargs)), output, "from_config(get_config())")
    # A .keras file names the class by its registered name; that name must lead back to this class.
    registered_name = keras.saving.get_registered_name(type(layer))
    assert keras.saving.get_registered_object(registered_name) is type(layer), (
        f"{type(layer).__name__} is not registered (keras.saving.register_keras_serializable)")

    # Saved in a tiny functional model and loaded with safe_mode=True: same output, same weights.
    model_inputs = keras.tree.map_structure(lambda x: _keras_input(x, input_shape), inputs)
    if mask is not None:
        data_shape = input_shape if input_shape is not None else inputs.shape[1:]
        mask_input = keras.Input(shape=tuple(data_shape)[: mask.ndim - 1], dtype="bool")
        model = keras.Model([model_inputs, mask_input], layer(model_inputs, mask=mask_input))
        model_args = [inputs, mask]
    else:
        model = keras.Model(model_inputs, layer(model_inputs))
        model_args = inputs
    _assert_shape_matches(model.output.shape, output.shape, "symbolic output shape")
    _assert_same(_numpy(model(model_args, training=False)), output, "functional model")
    path = tmp_path / f"{layer.name}.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path, safe_mode=True)
    _assert_same(_numpy(reloaded(model_args, training=False)), output, "model reloaded from .keras")
    reloaded_layer = reloaded.get_layer(layer.name)
    assert type(reloaded_layer) is type(layer)
    assert reloaded_layer.get_config() == config
    assert len(reloaded_layer.weights) == len(layer.weights)
    for before, after in zip(layer.weights, reloaded_layer.weights):
        np.testing.assert_array_equal(after.numpy(), before.numpy(), err_msg=f"weight {before.path} reloaded")
    return output


def _numpy(x):
    return tf.sparse.to_dense(x).numpy() if isinstance(x, tf.SparseTensor) else keras.ops.convert_to_numpy(x)


def _shape(inputs):
    if isinstance(inputs, (list, tuple)):
        return [tuple(x.shape) for x in inputs]
    return tuple(inputs.shape)


def _keras_input(x, shape):
    dtype = x.dtype.name if isinstance(x, tf.SparseTensor) else str(x.dtype)
    return keras.Input(shape=tuple(shape if shape is not None else x.shape[1:]), dtype=dtype,
                       sparse=isinstance(x, tf.SparseTensor))


def _assert_shape_matches(declared, actual, what):
    declared = tuple(declared)
    assert len(declared) == len(actual) and all(d is None or d == a for d, a in zip(declared, actual)), (
        f"{what} {declared} does not match the output shape {tuple(actual)}")


def _assert_same(actual, expected, what):
    assert actual.dtype == expected.dtype, f"{what}: dtype {actual.dtype}, expected {expected.dtype}"
    np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-6, err_msg=what)
