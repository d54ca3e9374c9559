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


def test_options_and_aliases():
    assert G.get("hyperbolic", c=0.05) == G.Poincare(0.05)
    assert G.get("cosine") == G.Sphere()
    x = np.array([[3.0, 4.0]], np.float32)
    assert float(to_numpy(G.get("euclidean", squared=True).distance(x, 0 * x))[0]) == pytest.approx(25.0)
    assert float(to_numpy(G.get("sphere", distance="angle").distance(x, -x))[0]) == pytest.approx(np.pi, abs=1e-3)
    pts = np.array([[[0.5, 0.0], [-0.1, 0.3]]], np.float32)
    np.testing.assert_allclose(to_numpy(G.get("poincare", c=2.0).mean(pts)), to_numpy(P.midpoint(pts, 2.0)))


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="Unknown geometry"):
        G.get("torus")
    with pytest.raises(ValueError, match="Curvature"):
        G.get("poincare", c=-1.0)
    with pytest.raises(ValueError, match="cosine"):
        G.get("sphere", distance="chordal")
    with pytest.raises(ValueError, match="not both"):
        G.get(G.Euclidean(), squared=True)
