"""Pictures are written atomically: a save that fails midway keeps the previous file (issue 13, item 2)."""

import os

import numpy as np
import pytest

import zoo
from zoo.viz import _figure


def test_failed_savefig_keeps_previous_picture(tmp_path, monkeypatch):
    path = str(tmp_path / "disk.png")
    points = np.random.default_rng(0).uniform(-0.5, 0.5, size=(20, 2)).astype("float32")
    labels = np.arange(20) % 3
    zoo.viz.plot_disk(points, labels, path=path)
    before = open(path, "rb").read()

    from matplotlib.figure import Figure

    def crash(self, fname, **kwargs):
        with open(fname, "wb") as f:
            f.write(b"\x89PNG half")
        raise KeyboardInterrupt("killed mid-save")

    monkeypatch.setattr(Figure, "savefig", crash)
    with pytest.raises(KeyboardInterrupt):
        zoo.viz.plot_disk(points, labels, path=path)
    assert open(path, "rb").read() == before
    assert os.listdir(tmp_path) == ["disk.png"]


def test_format_follows_the_final_name(tmp_path):
    fig, _, owned = _figure.axes_for(None, (2, 2))
    _figure.finish(fig, owned, path=str(tmp_path / "a.svg"))
    assert open(tmp_path / "a.svg", "rb").read(5) in (b"<?xml", b"<svg ")
