"""zoo.geometry.euclidean against float64 numpy; identities; finite gradients at zero distance."""

import keras
import numpy as np
import pytest

from tests.geometry import reference as ref
from tests.helpers import assert_all_finite, to_numpy, value_and_grad
from zoo.geometry import euclidean as E


def _points(seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(30, 6)).astype(np.float32), rng.normal(size=(11, 6)).astype(np.float32), rng


def test_pairwise_and_mean_match_numpy():
    x, y, rng = _points()
    d2 = ref.pairwise_sq_dist(x.astype(np.float64), y.astype(np.float64))
    np.testing.assert_allclose(to_numpy(E.pairwise_sq_dist(x, y)), d2, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(to_numpy(E.pairwise_dist(x, y)), np.sqrt(d2), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(to_numpy(E.sq_dist(x[:11], y)), d2[np.arange(11), np.arange(11)], rtol=1e-5)
    np.testing.assert_allclose(to_numpy(E.dist(x[:11], y)), np.sqrt(d2[np.arange(11), np.arange(11)]), rtol=1e-5)
    pts = x.reshape(5, 6, 6)
    w = rng.uniform(0.1, 1.0, size=(5, 6)).astype(np.float32)
    np.testing.assert_allclose(to_numpy(E.mean(pts)), ref.weighted_mean(pts), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(to_numpy(E.mean(pts, weights=w)), ref.weighted_mean(pts, w), rtol=1e-5, atol=1e-6)


def test_pairwise_is_the_broadcast_distance():
    x, y, _ = _points(1)
    np.testing.assert_allclose(to_numpy(E.pairwise_sq_dist(x, y)), to_numpy(E.sq_dist(x[:, None], y[None])),
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(to_numpy(E.pairwise_dist(x, y)), to_numpy(E.dist(x[:, None], y[None])),
                               rtol=1e-5, atol=1e-5)


def test_mean_of_copies_and_weights_over_the_points_only():
    x, _, _ = _points(2)
    pts = x.reshape(5, 6, 6)
    np.testing.assert_allclose(to_numpy(E.mean(np.repeat(x[:, None], 4, axis=1))), x, rtol=1e-6)
    w = np.array([1.0, 2.0, 0.0, 0.5, 1.0, 3.0], np.float32)  # [n]: the same weights for every set
    np.testing.assert_allclose(to_numpy(E.mean(pts, weights=w)), ref.weighted_mean(pts, np.broadcast_to(w, (5, 6))),
                               rtol=1e-5, atol=1e-6)


def test_zero_distance_gradients_are_finite():
    x = np.ones((4, 3), np.float32)
    for fn in (lambda a: E.pairwise_dist(a, a), lambda a: E.dist(a, a), lambda a: E.pairwise_sq_dist(a, a)):
        value, (g,) = value_and_grad(fn, x)
        assert_all_finite(value, g)
    np.testing.assert_allclose(to_numpy(E.pairwise_dist(x, x)), 0.0, atol=1e-6)


@pytest.mark.parametrize("fn", [E.pairwise_sq_dist, E.pairwise_dist])
def test_float64_stays_float64(fn):
    """On torch keras' maximum(x, 0.0) returns float32; the clip at 0 keeps float64 (where the backend has it)."""
    x, y, _ = _points(3)
    out = fn(x.astype(np.float64), y.astype(np.float64))
    if keras.backend.standardize_dtype(keras.ops.zeros((1,), dtype="float64").dtype) != "float64":
        pytest.skip("float64 is not enabled on this backend")
    assert keras.backend.standardize_dtype(out.dtype) == "float64"
    d2 = ref.pairwise_sq_dist(x.astype(np.float64), y.astype(np.float64))
    want = d2 if fn is E.pairwise_sq_dist else np.sqrt(d2)
    np.testing.assert_allclose(to_numpy(out), want, rtol=1e-12)
