"""k-reciprocal re-ranking of query x gallery distances (Zhong et al., CVPR 2017), dense and memory-light.

`zoo.metrics.re_ranking(q_g, q_q, g_g, k1=20, k2=6, lambda_value=0.3)` returns the re-ranked [Nq, Ng] distances.
`method="sparse"` (the default) gives the dense reference's result without any N x N array: neighbour lists by
chunked `argpartition`, V as a scipy CSR matrix with |R*(i)| non-zeros per row, local query expansion and the
Jaccard distance on sparse rows, for query rows against gallery columns only. With `query_features` and
`gallery_features` (and a `geometry`) instead of the three blocks, the distances are computed in column chunks
and the N x N matrix is never materialised (Market-1501, N = 19,281: peak well under 2 GB, against about
6-9 GB for the dense port).

Which distance it expects (the source of most wrong re-ranking numbers): pass the geometry's plain distance
d (Euclidean, cosine, Poincaré...); the function squares it, as Zhong's code works on squared Euclidean
distances. Pass `squared=True` when the inputs are already squared (e.g. torchreid's
`compute_distance_matrix(..., "euclidean")`, which returns squared distances): they are then used as they are.
torchreid's own `re_ranking` squares whatever it gets, so torchreid's pipeline re-ranks on the 4th power of
the Euclidean distance; reproduce it with its squared distances and `squared=False`.

Reference:
    Zhong, Zheng, Cao, Li, "Re-ranking Person Re-identification with k-reciprocal Encoding", CVPR 2017;
    the authors' Python port (zhunzhong07/person-re-ranking), as torchreid (`utils/rerank.py`, block input by
    Houjing Huang) and BoT (`utils/re_ranking.py`) ship it.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import keras
import numpy as np

import zoo.geometry
from zoo._checks import check_bool, check_choice, check_int, check_range
from zoo.metrics._ball import ball_curvature, check_in_ball
from zoo.metrics._re_ranking_dense import dense_re_ranking, half_k, working_distance
from zoo.metrics.retrieval import MAX_ELEMENTS

__all__ = ["re_ranking"]

_OWNER = "re_ranking"


# --- inputs ----------------------------------------------------------------------------------------------


def _host(x: Any, name: str) -> np.ndarray:
    """A numpy view (no copy for numpy input) of a 2-D real array."""
    if not isinstance(x, np.ndarray):
        x = keras.ops.convert_to_numpy(x)
    x = np.asarray(x)
    if x.ndim != 2:
        raise ValueError(f"{_OWNER}: `{name}` must be a 2-D distance matrix; got shape {x.shape}.")
    if x.dtype == bool or not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
        raise ValueError(f"{_OWNER}: `{name}` must hold real numbers; got dtype {x.dtype}.")
    return x


def _check_values(x: np.ndarray, name: str, max_elements: int) -> None:
    """Finite and >= 0, checked in row chunks (no full-size boolean temporary)."""
    rows = max(1, max_elements // max(1, x.shape[1]))
    for start in range(0, x.shape[0], rows):
        block = x[start:start + rows]
        bad = ~np.isfinite(block)
        if bad.any():
            r, c = np.argwhere(bad)[0]
            raise ValueError(f"{_OWNER}: `{name}` has non-finite values (first at [{start + r}, {c}]): "
                             f"{block[r, c]!r}.")
        if (block < 0).any():
            r, c = np.argwhere(block < 0)[0]
            raise ValueError(f"{_OWNER}: `{name}` must hold distances >= 0; found {block[r, c]!r} at "
                             f"[{start + r}, {c}].")


def _features(x: Any, name: str, geo: Any) -> np.ndarray:
    x = np.asarray(keras.ops.convert_to_numpy(x) if not isinstance(x, np.ndarray) else x, dtype=np.float32)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"{_OWNER}: `{name}` must be features of shape [N, d] with N >= 1; got shape {x.shape}.")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{_OWNER}: `{name}` has {int((~np.isfinite(x)).sum())} non-finite values.")
    c = ball_curvature(geo)
    if c is not None:
        check_in_ball(x, c, name)
    return x


class _Blocks:
    """The raw distance matrix D = [[q_q, q_g], [q_g^T, g_g]] read from the caller's three blocks."""

    def __init__(self, q_g: np.ndarray, q_q: np.ndarray, g_g: np.ndarray):
        self.q_g, self.q_q, self.g_g = q_g, q_q, g_g
        self.nq, self.n = q_g.shape[0], q_g.shape[0] + q_g.shape[1]

    def rows(self, start: int, stop: int) -> np.ndarray:
        """Rows start:stop of D^T (= columns of D), contiguous; the chunk never straddles the query/gallery
        boundary."""
        nq = self.nq
        if stop <= nq:
            return np.concatenate([self.q_q[:, start:stop].T, self.q_g[start:stop]], axis=1)
        return np.concatenate([self.q_g[:, start - nq:stop - nq].T, self.g_g[:, start - nq:stop - nq].T], axis=1)

    def entries(self, m: np.ndarray, i: np.ndarray) -> np.ndarray:
        """D[m, i] for index vectors m, i."""
        nq = self.nq
        out = np.empty(len(m), dtype=np.result_type(self.q_g, self.q_q, self.g_g))
        mq, iq = m < nq, i < nq
        sel = mq & iq
        out[sel] = self.q_q[m[sel], i[sel]]
        sel = mq & ~iq
        out[sel] = self.q_g[m[sel], i[sel] - nq]
        sel = ~mq & iq
        out[sel] = self.q_g[i[sel], m[sel] - nq]
        sel = ~mq & ~iq
        out[sel] = self.g_g[m[sel] - nq, i[sel] - nq]
        return out

    def dense(self) -> np.ndarray:
        return np.concatenate([np.concatenate([self.q_q, self.q_g], axis=1),
                               np.concatenate([self.q_g.T, self.g_g], axis=1)], axis=0)


class _Features:
    """D computed from features, X = [query; gallery]: D[:, C] = geometry.pairwise_distance(X[C], X)^T, so the
    rows of D^T the algorithm reads come out of the geometry contiguous, with no transpose.

    Every read of a chunk recomputes it with the same chunk boundaries, so the values are identical on every
    pass and in the dense path."""

    def __init__(self, query: np.ndarray, gallery: np.ndarray, geo: Any, max_elements: int):
        self.x = np.concatenate([query, gallery], axis=0)
        self.nq, self.n = len(query), len(self.x)
        self.geo = geo
        self.chunk = max(1, max_elements // self.n)
        self._x = keras.ops.convert_to_tensor(self.x)

    def rows(self, start: int, stop: int) -> np.ndarray:
        d = self.geo.pairwise_distance(keras.ops.convert_to_tensor(self.x[start:stop]), self._x)
        return np.asarray(keras.ops.convert_to_numpy(d), dtype=np.float32)

    def dense(self) -> np.ndarray:
        out = np.empty((self.n, self.n), dtype=np.float32)
        for start, stop in _chunks(self.n, self.nq, self.chunk):
            out[start:stop] = self.rows(start, stop)
        return out.T


def _chunks(n: int, nq: int, rows: int):
    """(start, stop) column chunks of at most `rows`, split at the query/gallery boundary nq."""
    for lo, hi in ((0, nq), (nq, n)):
        for start in range(lo, hi, rows):
            yield start, min(start + rows, hi)


# --- the memory-light algorithm ----------------------------------------------------------------------------


def _stable_top(rows: np.ndarray, k: int) -> np.ndarray:
    """First k columns of a stable argsort of every row (order by value, ties by index), via argpartition."""
    n = rows.shape[1]
    if k >= n:
        return np.argsort(rows, axis=1, kind="stable")
    part = np.argpartition(rows, k - 1, axis=1)[:, :k]
    vals = np.take_along_axis(rows, part, 1)
    kth = vals.max(axis=1)
    tied = (rows <= kth[:, None]).sum(axis=1) > k     # more candidates than k: ties straddle the k-th value
    order = np.lexsort((part, vals), axis=-1)           # by value, then by index
    top = np.take_along_axis(part, order, 1)
    if tied.any():
        top[tied] = np.argsort(rows[tied], axis=1, kind="stable")[:, :k]
    return top


def _reciprocal_mask(top: np.ndarray, k: int) -> np.ndarray:
    """mask[i, p]: i is among the first k+1 neighbours of top[i, p] (top holds >= k+1 neighbours per row)."""
    forward = top[:, :k + 1]
    backward = forward[forward]                               # [N, k+1, k+1]
    return (backward == np.arange(len(top))[:, None, None]).any(axis=2)


def _expansion_sets(top: np.ndarray, k1: int, chunk: int) -> tuple[np.ndarray, np.ndarray]:
    """CSR (indptr, indices) of R*(i) for every row: the k1-reciprocal set plus every half set R_half(j),
    j in R(i), with more than 2/3 of its members in R(i); indices sorted in each row."""
    n = len(top)
    kh = min(half_k(k1), top.shape[1] - 1)
    k1 = min(k1, top.shape[1] - 1)
    forward, forward_h = top[:, :k1 + 1], top[:, :kh + 1]
    recip = _reciprocal_mask(top, k1)                         # [N, k1+1]
    recip_h = _reciprocal_mask(top, kh)                       # [N, kh+1]
    size_h = recip_h.sum(axis=1)                              # |R_half(j)|
    counts = np.empty(n, dtype=np.int64)
    members = []
    for start in range(0, n, chunk):
        f = forward[start:start + chunk]                                  # [c, k1+1]
        r = recip[start:start + chunk]                                    # [c, k1+1]
        cand = forward_h[f]                                               # [c, k1+1, kh+1]: R_half candidates of j
        cand_ok = recip_h[f]                                              # [c, k1+1, kh+1]
        in_r = ((cand[..., None] == f[:, None, None, :]) & r[:, None, None, :]).any(axis=3)
        inside = (in_r & cand_ok).sum(axis=2)                             # |R_half(j) ∩ R(i)|
        accept = r & (inside > 2.0 / 3 * size_h[f])
        keep = cand_ok & accept[..., None]
        m = np.concatenate([np.where(r, f, -1), np.where(keep, cand, -1).reshape(len(f), -1)], axis=1)
        m.sort(axis=1)
        valid = m >= 0
        valid[:, 1:] &= m[:, 1:] != m[:, :-1]
        counts[start:start + len(f)] = valid.sum(axis=1)
        members.append(m[valid])
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    return indptr, np.concatenate(members).astype(np.int32)


def _jaccard_final(out: np.ndarray, v: Any, nq: int, lambda_value: float, max_elements: int) -> None:
    """out[q] <- d_J(q, g) * (1 - lambda) + out[q] * lambda for all query rows (out holds D' on q x g).

    s(q, g) = sum_k min(V[q,k], V[g,k]) through the inverted index (V's gallery rows as CSC columns), each
    (q, g) accumulated over k in increasing order in float32, as the reference does."""
    ng = out.shape[1]
    vq = v[:nq].tocsr()
    vq.sort_indices()
    vg = v[nq:].tocsc()
    vg.sort_indices()
    col_len = np.diff(vg.indptr)
    nz_row = np.repeat(np.arange(nq), np.diff(vq.indptr))
    per_query = np.bincount(nz_row, weights=col_len[vq.indices], minlength=nq).astype(np.int64)
    limit = max(1, max_elements)
    rows_cap = max(1, max_elements // max(1, ng))
    start = 0
    while start < nq:
        stop, total = start, 0
        while stop < nq and stop - start < rows_cap and (stop == start or total + per_query[stop] <= limit):
            total += per_query[stop]
            stop += 1
        lo, hi = vq.indptr[start], vq.indptr[stop]
        keys = vq.indices[lo:hi]
        qvals = vq.data[lo:hi]
        qrow = np.repeat(np.arange(stop - start), np.diff(vq.indptr[start:stop + 1]))
        lens = col_len[keys]
        firsts = vg.indptr[keys]
        offsets = np.repeat(firsts - (np.cumsum(lens) - lens), lens) + np.arange(lens.sum())
        mins = np.minimum(np.repeat(qvals, lens), vg.data[offsets])
        s = np.zeros((stop - start, ng), dtype=np.float32)
        np.add.at(s.reshape(-1), np.repeat(qrow, lens) * ng + vg.indices[offsets], mins)
        jaccard = 1 - s / (2.0 - s)
        out[start:stop] = jaccard * (1 - lambda_value) + out[start:stop] * lambda_value
        start = stop


def _sparse_re_ranking(source: Any, k1: int, k2: int, lambda_value: float, squared: bool, max_elements: int,
                       verbose: bool) -> np.ndarray:
    import scipy.sparse

    n, nq = source.n, source.nq
    t0 = time.perf_counter()

    def say(stage: str) -> None:
        if verbose:
            print(f"re_ranking: {stage} ({time.perf_counter() - t0:.1f} s)", file=sys.stderr, flush=True)

    k_top = min(max(k1 + 1, k2), n)
    top = np.empty((n, k_top), dtype=np.int32)
    row_max = np.empty(n, dtype=np.float32)
    out = np.empty((nq, n - nq), dtype=np.float32)
    rows = max(1, max_elements // n)
    # Pass 1: row i of the working matrix D' is column i of D over its maximum; keep top lists, maxima, q x g.
    for start, stop in _chunks(n, nq, rows):
        w = working_distance(source.rows(start, stop), squared)           # [c, N] rows of D^T
        mx = np.max(w, axis=1)
        if not np.all(mx > 0):
            bad = start + int(np.argmin(mx > 0))
            raise ValueError(f"{_OWNER}: every distance of item {bad} (row {bad} of [queries; gallery]) is 0; "
                             f"the row-max normalisation is undefined (duplicate items only?).")
        d = w / mx[:, None]                                                # [c, N] rows of D' (1.0 * w == w)
        row_max[start:stop] = mx
        top[start:stop] = _stable_top(d, k_top)
        if start < nq:
            out[start:stop] = d[:, nq:]
        del w, d
    say("neighbour lists")
    indptr, indices = _expansion_sets(top, k1, max(1, max_elements // max(1, (k1 + 1) ** 2 * (half_k(k1) + 1))))
    say(f"k-reciprocal sets ({len(indices)} entries)")
    owner = np.repeat(np.arange(n, dtype=np.int64), np.diff(indptr))
    if isinstance(source, _Blocks):
        raw = source.entries(indices.astype(np.int64), owner)
    else:                                                                  # pass 2: recompute, gather exact values
        raw = np.empty(len(indices), dtype=np.float32)
        for start, stop in _chunks(n, nq, rows):
            lo, hi = indptr[start], indptr[stop]
            block = source.rows(start, stop)
            raw[lo:hi] = block[owner[lo:hi] - start, indices[lo:hi]]
        say("gathered distances (pass 2)")
    vals = working_distance(raw, squared) / row_max[owner]
    weight = np.exp(-vals)
    data = np.empty_like(weight)
    for i in range(n):                                                     # per row, as the reference sums
        w = weight[indptr[i]:indptr[i + 1]]
        data[indptr[i]:indptr[i + 1]] = 1.0 * w / np.sum(w)
    v = scipy.sparse.csr_matrix((data, indices, indptr), shape=(n, n))
    del raw, vals, weight, owner
    k2 = min(k2, n)
    if k2 != 1:                                                            # rows added in rank order, then / k2
        acc = v[top[:, 0]]
        for t in range(1, k2):
            acc = acc + v[top[:, t]]
        acc = acc.tocsr()
        acc.data = acc.data / k2
        v = acc
        say(f"local query expansion ({v.nnz} non-zeros)")
    del top
    _jaccard_final(out, v, nq, lambda_value, max_elements)
    say("Jaccard distance and final")
    return out


def re_ranking(q_g: Any = None, q_q: Any = None, g_g: Any = None, k1: int = 20, k2: int = 6,
               lambda_value: float = 0.3, *, method: str = "sparse", query_features: Any = None,
               gallery_features: Any = None, geometry: Any = "euclidean", squared: bool = False,
               max_elements: int = MAX_ELEMENTS, verbose: bool = False) -> np.ndarray:
    """k-reciprocal re-ranked query x gallery distances (Zhong et al. 2017), [Nq, Ng] float32.

    With D the working distance (D = d^2 of the given distances d; d itself with `squared=True`) over
    all N = Nq + Ng items (queries first), D'[i, :] = D[:, i] / max D[:, i] (row-max normalisation):

        R(i)     = {j in N(i, k1+1) : i in N(j, k1+1)}           N(i, k): i's first k neighbours under D'
        R*(i)    = R(i) ∪ {R(j, round(k1/2)) : j in R(i), |R(j, ·) ∩ R(i)| > 2/3 |R(j, ·)|}
        V[i, j]  = exp(-D'[i, j]) / sum_{j' in R*(i)} exp(-D'[i, j'])  on R*(i), 0 elsewhere
        V[i]    <- mean_{j in N(i, k2)} V[j]                        (local query expansion, k2 > 1)
        d_J(q,g) = 1 - s / (2 - s),  s = sum_k min(V[q, k], V[g, k])
        final    = (1 - lambda) d_J(q, g) + lambda D'[q, g]

    Args:
        q_g, q_q, g_g: distances query x gallery [Nq, Ng], query x query [Nq, Nq], gallery x gallery
            [Ng, Ng] (numpy or tensors), plain (not squared) distances unless `squared`; all None when the
            features are given instead. They are read, never copied whole (the sparse method reads column
            chunks and single entries).
        k1: neighbourhood of the k-reciprocal sets (>= 1; 20 in the paper).
        k2: neighbours averaged by the local query expansion (>= 1; 1 = none; 6 in the paper).
        lambda_value: weight of the original distance in [0, 1] (0.3 in the paper; 1 returns D'[q, g]).
        method: "sparse" (memory-light, default) or "dense" (the reference transcription on the N x N
            matrix: several N^2 float32 arrays; small sets and tests only).
        query_features, gallery_features: [Nq, d], [Ng, d] features instead of the three blocks: d is then
            `geometry`'s pairwise distance, computed in column chunks (the sparse method computes the chunks
            twice: once for the neighbour lists, once to read the exact entries of V).
        geometry: as `zoo.metrics.retrieval_metrics` ("euclidean", "cosine", "poincare", a geometry object...).
            On the Poincaré ball, features outside the ball raise a ValueError.
        squared: the distances (given, or the geometry's) are already the working distance (e.g. squared
            Euclidean from torchreid's `compute_distance_matrix`); they are not squared again.
        max_elements: size of the largest distance chunk held at once (rows x N).
        verbose: print the stages and their times to stderr.

    Returns:
        [Nq, Ng] float32 numpy array of re-ranked distances (smaller = more similar).

    Raises:
        ValueError: blocks and features both or neither given, inconsistent or non-square shapes,
            non-finite or negative distances, k1 < 1, k2 < 1, lambda outside [0, 1], an unknown method,
            an item whose distances are all 0.

    Example:
        >>> final = zoo.metrics.re_ranking(q_g, q_q, g_g)                               # Euclidean blocks
        >>> final = zoo.metrics.re_ranking(query_features=qf, gallery_features=gf)      # never N x N
        >>> res = zoo.metrics.evaluate_rank(final, q_pids, g_pids, q_cams, g_cams)

    Reference:
        Zhong, Zheng, Cao, Li, "Re-ranking Person Re-identification with k-reciprocal Encoding", CVPR 2017;
        the authors' Python port as torchreid's `utils/rerank.py` ships it.

    Departures:
        - Neighbour lists use a stable order (ties by index); the port's `np.argsort` (quicksort) leaves the
          order of tied distances unspecified, so with exact ties the k-reciprocal sets may differ.
        - Distances are squared in float64 and rounded once to float32 (bit-identical to the port's float32
          square for float32 input).
        - Expected input: plain distances, squared here; torchreid feeds its already squared Euclidean
          distances and so re-ranks on d^4 (pass those with `squared=False` to reproduce it). Other
          geometries (cosine, Poincaré) are squared the same way, which keeps their ranking.
        - The sparse method computes the Jaccard distance for query rows against gallery columns only (the
          port computes all N columns and slices them off); the values are the same.
    """
    k1 = check_int(k1, "k1", minimum=1, owner=_OWNER)
    k2 = check_int(k2, "k2", minimum=1, owner=_OWNER)
    lambda_value = check_range(lambda_value, "lambda_value", _OWNER, 0.0, 1.0)
    method = check_choice(method, "method", ("sparse", "dense"), owner=_OWNER)
    squared = check_bool(squared, "squared", owner=_OWNER)
    max_elements = check_int(max_elements, "max_elements", minimum=1, owner=_OWNER)
    blocks = (q_g, q_q, g_g)
    feats = (query_features, gallery_features)
    if any(b is not None for b in blocks) and any(f is not None for f in feats):
        raise ValueError(f"{_OWNER}: give either the distance blocks `q_g`, `q_q`, `g_g` or `query_features` and "
                         f"`gallery_features`, not both.")
    if all(f is not None for f in feats):
        geo = zoo.geometry.get(geometry)
        qf = _features(query_features, "query_features", geo)
        gf = _features(gallery_features, "gallery_features", geo)
        if qf.shape[1] != gf.shape[1]:
            raise ValueError(f"{_OWNER}: `query_features` has dim {qf.shape[1]} but `gallery_features` has dim "
                             f"{gf.shape[1]}.")
        source: Any = _Features(qf, gf, geo, max_elements)
    elif any(f is not None for f in feats):
        raise ValueError(f"{_OWNER}: `query_features` and `gallery_features` go together; got only one of them.")
    elif any(b is None for b in blocks):
        missing = [n for n, b in zip(("q_g", "q_q", "g_g"), blocks) if b is None]
        raise ValueError(f"{_OWNER}: the distance blocks `q_g`, `q_q`, `g_g` (or the features) are required; "
                         f"missing {missing}.")
    else:
        q_g, q_q, g_g = _host(q_g, "q_g"), _host(q_q, "q_q"), _host(g_g, "g_g")
        nq, ng = q_g.shape
        if nq == 0 or ng == 0:
            raise ValueError(f"{_OWNER}: `q_g` must have at least one query and one gallery item; got {q_g.shape}.")
        if q_q.shape != (nq, nq):
            raise ValueError(f"{_OWNER}: `q_q` must be square [Nq, Nq] = [{nq}, {nq}] to match `q_g` {q_g.shape}; "
                             f"got {q_q.shape}.")
        if g_g.shape != (ng, ng):
            raise ValueError(f"{_OWNER}: `g_g` must be square [Ng, Ng] = [{ng}, {ng}] to match `q_g` {q_g.shape}; "
                             f"got {g_g.shape}.")
        for name, b in zip(("q_g", "q_q", "g_g"), (q_g, q_q, g_g)):
            _check_values(b, name, max_elements)
        source = _Blocks(q_g, q_q, g_g)
    if method == "dense":
        return dense_re_ranking(source.dense(), source.nq, k1, k2, lambda_value, squared)
    return _sparse_re_ranking(source, k1, k2, lambda_value, squared, max_elements, verbose)
