"""recipes._measures.classification_measures on tiny ImageClassifiers trained one epoch on real Fashion-MNIST:
the ECE of the softmax head equals zoo's ECE of softmax(predict) and a float64 loop; the DistArc head's three
accuracies match the head's argmax (nearest proxy) and argmax cos θ decoded from the packed output (the path
compare_heads used), its ECE the softmax of s·cos θ − λ·δ; the per-head logit conventions."""

import os

import keras
import numpy as np
import pytest

from recipes._measures import calibration_logits, classification_measures
from zoo.layers import DistArcHead
from zoo.metrics.calibration import expected_calibration_error

HAVE_FMNIST = os.path.isdir("/usr/share/datasets/fashion-mnist") or bool(os.environ.get("ZOO_FASHION_MNIST_DIR"))


def _softmax(z):
    z = np.asarray(z, np.float64)
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def _loop_ece(p, y, bins=15):
    total = 0.0
    for b in range(bins):
        members = [i for i in range(len(y)) if b / bins < p[i].max() <= (b + 1) / bins]
        if members:
            acc = np.mean([p[i].argmax() == y[i] for i in members])
            conf = np.mean([p[i].max() for i in members])
            total += len(members) / len(y) * abs(acc - conf)
    return total


@pytest.fixture(scope="module")
def data():
    import zoo.data

    (xtr, ytr), (xte, yte) = zoo.data.fashion_mnist()
    return (xtr[:256], ytr[:256]), (xte[:200], yte[:200])


def _trained(head, data, dim, **options):
    import zoo.models

    (xtr, ytr), _ = data
    keras.utils.set_random_seed(0)
    model = zoo.models.ImageClassifier("lenet", head=head, num_classes=10, input_shape=(28, 28), embedding_dim=dim,
                                       head_options=options)
    model.compile()
    model.adapt(xtr)
    model.fit(xtr, ytr, epochs=1, batch_size=128, verbose=0)
    return model


@pytest.mark.skipif(not HAVE_FMNIST, reason="Debian dataset-fashion-mnist not installed")
def test_softmax_head_ece(data):
    model = _trained("softmax", data, 8)
    _, (xte, yte) = data
    got = classification_measures(model, xte, yte)
    assert set(got) == {"ece", "ece_bins", "ece_logits"} and got["ece_bins"] == 15
    p = _softmax(model.predict(xte, batch_size=512, verbose=0))
    assert got["ece"] == pytest.approx(expected_calibration_error(p, yte), abs=1e-6)  # float32 scores
    assert got["ece"] == pytest.approx(_loop_ece(p, yte), abs=1e-9)
    assert 0.0 < got["ece"] < 1.0


@pytest.mark.skipif(not HAVE_FMNIST, reason="Debian dataset-fashion-mnist not installed")
def test_distarc_head_three_accuracies_and_ece(data):
    model = _trained("distarc", data, 2, scale=2.0)
    _, (xte, yte) = data
    got = classification_measures(model, xte, yte)
    for key in ("accuracy_nearest_proxy", "accuracy_accuracy1", "accuracy_angular"):
        assert 0.0 <= got[key] <= 1.0
    # nearest proxy = the head's own prediction (argmax of predict); angular = argmax of the decoded cos θ
    head_pred = np.argmax(model.predict(xte, batch_size=512, verbose=0), -1)
    assert got["accuracy_nearest_proxy"] == pytest.approx(np.mean(head_pred == yte), abs=1 / len(yte))
    delta, cos_theta, _ = (keras.ops.convert_to_numpy(t) for t in DistArcHead.unpack(model(xte, training=False)))
    assert got["accuracy_angular"] == pytest.approx(np.mean(np.argmax(cos_theta, -1) == yte), abs=1 / len(yte))
    # ECE of softmax(s·cos θ − λ·δ) (the head's float32 outputs: a loose tolerance)
    loss = model.spec.loss
    p = _softmax(loss.scale * cos_theta.astype(np.float64) - loss.lam * delta.astype(np.float64))
    assert got["ece"] == pytest.approx(_loop_ece(p, yte), abs=2e-3)
    assert got["ece_logits"] == "2·cos θ − 0.005·δ"


def test_logit_conventions_per_head():
    import zoo.models

    scores = np.random.default_rng(0).uniform(-1, 1, (4, 3))
    for head, options, factor, name in (("arcface", {}, 64.0, "64·cos θ"),
                                        ("cosface", {"scale": 10.0}, 10.0, "10·cos θ"),
                                        ("center", {"base": "arcface", "scale": 16.0}, 16.0, "16·cos θ"),
                                        ("center", {}, 1.0, "logits (the head scores)"),
                                        ("softmax", {}, 1.0, "logits (the head scores)"),
                                        ("poincare", {}, 1.0, "logits (the head scores)"),
                                        ("prototypes", {"prototypes": "etf"}, 1.0, "cos θ (DL2PA: temperature 1)")):
        model = zoo.models.ImageClassifier("lenet", head=head, num_classes=3, input_shape=(28, 28), embedding_dim=4,
                                           head_options=options)
        logits, convention = calibration_logits(model, scores)
        np.testing.assert_allclose(logits, factor * scores)
        assert convention == name, head
