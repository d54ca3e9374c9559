"""The shared test harness for every layer and loss, in the spirit of keras-hub's `run_layer_test`.

`check_layer` and `check_loss` run the checks every public Keras object of the zoo must pass, on the
current backend, so that a layer or loss test file only holds what is particular to it (float64
references, identities, edge cases):

- `check_layer(layer, inputs)`: build and call, finite outputs of the expected shape; `get_config` /
  `from_config` round trip; a functional model holding the layer survives a `.keras` round trip with
  identical outputs; the output dtype under the `mixed_float16` policy; finite gradients with respect to
  the float inputs and every trainable weight; one training step of `model.fit` with finite results that
  moves the trainable weights.
- `check_loss(loss, y_true, y_pred)`: a finite scalar (equal to `expected` when given); serialise /
  deserialise round trip with the same config and value; a finite gradient with respect to `y_pred`;
  float16 scores give a finite float32 loss; one `model.fit` step of a tiny model in front of the loss.

Example:
    >>> from tests.harness import check_layer, check_loss
    >>> check_layer(zoo.layers.CosineHead(5), np.random.normal(size=(4, 3)).astype("float32"),
    ...             expected_shape=(4, 5))
    >>> check_loss(zoo.losses.ArcFaceLoss(), np.array([0, 2]), cos_theta)
"""

from __future__ import annotations

import json
import os
import tempfile

import keras
import numpy as np
from keras import ops

from tests.helpers import assert_all_finite, to_numpy, value_and_grad

__all__ = ["check_layer", "check_loss", "Shift"]


# --- small utilities ---------------------------------------------------------------------------------


def _as_list(inputs):
    return list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]


def _is_float(a):
    return np.issubdtype(np.asarray(a).dtype, np.floating)


def _flat_outputs(out):
    if isinstance(out, dict):
        return [out[k] for k in sorted(out)]
    if isinstance(out, (list, tuple)):
        return list(out)
    return [out]


def _config_text(config):
    return json.dumps(config, sort_keys=True, default=repr)


def _call(layer, arrays, multi):
    return layer(arrays if multi else arrays[0])


def _functional_model(layer, arrays, multi):
    inputs = [keras.Input(shape=a.shape[1:], dtype=str(a.dtype), batch_size=None) for a in arrays]
    out = layer(inputs if multi else inputs[0])
    return keras.Model(inputs if multi else inputs[0], out)


def _default_fit_loss(y_true, y_pred):
    return ops.mean(ops.square(ops.cast(y_pred, "float32")))


def _without_dtype(config):
    config = dict(config)
    config.pop("dtype", None)
    return config


# --- layers ------------------------------------------------------------------------------------------


def check_layer(layer, inputs, *, expected_shape=None, mixed_precision="float32", fit=True, loss=None,
                expect_update=True, rtol=1e-5, atol=1e-5, custom_objects=None):
    """Run the checks every zoo layer must pass; returns the layer's outputs (numpy, a list if several).

    Args:
        layer: an unbuilt layer instance (a fresh object: the harness builds and calls it).
        inputs: one array or a list of arrays (batch first). Integer arrays are labels: passed through,
            never differentiated. A list is passed to the layer as a list.
        expected_shape: the output shape (a tuple; a list of tuples for several outputs), or None.
        mixed_precision: "float32" (a layer of the zoo that computes in float32 under `mixed_float16`),
            "policy" (outputs follow the policy; only finiteness is checked), or None (skip).
        fit: run one `model.fit` step.
        loss: the loss for that step, `loss(y_true, y_pred)` (default: mean of the squared output).
        expect_update: the fit step must change at least one trainable weight (when there are any).
        rtol, atol: tolerance of the `.keras` and config round trips.
        custom_objects: passed to `keras.saving.load_model` (objects registered with keras need none).
    """
    arrays = [np.asarray(a) for a in _as_list(inputs)]
    multi = isinstance(inputs, (list, tuple))
    name = type(layer).__name__

    # 1. build + call: finite outputs of the expected shape.
    out = _flat_outputs(_call(layer, arrays, multi))
    out_np = [to_numpy(o) for o in out]
    assert_all_finite(*[o for o in out_np if _is_float(o)], what=f"{name} outputs")
    if expected_shape is not None:
        shapes = expected_shape if isinstance(expected_shape, list) else [expected_shape]
        assert [tuple(o.shape) for o in out_np] == [tuple(s) for s in shapes], (
            f"{name}: output shapes {[o.shape for o in out_np]} != expected {shapes}")

    # 2. get_config / from_config round trip: same config, and (with the weights copied) same outputs.
    config = layer.get_config()
    json.dumps(config, default=repr)  # the config must be serialisable
    clone = type(layer).from_config(config)
    assert _config_text(clone.get_config()) == _config_text(config), f"{name}: from_config changed the config"
    clone_out = _flat_outputs(_call(clone, arrays, multi))
    if layer.weights:
        clone.set_weights(layer.get_weights())
        clone_out = _flat_outputs(_call(clone, arrays, multi))
    for a, b in zip(out_np, clone_out):
        np.testing.assert_allclose(to_numpy(b), a, rtol=rtol, atol=atol, err_msg=f"{name}: from_config outputs")

    # 3. `.keras` round trip of a functional model holding a fresh copy of the layer.
    model = _functional_model(type(layer).from_config(config), arrays, multi)
    feed = arrays if multi else arrays[0]
    before = [to_numpy(o) for o in _flat_outputs(model(feed))]
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        model.save(path)
        loaded = keras.saving.load_model(path, custom_objects=custom_objects)
    after = [to_numpy(o) for o in _flat_outputs(loaded(feed))]
    for a, b in zip(before, after):
        np.testing.assert_allclose(b, a, rtol=rtol, atol=atol, err_msg=f"{name}: .keras round trip outputs")

    # 4. dtype under mixed precision.
    if mixed_precision:
        previous = keras.config.dtype_policy()
        keras.config.set_dtype_policy("mixed_float16")
        try:
            mp_layer = type(layer).from_config(_without_dtype(config))
            mp_arrays = [a.astype("float16") if _is_float(a) else a for a in arrays]
            mp_out = [to_numpy(o) for o in _flat_outputs(_call(mp_layer, mp_arrays, multi))]
            assert_all_finite(*[o for o in mp_out if _is_float(o)], what=f"{name} outputs (mixed_float16)")
            if mixed_precision == "float32":
                dtypes = [keras.backend.standardize_dtype(o.dtype) for o in
                          _flat_outputs(_call(mp_layer, mp_arrays, multi)) if _is_float(to_numpy(o))]
                assert all(d == "float32" for d in dtypes), f"{name}: outputs {dtypes} under mixed_float16"
        finally:
            keras.config.set_dtype_policy(previous)

    # 5. finite gradients w.r.t. the float inputs and the trainable weights.
    float_idx = [i for i, a in enumerate(arrays) if _is_float(a)]
    trainable = layer.trainable_variables
    non_trainable = layer.non_trainable_variables
    rng = np.random.default_rng(0)
    probes = [rng.normal(size=o.shape).astype("float32") for o in out_np]

    def scalar(*args):
        xs = list(arrays)
        for i, a in zip(float_idx, args[:len(float_idx)]):
            xs[i] = a
        weights = list(args[len(float_idx):])
        outs, _ = layer.stateless_call(weights, [v.value for v in non_trainable], xs if multi else xs[0])
        total = 0.0
        for o, p in zip(_flat_outputs(outs), probes):
            if "float" in str(o.dtype):
                total = total + ops.sum(ops.cast(o, "float32") * ops.convert_to_tensor(p))
        return total

    value, grads = value_and_grad(scalar, *[arrays[i] for i in float_idx], *[to_numpy(v) for v in trainable])
    assert_all_finite(value, *grads, what=f"{name} gradients")

    # 6. one training step.
    if fit:
        model = _functional_model(type(layer).from_config(config), arrays, multi)
        model.compile(optimizer=keras.optimizers.SGD(1e-2), loss=loss or _default_fit_loss)
        targets = out_np[0] if len(out_np) == 1 else out_np
        start = [to_numpy(v).copy() for v in model.trainable_variables]
        history = model.fit(feed, targets, batch_size=len(arrays[0]), epochs=1, verbose=0)
        assert np.isfinite(history.history["loss"][0]), f"{name}: fit loss {history.history['loss']}"
        end = [to_numpy(v) for v in model.trainable_variables]
        assert_all_finite(*end, what=f"{name} weights after fit")
        if expect_update and start:
            assert any(not np.array_equal(a, b) for a, b in zip(start, end)), f"{name}: fit moved no weight"

    return out_np[0] if len(out_np) == 1 else out_np


# --- losses ------------------------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="zoo_tests")
class Shift(keras.layers.Layer):
    """x + b with b initialised to 0: a trainable identity in front of a loss (used by `check_loss`)."""

    def build(self, input_shape):
        self.b = self.add_weight(shape=(input_shape[-1],), initializer="zeros", name="b")

    def call(self, x):
        return x + ops.cast(self.b, x.dtype)


def check_loss(loss, y_true, y_pred, *, expected=None, rtol=1e-5, atol=1e-6, mixed_precision=True, fit=True,
               lr=1e-3):
    """Run the checks every zoo loss must pass; returns the loss value (float).

    Args:
        loss: a `keras.losses.Loss` instance.
        y_true: labels (numpy).
        y_pred: scores of the head the loss belongs to (numpy float32), `[B, ...]`.
        expected: the value the loss must equal (e.g. from a float64 reference), or None.
        rtol, atol: tolerance for `expected` and the round trip.
        mixed_precision: float16 scores must give a finite float32 loss.
        fit: run one `model.fit` step of `Shift` (x + b) in front of the loss.
        lr: learning rate of that step (small: packed columns keep their meaning).
    """
    name = type(loss).__name__
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred, dtype="float32")

    value = to_numpy(loss(y_true, y_pred))
    assert value.shape == (), f"{name}: the reduced loss has shape {value.shape}"
    assert np.isfinite(value), f"{name}: loss {value}"
    if expected is not None:
        np.testing.assert_allclose(value, expected, rtol=rtol, atol=atol, err_msg=f"{name} value")

    copy = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert type(copy) is type(loss), f"{name}: deserialised as {type(copy).__name__}"
    assert _config_text(copy.get_config()) == _config_text(loss.get_config()), f"{name}: config round trip"
    np.testing.assert_allclose(to_numpy(copy(y_true, y_pred)), value, rtol=rtol, atol=atol,
                               err_msg=f"{name}: value after the round trip")

    grad_value, (g,) = value_and_grad(lambda p: loss(y_true, p), y_pred)
    assert_all_finite(grad_value, g, what=f"{name} gradient")

    if mixed_precision:
        half = loss(y_true, y_pred.astype("float16"))
        assert keras.backend.standardize_dtype(half.dtype) == "float32", f"{name}: {half.dtype} on float16 scores"
        assert np.isfinite(to_numpy(half)), f"{name}: loss on float16 scores"

    if fit:
        inp = keras.Input(shape=y_pred.shape[1:])
        model = keras.Model(inp, Shift()(inp))
        model.compile(optimizer=keras.optimizers.SGD(lr), loss=loss)
        history = model.fit(y_pred, y_true, batch_size=len(y_pred), epochs=1, verbose=0)
        assert np.isfinite(history.history["loss"][0]), f"{name}: fit loss {history.history['loss']}"
        assert_all_finite(*[to_numpy(v) for v in model.trainable_variables], what=f"{name} weights after fit")

    return float(value)
