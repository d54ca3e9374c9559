"""Every published model loads by name on this backend, from the checkout's weights/ folder, offline, and
reproduces its card's metric on its test protocol (the manifest records the value on each backend; exact on the
publishing machine, within a near-tie or two on another CPU). The classifiers are here; the few-shot and
embedding models (slower to evaluate) in test_published_embedding_models.py, so the two files share the workers.

The manifest's own consistency (every entry has the fields `list_weights` promises, its file exists with the
recorded size and sha256, its card exists) is checked too, and one model is fitted after loading: published files
carry no optimizer, so they train on any backend whichever one saved them.
"""

import os

import numpy as np
import pytest

import zoo
from tests.pretrained.conftest import ENTRIES, NAMES, check_reproduces, needs_fmnist
from zoo._io import sha256_file
from zoo.pretrained import _manifest

FIELDS = ("name", "task", "dataset", "backbone", "head", "geometry", "embedding_dim", "input", "metrics", "protocol",
          "size", "sha256", "command", "commit", "sources", "file", "card")


pytestmark = pytest.mark.usefixtures("offline_zoo")
CLASSIFIERS = [e for e in ENTRIES if e["task"] == "image_classification"]


def test_the_zoo_is_not_empty():
    assert len(ENTRIES) >= 10
    assert {e["task"] for e in ENTRIES} >= {"image_classification", "few_shot", "metric_learning"}


@pytest.mark.parametrize("entry", ENTRIES, ids=NAMES)
def test_entry_is_complete_and_its_files_match(entry):
    assert not [f for f in FIELDS if f not in entry], entry["name"]
    assert entry["task"] in _manifest.TASKS
    file = os.path.join(_manifest.REPO_ROOT, "weights", entry["name"], entry["file"])
    assert os.path.getsize(file) == entry["size"] <= 5_000_000
    assert sha256_file(file) == entry["sha256"]
    assert os.path.isfile(os.path.join(_manifest.REPO_ROOT, entry["card"]))
    assert len(entry["commit"]) == 40 and entry["command"].startswith("python -m recipes.")
    for metric in entry["metrics"].values():
        assert {"value", "protocol", "by_backend"} <= set(metric)
        assert set(metric["by_backend"]) == {"tensorflow", "jax", "torch"}


def test_the_set_is_small():
    assert sum(e["size"] for e in ENTRIES) <= 40_000_000


@needs_fmnist
@pytest.mark.parametrize("entry", CLASSIFIERS, ids=[e["name"] for e in CLASSIFIERS])
def test_classifier_reproduces_its_metric(entry):
    check_reproduces(entry)


@needs_fmnist
def test_a_published_model_fits_after_loading():
    (_, _), (x, y) = zoo.data.fashion_mnist()
    model = zoo.pretrained.load("lenet_fmnist_softmax_d64")  # compiled with its defaults, fresh optimizer
    before = model.evaluate(x[:256], y[:256], verbose=0, return_dict=True)["loss"]
    model.fit(x[:256], y[:256], epochs=2, batch_size=64, verbose=0)
    after = model.evaluate(x[:256], y[:256], verbose=0, return_dict=True)["loss"]
    assert np.isfinite(after) and after < before
