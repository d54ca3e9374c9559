"""Worst float32 relative error of every zoo.geometry.poincare op against float64 textbook formulas.

Same setup as tests/geometry/test_poincare.py (c in {1e-3, 0.05, 1, 10}, d in {2, 16}, 512 random pairs,
norms up to 0.9/sqrt(c) "interior" and in [0.9, 0.999]/sqrt(c) "boundary"); prints a markdown table.
For expmap the inherent conditioning (how far the exact result moves under half-ulp input changes) is
printed next to it. Also the naive float32 Möbius-form distance, for comparison.

Usage:
    KERAS_BACKEND=tensorflow python benchmarks/poincare_accuracy.py
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from tests.geometry import reference as ref  # noqa: E402
from tests.geometry.test_poincare import expmap_conditioning, regime_points, rel_err  # noqa: E402
from zoo.geometry import poincare as P  # noqa: E402


def naive_dist32(x, y, c):
    x, y = x.astype(np.float32), y.astype(np.float32)
    return ref.dist(x, y, np.float32(c)).astype(np.float64)


def main():
    worst = {}
    for regime, rmax in (("interior", 0.9), ("boundary", 1 - 1e-3)):
        for c in (1e-3, 0.05, 1.0, 10.0):
            for d in (2, 16):
                rng = np.random.default_rng(1)
                x = regime_points(rng, 512, d, c, regime, rmax)
                y = regime_points(rng, 512, d, c, regime, rmax)
                x64, y64 = x.astype(np.float64), y.astype(np.float64)
                u = ref.logmap0(y64, c).astype(np.float32)
                v = ref.logmap(x64, y64, c).astype(np.float32)
                m = (rng.normal(size=(d, d)) / np.sqrt(d) * 0.5).astype(np.float32)
                k = np.asarray(P.to_klein(x, c))
                errs = {
                    "mobius_add": rel_err(P.mobius_add(x, y, c), ref.mobius_add(x64, y64, c), scale=x),
                    "expmap0": rel_err(P.expmap0(u, c), ref.expmap0(u.astype(np.float64), c)),
                    "logmap0": rel_err(P.logmap0(x, c), ref.logmap0(x64, c)),
                    "expmap": rel_err(P.expmap(x, v, c), ref.expmap(x64, v.astype(np.float64), c), scale=x),
                    "expmap (inherent conditioning)": expmap_conditioning(x64, v.astype(np.float64), c, rng),
                    "logmap": rel_err(P.logmap(x, y, c), ref.logmap(x64, y64, c)),
                    "dist": rel_err(P.dist(x, y, c), ref.dist(x64, y64, c)),
                    "dist, naive float32 Möbius form": rel_err(naive_dist32(x, y, c), ref.dist(x64, y64, c)),
                    "dist0": rel_err(P.dist0(x, c), ref.dist0(x64, c)),
                    "mobius_matvec": rel_err(P.mobius_matvec(m, x, c), ref.mobius_matvec(m.astype(np.float64), x64, c)),
                    "to_klein": rel_err(P.to_klein(x, c), ref.to_klein(x64, c)),
                    "from_klein": rel_err(P.from_klein(k, c), ref.from_klein(k.astype(np.float64), c)),
                    "midpoint": rel_err(P.midpoint(x.reshape(64, 8, d), c), ref.midpoint(x64.reshape(64, 8, d), c)),
                    "conformal_factor": rel_err(P.conformal_factor(x, c), ref.lam(x64, c)),
                }
                for op, e in errs.items():
                    worst[(op, regime)] = max(worst.get((op, regime), 0.0), e)
    ops = sorted({op for op, _ in worst})
    print("| op | interior (‖x‖ ≤ 0.9/√c) | boundary (0.9–0.999/√c) |")
    print("|---|---|---|")
    for op in ops:
        print(f"| {op} | {worst[(op, 'interior')]:.1e} | {worst[(op, 'boundary')]:.1e} |")


if __name__ == "__main__":
    main()
