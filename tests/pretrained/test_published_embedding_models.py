"""The published few-shot and embedding models load by name on this backend, offline, and reproduce their cards'
metrics (few-shot accuracy and its CI over the seeded episodes; retrieval recall@k and MAP@R). The classifiers and
the manifest checks are in test_published.py."""

import pytest

from tests.pretrained.conftest import ENTRIES, check_reproduces, needs_fmnist

pytestmark = pytest.mark.usefixtures("offline_zoo")
MODELS = [e for e in ENTRIES if e["task"] != "image_classification"]


@needs_fmnist
@pytest.mark.parametrize("entry", MODELS, ids=[e["name"] for e in MODELS])
def test_reproduces_its_metrics(entry):
    check_reproduces(entry)
