"""zoo.geometry.poincare against float64 references, identities and extreme-input gradients."""

import numpy as np
import pytest
from keras import ops

from tests.geometry import reference as ref
from tests.helpers import assert_all_finite, to_numpy, value_and_grad
from zoo.geometry import poincare as P

CURVATURES = [1e-3, 0.05, 1.0, 10.0]
# (regime, largest norm as a fraction of the radius 1/sqrt(c), relative tolerance)
REGIMES = [("interior", 0.9, 1e-5), ("boundary", 1 - 1e-3, 1e-4)]
DIMS = [2, 16]


def ball_points(rng, n, d, c, rmax, rmin=0.0):
    v = rng.normal(size=(n, d))
    v /= np.linalg.norm(v, axis=-1, keepdims=True)
    r = rng.uniform(rmin, rmax, size=(n, 1)) / np.sqrt(c)
    return (v * r).astype(np.float32)


def regime_points(rng, n, d, c, regime, rmax):
    # The boundary regime samples norms in [0.9, 0.999] of the radius, where float32 is hardest.
    return ball_points(rng, n, d, c, rmax, 0.0 if regime == "interior" else 0.9)


def rel_err(got, want, scale=None):
    """Largest row-wise ||got - want|| / ||want||. With `scale` (an input of the op), the denominator is
    max(||want||, ||scale||): for ops that add their inputs (Möbius addition, expmap) an output that
    cancels to near 0 cannot be relatively accurate in any float32 algorithm, only accurate relative to
    the size of what was added."""
    got = np.asarray(to_numpy(got), np.float64).reshape(len(want), -1)
    want = np.asarray(want, np.float64).reshape(len(want), -1)
    den = np.linalg.norm(want, axis=-1)
    if scale is not None:
        den = np.maximum(den, np.linalg.norm(np.asarray(scale, np.float64).reshape(len(want), -1), axis=-1))
    return float(np.max(np.linalg.norm(got - want, axis=-1) / den))


def expmap_conditioning(x64, v64, c, rng, trials=8):
    """How far the exact float64 expmap moves when its inputs get half-ulp float32 perturbations.

    expmap(x, v) with x near the boundary and a long v is ill-conditioned (the output moves by up to
    ~1e-4 relative for half-ulp input changes at norm 0.999/sqrt(c)); no float32 algorithm can be more
    accurate than that, so the test allows 3x this measured sensitivity where it exceeds the tolerance.
    """
    want = ref.expmap(x64, v64, c)
    half_ulp = np.finfo(np.float32).eps / 2
    worst = 0.0
    for _ in range(trials):
        xp = x64 * (1 + rng.uniform(-half_ulp, half_ulp, size=x64.shape))
        vp = v64 * (1 + rng.uniform(-half_ulp, half_ulp, size=v64.shape))
        worst = max(worst, rel_err(ref.expmap(xp, vp, c), want, scale=x64))
    return worst


def f64(*xs):
    return [x.astype(np.float64) for x in xs]


@pytest.mark.parametrize("c", CURVATURES)
@pytest.mark.parametrize("regime,rmax,tol", REGIMES)
def test_ops_match_float64_reference(c, regime, rmax, tol):
    rng = np.random.default_rng(1)
    for d in DIMS:
        x = regime_points(rng, 512, d, c, regime, rmax)
        y = regime_points(rng, 512, d, c, regime, rmax)
        x64, y64 = f64(x, y)
        u = ref.logmap0(y64, c).astype(np.float32)  # tangent vectors whose image is in the regime
        v = ref.logmap(x64, y64, c).astype(np.float32)  # tangent vectors at x reaching y
        m = (rng.normal(size=(d, d)) / np.sqrt(d) * 0.5).astype(np.float32)
        k = to_numpy(P.to_klein(x, c))
        errors = {
            "conformal_factor": rel_err(P.conformal_factor(x, c), ref.lam(x64, c)),
            "project": rel_err(P.project(x * 3.0, c), ref.project(x64 * 3.0, c)),
            "mobius_add": rel_err(P.mobius_add(x, y, c), ref.mobius_add(x64, y64, c), scale=x),
            "expmap0": rel_err(P.expmap0(u, c), ref.expmap0(u.astype(np.float64), c)),
            "logmap0": rel_err(P.logmap0(x, c), ref.logmap0(x64, c)),
            "logmap": rel_err(P.logmap(x, y, c), ref.logmap(x64, y64, c)),
            "dist": rel_err(P.dist(x, y, c), ref.dist(x64, y64, c)),
            "dist0": rel_err(P.dist0(x, c), ref.dist0(x64, c)),
            "mobius_matvec": rel_err(P.mobius_matvec(m, x, c), ref.mobius_matvec(m.astype(np.float64), x64, c)),
            "to_klein": rel_err(P.to_klein(x, c), ref.to_klein(x64, c)),
            "from_klein": rel_err(P.from_klein(k, c), ref.from_klein(k.astype(np.float64), c)),
            "midpoint": rel_err(P.midpoint(x.reshape(64, 8, d), c), ref.midpoint(x64.reshape(64, 8, d), c)),
        }
        w = rng.uniform(0.1, 2.0, size=(64, 8)).astype(np.float32)
        errors["midpoint_weighted"] = rel_err(
            P.midpoint(x.reshape(64, 8, d), c, weights=w), ref.midpoint(x64.reshape(64, 8, d), c, w.astype(np.float64))
        )
        expmap_err = rel_err(P.expmap(x, v, c), ref.expmap(x64, v.astype(np.float64), c), scale=x)
        expmap_tol = max(tol, 3 * expmap_conditioning(x64, v.astype(np.float64), c, rng))
        if not expmap_err <= expmap_tol:
            errors["expmap"] = expmap_err
        bad = {k_: e for k_, e in errors.items() if not e <= tol and k_ != "expmap"}
        if "expmap" in errors:
            bad["expmap"] = (errors["expmap"], "allowed", expmap_tol)
        assert not bad, f"d={d}, c={c}, {regime}: relative errors above {tol}: {bad}"


@pytest.mark.parametrize("c", CURVATURES)
@pytest.mark.parametrize("regime,rmax,tol", REGIMES)
def test_pairwise_dist_matches_reference(c, regime, rmax, tol):
    """Closed form ||x||^2 + ||y||^2 - 2<x,y>: relative error `tol`, plus for close pairs the distance
    that float32 rounding of that expression (~4 eps (||x||^2 + ||y||^2)) corresponds to."""
    rng = np.random.default_rng(2)
    for d in DIMS:
        x = regime_points(rng, 64, d, c, regime, rmax)
        y = regime_points(rng, 48, d, c, regime, rmax)
        x64, y64 = f64(x, y)
        got = to_numpy(P.pairwise_dist(x, y, c)).astype(np.float64)
        want = ref.pairwise_dist(x64, y64, c)
        assert got.shape == (64, 48)
        a = 1 - c * ref.sqn(x64)
        b = (1 - c * ref.sqn(y64)).T
        rounding = 4 * np.finfo(np.float32).eps * (ref.sqn(x64) + ref.sqn(y64).T)
        floor = 2 / np.sqrt(c) * np.arcsinh(np.sqrt(c * rounding / (a * b)))
        excess = np.abs(got - want) - (tol * want + floor)
        assert excess.max() <= 0, f"d={d}: worst excess {excess.max():.3g}"
        # Well-separated pairs meet the plain relative tolerance.
        far = np.sqrt(((x64[:, None] - y64[None]) ** 2).sum(-1)) > 0.2 / np.sqrt(c)
        assert np.max(np.abs(got - want)[far] / want[far]) <= tol


@pytest.mark.parametrize("c", CURVATURES)
def test_identities(c):
    rng = np.random.default_rng(3)
    x = ball_points(rng, 256, 5, c, 0.9)
    y = ball_points(rng, 256, 5, c, 0.9)
    # Tangent vectors with sqrt(c)||u|| <= 3 (artanh(1 - 1e-3) = 3.8 is the largest norm the float32 ball
    # represents: beyond it expmap0 projects and the identity cannot hold).
    u = ball_points(rng, 256, 5, 1.0, 3.0) / np.float32(np.sqrt(c))
    np.testing.assert_allclose(to_numpy(P.logmap0(P.expmap0(u, c), c)), u, rtol=2e-5, atol=2e-5 / np.sqrt(c))
    v = ref.logmap(x.astype(np.float64), y.astype(np.float64), c).astype(np.float32)
    np.testing.assert_allclose(to_numpy(P.logmap(x, P.expmap(x, v, c), c)), v, rtol=1e-4, atol=1e-4 / np.sqrt(c))
    d_xy, d_yx = to_numpy(P.dist(x, y, c)), to_numpy(P.dist(y, x, c))
    np.testing.assert_array_equal(d_xy, d_yx)  # symmetric to the bit
    np.testing.assert_allclose(to_numpy(P.dist(x, x, c)), 0.0, atol=1e-6)
    np.testing.assert_allclose(to_numpy(P.logmap(x, x, c)), 0.0, atol=1e-6)
    np.testing.assert_allclose(to_numpy(P.mobius_add(x, -x, c)), 0.0, atol=1e-6)
    pw = to_numpy(P.pairwise_dist(x[:40], y[:30], c))
    elem = to_numpy(P.dist(x[:40, None, :], y[None, :30, :], c))
    np.testing.assert_allclose(pw, elem, rtol=1e-4, atol=1e-3 / np.sqrt(c))
    copies = np.repeat(x[:, None, :], 7, axis=1)
    np.testing.assert_allclose(to_numpy(P.midpoint(copies, c)), x, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(to_numpy(P.from_klein(P.to_klein(x, c), c)), x, rtol=1e-5, atol=1e-7)


def test_midpoint_axis_and_symmetry():
    x = np.array([[0.5, 0.0], [-0.5, 0.0]], np.float32)
    np.testing.assert_allclose(to_numpy(P.midpoint(x, 1.0)), [0.0, 0.0], atol=1e-7)
    batch = np.stack([x, -x])  # [2, 2, 2]
    np.testing.assert_allclose(to_numpy(P.midpoint(batch, 1.0, axis=1)), np.zeros((2, 2)), atol=1e-7)
    np.testing.assert_allclose(
        to_numpy(P.midpoint(np.transpose(batch, (1, 0, 2)), 1.0, axis=0)), np.zeros((2, 2)), atol=1e-7
    )
    with pytest.raises(ValueError, match="axis"):
        P.midpoint(x, 1.0, axis=-1)


def test_projection_keeps_points_inside():
    for c in CURVATURES:
        x = np.array([[1e3, 0.0], [0.0, 1e-15], [3.0, 4.0]], np.float32)
        p = to_numpy(P.project(x, c))
        assert np.all(np.sqrt(c) * np.linalg.norm(p, axis=-1) <= 1 - 1e-3 + 1e-6)
        np.testing.assert_array_equal(p[1], x[1])
        assert np.all(np.isfinite(to_numpy(P.dist0(p, c))))


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_curvature_is_rejected(bad):
    x = np.zeros((1, 2), np.float32)
    for fn in (P.project, P.expmap0, P.logmap0, P.dist0):
        with pytest.raises(ValueError, match="Curvature `c`"):
            fn(x, bad)
    with pytest.raises(ValueError, match="Curvature `c`"):
        P.dist(x, x, bad)


NORMS = [0.0, 1e-15, 1e-10, 1e-5, 1e-2, 0.5, 0.9, 0.999, 1.0, 10.0, 1e3]


def _sweep_inputs(c, d=4, seed=0):
    """Rows with the norms of NORMS (absolute) and random directions; the first row is exactly 0."""
    rng = np.random.default_rng(seed)
    v = rng.normal(size=(len(NORMS), d))
    v /= np.linalg.norm(v, axis=-1, keepdims=True)
    return (v * np.array(NORMS)[:, None]).astype(np.float32)


OPS = {
    "project": lambda x, y, m, c: P.project(x, c),
    "conformal_factor": lambda x, y, m, c: P.conformal_factor(P.project(x, c), c),
    "mobius_add": lambda x, y, m, c: P.mobius_add(P.project(x, c), P.project(y, c), c),
    "mobius_add_self_inverse": lambda x, y, m, c: P.mobius_add(-P.project(x, c), P.project(x, c), c),
    "expmap0": lambda x, y, m, c: P.expmap0(x, c),
    "logmap0": lambda x, y, m, c: P.logmap0(P.project(x, c), c),
    "expmap": lambda x, y, m, c: P.expmap(P.project(x, c), y, c),
    "logmap": lambda x, y, m, c: P.logmap(P.project(x, c), P.project(y, c), c),
    "logmap_same_point": lambda x, y, m, c: P.logmap(P.project(x, c), P.project(x, c), c),
    "dist": lambda x, y, m, c: P.dist(P.project(x, c), P.project(y, c), c),
    "dist_same_point": lambda x, y, m, c: P.dist(P.project(x, c), P.project(x, c), c),
    "dist0": lambda x, y, m, c: P.dist0(P.project(x, c), c),
    "pairwise_dist": lambda x, y, m, c: P.pairwise_dist(P.project(x, c), P.project(ops.concatenate([x, y]), c), c),
    "mobius_matvec": lambda x, y, m, c: P.mobius_matvec(m, P.project(x, c), c),
    "to_klein": lambda x, y, m, c: P.to_klein(P.project(x, c), c),
    "from_klein": lambda x, y, m, c: P.from_klein(P.to_klein(P.project(x, c), c), c),
    "midpoint": lambda x, y, m, c: P.midpoint(ops.stack([P.project(x, c), P.project(y, c)], axis=1), c),
    "midpoint_copies": lambda x, y, m, c: P.midpoint(ops.stack([P.project(x, c)] * 3, axis=1), c),
}


@pytest.mark.parametrize("c", CURVATURES)
@pytest.mark.parametrize("op", sorted(OPS))
def test_gradients_finite_over_extreme_norms(op, c):
    """Norms from 0 and 1e-15 to 1e3 (points past the ball are projected): value and gradients finite."""
    x = _sweep_inputs(c, seed=0)
    y = _sweep_inputs(c, seed=1)[::-1].copy()
    m = np.random.default_rng(2).normal(size=(4, 4)).astype(np.float32)
    m[:, 0] = 0.0  # a column of zeros: some M x are exactly 0 for the zero row
    value, grads = value_and_grad(lambda a, b, mm: OPS[op](a, b, mm, c), x, y, m)
    assert_all_finite(value, *grads, what=f"{op} at c={c}")
