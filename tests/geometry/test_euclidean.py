"""zoo.geometry.euclidean against numpy; finite gradients at zero distance."""

import numpy as np

from tests.helpers import assert_all_finite, to_numpy, value_and_grad
from zoo.geometry import euclidean as E


def test_pairwise_and_mean_match_numpy():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 6)).astype(np.float32)
    y = rng.normal(size=(11, 6)).astype(np.float32)
    d2 = ((x[:, None].astype(np.float64) - y[None]) ** 2).sum(-1)
    np.testing.assert_allclose(to_numpy(E.pairwise_sq_dist(x, y)), d2, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(to_numpy(E.pairwise_dist(x, y)), np.sqrt(d2), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(to_numpy(E.sq_dist(x[:11], y)), d2[np.arange(11), np.arange(11)], rtol=1e-5)
    pts = x.reshape(5, 6, 6)
    w = rng.uniform(0.1, 1.0, size=(5, 6)).astype(np.float32)
    np.testing.assert_allclose(to_numpy(E.mean(pts)), pts.mean(1), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(
        to_numpy(E.mean(pts, weights=w)), (pts * w[..., None]).sum(1) / w.sum(1, keepdims=True), rtol=1e-5, atol=1e-6
    )


def test_zero_distance_gradients_are_finite():
    x = np.ones((4, 3), np.float32)
    for fn in (lambda a: E.pairwise_dist(a, a), lambda a: E.dist(a, a), lambda a: E.pairwise_sq_dist(a, a)):
        value, (g,) = value_and_grad(fn, x)
        assert_all_finite(value, g)
    np.testing.assert_allclose(to_numpy(E.pairwise_dist(x, x)), 0.0, atol=1e-6)
