"""`zoo.distribute` on one host: the tested contract "JAX DataParallel equals one device", the interface, the
padded predict/evaluate, the torch error, and host-side callbacks that do not sync the model every step.

The multi-device case runs in ONE subprocess with 4 virtual CPU devices (JAX fixes its devices at start-up), only
when KERAS_BACKEND=jax: 3 steps of `fit` (global batch 16, Fashion-MNIST, LeNet, embedding_dim 8) for the heads
softmax, poincare, arcface, center, prototypes (a Hungarian reassignment after every step) and a ProtoNet
(4-way 1-shot 3-query episodes), once on one device and once under `zoo.distribute.data_parallel()` over 4.
Tolerances: per-step losses and head state (class means, centres, assignment, polars) atol 1e-5; weights,
predictions and embeddings atol 1e-4 (Adam divides by sqrt(v): float reduction-order noise in a near-zero
gradient moves a weight by up to ~lr). Measured (this machine): losses <= 3.8e-6 (arcface; the others <= 4.8e-7),
head state <= 9e-8, weights <= 3.2e-6 for the classifiers and 2.7e-5 for ProtoNet, predictions <= 1.6e-6,
embeddings <= 3.5e-5 (ProtoNet); the assignments are identical. The subprocess: ~35 s CPU with a warm JAX cache.
"""

import keras
import numpy as np
import pytest

import zoo.distribute
from tests.distribute.conftest import run_script
from zoo.distribute import _padding

BACKEND = keras.backend.backend()
LOSS_STATE_ATOL = 1e-5
WEIGHTS_ATOL = 1e-4


@pytest.mark.slow
@pytest.mark.skipif(BACKEND != "jax", reason="the JAX multi-device subprocess runs in the JAX suite only")
def test_jax_data_parallel_equals_one_device():
    out = run_script("jax", {"KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu", "JAX_NUM_CPU_DEVICES": "4",
                             "XLA_FLAGS": "--xla_force_host_platform_device_count=4 "
                                          "--xla_backend_optimization_level=0 --xla_cpu_use_fusion_emitters=false"})
    results = out["results"]
    assert sorted(results) == sorted(["softmax", "poincare", "arcface", "center", "prototypes", "protonet"])
    for name, r in results.items():
        print(name, {k: r[k] for k in ("loss", "weights", "state", "predict", "embed", "seconds")})
        assert len(r["losses_one"]) == len(r["losses_many"]) == 3, name
        assert r["loss"] <= LOSS_STATE_ATOL, (name, r["losses_one"], r["losses_many"])
        assert r["state"] <= LOSS_STATE_ATOL, name
        assert r["weights"] <= WEIGHTS_ATOL, name
        assert r["predict"] <= WEIGHTS_ATOL and r["embed"] <= WEIGHTS_ATOL, name
    assert results["center"]["state_names"] == ["center_head/centers"]
    assert "prototype_head/class_means" in results["prototypes"]["state_names"]
    assert results["prototypes"]["assignment_one"] == results["prototypes"]["assignment_many"]
    for name in ("softmax", "prototypes"):  # 10 images in batches of 8: the last (2) padded to 4 and stripped
        assert results[name]["predict_rows"] == 10
    # evaluate 10 examples in batches of 8 on 4 devices: the last batch (2) is padded with 2 copies of its last row,
    # weight 0. The loss is the sum over the 10 real examples divided by the 12 rows Keras counts; metrics compiled
    # as `metrics` (unweighted in Keras) count the 2 copies; `weighted_metrics` would not.
    one, many = results["softmax"]["evaluate_one"], results["softmax"]["evaluate_many"]
    print("evaluate one device:", one, "4 devices:", many)
    np.testing.assert_allclose(many["loss"], one["loss"] * 10 / 12, rtol=1e-5)
    assert round(many["accuracy"] * 12 - one["accuracy"] * 10) in (0, 2)
    info = out["info"]
    assert info["num_replicas"] == info["inside"] == 2 and info["outside"] == 1 and info["restored"]
    assert info["process"] == [1, 0] and info["backend"] == "jax"
    assert "not divisible by the number of devices (2)" in info["check"] and "14 or 16" in info["check"]
    assert info["named"] == ["cpu:1", "cpu:3"]


@pytest.mark.skipif(BACKEND != "torch", reason="torch only")
def test_torch_raises_naming_the_keras_version():
    with pytest.raises(RuntimeError, match=f"Keras {keras.__version__} has no data-parallel `fit` on the torch"):
        with zoo.distribute.data_parallel():
            pass  # pragma: no cover


@pytest.mark.skipif(BACKEND != "jax", reason="keras.distribution is JAX-only")
def test_jax_one_device_block_and_device_checks():
    with zoo.distribute.data_parallel(1) as dp:
        assert dp.num_replicas == zoo.distribute.num_replicas() == 1
        assert keras.distribution.distribution() is dp.distribution
        assert dp.check_batch_size(7) == 7
    assert keras.distribution.distribution() is None and zoo.distribute.num_replicas() == 1
    n = len(keras.distribution.list_devices())
    with pytest.raises(ValueError, match=r"`devices` must be in \[1, "):
        with zoo.distribute.data_parallel(n + 1):
            pass  # pragma: no cover
    with pytest.raises(ValueError, match="no device named 'tpu:9'"):
        with zoo.distribute.data_parallel(["tpu:9"]):
            pass  # pragma: no cover
    with pytest.raises(TypeError, match="`devices` must be None, an int or a list"):
        with zoo.distribute.data_parallel("cpu:0"):
            pass  # pragma: no cover
    assert keras.distribution.distribution() is None


def test_process_info_and_replicas_outside_any_block():
    assert zoo.distribute.process_info() == (1, 0)
    assert zoo.distribute.num_replicas() == 1


def test_initialize_checks_and_single_process():
    if BACKEND != "jax":
        with pytest.raises(RuntimeError, match="JAX backend only"):
            zoo.distribute.initialize()
        return
    with pytest.raises(ValueError, match=r"`process_id` must be in \[0, num_processes\)"):
        zoo.distribute.initialize("127.0.0.1:1", num_processes=2, process_id=2)
    with pytest.raises(ValueError, match="need the coordinator address"):
        zoo.distribute.initialize(num_processes=2, process_id=0)
    assert zoo.distribute.initialize(num_processes=1, seed=3) == (1, 0)  # one process: only the seed


def test_check_batch_size():
    dp = zoo.distribute.DataParallelContext("jax", ["cpu:0", "cpu:1", "cpu:2", "cpu:3"], None)
    assert dp.check_batch_size(64) == 64
    with pytest.raises(ValueError, match=r"fit: the global batch size 10 is not divisible .* \(4\); use e.g. 8 or 12"):
        dp.check_batch_size(10, "fit")
    with pytest.raises(ValueError, match="must be an int >= 1"):
        dp.check_batch_size(0)


def test_padding_helpers():
    x = np.arange(10)[:, None] * np.ones((1, 3))
    padded, n = _padding.pad_rows({"images": x, "labels": np.arange(10)}, 4)
    assert n == 10 and padded["images"].shape == (12, 3)
    np.testing.assert_array_equal(padded["images"][10:], x[[9, 9]])  # the last row repeated: a valid example
    assert _padding.batch_size_for(None, 3, "t") == 33 and _padding.batch_size_for(8, 4, "t") == 8
    with pytest.raises(ValueError, match=r"`batch_size` \(6\) must be divisible by the number of devices \(4\)"):
        _padding.batch_size_for(6, 4, "m.predict")
    # predict on arrays and on a stream of uneven batches: the padded rows' outputs are removed
    seen = []

    def run(data, size):  # a stand-in for Keras' predict: arrays in batches of `size`, or a generator of (x,) tuples
        batches = [data[i:i + size] for i in range(0, len(data), size)] if size else [b for (b,) in data]
        seen.extend(len(b) for b in batches)
        return np.concatenate([b * 2 for b in batches])

    np.testing.assert_array_equal(_padding.predict(run, x, multiple=4, batch_size=8, where="t"), x * 2)
    assert seen == [8, 4]
    seen.clear()
    stream = (x[i:i + 3] for i in range(0, 10, 3))  # batches of 3, 3, 3, 1
    np.testing.assert_array_equal(_padding.predict(run, stream, multiple=4, batch_size=None, where="t"), x * 2)
    assert seen == [4, 4, 4, 4]
    with pytest.raises(ValueError, match="cannot be padded"):
        _padding.predict(run, x, multiple=4, batch_size=8, where="t", allow=False)


def test_padding_evaluate_weights_padded_rows_zero():
    x, y = np.ones((10, 2)), np.arange(10)
    got = {}

    def run(px, py, sample_weight=None, **kwargs):
        got.update(x=px, y=py, w=sample_weight, **kwargs)
        return 0.0

    _padding.evaluate(run, x, y, (8,), {"verbose": 0}, multiple=4, where="t")
    assert got["x"].shape == (12, 2) and list(got["y"][10:]) == [9, 9] and got["batch_size"] == 8
    np.testing.assert_array_equal(got["w"], [1.0] * 10 + [0.0, 0.0])


def test_reassignment_touches_the_model_only_on_reassignment_steps(digits_small):
    """On JAX every `Callback.model` access syncs the whole training state; the callback reads it once per fit
    (the optimizer's iterations) and then only on the steps it reassigns."""
    x, y = digits_small
    model = zoo.models.ImageClassifier("lenet", head="prototypes", num_classes=10, input_shape=(16, 16, 1),
                                       embedding_dim=8, normalize=(0.3, 0.3))
    model.compile()

    class Counting(zoo.callbacks.PrototypeReassignment):
        touches = 0

        @property
        def model(self):
            type(self).touches += 1
            return keras.callbacks.Callback.model.fget(self)

        @model.setter
        def model(self, value):
            keras.callbacks.Callback.model.fset(self, value)

    cb = Counting(every_n_steps=3, verbose=0)
    model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0, callbacks=[cb], head_callbacks=False)  # 8 steps
    assert [s for _, s, _, _ in cb.history] == [3, 6]
    # on_train_begin (head lookup), the first step (iterations), 2 solves, 1 apply (measured: 6 on TF, JAX and
    # torch); reading the iterations on every step, as before, made it >= 8 + 4
    print("Callback.model accesses:", Counting.touches)
    assert Counting.touches < 8, Counting.touches


@pytest.fixture(scope="module")
def digits_small():
    (x, y), _ = zoo.data.digits(size=16)
    return x[:64], y[:64]
