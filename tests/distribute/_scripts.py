"""Bodies of the multi-device tests, run in a fresh subprocess (device counts are fixed when the engine starts).

    python tests/distribute/_scripts.py jax        # KERAS_BACKEND=jax, 4 virtual CPU devices (set by the test)
    python tests/distribute/_scripts.py tensorflow # KERAS_BACKEND=tensorflow, the CPU split into 2 logical devices

Each prints one line `RESULT <json>` that the test reads. The same fixed global batches are trained once on
one device and once under `zoo.distribute.data_parallel()`; the script reports the largest differences.
"""

import json
import os
import sys
import time

import numpy as np

HEADS = ("softmax", "poincare", "arcface", "center", "prototypes")
STEPS, BATCH, DIM = 3, 16, 8
PREDICT = ("softmax", "prototypes")
HEAD_STATE = ("class_means", "assignment", "centers", "polars")


def _data():
    import zoo

    (x, y), _ = zoo.data.fashion_mnist(download=False)
    return x[:100], y[:100].astype("int32"), x[:10]


class _StepLosses:
    """Per-step training losses (a keras callback made lazily, after the backend is configured)."""

    @staticmethod
    def make():
        import keras

        class Record(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.losses = []

            def on_train_batch_end(self, batch, logs=None):
                self.losses.append(float(logs["loss"]))

        return Record()


def _state(model):
    out = {}
    for v in model.variables:
        name = v.path.split("/")[-1]
        if name in HEAD_STATE:
            out[v.path] = np.asarray(_to_numpy(v))
    return out


def _to_numpy(v):
    import keras

    return keras.ops.convert_to_numpy(v.value if hasattr(v, "value") else v)


def _train(kind, head, context):
    import keras

    import zoo

    x, y, xp = _data()
    keras.utils.set_random_seed(0)
    record = _StepLosses.make()
    with context() as dp:
        if kind == "protonet":
            model = zoo.models.ProtoNet("lenet", shot=1, query=3, input_shape=(28, 28, 1), embedding_dim=DIM,
                                        normalize=(0.3, 0.3))
            model.compile()
            model.fit(x, y, way=4, episodes_per_epoch=STEPS, epochs=1, verbose=0, callbacks=[record])
        else:
            model = zoo.models.ImageClassifier("lenet", head=head, num_classes=10, input_shape=(28, 28, 1),
                                               embedding_dim=DIM, normalize=(0.3, 0.3))
            model.compile()
            callbacks = [record]
            if head == "prototypes":
                callbacks.append(zoo.callbacks.PrototypeReassignment(every_n_steps=1, verbose=0))
            if dp is not None:
                dp.check_batch_size(BATCH)
            model.fit(x[:STEPS * BATCH], y[:STEPS * BATCH], batch_size=BATCH, epochs=1, shuffle=False, verbose=0,
                      callbacks=callbacks)
            if head == "prototypes":
                callbacks[1].apply_pending()
        weights = [np.asarray(w) for w in model.get_weights()]
        state = _state(model)
        # predict / embed (each a compile) on two cases only: 10 images in batches of 8, so the last batch of 2
        # is padded to the device count on JAX
        pred = np.asarray(model.predict(xp, batch_size=8, verbose=0)) if head in PREDICT else None
        emb = np.asarray(model.embed(xp, batch_size=8)) if kind == "protonet" or head in PREDICT else None
        per_replica = _replica_spread(model) if dp is not None and dp.backend == "tensorflow" else {}
        if head == "softmax":  # evaluate 10 examples in batches of 8 (the last padded on JAX, weight 0)
            per_replica["evaluate"] = model.evaluate(xp, y[:10], batch_size=8, verbose=0, return_dict=True)
    return record.losses, weights, state, pred, emb, per_replica


def _replica_spread(model):
    """{variable path: max |copy_i - copy_0|} over the per-replica copies of every variable (TF)."""
    spread = {}
    for v in model.variables:
        tv = getattr(v, "value", v)
        values = getattr(tv, "values", None)
        if not values or len(values) < 2:
            continue
        base = np.asarray(values[0].numpy())
        spread[v.path] = max(float(np.max(np.abs(np.asarray(c.numpy()) - base))) if base.size else 0.0
                             for c in values[1:])
    return spread


def _max_diff(a, b):
    if isinstance(a, dict):
        assert a.keys() == b.keys(), (sorted(a), sorted(b))
        return max([_max_diff(a[k], b[k]) for k in a] or [0.0])
    if isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        return max([_max_diff(p, q) for p, q in zip(a, b)] or [0.0])
    if a is None:
        return 0.0
    a, b = np.asarray(a, "float64"), np.asarray(b, "float64")
    assert a.shape == b.shape, (a.shape, b.shape)
    return float(np.max(np.abs(a - b))) if a.size else 0.0


def _compare(parallel, cases):
    import contextlib

    results = {}
    for kind, head in cases:
        t0 = time.perf_counter()
        one = _train(kind, head, lambda: contextlib.nullcontext(None))
        many = _train(kind, head, parallel)
        key = head or kind
        results[key] = {
            "loss": _max_diff(one[0], many[0]), "weights": _max_diff(one[1], many[1]),
            "state": _max_diff(one[2], many[2]), "predict": _max_diff(one[3], many[3]),
            "embed": _max_diff(one[4], many[4]), "losses_one": one[0], "losses_many": many[0],
            "state_names": sorted(one[2]), "predict_rows": None if many[3] is None else len(many[3]),
            "assignment_one": [v.tolist() for k, v in one[2].items() if k.endswith("assignment")],
            "assignment_many": [v.tolist() for k, v in many[2].items() if k.endswith("assignment")],
            "replica_spread": {k: v for k, v in many[5].items() if k != "evaluate"},
            "evaluate_one": one[5].get("evaluate"), "evaluate_many": many[5].get("evaluate"),
            "seconds": time.perf_counter() - t0,
        }
    return results


def run_jax():
    import keras

    import zoo

    assert keras.backend.backend() == "jax"
    devices = keras.distribution.list_devices()
    assert len(devices) == 4, devices
    cases = [("classifier", h) for h in HEADS] + [("protonet", None)]
    results = _compare(lambda: zoo.distribute.data_parallel(), cases)
    # the interface: counts, batch check, devices as an int or names, restore of the previous distribution
    with zoo.distribute.data_parallel(2) as dp:
        info = {"num_replicas": dp.num_replicas, "inside": zoo.distribute.num_replicas(),
                "process": list(zoo.distribute.process_info()), "backend": dp.backend}
        try:
            dp.check_batch_size(15, "test")
            info["check"] = "no error"
        except ValueError as err:
            info["check"] = str(err)
    info["outside"] = zoo.distribute.num_replicas()
    info["restored"] = keras.distribution.distribution() is None
    with zoo.distribute.data_parallel(["cpu:1", "cpu:3"]) as dp:
        info["named"] = dp.devices
    return {"results": results, "info": info}


def run_tensorflow():
    import tensorflow as tf

    cpus = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(cpus[0], [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras

    import zoo

    assert keras.backend.backend() == "tensorflow"
    cases = [("classifier", h) for h in HEADS]
    results = _compare(lambda: zoo.distribute.data_parallel(2), cases)
    info = {}
    with zoo.distribute.data_parallel() as dp:
        info["num_replicas"] = dp.num_replicas
        info["inside"] = zoo.distribute.num_replicas()
        # DropBlock's integer step counter under MirroredStrategy: a functional model, 2 steps
        layer = zoo.layers.DropBlock(rate=0.1, block_size=3, warmup_steps=10)
        inputs = keras.Input((6, 6, 2))
        outputs = keras.layers.Dense(1)(keras.layers.GlobalAveragePooling2D()(layer(inputs)))
        model = keras.Model(inputs, outputs)
        model.compile(optimizer="sgd", loss="mse")
        model.fit(np.ones((8, 6, 6, 2), "float32"), np.zeros((8, 1), "float32"), batch_size=4, epochs=1, verbose=0)
        info["dropblock_step"] = [int(c.numpy()) for c in layer.step.value.values]
    info["outside"] = zoo.distribute.num_replicas()
    return {"results": results, "info": info}


if __name__ == "__main__":
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    which = sys.argv[1]
    out = run_jax() if which == "jax" else run_tensorflow()
    print("RESULT " + json.dumps(out))
