"""The harness itself: it passes a correct layer and loss, and catches the defects it exists for."""

import keras
import numpy as np
import pytest
from keras import ops

from tests.harness import check_layer, check_loss


@keras.saving.register_keras_serializable(package="zoo_tests")
class Scale(keras.layers.Layer):
    def __init__(self, factor=2.0, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones", name="w")

    def call(self, x):
        return self.factor * x * self.w

    def get_config(self):
        return {**super().get_config(), "factor": self.factor}


@keras.saving.register_keras_serializable(package="zoo_tests")
class ForgetsFactor(Scale):
    def get_config(self):
        return keras.layers.Layer.get_config(self)  # `factor` is lost: from_config gives another layer


@keras.saving.register_keras_serializable(package="zoo_tests")
class MeanSquare(keras.losses.Loss):
    def call(self, y_true, y_pred):
        return ops.mean(ops.square(ops.cast(y_pred, "float32") - ops.cast(y_true, "float32")), axis=-1)


X = np.random.default_rng(0).normal(size=(4, 3)).astype("float32")


def test_a_correct_layer_and_loss_pass():
    out = check_layer(Scale(3.0), X, expected_shape=(4, 3), mixed_precision="policy")
    np.testing.assert_allclose(out, 3.0 * X, rtol=1e-6)
    assert check_loss(MeanSquare(), np.zeros((4, 3), "float32"), X, expected=np.mean(X**2), rtol=1e-5) > 0


def test_a_lost_config_argument_is_caught():
    with pytest.raises(AssertionError, match="from_config"):
        check_layer(ForgetsFactor(3.0), X, fit=False, mixed_precision=None)


def test_wrong_shape_and_float16_output_are_caught():
    with pytest.raises(AssertionError, match="shapes"):
        check_layer(Scale(), X, expected_shape=(4, 5), fit=False, mixed_precision=None)
    with pytest.raises(AssertionError, match="mixed_float16"):
        check_layer(Scale(), X, fit=False, mixed_precision="float32")  # Scale follows the policy
