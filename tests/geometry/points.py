"""Sample points and error measures shared by the geometry tests (and benchmarks/poincare_accuracy.py)."""

import numpy as np

from tests.geometry import reference as ref
from tests.helpers import to_numpy

CURVATURES = [1e-3, 0.05, 1.0, 10.0]
# (regime, largest norm as a fraction of the radius 1/sqrt(c), relative tolerance)
REGIMES = [("interior", 0.9, 1e-5), ("boundary", 1 - 1e-3, 1e-4)]
DIMS = [2, 16]


def ball_points(rng, n, d, c, rmax, rmin=0.0):
    """n float32 points of the ball of curvature -c, random directions, norms uniform in [rmin, rmax] of
    the radius 1/sqrt(c)."""
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
