"""DistArcLoss (paper and released-code forms) against float64 numpy from the raw geometry; reductions;
extreme gradients; bad input."""

import numpy as np
import pytest

from tests.harness import check_loss
from tests.helpers import assert_all_finite, to_numpy, value_and_grad
from zoo.layers import DistArcHead
from zoo.losses import DistArcLoss
from zoo.losses.distarc_loss import distarc_loss


def ref_geometry(x, w, r):
    """δ, cos θ, cos φ by brute force in float64 ([B, K, d] broadcast: fine for a test)."""
    x, w = x.astype(np.float64), w.astype(np.float64)
    wh = w / np.linalg.norm(w, axis=0, keepdims=True)  # [d, K]
    omega = (wh * r).T  # [K, d]
    diff = x[:, None, :] - omega[None]  # R = x - ω
    delta = (diff ** 2).sum(-1)
    cos = (x / np.linalg.norm(x, axis=1, keepdims=True)) @ wh
    cos_phi = (diff * (-omega / np.linalg.norm(omega, axis=1, keepdims=True))[None]).sum(-1) / np.sqrt(delta)
    return delta, cos, cos_phi


def ref_loss(delta, cos, cos_phi, y, s, m, lam, use_phi, form):
    idx = np.arange(len(y))
    th = np.arccos(np.clip(cos[idx, y], -1, 1))
    c_m = np.where(th + m <= np.pi, np.cos(th + m), cos[idx, y] - m * np.sin(m))
    ang = c_m + (cos_phi[idx, y] if use_phi else 0.0)
    z = s * cos - lam * delta
    z[idx, y] = s * ang - (lam * delta[idx, y] if form == "paper" else 0.0)
    mx = z.max(-1, keepdims=True)
    lse = np.log(np.exp(z - mx).sum(-1)) + mx[:, 0]
    if form == "paper":
        return lse - z[idx, y]
    # the released script literally: logsumexp(z) - (s·c'_y - λ·δ_y)
    return lse - (s * ang - lam * delta[idx, y])


def make(rng, b=48, d=6, k=8, **head_kw):
    head = DistArcHead(k, **head_kw)
    x = (rng.normal(size=(b, d)) * rng.uniform(1, 60, size=(b, 1))).astype(np.float32)
    out = head(x)
    return head, x, out, rng.integers(0, k, size=b)


@pytest.mark.parametrize("form", ["paper", "code"])
def test_matches_float64_reference(form):
    rng = np.random.default_rng(7)
    head, x, out, y = make(rng, radial_gap=7.0, first_radius=5.0)
    delta, cos, cos_phi = ref_geometry(x, to_numpy(head.kernel), np.asarray(head.class_radii))
    for s, m, lam, phi in [(1.0, 0.5, 0.005, True), (2.0, 0.5, 0.005, False), (4.0, 0.2, 0.0, True)]:
        got = to_numpy(distarc_loss(y, out, s, m, lam, phi, form))
        ref = ref_loss(delta, cos, cos_phi, y, s, m, lam, phi, form)
        np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-3)
    # mixed_precision=False: the packed columns -Q(2 + cos) exceed float16's range; the head always
    # outputs float32 (tests/layers/test_distarc_head.py checks it under mixed_float16).
    check_loss(DistArcLoss(form=form), y.astype("float32"), to_numpy(out),
               expected=ref_loss(delta, cos, cos_phi, y, 1.0, 0.5, 0.005, True, form).mean(), rtol=1e-4,
               mixed_precision=False)


def test_reductions_to_scaled_softmax_cross_entropy():
    rng = np.random.default_rng(8)
    head, x, out, y = make(rng)
    _, cos, _ = ref_geometry(x, to_numpy(head.kernel), np.asarray(head.class_radii))
    z = 3.0 * cos
    mx = z.max(-1, keepdims=True)
    ce = np.log(np.exp(z - mx).sum(-1)) + mx[:, 0] - z[np.arange(len(y)), y]
    for form in ("paper", "code"):
        got = to_numpy(distarc_loss(y, out, scale=3.0, margin=0.0, lam=0.0, use_cos_phi=False, form=form))
        np.testing.assert_allclose(got, ce, rtol=1e-5, atol=1e-4)


def test_finite_gradients_at_theta_zero_and_pi_proxy_and_origin():
    head = DistArcHead(3, radial_gap=10.0)
    head.build((None, 2))
    w = np.array([[1.0, 0.0, -1.0], [0.0, 1.0, 0.0]], np.float32)
    head.kernel.assign(w)
    # x ∥ ŵ_0 (θ = 0), x anti-parallel (θ = π), x exactly at the proxy ω_1 = 20·ŵ_1 (δ = 0), x = 0
    x = np.array([[5.0, 0.0], [-5.0, 0.0], [0.0, 20.0], [0.0, 0.0], [10.0, 0.0]], np.float32)
    y = np.array([0, 0, 1, 2, 0])
    for form in ("paper", "code"):
        def f(xx, kk, form=form):
            return distarc_loss(y, head.stateless_call([kk], [], xx)[0], form=form)

        value, (gx, gw) = value_and_grad(f, x, w)
        assert_all_finite(value, gx, gw, what=form)
    delta, cos, cos_phi = DistArcHead.unpack(head(x))
    np.testing.assert_allclose(to_numpy(cos)[:2, 0], [1.0, -1.0], atol=1e-6)
    assert to_numpy(delta)[2, 1] == pytest.approx(0.0, abs=1e-4)


def test_bad_input():
    for kw in ({"margin": -0.5}, {"margin": 3.0}, {"scale": 0.0}, {"lam": -1.0}, {"form": "poster"}):
        with pytest.raises(ValueError, match=list(kw)[0]):
            DistArcLoss(**kw)
    out = DistArcHead(4)(np.ones((2, 3), np.float32))
    with pytest.raises(ValueError, match="labels"):
        DistArcLoss()(np.array([0, 4]), out)
    with pytest.raises(ValueError, match="3K\\+1"):
        DistArcLoss()(np.array([0, 1]), np.zeros((2, 5), np.float32))
    loss = DistArcLoss(scale=2.0, lam=0.01, use_cos_phi=False, form="code")
    assert DistArcLoss.from_config(loss.get_config()).get_config() == loss.get_config()
