"""zoo.geometry.sphere against float64 numpy, identities, and finite gradients at 0 and at parallel and
antiparallel vectors."""

import keras
import numpy as np
import pytest

from tests.geometry import reference as ref
from tests.helpers import assert_all_finite, to_numpy, value_and_grad
from zoo.geometry import sphere as S


def _points(seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(20, 7)).astype(np.float32), rng.normal(size=(20, 7)).astype(np.float32)


def test_normalize_cosine_angle_match_numpy():
    x, y = _points()
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    np.testing.assert_allclose(to_numpy(S.normalize(x)), ref.normalize(x64), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(to_numpy(S.cosine(x, y)), ref.cosine(x64, y64), atol=1e-6)
    np.testing.assert_allclose(to_numpy(S.pairwise_cosine(x, y[:5])), ref.pairwise_cosine(x64, y64[:5]), atol=1e-6)
    np.testing.assert_allclose(to_numpy(S.angle(x, y)), np.arccos(ref.cosine(x64, y64)), atol=1e-5)
    np.testing.assert_allclose(to_numpy(S.pairwise_angle(x, y[:5])), np.arccos(ref.pairwise_cosine(x64, y64[:5])),
                               atol=1e-5)


def test_normalize_is_idempotent_and_scale_invariant():
    x, _ = _points(1)
    n = to_numpy(S.normalize(x))
    np.testing.assert_allclose(to_numpy(S.normalize(n)), n, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(to_numpy(S.normalize(x * np.float32(37.0))), n, rtol=1e-6, atol=1e-7)


def test_cosine_and_angle_are_symmetric_and_pairwise_is_the_broadcast():
    x, y = _points(2)
    np.testing.assert_array_equal(to_numpy(S.cosine(x, y)), to_numpy(S.cosine(y, x)))
    np.testing.assert_array_equal(to_numpy(S.angle(x, y)), to_numpy(S.angle(y, x)))
    np.testing.assert_allclose(to_numpy(S.pairwise_cosine(x, y)), to_numpy(S.cosine(x[:, None], y[None])), atol=1e-6)
    np.testing.assert_allclose(to_numpy(S.pairwise_angle(x, y)), to_numpy(S.angle(x[:, None], y[None])), atol=1e-5)


def test_zero_vector_and_extreme_angles_have_finite_gradients():
    x = np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [1e-15, 0.0, 0.0], [1e3, 0.0, 0.0]], np.float32)
    y = np.array([[1.0, 0.0, 0.0], [1.0, 2.0, 3.0], [-1.0, -2.0, -3.0], [1.0, 0.0, 0.0], [-1.0, 0.0, 0.0]], np.float32)
    for fn in (S.normalize, lambda a: S.cosine(a, y), lambda a: S.angle(a, y), lambda a: S.pairwise_angle(a, y)):
        value, (g,) = value_and_grad(fn, x)
        assert_all_finite(value, g)
    np.testing.assert_allclose(to_numpy(S.normalize(x[:1])), 0.0)
    ang = to_numpy(S.angle(x[1:3], y[1:3]))
    np.testing.assert_allclose(ang, [0.0, np.pi], atol=1e-3)


def test_float64_stays_float64():
    """keras' torch matmul returns float32 for float64 inputs; pairwise_cosine keeps float64 (where it exists)."""
    x, y = (a.astype(np.float64) for a in _points(3))
    out = S.pairwise_cosine(x, y)
    if keras.backend.standardize_dtype(keras.ops.zeros((1,), dtype="float64").dtype) != "float64":
        pytest.skip("float64 is not enabled on this backend")
    assert keras.backend.standardize_dtype(out.dtype) == "float64"
    np.testing.assert_allclose(keras.ops.convert_to_numpy(out), ref.pairwise_cosine(x, y), rtol=1e-12, atol=1e-15)
