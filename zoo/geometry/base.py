"""`Geometry`: the interface every geometry object offers (the base class of Euclidean, Sphere, Poincare).

Example:
    >>> geo = zoo.geometry.get("sphere")
    >>> isinstance(geo, zoo.geometry.Geometry)
    True
"""

from __future__ import annotations

from zoo.geometry._tensors import Tensor, TensorLike

__all__ = ["Geometry"]


class Geometry:
    """Interface of a geometry: `project(x)`, `distance(x, y)` (broadcasting, last axis reduced),
    `pairwise_distance(x [n, d], y [m, d]) -> [n, m]` and `mean(x, weights=None, axis=-2)`.

    A subclass sets `name` (its key in `zoo.geometry.get`) and returns its constructor arguments from
    `get_config()`; `zoo.geometry.get(config)` rebuilds it, so a geometry can be stored inside a layer's
    config. Two geometries are equal when their configs are.

    Example:
        >>> geo = zoo.geometry.get("poincare", c=0.05)
        >>> zoo.geometry.get(geo.get_config()) == geo
        True
    """

    name: str | None = None

    def project(self, x: TensorLike) -> Tensor:
        """Map points onto the space (identity, normalisation, projection into the ball)."""
        raise NotImplementedError

    def distance(self, x: TensorLike, y: TensorLike) -> Tensor:
        """Distance between x and y, broadcasting over leading axes, the last axis reduced."""
        raise NotImplementedError

    def pairwise_distance(self, x: TensorLike, y: TensorLike) -> Tensor:
        """Distances between every row of x [n, d] and every row of y [m, d] -> [n, m]."""
        raise NotImplementedError

    def mean(self, x: TensorLike, weights: TensorLike | None = None, axis: int = -2) -> Tensor:
        """(Weighted) mean of the points along `axis` (not the last one)."""
        raise NotImplementedError

    def get_config(self) -> dict:
        """{"name": ..., constructor arguments}: `zoo.geometry.get(config)` rebuilds the geometry."""
        return {"name": self.name}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"zoo.geometry.get({self.name!r}{', ' + args if args else ''})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Geometry) and self.get_config() == other.get_config()

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.get_config().items())))
