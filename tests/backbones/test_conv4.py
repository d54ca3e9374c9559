"""Conv-4 backbone: hyptorch variant (global max-pool over embedding_dim channels) and ProtoNet flatten."""


import keras
import numpy as np
import pytest

import zoo.backbones
from tests.backbones.test_support import quick, shapes_only
from tests.helpers import roundtrip

DIM = 4
FILTERS = 8   # the config of the registry tests (dim != filters): kernels already compiled on JAX
_CACHE = {}


def _any_size_model():
    """One small hyptorch Conv-4 (filters 8, dim 4) shared by the tests that run it."""
    if "model" not in _CACHE:
        _CACHE["model"] = quick(lambda: zoo.backbones.get("conv4", (None, None, 1), DIM, filters=FILTERS))
    return _CACHE["model"]


def test_hyptorch_output_is_global_max_of_last_block():
    model = _any_size_model()
    block4 = model.get_layer("block4_pool")
    assert block4.output.shape[-1] == DIM
    assert model.get_layer("block3_conv").filters == FILTERS
    assert model.layers[-1].name == "global_max_pool"
    sub = keras.Model(model.input, block4.output)
    x = np.random.rand(3, 32, 32, 1).astype("float32")
    feature_map = keras.ops.convert_to_numpy(sub(x, training=False))
    assert feature_map.shape == (3, 2, 2, DIM)                  # 32 -> 16 -> 8 -> 4 -> 2
    z = keras.ops.convert_to_numpy(model(x, training=False))
    assert z.shape == (3, DIM)
    np.testing.assert_allclose(z, feature_map.max(axis=(1, 2)), rtol=1e-6, atol=1e-6)
    assert not np.allclose(z, feature_map[:, 0, 0])             # the max really is over positions
    assert (z >= 0).all()                                       # a max of ReLU outputs


def test_hyptorch_accepts_any_size():
    model = _any_size_model()
    for size in (16, 32):
        y = model(np.zeros((1, size, size, 1), "float32"), training=False)
        assert tuple(y.shape) == (1, DIM)


def test_roundtrip_identical_predictions():
    model = _any_size_model()
    loaded = roundtrip(model)
    # Compared eagerly rather than with predict(): on JAX each predict() is a fresh XLA compile.
    x = np.random.rand(2, 32, 32, 1).astype("float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(x, training=False)),
                               keras.ops.convert_to_numpy(model(x, training=False)), rtol=1e-5, atol=1e-5)


def test_hyptorch_reference_size_and_channels():
    # The hyperbolic ProtoNet: 84x84x3, dim 1600 -> block 4 is 5x5x1600, embedding 1600-d.
    with shapes_only():
        model = zoo.backbones.get("conv4", (84, 84, 3), 1600)
    assert model.get_layer("block4_pool").output.shape[1:] == (5, 5, 1600)
    assert model.get_layer("block4_conv").filters == 1600
    assert [model.get_layer(f"block{i}_conv").filters for i in (1, 2, 3)] == [64, 64, 64]
    assert model.output_shape == (None, 1600)
    # conv(3->64), 2 x conv(64->64), conv(64->1600), all 3x3 with bias; BN has 4 vectors per conv.
    convs = (27 * 64 + 64) + 2 * (576 * 64 + 64) + (576 * 1600 + 1600)
    assert model.count_params() == convs + 4 * (3 * 64 + 1600) == 1_006_016


def test_flatten_variant_adds_dense_only_when_needed():
    with shapes_only():
        protonet = zoo.backbones.get("conv4", (28, 28, 1), 64, variant="flatten")   # Omniglot ProtoNet
        mini = zoo.backbones.get("conv4", (84, 84, 3), 1600, variant="flatten")     # 64 * 5 * 5
        projected = zoo.backbones.get("conv4", (84, 84, 3), 128, variant="flatten")
    assert protonet.layers[-1].name == "flatten"
    assert protonet.output_shape == (None, 64)
    assert mini.layers[-1].name == "flatten"
    assert mini.output_shape == (None, 1600)
    assert projected.layers[-1].name == "embedding"
    assert tuple(projected.layers[-1].kernel.shape) == (1600, 128)
    assert projected.get_layer("block4_conv").filters == 64


def test_bad_arguments():
    with pytest.raises(ValueError, match="variant"):
        zoo.backbones.get("conv4", (84, 84, 3), 64, variant="resnet")
    with pytest.raises(ValueError, match="filters"):
        zoo.backbones.get("conv4", (84, 84, 3), 64, filters=0)
    with pytest.raises(ValueError, match="input_shape"):                       # flatten needs H, W
        zoo.backbones.get("conv4", (None, None, 3), 64, variant="flatten")
