"""Shared by the tests of the published zoo: the manifest's entries, an offline zoo with an empty cache, and the
check that a published model reproduces its card's metric."""

import os

import keras
import pytest

import zoo
from zoo.pretrained import protocols, reid_protocol

ENTRIES = zoo.pretrained.list_weights()
NAMES = [e["name"] for e in ENTRIES]
needs_fmnist = pytest.mark.skipif(not os.path.isdir("/usr/share/datasets/fashion-mnist"),
                                  reason="needs dataset-fashion-mnist (the published models' test sets)")


@pytest.fixture
def offline_zoo(monkeypatch, tmp_path):
    """Loads come from the checkout's files: offline, with an empty cache that must stay empty."""
    monkeypatch.setenv("ZOO_OFFLINE", "1")
    monkeypatch.setenv("ZOO_WEIGHTS_CACHE", str(tmp_path / "cache"))
    yield
    assert not (tmp_path / "cache").exists()


def _resolution(protocol):
    """The smallest step of the protocol's accuracy-like metrics: one image / one query."""
    if protocol["kind"] == "few_shot":
        return 1.0 / (protocol["episodes"] * protocol["way"] * protocol["query"])
    if protocol["kind"] == "reid":  # the synthetic set: 100 test identities x 5 cameras, one query each
        return 1.0 / reid_protocol.SYNTHETIC_QUERIES
    return 1.0 / protocols.DATASET_SIZES[protocol["dataset"]][protocol["split"]]


def check_reproduces(entry):
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
