"""Identities of the Poincaré ball, one test each, at every curvature (the `ball` fixture of conftest.py).

Each identity holds in exact arithmetic; the tolerances are what float32 allows for points at up to 0.9 of
the radius. Numerics against the float64 textbook formulas are in test_poincare.py.
"""

import numpy as np
import pytest

from tests.geometry import reference as ref
from tests.helpers import to_numpy
from zoo.geometry import poincare as P


def test_logmap0_inverts_expmap0(ball):
    c, u, x = ball.c, ball.u, ball.x
    np.testing.assert_allclose(to_numpy(P.logmap0(P.expmap0(u, c), c)), u, rtol=2e-5, atol=2e-5 / np.sqrt(c))
    np.testing.assert_allclose(to_numpy(P.expmap0(P.logmap0(x, c), c)), x, rtol=2e-5, atol=1e-6 / np.sqrt(c))


def test_logmap_inverts_expmap(ball):
    c, x, v = ball.c, ball.x, ball.v
    np.testing.assert_allclose(to_numpy(P.logmap(x, P.expmap(x, v, c), c)), v, rtol=1e-4, atol=1e-4 / np.sqrt(c))


def test_maps_at_the_origin_are_the_maps_at_zero(ball):
    c, u, x = ball.c, ball.u[:, :] * 0.3, ball.x
    zero = np.zeros_like(x)
    np.testing.assert_allclose(to_numpy(P.expmap(zero, u, c)), to_numpy(P.expmap0(u, c)), rtol=1e-5,
                               atol=1e-6 / np.sqrt(c))
    np.testing.assert_allclose(to_numpy(P.logmap(zero, x, c)), to_numpy(P.logmap0(x, c)), rtol=1e-5,
                               atol=1e-6 / np.sqrt(c))


def test_dist_is_symmetric_to_the_bit(ball):
    c, x, y = ball.c, ball.x, ball.y
    np.testing.assert_array_equal(to_numpy(P.dist(x, y, c)), to_numpy(P.dist(y, x, c)))


def test_dist_and_logmap_vanish_at_the_same_point(ball):
    c, x = ball.c, ball.x
    np.testing.assert_allclose(to_numpy(P.dist(x, x, c)), 0.0, atol=1e-6)
    np.testing.assert_allclose(to_numpy(P.logmap(x, x, c)), 0.0, atol=1e-6)


def test_mobius_inverse_and_identity(ball):
    """x (+) (-x) = 0 and 0 is the neutral element on both sides."""
    c, x = ball.c, ball.x
    zero = np.zeros_like(x)
    np.testing.assert_allclose(to_numpy(P.mobius_add(x, -x, c)), 0.0, atol=1e-6)
    np.testing.assert_allclose(to_numpy(P.mobius_add(zero, x, c)), x, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(to_numpy(P.mobius_add(x, zero, c)), x, rtol=1e-6, atol=1e-7)


def test_left_cancellation(ball):
    """(-x) (+) (x (+) y) = y."""
    c, x, y = ball.c, ball.x, ball.y
    got = to_numpy(P.mobius_add(-x, P.mobius_add(x, y, c), c))
    np.testing.assert_allclose(got, y, rtol=1e-4, atol=1e-4 / np.sqrt(c))


def test_gyrocommutative_norm(ball):
    """||x (+) y|| = ||y (+) x|| (the two differ by a gyration, an isometry)."""
    c, x, y = ball.c, ball.x, ball.y
    n_xy = np.linalg.norm(to_numpy(P.mobius_add(x, y, c)), axis=-1)
    n_yx = np.linalg.norm(to_numpy(P.mobius_add(y, x, c)), axis=-1)
    np.testing.assert_allclose(n_xy, n_yx, rtol=1e-5, atol=1e-7 / np.sqrt(c))


def test_left_translation_is_an_isometry(ball):
    """d(a (+) x, a (+) y) = d(x, y)."""
    c, x, y, a = ball.c, ball.x, ball.y, ball.z * np.float32(0.5)
    moved = to_numpy(P.dist(P.mobius_add(a, x, c), P.mobius_add(a, y, c), c))
    np.testing.assert_allclose(moved, to_numpy(P.dist(x, y, c)), rtol=1e-4, atol=1e-4 / np.sqrt(c))


def test_dist_is_the_mobius_form(ball):
    """The asinh form of dist equals the textbook (2/sqrt c) artanh(sqrt(c)||(-x) (+) y||)."""
    c, x, y = ball.c, ball.x, ball.y
    w = to_numpy(P.mobius_add(-x, y, c)).astype(np.float64)
    textbook = 2 / np.sqrt(c) * np.arctanh(np.sqrt(c) * np.linalg.norm(w, axis=-1))
    np.testing.assert_allclose(to_numpy(P.dist(x, y, c)), textbook, rtol=1e-4)


def test_dist_is_the_length_of_the_logmap(ball):
    """d(x, y) = lambda_x ||log_x(y)|| and d(0, x) = dist0(x) = 2 ||log_0(x)||."""
    c, x, y = ball.c, ball.x, ball.y
    lam = to_numpy(P.conformal_factor(x, c))[:, 0]
    length = lam * np.linalg.norm(to_numpy(P.logmap(x, y, c)), axis=-1)
    np.testing.assert_allclose(length, to_numpy(P.dist(x, y, c)), rtol=1e-4)
    d0 = to_numpy(P.dist0(x, c))
    np.testing.assert_allclose(d0, to_numpy(P.dist(np.zeros_like(x), x, c)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(d0, 2 * np.linalg.norm(to_numpy(P.logmap0(x, c)), axis=-1), rtol=1e-5, atol=1e-6)


def test_triangle_inequality(ball):
    c, x, y, z = ball.c, ball.x, ball.y, ball.z
    d_xz, d_xy, d_yz = (to_numpy(P.dist(a, b, c)) for a, b in ((x, z), (x, y), (y, z)))
    assert np.all(d_xz <= (d_xy + d_yz) * (1 + 1e-5) + 1e-6)


def test_pairwise_dist_is_dist_broadcast(ball):
    c, x, y = ball.c, ball.x, ball.y
    pw = to_numpy(P.pairwise_dist(x[:40], y[:30], c))
    elem = to_numpy(P.dist(x[:40, None, :], y[None, :30, :], c))
    np.testing.assert_allclose(pw, elem, rtol=1e-4, atol=1e-3 / np.sqrt(c))


def test_klein_round_trip(ball):
    c, x = ball.c, ball.x
    np.testing.assert_allclose(to_numpy(P.from_klein(P.to_klein(x, c), c)), x, rtol=1e-5, atol=1e-7)


def test_project_is_idempotent_and_keeps_inside_points(ball):
    c, x = ball.c, ball.x
    np.testing.assert_array_equal(to_numpy(P.project(x, c)), x)
    far = to_numpy(P.project(x / np.linalg.norm(x, axis=-1, keepdims=True) * np.float32(1e3 / np.sqrt(c)), c))
    np.testing.assert_allclose(np.sqrt(c) * np.linalg.norm(far.astype(np.float64), axis=-1), 1 - 1e-3, rtol=5e-6)
    np.testing.assert_allclose(to_numpy(P.project(far, c)), far, rtol=1e-6)  # again: at most an ulp moves


def test_mobius_matvec_identity_and_composition(ball):
    """I (x) x = x and M2 (x) (M1 (x) x) = (M1 M2) (x) x (keras convention: M x is x @ M)."""
    c, x = ball.c, ball.x * np.float32(0.5)
    rng = np.random.default_rng(4)
    np.testing.assert_allclose(to_numpy(P.mobius_matvec(np.eye(5, dtype=np.float32), x, c)), x, rtol=1e-5,
                               atol=1e-7 / np.sqrt(c))
    m1, m2 = (np.float32(0.5) * np.eye(5, dtype=np.float32) + rng.normal(size=(5, 5)).astype(np.float32) * 0.1
              for _ in range(2))
    two_steps = to_numpy(P.mobius_matvec(m2, P.mobius_matvec(m1, x, c), c))
    np.testing.assert_allclose(two_steps, to_numpy(P.mobius_matvec(m1 @ m2, x, c)), rtol=1e-4, atol=1e-6 / np.sqrt(c))


def test_midpoint_of_copies_is_the_point(ball):
    c, x = ball.c, ball.x
    copies = np.repeat(x[:, None, :], 7, axis=1)
    np.testing.assert_allclose(to_numpy(P.midpoint(copies, c)), x, rtol=1e-5, atol=1e-7)


def test_midpoint_of_two_points_is_the_geodesic_midpoint(ball):
    """d(x, m) = d(m, y) = d(x, y) / 2 for the (unweighted) Einstein midpoint m of x and y."""
    c, x, y = ball.c, ball.x, ball.y
    m = to_numpy(P.midpoint(np.stack([x, y], axis=1), c))
    half = to_numpy(P.dist(x, y, c)) / 2
    np.testing.assert_allclose(to_numpy(P.dist(x, m, c)), half, rtol=1e-4, atol=1e-5 / np.sqrt(c))
    np.testing.assert_allclose(to_numpy(P.dist(m, y, c)), half, rtol=1e-4, atol=1e-5 / np.sqrt(c))


def test_midpoint_ignores_order_and_weight_scale(ball):
    c = ball.c
    pts = np.stack([ball.x, ball.y, ball.z], axis=1)  # [256, 3, 5]
    w = np.random.default_rng(5).uniform(0.1, 2.0, size=pts.shape[:2]).astype(np.float32)
    m = to_numpy(P.midpoint(pts, c, weights=w))
    np.testing.assert_allclose(to_numpy(P.midpoint(pts[:, ::-1], c, weights=w[:, ::-1])), m, rtol=1e-5,
                               atol=1e-7 / np.sqrt(c))
    np.testing.assert_allclose(to_numpy(P.midpoint(pts, c, weights=w * 8)), m, rtol=1e-5, atol=1e-7 / np.sqrt(c))
    np.testing.assert_allclose(to_numpy(P.midpoint(pts, c, weights=np.ones_like(w))), to_numpy(P.midpoint(pts, c)),
                               rtol=1e-5, atol=1e-7 / np.sqrt(c))


def test_midpoint_commutes_with_rotations(ball):
    """Rotations about the origin are isometries fixing 0: midpoint(x Q) = midpoint(x) Q."""
    c, q = ball.c, ball.q
    pts = np.stack([ball.x, ball.y, ball.z], axis=1)
    np.testing.assert_allclose(to_numpy(P.midpoint(pts @ q, c)), to_numpy(P.midpoint(pts, c)) @ q, rtol=1e-4,
                               atol=1e-6 / np.sqrt(c))


def test_midpoint_matches_the_klein_definition(ball):
    """The closed form equals from_klein(sum gamma k / sum gamma) in float64 numpy (also weighted)."""
    c = ball.c
    pts = np.stack([ball.x, ball.y, ball.z], axis=1)
    w = np.random.default_rng(6).uniform(0.0, 2.0, size=pts.shape[:2])
    np.testing.assert_allclose(to_numpy(P.midpoint(pts, c)), ref.midpoint(pts.astype(np.float64), c), rtol=1e-5,
                               atol=1e-6 / np.sqrt(c))
    np.testing.assert_allclose(to_numpy(P.midpoint(pts, c, weights=w.astype(np.float32))),
                               ref.midpoint(pts.astype(np.float64), c, w), rtol=1e-5, atol=1e-6 / np.sqrt(c))


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


def test_small_curvature_limit_is_twice_the_euclidean_distance():
    """d_c(x, y) -> 2||x - y|| as c -> 0 (conformal factor 2 at the origin)."""
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=(2, 64, 4)).astype(np.float32)
    np.testing.assert_allclose(to_numpy(P.dist(x, y, 1e-9)), 2 * np.linalg.norm(x - y, axis=-1), rtol=1e-5)
