"""SphereFace2Loss against float64 numpy; t = 1, m = 0 reduction to weighted sigmoid CE; bias; bad input."""

import math

import numpy as np
import pytest

from tests.harness import check_loss
from tests.helpers import assert_all_finite, to_numpy, value_and_grad
from zoo.losses import SphereFace2Loss
from zoo.losses.sphereface2 import sphereface2_bias, sphereface2_loss


def softplus(z):
    return np.logaddexp(0.0, z)


def ref_sf2(cos, y, r, m, lam, t, b, w=1.0):
    cos = cos.astype(np.float64)
    onehot = np.eye(cos.shape[1])[y]
    g = 2 * ((cos + 1) / 2) ** t - 1
    z = r * (g - m * (2 * onehot - 1)) + b
    return (w / r) * (lam * softplus(-z) * onehot + (1 - lam) * softplus(z) * (1 - onehot)).sum(-1)


def test_matches_float64_reference_with_opensphere_bias():
    rng = np.random.default_rng(5)
    cos = rng.uniform(-1, 1, size=(64, 10)).astype(np.float32)
    y = rng.integers(0, 10, size=64)
    b = sphereface2_bias(10, 0.7, 40.0, 0.4, 3.0)
    # OpenSphere's closed form, written out independently here
    z = 0.7 / (0.3 * 9)
    ay, ai = 40 * (2 * 0.125 - 1 - 0.4), 40 * (2 * 0.125 - 1 + 0.4)
    root = math.sqrt((1 - z) ** 2 + 4 * z * math.exp(ay - ai))
    assert b == pytest.approx(math.log(2 * z) - ai - math.log(1 - z + root))
    np.testing.assert_allclose(to_numpy(sphereface2_loss(y, cos)), ref_sf2(cos, y, 40.0, 0.4, 0.7, 3.0, b),
                               rtol=1e-5, atol=1e-5)
    got = to_numpy(sphereface2_loss(y, cos, 30.0, 0.3, 0.6, 2.0, bias=-5.0, loss_weight=10.0))
    np.testing.assert_allclose(got, ref_sf2(cos, y, 30.0, 0.3, 0.6, 2.0, -5.0, 10.0), rtol=1e-5, atol=1e-5)
    loss = SphereFace2Loss(scale=30.0, margin=0.3, lam=0.6, t=2.0, bias=-5.0, loss_weight=10.0)
    check_loss(loss, y, cos, expected=ref_sf2(cos, y, 30.0, 0.3, 0.6, 2.0, -5.0, 10.0).mean(), rtol=1e-5)


def test_t1_m0_is_weighted_sigmoid_cross_entropy_on_scaled_cos():
    rng = np.random.default_rng(6)
    cos = rng.uniform(-1, 1, size=(32, 5)).astype(np.float32)
    y = rng.integers(0, 5, size=32)
    onehot = np.eye(5)[y]
    z = 20.0 * cos.astype(np.float64) + 0.5
    bce = -(onehot * np.log(1 / (1 + np.exp(-z))) + (1 - onehot) * np.log(1 - 1 / (1 + np.exp(-z))))
    ref = ((0.7 * onehot + 0.3 * (1 - onehot)) * bce).sum(-1) / 20.0
    got = to_numpy(sphereface2_loss(y, cos, scale=20.0, margin=0.0, lam=0.7, t=1.0, bias=0.5))
    np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6)


def test_finite_at_cos_plus_minus_one():
    cos = np.array([[1.0, -1.0, 0.0], [-1.0, 1.0, -1.0]], np.float32)
    value, (g,) = value_and_grad(lambda c: sphereface2_loss(np.array([0, 0]), c), cos)
    assert_all_finite(value, g)


def test_bad_input():
    for kw in ({"margin": -0.1}, {"scale": 0.0}, {"lam": 1.0}, {"lam": 0.0}, {"t": 0.5}, {"loss_weight": 0}):
        with pytest.raises(ValueError, match=list(kw)[0]):
            SphereFace2Loss(**kw)
    with pytest.raises(ValueError, match="labels"):
        SphereFace2Loss()(np.array([3]), np.zeros((1, 3), np.float32))
