"""The losses refuse another head's output and bad labels with messages naming what they expect (issue #13: items 10,
21 and the direct-call part of 4): static shape checks (rank, width) always, value checks where the values are
concrete (eager calls; PyTorch's eager fit)."""

import numpy as np
import pytest

import zoo
from tests.helpers import to_numpy

Y = np.array([0, 1, 2, 0], "int32")


def _cosines(k=3):
    return np.random.default_rng(0).uniform(-1.0, 1.0, size=(4, k)).astype("float32")


def _embeddings():
    return np.random.default_rng(1).normal(size=(4, 2)).astype("float32")


COSINE_LOSSES = {
    "arcface": zoo.losses.ArcFaceLoss, "cosface": zoo.losses.CosFaceLoss, "sphereface": zoo.losses.SphereFaceLoss,
    "sphereface2": zoo.losses.SphereFace2Loss, "prototypes": zoo.losses.PrototypeRegressionLoss,
}


@pytest.mark.parametrize("name", sorted(COSINE_LOSSES))
def test_cosine_losses_refuse_other_heads(name):
    loss = COSINE_LOSSES[name]()
    assert np.isfinite(float(to_numpy(loss(Y, _cosines()))))
    with pytest.raises(ValueError, match="1 column"):   # width 1: softmax of one class, loss 0
        loss(np.zeros(4, "int32"), _cosines()[:, :1])
    with pytest.raises(ValueError, match="rank 1"):
        loss(Y, _cosines()[:, 0])
    distarc = zoo.layers.DistArcHead(3)(_embeddings())   # [4, 10]
    with pytest.raises(ValueError, match="not cosines.*DistArcLoss"):
        loss(Y, distarc)
    center = zoo.layers.CenterHead(3, classifier=zoo.layers.CosineHead(3))(_embeddings())   # [4, 4]
    with pytest.raises(ValueError, match="not cosines"):
        loss(Y, center)


def test_center_loss_refuses_logits_without_the_centre_column():
    loss = zoo.losses.CenterLoss()
    logits = np.array([[2.0, 0.5, -1.0, 1.0], [0.1, 0.2, 0.3, 0.4], [1.0, -2.0, 0.0, 3.0], [0.0, 0.0, 0.0, 0.0]],
                      "float32")
    with pytest.raises(ValueError, match="CenterHead output.*not a centre term"):
        loss(Y, logits)
    with pytest.raises(ValueError, match="2 column"):
        loss(np.zeros(4, "int32"), logits[:, :2])
    with pytest.raises(ValueError, match="rank 1"):
        loss(Y, logits[:, 0])
    head = zoo.layers.CenterHead(3)
    assert np.isfinite(float(to_numpy(loss(Y, head(_embeddings(), labels=Y, training=True)))))


def test_distarc_loss_on_plain_cosines_names_the_layout():
    loss = zoo.losses.DistArcLoss()
    y = np.array([0, 4, 7, 9], "int32")   # valid class ids for 10 cosine columns
    with pytest.raises(ValueError, match=r"DistArcHead output \[B, 3K\+1\].*read as K = 3"):
        loss(y, _cosines(10))
    with pytest.raises(ValueError, match="rank 1"):
        loss(Y, _cosines(10)[:, 0])
    assert np.isfinite(float(to_numpy(loss(Y, zoo.layers.DistArcHead(3)(_embeddings())))))


def test_bad_labels_in_direct_calls_name_the_values():
    with pytest.raises(ValueError, match=r"non-integer value\(s\) \[2\.5\]"):
        zoo.losses.ArcFaceLoss()(np.array([0.0, 2.5, 1.0, 0.0], "float32"), _cosines())
    with pytest.raises(ValueError, match=r"out of range: \[5\]"):
        zoo.losses.CosFaceLoss()(np.array([0, 1, 5, 0]), _cosines())
    with pytest.raises(ValueError, match=r"prototype_regression_loss: labels must be integers in .*\[5\]"):
        zoo.losses.PrototypeRegressionLoss()(np.array([0, 1, 5, 0]), _cosines())
    packed = np.array([[0, 3, 0.5], [1, 0, 0.5], [1, 1, 1.0], [2, 2, 1.0]], "float32")   # mixup (y_a, y_b, lam)
    with pytest.raises(ValueError, match=r"out of range: \[3\]"):
        zoo.losses.PrototypeRegressionLoss()(packed, _cosines())
