"""zoo.viz.plot_embeddings / project_2d: PCA equals scikit-learn's on the same points, Poincaré points go through
log₀ (float64 check), t-SNE is seeded and uses the geometry's distances, the figure follows the zoo.viz rules
(returned, drawn on a given ax, a PNG only with a path, the backend untouched)."""

import matplotlib
import numpy as np
import pytest
from matplotlib.figure import Figure
from sklearn.decomposition import PCA

import zoo
from zoo.viz.embeddings import project_2d

PNG = b"\x89PNG\r\n\x1a\n"


def _data(n=40, d=6, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 4
    centres = rng.normal(size=(4, d))
    return (centres[labels] + 0.2 * rng.normal(size=(n, d))).astype("float32"), labels


def test_pca_and_the_poincare_tangent_view():
    x, _ = _data()
    np.testing.assert_allclose(project_2d(x, "pca"), PCA(2, random_state=0).fit_transform(x.astype("float64")),
                               atol=1e-10)
    ball = (0.9 * x / (1 + np.linalg.norm(x, axis=1, keepdims=True))).astype("float64")   # inside the c = 1 ball
    c = 1.0
    norm = np.linalg.norm(ball, axis=1, keepdims=True)
    tangent = np.arctanh(np.sqrt(c) * norm) * ball / (np.sqrt(c) * norm)                 # log₀ in float64
    np.testing.assert_allclose(np.abs(project_2d(ball, "pca", "poincare")),
                               np.abs(PCA(2, random_state=0).fit_transform(tangent)), atol=1e-5)
    np.testing.assert_array_equal(project_2d(x[:, :2], "tsne"), x[:, :2].astype("float64"))   # 2-d as it is


def test_tsne_is_seeded_and_uses_the_geometry():
    x, labels = _data(30)
    a, b = project_2d(x, "tsne", seed=3, threads=1), project_2d(x, "tsne", seed=3, threads=1)
    np.testing.assert_array_equal(a, b)
    sphere = project_2d(x, "tsne", "sphere", seed=3, threads=1)
    assert sphere.shape == (30, 2) and np.all(np.isfinite(sphere)) and not np.allclose(sphere, a)
    ball = 0.5 * x / np.linalg.norm(x, axis=1, keepdims=True)
    assert np.all(np.isfinite(project_2d(ball, "tsne", zoo.geometry.get("poincare", c=1.0), threads=1)))


def test_figure_rules_and_bad_arguments(tmp_path):
    x, labels = _data()
    backend = matplotlib.get_backend()
    fig = zoo.viz.plot_embeddings(x, labels, class_names=["a", "b", "c", "d"])
    assert isinstance(fig, Figure) and not list(tmp_path.iterdir())
    path = tmp_path / "view.png"
    fig2 = zoo.viz.plot_embeddings(x, labels, "tsne", path=path, max_points=20, threads=1)
    assert path.read_bytes()[:8] == PNG and fig2 is not fig
    own = Figure()
    ax = own.add_subplot(1, 1, 1)
    assert zoo.viz.plot_embeddings(x, labels, ax=ax) is own and len(ax.collections) == 4
    assert matplotlib.get_backend() == backend
    with pytest.raises(ValueError, match="method"):
        zoo.viz.plot_embeddings(x, labels, method="umap")
    with pytest.raises(ValueError, match="labels"):
        zoo.viz.plot_embeddings(x, labels[:-1])
    with pytest.raises(ValueError, match="NaN"):
        project_2d(np.full((4, 3), np.nan))
