"""Shared fixtures of the geometry tests: points of the ball at every curvature, tangent vectors, and the
float64 copies the numpy references take."""

from types import SimpleNamespace

import numpy as np
import pytest

from tests.geometry import reference as ref
from tests.geometry.points import CURVATURES, ball_points

_CACHE = {}


def _ball(c):
    """Three point sets x, y, z (256 x 5, norms <= 0.9 of the radius), tangent vectors u at 0 with
    sqrt(c)||u|| <= 3 (artanh(1 - 1e-3) = 3.8 is the largest norm the float32 ball represents: beyond it
    expmap0 projects and the inverse identities cannot hold), tangent vectors v at x reaching y, and a
    random orthogonal matrix q."""
    if c not in _CACHE:
        rng = np.random.default_rng(3)
        x, y, z = (ball_points(rng, 256, 5, c, 0.9) for _ in range(3))
        u = ball_points(rng, 256, 5, 1.0, 3.0) / np.float32(np.sqrt(c))
        v = ref.logmap(x.astype(np.float64), y.astype(np.float64), c).astype(np.float32)
        q = np.linalg.qr(rng.normal(size=(5, 5)))[0].astype(np.float32)
        _CACHE[c] = SimpleNamespace(c=c, radius=1 / np.sqrt(c), x=x, y=y, z=z, u=u, v=v, q=q)
    return _CACHE[c]


@pytest.fixture(params=CURVATURES, ids=[f"c={c:g}" for c in CURVATURES])
def ball(request):
    """Points and tangent vectors of the Poincaré ball at each curvature of CURVATURES."""
    return _ball(request.param)
