"""zoo.geometry.get: names, aliases, configs, and the uniform interface on each geometry."""

import numpy as np
import pytest

import zoo.geometry as G
from tests.helpers import to_numpy
from zoo.geometry import poincare as P


@pytest.mark.parametrize("name", ["euclidean", "sphere", "poincare"])
def test_interface_and_config_roundtrip(name):
    geo = G.get(name)
    assert G.get(geo.get_config()) == geo
    assert G.get(geo) is geo
    rng = np.random.default_rng(0)
    x = geo.project(rng.normal(size=(6, 4)).astype(np.float32) * 0.2)
    y = geo.project(rng.normal(size=(5, 4)).astype(np.float32) * 0.2)
    pw = to_numpy(geo.pairwise_distance(x, y))
    assert pw.shape == (6, 5)
    elem = to_numpy(geo.distance(x[:, None, :], y[None, :, :]))
    np.testing.assert_allclose(pw, elem, rtol=1e-4, atol=1e-5)
    m = to_numpy(geo.mean(np.stack([to_numpy(x)] * 3, axis=1)))
    np.testing.assert_allclose(m, to_numpy(x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("alias,want", [
    ("euclidean", G.Euclidean()), ("euclid", G.Euclidean()), ("l2", G.Euclidean()), ("EUCLIDEAN", G.Euclidean()),
    ("sphere", G.Sphere()), ("spherical", G.Sphere()), ("hypersphere", G.Sphere()),
    ("cosine", G.Sphere("cosine")), ("cos", G.Sphere("cosine")), (" Cos ", G.Sphere("cosine")),
    ("angle", G.Sphere("angle")), ("angular", G.Sphere("angle")),
    ("poincare", G.Poincare()), ("poincaré", G.Poincare()), ("hyperbolic", G.Poincare()), ("ball", G.Poincare()),
])
def test_every_alias(alias, want):
    assert G.get(alias) == want
    assert G.get({"name": alias}) == want
    assert alias.strip().lower() in G.names()


def test_options_and_aliases():
    assert G.get("hyperbolic", c=0.05) == G.Poincare(0.05)
    assert G.get("cosine") == G.Sphere()
    assert G.get("cos", distance="cosine") == G.Sphere()
    assert G.get({"name": "poincare", "c": 0.5}, c=0.5) == G.Poincare(0.5)
    x = np.array([[3.0, 4.0]], np.float32)
    assert float(to_numpy(G.get("euclidean", squared=True).distance(x, 0 * x))[0]) == pytest.approx(25.0)
    assert float(to_numpy(G.get("sphere", distance="angle").distance(x, -x))[0]) == pytest.approx(np.pi, abs=1e-3)
    pts = np.array([[[0.5, 0.0], [-0.1, 0.3]]], np.float32)
    np.testing.assert_allclose(to_numpy(G.get("poincare", c=2.0).mean(pts)), to_numpy(P.midpoint(pts, 2.0)))


def test_what_the_loss_and_metric_resolvers_accept():
    """Strings ("cos"/"cosine" = 1 - cos on the sphere), Geometry objects and their config dicts."""
    for spec in ("cos", "cosine", "COSINE"):
        assert G.get(spec) == G.get("sphere", distance="cosine")
    geo = G.get("euclidean", squared=True)
    assert G.get(geo) is geo and G.get(geo.get_config()) == geo
    assert G.get(G.Poincare(0.1).get_config()) == G.Poincare(0.1)
    assert repr(G.get("cos")) == "zoo.geometry.get('sphere', distance='cosine')"


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="Unknown geometry 'torus'.*'cos'"):
        G.get("torus")
    for bad in (None, 3, ["euclidean"]):
        with pytest.raises(ValueError, match="Unknown geometry"):
            G.get(bad)
    with pytest.raises(ValueError, match="`c` must be a finite number > 0"):
        G.get("poincare", c=-1.0)
    with pytest.raises(ValueError, match="cosine"):
        G.get("sphere", distance="chordal")
    with pytest.raises(ValueError, match="not both"):
        G.get(G.Euclidean(), squared=True)
    with pytest.raises(ValueError, match="needs the key 'name'"):
        G.get({"c": 1.0})
    with pytest.raises(ValueError, match="'cos' means"):
        G.get("cos", distance="angle")
    with pytest.raises(ValueError, match="contradict"):
        G.get({"name": "poincare", "c": 0.5}, c=1.0)


def test_old_module_path_still_imports():
    from zoo.geometry.geometries import Euclidean, Geometry, Poincare, Sphere, get

    assert get("sphere") == Sphere() and issubclass(Euclidean, Geometry) and Poincare(2.0).c == 2.0
    assert P.check_c(0.5) == 0.5  # zoo.geometry.poincare.check_c stays importable
