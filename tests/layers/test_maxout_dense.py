"""MaxoutDense: the max over contiguous groups of a Dense output against a float64 loop (the reference's
MaxoutLinear view), pool 1 = Dense, Xavier-uniform bounds, bad arguments, and the layer harness (config, .keras,
a fit step)."""

import numpy as np
import pytest

from tests.harness import check_layer
from tests.helpers import to_numpy
from zoo.layers.maxout_dense import MaxoutDense


def test_matches_float64_loop_of_contiguous_groups():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 5)).astype(np.float32)
    layer = MaxoutDense(3, pool_size=4, bias_initializer="random_normal")
    out = to_numpy(layer(x))
    w, b = (np.asarray(v, np.float64) for v in layer.get_weights())
    z = x.astype(np.float64) @ w + b
    want = np.array([[max(z[n, j * 4 + i] for i in range(4)) for j in range(3)] for n in range(6)])
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-5)
    assert out.shape == (6, 3) and w.shape == (5, 12)


def test_pool_one_is_dense_and_init_bounds():
    x = np.random.default_rng(1).normal(size=(4, 7)).astype(np.float32)
    layer = MaxoutDense(5, pool_size=1)
    layer.build(x.shape)
    w, b = layer.get_weights()
    np.testing.assert_allclose(to_numpy(layer(x)), x @ w + b, rtol=1e-5, atol=1e-5)
    big = MaxoutDense(8, pool_size=16)
    big.build((None, 64))
    kernel = np.asarray(big.get_weights()[0])
    bound = np.sqrt(6.0 / (64 + 8 * 16))                  # xavier_uniform on [d·k, d_in] (torch) = same fans
    assert np.abs(kernel).max() <= bound and np.abs(kernel).max() > 0.9 * bound
    assert not np.any(big.get_weights()[1])


def test_bad_arguments():
    with pytest.raises(ValueError, match="units"):
        MaxoutDense(0)
    with pytest.raises(ValueError, match="pool_size"):
        MaxoutDense(4, pool_size=0)


def test_layer_harness():
    x = np.random.default_rng(2).normal(size=(8, 6)).astype(np.float32)
    check_layer(MaxoutDense(4, pool_size=3), x, expected_shape=(8, 4), mixed_precision="policy")
