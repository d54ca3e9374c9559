"""Small helpers shared by the tests: per-backend gradients and `.keras` round trips.

This is the only place in the project that imports tensorflow / jax / torch directly.
"""

import os
import subprocess
import sys
import tempfile
import textwrap

import keras
import numpy as np


def to_numpy(x):
    return keras.ops.convert_to_numpy(x)


def value_and_grad(fn, *args):
    """Value of `fn(*args)` (summed to a scalar) and its gradients w.r.t. every arg, as numpy.

    Args:
        fn: function of backend tensors returning a tensor.
        *args: numpy arrays (float32 unless given otherwise).

    Returns:
        (value, [grad_arg0, grad_arg1, ...]) as numpy arrays.
    """
    backend = keras.backend.backend()
    args = [np.asarray(a) for a in args]
    if backend == "tensorflow":
        import tensorflow as tf

        ts = [tf.Variable(a) for a in args]
        with tf.GradientTape() as tape:
            out = tf.reduce_sum(fn(*ts))
        grads = tape.gradient(out, ts)
        # A gather's gradient is an IndexedSlices: densify it before reading it.
        return out.numpy(), [tf.convert_to_tensor(g).numpy() if g is not None else np.zeros_like(a)
                             for g, a in zip(grads, args)]
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        def scalar(*xs):
            return jnp.sum(fn(*xs))

        val, grads = jax.value_and_grad(scalar, argnums=tuple(range(len(args))))(*[jnp.asarray(a) for a in args])
        return np.asarray(val), [np.asarray(g) for g in grads]
    if backend == "torch":
        import torch

        ts = [torch.tensor(a, requires_grad=True) for a in args]
        out = fn(*ts).sum()
        grads = torch.autograd.grad(out, ts, allow_unused=True)
        return out.detach().cpu().numpy(), [
            g.detach().cpu().numpy() if g is not None else np.zeros_like(a) for g, a in zip(grads, args)
        ]
    raise RuntimeError(f"unsupported backend {backend}")


def grad(fn, *args):
    """Gradients only (see `value_and_grad`)."""
    return value_and_grad(fn, *args)[1]


def assert_all_finite(*arrays, what=""):
    for i, a in enumerate(arrays):
        a = np.asarray(a)
        bad = ~np.isfinite(a)
        assert not bad.any(), f"{what} array {i}: {bad.sum()} non-finite values of {a.size}"


def roundtrip(model, x=None, compile=True):
    """Save `model` to a temporary `.keras` file and load it back (same backend).

    If `x` is given, asserts the reloaded model's predictions match the original's.
    """
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.keras")
        model.save(path)
        loaded = keras.saving.load_model(path, compile=compile)
    if x is not None:
        np.testing.assert_allclose(
            to_numpy(loaded.predict(x, verbose=0)), to_numpy(model.predict(x, verbose=0)), rtol=1e-5, atol=1e-5
        )
    return loaded


def roundtrip_object(obj):
    """Serialize a layer/loss/object with keras.saving and deserialize it; returns the copy."""
    cfg = keras.saving.serialize_keras_object(obj)
    return keras.saving.deserialize_keras_object(cfg)


def load_on_other_backend(path, backend, script, timeout=300):
    """Run `script` in a fresh Python with KERAS_BACKEND=`backend`; `path` is available as PATH.

    The script should load the `.keras` file at PATH (with `compile=False`, then compile again, since a
    torch-saved optimizer does not load on TF/JAX) and fit/predict. Returns the subprocess stdout;
    raises AssertionError with stderr on failure.
    """
    code = f"import os\nPATH = {path!r}\n" + textwrap.dedent(script)
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3", PYTHONWARNINGS="ignore")
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"on backend {backend}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


def other_backends():
    b = keras.backend.backend()
    return [x for x in ("tensorflow", "jax", "torch") if x != b]
