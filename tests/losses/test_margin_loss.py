"""The loss bases: a MarginLoss subclass with an identity hook is scaled softmax cross-entropy (float64
reference); a custom hook; FunctionLoss with a registered function; out-of-range labels inside a compiled
step give NaN; the margin losses' saved configs still load."""

import keras
import numpy as np
import pytest

from tests.harness import check_loss
from tests.helpers import to_numpy
from zoo.losses import ArcFaceLoss, CosFaceLoss, FunctionLoss, MarginLoss, SphereFaceLoss


def ref_ce(logits, y):
    m = logits.max(-1, keepdims=True)
    return np.log(np.exp(logits - m).sum(-1)) + m[:, 0] - logits[np.arange(len(y)), y]


@keras.saving.register_keras_serializable(package="zoo_tests")
class NormFace(MarginLoss):
    """The identity hook: scaled softmax cross-entropy on cos θ."""

    def __init__(self, scale=10.0, **kwargs):
        super().__init__(scale=scale, **kwargs)

    def target_logit(self, cos_y):
        return cos_y


@keras.saving.register_keras_serializable(package="zoo_tests")
class DoubleMargin(MarginLoss):
    """A hook with its own argument: cos θ_y - 2m."""

    def __init__(self, scale=8.0, margin=0.1, **kwargs):
        super().__init__(scale=scale, margin=float(margin), **kwargs)

    def target_logit(self, cos_y):
        return cos_y - 2.0 * self.margin


@keras.saving.register_keras_serializable(package="zoo_tests")
def scaled_square(y_true, y_pred, scale=1.0):
    return scale * keras.ops.mean(keras.ops.square(y_pred), axis=-1)


def scores(b=32, k=6, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, size=(b, k)).astype(np.float32), rng.integers(0, k, size=b)


def test_identity_hook_is_scaled_softmax_cross_entropy():
    cos, y = scores()
    want = ref_ce(10.0 * cos.astype(np.float64), y)
    np.testing.assert_allclose(to_numpy(NormFace().call(y, cos)), want, rtol=1e-5, atol=1e-5)
    check_loss(NormFace(), y, cos, expected=want.mean(), rtol=1e-5)
    # ArcFace at m = 0, CosFace at m = 0 and SphereFace at m = 1 are the same loss
    for loss in (ArcFaceLoss(scale=10.0, margin=0.0), CosFaceLoss(scale=10.0, margin=0.0),
                 SphereFaceLoss(scale=10.0, margin=1.0)):
        np.testing.assert_allclose(to_numpy(loss.call(y, cos)), want, rtol=1e-5, atol=1e-4, err_msg=loss.name)


def test_custom_hook_argument_is_stored_and_used():
    cos, y = scores(seed=1)
    z = 8.0 * cos.astype(np.float64)
    z[np.arange(len(y)), y] -= 8.0 * 0.2
    loss = DoubleMargin(margin=0.1, name="double")
    assert loss.get_config()["margin"] == 0.1 and loss.get_config()["scale"] == 8.0
    check_loss(loss, y, cos, expected=ref_ce(z, y).mean(), rtol=1e-5)
    loss.margin = 0.0  # the hook reads the attribute at call time
    np.testing.assert_allclose(to_numpy(loss.call(y, cos)), ref_ce(8.0 * cos.astype(np.float64), y), rtol=1e-5,
                               atol=1e-5)


def test_base_arguments_are_checked():
    with pytest.raises(ValueError, match="NormFace: `scale`"):
        NormFace(scale=0.0)

    class NoHook(MarginLoss):
        pass

    with pytest.raises(NotImplementedError, match="target_logit"):
        NoHook(scale=2.0)(np.array([0]), np.zeros((1, 3), np.float32))


def test_function_loss_with_a_registered_function():
    x = np.random.default_rng(2).normal(size=(8, 3)).astype(np.float32)
    loss = FunctionLoss(scaled_square, scale=2.0)
    assert loss.scale == 2.0
    check_loss(loss, np.zeros((8, 3), np.float32), x, expected=2.0 * np.mean(x.astype(np.float64) ** 2), rtol=1e-5)
    with pytest.raises(ValueError, match="fn"):
        FunctionLoss()


def test_out_of_range_label_inside_a_compiled_step_gives_nan():
    """Concrete labels raise; inside a compiled graph (values unknown) the sample's loss is NaN."""
    cos, y = scores(b=8, k=4, seed=3)
    y[2] = 7
    with pytest.raises(ValueError, match="labels"):
        ArcFaceLoss()(y, cos)
    inp = keras.Input((4,))
    model = keras.Model(inp, keras.layers.Identity()(inp))
    model.compile(loss=CosFaceLoss())
    if keras.backend.backend() == "torch":  # torch runs eagerly: the values are known, so they raise
        with pytest.raises(ValueError, match="labels"):
            model.evaluate(cos, y, batch_size=8, verbose=0)
    else:
        assert np.isnan(model.evaluate(cos, y, batch_size=8, verbose=0))


@pytest.mark.parametrize("cls,config", [
    (ArcFaceLoss, {"scale": 32.0, "margin": 0.3, "easy_margin": True}),
    (CosFaceLoss, {"scale": 30.0, "margin": 0.2}),
    (SphereFaceLoss, {"scale": 30.0, "margin": 4.0}),
])
def test_saved_configs_load(cls, config):
    full = {"name": "x", "reduction": "sum_over_batch_size", "dtype": "float32", **config}
    loss = keras.saving.deserialize_keras_object({"module": None, "class_name": f"zoo>{cls.__name__}",
                                                  "config": full, "registered_name": f"zoo>{cls.__name__}"})
    assert type(loss) is cls and loss.get_config() == full
