"""zoo.geometry.poincare against float64 references, curvature checks and extreme-input gradients.

The identities (inverse maps, symmetry, cancellation, midpoint properties...) are in test_identities.py.
"""

import keras
import numpy as np
import pytest
from keras import ops

import zoo.geometry._tensors
from tests.geometry import reference as ref
from tests.geometry.points import (  # noqa: F401  (re-exported: benchmarks/poincare_accuracy.py imports them here)
    CURVATURES,
    DIMS,
    REGIMES,
    ball_points,
    expmap_conditioning,
    f64,
    regime_points,
    rel_err,
)
from tests.helpers import assert_all_finite, to_numpy, value_and_grad
from zoo.geometry import poincare as P


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


def test_projection_keeps_points_inside():
    for c in CURVATURES:
        x = np.array([[1e3, 0.0], [0.0, 1e-15], [3.0, 4.0]], np.float32)
        p = to_numpy(P.project(x, c))
        assert np.all(np.sqrt(c) * np.linalg.norm(p, axis=-1) <= 1 - 1e-3 + 1e-6)
        np.testing.assert_array_equal(p[1], x[1])
        assert np.all(np.isfinite(to_numpy(P.dist0(p, c))))


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf"), np.float32(-1), np.array(0.0), "1", True])
def test_bad_curvature_is_rejected(bad):
    x = np.zeros((1, 2), np.float32)
    for fn in (P.project, P.expmap0, P.logmap0, P.dist0, P.conformal_factor, P.to_klein, P.from_klein):
        with pytest.raises(ValueError, match="`c` must be a finite number > 0"):
            fn(x, bad)
    for fn in (P.dist, P.mobius_add, P.expmap, P.logmap, P.pairwise_dist):
        with pytest.raises(ValueError, match="`c` must be a finite number > 0"):
            fn(x, x, bad)
    with pytest.raises(ValueError, match="`c` must be a finite number > 0"):
        P.midpoint(x, bad)
    with pytest.raises(ValueError, match="`c` must be a finite number > 0"):
        P.mobius_matvec(np.eye(2, dtype=np.float32), x, bad)


def test_numpy_and_tensor_curvatures_give_the_python_float_result():
    rng = np.random.default_rng(8)
    x, y = ball_points(rng, 16, 3, 0.5, 0.9), ball_points(rng, 16, 3, 0.5, 0.9)
    want = to_numpy(P.dist(x, y, 0.5))
    for c in (np.float32(0.5), np.float64(0.5), np.array(0.5), ops.convert_to_tensor(0.5)):
        np.testing.assert_array_equal(to_numpy(P.dist(x, y, c)), want)
    np.testing.assert_allclose(to_numpy(P.midpoint(np.stack([x, y], 1), ops.convert_to_tensor(0.5))),
                               to_numpy(P.midpoint(np.stack([x, y], 1), 0.5)), rtol=1e-6)


def test_midpoint_is_accurate_next_to_the_boundary():
    """Clustered points 1e-3 of the radius from the boundary: the closed form is float32-accurate (~1e-7 of the
    radius); the Klein round trip it replaces was off by ~1e-4 of the radius (1 - c||m_K||^2 cancels)."""
    rng = np.random.default_rng(9)
    for c in CURVATURES:
        v = rng.normal(size=(64, 1, 16))
        v /= np.linalg.norm(v, axis=-1, keepdims=True)
        for spread in (0.0, 1e-4, 1e-2):
            pts = v * (1 - 1e-3) / np.sqrt(c) + rng.normal(size=(64, 5, 16)) * spread / np.sqrt(16 * c)
            x = ref.project(pts, c).astype(np.float32)
            want = ref.midpoint(x.astype(np.float64), c)
            got = to_numpy(P.midpoint(x, c)).astype(np.float64)
            err = np.max(np.linalg.norm(got - want, axis=-1)) * np.sqrt(c)
            assert err < 1e-6, f"c={c}, spread={spread}: |m - ref| = {err:.2e} of the radius"
            gap = 1 - np.sqrt(c) * np.linalg.norm(got, axis=-1)
            want_gap = 1 - np.sqrt(c) * np.linalg.norm(want, axis=-1)
            assert np.max(np.abs(gap / want_gap - 1)) < 1e-3, f"c={c}, spread={spread}: distance to the boundary"


def test_midpoint_weights_broadcast_and_zero_weights(monkeypatch):
    rng = np.random.default_rng(10)
    x = ball_points(rng, 12, 3, 1.0, 0.9).reshape(4, 3, 3)
    w = np.array([1.0, 2.0, 0.5], np.float32)  # [n], broadcast over the batch of 4
    want = ref.midpoint(x.astype(np.float64), 1.0, np.broadcast_to(w, (4, 3)).astype(np.float64))
    np.testing.assert_allclose(to_numpy(P.midpoint(x, 1.0, weights=w)), want, rtol=1e-5, atol=1e-7)
    zero = np.zeros((4, 3), np.float32)
    with pytest.raises(ValueError, match="`weights` sum to 0"):  # host-readable weights are checked (issue #13)
        P.midpoint(x, 1.0, weights=zero)
    # Weights that cannot be read on the host (traced, on an accelerator) are not checked: all-zero gives 0 with
    # finite gradients.
    monkeypatch.setattr(zoo.geometry._tensors, "host_value", lambda t: None)
    zero = keras.ops.convert_to_tensor(zero)
    value, grads = value_and_grad(lambda a, b: P.midpoint(a, 1.0, weights=b), x, zero)
    np.testing.assert_array_equal(to_numpy(P.midpoint(x, 1.0, weights=zero)), 0.0)
    assert_all_finite(value, *grads, what="midpoint with all weights 0")


def _float64_supported():
    return keras.backend.standardize_dtype(ops.zeros((1,), dtype="float64").dtype) == "float64"


@pytest.mark.parametrize(
    "op", ["pairwise_dist", "from_klein", "midpoint", "dist", "expmap0", "mobius_add", "mobius_matvec"]
)
def test_float64_inputs_give_float64_results(op):
    """On torch, keras' maximum, minimum and matmul return float32 for float64 inputs; every op keeps float64
    (and its accuracy) on every backend that has float64 (JAX without x64 does not)."""
    if not _float64_supported():
        pytest.skip("float64 is not enabled on this backend")
    c = 0.05
    rng = np.random.default_rng(11)
    x64 = ball_points(rng, 24, 4, c, 0.999, 0.9).astype(np.float64)
    y64 = ball_points(rng, 24, 4, c, 0.999, 0.9).astype(np.float64)
    k64 = ref.to_klein(x64, c)
    m64 = np.eye(4) * 0.5
    got, want = {
        "pairwise_dist": (lambda: P.pairwise_dist(x64, y64, c), lambda: ref.pairwise_dist(x64, y64, c)),
        "from_klein": (lambda: P.from_klein(k64, c), lambda: ref.from_klein(k64, c)),
        "midpoint": (lambda: P.midpoint(x64.reshape(6, 4, 4), c), lambda: ref.midpoint(x64.reshape(6, 4, 4), c)),
        "dist": (lambda: P.dist(x64, y64, c), lambda: ref.dist(x64, y64, c)),
        "expmap0": (lambda: P.expmap0(ref.logmap0(x64, c), c), lambda: x64),
        "mobius_add": (lambda: P.mobius_add(x64, y64, c), lambda: ref.mobius_add(x64, y64, c)),
        "mobius_matvec": (lambda: P.mobius_matvec(m64, x64, c), lambda: ref.mobius_matvec(m64, x64, c)),
    }[op]
    out = got()
    assert keras.backend.standardize_dtype(out.dtype) == "float64"
    np.testing.assert_allclose(to_numpy(out), want(), rtol=1e-9, atol=1e-9 / np.sqrt(c))


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
