"""zoo.losses.PrototypicalLoss: the query cross-entropy against float64 numpy and Keras' own sparse CE, its
gradient (softmax - onehot) / Q, label forms, bad labels, extreme logits and serialisation."""

import keras
import numpy as np
import pytest

from tests.harness import check_loss
from tests.helpers import assert_all_finite, to_numpy, value_and_grad
from zoo.layers import PrototypicalHead
from zoo.losses import PrototypicalLoss
from zoo.losses.prototypical import prototypical_loss


def np_cross_entropy(logits, y):
    z = np.asarray(logits, np.float64)
    m = z.max(axis=1, keepdims=True)
    lse = m[:, 0] + np.log(np.exp(z - m).sum(axis=1))
    return lse - z[np.arange(len(y)), y]


def episode_logits(rng, way=5, query=4, scale=3.0):
    y = (np.arange(query * way) % way).astype(np.int32)
    return (rng.normal(size=(query * way, way)) * scale).astype(np.float32), y


def test_matches_float64_numpy_and_keras_sparse_ce():
    rng = np.random.default_rng(0)
    logits, y = episode_logits(rng, way=30, query=15)
    want = np_cross_entropy(logits, y)
    np.testing.assert_allclose(to_numpy(prototypical_loss(y, logits)), want, rtol=1e-5, atol=1e-6)
    got = float(to_numpy(PrototypicalLoss()(y, logits)))
    assert got == pytest.approx(want.mean(), rel=1e-5)
    keras_ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(y, logits)
    assert got == pytest.approx(float(to_numpy(keras_ce)), rel=1e-6)
    # label forms: [Q, 1], float (Keras casts y_true to the loss dtype)
    assert float(to_numpy(PrototypicalLoss()(y[:, None], logits))) == pytest.approx(got, rel=1e-7)
    assert float(to_numpy(PrototypicalLoss()(y.astype(np.float32), logits))) == pytest.approx(got, rel=1e-7)
    # reduction "sum"
    assert float(to_numpy(PrototypicalLoss(reduction="sum")(y, logits))) == pytest.approx(want.sum(), rel=1e-5)


def test_gradient_is_softmax_minus_onehot_over_q():
    rng = np.random.default_rng(1)
    logits, y = episode_logits(rng)
    _, (g,) = value_and_grad(lambda z: PrototypicalLoss()(y, z), logits)
    z = logits.astype(np.float64)
    p = np.exp(z - z.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    want = (p - np.eye(z.shape[1])[y]) / len(y)
    np.testing.assert_allclose(g, want, rtol=1e-4, atol=1e-7)


def test_extreme_logits_give_finite_values_and_gradients():
    """Euclidean ProtoNet logits of huge embeddings reach -1e11; a perfect episode gives 0, a wrong one a huge
    but finite loss."""
    rng = np.random.default_rng(2)
    for scale in (1e11, 1e30):
        logits, y = episode_logits(rng, scale=1.0)
        logits = -np.abs(logits) * scale
        v, (g,) = value_and_grad(lambda z, y=y: PrototypicalLoss()(y, z), logits.astype(np.float32))
        assert_all_finite(v, g, what=f"scale {scale}")
    # the loss of the classic head on 1e4-scale embeddings
    e = (rng.normal(size=(4 * 5, 64)) * 1e4).astype(np.float32)
    y = (np.arange(15) % 5).astype(np.int32)
    v, (g,) = value_and_grad(lambda t: PrototypicalLoss()(y, PrototypicalHead(1, 3)(t)), e)
    assert_all_finite(v, g, what="head on huge embeddings")


def test_bad_labels_and_shapes_raise():
    logits = np.zeros((6, 3), np.float32)
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        PrototypicalLoss()(np.array([0, 1, 2, 3, 0, 1]), logits)
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        PrototypicalLoss()(np.array([0, 1, 2, -1, 0, 1]), logits)
    with pytest.raises(ValueError, match="5 labels for 6"):
        PrototypicalLoss()(np.array([0, 1, 2, 0, 1]), logits)
    with pytest.raises(ValueError, match=r"\[query \* way, way\]"):
        prototypical_loss(np.zeros(6), np.zeros((6, 3, 1), np.float32))


def test_keras_object_checks():
    logits, y = episode_logits(np.random.default_rng(3))
    loss = PrototypicalLoss(reduction="sum", name="proto")
    check_loss(loss, y, logits, expected=np_cross_entropy(logits, y).sum(), rtol=1e-5, atol=1e-5)
    again = PrototypicalLoss.from_config(loss.get_config())
    assert again.reduction == "sum" and again.name == "proto"
