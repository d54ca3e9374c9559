"""CosFaceLoss against a float64 numpy reference; m = 0 reduction; extremes; bad input."""

import numpy as np
import pytest

from tests.harness import check_loss
from tests.helpers import assert_all_finite, to_numpy, value_and_grad
from zoo.losses import CosFaceLoss
from zoo.losses.cosface import cosface_loss


def ref_ce(logits, y):
    m = logits.max(-1, keepdims=True)
    return np.log(np.exp(logits - m).sum(-1)) + m[:, 0] - logits[np.arange(len(y)), y]


def ref_cosface(cos, y, s, m):
    z = s * cos.astype(np.float64)
    z[np.arange(len(y)), y] -= s * m
    return ref_ce(z, y)


def test_matches_float64_reference_and_m0():
    rng = np.random.default_rng(3)
    cos = rng.uniform(-1, 1, size=(64, 9)).astype(np.float32)
    y = rng.integers(0, 9, size=64)
    for s, m in [(64.0, 0.35), (10.0, 0.9)]:
        np.testing.assert_allclose(to_numpy(cosface_loss(y, cos, s, m)), ref_cosface(cos, y, s, m),
                                   rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(to_numpy(cosface_loss(y, cos, 8.0, 0.0)), ref_ce(8.0 * cos.astype(np.float64), y),
                               rtol=1e-5, atol=1e-5)
    check_loss(CosFaceLoss(), y, cos, expected=ref_cosface(cos, y, 64.0, 0.35).mean(), rtol=1e-5)


def test_finite_at_cos_plus_minus_one():
    cos = np.array([[1.0, -1.0], [-1.0, 1.0]], np.float32)
    value, (g,) = value_and_grad(lambda c: cosface_loss(np.array([0, 0]), c), cos)
    assert_all_finite(value, g)


def test_bad_input():
    for kw in ({"margin": -0.01}, {"margin": 1.5}, {"scale": 0}, {"scale": float("nan")}):
        with pytest.raises(ValueError, match=list(kw)[0]):
            CosFaceLoss(**kw)
    with pytest.raises(ValueError, match="labels"):
        CosFaceLoss()(np.array([[5]]), np.zeros((1, 5), np.float32))
    copy = CosFaceLoss.from_config(CosFaceLoss(scale=30.0, margin=0.2).get_config())
    assert copy.scale == 30.0 and copy.margin == 0.2
