"""zoo.viz: every plot writes a PNG when given a path, draws on a given `ax`, returns the figure, writes
nothing without a path, and leaves matplotlib's backend and pyplot's figure list as they were."""

import os

import keras
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

import zoo

PNG = b"\x89PNG\r\n\x1a\n"


def _points():
    rng = np.random.default_rng(0)
    return (0.4 * rng.normal(size=(30, 2))).clip(-0.6, 0.6).astype("float32"), np.arange(30) % 3


def _cosine_head():
    head = zoo.layers.CosineHead(3)
    head(np.zeros((1, 2), "float32"))
    return head


def _prototype_head():
    head = zoo.layers.PrototypeHead(3, prototypes="etf")
    head(np.ones((1, 2), "float32"))
    return head


def _poincare_head():
    head = zoo.layers.PoincareClassifier(3, c=0.5)
    head(np.zeros((1, 2), "float32"))
    return head


# name -> call(path, ax); the layers are built once per test (tiny, eager)
PLOTS = {
    "plot_disk": lambda pts, y, path, ax: zoo.viz.plot_disk(pts, y, c=1.0, path=path, ax=ax,
                                                            region_fn=lambda g: (g[:, 0] > 0).astype(int)),
    "plot_distance_histograms": lambda pts, y, path, ax: zoo.viz.plot_distance_histograms(
        np.abs(pts[:, 0]), np.abs(pts[:, 1]) + 1.0, path, c=1.0, auroc=0.9, ax=ax),
    "plot_latent": lambda pts, y, path, ax: zoo.viz.plot_latent(pts, y, _cosine_head(), path, ax=ax),
    "plot_prototypes": lambda pts, y, path, ax: zoo.viz.plot_prototypes(pts, y, _prototype_head(), path, ax=ax),
    "plot_poincare_head": lambda pts, y, path, ax: zoo.viz.plot_poincare_head(pts, y, _poincare_head(), path,
                                                                              ax=ax),
}


def _raw_backend():
    """The backend setting as stored (reading `rcParams["backend"]` would resolve and fix it)."""
    return dict.__getitem__(matplotlib.rcParams, "backend")


@pytest.mark.parametrize("name", sorted(PLOTS))
def test_writes_a_png_and_returns_the_figure(name, tmp_path):
    pts, y = _points()
    backend, figures = _raw_backend(), plt.get_fignums()
    path = str(tmp_path / "new_folder" / f"{name}.png")
    fig = PLOTS[name](pts, y, path, None)
    assert isinstance(fig, Figure)
    with open(path, "rb") as f:
        assert f.read(8) == PNG
    assert _raw_backend() is backend or _raw_backend() == backend      # never switched
    assert plt.get_fignums() == figures                                  # nothing left open in pyplot


@pytest.mark.parametrize("name", sorted(PLOTS))
def test_draws_on_the_given_ax_and_writes_nothing_without_a_path(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    pts, y = _points()
    fig = Figure()
    left, right = fig.subplots(1, 2)
    assert PLOTS[name](pts, y, None, right) is fig
    assert right.has_data() and not left.has_data()
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("name", ["plot_disk", "plot_latent", "plot_poincare_head", "plot_prototypes",
                                  "plot_embeddings"])
def test_legend_false_leaves_the_class_legend_out(name):
    pts, y = _points()
    calls = {
        "plot_disk": lambda ax, legend: zoo.viz.plot_disk(pts, y, ax=ax, legend=legend),
        "plot_latent": lambda ax, legend: zoo.viz.plot_latent(pts, y, _cosine_head(), ax=ax, legend=legend),
        "plot_poincare_head": lambda ax, legend: zoo.viz.plot_poincare_head(pts, y, _poincare_head(), ax=ax,
                                                                            legend=legend),
        "plot_prototypes": lambda ax, legend: zoo.viz.plot_prototypes(pts, y, _prototype_head(), ax=ax,
                                                                      legend=legend),
        "plot_embeddings": lambda ax, legend: zoo.viz.plot_embeddings(pts, y, ax=ax, legend=legend),
    }
    with_legend, without = Figure().subplots(1, 2)
    calls[name](with_legend, True)
    calls[name](without, False)
    assert [t.get_text() for t in with_legend.get_legend().get_texts()][:3] == ["0", "1", "2"]
    assert without.get_legend() is None and without.has_data()


def test_ax_from_pyplot_and_saving_the_users_figure(tmp_path):
    pts, y = _points()
    fig, ax = plt.subplots()
    try:
        assert zoo.viz.plot_disk(pts, y, ax=ax, path=str(tmp_path / "d.png")) is fig
        assert ax.has_data() and (tmp_path / "d.png").stat().st_size > 0
    finally:
        plt.close(fig)


def test_bad_input_is_refused():
    pts, y = _points()
    with pytest.raises(ValueError, match=r"\[N, 2\]"):
        zoo.viz.plot_disk(np.zeros((3, 3)), [0, 1, 2])
    with pytest.raises(ValueError, match="`c`"):
        zoo.viz.plot_disk(pts, y, c=0.0)
    with pytest.raises(ValueError, match="labels"):
        zoo.viz.plot_latent(pts, y[:5], keras.layers.Dense(3))
    with pytest.raises(ValueError, match="non-empty"):
        zoo.viz.plot_distance_histograms([], [1.0])
