"""zoo.geometry.sphere against numpy, with finite gradients at 0 and at parallel/antiparallel vectors."""

import numpy as np

from tests.helpers import assert_all_finite, to_numpy, value_and_grad
from zoo.geometry import sphere as S


def test_normalize_cosine_angle_match_numpy():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(20, 7)).astype(np.float32)
    y = rng.normal(size=(20, 7)).astype(np.float32)
    xn = x / np.linalg.norm(x, axis=-1, keepdims=True)
    yn = y / np.linalg.norm(y, axis=-1, keepdims=True)
    np.testing.assert_allclose(to_numpy(S.normalize(x)), xn, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(to_numpy(S.cosine(x, y)), (xn * yn).sum(-1), atol=1e-6)
    np.testing.assert_allclose(to_numpy(S.pairwise_cosine(x, y[:5])), xn @ yn[:5].T, atol=1e-6)
    np.testing.assert_allclose(to_numpy(S.angle(x, y)), np.arccos((xn * yn).sum(-1)), atol=1e-5)
    np.testing.assert_allclose(to_numpy(S.pairwise_angle(x, y[:5])), np.arccos(xn @ yn[:5].T), atol=1e-5)


def test_zero_vector_and_extreme_angles_have_finite_gradients():
    x = np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [1e-15, 0.0, 0.0], [1e3, 0.0, 0.0]], np.float32)
    y = np.array([[1.0, 0.0, 0.0], [1.0, 2.0, 3.0], [-1.0, -2.0, -3.0], [1.0, 0.0, 0.0], [-1.0, 0.0, 0.0]], np.float32)
    for fn in (S.normalize, lambda a: S.cosine(a, y), lambda a: S.angle(a, y), lambda a: S.pairwise_angle(a, y)):
        value, (g,) = value_and_grad(fn, x)
        assert_all_finite(value, g)
    np.testing.assert_allclose(to_numpy(S.normalize(x[:1])), 0.0)
    ang = to_numpy(S.angle(x[1:3], y[1:3]))
    np.testing.assert_allclose(ang, [0.0, np.pi], atol=1e-3)
