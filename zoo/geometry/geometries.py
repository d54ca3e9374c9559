"""Geometry objects: a uniform interface over the pure functions of euclidean, sphere and poincare."""



from zoo.geometry import euclidean, poincare, sphere


class Geometry:
    """Interface: `project(x)`, `distance(x, y)` (broadcasting, last axis reduced),
    `pairwise_distance(x [n,d], y [m,d]) -> [n,m]`, `mean(x, weights=None, axis=-2)`.

    `get_config()` / `from_config` make it storable inside a layer's config.
    """

    name = None

    def project(self, x):
        raise NotImplementedError

    def distance(self, x, y):
        raise NotImplementedError

    def pairwise_distance(self, x, y):
        raise NotImplementedError

    def mean(self, x, weights=None, axis=-2):
        raise NotImplementedError

    def get_config(self):
        return {"name": self.name}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"zoo.geometry.get({self.name!r}{', ' + args if args else ''})"

    def __eq__(self, other):
        return isinstance(other, Geometry) and self.get_config() == other.get_config()

    def __hash__(self):
        return hash(tuple(sorted(self.get_config().items())))


class Euclidean(Geometry):
    """Flat space. `squared=True` makes `distance`/`pairwise_distance` return squared distances
    (classic ProtoNet logits are -||q - p||^2)."""

    name = "euclidean"

    def __init__(self, squared=False):
        self.squared = bool(squared)

    def project(self, x):
        return x

    def distance(self, x, y):
        return euclidean.sq_dist(x, y) if self.squared else euclidean.dist(x, y)

    def pairwise_distance(self, x, y):
        return euclidean.pairwise_sq_dist(x, y) if self.squared else euclidean.pairwise_dist(x, y)

    def mean(self, x, weights=None, axis=-2):
        return euclidean.mean(x, weights=weights, axis=axis)

    def get_config(self):
        return {"name": self.name, "squared": self.squared}


class Sphere(Geometry):
    """Unit hypersphere. `distance="cosine"` gives 1 - cos (in [0, 2]); `"angle"` the geodesic angle.
    The mean is the normalised arithmetic mean."""

    name = "sphere"

    def __init__(self, distance="cosine"):
        if distance not in ("cosine", "angle"):
            raise ValueError(f"Sphere distance must be 'cosine' or 'angle'; got {distance!r}.")
        self.distance_kind = distance

    def project(self, x):
        return sphere.normalize(x)

    def distance(self, x, y):
        if self.distance_kind == "angle":
            return sphere.angle(x, y)
        return 1.0 - sphere.cosine(x, y)

    def pairwise_distance(self, x, y):
        if self.distance_kind == "angle":
            return sphere.pairwise_angle(x, y)
        return 1.0 - sphere.pairwise_cosine(x, y)

    def mean(self, x, weights=None, axis=-2):
        return sphere.normalize(euclidean.mean(sphere.normalize(x), weights=weights, axis=axis))

    def get_config(self):
        return {"name": self.name, "distance": self.distance_kind}


class Poincare(Geometry):
    """Poincaré ball of curvature -c (c > 0). The mean is the Einstein midpoint."""

    name = "poincare"

    def __init__(self, c=1.0):
        self.c = float(poincare.check_c(c))

    def project(self, x):
        return poincare.project(x, self.c)

    def distance(self, x, y):
        return poincare.dist(x, y, self.c)

    def pairwise_distance(self, x, y):
        return poincare.pairwise_dist(x, y, self.c)

    def mean(self, x, weights=None, axis=-2):
        return poincare.midpoint(x, self.c, weights=weights, axis=axis)

    def get_config(self):
        return {"name": self.name, "c": self.c}


_REGISTRY = {"euclidean": Euclidean, "sphere": Sphere, "poincare": Poincare}
_ALIASES = {"euclid": "euclidean", "l2": "euclidean", "spherical": "sphere", "cosine": "sphere",
            "hyperbolic": "poincare", "ball": "poincare"}


def get(name, **kwargs):
    """Return a geometry object by name ("euclidean", "sphere", "poincare"), a config dict, or pass
    a Geometry through.

    Args:
        name: a name, a `Geometry`, or a dict from `Geometry.get_config()`.
        **kwargs: constructor arguments (`squared` for euclidean, `distance` for sphere, `c` for
            poincare).

    Example:
        >>> geo = zoo.geometry.get("poincare", c=0.05)
        >>> geo.pairwise_distance(x, y)
    """
    if isinstance(name, Geometry):
        if kwargs:
            raise ValueError("Pass either a Geometry instance or keyword arguments, not both.")
        return name
    if isinstance(name, dict):
        cfg = dict(name)
        return get(cfg.pop("name"), **cfg, **kwargs)
    key = _ALIASES.get(str(name).lower(), str(name).lower())
    if key not in _REGISTRY:
        raise ValueError(f"Unknown geometry {name!r}; choose one of {sorted(_REGISTRY)}.")
    return _REGISTRY[key](**kwargs)


