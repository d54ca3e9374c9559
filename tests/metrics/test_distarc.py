"""zoo.metrics.distarc: the three DistArc predictions against float64 per-sample loops written from the released
code's formulas (Accuracy2 = argmin ‖x − ρ ŵ‖², Accuracy1 = argmax cos θ − softmax((s − ‖x‖)²)), the identity
"a point on a proxy predicts its class", agreement with the DistArcHead's own argmax, and bad inputs."""

import math

import keras
import numpy as np
import pytest

from tests.helpers import to_numpy
from zoo.layers import DistArcHead
from zoo.metrics.distarc import distarc_geometry, distarc_predictions


def loop_predictions(x, w, r, offset):
    nearest, acc1, angular = [], [], []
    for xi in x:
        norm = math.sqrt(sum(v * v for v in xi))
        cos, dist, gap = [], [], []
        for k in range(w.shape[1]):
            wk = w[:, k] / math.sqrt(sum(v * v for v in w[:, k]))
            cos.append(sum(a * b for a, b in zip(xi, wk)) / norm)
            dist.append(sum((a - r[k] * b) ** 2 for a, b in zip(xi, wk)))
            gap.append((r[k] - offset - norm) ** 2)
        m = max(gap)
        soft = [math.exp(g - m) for g in gap]
        soft = [s / sum(soft) for s in soft]
        nearest.append(int(np.argmin(dist)))
        acc1.append(int(np.argmax([c - s for c, s in zip(cos, soft)])))
        angular.append(int(np.argmax(cos)))
    return {"nearest_proxy": nearest, "accuracy1": acc1, "angular": angular}


@pytest.mark.parametrize("offset", [5.0, 0.0])
def test_matches_float64_loop(offset):
    rng = np.random.default_rng(0)
    k, d = 6, 3
    w = rng.normal(size=(d, k))
    r = 10.0 + 10.0 * np.arange(k)
    # points near the spheres (so the radial terms matter) and in random directions
    x = rng.normal(size=(120, d))
    x = x / np.linalg.norm(x, axis=1, keepdims=True) * rng.uniform(3, 70, (120, 1))
    got = distarc_predictions(x, kernel=w, radii=r, prediction_offset=offset)
    want = loop_predictions(x, w, r, offset)
    for name in want:
        np.testing.assert_array_equal(got[name], want[name], err_msg=name)
        assert got[name].dtype == np.int64
    # the three predictions differ on these points (the test would not notice a mix-up otherwise)
    assert len({tuple(v) for v in got.values()}) == 3
    cos, delta, norm, radii = distarc_geometry(x, kernel=w, radii=r)
    w_hat = w / np.linalg.norm(w, axis=0)
    np.testing.assert_allclose(delta, ((x[:, None, :] - r[None, :, None] * w_hat.T[None]) ** 2).sum(-1), rtol=1e-10)
    np.testing.assert_allclose(norm[:, 0], np.linalg.norm(x, axis=1))


def test_head_points_on_proxies_and_the_head_argmax():
    k, d = 5, 2
    head = DistArcHead(k)
    head.build((None, d))
    w = to_numpy(head.kernel).astype(np.float64)
    proxies = (w / np.linalg.norm(w, axis=0)).T * np.asarray(head.class_radii)[:, None]  # [K, d]
    # a point exactly on proxy k predicts k (nearest proxy, and the angular prediction as directions differ)
    on = distarc_predictions(proxies, head)
    np.testing.assert_array_equal(on["nearest_proxy"], np.arange(k))
    rng = np.random.default_rng(2)
    x = (rng.normal(size=(64, d)) * 20).astype("float32")
    preds = distarc_predictions(keras.ops.convert_to_tensor(x), head)
    np.testing.assert_array_equal(preds["nearest_proxy"], np.argmax(to_numpy(head(x))[:, :k], axis=-1))
    # a task-like object holding the head reads the same parameters
    holder = type("Holder", (), {"head": head})()
    for name, v in distarc_predictions(x, holder).items():
        np.testing.assert_array_equal(v, preds[name])


def test_zero_feature_and_bad_inputs():
    w = np.eye(2)
    r = np.array([10.0, 20.0])
    z = distarc_predictions(np.zeros((1, 2)), kernel=w, radii=r)
    assert z["nearest_proxy"][0] == 0 and z["angular"][0] == 0  # cos θ = 0 for x = 0; ties to the first class
    x = np.ones((3, 2))
    with pytest.raises(ValueError, match="not both"):
        distarc_predictions(x, DistArcHead(2), kernel=w, radii=r)
    with pytest.raises(ValueError, match="both `kernel` and `radii`"):
        distarc_predictions(x, kernel=w)
    with pytest.raises(TypeError, match="DistArcHead"):
        distarc_predictions(x, keras.layers.Dense(2))
    with pytest.raises(ValueError, match="`kernel` must be \\[d, K\\] with d = 2"):
        distarc_predictions(x, kernel=np.ones((3, 2)), radii=r)
    with pytest.raises(ValueError, match="`radii` must hold K = 2"):
        distarc_predictions(x, kernel=w, radii=[1.0])
    with pytest.raises(ValueError, match="radius must be > 0"):
        distarc_predictions(x, kernel=w, radii=[1.0, -1.0])
    with pytest.raises(ValueError, match="zero column 1"):
        distarc_predictions(x, kernel=np.array([[1.0, 0.0], [0.0, 0.0]]), radii=r)
    with pytest.raises(ValueError, match="`features` contains NaN"):
        distarc_predictions(np.array([[np.nan, 0.0]]), kernel=w, radii=r)
    with pytest.raises(ValueError, match="`features` must be \\[N, d\\]"):
        distarc_predictions(np.ones(2), kernel=w, radii=r)
    for bad in (math.inf, "five", None):
        with pytest.raises(ValueError, match="`prediction_offset` must be a finite number"):
            distarc_predictions(x, kernel=w, radii=r, prediction_offset=bad)
