"""zoo.losses.PrototypeRegressionLoss: balanced and long-tail forms against float64 numpy references of
the reference code's formulas (values and gradients), mixup-packed labels, bad labels, serialization."""

import keras
import numpy as np
import pytest

from tests.harness import check_loss
from tests.helpers import to_numpy, value_and_grad
from zoo.geometry import sphere
from zoo.losses import PrototypeRegressionLoss
from zoo.losses.prototype_regression import prototype_regression_loss


def _unit(a):
    return a / np.linalg.norm(a, axis=-1, keepdims=True)


RNG = np.random.default_rng(0)
POLARS = _unit(RNG.normal(size=(5, 4)))  # class k -> prototype polars[k]
X = RNG.normal(size=(8, 4))
Y = np.array([0, 0, 0, 1, 1, 2, 4, 0])  # class 3 absent; counts 4, 2, 1, 0, 1


def _ref_balanced(x, y):
    """B_utils.BLoss per sample: (1 - cos(f(x), p_y))^2."""
    return (1.0 - np.sum(_unit(x) * POLARS[y], axis=1)) ** 2


def _ref_long_tail(x, y_a, y_b, lam):
    """LT_utils: h = x/|x|, Ew from produce_Ew(y_a), WP = Ew * polars, LTloss on each label set."""
    h = _unit(x)
    classes, counts = np.unique(y_a, return_counts=True)
    gamma = len(y_a) / len(classes)
    ew = np.ones(POLARS.shape[0])
    ew[classes] = np.sqrt(gamma / counts)
    wp = ew[:, None] * POLARS

    def lt(target):
        dot = np.sum(h * target, axis=1)
        m_len = np.linalg.norm(target, axis=1)
        h_len = np.linalg.norm(h, axis=1)
        return 0.5 * np.mean((dot - m_len * h_len) ** 2 / h_len)

    return lam * lt(wp[y_a]) + (1.0 - lam) * lt(wp[y_b])


def _loss_of_x(form, y_true, reduction="sum_over_batch_size"):
    loss = PrototypeRegressionLoss(form=form, reduction=reduction)
    polars = keras.ops.convert_to_tensor(POLARS.astype("float32"))
    return lambda x: loss(y_true, sphere.pairwise_cosine(x, polars))


def _num_grad(f, x, eps=1e-6):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += eps
        xm[i] -= eps
        g[i] = (f(xp) - f(xm)) / (2 * eps)
    return g


def test_balanced_matches_reference_value_and_gradient():
    val, (g,) = value_and_grad(_loss_of_x("balanced", Y), X.astype("float32"))
    assert val == pytest.approx(_ref_balanced(X, Y).mean(), rel=1e-5)
    np.testing.assert_allclose(g, _num_grad(lambda a: _ref_balanced(a, Y).mean(), X), atol=2e-6)
    total, _ = value_and_grad(_loss_of_x("balanced", Y, reduction="sum"), X.astype("float32"))
    assert total == pytest.approx(_ref_balanced(X, Y).sum(), rel=1e-5)  # the reference's summed loss


def test_long_tail_equals_the_dot_regression_of_the_reference():
    val, (g,) = value_and_grad(_loss_of_x("long_tail", Y), X.astype("float32"))
    assert val == pytest.approx(_ref_long_tail(X, Y, Y, 1.0), rel=1e-5)
    np.testing.assert_allclose(g, _num_grad(lambda a: _ref_long_tail(a, Y, Y, 1.0), X), atol=2e-6)


def test_mixup_packed_labels():
    perm = np.array([3, 0, 7, 1, 6, 2, 5, 4])
    lam = 0.3
    packed = np.stack([Y, Y[perm], np.full(8, lam)], 1).astype("float32")
    val, (g,) = value_and_grad(_loss_of_x("long_tail", packed), X.astype("float32"))
    ref = lambda a: _ref_long_tail(a, Y, Y[perm], lam)  # noqa: E731
    assert val == pytest.approx(ref(X), rel=1e-5)
    np.testing.assert_allclose(g, _num_grad(ref, X), atol=2e-6)
    bal = _loss_of_x("balanced", packed)(X.astype("float32"))
    expected = (lam * _ref_balanced(X, Y) + (1 - lam) * _ref_balanced(X, Y[perm])).mean()
    assert float(to_numpy(bal)) == pytest.approx(expected, rel=1e-5)


def test_label_shapes_and_bad_labels():
    scores = np.clip(RNG.normal(size=(4, 3)), -1, 1).astype("float32")
    y = np.array([0, 2, 1, 1])
    a = to_numpy(prototype_regression_loss(y, scores))
    np.testing.assert_allclose(a, (1 - scores[np.arange(4), y]) ** 2, atol=1e-6)
    np.testing.assert_allclose(to_numpy(prototype_regression_loss(y[:, None].astype("float32"), scores)), a, atol=1e-6)
    # eager calls name the bad labels (inside a compiled step the samples become NaN instead)
    with pytest.raises(ValueError, match=r"out of range: \[-1, 3\]"):
        prototype_regression_loss(np.array([0, 3, 1, -1]), scores)
    with pytest.raises(ValueError, match="form"):
        PrototypeRegressionLoss(form="tail")
    with pytest.raises(ValueError, match="y_true"):
        prototype_regression_loss(np.zeros((4, 2)), scores)


def test_keras_object_checks():
    loss = PrototypeRegressionLoss(form="long_tail", reduction="sum")
    scores = np.clip(RNG.normal(size=(4, 3)), -1, 1).astype("float32")
    y = np.array([0, 2, 1, 1])
    check_loss(loss, y, scores)
    copy = PrototypeRegressionLoss.from_config(loss.get_config())
    assert copy.form == "long_tail" and copy.reduction == "sum"
    # a config saved before the dtype key existed still loads
    old = PrototypeRegressionLoss.from_config({"name": "prototype_regression", "reduction": "sum", "form": "balanced"})
    assert old.form == "balanced" and old.reduction == "sum"
