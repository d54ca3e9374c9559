"""Euclidean space: distances (pairwise in closed form), the (weighted) mean, and the `Euclidean`
geometry object over them, on keras.ops.

Example:
    >>> zoo.geometry.euclidean.pairwise_dist(keras.ops.eye(2), keras.ops.zeros((1, 2)))  # [[1.], [1.]]

Reference:
    Snell, Swersky, Zemel, "Prototypical Networks for Few-shot Learning", NeurIPS 2017
    (squared Euclidean distance to class means).
"""

from __future__ import annotations

from keras import ops

from zoo._checks import check_bool
from zoo.geometry import numerics as nx
from zoo.geometry._tensors import Tensor, TensorLike, check_weights, float_tensors, matmul
from zoo.geometry.base import Geometry

__all__ = ["Euclidean", "sq_dist", "dist", "pairwise_sq_dist", "pairwise_dist", "mean"]


def sq_dist(x: TensorLike, y: TensorLike, keepdims: bool = False) -> Tensor:
    """||x - y||^2, broadcasting over leading axes.

    Args:
        x: points, [..., d].
        y: points, broadcastable with x.
        keepdims: keep the last axis (size 1).

    Example:
        >>> zoo.geometry.euclidean.sq_dist(keras.ops.convert_to_tensor([[3.0, 4.0]]), keras.ops.zeros((1, 2)))  # [25.]
    """
    x, y = float_tensors(x, y)
    return nx.sq_norm(x - y, keepdims=keepdims)


def dist(x: TensorLike, y: TensorLike, keepdims: bool = False) -> Tensor:
    """||x - y||, broadcasting over leading axes, with a finite gradient at x = y (norm floored at 1e-15).

    Args:
        x: points, [..., d].
        y: points, broadcastable with x.
        keepdims: keep the last axis (size 1).

    Example:
        >>> zoo.geometry.euclidean.dist(keras.ops.convert_to_tensor([[3.0, 4.0]]), keras.ops.zeros((1, 2)))  # [5.]
    """
    x, y = float_tensors(x, y)
    return nx.safe_norm(x - y, keepdims=keepdims)


def pairwise_sq_dist(x: TensorLike, y: TensorLike) -> Tensor:
    """||x_i - y_j||^2 for rows of x [n, d] and y [m, d] -> [n, m], via ||x||^2 + ||y||^2 - 2<x, y>
    (one matmul, no [n, m, d] tensor), clipped at 0 against rounding.

    Args:
        x: [n, d] points.
        y: [m, d] points.

    Example:
        >>> zoo.geometry.euclidean.pairwise_sq_dist(keras.ops.eye(2), keras.ops.zeros((1, 2)))  # [[1.], [1.]]
    """
    x, y = float_tensors(x, y)
    x2 = nx.sq_norm(x)
    y2 = ops.transpose(nx.sq_norm(y))
    return ops.relu(x2 + y2 - 2.0 * matmul(x, ops.transpose(y)))  # relu keeps float64 on torch


def pairwise_dist(x: TensorLike, y: TensorLike) -> Tensor:
    """||x_i - y_j|| for rows of x [n, d] and y [m, d] -> [n, m], finite gradient at 0 distance.

    Args:
        x: [n, d] points.
        y: [m, d] points.

    Example:
        >>> zoo.geometry.euclidean.pairwise_dist(keras.ops.eye(2), keras.ops.zeros((1, 2)))  # [[1.], [1.]]
    """
    return nx.safe_sqrt(pairwise_sq_dist(x, y))


def mean(x: TensorLike, weights: TensorLike | None = None, axis: int = -2) -> Tensor:
    """(Weighted) arithmetic mean sum_i w_i x_i / sum_i w_i of the points along `axis`.

    Args:
        x: [..., n, d] points.
        weights: optional non-negative weights broadcastable to x without its last axis. Weights readable
            on the host (numbers, numpy, concrete CPU tensors) must be finite, >= 0 and not all 0 for any
            mean (ValueError naming `weights`); traced weights are not checked.
        axis: the axis holding the points (not the last one).

    Example:
        >>> zoo.geometry.euclidean.mean(keras.ops.eye(2))  # [0.5, 0.5]
    """
    x = float_tensors(x)
    if weights is None:
        return ops.mean(x, axis=axis)
    check_weights(weights, x.shape, axis % len(x.shape))
    w = ops.expand_dims(ops.cast(weights, x.dtype), -1) + ops.zeros_like(x[..., :1])  # [..., n, 1]
    return ops.sum(w * x, axis=axis) / nx.clamp_min(ops.sum(w, axis=axis), nx.MIN_DENOM)


class Euclidean(Geometry):
    """Flat space: `zoo.geometry.euclidean`'s functions behind the `Geometry` interface.

    Args:
        squared: `distance` / `pairwise_distance` return squared distances (classic ProtoNet logits are
            -||q - p||^2).

    Example:
        >>> zoo.geometry.get("euclidean", squared=True).distance(x, y)   # ||x - y||^2
    """

    name = "euclidean"

    def __init__(self, squared: bool = False):
        self.squared = check_bool(squared, "squared", owner="zoo.geometry.Euclidean")

    def project(self, x: TensorLike) -> Tensor:
        return x

    def distance(self, x: TensorLike, y: TensorLike) -> Tensor:
        return sq_dist(x, y) if self.squared else dist(x, y)

    def pairwise_distance(self, x: TensorLike, y: TensorLike) -> Tensor:
        return pairwise_sq_dist(x, y) if self.squared else pairwise_dist(x, y)

    def mean(self, x: TensorLike, weights: TensorLike | None = None, axis: int = -2) -> Tensor:
        return mean(x, weights=weights, axis=axis)

    def get_config(self) -> dict:
        return {"name": self.name, "squared": self.squared}
