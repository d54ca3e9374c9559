"""Every tutorial in notebooks/ executes top to bottom in full on TensorFlow (the fastest backend here); the quick
start also runs in full on JAX and PyTorch. The other notebooks get a smoke run there: their first
code cell (imports, data, the models they load or build) executes on that backend. Their
training and plotting cells use the task-model API, which the model tests cover on all three backends. Set
ZOO_NOTEBOOKS_ALL_BACKENDS=1 to run every notebook in full on every backend (several minutes more per backend)."""

import glob
import os

import keras
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOKS = sorted(glob.glob(os.path.join(ROOT, "notebooks", "*.ipynb")))
#: Notebooks executed in full on every backend; the others in full on TensorFlow only (see the module docstring).
EVERY_BACKEND = ("01_quickstart.ipynb",)
#: Code cells a smoke run executes.
SMOKE_CODE_CELLS = 1


def _smoke(nb):
    """`nb` cut after its SMOKE_CODE_CELLS-th code cell."""
    seen = 0
    for index, cell in enumerate(nb.cells):
        seen += cell.cell_type == "code"
        if seen == SMOKE_CODE_CELLS:
            nb.cells = nb.cells[: index + 1]
            break
    return nb


@pytest.mark.skipif(not os.path.isdir("/usr/share/datasets/fashion-mnist"), reason="needs dataset-fashion-mnist")
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[os.path.basename(p) for p in NOTEBOOKS])
def test_notebook_executes(path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("KERAS_BACKEND", keras.backend.backend())
    monkeypatch.setenv("PYTHONPATH", ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    nb = nbformat.read(path, as_version=4)
    if (keras.backend.backend() != "tensorflow" and os.path.basename(path) not in EVERY_BACKEND
            and not os.environ.get("ZOO_NOTEBOOKS_ALL_BACKENDS")):
        nb = _smoke(nb)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": ROOT}})
    client.execute()  # raises CellExecutionError with the failing cell's traceback
