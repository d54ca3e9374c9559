"""DistArcHead: closed-form δ / cos θ / cos φ vs a float64 broadcast, float32 precision next to a proxy at
radius 100, prediction = nearest radial proxy, radius configuration and its errors, the shared layer checks
(tests.harness), extreme-point gradients, the 10,000-class size, digits smoke."""

import keras
import numpy as np
import pytest

import zoo.data
from tests.harness import check_layer
from tests.helpers import assert_all_finite, roundtrip, to_numpy, value_and_grad
from zoo.layers import DistArcHead
from zoo.losses import DistArcLoss


def ref(x, w, r):
    x, w = x.astype(np.float64), w.astype(np.float64)
    wh = w / np.linalg.norm(w, axis=0, keepdims=True)
    omega = (wh * np.asarray(r)).T
    diff = x[:, None, :] - omega[None]
    delta = (diff ** 2).sum(-1)
    cos = (x / np.linalg.norm(x, axis=1, keepdims=True)) @ wh
    cos_phi = (diff * -wh.T[None]).sum(-1) / np.sqrt(delta)
    return delta, cos, cos_phi, omega


def test_geometry_matches_float64_broadcast_and_layout():
    rng = np.random.default_rng(0)
    head = DistArcHead(9, num_spheres=3, radial_gap=4.0, first_radius=3.0)
    x = (rng.normal(size=(40, 5)) * rng.uniform(0.5, 15, size=(40, 1))).astype(np.float32)
    out = head(x)
    assert tuple(out.shape) == (40, 28)
    delta, cos, cos_phi = (to_numpy(t) for t in DistArcHead.unpack(out))
    rd, rc, rp, _ = ref(x, to_numpy(head.kernel), head.class_radii)
    np.testing.assert_allclose(delta, rd, rtol=1e-5, atol=2e-4)
    np.testing.assert_allclose(cos, rc, atol=2e-6)
    np.testing.assert_allclose(cos_phi, rp, atol=1e-4)
    np.testing.assert_allclose(to_numpy(DistArcHead.scores(out)), -delta)
    # every extra column is below every score
    o = to_numpy(out)
    assert (o[:, 9:].max(1) < o[:, :9].min(1)).all()


@pytest.mark.parametrize("kw", [{}, {"classes_per_sphere": 3}, {"radii": [1.0, 1.5, 9.0, 30.0, 31.0]},
                                {"num_spheres": 2, "radial_gap": 0.5, "first_radius": 0.2}])
def test_predict_argmax_is_nearest_radial_proxy(kw):
    rng = np.random.default_rng(1)
    inp = keras.Input((6,))
    head = DistArcHead(10, **kw)
    model = keras.Model(inp, head(inp))
    x = (rng.normal(size=(500, 6)) * rng.uniform(0.01, 40, size=(500, 1))).astype(np.float32)
    pred = np.argmax(to_numpy(model.predict(x, verbose=0)), axis=-1)
    _, _, _, omega = ref(x, to_numpy(head.kernel), head.class_radii)
    nearest = np.argmin(np.linalg.norm(x[:, None, :].astype(np.float64) - omega[None], axis=-1), axis=-1)
    assert (pred == nearest).mean() >= 0.998  # ties within float32 rounding only


def test_radius_configuration():
    h = DistArcHead(10)
    assert h.sphere_radii == [10.0 * (i + 1) for i in range(10)] and h.class_radii == h.sphere_radii
    h = DistArcHead(10, radial_gap=5.0)
    assert h.sphere_radii[:3] == [10.0, 15.0, 20.0]
    h = DistArcHead(10, classes_per_sphere=4)
    assert h.num_spheres == 3 and h.class_radii == [10.0] * 4 + [20.0] * 4 + [30.0] * 2
    h = DistArcHead(7, num_spheres=2)
    assert h.classes_per_sphere == 4 and h.class_radii == [10.0] * 4 + [20.0] * 3
    h = DistArcHead(4, radii=[1.0, 2.0], classes_per_sphere=2)
    assert h.class_radii == [1.0, 1.0, 2.0, 2.0]


@pytest.mark.parametrize("kw, match", [
    ({"radii": [1.0, 1.0, 2.0]}, "strictly increasing"),
    ({"radii": [3.0, 2.0, 5.0]}, "strictly increasing"),
    ({"radii": [0.0, 1.0, 2.0]}, "> 0"),
    ({"radii": [-1.0, 1.0, 2.0]}, "> 0"),
    ({"radii": [1.0, 2.0], "num_spheres": 3}, "num_spheres"),
    ({"radii": [1.0, 2.0, 3.0], "classes_per_sphere": 2}, "every sphere"),
    ({"radial_gap": 0.0}, "radial_gap"),
    ({"radial_gap": -5.0}, "radial_gap"),
    ({"first_radius": -1.0}, "first_radius"),
    ({"num_spheres": 5, "classes_per_sphere": 1}, "num_spheres"),
    ({"classes_per_sphere": 0}, "classes_per_sphere"),
])
def test_bad_radii(kw, match):
    with pytest.raises(ValueError, match=match):
        DistArcHead(3, **kw)


def test_layer_checks():
    """Build/call, config and `.keras` round trips, float32 output under mixed_float16, finite gradients,
    one fit step (tests.harness)."""
    x = (np.random.default_rng(3).normal(size=(8, 4)) * 5.0).astype(np.float32)
    out = check_layer(DistArcHead(6, radii=[2.0, 3.0], classes_per_sphere=3), x, expected_shape=(8, 19))
    assert (out[:, 6:].max(1) < out[:, :6].min(1)).all()


def test_finite_loss_gradients_at_theta_zero_and_pi_and_origin():
    head = DistArcHead(3, radial_gap=10.0)
    x = np.array([[5.0, 0.0], [-5.0, 0.0], [0.0, 0.0], [0.0, 20.0]], np.float32)  # last: exactly at ω_1
    head.build(x.shape)
    w = np.array([[1.0, 0.0, -1.0], [0.0, 1.0, 0.0]], np.float32)
    loss = DistArcLoss()
    y = np.array([0, 0, 1, 1])
    value, grads = value_and_grad(lambda xx, kk: loss.call(y, head.stateless_call([kk], [], xx)[0]), x, w)
    assert_all_finite(value, *grads)


@pytest.mark.parametrize("dist", [1e-3, 1e-2, 1e-1, 1.0, 10.0])
def test_float32_precision_next_to_a_proxy_at_radius_100(dist):
    """δ and cos φ against float64 at distance `dist` from the proxy of radius 100 (the closed form alone
    was off ~5000x in δ at 1e-3 and ~1 in cos φ at 1e-2). The floor is the float32 rounding of the proxy
    r·ŵ itself, an absolute error ~ε·r in x - ω: relative ε·r/dist in δ, absolute in cos φ."""
    rng = np.random.default_rng(4)
    d = 32
    head = DistArcHead(10, kernel_initializer="random_normal")  # radii 10, 20, ..., 100
    head.build((None, d))
    w = to_numpy(head.kernel)
    w_hat = w[:, 9].astype(np.float64) / np.linalg.norm(w[:, 9].astype(np.float64))
    u = rng.normal(size=(32, d))
    x = (100.0 * w_hat + dist * u / np.linalg.norm(u, axis=1, keepdims=True)).astype(np.float32)
    delta, _, cos_phi = (to_numpy(t) for t in DistArcHead.unpack(head(x)))
    rd, _, rp, _ = ref(x, w, head.class_radii)
    floor = 4.0 * np.finfo(np.float32).eps * 100.0 / dist
    rel = np.abs(delta - rd) / rd
    assert rel[:, 9].max() < floor + 1e-6, (rel[:, 9].max(), floor)
    assert np.abs(cos_phi - rp)[:, 9].max() < floor + 1e-6
    assert rel.max() < floor + 1e-6  # the other columns (far from x) are at least as accurate
    assert np.abs(cos_phi - rp).max() < floor + 1e-6


def test_float32_precision_on_random_points():
    rng = np.random.default_rng(5)
    head = DistArcHead(10, kernel_initializer="random_normal")
    x = (rng.normal(size=(256, 32)) * rng.uniform(1, 150, size=(256, 1))).astype(np.float32)
    delta, cos, cos_phi = (to_numpy(t) for t in DistArcHead.unpack(head(x)))
    rd, rc, rp, _ = ref(x, to_numpy(head.kernel), head.class_radii)
    assert (np.abs(delta - rd) / rd).max() < 1e-6
    assert np.abs(cos - rc).max() < 1e-6
    assert np.abs(cos_phi - rp).max() < 2e-6


def test_ten_thousand_classes_d512_batch128_forward_loss_and_prediction():
    """The size of the benchmark: O(B·K) memory (the broadcast would be a 2.6 GB [128, 10000, 512] tensor).

    Forward + loss only (gradients at this size are in benchmarks/distarc_memory.py; their finiteness
    is tested at small sizes above), and argmax = argmin ||x - ω|| on the full batch.
    """
    rng = np.random.default_rng(2)
    head = DistArcHead(10_000, classes_per_sphere=100, radial_gap=2.0, kernel_initializer="random_normal")
    x = rng.normal(size=(128, 512)).astype(np.float32)
    y = rng.integers(0, 10_000, size=128)
    out = head(x)
    assert tuple(out.shape) == (128, 30_001)
    loss = to_numpy(DistArcLoss().call(y, out))
    assert_all_finite(loss)
    pred = np.argmax(to_numpy(out), -1)
    _, _, _, omega = ref(x[:1], to_numpy(head.kernel), head.class_radii)
    d2 = (x.astype(np.float64) ** 2).sum(1)[:, None] - 2 * x @ omega.T + (omega ** 2).sum(1)[None]
    assert (pred == np.argmin(d2, -1)).all()


def test_training_smoke_on_digits_and_round_trip():
    (xtr, ytr), (xte, yte) = zoo.data.digits()
    f = lambda a: (a.reshape(len(a), -1).astype("float32") / 255.0 - 0.3) / 0.38  # noqa: E731
    inp = keras.Input((64,))
    emb = keras.layers.Dense(8)(keras.layers.Dense(64, activation="relu")(inp))
    head = DistArcHead(10, radial_gap=1.0, first_radius=1.0)
    model = keras.Model(inp, head(emb))
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss=DistArcLoss(lam=0.05),
                  metrics=["sparse_categorical_accuracy"])
    hist = model.fit(f(xtr), ytr, batch_size=128, epochs=4, verbose=0).history
    assert hist["loss"][-1] < 0.6 * hist["loss"][0], hist["loss"]
    assert hist["sparse_categorical_accuracy"][-1] > 0.5
    loaded = roundtrip(model, f(xte[:32]))
    assert isinstance(loaded.loss, DistArcLoss) and loaded.loss.lam == 0.05
