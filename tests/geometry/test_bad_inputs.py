"""Issue #13 (reliability) for zoo.geometry: a bad curvature, huge vectors, half precision and bad midpoint
weights never give a silent wrong answer (items 8, 9, 14, 18 and the geometry part of 21)."""

import keras
import numpy as np
import pytest
from keras import ops

import zoo.geometry as G
from tests.geometry import reference as ref
from tests.helpers import assert_all_finite, to_numpy, value_and_grad
from zoo.geometry import curvature
from zoo.geometry import numerics as nx
from zoo.geometry import poincare as P

MESSAGE = "`c` must be a finite number > 0"
X = np.array([[0.3, 0.1], [-0.2, 0.5]], np.float32)
Y = np.array([[0.1, -0.4], [0.6, 0.2]], np.float32)

# Every public function of zoo.geometry.poincare, called with a curvature c.
CALLS = {
    "conformal_factor": lambda c: P.conformal_factor(X, c),
    "project": lambda c: P.project(X * 10.0, c),
    "mobius_add": lambda c: P.mobius_add(X, Y, c),
    "expmap0": lambda c: P.expmap0(X, c),
    "logmap0": lambda c: P.logmap0(X, c),
    "expmap": lambda c: P.expmap(X, Y, c),
    "logmap": lambda c: P.logmap(X, Y, c),
    "dist": lambda c: P.dist(X, Y, c),
    "dist0": lambda c: P.dist0(X, c),
    "pairwise_dist": lambda c: P.pairwise_dist(X, Y, c),
    "mobius_matvec": lambda c: P.mobius_matvec(np.eye(2, dtype=np.float32), X, c),
    "to_klein": lambda c: P.to_klein(X, c),
    "from_klein": lambda c: P.from_klein(X, c),
    "midpoint": lambda c: P.midpoint(X, c),
    "midpoint_weighted": lambda c: P.midpoint(X, c, weights=np.array([1.0, 2.0], np.float32)),
}
BAD_C = [-1.0, 0.0, float("nan"), float("inf")]


# --- item 8: the curvature check is not bypassed by numpy scalars or tensors ------------------------------------

@pytest.mark.parametrize("fn", sorted(CALLS))
@pytest.mark.parametrize("bad", [np.float32(-1), np.float64(0.0), np.array(-1.0), np.array(np.nan)], ids=repr)
def test_numpy_curvature_is_checked_by_every_function(fn, bad):
    with pytest.raises(ValueError, match=MESSAGE):
        CALLS[fn](bad)


@pytest.mark.parametrize("fn", sorted(CALLS))
def test_concrete_tensor_curvature_is_checked_on_the_host(fn):
    """A concrete tensor in host memory is read (no device sync) and refused like a number."""
    for bad in BAD_C:
        with pytest.raises(ValueError, match=MESSAGE):
            CALLS[fn](ops.convert_to_tensor(bad, dtype="float32"))
    # A good tensor gives the same numbers as the float.
    np.testing.assert_array_equal(to_numpy(CALLS[fn](ops.convert_to_tensor(0.5, dtype="float32"))),
                                  to_numpy(CALLS[fn](0.5)))


@pytest.mark.parametrize("fn", sorted(CALLS))
def test_unreadable_tensor_curvature_poisons_the_result(fn, monkeypatch):
    """A traced tensor, or one on an accelerator, is not read (that would sync the device every call); a bad
    value then makes every output NaN on the device, never a finite wrong answer (`project` was a no-op)."""
    monkeypatch.setattr(curvature, "host_value", lambda t: None)
    for bad in BAD_C:
        out = to_numpy(CALLS[fn](ops.convert_to_tensor(bad, dtype="float32")))
        assert np.isnan(out).all(), (fn, bad, out)
    good = to_numpy(CALLS[fn](ops.convert_to_tensor(0.5, dtype="float32")))
    np.testing.assert_array_equal(good, to_numpy(CALLS[fn](0.5)))


def test_traced_curvature_inside_a_compiled_model():
    """c computed inside a model: traced on TensorFlow and JAX (result NaN), eager on CPU torch (ValueError)."""
    x_in, c_in = keras.Input((2,)), keras.Input((1,))
    out = keras.layers.Lambda(lambda t: P.project(t[0], t[1][0, 0]))([x_in, c_in])
    model = keras.Model([x_in, c_in], out)
    good = model.predict([X * 10.0, np.full((2, 1), 1.0, np.float32)], verbose=0)
    np.testing.assert_allclose(np.linalg.norm(good, axis=1), 1 - 1e-3, rtol=1e-6)
    bad = [X * 10.0, np.full((2, 1), -1.0, np.float32)]
    if keras.backend.backend() == "torch":
        with pytest.raises(ValueError, match=MESSAGE):
            model.predict(bad, verbose=0)
    else:
        assert np.isnan(model.predict(bad, verbose=0)).all()


def test_geometry_objects_refuse_bad_curvatures_of_any_type():
    for bad in (np.float32(-1), np.array(0.0), ops.convert_to_tensor(-1.0), keras.Variable(-2.0), "1", None, [1.0]):
        with pytest.raises(ValueError, match=MESSAGE):
            G.get("poincare", c=bad)
        with pytest.raises(ValueError, match=MESSAGE):
            G.Poincare(bad)
    assert G.get("poincare", c=ops.convert_to_tensor(0.5)) == G.Poincare(0.5)
    assert G.get("poincare", c=np.float32(0.25)).c == 0.25


def test_check_c_reads_concrete_tensors_and_variables():
    for bad in (ops.convert_to_tensor(-1.0), ops.convert_to_tensor([0.5, -0.5]), keras.Variable(0.0)):
        with pytest.raises(ValueError, match=MESSAGE):
            curvature.check_c(bad)
    t = ops.convert_to_tensor(0.5)
    assert curvature.check_c(t) is t  # a good tensor is returned as it is (not converted to a float)


# --- item 21: errors name the argument ---------------------------------------------------------------------------

def test_string_curvature_and_nameless_config_name_the_argument():
    for call in (lambda: P.dist(X, Y, c="1"), lambda: G.get("poincare", c="1"), lambda: P.project(X, c=b"1")):
        with pytest.raises(ValueError, match=r"`c` must be a finite number > 0 .*got .*'1'"):
            call()
    with pytest.raises(ValueError, match=r"zoo.geometry.get: `name`.*needs the key 'name'.*\['c'\]"):
        G.get({"c": 1.0})
    with pytest.raises(ValueError, match=r"`squared` must be True or False"):
        G.get("euclidean", squared="no")


# --- item 9: huge vectors are not sent to the origin -------------------------------------------------------------

@pytest.mark.parametrize("scale", [2e19, 1e30, 1e37])
def test_huge_vectors_keep_their_direction(scale):
    """||x||^2 overflows float32 above ~1.8e19: the norm is taken of x / max|x|, so project and expmap0 land
    on the boundary in the direction of x and dist0 is the largest distance, not 0 or NaN."""
    x = np.array([[0.6, 0.8], [-1.0, 0.0]], np.float32) * np.float32(scale)
    direction = x / np.linalg.norm(x.astype(np.float64), axis=1, keepdims=True)
    rmax = 1 - 1e-3
    for c in (1.0, 0.05):
        for y in (P.project(x, c), P.expmap0(x, c)):
            np.testing.assert_allclose(to_numpy(y), direction * rmax / np.sqrt(c), rtol=1e-5)
        np.testing.assert_allclose(to_numpy(P.dist0(x, c)), 2 / np.sqrt(c) * np.arctanh(np.float32(1 - 1e-5)),
                                   rtol=1e-4)
        np.testing.assert_allclose(to_numpy(P.logmap0(x, c)),
                                   direction * np.arctanh(np.float32(1 - 1e-5)) / np.sqrt(c), rtol=1e-4)
    np.testing.assert_allclose(to_numpy(nx.safe_norm(x)), np.linalg.norm(x.astype(np.float64), axis=1,
                                                                          keepdims=True), rtol=1e-6)
    value, (g,) = value_and_grad(lambda t: P.dist0(P.expmap0(t)), x)
    assert_all_finite(value, g)


def test_safe_norm_is_unchanged_for_ordinary_inputs():
    """Bit for bit: the rescaling only acts where the squared norm would overflow (the float64 reference tests
    of every identity pin the rest)."""
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(64, 16)) * np.logspace(-8, 8, 64)[:, None]).astype(np.float32)
    got = to_numpy(nx.safe_norm(x))
    want = to_numpy(nx.safe_sqrt(nx.sq_norm(ops.convert_to_tensor(x))))  # the plain form, as before the fix
    np.testing.assert_array_equal(got, want)
    _, (g,) = value_and_grad(nx.safe_norm, np.zeros((2, 3), np.float32))
    np.testing.assert_array_equal(g, 0.0)


# --- item 14: half precision computes in float32 inside ----------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_is_finite_and_keeps_its_dtype(dtype):
    y = np.array([[0.9999, 0.0], [0.3, 0.4], [0.999, 0.01]], np.float32)
    yh = ops.cast(y, dtype)
    y_up = to_numpy(ops.cast(yh, "float32")).astype(np.float64)  # the 16-bit values, exactly
    for fn, want in ((P.dist0, ref.dist0(y_up, 1.0)), (P.logmap0, ref.logmap0(y_up, 1.0))):
        out = fn(yh)
        assert keras.backend.standardize_dtype(out.dtype) == dtype
        got = to_numpy(ops.cast(out, "float32"))
        assert_all_finite(got, what=f"{fn.__name__} {dtype}")
        # Within 16-bit rounding of the float32 result for the interior point (the others round onto the
        # boundary in 16 bits, where artanh's clip at 1 - 1e-5 keeps them finite).
        np.testing.assert_allclose(got[1], want[1], rtol=2e-2, atol=2e-2)
    xh = ops.cast(X, dtype)
    for out in (P.project(xh * 10.0), P.expmap0(xh), P.mobius_add(xh, ops.cast(Y, dtype)), P.dist(xh, xh * 0.5),
                P.pairwise_dist(xh, xh), P.midpoint(xh), P.expmap(xh, xh), P.logmap(xh, ops.cast(Y, dtype))):
        assert keras.backend.standardize_dtype(out.dtype) == dtype
        assert_all_finite(to_numpy(ops.cast(out, "float32")))
    for points in (P.project(xh * 10.0), P.expmap0(xh * 10.0), P.mobius_add(xh, xh)):  # inside after rounding
        assert np.all(np.linalg.norm(to_numpy(ops.cast(points, "float32")).astype(np.float64), axis=1) < 1.0)


# --- item 18: midpoint weights -----------------------------------------------------------------------------------

def test_midpoint_refuses_negative_and_all_zero_weights():
    pts = np.array([[0.5, 0.0], [-0.5, 0.1]], np.float32)
    with pytest.raises(ValueError, match=r"`weights` must be >= 0.*-0.9"):
        P.midpoint(pts, weights=np.array([1.0, -0.9]))
    with pytest.raises(ValueError, match=r"`weights` must be >= 0"):
        P.midpoint(pts, weights=ops.convert_to_tensor([1.0, -0.9]))  # a concrete tensor is read too
    with pytest.raises(ValueError, match=r"`weights` sum to 0"):
        P.midpoint(pts, weights=[0.0, 0.0])
    batch = np.stack([pts, pts])  # [2, 2, 2]: the second mean has all-zero weights
    with pytest.raises(ValueError, match=r"`weights` sum to 0 for 1 of the 2 means"):
        P.midpoint(batch, weights=np.array([[1.0, 1.0], [0.0, 0.0]]))
    with pytest.raises(ValueError, match=r"`weights`.*NaN or inf"):
        P.midpoint(pts, weights=np.array([1.0, np.nan]))
    with pytest.raises(ValueError, match=r"`weights` must be >= 0"):
        G.get("euclidean").mean(pts, weights=np.array([1.0, -1.0]))
    # Valid weights: unchanged results (one zero weight among positive ones is fine).
    np.testing.assert_allclose(to_numpy(P.midpoint(pts, weights=np.array([1.0, 0.0]))), pts[0], rtol=1e-6)
    np.testing.assert_allclose(to_numpy(P.midpoint(pts, weights=np.array([2.0, 2.0]))), to_numpy(P.midpoint(pts)),
                               rtol=1e-6, atol=1e-7)


# --- item 21: float32 x float64 -----------------------------------------------------------------------------------

def test_mixed_float_dtypes_are_promoted_on_every_backend():
    """TensorFlow refused float32 x float64 with a bare InvalidArgumentError from a Mul (JAX and torch promoted):
    the inputs are promoted to the wider dtype first (float64 where the backend has it)."""
    from zoo.geometry import euclidean as E
    from zoo.geometry import sphere as S

    x64 = Y.astype(np.float64)
    want = keras.backend.standardize_dtype(ops.convert_to_tensor(x64).dtype)  # float32 on JAX without x64
    for out in (P.dist(X, x64), P.mobius_add(X, x64), P.pairwise_dist(X, x64), P.logmap(X, x64),
                E.pairwise_dist(X, x64), S.pairwise_cosine(X, x64)):
        assert keras.backend.standardize_dtype(out.dtype) == want
    np.testing.assert_allclose(to_numpy(P.dist(X, x64)), ref.dist(X.astype(np.float64), x64, 1.0), rtol=1e-5)
