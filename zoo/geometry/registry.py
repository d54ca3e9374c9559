"""`zoo.geometry.get`: the one resolver of geometry names, aliases, config dicts and geometry objects.

Every place that takes a geometry by name (ProtoNet heads, triplet-style losses, retrieval metrics,
evaluation callbacks) resolves it here, so an alias means the same thing everywhere.

Example:
    >>> zoo.geometry.get("cos")
    zoo.geometry.get('sphere', distance='cosine')
"""

from __future__ import annotations

from typing import Any

from zoo.geometry.base import Geometry
from zoo.geometry.euclidean import Euclidean
from zoo.geometry.poincare import Poincare
from zoo.geometry.sphere import Sphere

__all__ = ["get", "names", "ALIASES"]

_CLASSES: dict[str, type[Geometry]] = {"euclidean": Euclidean, "sphere": Sphere, "poincare": Poincare}

#: Every accepted name (lower case) -> (geometry name, constructor arguments the name fixes).
ALIASES: dict[str, tuple[str, dict[str, Any]]] = {
    "euclidean": ("euclidean", {}),
    "euclid": ("euclidean", {}),
    "l2": ("euclidean", {}),
    "sphere": ("sphere", {}),
    "spherical": ("sphere", {}),
    "hypersphere": ("sphere", {}),
    "cosine": ("sphere", {"distance": "cosine"}),
    "cos": ("sphere", {"distance": "cosine"}),
    "angle": ("sphere", {"distance": "angle"}),
    "angular": ("sphere", {"distance": "angle"}),
    "poincare": ("poincare", {}),
    "poincaré": ("poincare", {}),
    "hyperbolic": ("poincare", {}),
    "ball": ("poincare", {}),
}


def names() -> list[str]:
    """Every name `get` accepts (geometry names and aliases), sorted.

    Example:
        >>> "cos" in zoo.geometry.names()
        True
    """
    return sorted(ALIASES)


def get(name: str | dict | Geometry, **kwargs: Any) -> Geometry:
    """A geometry object from a name or alias, a config dict, or a `Geometry` (returned as it is).

    Names (case-insensitive): "euclidean" ("euclid", "l2"); "sphere" ("spherical", "hypersphere"; the
    distance is 1 - cos θ), "cosine" / "cos" (the sphere with distance="cosine"), "angle" / "angular" (the
    sphere with distance="angle"); "poincare" ("poincaré", "hyperbolic", "ball").

    Args:
        name: a name or alias, a `zoo.geometry.Geometry`, or a dict from `Geometry.get_config()` (its
            "name" key may be any accepted name; the other keys are constructor arguments).
        **kwargs: constructor arguments: `squared` (euclidean), `distance` (sphere: "cosine" or "angle"),
            `c` (poincare: curvature magnitude > 0).

    Returns:
        A `zoo.geometry.Euclidean`, `Sphere` or `Poincare`.

    Raises:
        ValueError: an unknown name (the message lists the accepted ones), a config dict without
            "name", keyword arguments that contradict the alias ("cos" with distance="angle") or the
            config, or keyword arguments next to a `Geometry` object.

    Example:
        >>> geo = zoo.geometry.get("poincare", c=0.05)
        >>> geo.pairwise_distance(geo.project(x), geo.project(y))   # [n, m]
        >>> zoo.geometry.get({"name": "sphere", "distance": "angle"}) == zoo.geometry.get("angle")
        True
    """
    if isinstance(name, Geometry):
        if kwargs:
            raise ValueError("Pass either a Geometry instance or keyword arguments, not both.")
        return name
    if isinstance(name, dict):
        if "name" not in name:
            raise ValueError(
                f"zoo.geometry.get: `name` is a config dict, which needs the key 'name' (one of {names()}); got the "
                f"keys {sorted(name)}."
            )
        config = dict(name)
        key = config.pop("name")
        clash = sorted(k for k in set(config) & set(kwargs) if config[k] != kwargs[k])
        if clash:
            raise ValueError(f"Keyword arguments {clash} contradict the geometry config {name!r}.")
        return get(key, **{**config, **kwargs})
    if not isinstance(name, str) or name.strip().lower() not in ALIASES:
        raise ValueError(
            f"Unknown geometry {name!r}; choose one of {names()}, a zoo.geometry.Geometry or its config dict."
        )
    geometry, fixed = ALIASES[name.strip().lower()]
    clash = sorted(k for k in set(fixed) & set(kwargs) if fixed[k] != kwargs[k])
    if clash:
        raise ValueError(f"Geometry {name!r} means {fixed}; it cannot be combined with {kwargs}.")
    return _CLASSES[geometry](**{**fixed, **kwargs})
