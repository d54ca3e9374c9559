"""Retrieval metrics on embeddings, host-side numpy, computed in chunks of queries (bounded memory).

recall@k, precision@k, MAP@R, mAP and nearest-centroid accuracy (train centroids, or the
exponential-triplet reference's transductive test centroids) for any geometry of `zoo.geometry`.
Distances come from `zoo.geometry.get(name).pairwise_distance` on chunks of at most `max_elements`
query × gallery entries, so a 10,000 × 60,000 evaluation never holds the full distance matrix.

Geometry names ("euclidean", "cosine", "sphere", "poincare", ...) and their aliases are resolved by
`zoo.geometry.get` alone.

Reference:
    Musgrave, Belongie, Lim, "A Metric Learning Reality Check", ECCV 2020 (MAP@R);
    Urtans et al., "Exponential Triplet Loss", ICCDA 2020 (centroid accuracy: class centroids of the
    embeddings, renormalised to unit length in the `l2` embedding space; the reference also reports the
    transductive variant with test centroids).
"""

from __future__ import annotations

from collections.abc import Iterable

import keras
import numpy as np

import zoo.geometry
from zoo.metrics._blocks import ArrayLike, GeometryLike, _distance_blocks, _embeddings, _labels, _sorted_top

__all__ = ["retrieval_metrics", "recall_at_k", "class_centroids", "nearest_centroid_accuracy"]

#: Default chunk budget: query rows × gallery size per distance block (2^23 float32 = 32 MB per block;
#: the closed-form distance holds a few such blocks at once).
MAX_ELEMENTS = 2 ** 23


def retrieval_metrics(query: ArrayLike, query_labels: ArrayLike, gallery: ArrayLike | None = None,
                      gallery_labels: ArrayLike | None = None, ks: int | Iterable[int] = (1,),
                      geometry: GeometryLike = "euclidean", map_at_r: bool = True, mean_ap: bool = False,
                      max_elements: int = MAX_ELEMENTS) -> dict[str, float]:
    """recall@k, precision@k (every k in `ks`), MAP@R and mAP of `query` against `gallery`.

        recall@k    = mean_q [any of the k nearest gallery items has q's label]
        precision@k = mean_q (#same-label among the k nearest) / k
        MAP@R       = mean_q (1/R_q) Σ_{i<=R_q} P_q(i)·rel_q(i),  R_q = #same-label gallery items
        mAP         = mean_q (1/R_q) Σ_{i: rel_q(i)} P_q(i)  over the whole ranking

    Args:
        query, query_labels: [Nq, d] embeddings (numpy or tensors) and int labels [Nq].
        gallery, gallery_labels: [Ng, d] and [Ng]; None = leave-one-out retrieval inside `query`
            (each query's own entry is excluded).
        ks: the k values (each >= 1).
        geometry: "euclidean", "cosine", "sphere", "poincare", or a `zoo.geometry` geometry/config. On the
            Poincaré ball every embedding must lie inside it (norm < 1/sqrt(c)): a ValueError names the
            argument, the radius and the largest norm.
        map_at_r: compute MAP@R (sorts the top R_max of every row).
        mean_ap: compute mAP (sorts whole rows: Nq·Ng·log Ng work).
        max_elements: largest query × gallery distance block held at once.

    Returns:
        dict with "recall@k", "precision@k" for each k, "map@r", "map" (as requested), and
        "num_queries". Queries with no same-label gallery item count as misses in recall/precision
        and are left out of MAP@R / mAP.

    Example:
        >>> zoo.metrics.retrieval_metrics(test_emb, y_test, train_emb, y_train, ks=(1, 5))["recall@1"]
    """
    geo = zoo.geometry.get(geometry)
    query = _embeddings(query, "query", geo)
    query_labels = _labels(query_labels, len(query), "query_labels")
    exclude_self = gallery is None
    if exclude_self:
        gallery, gallery_labels = query, query_labels
    else:
        if gallery_labels is None:
            raise ValueError("`gallery_labels` is required with `gallery`.")
        gallery = _embeddings(gallery, "gallery", geo)
        gallery_labels = _labels(gallery_labels, len(gallery), "gallery_labels")
    if gallery.shape[1] != query.shape[1]:
        raise ValueError(f"query has dim {query.shape[1]} but gallery has dim {gallery.shape[1]}.")
    ks = tuple(int(k) for k in np.atleast_1d(ks))
    if not ks or min(ks) < 1:
        raise ValueError(f"`ks` must be integers >= 1; got {ks!r}.")
    classes, counts = np.unique(gallery_labels, return_counts=True)
    count_of = dict(zip(classes.tolist(), counts.tolist()))
    rel_count = np.array([count_of.get(c, 0) for c in query_labels.tolist()]) - int(exclude_self)
    kmax = max(ks)
    hits = {k: 0.0 for k in ks}
    prec = {k: 0.0 for k in ks}
    map_r, ap_sum, n_valid = 0.0, 0.0, int((rel_count > 0).sum())
    for start, d in _distance_blocks(query, gallery, geo, exclude_self, max_elements):
        ql = query_labels[start:start + len(d)]
        r = rel_count[start:start + len(d)]
        match = gallery_labels[_sorted_top(d, kmax)] == ql[:, None]
        for k in ks:
            hits[k] += match[:, :k].any(1).sum()
            prec[k] += match[:, :k].sum(1).sum() / k
        if map_at_r and r.max() > 0:
            rmax = int(r.max())
            rel = (gallery_labels[_sorted_top(d, rmax)] == ql[:, None]) & (np.arange(rmax) < r[:, None])
            p_i = np.cumsum(rel, 1) / np.arange(1, rmax + 1)
            ok = r > 0
            map_r += float(((p_i * rel).sum(1)[ok] / r[ok]).sum())
        if mean_ap:
            rel = gallery_labels[np.argsort(d, axis=1, kind="stable")] == ql[:, None]
            if exclude_self:
                rel[:, -1] = False        # the query itself, at distance inf, sorts last
            p_i = np.cumsum(rel, 1) / np.arange(1, rel.shape[1] + 1)
            ok = r > 0
            ap_sum += float(((p_i * rel).sum(1)[ok] / r[ok]).sum())
    n = len(query)
    out = {"num_queries": n}
    for k in ks:
        out[f"recall@{k}"] = float(hits[k] / n)
        out[f"precision@{k}"] = float(prec[k] / n)
    if map_at_r:
        out["map@r"] = map_r / max(n_valid, 1)
    if mean_ap:
        out["map"] = ap_sum / max(n_valid, 1)
    return out


def recall_at_k(query: ArrayLike, query_labels: ArrayLike, gallery: ArrayLike | None = None,
                gallery_labels: ArrayLike | None = None, k: int = 1, geometry: GeometryLike = "euclidean",
                max_elements: int = MAX_ELEMENTS) -> float:
    """recall@k alone (see `retrieval_metrics`).

    Example:
        >>> zoo.metrics.recall_at_k(test_emb, y_test, train_emb, y_train, k=1)
    """
    return retrieval_metrics(query, query_labels, gallery, gallery_labels, ks=(k,), geometry=geometry,
                             map_at_r=False, max_elements=max_elements)[f"recall@{int(k)}"]


def _class_mean(geo, points: np.ndarray) -> np.ndarray:
    """The geometry's mean of `points` [n, d], computed on n padded up to a power of two (copies of the first
    point with weight 0): eager JAX compiles every op once per shape, and one shape per class size made centroids
    of many classes recompile every op for each class (24 s of a 76 s test); power-of-two buckets bound it to
    log2(n) shapes. The weighted mean equals the plain one up to float32 rounding."""
    n = len(points)
    size = 1 << max(0, (n - 1).bit_length())
    if size == n:
        return np.asarray(keras.ops.convert_to_numpy(geo.mean(keras.ops.convert_to_tensor(points))))
    padded = np.concatenate([points, np.repeat(points[:1], size - n, axis=0)])
    weights = np.zeros(size, dtype=points.dtype)
    weights[:n] = 1.0
    mean = geo.mean(keras.ops.convert_to_tensor(padded), weights=keras.ops.convert_to_tensor(weights))
    return np.asarray(keras.ops.convert_to_numpy(mean))


def class_centroids(embeddings: ArrayLike, labels: ArrayLike, geometry: GeometryLike = "euclidean",
                    normalize_centroids: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(classes, [C, d] centroids): the geometry's mean of each class (Euclidean mean, normalised mean
    on the sphere, Einstein midpoint in the Poincaré ball), optionally renormalised to unit length.

        c_k = mean_geometry{x_i : y_i = k},   with normalize_centroids: c_k <- c_k / ||c_k||

    Args:
        embeddings, labels: [N, d] embeddings and int labels [N].
        geometry: as `retrieval_metrics`.
        normalize_centroids: divide every centroid by its Euclidean norm. Use it for embeddings on the unit
            sphere compared with Euclidean distances (the exponential-triplet `l2` embedding space): the
            mean of unit vectors lies inside the sphere, closer to the origin the more the class spreads,
            and the reference renormalises it. A zero centroid stays zero.

    Example:
        >>> classes, centroids = zoo.metrics.class_centroids(train_emb, y_train, "cosine")
        >>> classes, centroids = zoo.metrics.class_centroids(train_emb, y_train, normalize_centroids=True)
    """
    geo = zoo.geometry.get(geometry)
    x = _embeddings(embeddings, "embeddings", geo)
    y = _labels(labels, len(x), "labels")
    classes = np.unique(y)
    cents = np.stack([_class_mean(geo, x[y == c]) for c in classes]).astype(np.float32)
    if normalize_centroids:
        norms = np.linalg.norm(cents.astype(np.float64), axis=1, keepdims=True)
        cents = (cents / np.where(norms > 0, norms, 1.0)).astype(np.float32)
    return classes, cents


def nearest_centroid_accuracy(embeddings: ArrayLike, labels: ArrayLike, train_embeddings: ArrayLike | None = None,
                              train_labels: ArrayLike | None = None, geometry: GeometryLike = "euclidean",
                              max_elements: int = MAX_ELEMENTS, normalize_centroids: bool = False) -> float:
    """Accuracy of assigning each embedding to the class of its nearest class centroid.

    Args:
        embeddings, labels: the evaluated split ([N, d], [N]).
        train_embeddings, train_labels: where the centroids come from. None = the reference's
            *transductive* protocol: centroids from the evaluated split's own embeddings and labels
            (test labels leak into the classifier; report it only for comparability).
        geometry: as `retrieval_metrics`.
        max_elements: largest embeddings × classes distance block held at once.
        normalize_centroids: renormalise the centroids to unit length (see `class_centroids`; the
            exponential-triplet reference does it in its `l2` embedding space).

    Example:
        >>> zoo.metrics.nearest_centroid_accuracy(test_emb, y_test, train_emb, y_train)   # clean
        >>> zoo.metrics.nearest_centroid_accuracy(test_emb, y_test)                       # reference's
    """
    geo = zoo.geometry.get(geometry)
    x = _embeddings(embeddings, "embeddings", geo)
    y = _labels(labels, len(x), "labels")
    if train_embeddings is None:
        classes, cents = class_centroids(x, y, geo, normalize_centroids)
    else:
        if train_labels is None:
            raise ValueError("`train_labels` is required with `train_embeddings`.")
        train = _embeddings(train_embeddings, "train_embeddings", geo)
        classes, cents = class_centroids(train, train_labels, geo, normalize_centroids)
    correct = 0
    for start, d in _distance_blocks(x, cents, geo, False, max_elements):
        correct += int((classes[np.argmin(d, axis=1)] == y[start:start + len(d)]).sum())
    return correct / len(x)
