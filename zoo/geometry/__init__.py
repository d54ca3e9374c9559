"""All geometry math of the zoo, pure functions on keras.ops, and the geometry as a parameter.

Modules: `euclidean`, `sphere`, `poincare` (the functions), `numerics` (named clamp constants, safe norms),
`curvature` (the one validator and conversion of the Poincaré curvature c). `zoo.geometry.get(name, **kw)`
returns an object with `project`, `distance`, `pairwise_distance` and `mean`, so ProtoNet, retrieval
metrics, losses and evaluation callbacks work unchanged for "euclidean", "sphere" and "poincare".

Example:
    >>> geo = zoo.geometry.get("poincare", c=0.05)
    >>> d = geo.pairwise_distance(geo.project(a), geo.project(b))   # [n, m]
"""

from zoo.geometry import curvature, euclidean, numerics, poincare, sphere
from zoo.geometry.base import Geometry
from zoo.geometry.euclidean import Euclidean
from zoo.geometry.poincare import Poincare
from zoo.geometry.registry import get, names
from zoo.geometry.sphere import Sphere

__all__ = [
    "euclidean", "sphere", "poincare", "numerics", "curvature",
    "Geometry", "Euclidean", "Sphere", "Poincare", "get", "names",
]
