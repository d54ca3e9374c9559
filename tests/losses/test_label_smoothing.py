"""LabelSmoothingCrossEntropy against a float64 reference and Keras' one-hot CategoricalCrossentropy(label_smoothing),
extreme logits, bad labels, serialization (the shared harness)."""

import keras
import numpy as np
import pytest

from tests.harness import check_loss
from tests.helpers import assert_all_finite, to_numpy, value_and_grad
from zoo.losses import LabelSmoothingCrossEntropy
from zoo.losses.label_smoothing import label_smoothing_cross_entropy


def ref_smoothed_ce(y, z, eps):
    z = np.asarray(z, np.float64)
    k = z.shape[1]
    logp = z - z.max(1, keepdims=True)
    logp = logp - np.log(np.exp(logp).sum(1, keepdims=True))
    q = np.full_like(z, eps / k)
    q[np.arange(len(y)), y] += 1 - eps
    return float(np.mean(-(q * logp).sum(1)))


@pytest.mark.parametrize("eps", [0.0, 0.1, 0.5])
def test_matches_float64_reference_and_keras_one_hot(eps):
    rng = np.random.default_rng(0)
    z = rng.normal(size=(6, 5)).astype("float32") * 3
    y = np.array([0, 1, 4, 2, 2, 3])
    check_loss(LabelSmoothingCrossEntropy(eps), y, z, expected=ref_smoothed_ce(y, z, eps))
    keras_value = keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=eps)(np.eye(5)[y], z)
    np.testing.assert_allclose(to_numpy(LabelSmoothingCrossEntropy(eps)(y, z)), to_numpy(keras_value), rtol=1e-5)


def test_extreme_logits_finite_gradient():
    z = np.array([[1e4, -1e4, 0.0], [-3e4, 3e4, 1.0]], np.float32)
    v, (g,) = value_and_grad(lambda s: keras.ops.mean(label_smoothing_cross_entropy(np.array([1, 1]), s, 0.1)), z)
    assert_all_finite(v, g)


def test_bad_arguments():
    with pytest.raises(ValueError, match="epsilon"):
        LabelSmoothingCrossEntropy(1.0)
    with pytest.raises(ValueError, match="labels"):
        LabelSmoothingCrossEntropy()(np.array([0, 7]), np.zeros((2, 3), "float32"))
