"""zoo.metrics.hyperbolicity: δ = 0 on trees, agreement with brute-force definitions, memory at N = 1500,
δ_rel in [0, 1], the curvature suggestion, and bad input. Host-side numpy (same on every backend)."""

import itertools
import math
import tracemalloc

import numpy as np
import pytest
from scipy.sparse.csgraph import shortest_path

from zoo.metrics.hyperbolicity import (
    DISK_DELTA_REL,
    delta_hyperbolicity,
    gromov_delta,
    pairwise_distances,
    suggest_curvature,
)


def random_tree_metric(rng, n):
    """Shortest-path distances of a random weighted tree on n nodes (a tree metric: δ = 0)."""
    adj = np.zeros((n, n))
    for i in range(1, n):
        j = rng.integers(0, i)
        adj[i, j] = adj[j, i] = rng.uniform(0.1, 2.0)
    return shortest_path(adj, directed=False)


def brute_four_point(d):
    """O(N^4): δ = ½ max over quadruples of (largest - second largest) of the three pair sums."""
    n, best = len(d), 0.0
    for x, y, z, w in itertools.product(range(n), repeat=4):
        s = sorted((d[x, y] + d[z, w], d[x, z] + d[y, w], d[x, w] + d[y, z]), reverse=True)
        best = max(best, (s[0] - s[1]) / 2)
    return best


def brute_gromov(d, w):
    """O(N^3): max over x, y, z of min((x,z)_w, (y,z)_w) - (x,y)_w with a fixed base point w."""
    g = 0.5 * (d[:, w][:, None] + d[w][None, :] - d)
    n, best = len(d), 0.0
    for x, y, z in itertools.product(range(n), repeat=3):
        best = max(best, min(g[x, z], g[y, z]) - g[x, y])
    return best


def test_tree_metric_has_delta_zero():
    rng = np.random.default_rng(0)
    d = random_tree_metric(rng, 200)
    assert gromov_delta(d, dtype="float64") <= 1e-12 * d.max()
    assert gromov_delta(d[:30, :30], base_point="all", dtype="float64") <= 1e-12 * d.max()
    r = delta_hyperbolicity(d, n_samples=150, n_tries=3, metric="precomputed", seed=1)
    assert r["delta_rel"] <= 1e-6 and r["delta_rel_std"] <= 1e-6
    # A non-tree (points in the plane) is not 0.
    assert delta_hyperbolicity(rng.normal(size=(200, 2)), n_samples=100, n_tries=1)["delta_rel"] > 0.05


@pytest.mark.parametrize("metric", ["euclidean", "poincare"])
def test_agrees_with_brute_force_definitions(metric):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(11, 4))
    if metric == "poincare":
        x = 0.9 * x / (1 + np.linalg.norm(x, axis=1, keepdims=True))  # inside the unit ball
    d = pairwise_distances(x, metric=metric, c=1.0)
    four_point = brute_four_point(d)
    assert gromov_delta(d, base_point="all", dtype="float64") == pytest.approx(four_point, rel=1e-12)
    assert gromov_delta(d, base_point="all") == pytest.approx(four_point, rel=1e-5)  # float32 default
    for w in (0, 5):
        want = brute_gromov(d, w)
        assert want <= four_point + 1e-12 and four_point <= 2 * want + 1e-12  # δ_w <= δ <= 2 δ_w
        for rows, cols in ((1, 1), (3, 4), (4, 256)):  # tiling does not change the result
            got = gromov_delta(d, base_point=w, block_rows=rows, block_cols=cols, dtype="float64")
            assert got == pytest.approx(want, rel=1e-12)


def test_reference_protocol_and_memory_at_n_1500():
    """The paper's estimate (1500 points with replacement, base point = first sample) with peak traced
    memory far below 1 GB (the reference's [N, N, N] array is 27 GB)."""
    rng = np.random.default_rng(2)
    feats = rng.normal(size=(3000, 32)).astype(np.float32)
    tracemalloc.start()
    try:
        r = delta_hyperbolicity(feats, n_samples=1500, n_tries=1, seed=0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1e9, f"peak {peak / 1e6:.0f} MB"
    assert peak < 200e6, f"peak {peak / 1e6:.0f} MB"  # O(N^2): the 1500^2 distance + Gromov matrices
    assert 0 < r["delta_rel"] <= 1 and r["n_samples"] == 1500 and len(r["deltas_rel"]) == 1
    # same seed, same subsample, same result; the mean and std are over tries
    r2 = delta_hyperbolicity(feats, n_samples=200, n_tries=4, seed=3)
    r3 = delta_hyperbolicity(feats, n_samples=200, n_tries=4, seed=3)
    assert r2["deltas_rel"] == r3["deltas_rel"]
    assert r2["delta_rel"] == pytest.approx(np.mean(r2["deltas_rel"]))
    assert r2["delta_rel_std"] == pytest.approx(np.std(r2["deltas_rel"]))
    assert r2["delta_rel"] == pytest.approx(2 * np.mean(np.array(r2["deltas"]) / np.array(r2["diams"])))


def test_suggest_curvature():
    assert suggest_curvature(DISK_DELTA_REL) == pytest.approx(1.0)
    assert suggest_curvature(0.25) == pytest.approx((0.144 / 0.25) ** 2)
    assert suggest_curvature(0.288) == pytest.approx(0.25)
    for bad in (0.0, -0.1, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="delta_rel must be a finite number > 0"):
            suggest_curvature(bad)


def test_bad_input():
    with pytest.raises(ValueError, match="NaN or Inf"):
        delta_hyperbolicity(np.array([[0.0, np.nan], [1.0, 2.0]]), n_samples=2)
    with pytest.raises(ValueError, match="diameter 0"):
        delta_hyperbolicity(np.ones((5, 3)), n_samples=5, n_tries=1)
    with pytest.raises(ValueError, match="square"):
        delta_hyperbolicity(np.ones((5, 3)), metric="precomputed")
    with pytest.raises(ValueError, match="n_samples must be an integer >= 2"):
        delta_hyperbolicity(np.ones((5, 3)), n_samples=1)
    with pytest.raises(ValueError, match="`x` has 1 of 2 points outside the Poincaré ball"):
        pairwise_distances(np.array([[2.0, 0.0], [0.0, 0.0]]), metric="poincare", c=1.0)
    with pytest.raises(ValueError, match="metric"):
        pairwise_distances(np.eye(3), metric="cosine")
    assert math.isclose(pairwise_distances(np.eye(3))[0, 1], math.sqrt(2))
