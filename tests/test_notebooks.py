"""Every tutorial in notebooks/ executes top to bottom: all of them in full on TensorFlow (the fastest backend
here), and the quick start on JAX and PyTorch too (a smoke run of the task models on every backend; the other
notebooks use the same task-model API, which the model tests cover on all three backends). Set
ZOO_NOTEBOOKS_ALL_BACKENDS=1 to run every notebook on every backend (about 2 minutes more per backend)."""

import glob
import os

import keras
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOKS = sorted(glob.glob(os.path.join(ROOT, "notebooks", "*.ipynb")))
#: Notebooks executed on every backend; the others run on TensorFlow only (see the module docstring).
EVERY_BACKEND = ("01_quickstart.ipynb",)


@pytest.mark.skipif(not os.path.isdir("/usr/share/datasets/fashion-mnist"), reason="needs dataset-fashion-mnist")
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[os.path.basename(p) for p in NOTEBOOKS])
def test_notebook_executes(path, monkeypatch):
    if (keras.backend.backend() != "tensorflow" and os.path.basename(path) not in EVERY_BACKEND
            and not os.environ.get("ZOO_NOTEBOOKS_ALL_BACKENDS")):
        pytest.skip("runs in full on TensorFlow; ZOO_NOTEBOOKS_ALL_BACKENDS=1 runs it on this backend too")
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("KERAS_BACKEND", keras.backend.backend())
    monkeypatch.setenv("PYTHONPATH", ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": ROOT}})
    client.execute()  # raises CellExecutionError with the failing cell's traceback
