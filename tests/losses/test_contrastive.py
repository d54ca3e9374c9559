"""ContrastiveLoss against a float64 numpy double loop, zero-distance / single-class gradients, bad input,
serialization."""

import numpy as np
import pytest

from tests.harness import check_loss
from tests.helpers import assert_all_finite, value_and_grad
from tests.losses.test_triplet import batch, ref_dist
from zoo.losses import ContrastiveLoss
from zoo.losses.contrastive import contrastive_loss


def ref_contrastive(x, y, margin, kind, wp=1.0):
    d = ref_dist(x, kind)
    vals = [wp * d[i, j] ** 2 if y[i] == y[j] else max(margin - d[i, j], 0) ** 2
            for i in range(len(y)) for j in range(len(y)) if i != j]
    return np.mean(vals)


@pytest.mark.parametrize("kind,margin,wp", [("euclidean", 2.5, 1.0), ("cosine", 0.8, 0.5)])
def test_matches_numpy_reference(kind, margin, wp):
    x, y = batch(seed=3)
    check_loss(ContrastiveLoss(margin, kind, wp), y, x, expected=ref_contrastive(x, y, margin, kind, wp), rtol=2e-5)


def test_finite_gradients_identical_embeddings_and_single_class():
    x = np.ones((5, 3), np.float32)
    v, (g,) = value_and_grad(lambda e: contrastive_loss(np.array([0, 0, 1, 1, 2]), e, 1.0), x)
    assert_all_finite(v, g)
    v, (g,) = value_and_grad(lambda e: contrastive_loss(np.zeros(5, int), e, 1.0), x)
    assert_all_finite(v, g)
    assert float(v) == pytest.approx(0.0, abs=1e-12)


def test_bad_input_and_serialization():
    x, y = batch()
    with pytest.raises(ValueError, match="y_true"):
        ContrastiveLoss()(np.eye(4)[y], x)
    with pytest.raises(ValueError, match="margin"):
        ContrastiveLoss(margin=-0.1)
    loss = ContrastiveLoss(0.7, "cosine", 0.3)
    assert loss.get_config()["distance"] == "cosine"  # names stay names in the config
    assert ContrastiveLoss.from_config(loss.get_config()).get_config() == loss.get_config()
