"""EmbeddingSpace against a float64 numpy reference of every map, stop-gradient on the norm, zero input,
bad input, `.keras` round trip."""

import keras
import numpy as np
import pytest

from tests.harness import check_layer
from tests.helpers import assert_all_finite, to_numpy, value_and_grad
from zoo.layers import EmbeddingSpace


def ref_map(x, space, s, bounce="limit"):
    x = x.astype(np.float64)
    out = np.empty_like(x)
    for i, v in enumerate(x):
        n = np.linalg.norm(v)
        u = v / n
        if space == "l2":
            out[i] = s * u
        elif space == "unit_ball":
            out[i] = v if n <= s else s * u
        elif bounce == "limit":
            out[i] = v if n <= s else ((2 * s - n) * u if n < 2 * s else u * 1e-20)
        else:
            m = n * n if bounce == "squared" else n
            k = np.floor(m / s)
            r = m - k * s
            out[i] = v if m <= s else ((s - r) * u if k % 2 == 1 else (r - s) * u)
    return out


def points(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(40, 3))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return (x * rng.uniform(0.05, 5.0, size=(40, 1))).astype(np.float32)


@pytest.mark.parametrize("space,bounce", [("l2", "limit"), ("unit_ball", "limit"), ("unit_bounce", "limit"),
                                          ("unit_bounce", "periodic"), ("unit_bounce", "squared")])
@pytest.mark.parametrize("scale", [1.0, 1.7])
def test_matches_numpy_reference(space, bounce, scale):
    x = points()
    got = to_numpy(EmbeddingSpace(space, scale=scale, bounce=bounce)(x))
    # the squared form computes r = ‖x‖² - k·c_s in float32 (‖x‖² up to 25 here): ~3e-6 absolute error
    atol = 1e-5 if bounce == "squared" else 1e-6
    np.testing.assert_allclose(got, ref_map(x, space, scale, bounce), rtol=1e-5, atol=atol)


def test_gradient_flows_through_x_only_and_zero_input_is_finite():
    x = points()[:4]
    w = np.random.default_rng(1).normal(size=x.shape).astype(np.float32)
    layer = EmbeddingSpace("l2", scale=2.0)
    _, (g,) = value_and_grad(lambda e: keras.ops.multiply(layer(e), keras.ops.convert_to_tensor(w)), x)
    n = np.linalg.norm(x, axis=1, keepdims=True)
    np.testing.assert_allclose(g, 2.0 * w / n, rtol=1e-5)   # the normaliser is a constant
    for space in ("l2", "unit_ball", "unit_bounce"):
        v, (g,) = value_and_grad(lambda e, space=space: EmbeddingSpace(space)(e), np.zeros((2, 3), np.float32))
        assert_all_finite(v, g)


def test_bad_input():
    with pytest.raises(ValueError, match="space"):
        EmbeddingSpace("sphere")
    with pytest.raises(ValueError, match="scale"):
        EmbeddingSpace("l2", scale=0.0)
    with pytest.raises(ValueError, match="bounce"):
        EmbeddingSpace("unit_bounce", bounce="poster")


def test_harness():
    check_layer(EmbeddingSpace("unit_bounce", scale=1.5, bounce="squared"), points(), expected_shape=(40, 3))
