"""zoo.layers.PoincareDistance: row-wise and pairwise distances against float64 numpy, gradients, round trip."""

import numpy as np
import pytest

from tests.geometry import reference as ref
from tests.harness import check_layer
from tests.helpers import assert_all_finite, to_numpy, value_and_grad
from zoo.layers import PoincareDistance


def ball_points(rng, n, d, c, rmax):
    v = rng.normal(size=(n, d))
    v /= np.linalg.norm(v, axis=-1, keepdims=True)
    return (v * rng.uniform(0.0, rmax, size=(n, 1)) / np.sqrt(c)).astype(np.float32)


@pytest.mark.parametrize("c", [1e-3, 0.05, 1.0, 10.0])
def test_matches_float64_reference(c):
    rng = np.random.default_rng(0)
    x, y = ball_points(rng, 64, 5, c, 0.99), ball_points(rng, 64, 5, c, 0.99)
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    np.testing.assert_allclose(to_numpy(PoincareDistance(c=c)([x, y])), ref.dist(x64, y64, c), rtol=1e-5)
    kd = to_numpy(PoincareDistance(c=c, keepdims=True)([x, y]))
    assert kd.shape == (64, 1)
    want = ref.dist(x64[:, None, :], y64[None, :40, :], c)  # [64, 40]: fine for a 64 x 40 reference
    got = to_numpy(PoincareDistance(c=c, pairwise=True)([x, y[:40]]))
    assert got.shape == (64, 40)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 / np.sqrt(c))


@pytest.mark.parametrize("c", [1e-3, 0.05, 1.0])
def test_finite_gradients_at_coincident_and_boundary_points(c):
    rng = np.random.default_rng(1)
    x = ball_points(rng, 6, 3, c, 0.999999)
    for pairwise in (False, True):
        layer = PoincareDistance(c=c, pairwise=pairwise)
        val, grads = value_and_grad(lambda a, b, layer=layer: layer([a, b]), x, x.copy())  # d(x, x) = 0
        assert_all_finite(val, *grads, what=f"pairwise={pairwise}")


def test_bad_input_and_roundtrip():
    with pytest.raises(ValueError, match="`c` must be a finite number > 0"):
        PoincareDistance(c=0.0)
    with pytest.raises(ValueError, match="x has dimension 3 but y has dimension 2"):
        PoincareDistance()([np.zeros((2, 3), np.float32), np.zeros((2, 2), np.float32)])
    with pytest.raises(ValueError, match="cannot be used with `pairwise`"):
        PoincareDistance(pairwise=True, keepdims=True)
    x = np.random.default_rng(2).uniform(-0.3, 0.3, size=(8, 4)).astype(np.float32)
    check_layer(PoincareDistance(c=0.5, keepdims=True), [x, x[::-1].copy()], expected_shape=(8, 1))
    check_layer(PoincareDistance(c=0.5, pairwise=True), [x, x[::-1].copy()], expected_shape=(8, 8), fit=False)
