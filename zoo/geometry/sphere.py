"""The unit hypersphere: normalisation, cosine similarity and angles, and the `Sphere` geometry object
over them, on keras.ops.

Used by the hyperspherical heads (CosineHead, ArcFace/CosFace/SphereFace, DistArc angular term,
fixed prototypes) and as the "sphere" geometry of ProtoNet and retrieval.

Example:
    >>> zoo.geometry.sphere.angle(keras.ops.eye(2)[:1], keras.ops.eye(2)[1:])  # [pi/2]

Reference:
    Deng et al., "ArcFace", CVPR 2019; Wang & Isola, "Understanding contrastive representation
    learning through alignment and uniformity on the hypersphere", ICML 2020.
"""

from __future__ import annotations

from keras import ops

from zoo.geometry import euclidean
from zoo.geometry import numerics as nx
from zoo.geometry._tensors import Tensor, TensorLike, float_tensors, matmul
from zoo.geometry.base import Geometry

__all__ = ["Sphere", "DISTANCES", "normalize", "cosine", "pairwise_cosine", "angle", "pairwise_angle"]

#: The distances `Sphere` offers: 1 - cos θ ("cosine", in [0, 2]) and the geodesic angle θ ("angle").
DISTANCES = ("cosine", "angle")


def normalize(x: TensorLike, axis: int = -1) -> Tensor:
    """x / ||x|| along `axis`, with a finite gradient at 0 (the zero vector maps to 0).

    Args:
        x: vectors, [..., d].
        axis: the axis to normalise.

    Example:
        >>> zoo.geometry.sphere.normalize(keras.ops.convert_to_tensor([[3.0, 4.0]]))  # [[0.6, 0.8]]
    """
    x = float_tensors(x)
    return x / nx.safe_norm(x, axis=axis, keepdims=True)


def cosine(x: TensorLike, y: TensorLike, keepdims: bool = False) -> Tensor:
    """cos θ = <x, y> / (||x|| ||y||), broadcasting over leading axes, clipped to [-1, 1].

    Args:
        x: vectors, [..., d].
        y: vectors, broadcastable with x.
        keepdims: keep the last axis (size 1).

    Example:
        >>> zoo.geometry.sphere.cosine(keras.ops.ones((1, 2)), keras.ops.ones((1, 2)))  # [1.]
    """
    x, y = float_tensors(x, y)
    cos = ops.sum(normalize(x) * normalize(y), axis=-1, keepdims=keepdims)
    return ops.clip(cos, -1.0, 1.0)


def pairwise_cosine(x: TensorLike, y: TensorLike) -> Tensor:
    """Cosine between every row of x [n, d] and every row of y [m, d] -> [n, m] (one matmul).

    Args:
        x: [n, d] vectors.
        y: [m, d] vectors.

    Example:
        >>> zoo.geometry.sphere.pairwise_cosine(keras.ops.eye(2), keras.ops.eye(2))  # identity
    """
    x, y = float_tensors(x, y)
    return ops.clip(matmul(normalize(x), ops.transpose(normalize(y))), -1.0, 1.0)


def angle(x: TensorLike, y: TensorLike, keepdims: bool = False) -> Tensor:
    """Angle θ = arccos(cos(x, y)) in [0, pi], with the cosine clipped to ±(1 - ACOS_EPS) (1e-7) so the
    gradient stays finite for parallel and antiparallel vectors.

    Args:
        x: vectors, [..., d].
        y: vectors, broadcastable with x.
        keepdims: keep the last axis (size 1).

    Example:
        >>> zoo.geometry.sphere.angle(keras.ops.eye(2)[:1], keras.ops.eye(2)[1:])  # [pi/2]
    """
    cos = cosine(x, y, keepdims=keepdims)
    return ops.arccos(ops.clip(cos, -1.0 + nx.ACOS_EPS, 1.0 - nx.ACOS_EPS))


def pairwise_angle(x: TensorLike, y: TensorLike) -> Tensor:
    """Angles between every row of x [n, d] and every row of y [m, d] -> [n, m] (cosine clipped as in
    `angle`).

    Args:
        x: [n, d] vectors.
        y: [m, d] vectors.

    Example:
        >>> zoo.geometry.sphere.pairwise_angle(keras.ops.eye(2), keras.ops.eye(2))  # [[0, pi/2], [pi/2, 0]]
    """
    cos = pairwise_cosine(x, y)
    return ops.arccos(ops.clip(cos, -1.0 + nx.ACOS_EPS, 1.0 - nx.ACOS_EPS))


class Sphere(Geometry):
    """Unit hypersphere: `zoo.geometry.sphere`'s functions behind the `Geometry` interface. The mean is
    the normalised arithmetic mean of the normalised points.

    Args:
        distance: "cosine" (1 - cos θ, in [0, 2]) or "angle" (the geodesic angle θ).

    Example:
        >>> zoo.geometry.get("sphere", distance="angle").pairwise_distance(x, y)   # [n, m] angles
    """

    name = "sphere"

    def __init__(self, distance: str = "cosine"):
        if distance not in DISTANCES:
            raise ValueError(f"Sphere distance must be 'cosine' or 'angle'; got {distance!r}.")
        self.distance_kind = distance

    def project(self, x: TensorLike) -> Tensor:
        return normalize(x)

    def distance(self, x: TensorLike, y: TensorLike) -> Tensor:
        if self.distance_kind == "angle":
            return angle(x, y)
        return 1.0 - cosine(x, y)

    def pairwise_distance(self, x: TensorLike, y: TensorLike) -> Tensor:
        if self.distance_kind == "angle":
            return pairwise_angle(x, y)
        return 1.0 - pairwise_cosine(x, y)

    def mean(self, x: TensorLike, weights: TensorLike | None = None, axis: int = -2) -> Tensor:
        return normalize(euclidean.mean(normalize(x), weights=weights, axis=axis))

    def get_config(self) -> dict:
        return {"name": self.name, "distance": self.distance_kind}
