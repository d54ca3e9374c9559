"""Geometry as a parameter: `zoo.geometry.get(name, **kw)` returns an object with
`project`, `distance`, `pairwise_distance` and `mean`, so ProtoNet, retrieval metrics and evaluation
callbacks work unchanged for "euclidean", "sphere" and "poincare".

Example:
    >>> geo = zoo.geometry.get("poincare", c=0.05)
    >>> d = geo.pairwise_distance(geo.project(a), geo.project(b))   # [n, m]
"""

from zoo.geometry import euclidean, numerics, poincare, sphere
from zoo.geometry.geometries import Euclidean, Geometry, Poincare, Sphere, get

__all__ = [
    "euclidean", "sphere", "poincare", "numerics",
    "Geometry", "Euclidean", "Sphere", "Poincare", "get",
]
