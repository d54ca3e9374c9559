"""SphereFaceLoss: ψ(θ) = (-1)^k cos(mθ) - 2k against float64 numpy; m = 1 reduction; extremes; bad input."""

import keras
import numpy as np
import pytest

from tests.harness import check_loss
from tests.helpers import assert_all_finite, to_numpy, value_and_grad
from zoo.losses import SphereFaceLoss
from zoo.losses.sphereface import sphereface_loss, sphereface_psi


def ref_ce(logits, y):
    m = logits.max(-1, keepdims=True)
    return np.log(np.exp(logits - m).sum(-1)) + m[:, 0] - logits[np.arange(len(y)), y]


def ref_psi(c, m):
    theta = np.arccos(np.clip(c.astype(np.float64), -1, 1))
    k = np.floor(m * theta / np.pi)
    return (-1.0) ** k * np.cos(m * theta) - 2 * k


def ref_sphereface(cos, y, s, m):
    z = s * cos.astype(np.float64)
    z[np.arange(len(y)), y] = s * ref_psi(cos[np.arange(len(y)), y], m)
    return ref_ce(z, y)


def test_psi_matches_reference_is_monotone_and_continuous():
    theta = np.linspace(0.001, np.pi - 0.001, 3001)
    c = np.cos(theta).astype(np.float32)
    for m in (1.0, 1.5, 2.0, 4.0):
        got = to_numpy(sphereface_psi(keras.ops.convert_to_tensor(c), m))
        np.testing.assert_allclose(got, ref_psi(c, m), atol=2e-4 * m)
        assert np.all(np.diff(got) <= 1e-5), f"psi not monotone for m={m}"
        assert np.max(np.abs(np.diff(got))) < 0.05 * m  # no jumps at θ = kπ/m


def test_loss_matches_reference_and_m1_is_softmax():
    rng = np.random.default_rng(4)
    cos = rng.uniform(-1, 1, size=(64, 6)).astype(np.float32)
    y = rng.integers(0, 6, size=64)
    for s, m in [(30.0, 1.5), (16.0, 4.0)]:
        np.testing.assert_allclose(to_numpy(sphereface_loss(y, cos, s, m)), ref_sphereface(cos, y, s, m),
                                   rtol=1e-4, atol=5e-3)
    np.testing.assert_allclose(to_numpy(sphereface_loss(y, cos, 10.0, 1.0)), ref_ce(10.0 * cos.astype(np.float64), y),
                               rtol=1e-5, atol=1e-4)
    check_loss(SphereFaceLoss(scale=16.0, margin=4.0), y, cos, expected=ref_sphereface(cos, y, 16.0, 4.0).mean(),
               rtol=1e-4)


def test_finite_at_cos_plus_minus_one():
    cos = np.array([[1.0, -1.0], [-1.0, 1.0], [1.0, 1.0]], np.float32)
    for m in (1.5, 4.0):
        value, (g,) = value_and_grad(lambda c, m=m: sphereface_loss(np.array([0, 0, 1]), c, 30.0, m), cos)
        assert_all_finite(value, g)


def test_bad_input():
    for kw in ({"margin": 0.5}, {"margin": 20.0}, {"scale": -3.0}):
        with pytest.raises(ValueError, match=list(kw)[0]):
            SphereFaceLoss(**kw)
    with pytest.raises(ValueError, match="labels"):
        SphereFaceLoss()(np.array([-1]), np.zeros((1, 3), np.float32))
