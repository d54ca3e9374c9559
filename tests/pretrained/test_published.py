"""Every published model loads by name on this backend, from the checkout's weights/ folder, offline, and
reproduces its card's metric on its test protocol (the manifest records the value on each backend; exact on the
publishing machine, within a near-tie or two on another CPU).

The manifest's own consistency (every entry has the fields `list_weights` promises, its file exists with the
recorded size and sha256, its card exists) is checked too, and one model is fitted after loading: published files
carry no optimizer, so they train on any backend whichever one saved them.
"""

import os

import keras
import numpy as np
import pytest

import zoo
from zoo.pretrained import _cache, _manifest, protocols

ENTRIES = zoo.pretrained.list_weights()
NAMES = [e["name"] for e in ENTRIES]
FIELDS = ("name", "task", "dataset", "backbone", "head", "geometry", "embedding_dim", "input", "metrics", "protocol",
          "size", "sha256", "command", "commit", "sources", "file", "card")
needs_fmnist = pytest.mark.skipif(not os.path.isdir("/usr/share/datasets/fashion-mnist"),
                                  reason="needs dataset-fashion-mnist (the published models' test sets)")


@pytest.fixture(autouse=True)
def _offline(monkeypatch, tmp_path):
    """Loads come from the checkout's files: offline, with an empty cache that must stay empty."""
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    monkeypatch.setenv("ZOO_WEIGHTS_CACHE", str(tmp_path / "cache"))
    yield
    assert not (tmp_path / "cache").exists()


def test_the_zoo_is_not_empty():
    assert len(ENTRIES) >= 10
    assert {e["task"] for e in ENTRIES} >= {"image_classification", "few_shot", "metric_learning"}


@pytest.mark.parametrize("entry", ENTRIES, ids=NAMES)
def test_entry_is_complete_and_its_files_match(entry):
    assert not [f for f in FIELDS if f not in entry], entry["name"]
    assert entry["task"] in _manifest.TASKS
    file = os.path.join(_manifest.REPO_ROOT, "weights", entry["name"], entry["file"])
    assert os.path.getsize(file) == entry["size"] <= 5_000_000
    assert _cache.sha256_file(file) == entry["sha256"]
    assert os.path.isfile(os.path.join(_manifest.REPO_ROOT, entry["card"]))
    assert len(entry["commit"]) == 40 and entry["command"].startswith("python -m recipes.")
    for metric in entry["metrics"].values():
        assert {"value", "protocol", "by_backend"} <= set(metric)
        assert set(metric["by_backend"]) == {"tensorflow", "jax", "torch"}


def test_the_set_is_small():
    assert sum(e["size"] for e in ENTRIES) <= 40_000_000


def _resolution(protocol):
    """The smallest step of the protocol's accuracy-like metrics: one image / one query."""
    if protocol["kind"] == "few_shot":
        return 1.0 / (protocol["episodes"] * protocol["way"] * protocol["query"])
    return 1.0 / protocols.DATASET_SIZES[protocol["dataset"]][protocol["split"]]


@needs_fmnist
@pytest.mark.parametrize("entry", ENTRIES, ids=NAMES)
def test_loads_by_name_and_reproduces_its_metric(entry):
    """Exact on the machine that published (the manifest records each backend's value there). Another CPU can
    round the embeddings differently (oneDNN and XLA pick kernels by instruction set) and flip a near-tie: allowed
    up to the spread between the three backends' values, and at least two images / queries."""
    model = zoo.pretrained.load(entry["name"], compile=False)
    result = protocols.evaluate(model, entry["protocol"])
    backend = keras.backend.backend()
    for metric, record in entry["metrics"].items():
        values = list(record["by_backend"].values())
        tolerance = max(max(values) - min(values), 2 * _resolution(entry["protocol"]))
        assert result[metric] == pytest.approx(record["by_backend"][backend], abs=tolerance, rel=0), \
            (entry["name"], metric, result[metric], record)


@needs_fmnist
def test_a_published_model_fits_after_loading():
    (_, _), (x, y) = zoo.data.fashion_mnist()
    model = zoo.pretrained.load("lenet_fmnist_softmax_d64")  # compiled with its defaults, fresh optimizer
    before = model.evaluate(x[:256], y[:256], verbose=0, return_dict=True)["loss"]
    model.fit(x[:256], y[:256], epochs=2, batch_size=64, verbose=0)
    after = model.evaluate(x[:256], y[:256], verbose=0, return_dict=True)["loss"]
    assert np.isfinite(after) and after < before
