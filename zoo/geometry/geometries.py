"""Former home of the geometry objects, kept so that `zoo.geometry.geometries.<name>` imports keep working.

The classes now live next to their functions (`zoo.geometry.euclidean.Euclidean`,
`zoo.geometry.sphere.Sphere`, `zoo.geometry.poincare.Poincare`, `zoo.geometry.base.Geometry`) and
`get` in `zoo.geometry.registry`; use `zoo.geometry.<name>`.

Example:
    >>> zoo.geometry.get("sphere") == zoo.geometry.Sphere()
    True
"""

from zoo.geometry.base import Geometry
from zoo.geometry.euclidean import Euclidean
from zoo.geometry.poincare import Poincare
from zoo.geometry.registry import get
from zoo.geometry.sphere import Sphere

__all__ = ["Geometry", "Euclidean", "Sphere", "Poincare", "get"]
