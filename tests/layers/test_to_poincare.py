"""zoo.layers.ToPoincare: float64 references, the Riemannian rescale factor, per-layer trainable c, base
point, mixed precision, bad input, extreme-input gradients and the .keras round trip."""

import math

import keras
import numpy as np
import pytest

from tests.geometry import reference as ref
from tests.harness import check_layer
from tests.helpers import assert_all_finite, to_numpy, value_and_grad
from zoo.geometry.numerics import MIN_TRAINABLE_C
from zoo.layers import ToPoincare

CURVATURES = [1e-3, 0.05, 1.0, 10.0]


def ref_to_poincare(x, c, base=None):
    """float64: project(exp_base(x)) (exp0 when base is None)."""
    x = np.asarray(x, np.float64)
    y = ref.expmap0(x, c) if base is None else ref.expmap(np.asarray(base, np.float64)[None], x, c)
    return ref.project(y, c)


def rows_rel_err(got, want):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    return float(np.max(np.linalg.norm(got - want, axis=-1) / np.linalg.norm(want, axis=-1)))


def tangent_vectors(rng, n, d, c, rmax=0.9):
    """Tangent vectors whose image has norm up to rmax of the radius (inside the projection)."""
    v = rng.normal(size=(n, d))
    v /= np.linalg.norm(v, axis=-1, keepdims=True)
    r = rng.uniform(0.01, rmax, size=(n, 1))
    return (v * np.arctanh(r) / np.sqrt(c)).astype(np.float32)


@pytest.mark.parametrize("c", CURVATURES)
def test_matches_float64_reference(c):
    rng = np.random.default_rng(0)
    x = tangent_vectors(rng, 256, 8, c)
    assert rows_rel_err(to_numpy(ToPoincare(c=c)(x)), ref_to_poincare(x, c)) < 1e-5
    # Past the projection radius: outputs land on (1 - 1e-3)/sqrt(c).
    far = x / np.linalg.norm(x, axis=-1, keepdims=True) * (20.0 / math.sqrt(c))  # tanh(20) = 1 in float32
    y = to_numpy(ToPoincare(c=c)(far))
    np.testing.assert_allclose(np.linalg.norm(y, axis=-1), (1 - 1e-3) / math.sqrt(c), rtol=1e-6)
    # With a base point inside the ball.
    base = (rng.normal(size=8) * 0.3 / math.sqrt(8 * c)).tolist()
    layer = ToPoincare(c=c, base_point=base)
    assert rows_rel_err(to_numpy(layer(x * 0.3)), ref_to_poincare(x * 0.3, c, base)) < 1e-5
    np.testing.assert_allclose(layer.base_point_value(), base, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("c", [0.05, 1.0])
def test_riemannian_rescale_is_exactly_the_inverse_metric(c):
    """grad_x with the rescale = (1 - c||y||^2)^2 / 4 (per row) x grad_x without it."""
    rng = np.random.default_rng(1)
    x = tangent_vectors(rng, 64, 5, c, rmax=0.9995)
    w = rng.normal(size=(64, 5)).astype(np.float32)
    on, off = ToPoincare(c=c, riemannian=True), ToPoincare(c=c, riemannian=False)
    v_on, (g_on,) = value_and_grad(lambda t: on(t) * keras.ops.convert_to_tensor(w), x)
    v_off, (g_off,) = value_and_grad(lambda t: off(t) * keras.ops.convert_to_tensor(w), x)
    np.testing.assert_allclose(v_on, v_off, rtol=1e-6)  # the forward value is unchanged
    assert_rescaled(g_on, g_off, to_numpy(on(x)), c)


def assert_rescaled(g_on, g_off, y, c):
    """g_on == (1 - c||y||^2)^2/4 * g_off row by row (row-norm relative error). The factor is recomputed in
    float64 from the layer's float32 output y; 1 - c||y||^2 itself carries a float32 rounding of ~1e-7
    absolute, so the tolerance of a row is 1e-5 + 1e-6 / (1 - c||y||^2) (1e-3 at the projection radius)."""
    one_minus = 1.0 - c * np.sum(np.asarray(y, np.float64) ** 2, axis=-1, keepdims=True)
    factor = one_minus**2 / 4.0
    assert factor.min() < 1e-3 and factor.max() > 0.2  # rows from near the centre to near the boundary
    want = factor * g_off
    err = np.linalg.norm(g_on - want, axis=-1, keepdims=True) / np.linalg.norm(want, axis=-1, keepdims=True)
    assert np.all(err <= 1e-5 + 1e-6 / one_minus), np.max(err * one_minus)


def test_riemannian_rescale_uses_each_layers_own_current_c():
    """The reference keeps the rescale's c in a class-level global: a second layer overwrites the first's
    and a trained c is ignored. Here each layer's factor follows its own (current) c."""
    rng = np.random.default_rng(2)
    x = tangent_vectors(rng, 32, 4, 0.2, rmax=0.9995)
    w = rng.normal(size=(32, 4)).astype(np.float32)
    first = ToPoincare(c=0.05, train_c=True)
    first.build((None, 4))
    second = ToPoincare(c=1.0)  # built afterwards: must not change the first layer's factor
    second.build((None, 4))
    first._c_raw.assign(np.log(np.expm1(0.2)))  # "trained" c = 0.2
    assert abs(float(to_numpy(first.curvature)) - 0.2) < 1e-6
    plain = ToPoincare(c=0.2, riemannian=False)
    _, (g_first,) = value_and_grad(lambda t: first(t) * keras.ops.convert_to_tensor(w), x)
    _, (g_plain,) = value_and_grad(lambda t: plain(t) * keras.ops.convert_to_tensor(w), x)
    assert_rescaled(g_first, g_plain, to_numpy(first(x)), 0.2)


def test_trainable_c_stays_positive_and_two_layers_train_independently():
    rng = np.random.default_rng(3)
    x = tangent_vectors(rng, 64, 4, 1.0, rmax=0.8) * 3.0
    t1 = x  # exp0 tends to the identity as c -> 0: this loss drives c (and softplus' raw weight) down
    t2 = rng.normal(size=(64, 4)).astype(np.float32) * 0.05  # small targets: c goes up
    mse = lambda y, t: keras.ops.mean(keras.ops.square(y - keras.ops.convert_to_tensor(t)))  # noqa: E731

    # 1. Gradients: in a model holding both layers (Riemannian rescale on), the gradient reaching each raw c
    #    equals that of the same layer trained alone (the reference's global c would couple them).
    a, b = ToPoincare(c=0.3, train_c=True, name="a"), ToPoincare(c=1.5, train_c=True, name="b")
    a_alone, b_alone = ToPoincare(c=0.3, train_c=True), ToPoincare(c=1.5, train_c=True)
    for layer in (a, b, a_alone, b_alone):
        layer.build((None, 4))
    raw_a, raw_b = to_numpy(a._c_raw), to_numpy(b._c_raw)

    def joint(ra, rb):
        return mse(a.stateless_call([ra], [], x)[0], t1) + mse(b.stateless_call([rb], [], x)[0], t2)

    _, (g_a, g_b) = value_and_grad(joint, raw_a, raw_b)
    _, (g_a_alone,) = value_and_grad(lambda r: mse(a_alone.stateless_call([r], [], x)[0], t1), raw_a)
    _, (g_b_alone,) = value_and_grad(lambda r: mse(b_alone.stateless_call([r], [], x)[0], t2), raw_b)
    np.testing.assert_allclose([g_a, g_b], [g_a_alone, g_b_alone], rtol=1e-6)
    assert g_a > 0 and g_b < 0  # opposite directions: c_a falls, c_b rises

    # 2. model.fit with both layers: each c moves its own way and stays positive.
    inp = keras.Input((4,))
    fa = ToPoincare(c=0.3, train_c=True, riemannian=False, name="fa")
    fb = ToPoincare(c=1.5, train_c=True, riemannian=False, name="fb")
    model = keras.Model(inp, [fa(inp), fb(inp)])
    model.compile(optimizer=keras.optimizers.SGD(20.0), loss=["mse", "mse"])
    model.fit(x, [t1, t2], batch_size=64, epochs=10, verbose=0, shuffle=False)
    c_a, c_b = float(to_numpy(fa.curvature)), float(to_numpy(fb.curvature))
    assert 0 < c_a < 0.2 and c_b > 1.6 and math.isfinite(c_b), (c_a, c_b)

    # 3. A raw weight driven far negative still gives c > 0 (softplus underflows to 0 in float32).
    layer = ToPoincare(c=0.01, train_c=True)
    layer.build((None, 4))
    layer._c_raw.assign(-300.0)
    assert float(to_numpy(layer.curvature)) == pytest.approx(MIN_TRAINABLE_C)
    assert_all_finite(to_numpy(layer(x)), what="output at the smallest c")


@pytest.mark.parametrize("c", [1e-3, 0.05, 1.0])
def test_extreme_inputs_have_finite_values_and_gradients(c):
    rng = np.random.default_rng(4)
    x = np.concatenate([rng.normal(size=(16, 6)) * 1e3, np.zeros((2, 6)), rng.normal(size=(2, 6)) * 1e-12])
    x = x.astype(np.float32)
    for layer in (ToPoincare(c=c), ToPoincare(c=c, train_c=True, train_x=True), ToPoincare(c=c, riemannian=False)):
        val, (g,) = value_and_grad(lambda t, layer=layer: layer(t) ** 2, x)
        assert_all_finite(val, g, what=f"ToPoincare c={c}")
        assert np.all(c * np.sum(to_numpy(layer(x)) ** 2, -1) < 1.0)


def test_bad_input_fails_early_with_a_clear_message():
    for bad in (0.0, -1.0, float("nan"), float("inf"), "1", None):
        with pytest.raises(ValueError, match="`c` must be a finite number > 0"):
            ToPoincare(c=bad)
    with pytest.raises(ValueError, match="inside the Poincaré ball"):
        ToPoincare(c=1.0, base_point=[0.8, 0.8])
    with pytest.raises(ValueError, match="inside the Poincaré ball"):
        ToPoincare(c=4.0, base_point=[0.5, 0.0])  # radius 0.5: on the boundary
    with pytest.raises(ValueError, match="input has dimension 3 but `ball_dim` is 4"):
        ToPoincare(ball_dim=4)(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match="`base_point` has 2 coordinates but the input has dimension 3"):
        ToPoincare(base_point=[0.1, 0.1])(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match="`base_point` has 2 coordinates but `ball_dim` is 3"):
        ToPoincare(base_point=[0.1, 0.1], ball_dim=3)


def test_harness_and_float32_next_to_the_boundary_under_mixed_precision():
    """Build/call, config and .keras round trips, float32 under mixed_float16, finite gradients, one fit step
    (the trainable c and base point move) for the richest configuration; then the float32 margin: in float16
    1 - c||y||^2 near the projection radius has no significant digit left, the layer's float32 keeps it."""
    x = np.random.default_rng(5).normal(size=(8, 4)).astype(np.float32)  # [8, 4]: the shape of every ball
    # layer's harness run, so that JAX compiles the shared primitives once
    layer = ToPoincare(c=0.5, train_c=True, train_x=True, base_point=[0.1, -0.2, 0.3, 0.0], ball_dim=4,
                       riemannian=False)
    check_layer(layer, x, expected_shape=(8, 4))
    cfg = layer.get_config()
    assert (cfg["c"], cfg["train_c"], cfg["train_x"], cfg["ball_dim"], cfg["riemannian"]) == (0.5, True, True, 4, False)
    assert cfg["base_point"] == pytest.approx([0.1, -0.2, 0.3, 0.0])
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_float16")
    try:
        layer = ToPoincare(c=1.0)
        y = to_numpy(layer(np.full((2, 3), 3.0, np.float16)))
        assert layer.compute_dtype == "float32" and layer.variable_dtype == "float32" and y.dtype == np.float32
        assert np.all(1.0 - np.sum(y.astype(np.float64) ** 2, -1) > 5e-4)
        assert ToPoincare(dtype="float64").compute_dtype == "float64"
    finally:
        keras.config.set_dtype_policy(previous)
