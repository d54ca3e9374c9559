"""zoo.layers.FromPoincare: float64 log maps, inverse of ToPoincare, finite gradients, bad input, round trip."""

import math

import numpy as np
import pytest

from tests.geometry import reference as ref
from tests.harness import check_layer
from tests.helpers import assert_all_finite, to_numpy, value_and_grad
from tests.layers.test_to_poincare import rows_rel_err
from zoo.layers import FromPoincare, ToPoincare


def ball_points(rng, n, d, c, rmax):
    v = rng.normal(size=(n, d))
    v /= np.linalg.norm(v, axis=-1, keepdims=True)
    return (v * rng.uniform(0.01, rmax, size=(n, 1)) / np.sqrt(c)).astype(np.float32)


@pytest.mark.parametrize("c", [1e-3, 0.05, 1.0, 10.0])
def test_matches_float64_log_maps_and_inverts_to_poincare(c):
    rng = np.random.default_rng(0)
    y = ball_points(rng, 256, 8, c, 0.99)
    assert rows_rel_err(to_numpy(FromPoincare(c=c)(y)), ref.logmap0(y.astype(np.float64), c)) < 1e-5
    base = (rng.normal(size=8) * 0.4 / math.sqrt(8 * c)).tolist()
    want = ref.logmap(np.asarray(base)[None], y.astype(np.float64), c)
    assert rows_rel_err(to_numpy(FromPoincare(c=c, base_point=base)(y)), want) < 1e-4
    u = to_numpy(FromPoincare(c=c)(y))  # tangent vectors -> ball -> back
    assert rows_rel_err(to_numpy(FromPoincare(c=c)(ToPoincare(c=c)(u))), u) < 1e-4


def test_log_at_the_base_point_is_zero_not_nan():
    """hyptorch's logmap(x, x) is NaN (||(-x)+x|| is not floored); here it is 0 with finite gradients."""
    base = [0.3, -0.2, 0.1]
    layer = FromPoincare(c=1.0, base_point=base, train_x=True)
    y = np.asarray([base, [0.0, 0.0, 0.0]], np.float32)
    val, (g,) = value_and_grad(lambda t, layer=layer: layer(t) ** 2, y)
    assert_all_finite(val, g, what="log at the base point")
    np.testing.assert_allclose(to_numpy(layer(y))[0], 0.0, atol=1e-6)


@pytest.mark.parametrize("c", [1e-3, 0.05, 1.0])
def test_extreme_inputs_have_finite_gradients(c):
    rng = np.random.default_rng(1)
    y = np.concatenate([ball_points(rng, 8, 4, c, 0.999999), np.zeros((2, 4)), rng.normal(size=(4, 4)) * 1e3])
    y = y.astype(np.float32)  # the last rows are outside the ball: no NaN either
    for layer in (FromPoincare(c=c), FromPoincare(c=c, train_c=True, base_point=[0.0, 0.1 / math.sqrt(c), 0, 0])):
        val, (g,) = value_and_grad(lambda t, layer=layer: layer(t) ** 2, y)
        assert_all_finite(val, g, what=f"FromPoincare c={c}")


def test_bad_input_and_roundtrip():
    with pytest.raises(ValueError, match="`c` must be a finite number > 0"):
        FromPoincare(c=0.0)
    with pytest.raises(ValueError, match="inside the Poincaré ball"):
        FromPoincare(c=1.0, base_point=[1.0, 0.0])
    with pytest.raises(ValueError, match="input has dimension 2 but `ball_dim` is 3"):
        FromPoincare(ball_dim=3)(np.zeros((1, 2), np.float32))
    layer = FromPoincare(c=0.5, train_c=True, train_x=True, base_point=[0.1, 0.2, 0.0, 0.0])
    points = np.random.default_rng(3).uniform(-0.3, 0.3, size=(8, 4)).astype(np.float32)
    check_layer(layer, points, expected_shape=(8, 4))
    cfg = layer.get_config()
    assert (cfg["c"], cfg["train_c"], cfg["train_x"]) == (0.5, True, True)
