"""Euclidean space: pairwise distances in closed form and the (weighted) mean, on keras.ops.

Reference:
    Snell, Swersky, Zemel, "Prototypical Networks for Few-shot Learning", NeurIPS 2017
    (squared Euclidean distance to class means).
"""

from keras import ops

from zoo.geometry import numerics as nx
from zoo.geometry.poincare import _t


def sq_dist(x, y, keepdims=False):
    """||x - y||^2, broadcasting over leading axes."""
    x, y = _t(x, y)
    return nx.sq_norm(x - y, keepdims=keepdims)


def dist(x, y, keepdims=False):
    """||x - y|| with a finite gradient at x = y."""
    x, y = _t(x, y)
    return nx.safe_norm(x - y, keepdims=keepdims)


def pairwise_sq_dist(x, y):
    """||x_i - y_j||^2 for rows of x [n, d] and y [m, d] -> [n, m], via ||x||^2 + ||y||^2 - 2<x, y>
    (one matmul, no [n, m, d] tensor), clipped at 0 against rounding.

    Example:
        >>> zoo.geometry.euclidean.pairwise_sq_dist(keras.ops.eye(2), keras.ops.zeros((1, 2)))  # [[1.], [1.]]
    """
    x, y = _t(x, y)
    x2 = nx.sq_norm(x)
    y2 = ops.transpose(nx.sq_norm(y))
    return ops.maximum(x2 + y2 - 2.0 * ops.matmul(x, ops.transpose(y)), 0.0)


def pairwise_dist(x, y):
    """||x_i - y_j|| for rows of x [n, d] and y [m, d] -> [n, m], finite gradient at 0 distance."""
    return nx.safe_sqrt(pairwise_sq_dist(x, y))


def mean(x, weights=None, axis=-2):
    """(Weighted) arithmetic mean of the points along `axis`.

    Args:
        x: [..., n, d] points.
        weights: optional non-negative weights broadcastable to x without its last axis.
        axis: the axis holding the points (not the last one).

    Example:
        >>> zoo.geometry.euclidean.mean(keras.ops.eye(2))  # [0.5, 0.5]
    """
    x = _t(x)
    if weights is None:
        return ops.mean(x, axis=axis)
    w = ops.expand_dims(ops.cast(weights, x.dtype), -1)
    return ops.sum(w * x, axis=axis) / ops.maximum(ops.sum(w, axis=axis), nx.MIN_DENOM)
