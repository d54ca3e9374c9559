"""ArcFaceLoss against a float64 numpy reference; m = 0 reduction; monotone target; extremes; bad input."""

import math

import keras
import numpy as np
import pytest

from tests.harness import check_loss
from tests.helpers import assert_all_finite, to_numpy, value_and_grad
from zoo.losses import ArcFaceLoss
from zoo.losses.arcface import arcface_loss, arcface_target


def ref_ce(logits, y):
    m = logits.max(-1, keepdims=True)
    lse = np.log(np.exp(logits - m).sum(-1)) + m[:, 0]
    return lse - logits[np.arange(len(y)), y]


def ref_arcface(cos, y, s, m, easy=False):
    cos = cos.astype(np.float64)
    c = cos[np.arange(len(y)), y]
    phi = np.cos(np.arccos(np.clip(c, -1, 1)) + m)
    if easy:
        t = np.where(c > 0, phi, c)
    else:
        t = np.where(c > np.cos(np.pi - m), phi, c - m * np.sin(m))
    z = s * cos.copy()
    z[np.arange(len(y)), y] = s * t
    return ref_ce(z, y)


def random_cos(rng, b=64, k=7):
    cos = rng.uniform(-1, 1, size=(b, k)).astype(np.float32)
    cos[:4, :] = np.float32(0.999)  # target near θ = 0
    cos[4:8, :] = np.float32(-0.99)  # θ + m > π branch
    return cos


@pytest.mark.parametrize("easy", [False, True])
def test_matches_float64_reference(easy):
    rng = np.random.default_rng(1)
    cos, y = random_cos(rng), rng.integers(0, 7, size=64)
    for s, m in [(64.0, 0.5), (30.0, 0.2), (2.0, 1.2)]:
        got = to_numpy(arcface_loss(y, cos, s, m, easy))
        np.testing.assert_allclose(got, ref_arcface(cos, y, s, m, easy), rtol=2e-5, atol=2e-3 * s / 64)
    # the Keras object: value, round trip, gradient, float16 scores, one fit step (float labels as Keras passes)
    check_loss(ArcFaceLoss(scale=30.0, margin=0.2, easy_margin=easy), y.astype("float32"), cos,
               expected=ref_arcface(cos, y, 30.0, 0.2, easy).mean(), rtol=1e-5)


def test_margin_zero_is_scaled_softmax_cross_entropy():
    rng = np.random.default_rng(2)
    cos, y = random_cos(rng), rng.integers(0, 7, size=64)
    got = to_numpy(arcface_loss(y, cos, scale=16.0, margin=0.0))
    np.testing.assert_allclose(got, ref_ce(16.0 * cos.astype(np.float64), y), rtol=1e-5, atol=1e-4)


def test_target_logit_is_monotone_in_theta():
    theta = np.linspace(0, np.pi, 2001).astype(np.float32)
    for m in (0.1, 0.5, 1.0, math.pi / 2):
        t = to_numpy(arcface_target(keras.ops.convert_to_tensor(np.cos(theta)), m))
        assert np.all(np.diff(t) <= 1e-6), f"not monotone for m={m}"


def test_finite_loss_and_gradients_at_cos_plus_minus_one():
    cos = np.array([[1.0, -1.0, 0.0], [-1.0, 1.0, 0.5], [1.0, 1.0, -1.0]], np.float32)
    y = np.array([0, 0, 2])
    for easy in (False, True):
        value, (g,) = value_and_grad(lambda c, easy=easy: arcface_loss(y, c, 64.0, 0.5, easy), cos)
        assert_all_finite(value, g, what="arcface")


def test_bad_arguments_and_labels():
    with pytest.raises(ValueError, match="margin"):
        ArcFaceLoss(margin=-0.1)
    with pytest.raises(ValueError, match="margin"):
        ArcFaceLoss(margin=2.0)
    for bad in (0.0, -1.0, float("inf"), "big"):
        with pytest.raises(ValueError, match="scale"):
            ArcFaceLoss(scale=bad)
    cos = np.zeros((3, 4), np.float32)
    with pytest.raises(ValueError, match=r"labels must be integers in \[0, num_classes\)"):
        ArcFaceLoss()(np.array([0, 1, 4]), cos)


def test_config_keys_of_saved_files():
    """The config keys older `.keras` files hold load into the same loss."""
    config = {"name": "af", "reduction": "sum_over_batch_size", "dtype": "float32", "scale": 32.0,
              "margin": 0.3, "easy_margin": True}
    loss = ArcFaceLoss.from_config(config)
    assert loss.get_config() == config and loss.name == "af"
