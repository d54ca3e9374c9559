"""zoo.layers.HyperbolicLinear: Möbius mat-vec (+) expmap0(bias) against float64 numpy, gradients, round trip."""

import numpy as np
import pytest

from tests.geometry import reference as ref
from tests.harness import check_layer
from tests.helpers import assert_all_finite, to_numpy, value_and_grad
from tests.layers.test_to_poincare import rows_rel_err
from zoo.layers import HyperbolicLinear


def mobius_matvec64(w, x, c):
    """(1/sqrt c) tanh(||xW||/||x|| artanh(sqrt(c)||x||)) xW/||xW||, float64."""
    mx = x @ w
    nx_, nmx = np.linalg.norm(x, axis=-1, keepdims=True), np.linalg.norm(mx, axis=-1, keepdims=True)
    return np.tanh(nmx / nx_ * np.arctanh(np.sqrt(c) * nx_)) * mx / (nmx * np.sqrt(c))


@pytest.mark.parametrize("c", [1e-3, 0.05, 1.0, 10.0])
def test_matches_float64_reference(c):
    rng = np.random.default_rng(0)
    v = rng.normal(size=(128, 6))
    x = (v / np.linalg.norm(v, axis=-1, keepdims=True) * rng.uniform(0.05, 0.9, (128, 1)) / np.sqrt(c))
    x = x.astype(np.float32)
    layer = HyperbolicLinear(5, c=c)
    layer.build((None, 6))
    w, b = to_numpy(layer.kernel).astype(np.float64), to_numpy(layer.bias).astype(np.float64)
    bound = 1 / np.sqrt(6)  # the reference's initialisation: U(+-1/sqrt(fan_in)) for kernel and bias
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound and np.abs(w).max() > 0.5 * bound
    x64 = x.astype(np.float64)
    want = ref.project(ref.mobius_add(mobius_matvec64(w, x64, c), ref.expmap0(b[None], c), c), c)
    assert rows_rel_err(to_numpy(layer(x)), want) < 1e-5
    no_bias = HyperbolicLinear(5, c=c, use_bias=False)
    no_bias.build((None, 6))
    want = ref.project(mobius_matvec64(to_numpy(no_bias.kernel).astype(np.float64), x64, c), c)
    assert rows_rel_err(to_numpy(no_bias(x)), want) < 1e-5


@pytest.mark.parametrize("c", [1e-3, 0.05, 1.0])
def test_extreme_inputs_have_finite_gradients(c):
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.normal(size=(6, 4)) * 1e3, np.zeros((2, 4))]).astype(np.float32)
    layer = HyperbolicLinear(3, c=c)
    layer.build((None, 4))
    weights = [to_numpy(v) for v in layer.trainable_variables]
    val, grads = value_and_grad(lambda t, *ws: layer.stateless_call(list(ws), [], t)[0] ** 2, x, *weights)
    assert_all_finite(val, *grads, what=f"HyperbolicLinear c={c}")
    assert np.all(c * np.sum(to_numpy(layer(x)) ** 2, -1) < 1.0)


def test_bad_input_and_roundtrip():
    with pytest.raises(ValueError, match="`c` must be a finite number > 0"):
        HyperbolicLinear(3, c=-1.0)
    with pytest.raises(ValueError, match="`units` must be an integer >= 1"):
        HyperbolicLinear(0)
    layer = HyperbolicLinear(3, c=0.5, use_bias=True)
    points = np.random.default_rng(3).uniform(-0.3, 0.3, size=(8, 4)).astype(np.float32)
    check_layer(layer, points, expected_shape=(8, 3))
    cfg = layer.get_config()
    assert (cfg["units"], cfg["c"], cfg["use_bias"]) == (3, 0.5, True)
