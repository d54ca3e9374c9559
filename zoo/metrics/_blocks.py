"""Chunked query × gallery distance blocks and input checks shared by the retrieval and re-ID metrics
(private to zoo.metrics).

`_distance_blocks` walks the queries in blocks of at most `max_elements` query × gallery entries, so a
10,000 × 60,000 evaluation never holds the full distance matrix; `_embeddings` / `_labels` check the inputs
(finite [N, d] embeddings, inside the ball for the Poincaré geometry; integer labels [N]); `_sorted_top` sorts
the k nearest of every row.

Example:
    >>> from zoo.metrics._blocks import _distance_blocks
    >>> for start, d in _distance_blocks(query, gallery, "euclidean", False, 2 ** 23): ...
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import keras
import numpy as np

import zoo.geometry
from zoo.metrics._ball import ball_curvature, check_in_ball

__all__ = ["_embeddings", "_labels", "_distance_blocks", "_sorted_top", "distance_name", "GeometryLike", "ArrayLike"]

#: Anything `zoo.geometry.get` accepts: a name or alias, a geometry object or its config dict.
GeometryLike = Any
#: Embeddings as a numpy array or a backend tensor.
ArrayLike = Any


def _embeddings(x: ArrayLike, name: str, geometry: Any = None) -> np.ndarray:
    """[N, d] float32 embeddings, finite, and inside the ball when `geometry` (resolved) is the Poincaré ball."""
    x = np.asarray(keras.ops.convert_to_numpy(x) if not isinstance(x, np.ndarray) else x, dtype=np.float32)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"`{name}` must be embeddings of shape [N, d] with N >= 1; got shape {x.shape}.")
    finite = np.isfinite(x)
    if not np.all(finite):
        row = int(np.argmin(finite.all(axis=1)))
        raise ValueError(f"`{name}` has {int((~finite).sum())} non-finite values (NaN/inf embeddings); the first "
                         f"is in row {row}.")
    c = ball_curvature(geometry)
    if c is not None:
        check_in_ball(x, c, name)
    return x


def _labels(y: ArrayLike, n: int, name: str) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or len(y) != n or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"`{name}` must be integer labels of shape [{n}]; got {y.dtype} shape {y.shape}.")
    return y


def _distance_blocks(query: np.ndarray, gallery: np.ndarray, geometry: GeometryLike, exclude_self: bool,
                     max_elements: int) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (start, [rows, N_gallery] float32 distances) for consecutive query blocks."""
    geo = zoo.geometry.get(geometry)
    g = keras.ops.convert_to_tensor(gallery)
    rows = max(1, int(max_elements) // len(gallery))
    for start in range(0, len(query), rows):
        q = query[start:start + rows]
        d = np.array(keras.ops.convert_to_numpy(geo.pairwise_distance(keras.ops.convert_to_tensor(q), g)),
                     dtype=np.float32)
        if exclude_self:
            i = np.arange(len(q))
            d[i, start + i] = np.inf
        yield start, d


def _sorted_top(d: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k smallest entries of every row, in increasing distance."""
    k = min(k, d.shape[1])
    if k < d.shape[1]:
        top = np.argpartition(d, k - 1, axis=1)[:, :k]
    else:
        top = np.broadcast_to(np.arange(d.shape[1]), d.shape).copy()
    order = np.argsort(np.take_along_axis(d, top, 1), axis=1, kind="stable")
    return np.take_along_axis(top, order, 1)


def distance_name(geo) -> str:
    """The name results record for a `zoo.geometry` geometry: "euclidean", "squared_euclidean", "cosine", "angle",
    "poincare(c=...)"."""
    if geo.name == "sphere":
        return geo.distance_kind
    if geo.name == "euclidean":
        return "squared_euclidean" if geo.squared else "euclidean"
    if geo.name == "poincare":
        return f"poincare(c={float(geo.c):g})"
    return str(geo.name)
