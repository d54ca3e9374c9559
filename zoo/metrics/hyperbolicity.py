"""Gromov δ-hyperbolicity of a point cloud (host-side numpy), and the curvature it suggests.

For a metric space X and a base point w, the Gromov product is (x, y)_w = ½(d(x,w) + d(y,w) - d(x,y)) and

    δ_w = max_{x,y,z} [ min((x,z)_w, (y,z)_w) - (x,y)_w ],      δ_rel = 2 δ / diam(X) ∈ [0, 1].

δ = 0 exactly for tree metrics; larger δ_rel means "less hyperbolic". With G the matrix of Gromov products,
δ_w = max(M - G) where M[x,z] = max_y min(G[x,y], G[y,z]) is the (max, min) matrix product of G with
itself. Maximising δ_w over every base point w gives the four-point definition
δ = ½ max_{x,y,z,w} (S₁ - S₂), S₁ ≥ S₂ ≥ S₃ the sorted sums d(x,y)+d(z,w), d(x,z)+d(y,w), d(x,w)+d(y,z).

Memory: the reference forms the [N, N, N] array min(G[:, :, None], G[None, :, :]) (27 GB in float64 at
N = 1500). Here the (max, min) product is taken over tiles of `block_rows` x N x `block_cols` (a few MB),
only on the upper triangle (M and G are symmetric), so memory is O(N²) (the distance and Gromov
matrices) and time O(N³).

Reference:
    Khrulkov et al., "Hyperbolic Image Embeddings", CVPR 2020, §3.2 and hyptorch/delta.py;
    Gromov, "Hyperbolic groups", 1987; Fournier, Ismail, Vigneron, "Computing the Gromov hyperbolicity
    of a discrete metric space", 2015 (the (max, min) product formulation).
"""

from __future__ import annotations

import math
import time
from typing import Any

import keras
import numpy as np

from zoo.geometry.curvature import check_c
from zoo.metrics._ball import check_in_ball

__all__ = ["delta_hyperbolicity", "gromov_delta", "pairwise_distances", "suggest_curvature", "DISK_DELTA_REL"]

#: δ_rel of samples from the Poincaré disk, as reported by Khrulkov et al. (§3.2): the value that
#: `suggest_curvature` maps to c = 1.
DISK_DELTA_REL = 0.144

#: verbose="auto" shows a progress bar when the work, tries × base points × N³, reaches this: about 5 s
#: on one core of a 2020s CPU (N = 4000, one try, 6.4e10: 37 s measured; the reference's 10 tries of
#: N = 1500: 3.4e10).
AUTO_VERBOSE_WORK = 8e9

# A distance matrix may carry float32 rounding: entries down to -NEGATIVE_TOL * max|d| count as 0, and
# |d[i, j] - d[j, i]| up to ASYMMETRY_TOL * max|d| as symmetric (a float32 sqrt(||x||^2 + ||y||^2 - 2<x,y>)
# matrix is asymmetric by up to ~2e-4 of its diameter at its smallest entries).
NEGATIVE_TOL = 1e-6
ASYMMETRY_TOL = 1e-3


def _check_verbose(verbose: Any) -> Any:
    if verbose == "auto" or (isinstance(verbose, (bool, int, np.integer)) and verbose in (0, 1, 2)):
        return verbose
    raise ValueError(f"`verbose` must be 'auto', 0, 1 or 2 (keras.utils.Progbar's modes); got {verbose!r}.")


def _progress(verbose: Any, work: float, steps: int, what: str) -> keras.utils.Progbar | None:
    """A Progbar over `steps` row blocks when `verbose` asks for it ("auto": when work >= AUTO_VERBOSE_WORK)."""
    if verbose == "auto":
        verbose = 1 if work >= AUTO_VERBOSE_WORK else 0
    if not verbose:
        return None
    print(f"δ-hyperbolicity: {what}", flush=True)
    return keras.utils.Progbar(steps, verbose=int(verbose), unit_name="row block")


def _check_distance_matrix(d: np.ndarray, name: str) -> None:
    """A ValueError naming `name` unless d is a finite, non-negative, symmetric [N, N] matrix (up to rounding)."""
    if d.ndim != 2 or d.shape[0] != d.shape[1]:
        raise ValueError(f"`{name}` must be a square [N, N] distance matrix; got shape {d.shape}.")
    if d.shape[0] == 0:
        raise ValueError(f"`{name}` is empty.")
    if not np.all(np.isfinite(d)):
        raise ValueError(f"`{name}` contains NaN or Inf.")
    scale = float(np.abs(d).max())
    negative = d < -NEGATIVE_TOL * scale
    if negative.any():
        raise ValueError(f"`{name}` has {int(negative.sum())} negative entries (the smallest {float(d.min()):g}): "
                         f"δ needs a distance matrix (non-negative and symmetric).")
    worst, n = 0.0, d.shape[0]
    for r0 in range(0, n, 512):  # row blocks: no [N, N] temporary
        worst = max(worst, float(np.abs(d[r0:r0 + 512] - d[:, r0:r0 + 512].T).max()))
    if worst > ASYMMETRY_TOL * scale:
        raise ValueError(f"`{name}` is not symmetric: |d[i, j] - d[j, i]| up to {worst:g} (largest entry "
                         f"{scale:g}); δ needs a distance matrix (non-negative and symmetric).")


def pairwise_distances(x: Any, metric: str = "euclidean", c: float = 1.0) -> np.ndarray:
    """All pairwise distances of the rows of x, float64 [N, N].

    Args:
        x: [N, d] array.
        metric: "euclidean" (the reference's choice for encoder features) or "poincare" (x in the ball of
            curvature -c; closed asinh form, see zoo.geometry.poincare.dist).
        c: curvature magnitude for "poincare". Every row of x must lie inside the ball (norm < 1/sqrt(c)):
            a ValueError names `x` and the radius.

    Example:
        >>> zoo.metrics.pairwise_distances(np.eye(3))[0, 1]   # sqrt(2)
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"x must be a 2-D array [N, d]; got shape {x.shape}.")
    if metric not in ("euclidean", "poincare"):
        raise ValueError(f"`metric` must be 'euclidean', 'poincare' or 'precomputed'; got {metric!r}.")
    if metric == "poincare":
        c = check_c(c)
        check_in_ball(x, c, "x")
    sq = np.sum(x * x, axis=1)
    diff2 = x @ x.T  # one [N, N] buffer, updated in place (N = 5000: 200 MB)
    diff2 *= -2.0
    diff2 += sq[:, None]
    diff2 += sq[None, :]
    np.maximum(diff2, 0.0, out=diff2)
    np.fill_diagonal(diff2, 0.0)
    if metric == "euclidean":
        return np.sqrt(diff2, out=diff2)
    if metric == "poincare":
        one_minus = 1.0 - c * sq
        diff2 *= c
        diff2 /= one_minus[:, None]
        diff2 /= one_minus[None, :]
        np.sqrt(diff2, out=diff2)
        np.arcsinh(diff2, out=diff2)
        diff2 *= 2.0 / math.sqrt(c)
        return diff2


def _maxmin_excess(g, block_rows, block_cols, bar=None):
    """max over x <= z of [max_y min(G[x,y], G[y,z]) - G[x,z]], tiled (no [N, N, N] array); `bar` (a Progbar)
    advances by one per row block."""
    n = g.shape[0]
    best = -np.inf
    for r0 in range(0, n, block_rows):
        r1 = min(n, r0 + block_rows)
        rows = g[r0:r1, :, None]  # [b, N, 1]
        for c0 in range(r0, n, block_cols):  # M and G are symmetric: the upper triangle suffices
            c1 = min(n, c0 + block_cols)
            m = np.minimum(rows, g[None, :, c0:c1]).max(axis=1)  # [b, bc]
            best = max(best, float((m - g[r0:r1, c0:c1]).max()))
        if bar is not None:
            bar.add(1)
    return best


def _gromov_products(d, w, dtype, rows=256):
    """G[x, y] = ½(d(x,w) + d(y,w) - d(x,y)) in `dtype`, filled by row blocks (no float64 [N, N] temporary)."""
    n = d.shape[0]
    g = np.empty((n, n), dtype=dtype)
    dw = d[w]
    for r0 in range(0, n, rows):
        r1 = min(n, r0 + rows)
        g[r0:r1] = 0.5 * (dw[None, :] + dw[r0:r1, None] - d[r0:r1])
    return g


def gromov_delta(distances: Any, base_point: int = 0, block_rows: int = 4, block_cols: int = 256,
                 dtype: str = "float32", verbose: Any = "auto") -> float:
    """Gromov δ of a finite metric space given by its distance matrix.

    Args:
        distances: [N, N] distance matrix: finite, non-negative and symmetric up to float32 rounding
            (a ValueError names `distances` otherwise).
        base_point: index of the base point w (the reference uses the first point, 0), or "all" for the
            maximum over every base point (the four-point δ; N times the work).
        block_rows, block_cols: tile sizes of the (max, min) product (memory block_rows*N*block_cols).
        dtype: dtype of the Gromov-product matrix during the (max, min) product. min/max are exact, so
            float32 only rounds G once (relative 6e-8 of diam) and runs about twice as fast as float64.
        verbose: a keras.utils.Progbar over the row blocks: 0 (off), 1, 2, or "auto" (on when N³ times the
            number of base points reaches AUTO_VERBOSE_WORK, about 5 s; N = 4000 takes ~37 s).

    Returns:
        δ (float, >= 0).

    Example:
        >>> d = zoo.metrics.pairwise_distances(np.random.rand(100, 8))
        >>> zoo.metrics.gromov_delta(d) * 2 / d.max()     # δ_rel for base point 0
    """
    d = np.asarray(distances, dtype=np.float64)
    _check_distance_matrix(d, "distances")
    verbose = _check_verbose(verbose)
    n = d.shape[0]
    bases = _bases(base_point, n)
    blocks = -(-n // int(block_rows))
    bar = _progress(verbose, float(n) ** 3 * len(bases), blocks * len(bases), f"{n} points, {len(bases)} base points")
    return _delta(d, bases, block_rows, block_cols, dtype, bar)


def _bases(base_point: Any, n: int) -> list[int]:
    if base_point == "all":
        return list(range(n))
    if isinstance(base_point, (bool, np.bool_)) or not isinstance(base_point, (int, np.integer)) \
            or not 0 <= base_point < n:
        raise ValueError(f"base_point must be in [0, {n}) or 'all'; got {base_point!r}.")
    return [int(base_point)]


def _delta(d: np.ndarray, bases: list[int], block_rows: int, block_cols: int, dtype: str, bar: Any) -> float:
    """max over the base points of δ_w, for a checked distance matrix."""
    delta = 0.0
    for w in bases:
        delta = max(delta, _maxmin_excess(_gromov_products(d, w, dtype), block_rows, block_cols, bar))
    return max(delta, 0.0)


def delta_hyperbolicity(x: Any, n_samples: int = 1500, n_tries: int = 10, seed: int = 0, metric: str = "euclidean",
                        c: float = 1.0, replace: bool = True, base_point: int = 0,
                        dtype: str = "float32", verbose: Any = "auto") -> dict[str, Any]:
    """δ and δ_rel = 2δ/diam of a point cloud, mean and std over random subsamples (the paper's estimate).

    Each try draws `n_samples` rows (with replacement, as the reference), computes their distance matrix,
    δ with the first sampled point as base point, diam = the largest distance, and δ_rel = 2δ/diam.

    Args:
        x: [N, d] features (e.g. encoder outputs; inside the ball for metric="poincare"), or an [N, N]
            distance matrix with metric="precomputed" (finite, non-negative, symmetric up to rounding).
        n_samples: points per try (the reference uses 1500).
        n_tries: number of independent subsamples (10 in the reference).
        seed: seed of the subsampling (numpy Generator).
        metric: "euclidean" (reference), "poincare" (with `c`) or "precomputed".
        c: curvature for metric="poincare".
        replace: sample with replacement (reference). Without replacement, at most N points are used.
        base_point: 0 (the first sampled point, as the reference) or "all" (max over base points, O(N⁴)).
        dtype: dtype of the (max, min) product (see `gromov_delta`).
        verbose: a keras.utils.Progbar over every try's row blocks: 0 (off), 1, 2, or "auto" (on when
            n_tries × n_samples³ (× n_samples with base_point="all") reaches AUTO_VERBOSE_WORK, about 5 s:
            the reference's 10 tries of 1500 points take ~20 s, one try of 4000 points ~37 s).

    Returns:
        dict with delta, delta_std, delta_rel, delta_rel_std, diam (means and std over tries, numpy's
        population std as the reference), the per-try lists deltas, deltas_rel, diams, and n_samples,
        n_tries, seconds.

    Example:
        >>> feats = backbone.predict(images)                          # [N, d]
        >>> r = zoo.metrics.delta_hyperbolicity(feats, n_samples=1500, n_tries=10, seed=0)
        >>> r["delta_rel"], r["delta_rel_std"], zoo.metrics.suggest_curvature(r["delta_rel"])

    Reference:
        Khrulkov et al., "Hyperbolic Image Embeddings", CVPR 2020, Table 1 (hyptorch/delta.py
        `batched_delta_hyp`).

    Departures from the reference code:
        - Tiled (max, min) product: O(N²) memory instead of an [N, N, N] array (27 GB at N = 1500).
        - δ_rel = 2δ/diam (the reference returned δ/diam until commit 6633edb, issue #12).
        - A seeded numpy Generator instead of the global np.random state.
    """
    if isinstance(n_samples, bool) or int(n_samples) < 2:
        raise ValueError(f"n_samples must be an integer >= 2; got {n_samples!r}.")
    if isinstance(n_tries, bool) or int(n_tries) < 1:
        raise ValueError(f"n_tries must be an integer >= 1; got {n_tries!r}.")
    verbose = _check_verbose(verbose)
    x = np.asarray(x)
    if not np.all(np.isfinite(x)):
        raise ValueError("x contains NaN or Inf.")
    n = x.shape[0]
    if metric == "precomputed" and (x.ndim != 2 or x.shape[1] != n):
        raise ValueError(f"metric='precomputed' needs a square [N, N] distance matrix; got shape {x.shape}.")
    if n < 2:
        raise ValueError(f"need at least 2 points; got {n}.")
    if metric == "precomputed":
        _check_distance_matrix(np.asarray(x, np.float64), "x")
    elif metric == "poincare":
        check_in_ball(x, check_c(c), "x")
    k = int(n_samples) if replace else min(int(n_samples), n)
    bases = _bases(base_point, k)
    blocks = -(-k // 4) * len(bases) * int(n_tries)
    bar = _progress(verbose, float(k) ** 3 * len(bases) * int(n_tries), blocks,
                    f"{int(n_tries)} tries of {k} points")
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    deltas, rels, diams = [], [], []
    for _ in range(int(n_tries)):
        idx = rng.choice(n, size=k, replace=replace)
        if metric == "precomputed":
            d = np.asarray(x, np.float64)[np.ix_(idx, idx)]
        else:
            d = pairwise_distances(x[idx], metric=metric, c=c)
        diam = float(d.max())
        if diam <= 0:
            raise ValueError("all sampled points coincide (diameter 0): δ_rel is undefined.")
        delta = _delta(d, bases, 4, 256, dtype, bar)
        del d
        deltas.append(delta)
        diams.append(diam)
        rels.append(2.0 * delta / diam)
    return {
        "delta": float(np.mean(deltas)),
        "delta_std": float(np.std(deltas)),
        "delta_rel": float(np.mean(rels)),
        "delta_rel_std": float(np.std(rels)),
        "diam": float(np.mean(diams)),
        "deltas": deltas,
        "deltas_rel": rels,
        "diams": diams,
        "n_samples": int(n_samples),
        "n_tries": int(n_tries),
        "seconds": time.perf_counter() - t0,
    }


def suggest_curvature(delta_rel: float, disk_delta_rel: float = DISK_DELTA_REL) -> float:
    """Curvature suggested by δ_rel: c = (disk_delta_rel / δ_rel)² (Khrulkov et al., §3.2).

    The heuristic matches the data's δ_rel to that of samples from the Poincaré disk (0.144 at c = 1):
    δ_rel is scale-free, so it presupposes embeddings whose diameter is comparable to the disk samples';
    treat the value as a starting point for a c sweep, not as a measurement. The paper's few-shot
    configs use c in 0.005 .. 0.05 with 1600-d features.

    Args:
        delta_rel: δ_rel in (0, 1].
        disk_delta_rel: δ_rel of the reference disk samples (0.144).

    Returns:
        c (float > 0).

    Example:
        >>> zoo.metrics.suggest_curvature(0.25)   # (0.144 / 0.25)**2 = 0.33
    """
    delta_rel = float(delta_rel)
    if not (delta_rel > 0 and math.isfinite(delta_rel)):
        raise ValueError(f"delta_rel must be a finite number > 0 (a tree metric has δ_rel = 0 and no finite "
                         f"curvature); got {delta_rel!r}.")
    return (float(disk_delta_rel) / delta_rel) ** 2
