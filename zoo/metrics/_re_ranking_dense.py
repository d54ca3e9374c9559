"""Dense reference of k-reciprocal re-ranking (private to zoo.metrics; the public entry is
`zoo.metrics.re_ranking.re_ranking(..., method="dense")`).

A line-by-line transcription of the semantics of the authors' published Python port (Zhong et al.'s
`re_ranking`, as torchreid's `utils/rerank.py` and the BoT `utils/re_ranking.py` ship it) on the full
(Nq+Ng)^2 matrix: it holds several N x N float32 arrays (Market-1501, N = 19,281: about 1.5 GB each) and is
the yardstick the memory-light version is tested against, not the tool for large sets.

Example:
    >>> from zoo.metrics._re_ranking_dense import dense_re_ranking
    >>> final = dense_re_ranking(dist, num_query=3368, k1=20, k2=6, lambda_value=0.3, squared=False)
"""

from __future__ import annotations

import numpy as np

__all__ = ["dense_re_ranking", "working_distance", "half_k"]


def working_distance(d: np.ndarray, squared: bool) -> np.ndarray:
    """float32 working distance: d^2 (squared in float64, then rounded once to float32: for float32 input this
    is bit-identical to the reference's float32 `np.power(d, 2)`), or d itself (cast) when `squared`."""
    if squared:
        return np.asarray(d, dtype=np.float32)
    if d.dtype == np.float32:
        return np.square(d)                  # correctly rounded: the same as squaring in float64 and rounding
    return np.square(np.asarray(d, dtype=np.float64)).astype(np.float32)


def half_k(k1: int) -> int:
    """The reference's k for the expansion sets: int(np.around(k1 / 2)) (numpy rounds half to even: 5 -> 2)."""
    return int(np.around(k1 / 2.0))


def _reciprocal(rank: np.ndarray, i: int, k: int) -> np.ndarray:
    """k-reciprocal neighbours of i in the order of i's forward list: j in i's first k+1 with i in j's first k+1."""
    forward = rank[i, :k + 1]
    backward = rank[forward, :k + 1]
    return forward[(backward == i).any(axis=1)]


def dense_re_ranking(dist: np.ndarray, num_query: int, k1: int, k2: int, lambda_value: float,
                     squared: bool) -> np.ndarray:
    """Re-ranked [Nq, Ng] float32 distances from the full [N, N] matrix of raw distances (queries first).

    Steps (Zhong et al. 2017, as the published port computes them, float32 throughout):
      1. D = d^2 (or d with `squared`) as float32; row i of the working matrix is column i of D divided by
         that column's maximum (the port divides by column maxima and transposes; for a symmetric D this
         is the row-max normalisation).
      2. rank = per-row argsort (stable here: ties in index order; the port's default quicksort leaves the
         order of ties unspecified).
      3. R(i) = k1-reciprocal neighbours of i; for each j in R(i), R_half(j) (k = round(k1/2)) is added when
         more than 2/3 of it lies in R(i); R*(i) = the sorted union.
      4. V[i, R*(i)] = exp(-D'[i, R*(i)]) / sum(...).
      5. k2 > 1: V[i] <- mean of V over i's first k2 neighbours (rows added in rank order).
      6. For each query i: s_g = sum_k min(V[i,k], V[g,k]) accumulated over i's non-zeros k in increasing
         order, d_J = 1 - s / (2 - s).
      7. final = d_J * (1 - lambda) + D' * lambda on the query x gallery block.

    Args:
        dist: [N, N] raw distances, rows/columns ordered queries then gallery.
        num_query: Nq.
        k1, k2, lambda_value: validated parameters.
        squared: `dist` already holds the working (squared) distance; do not square it again.

    Returns:
        [Nq, N - Nq] float32.
    """
    n = dist.shape[0]
    original = working_distance(dist, squared)
    col_max = np.max(original, axis=0)
    if not np.all(col_max > 0):
        bad = int(np.argmin(col_max > 0))
        raise ValueError(f"re_ranking: every distance of item {bad} (row {bad} of [queries; gallery]) is 0; the "
                         f"row-max normalisation is undefined (duplicate items only?).")
    original = np.transpose(1.0 * original / col_max)
    rank = np.argsort(original, axis=1, kind="stable").astype(np.int32)
    kh = half_k(k1)
    v = np.zeros_like(original, dtype=np.float32)
    for i in range(n):
        recip = _reciprocal(rank, i, k1)
        expansion = recip
        for j in recip:
            cand = _reciprocal(rank, int(j), kh)
            if len(np.intersect1d(cand, recip)) > 2.0 / 3 * len(cand):
                expansion = np.append(expansion, cand)
        expansion = np.unique(expansion)
        weight = np.exp(-original[i, expansion])
        v[i, expansion] = 1.0 * weight / np.sum(weight)
    original = original[:num_query]
    if k2 != 1:
        v_qe = np.zeros_like(v, dtype=np.float32)
        for i in range(n):
            v_qe[i, :] = np.mean(v[rank[i, :k2], :], axis=0)
        v = v_qe
    del rank
    inverted = [np.where(v[:, k] != 0)[0] for k in range(n)]
    jaccard = np.zeros_like(original, dtype=np.float32)
    for i in range(num_query):
        s = np.zeros(shape=[1, n], dtype=np.float32)
        for k in np.where(v[i, :] != 0)[0]:
            rows = inverted[k]
            s[0, rows] = s[0, rows] + np.minimum(v[i, k], v[rows, k])
        jaccard[i] = 1 - s / (2.0 - s)
    final = jaccard * (1 - lambda_value) + original * lambda_value
    return final[:num_query, num_query:]
