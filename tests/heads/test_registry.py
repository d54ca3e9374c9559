"""zoo.heads: the registry (every head builds and trains on its own loss), HeadSpec, the errors, the plot hooks."""

import dataclasses

import keras
import numpy as np
import pytest

import zoo
import zoo.heads
from tests.helpers import assert_all_finite, to_numpy

HEADS = ["arcface", "center", "cosface", "distarc", "poincare", "prototypes", "softmax", "sphereface",
         "sphereface2"]
# Options keeping every build tiny: "etf" prototypes need no estimate and no disk cache (3 classes, d = 2).
OPTIONS = {"prototypes": {"prototypes": "etf", "verbose": 0}}
NUM_CLASSES, DIM = 3, 2


def _batch():
    rng = np.random.default_rng(0)
    return rng.normal(size=(6, DIM)).astype("float32"), np.array([0, 1, 2, 0, 1, 2], "int32")


def _scores(spec, x, y):
    if spec.needs_labels:
        return spec.layer(x, labels=y, training=True)
    return spec.layer(x)


def test_available_lists_every_family():
    assert zoo.heads.available() == HEADS


@pytest.mark.parametrize("name", HEADS)
def test_every_head_builds_scores_and_gives_a_finite_loss(name):
    spec = zoo.heads.get(name, NUM_CLASSES, DIM, **OPTIONS.get(name, {}))
    assert isinstance(spec, zoo.heads.HeadSpec)
    assert isinstance(spec.layer, keras.layers.Layer) and spec.description
    x, y = _batch()
    scores = _scores(spec, x, y)
    values = to_numpy(scores)
    # the packed heads (center, distarc) append columns that are always below the class scores
    assert values.shape[0] == len(x) and values.shape[1] >= NUM_CLASSES
    assert_all_finite(values)
    assert np.all(np.argmax(values, axis=-1) < NUM_CLASSES)
    value = float(to_numpy(spec.loss(y, scores)))
    assert np.isfinite(value)
    [metric] = spec.metrics
    metric.update_state(y, scores)
    assert 0.0 <= float(to_numpy(metric.result())) <= 1.0
    assert all(isinstance(cb, keras.callbacks.Callback) for cb in spec.callbacks)
    assert spec.plot is None or callable(spec.plot)


def test_layer_types_and_label_needs():
    layers = zoo.layers
    expected = {"softmax": keras.layers.Dense, "arcface": layers.CosineHead, "cosface": layers.CosineHead,
                "sphereface": layers.CosineHead, "sphereface2": layers.CosineHead, "center": layers.CenterHead,
                "distarc": layers.DistArcHead, "prototypes": layers.PrototypeHead,
                "poincare": layers.PoincareClassifier}
    for name, cls in expected.items():
        spec = zoo.heads.get(name, NUM_CLASSES, DIM, **OPTIONS.get(name, {}))
        assert isinstance(spec.layer, cls), name
        assert spec.needs_labels == (name in ("center", "prototypes")), name
        assert (spec.plot is None) == (name == "softmax"), name
    assert [type(cb).__name__ for cb in zoo.heads.get("prototypes", 3, 2, **OPTIONS["prototypes"]).callbacks] == [
        "PrototypeReassignment"]


def test_head_spec_fields_and_defaults():
    fields = {f.name: f for f in dataclasses.fields(zoo.heads.HeadSpec)}
    assert list(fields) == ["layer", "loss", "metrics", "callbacks", "needs_labels", "description", "plot",
                            "scores", "embed", "geometry"]
    spec = zoo.heads.HeadSpec(layer=keras.layers.Dense(3), loss="mse")
    assert spec.metrics == [] and spec.callbacks == [] and spec.needs_labels is False
    assert spec.description == "" and spec.plot is None
    assert zoo.heads.HeadSpec(keras.layers.Dense(3), "mse").metrics is not spec.metrics   # no shared default


def test_unknown_head_names_every_choice():
    with pytest.raises(ValueError, match="Unknown head 'nope'") as err:
        zoo.heads.get("nope", 3, 2)
    for name in HEADS:
        assert name in str(err.value)


def test_bad_sizes_and_options():
    with pytest.raises(ValueError, match="`num_classes` must be an integer >= 2; got 1"):
        zoo.heads.get("softmax", 1, 2)
    with pytest.raises(ValueError, match="`embedding_dim` must be an integer >= 1; got 0"):
        zoo.heads.get("softmax", 3, 0)
    with pytest.raises(TypeError, match="margin"):
        zoo.heads.get("softmax", 3, 2, margin=0.1)
    with pytest.raises(ValueError, match="kernel_stddev"):
        zoo.heads.get("softmax", 3, 2, kernel_stddev=0.0)
    with pytest.raises(TypeError):
        zoo.heads.get("arcface", 3, 2, bogus=1)
    with pytest.raises(ValueError, match="`base` must be one of"):
        zoo.heads.get("center", 3, 2, base="nope")


def test_options_reach_the_loss_and_layer():
    assert zoo.heads.get("arcface", 3, 2, margin=0.3, scale=16.0).loss.get_config()["margin"] == 0.3
    spec = zoo.heads.get("poincare", 3, 2, c=0.5, train_c=True)
    assert spec.layer.train_c and spec.layer.c == 0.5
    assert zoo.heads.get("center", 3, 2, base="cosface").layer.classifier.__class__ is zoo.layers.CosineHead


def test_prototypes_head_takes_a_prototype_array():
    """An array of prototypes (not a kind name): the head scores against exactly those rows, with reassignment."""
    protos = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
    spec = zoo.heads.get("prototypes", 3, 2, prototypes=protos, verbose=0)
    assert [type(cb).__name__ for cb in spec.callbacks] == ["PrototypeReassignment"]
    assert spec.description.startswith("given prototypes (4)")
    scores = to_numpy(spec.layer(np.array([[0.0, 2.0]], "float32"), labels=np.array([1], "int32"), training=True))
    np.testing.assert_allclose(scores, [[0.0, 1.0, 0.0]], atol=1e-6)  # classes 0..2 -> prototypes 0..2
    assert zoo.heads.get("prototypes", 3, 2, prototypes=protos, reassign=False, verbose=0).callbacks == []


def test_register_adds_a_head_and_refuses_a_duplicate():
    @zoo.heads.register("_test_linear")
    def factory(num_classes, embedding_dim):
        return zoo.heads.HeadSpec(layer=keras.layers.Dense(num_classes), loss="mse",
                                  metrics=[zoo.heads.accuracy()])

    try:
        assert "_test_linear" in zoo.heads.available()
        assert zoo.heads.get("_test_linear", 4, 2).layer.units == 4
        with pytest.raises(ValueError, match="registered twice"):
            zoo.heads.register("_test_linear")(factory)
    finally:
        zoo.heads.registry._REGISTRY.pop("_test_linear")
    assert "_test_linear" not in zoo.heads.available()


@pytest.mark.parametrize("name", ["arcface", "prototypes", "poincare"])
def test_plot_hooks_write_a_png_and_return_its_path(name, tmp_path):
    spec = zoo.heads.get(name, NUM_CLASSES, DIM, **OPTIONS.get(name, {}))
    x, y = _batch()
    _scores(spec, x, y)
    path = str(tmp_path / "sub" / f"{name}.png")
    assert spec.plot(x, y, spec.layer, path) == path
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"


# -- reliability (issue #13) ---------------------------------------------------------------------------------------


def test_sizes_are_integers_not_truncated():
    for bad in (2.5, 3.0, None, "3", True):
        with pytest.raises(ValueError, match=f"`num_classes` must be an integer >= 2; got {bad!r}"):
            zoo.heads.get("softmax", bad, 2)
    with pytest.raises(ValueError, match="zoo.heads.get\\('arcface'\\): `embedding_dim` must be an integer"):
        zoo.heads.get("arcface", 3, 2.5)
    assert zoo.heads.get("softmax", np.int64(3), np.int32(2)).layer.units == 3


def test_every_head_refuses_another_embedding_dim():
    x, y = _batch()
    wide = np.concatenate([x, x], axis=1)   # [6, 2 * DIM]
    for name in HEADS:
        spec = zoo.heads.get(name, NUM_CLASSES, DIM, **OPTIONS.get(name, {}))
        with pytest.raises(ValueError, match=f"expected axis -1 of input shape to have value {DIM}"):
            _scores(spec, wide, y)
        _scores(spec, x, y)   # the right dimension still works, and still after the build
        with pytest.raises(ValueError, match=f"expected axis -1 of input shape to have value {DIM}"):
            _scores(spec, wide, y)


def test_softmax_logits_are_float32_under_mixed_precision():
    policy = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16")
    try:
        spec = zoo.heads.get("softmax", NUM_CLASSES, DIM)
        x, _ = _batch()
        out = spec.layer(keras.ops.cast(x, "bfloat16"))
    finally:
        keras.config.set_dtype_policy(policy)
    assert keras.backend.standardize_dtype(out.dtype) == "float32"
    assert spec.layer.compute_dtype == "float32"
