"""zoo.geometry.curvature: the one validator (check_c) and conversion (c_tensor) of the curvature c."""

import keras
import numpy as np
import pytest
from keras import ops

from tests.helpers import to_numpy
from zoo.geometry.curvature import c_tensor, check_c, is_scalar_number

MESSAGE = "`c` must be a finite number > 0"


@pytest.mark.parametrize("good", [1, 0.05, 1e-8, 1e8, np.float32(0.5), np.float64(0.5), np.int64(2), np.array(0.5),
                                  np.array(3, dtype=np.int32)])
def test_positive_numbers_become_python_floats(good):
    out = check_c(good)
    assert type(out) is float and out == float(good)


@pytest.mark.parametrize("bad", [0, 0.0, -1, -1e-9, np.float32(-1), np.float64(0.0), np.array(-0.5), float("nan"),
                                 np.float32("nan"), float("inf"), -float("inf"), np.array(np.inf)])
def test_non_positive_and_non_finite_numbers_are_refused(bad):
    with pytest.raises(ValueError, match=MESSAGE):
        check_c(bad)


@pytest.mark.parametrize("bad", ["1.0", b"1", True, False, np.bool_(True), None, [1.0], (1.0,), {"c": 1.0},
                                 np.array([1.0]), np.array([[1.0]]), 1 + 0j, np.array(1 + 0j), object()])
def test_non_numbers_are_refused(bad):
    with pytest.raises(ValueError, match=MESSAGE):
        check_c(bad)


def test_message_names_the_argument_and_the_value():
    with pytest.raises(ValueError, match=r"`c_init` must be a finite number > 0 .*got -2"):
        check_c(-2, name="c_init")


def test_tensors_and_variables_pass_through():
    """A valid tensor (e.g. a trainable c) is returned as is; a concrete one in host memory is read and checked
    (tests/geometry/test_bad_inputs.py has the invalid ones, traced and on the host)."""
    t = ops.convert_to_tensor(0.5)
    assert check_c(t) is t
    v = keras.Variable(0.5)
    assert check_c(v) is v


def test_is_scalar_number():
    assert is_scalar_number(2) and is_scalar_number(np.float32(0.1)) and is_scalar_number(np.array(1.5))
    assert not any(is_scalar_number(v) for v in (True, np.bool_(False), "1", np.array([1.0]), 1j, None))
    assert not is_scalar_number(ops.convert_to_tensor(1.0))


def test_c_tensor_dtype_and_exactness():
    assert keras.backend.standardize_dtype(c_tensor(0.05, "float32").dtype) == "float32"
    assert float(to_numpy(c_tensor(np.float32(0.25), "float32"))) == 0.25
    t = c_tensor(ops.convert_to_tensor(2.0, dtype="float32"), "float16")
    assert keras.backend.standardize_dtype(t.dtype) == "float16"
    c64 = c_tensor(1e-3, "float64")
    if keras.backend.standardize_dtype(c64.dtype) == "float64":  # JAX without x64 has no float64
        assert float(to_numpy(c64)) == 1e-3  # not rounded through float32 (1e-3 + 4.7e-11)
    with pytest.raises(ValueError, match=MESSAGE):
        c_tensor(np.float32(-1), "float32")
