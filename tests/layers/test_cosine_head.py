"""CosineHead: formula vs numpy, float32 under mixed precision with finite margin-loss gradients at
cos θ = ±1, `.keras` round trip, and a digits training smoke for every cos θ margin loss."""

import keras
import numpy as np
import pytest

import zoo.data
from tests.harness import check_layer
from tests.helpers import assert_all_finite, roundtrip, to_numpy, value_and_grad
from zoo.layers import CosineHead
from zoo.losses import ArcFaceLoss, CosFaceLoss, SphereFace2Loss, SphereFaceLoss

LOSSES = {
    "arcface": lambda: ArcFaceLoss(scale=16.0),
    "cosface": lambda: CosFaceLoss(scale=16.0),
    "sphereface": lambda: SphereFaceLoss(scale=16.0),
    "sphereface2": lambda: SphereFace2Loss(scale=16.0),
}


def digits_flat():
    (xtr, ytr), (xte, yte) = zoo.data.digits()
    f = lambda a: (a.reshape(len(a), -1).astype("float32") / 255.0 - 0.3) / 0.38  # noqa: E731
    return (f(xtr), ytr), (f(xte), yte)


def small_model(head, dim=16):
    inp = keras.Input((64,))
    h = keras.layers.Dense(64, activation="relu")(inp)
    emb = keras.layers.Dense(dim)(h)
    return keras.Model(inp, head(emb))


def test_matches_numpy_and_zero_embedding():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(10, 5)).astype(np.float32)
    x[0] = 0.0
    head = CosineHead(7)
    out = to_numpy(head(x))
    w = to_numpy(head.kernel).astype(np.float64)
    xn = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-30)
    ref = xn @ (w / np.linalg.norm(w, axis=0, keepdims=True))
    np.testing.assert_allclose(out, ref, atol=1e-6)
    assert out.shape == (10, 7) and np.all(out[0] == 0.0)
    np.testing.assert_allclose(np.linalg.norm(to_numpy(head.directions()), axis=1), 1.0, rtol=1e-6)


def test_mixed_precision_float32_output_and_finite_gradients_at_plus_minus_one():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        head = CosineHead(3)
        head.build((None, 2))
        w = np.array([[1.0, 0.0, -1.0], [0.0, 1.0, 0.0]], np.float32)
        x = np.array([[3.0, 0.0], [-2.0, 0.0], [0.0, 1.0]], np.float16)  # cos θ_0 = 1, -1; cos θ_1 = 1
        y = np.array([0, 0, 1])
        out = head(x)
        assert keras.backend.standardize_dtype(out.dtype) == "float32"
        head.kernel.assign(w)
        np.testing.assert_allclose(to_numpy(head(x))[:, :2], [[1, 0], [-1, 0], [0, 1]], atol=1e-6)
        for name, make in LOSSES.items():
            loss = make()

            def f(xx, kk, loss=loss):
                return loss.call(y, head.stateless_call([kk], [], xx)[0])

            value, grads = value_and_grad(f, x.astype(np.float32), w)
            assert_all_finite(value, *grads, what=name)
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_bad_arguments():
    for bad in (0, -2, 2.5, True):
        with pytest.raises(ValueError, match="num_classes"):
            CosineHead(bad)



def test_harness():
    x = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    head = CosineHead(5, name="h")
    check_layer(head, x, expected_shape=(4, 5))
    assert head.get_config()["num_classes"] == 5


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_training_smoke_on_digits_and_keras_round_trip(name):
    (xtr, ytr), (xte, yte) = digits_flat()
    model = small_model(CosineHead(10))
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss=LOSSES[name](), metrics=["sparse_categorical_accuracy"])
    hist = model.fit(xtr, ytr, batch_size=128, epochs=3, verbose=0).history
    assert hist["loss"][-1] < 0.7 * hist["loss"][0], hist["loss"]
    assert np.isfinite(hist["loss"]).all()
    acc = np.mean(np.argmax(to_numpy(model.predict(xte, verbose=0)), -1) == yte)
    assert acc > 0.5, acc
    if name == "arcface":  # one .keras round trip of a compiled model with head and loss
        loaded = roundtrip(model, xte[:32])
        assert isinstance(loaded.loss, ArcFaceLoss) and loaded.loss.scale == 16.0
