"""CenterLoss against a float64 numpy reference (softmax and ArcFace bases), λ = 0 reduction, extremes,
bad input, serialization with a nested base loss."""

import numpy as np
import pytest

from tests.harness import check_loss
from tests.helpers import assert_all_finite, to_numpy, value_and_grad
from zoo.layers import CenterHead, CosineHead
from zoo.losses import ArcFaceLoss, CenterLoss
from zoo.losses.center_loss import center_loss


def ref_ce(z, y):
    m = z.max(-1, keepdims=True)
    return np.log(np.exp(z - m).sum(-1)) + m[:, 0] - z[np.arange(len(y)), y]


def setup(classifier=None, k=5, d=4, b=32, seed=0):
    rng = np.random.default_rng(seed)
    head = CenterHead(k, classifier=classifier)
    head.build((None, d))
    centers = rng.normal(size=(k, d)).astype(np.float32)
    head.centers.assign(centers)
    x = (3 * rng.normal(size=(b, d))).astype(np.float32)
    y = rng.integers(0, k, size=b)
    return head, x, y, centers


def test_softmax_base_matches_reference_and_lambda_zero():
    head, x, y, c = setup()
    out = head(x, labels=y, training=False)
    kern, bias = (to_numpy(v).astype(np.float64) for v in head.classifier.weights)
    logits = x.astype(np.float64) @ kern + bias
    d = ((x - c[y]).astype(np.float64) ** 2).sum(-1)
    for lam in (0.003, 0.5):
        np.testing.assert_allclose(to_numpy(center_loss(y, out, lam)), ref_ce(logits, y) + 0.5 * lam * d,
                                   rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(to_numpy(center_loss(y, out, 0.0)), ref_ce(logits, y), rtol=1e-5, atol=1e-5)
    check_loss(CenterLoss(lam=0.5), y, to_numpy(out), expected=(ref_ce(logits, y) + 0.25 * d).mean(), rtol=1e-5)


def test_arcface_base_on_cosine_classifier():
    head, x, y, c = setup(classifier=CosineHead(5))
    out = head(x, labels=y)
    w = to_numpy(head.classifier.kernel).astype(np.float64)
    cos = (x / np.linalg.norm(x, axis=1, keepdims=True)) @ (w / np.linalg.norm(w, axis=0, keepdims=True))
    cy = cos[np.arange(len(y)), y]
    t = np.where(cy > np.cos(np.pi - 0.5), np.cos(np.arccos(cy) + 0.5), cy - 0.5 * np.sin(0.5))
    z = 16.0 * cos
    z[np.arange(len(y)), y] = 16.0 * t
    d = ((x - c[y]).astype(np.float64) ** 2).sum(-1)
    got = to_numpy(center_loss(y, out, 0.01, ArcFaceLoss(scale=16.0)))
    np.testing.assert_allclose(got, ref_ce(z, y) + 0.005 * d, rtol=1e-4, atol=1e-3)
    # nested base loss: serialised inside the config and restored as an ArcFaceLoss
    loss = CenterLoss(lam=0.01, base_loss=ArcFaceLoss(scale=16.0))
    check_loss(loss, y, to_numpy(out), expected=(ref_ce(z, y) + 0.005 * d).mean(), rtol=1e-4, atol=1e-3)


def test_finite_gradients_at_cos_plus_minus_one_and_at_the_centre():
    head, _, _, c = setup(classifier=CosineHead(5), k=5, d=4)
    w = np.eye(4, 5, dtype=np.float32)
    head.classifier.kernel.assign(w)
    x = np.array([[2.0, 0, 0, 0], [-2.0, 0, 0, 0], c[1]], np.float32)  # cos θ_0 = ±1; x at centre 1
    y = np.array([0, 0, 1])
    loss = CenterLoss(lam=0.1, base_loss=ArcFaceLoss())
    value, grads = value_and_grad(lambda xx, kk: loss.call(y, head.stateless_call([kk], [c], xx, labels=y)[0]), x, w)
    assert_all_finite(value, *grads)


def test_bad_input_and_serialization():
    with pytest.raises(ValueError, match="lam"):
        CenterLoss(lam=-0.1)
    with pytest.raises(ValueError, match="base_loss"):
        CenterLoss(base_loss="softmax")
    head, x, y, _ = setup()
    out = head(x, labels=y)
    with pytest.raises(ValueError, match="labels"):
        CenterLoss()(np.full(len(y), 5), out)
    loss = CenterLoss(lam=0.2, base_loss=ArcFaceLoss(scale=8.0, margin=0.1))
    copy = CenterLoss.from_config(loss.get_config())
    assert isinstance(copy.base_loss, ArcFaceLoss) and copy.base_loss.scale == 8.0 and copy.lam == 0.2
