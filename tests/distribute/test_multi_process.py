"""Multi-process JAX data parallelism on one machine: two processes joined over loopback (gloo collectives), each
with 2 virtual CPU devices, `zoo.distribute.initialize` + `zoo.distribute.data_parallel()`, 3 steps of `fit` of an
`ImageClassifier` (LeNet, center head: softmax classifier + centre loss, centres updated in `call`) on PK batches
of real digits. Checked: each process gets the same contiguous half of every global batch from Keras'
auto-sharding of the global `zoo.data.pk_batches` and from `pk_batches(num_processes=2, process_index=i)` (the
latter fed with auto-sharding off, as docs/scaling.md does; the same input path, so one fit covers both), both
processes end with identical weights, and losses, weights and centres equal a single-device run on the same
global batches (atol 1e-5; measured: weights within 1e-8, losses within 3e-7).

JAX only (Keras 3.15's `keras.distribution` is JAX-only); one pair of subprocesses, since JAX fixes its devices
and processes at start-up.
"""

import json
import os
import socket
import subprocess
import sys

import keras
import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOLERANCE = 1e-5

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(keras.backend.backend() != "jax", reason="multi-process data parallelism is JAX-only"),
]

WORKER = r'''
import json, sys
rank, port, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
import zoo.distribute
zoo.distribute.initialize(f"127.0.0.1:{port}", num_processes=2, process_id=rank, seed=0)  # before any JAX work
import jax
import keras
import numpy as np
import zoo.data
import zoo.models

(x, y), _ = zoo.data.digits()
x, y = x[:240], y[:240]
P, K, STEPS = 4, 4, 3


def host(v):
    """A replicated variable's value from this process's first device (the global array is not addressable)."""
    v = getattr(v, "value", v)
    return np.asarray(v.addressable_data(0)) if isinstance(v, jax.Array) else np.asarray(v)


def pk(sliced):
    n, i = zoo.distribute.process_info() if sliced else (1, 0)
    return zoo.data.pk_batches(x, y, p=P, k=K, seed=1, raw=True, num_processes=n, process_index=i)


def run(mode):
    keras.utils.set_random_seed(0)
    losses = []
    record = keras.callbacks.LambdaCallback(on_train_batch_end=lambda b, logs: losses.append(float(logs["loss"])))

    def fit(ds):
        model = zoo.models.ImageClassifier("lenet", head="center", num_classes=10, input_shape=(8, 8, 1),
                                           image_size=16, embedding_dim=8, normalize=zoo.data.DIGITS_MEAN_STD)
        model.compile(optimizer=keras.optimizers.SGD(0.05))
        model.fit(ds, epochs=1, steps_per_epoch=STEPS, verbose=0, callbacks=[record])
        return model

    if mode == "single":
        model, replicas = fit(pk(False)), 1           # the global batches on one device
    else:
        with zoo.distribute.data_parallel() as dp:
            dp.distribution.auto_shard_dataset = False   # the pipeline is already this process's slice
            model, replicas = fit(pk(True)), dp.num_replicas
    return {"losses": losses, "replicas": replicas, "weights": {v.path: host(v).tolist() for v in model.weights}}


result = {"processes": list(zoo.distribute.process_info()), "devices": jax.device_count(),
          "local_devices": jax.local_device_count()}
with zoo.distribute.data_parallel() as dp:   # what each process is fed, first batch of a pass
    result["auto_labels"] = next(dp.distribution.distribute_dataset(pk(False)).as_numpy_iterator())[1].tolist()
result["sliced_labels"] = next(pk(True).as_numpy_iterator())[1].tolist()
result["global_labels"] = next(pk(False).as_numpy_iterator())[1].tolist()
result["sliced"] = run("sliced")
if rank == 1:   # the single-device reference (rank 0 is done by then; the machine has 2 cores)
    result["single"] = run("single")
with open(out, "w") as f:
    json.dump(result, f)
'''


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("multi_process")
    env = dict(os.environ, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu", JAX_NUM_CPU_DEVICES="2",
               TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=ROOT)
    env["XLA_FLAGS"] = " ".join(f for f in env.get("XLA_FLAGS", "").split()
                                if not f.startswith("--xla_force_host_platform_device_count"))
    for name in ("KERAS_DISTRIBUTION_JOB_ADDRESSES", "KERAS_DISTRIBUTION_NUM_PROCESSES",
                 "KERAS_DISTRIBUTION_PROCESS_ID"):
        env.pop(name, None)
    port = free_port()
    procs = [subprocess.Popen([sys.executable, "-c", WORKER, str(rank), str(port), str(tmp / f"{rank}.json")],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for rank in range(2)]
    logs = []
    try:
        for proc in procs:
            logs.append(proc.communicate(timeout=400)[0])
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    for rank, (proc, log) in enumerate(zip(procs, logs)):
        assert proc.returncode == 0, f"process {rank} failed (exit {proc.returncode}):\n{log[-6000:]}"
    return [json.loads((tmp / f"{rank}.json").read_text()) for rank in range(2)]


def test_two_processes_with_two_devices_each(runs):
    for rank, r in enumerate(runs):
        assert r["processes"] == [2, rank]
        assert r["devices"] == 4 and r["local_devices"] == 2
        assert r["sliced"]["replicas"] == 4


def test_each_process_gets_its_half_of_the_global_batch(runs):
    """Keras' auto-sharding of the global PK pipeline and `pk_batches(num_processes=2)` feed process i the same
    contiguous half (whole classes) of the same global batch."""
    whole = runs[0]["global_labels"]
    assert runs[1]["global_labels"] == whole and len(whole) == 16
    for rank, r in enumerate(runs):
        assert r["auto_labels"] == r["sliced_labels"] == whole[8 * rank: 8 * rank + 8]


def test_processes_agree_and_equal_the_single_device_run(runs):
    single = runs[1]["single"]
    assert single["replicas"] == 1 and len(single["losses"]) == 3
    a, b = runs[0]["sliced"], runs[1]["sliced"]
    assert a["losses"] == b["losses"]                                    # one global step, reported alike
    assert a["weights"].keys() == single["weights"].keys()
    np.testing.assert_allclose(a["losses"], single["losses"], rtol=0, atol=TOLERANCE)
    for path, ref in single["weights"].items():
        np.testing.assert_array_equal(a["weights"][path], b["weights"][path])  # replicas alike
        np.testing.assert_allclose(a["weights"][path], ref, rtol=0, atol=TOLERANCE, err_msg=path)
    centers = np.asarray(a["weights"]["center_head/centers"])
    assert np.abs(centers).max() > 0                        # the head state (zeros at start) was updated, compared
