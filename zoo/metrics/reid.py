"""Person re-identification evaluation: the Market-1501 protocol (CMC, mAP in both AP variants, mINP), exactly,
query-chunked so MSMT17-size evaluation runs in bounded memory.

For each query q (pid p, camera c) the gallery is ranked by ascending distance with a *stable* order (ties by
gallery index); gallery items with the same pid AND the same camera as q are removed from the list (not
counted as misses); `m_j = 1` when the item at kept rank j (1-based) has pid p; `R = Σ m_j`. A query with
R = 0 has no valid match and is skipped (it counts in `num_queries`, not in `num_valid_queries` nor in any
mean).

    CMC(k)     = mean_valid [r_1 <= k]                     r_t = kept rank of the t-th hit
    AP (non-interpolated, torchreid / fast-reid / sklearn) = (1/R) Σ_t t / r_t
    AP (market, Zheng et al.'s official MATLAB)          = (1/R) Σ_t ((t-1)/(r_t-1) + t/r_t) / 2
                                                            ((t-1)/(r_t-1) := 1 when r_t = 1)
    INP        = R / r_R                                  (Ye et al.; mINP = mean_valid INP)

Nothing sorts gallery indices: the pid-equality mask of a query block gives the few same-pid gallery items (the
hits and the same-camera removals); the rank of each among all gallery items is found by binary search in the
row's sorted distance values (ties counted by gallery index). Every quantity above comes from those few ranks.

Reference:
    Zheng et al., "Scalable Person Re-identification: A Benchmark", ICCV 2015 (Market-1501, its evaluation
    code); Ye et al., "Deep Learning for Person Re-identification: A Survey and Outlook", TPAMI 2021 (mINP);
    Li et al., "DeepReID", CVPR 2014 (CUHK03 single-shot CMC); torchreid `metrics/rank.py` and fast-reid
    `evaluation/rank.py` (the non-interpolated AP and the valid-query rule).
"""

from __future__ import annotations

import warnings
from typing import Any

import keras
import numpy as np

import zoo.geometry
from zoo._checks import check_bool, check_choice, check_int
from zoo.metrics._blocks import ArrayLike, GeometryLike, _distance_blocks, _embeddings, _labels, distance_name

__all__ = ["evaluate_rank", "AP_VARIANTS", "MAX_ELEMENTS"]

#: The two AP definitions in use (see the module docstring).
AP_VARIANTS = ("non_interpolated", "market")
#: Default block budget: query rows × gallery size held at once (2^24 entries: a 64 MB float32 distance block,
#: its sorted copy and a 16 MB pid mask).
MAX_ELEMENTS = 2 ** 24

_OWNER = "zoo.metrics.evaluate_rank"
#: Rows with more tied wanted entries than this are ranked by a stable index sort of the row (O(Ng log Ng))
#: instead of one O(Ng) equality count per tied entry.
_TIES_PER_ROW_SORT = 16


def _numpy(x: Any) -> np.ndarray:
    if isinstance(x, (np.ndarray, list, tuple, np.generic)):
        return np.asarray(x)
    return np.asarray(keras.ops.convert_to_numpy(x))


def _distance_matrix(distances: ArrayLike) -> np.ndarray:
    d = _numpy(distances)
    if d.ndim != 2 or 0 in d.shape:
        raise ValueError(f"{_OWNER}: `distances` must be a [num_queries, num_gallery] matrix; got shape {d.shape}.")
    if d.dtype == np.float64 or d.dtype == np.float32:
        return d
    if np.issubdtype(d.dtype, np.floating):
        return d.astype(np.float32)
    if np.issubdtype(d.dtype, np.integer) or d.dtype == np.bool_:
        return d.astype(np.float64)
    raise ValueError(f"{_OWNER}: `distances` must hold real numbers; got dtype {d.dtype}.")


def _check_finite(d: np.ndarray, start: int, what: str) -> None:
    finite = np.isfinite(d)
    if not finite.all():
        row = int(np.argmin(finite.all(axis=1)))
        raise ValueError(f"{_OWNER}: {what} has {int((~finite).sum())} non-finite values (NaN/inf); the first is "
                         f"in the row of query {start + row}.")


def _ranks(d: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """0-based position of every d[rows[i], cols[i]] in the stable ascending order of its row (ties by column).

    `rows` must be sorted (np.nonzero order). One value sort per row (SIMD `np.sort`, no index sort), then two
    binary searches per wanted entry: position = #{values < v}, plus #{values == v at a smaller column} for a
    value that occurs more than once (counted directly, or by one stable index sort of rows with many ties).
    """
    sorted_d = np.sort(d, axis=1)
    values = d[rows, cols]
    less = np.empty(len(rows), np.int64)
    upto = np.empty(len(rows), np.int64)
    bounds = np.searchsorted(rows, np.arange(len(d) + 1))
    for i in np.flatnonzero(np.diff(bounds)):
        lo, hi = bounds[i], bounds[i + 1]
        less[lo:hi] = np.searchsorted(sorted_d[i], values[lo:hi], side="left")
        upto[lo:hi] = np.searchsorted(sorted_d[i], values[lo:hi], side="right")
    tied = np.flatnonzero(upto - less > 1)            # wanted values that occur more than once in their row
    if len(tied) == 0:
        return less
    n = d.shape[1]
    tied_rows, per_row = np.unique(rows[tied], return_counts=True)
    for i in tied_rows[per_row > _TIES_PER_ROW_SORT]:  # many ties in a row: one stable index sort of the row
        lo, hi = bounds[i], bounds[i + 1]
        position = np.empty(n, np.int64)
        position[np.argsort(d[i], kind="stable")] = np.arange(n)
        less[lo:hi] = position[cols[lo:hi]]
    tied = tied[np.isin(rows[tied], tied_rows[per_row <= _TIES_PER_ROW_SORT])]
    step = max(1, 2 ** 24 // n)
    for s in range(0, len(tied), step):                # few ties: + #{equal values at a smaller column}
        j = tied[s:s + step]
        equal = d[rows[j]] == values[j][:, None]
        equal &= np.arange(n)[None, :] < cols[j][:, None]
        less[j] += equal.sum(axis=1)
    return less


def _block_hits(d: np.ndarray, qp: np.ndarray, qc: np.ndarray, gp: np.ndarray, gc: np.ndarray):
    """Per query of the block: R, first/last hit rank, both AP variants (0 where R = 0), all from the ranks
    of the same-pid gallery items."""
    b = len(d)
    rows, cols = np.nonzero(gp[None, :] == qp[:, None])
    excluded = gc[cols] == qc[rows]
    rank = _ranks(d, rows, cols)
    order = np.lexsort((rank, rows))
    rows, rank, excluded = rows[order], rank[order], excluded[order]
    first = np.searchsorted(rows, rows, side="left")      # index of the row's first same-pid entry
    ex_before = np.cumsum(excluded) - excluded
    ex_before = ex_before - ex_before[first]
    hit = ~excluded
    hit_cum = np.cumsum(hit)
    t = (hit_cum - (hit_cum - hit)[first])[hit].astype(np.float64)    # 1-based hit count within the row
    kept = (rank - ex_before + 1)[hit].astype(np.float64)           # 1-based rank among the kept items
    hrows = rows[hit]
    num = np.bincount(hrows, minlength=b)
    r_first = np.zeros(b, np.int64)
    r_last = np.zeros(b, np.int64)
    r_first[hrows[t == 1]] = kept[t == 1]
    is_last = t == num[hrows]
    r_last[hrows[is_last]] = kept[is_last]
    precision = t / kept
    before = np.where(kept > 1, (t - 1) / np.maximum(kept - 1, 1), 1.0)
    safe = np.maximum(num, 1)
    ap_ni = np.bincount(hrows, weights=precision, minlength=b) / safe
    ap_mk = np.bincount(hrows, weights=0.5 * (before + precision), minlength=b) / safe
    return num, r_first, r_last, ap_ni, ap_mk


def _single_shot_ranks(d_row: np.ndarray, qp: int, qc: int, gp: np.ndarray, gc: np.ndarray,
                       rng: np.random.Generator, num_repeats: int) -> np.ndarray:
    """CUHK03 classic: [num_repeats] first-hit ranks in lists keeping one random kept image per identity."""
    order = np.argsort(d_row, kind="stable")
    kp, kc = gp[order], gc[order]
    kp = kp[~((kp == qp) & (kc == qc))]
    ids, inv = np.unique(kp, return_inverse=True)
    grouped = np.argsort(inv, kind="stable")              # kept positions, grouped by identity, each ascending
    counts = np.bincount(inv)
    starts = np.cumsum(counts) - counts
    pick = starts + np.minimum((rng.random((num_repeats, len(ids))) * counts).astype(np.int64), counts - 1)
    chosen = grouped[pick]                                 # [repeats, ids] kept position of each identity's draw
    hit = chosen[:, int(np.searchsorted(ids, qp))]
    return 1 + (chosen < hit[:, None]).sum(axis=1)


def _feature_blocks(q: np.ndarray, g: np.ndarray, geo, max_elements: int):
    """(start, [rows, Ng] float32 block) of a distance with the geometry's ranking.

    Euclidean (squared or not) and sphere distances are computed with one float32 numpy matmul per block (as
    fast as the TF backend's matmul here, measured) and ranked through an equivalent score: ||g||² - 2<q, g>
    for Euclidean (the squared distance minus the row constant ||q||²), -cos θ for the sphere (same order as
    1 - cos θ and θ, without the rounding of 1 - cos θ near 1). Other geometries use
    `geometry.pairwise_distance` on the backend.
    """
    if geo.name == "euclidean":
        g2 = np.einsum("ij,ij->i", g, g)[None, :]
        prep = "euclidean"
    elif geo.name == "sphere":
        g = g / np.maximum(np.linalg.norm(g, axis=1, keepdims=True), 1e-12)
        q = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
        prep = "sphere"
    else:
        yield from _distance_blocks(q, g, geo, False, max_elements)
        return
    rows = max(1, int(max_elements) // len(g))
    gt = np.ascontiguousarray(g.T * np.float32(-2.0 if prep == "euclidean" else -1.0))   # exact scaling
    for start in range(0, len(q), rows):
        m = q[start:start + rows] @ gt
        if prep == "euclidean":
            m += g2
        yield start, m


def evaluate_rank(distances: ArrayLike | None, query_pids: ArrayLike, gallery_pids: ArrayLike,
                  query_cams: ArrayLike, gallery_cams: ArrayLike, max_rank: int = 50, ap: str = "non_interpolated",
                  *, query_features: ArrayLike | None = None, gallery_features: ArrayLike | None = None,
                  geometry: GeometryLike = "euclidean", max_elements: int = MAX_ELEMENTS, cuhk03_classic: bool = False,
                  seed: int = 0, num_repeats: int = 10, junk_pids: Any = (), return_per_query: bool = False,
                  verbose: bool = False) -> dict[str, Any]:
    """Re-ID ranking metrics of a query set against a gallery: CMC, rank-1/5/10, mAP, mINP (Market protocol).

    Per query (pid p, camera c): stable ascending ranking of the gallery (ties by gallery index); remove the
    gallery items with pid p AND camera c; `m_j` = [pid at kept rank j is p], `R = Σ m_j`, `r_t` = kept rank
    of the t-th hit; queries with R = 0 are skipped (not valid). Over the valid queries:

        cmc[k-1] = mean [r_1 <= k]                          k = 1..max_rank
        AP  "non_interpolated" = (1/R) Σ_t t / r_t          (torchreid, fast-reid, sklearn; the default)
        AP  "market"           = (1/R) Σ_t ((t-1)/(r_t-1) + t/r_t) / 2,  (t-1)/(r_t-1) := 1 at r_t = 1
                                 (the official Market-1501 trapezoid; never larger than the first)
        INP = R / r_R,  mAP = mean AP,  mINP = mean INP

    CUHK03 classic (`cuhk03_classic=True`, only for the 20 classic CUHK03 splits, not CUHK03-NP): the CMC of
    each query is averaged over `num_repeats` draws that keep one random image per gallery identity of the
    kept list (seeded RNG, queries in order); AP and INP still use the full kept list.

    Args:
        distances: [Nq, Ng] query × gallery distances (numpy or a backend tensor; smaller = closer), or None to
            compute them from `query_features` / `gallery_features` with `geometry`. float64 distances are
            ranked in float64.
        query_pids, gallery_pids: integer identities [Nq] / [Ng]. Distractors (e.g. Market pid 0) are ordinary
            wrong matches; junk is dropped with `junk_pids` or at load time.
        query_cams, gallery_cams: integer camera ids [Nq] / [Ng].
        max_rank: length of the CMC curve (>= 1); shrunk, with a warning, to the gallery size when larger
            (torchreid does the same); the result's "max_rank" says which length was used.
        ap: "non_interpolated" (default) or "market".
        query_features, gallery_features: [Nq, d] / [Ng, d] features, used when `distances` is None.
        geometry: a `zoo.geometry.get` name, object or config ("euclidean", "cosine", "sphere", "angle",
            "poincare", ...). Euclidean and sphere blocks are computed with numpy and ranked by an equivalent
            score (||g||² - 2<q, g>; -cos θ), the others by `geometry.pairwise_distance` on the backend.
            Poincaré features must lie inside the ball.
        max_elements: largest query × gallery block held at once (>= 1): the evaluation walks the queries in
            blocks of max(1, max_elements // Ng) rows, given distances included. 2^24 holds about 0.4 GB of
            temporaries; MSMT17 (11,659 × 82,161) then needs no 3.8 GB distance matrix.
        cuhk03_classic: the single-shot CUHK03 CMC above.
        seed: seed of the CUHK03 draws.
        num_repeats: CUHK03 draws per query (torchreid: 10).
        junk_pids: gallery pids removed from every ranking (e.g. (-1,) for Market junk when the loader kept it).
        return_per_query: also return the per-query arrays below.
        verbose: a progress bar over the queries.

    Returns:
        dict with "cmc" (float64 array [max_rank]), "rank1", "rank5", "rank10", "mAP", "mINP" (floats in
        [0, 1]; rank-k = mean [r_1 <= k], exact for any gallery size), "num_valid_queries", "num_queries",
        "ap" (the variant), "distance" ("given", or the geometry: "euclidean", "squared_euclidean", "cosine",
        "angle", "poincare(c=...)"), "max_rank" (the CMC length used), "cuhk03_classic"; with
        `return_per_query`: "ap_per_query", "inp_per_query" (float64 [Nq], NaN for skipped queries),
        "first_match_rank" (int [Nq], the kept rank r_1, 0 for skipped queries) and "valid" (bool [Nq]).

    Raises:
        ValueError: shape mismatches (naming the argument), both or neither of distances/features, non-finite
            distances or features (with the query index), features outside the Poincaré ball, no valid query,
            a bad `ap`, `max_rank`, `max_elements`, `num_repeats` or `seed`.

    Example:
        >>> r = zoo.metrics.evaluate_rank(None, q_pids, g_pids, q_cams, g_cams, query_features=q_emb,
        ...                               gallery_features=g_emb, geometry="cosine")
        >>> r["rank1"], r["mAP"], r["mINP"], r["ap"]
        >>> zoo.metrics.evaluate_rank(distmat, q_pids, g_pids, q_cams, g_cams, ap="market")["mAP"]

    Reference:
        Zheng et al., ICCV 2015 (Market-1501 protocol and its MATLAB AP); Ye et al., TPAMI 2021 (mINP);
        torchreid `evaluate_rank` / fast-reid `evaluate_rank` (non-interpolated AP, valid queries, CUHK03).

    Departures:
        - Stable ranking: torchreid and fast-reid use numpy's default (unstable) argsort, so their result
          depends on how a tie between a hit and a miss falls; here ties are broken by gallery index. On
          tie-free distances the results are equal (CMC exactly, mAP to float32 rounding: torchreid's Cython
          code accumulates AP in float32).
        - CUHK03 classic draws come from a seeded `numpy.random.default_rng(seed)` (torchreid: the global,
          unseeded RNG), so the numbers are reproducible but not torchreid's draws.
        - rank-5/rank-10 are computed from r_1 directly, so they exist even when `max_rank` < 10.
    """
    ap = check_choice(ap, "ap", AP_VARIANTS, owner=_OWNER)
    max_rank = check_int(max_rank, "max_rank", minimum=1, owner=_OWNER)
    max_elements = check_int(max_elements, "max_elements", minimum=1, owner=_OWNER)
    cuhk03_classic = check_bool(cuhk03_classic, "cuhk03_classic", owner=_OWNER)
    seed = check_int(seed, "seed", minimum=0, owner=_OWNER)
    num_repeats = check_int(num_repeats, "num_repeats", minimum=1, owner=_OWNER)
    return_per_query = check_bool(return_per_query, "return_per_query", owner=_OWNER)
    given = distances is not None
    if given and (query_features is not None or gallery_features is not None):
        raise ValueError(f"{_OWNER}: pass either `distances` or `query_features`/`gallery_features`, not both.")
    if given:
        dmat = _distance_matrix(distances)
        nq, ng = dmat.shape
        geo, name = None, "given"
    else:
        if query_features is None or gallery_features is None:
            raise ValueError(f"{_OWNER}: `distances` is None, so `query_features` and `gallery_features` are both "
                             "required.")
        geo = zoo.geometry.get(geometry)
        qf = _embeddings(query_features, "query_features", geo)
        gf = _embeddings(gallery_features, "gallery_features", geo)
        if qf.shape[1] != gf.shape[1]:
            raise ValueError(f"{_OWNER}: `query_features` has dim {qf.shape[1]} but `gallery_features` has dim "
                             f"{gf.shape[1]}.")
        nq, ng = len(qf), len(gf)
        name = distance_name(geo)
    qp = _labels(query_pids, nq, "query_pids")
    gp = _labels(gallery_pids, ng, "gallery_pids")
    qc = _labels(query_cams, nq, "query_cams")
    gc = _labels(gallery_cams, ng, "gallery_cams")
    junk = np.atleast_1d(np.asarray(junk_pids if junk_pids is not None else (), dtype=np.int64))
    keep_cols = ~np.isin(gp, junk) if junk.size else None
    if keep_cols is not None and not keep_cols.all():
        gp, gc = gp[keep_cols], gc[keep_cols]
        if given:
            dmat = dmat[:, keep_cols]
        else:
            gf = gf[keep_cols]
        ng = len(gp)
        if ng == 0:
            raise ValueError(f"{_OWNER}: every gallery item has a pid in `junk_pids` {junk.tolist()}.")
    else:
        keep_cols = None
    if max_rank > ng:
        warnings.warn(f"{_OWNER}: the gallery has {ng} items < max_rank={max_rank}; the CMC curve is shrunk to "
                      f"length {ng}.", stacklevel=2)
        max_rank = ng

    if given:
        rows = max(1, max_elements // ng)
        blocks = ((s, dmat[s:s + rows]) for s in range(0, nq, rows))
        what = "`distances`"
    else:
        blocks = _feature_blocks(qf, gf, geo, max_elements)
        what = f"the {name} distance of `query_features` and `gallery_features`"
    num = np.zeros(nq, np.int64)
    r_first = np.zeros(nq, np.int64)
    r_last = np.zeros(nq, np.int64)
    ap_q = np.zeros(nq, np.float64)
    shot_ranks = np.zeros((nq, num_repeats), np.int64) if cuhk03_classic else None
    rng = np.random.default_rng(seed)
    bar = keras.utils.Progbar(nq, unit_name="query") if verbose else None
    for start, d in blocks:
        _check_finite(d, start, what)
        sl = slice(start, start + len(d))
        n_b, f_b, l_b, ap_ni, ap_mk = _block_hits(d, qp[sl], qc[sl], gp, gc)
        num[sl], r_first[sl], r_last[sl] = n_b, f_b, l_b
        ap_q[sl] = ap_ni if ap == "non_interpolated" else ap_mk
        if cuhk03_classic:
            for i in np.flatnonzero(n_b > 0):
                shot_ranks[start + i] = _single_shot_ranks(d[i], int(qp[start + i]), int(qc[start + i]), gp, gc,
                                                           rng, num_repeats)
        if bar is not None:
            bar.update(start + len(d))
    valid = num > 0
    n_valid = int(valid.sum())
    if n_valid == 0:
        raise ValueError(f"{_OWNER}: no query has a valid match (a gallery item with its pid from another camera) "
                         f"among {nq} queries and {ng} gallery items: check query_pids/gallery_pids and the cams.")
    ks = np.arange(1, max(max_rank, 10) + 1)
    if cuhk03_classic:
        ranks = shot_ranks[valid]
        curve = (ranks[:, :, None] <= ks).mean(axis=(0, 1))
    else:
        counts = np.bincount(np.minimum(r_first[valid], len(ks) + 1), minlength=len(ks) + 2)
        curve = np.cumsum(counts[1:len(ks) + 1]) / n_valid
    inp = np.where(valid, num / np.maximum(r_last, 1), np.nan)
    ap_q = np.where(valid, ap_q, np.nan)
    out = {
        "cmc": np.asarray(curve[:max_rank], np.float64),
        "rank1": float(curve[0]), "rank5": float(curve[4]), "rank10": float(curve[9]),
        "mAP": float(np.mean(ap_q[valid])), "mINP": float(np.mean(inp[valid])),
        "num_valid_queries": n_valid, "num_queries": int(nq), "ap": ap, "distance": name,
        "max_rank": int(max_rank), "cuhk03_classic": cuhk03_classic,
    }
    if return_per_query:
        out.update(ap_per_query=ap_q, inp_per_query=inp, first_match_rank=np.where(valid, r_first, 0),
                   valid=valid)
    return out
