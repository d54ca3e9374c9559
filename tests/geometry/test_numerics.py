"""zoo.geometry.numerics: safe norms and the straight-through artanh clip."""

import numpy as np

from tests.helpers import assert_all_finite, to_numpy, value_and_grad
from zoo.geometry import numerics as nx


def test_safe_norm_is_finite_at_zero():
    value, (g,) = value_and_grad(lambda x: nx.safe_norm(x), np.zeros((3, 4), np.float32))
    assert_all_finite(value, g)
    np.testing.assert_array_equal(g, 0.0)


def test_artanh_clip_is_straight_through():
    """Past the clip, the gradient is artanh'(clipped value) = 1/(1 - x_c^2), not 0 as for a plain clip."""
    x = np.array([0.5, 1.0 - 1e-7, 1.0, 2.0, -3.0], np.float32)
    value, (g,) = value_and_grad(nx.artanh, x)
    bound = float(np.float32(1 - nx.ATANH_EPS))  # the clip bound as float32 represents it
    xc = np.clip(x.astype(np.float64), -bound, bound)
    np.testing.assert_allclose(g, 1.0 / (1.0 - xc**2), rtol=2e-3)
    np.testing.assert_allclose(to_numpy(nx.artanh(x)), np.arctanh(xc), rtol=1e-5)


def test_tanh_nonneg_is_accurate_near_one():
    t = np.linspace(0, 20, 201).astype(np.float32)
    got = to_numpy(nx.tanh_nonneg(t)).astype(np.float64)
    want = np.tanh(np.minimum(t.astype(np.float64), nx.TANH_MAX))
    # Within a few float32 ulps of 1 (6e-8 each) on every backend: TF's fast float32 tanh is off by up to ~1e-6.
    np.testing.assert_allclose(got, want, rtol=0, atol=5e-7)
    _, (g,) = value_and_grad(nx.tanh_nonneg, t)
    assert_all_finite(g)
    assert abs(g[0] - 1.0) < 1e-6


def test_straight_through_clip_is_exact_far_outside():
    """|x| >> 1 must clip to 1 - ATANH_EPS, not round to 1.0 (which would make artanh infinite)."""
    x = np.array([1e3, -1e3, 1e6], np.float32)
    value, (g,) = value_and_grad(nx.artanh, x)
    assert_all_finite(value, g)
    bound = np.float32(1 - nx.ATANH_EPS)
    np.testing.assert_array_equal(to_numpy(nx.clip_straight_through(x, -bound, bound)), [bound, -bound, bound])


def test_ball_eps_understands_backend_dtypes():
    import keras

    x32 = keras.ops.zeros((1,), dtype="float32")
    assert nx.ball_eps(x32.dtype) == 1e-3
    assert nx.ball_eps("float64") == 1e-5
    x64 = keras.ops.zeros((1,), dtype="float64")  # float32 on JAX unless jax_enable_x64
    expected = 1e-5 if keras.backend.standardize_dtype(x64.dtype) == "float64" else 1e-3
    assert nx.ball_eps(x64.dtype) == expected
