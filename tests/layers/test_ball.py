"""One ball per model (zoo.layers._ball): two different curvatures on one path are an error naming both layers
and both curvatures; one ball (equal fixed c, or a c shared with `c=<layer>`) passes, and a shared trainable
c stays shared through a `.keras` round trip."""

import math

import keras
import numpy as np
import pytest

from tests.helpers import roundtrip, to_numpy
from zoo.layers import FromPoincare, HyperbolicLinear, HyperbolicMLR, PoincareDistance, PrototypicalHead, ToPoincare


def _readers(c, name="other"):
    """Every layer that reads ball points, with the way it is called on a ball tensor."""
    return [
        (HyperbolicMLR(3, c=c, name=name), lambda layer, b: layer(b)),
        (HyperbolicLinear(3, c=c, name=name), lambda layer, b: layer(b)),
        (PoincareDistance(c=c, name=name), lambda layer, b: layer([b, b])),
        (FromPoincare(c=c, name=name), lambda layer, b: layer(b)),
        (PrototypicalHead(1, 1, geometry="poincare", c=c, name=name), lambda layer, b: layer(b)),
    ]


def test_two_balls_in_one_model_raise_an_error_naming_both_curvatures():
    ball = ToPoincare(c=1.0, name="to_ball")(keras.Input((4,)))
    for layer, call in _readers(0.5):
        with pytest.raises(ValueError, match=(rf"{type(layer).__name__} 'other' \(c=0\.5\) is called on points of "
                                              r"the Poincaré ball of ToPoincare 'to_ball' \(c=1\): two different "
                                              r"balls in one model")):
            call(layer, ball)


def test_a_trainable_c_is_a_ball_of_its_own():
    x = keras.Input((4,))
    ball = ToPoincare(c=0.5, train_c=True, name="owner")(x)
    # the same initial value is not the same ball: the owner's c moves in training, this one's does not
    with pytest.raises(ValueError, match=r"'mlr' \(c=0\.5\).*'owner' \(trainable c, initially 0\.5\)"):
        HyperbolicMLR(3, c=0.5, name="mlr")(ball)
    with pytest.raises(ValueError, match=r"'back' \(trainable c, initially 0\.5\).*'owner' \(trainable c"):
        FromPoincare(c=0.5, train_c=True, name="back")(ball)
    # a ball of a second input branch: two trainable c are two balls unless the second shares the first
    first = ToPoincare(c=0.5, train_c=True, name="first")
    other = keras.Input((4,))
    with pytest.raises(ValueError, match="two different balls"):
        PoincareDistance(c=first)([first(x), ToPoincare(c=0.5, train_c=True, name="second")(other)])
    out = PoincareDistance(c=first)([first(x), ToPoincare(c=first)(other)])
    assert out.shape == (None,)


def test_the_ball_is_found_through_other_layers_and_nested_models():
    x = keras.Input((4,))
    inner_in = keras.Input((4,))
    inner = keras.Model(inner_in, ToPoincare(c=0.3, name="inner_ball")(keras.layers.Dense(4)(inner_in)))
    with pytest.raises(ValueError, match=r"'outer' \(c=1\).*ToPoincare 'inner_ball' \(c=0\.3\)"):
        HyperbolicMLR(2, c=1.0, name="outer")(keras.layers.Dropout(0.1)(inner(x)))
    # HyperbolicLinear keeps the ball: the layer after it is checked against it
    hidden = HyperbolicLinear(5, c=0.3, name="hidden")(inner(x))
    with pytest.raises(ValueError, match=r"HyperbolicLinear 'hidden' \(c=0\.3\)"):
        FromPoincare(c=2.0)(hidden)
    # FromPoincare leaves the ball: a new ball after it is independent
    euclidean = FromPoincare(c=0.3)(hidden)
    assert HyperbolicMLR(2, c=2.0)(ToPoincare(c=2.0)(euclidean)).shape == (None, 2)


def test_one_ball_passes():
    x = keras.Input((4,))
    ball = ToPoincare(c=0.5)(x)
    for layer, call in _readers(0.5):
        call(layer, ball)
    # np.float32(0.05) is 0.05 to float32 rounding: the same ball
    assert HyperbolicMLR(2, c=0.05)(ToPoincare(c=np.float32(0.05))(x)).shape == (None, 2)
    seq = keras.Sequential([keras.Input((4,)), ToPoincare(c=0.3), HyperbolicLinear(3, c=0.3), HyperbolicMLR(5, c=0.3)])
    assert seq.outputs[0].shape == (None, 5)
    with pytest.raises(ValueError, match="two different balls"):
        keras.Sequential([keras.Input((4,)), ToPoincare(c=0.3), HyperbolicMLR(5, c=1.0)])


def test_shared_trainable_c_is_one_weight_and_survives_a_keras_round_trip():
    x = keras.Input((4,))
    to_ball = ToPoincare(c=0.5, train_c=True, name="to_ball")
    hidden = HyperbolicLinear(4, c=to_ball, name="hidden")
    mlr = HyperbolicMLR(3, c=to_ball, name="mlr")
    back = FromPoincare(c=hidden, name="back")  # shares through a chain: hidden -> to_ball
    ball = hidden(to_ball(x))
    model = keras.Model(x, [mlr(ball), back(ball)])
    assert [w.path for w in model.trainable_weights if "c_raw" in w.path] == ["to_ball/c_raw"]
    assert mlr.get_config()["share_ball"] and mlr.get_config()["c"] == 0.5
    to_ball._c_raw.assign(-1.0)  # a "trained" c
    trained = math.log1p(math.exp(-1.0))
    for layer in (hidden, mlr, back):
        assert layer.ball_owner() is to_ball
        assert float(to_numpy(layer.curvature)) == pytest.approx(trained, rel=1e-6)
    # the MLR computes on the trained ball: equal to a fixed-c MLR with the same weights
    data = np.random.default_rng(0).normal(size=(8, 4)).astype(np.float32)
    points = to_numpy(hidden(to_ball(data)))
    fixed = HyperbolicMLR(3, c=trained)
    fixed.build((None, 4))
    fixed.set_weights(mlr.get_weights())
    np.testing.assert_allclose(to_numpy(mlr(points)), to_numpy(fixed(points)), rtol=1e-5, atol=1e-6)
    loaded = roundtrip(model)
    for got, want in zip(loaded.predict(data, verbose=0), model.predict(data, verbose=0)):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)
    owner = loaded.get_layer("to_ball")
    for name in ("hidden", "mlr", "back"):
        assert loaded.get_layer(name).ball_owner() is owner
    assert float(to_numpy(loaded.get_layer("mlr").curvature)) == pytest.approx(trained, rel=1e-6)


def test_bad_sharing_arguments():
    owner = ToPoincare(c=0.5, name="owner")
    owner(keras.Input((3,)))
    with pytest.raises(ValueError, match="shares the c of ToPoincare 'owner'.*do not come from that ball"):
        HyperbolicMLR(3, c=owner)(keras.Input((3,)))  # the link could not be restored from a saved model
    with pytest.raises(ValueError, match="`train_c=True` makes c a weight of this layer"):
        ToPoincare(c=owner, train_c=True)
    with pytest.raises(ValueError, match="`c` must be a finite number > 0"):
        HyperbolicMLR(3, c=keras.ops.ones(()))
    with pytest.raises(ValueError, match="only with geometry 'poincare'"):
        PrototypicalHead(1, 1, geometry="sphere", c=owner)
    with pytest.raises(ValueError, match="share_ball"):
        HyperbolicMLR(3, share_ball=1)
