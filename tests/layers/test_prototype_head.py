"""zoo.layers.PrototypeHead: cosine scores vs numpy, momentum class means, no gradient to the prototypes,
assignment checks, serialization (.keras, config), the "prototypes" head of zoo.heads, bad input."""

import os
import sys

import keras
import numpy as np
import pytest

import zoo.heads
import zoo.prototypes
from tests.harness import check_layer
from tests.helpers import to_numpy, value_and_grad
from zoo.layers import PrototypeHead


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_PROTOTYPES_DIR", str(tmp_path / "cache"))


def _unit(a):
    return a / np.linalg.norm(a, axis=-1, keepdims=True)


def _head(num_classes=4, protos=None, **kw):
    rng = np.random.default_rng(0)
    protos = _unit(rng.normal(size=(6, 3))) if protos is None else protos
    head = PrototypeHead(num_classes, prototypes=protos, **kw)
    head.build((None, protos.shape[1]))
    return head, protos


def test_scores_are_cosines_to_the_assigned_prototypes():
    head, protos = _head()
    head.set_assignment([5, 0, 3, 1])
    x = np.random.default_rng(1).normal(size=(7, 3)).astype("float32")
    expected = _unit(x.astype(np.float64)) @ protos[[5, 0, 3, 1]].T
    np.testing.assert_allclose(to_numpy(head(x)), expected, atol=1e-6)
    np.testing.assert_allclose(to_numpy(head.polars), protos[[5, 0, 3, 1]].T, atol=1e-7)  # kept in sync
    np.testing.assert_allclose(to_numpy(head.assigned_prototypes()), protos[[5, 0, 3, 1]], atol=1e-7)
    assert head.compute_dtype == "float32" and head(x).shape == (7, 4)
    assert PrototypeHead(3, dtype="mixed_float16").compute_dtype == "float32"


@pytest.fixture(params=["one_hot", "label_gram"])
def update_path(request, monkeypatch):
    """Run a test with both implementations of the class-mean update (small and large C)."""
    module = sys.modules["zoo.layers.prototype_head"]
    monkeypatch.setattr(module, "DENSE_UPDATE_MAX_CLASSES", 256 if request.param == "one_hot" else 1)
    return request.param


def test_momentum_update_is_the_ema_of_the_batch_class_mean(update_path):
    head, _ = _head(momentum=0.9)
    q0 = to_numpy(head.class_means).astype(np.float64)
    x = np.random.default_rng(2).normal(size=(6, 3)).astype("float32")
    y = np.array([0, 0, 2, 2, 2, 1], "int32")  # class 3 absent, repeated labels
    head(x, labels=y, training=True)
    xh = _unit(x.astype(np.float64))
    expected = q0.copy()
    for k in (0, 1, 2):
        expected[k] = _unit(0.9 * q0[k] + 0.1 * xh[y == k].mean(0))
    np.testing.assert_allclose(to_numpy(head.class_means), expected, atol=1e-6)
    # inference and a call without labels leave the means alone; packed mixup labels use y_a
    head(x, labels=y, training=False)
    head(x, training=True)
    np.testing.assert_allclose(to_numpy(head.class_means), expected, atol=1e-6)
    packed = np.stack([y, y[::-1], np.full(6, 0.3)], 1).astype("float32")
    head2, _ = _head(momentum=0.9)
    head2(x, labels=packed, training=True)
    np.testing.assert_allclose(to_numpy(head2.class_means), expected, atol=1e-6)
    # a label outside [0, C) is ignored by the update on every backend (the loss makes it NaN)
    head3, _ = _head(momentum=0.9)
    head3(np.r_[x, x[:1]], labels=np.r_[y, 7].astype("int32"), training=True)
    np.testing.assert_allclose(to_numpy(head3.class_means), expected, atol=1e-6)


def test_no_gradient_to_fixed_prototypes_and_finite_input_gradients():
    head, _ = _head()
    assert head.trainable_weights == []
    assert {w.name for w in head.non_trainable_weights} == {"prototypes", "assignment", "class_means", "polars"}
    x = np.array([[0.0, 0.0, 0.0], [1e-20, 0.0, 0.0], [3.0, -1.0, 2.0], [1e4, 1e4, -1e4]], "float32")
    value, (g,) = value_and_grad(lambda a: head(a), x)
    assert np.all(np.isfinite(value)) and np.all(np.isfinite(g))
    learned = PrototypeHead(4, prototypes="learned", steps=20)
    learned.build((None, 3))
    assert [w.name for w in learned.trainable_weights] == ["prototypes"]


def test_uniform_and_etf_sets():
    head = PrototypeHead(10, prototypes="uniform", steps=100)
    head.build((None, 9))
    np.testing.assert_allclose(to_numpy(head.prototypes), zoo.prototypes.load_or_estimate("uniform", 10, 9, steps=100),
                               atol=1e-7)
    etf = PrototypeHead(10, prototypes="etf")
    etf.build((None, 9))
    g = to_numpy(etf.prototypes) @ to_numpy(etf.prototypes).T
    np.testing.assert_allclose(g[0, 1:], -1.0 / 9, atol=1e-6)
    np.testing.assert_array_equal(to_numpy(etf.assignment), np.arange(10))


def test_bad_input_errors(tmp_path):
    with pytest.raises(ValueError, match="num_prototypes.*>= num_classes"):
        PrototypeHead(10, num_prototypes=5)
    with pytest.raises(ValueError, match="3 prototypes for 4 classes"):
        PrototypeHead(4, prototypes=np.eye(3))
    with pytest.raises(ValueError, match="must be one of"):
        PrototypeHead(4, prototypes="random")
    with pytest.raises(ValueError, match="momentum"):
        PrototypeHead(4, momentum=1.0)
    with pytest.raises(ValueError, match="needs dim >= num - 1"):
        PrototypeHead(10, prototypes="etf").build((None, 5))
    with pytest.raises(ValueError, match="dimension 3 but the embeddings have dimension 4"):
        _head()[0].build((None, 4))
    head, _ = _head()
    with pytest.raises(ValueError, match="not a permutation"):
        head.set_assignment([0, 0, 1, 2])
    with pytest.raises(ValueError, match=r"\[0, 6\)"):
        head.set_assignment([0, 1, 2, 6])
    with pytest.raises(ValueError, match="shape"):
        head.set_assignment([0, 1, 2])
    path = tmp_path / "p.npy"
    zoo.prototypes.save(path, np.eye(4, 3, dtype="float32") + 0.1)
    with pytest.raises(zoo.prototypes.PrototypeFileError, match="sha256"):
        PrototypeHead(4, prototypes=str(path), prototypes_sha256="f" * 64)
    with pytest.raises(ValueError, match="3 prototypes for 4 classes|has 4 prototypes"):
        PrototypeHead(5, prototypes=str(path))
    np.save(path, np.ones((4, 3), "float32"))
    with pytest.raises(zoo.prototypes.PrototypeFileError, match="sha256"):
        PrototypeHead(4, prototypes=str(path))


def _model(head, dim=3):
    emb = keras.Input((dim,))
    lab = keras.Input((), dtype="int32")
    return keras.Model([emb, lab], head(keras.layers.Dense(dim)(emb), labels=lab))


def test_keras_roundtrip_keeps_assignment_means_and_prototypes(tmp_path):
    head, _ = _head()
    model = _model(head)
    x = np.random.default_rng(3).normal(size=(5, 3)).astype("float32")
    y = np.array([0, 1, 2, 3, 0], "int32")
    model([x, y], training=True)  # move the class means
    head.set_assignment([2, 4, 0, 1])
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(to_numpy(loaded([x, y])), to_numpy(model([x, y])), atol=1e-6)
    lh = [layer for layer in loaded.layers if isinstance(layer, PrototypeHead)][0]
    for name in ("prototypes", "assignment", "class_means", "polars"):
        np.testing.assert_array_equal(to_numpy(getattr(lh, name)), to_numpy(getattr(head, name)))


def test_harness():
    """Fixed prototypes given as an array (stored in the config). ("learned" prototypes are not run through the
    harness: on TensorFlow their gradient through `ops.take` is an IndexedSlices, which
    tests.helpers.value_and_grad does not convert.)"""
    x = np.random.default_rng(4).normal(size=(5, 3)).astype("float32")
    check_layer(PrototypeHead(4, prototypes=_unit(np.random.default_rng(0).normal(size=(6, 3)))), x,
                expected_shape=(5, 4))


def test_model_with_a_prototype_file_loads_without_the_file(tmp_path):
    path = tmp_path / "protos.npy"
    zoo.prototypes.save(path, zoo.prototypes.etf(4, 3))
    head = PrototypeHead(4, prototypes=str(path))
    model = _model(head)
    saved = tmp_path / "m.keras"
    model.save(saved)
    os.remove(path)
    loaded = keras.saving.load_model(saved)
    lh = [layer for layer in loaded.layers if isinstance(layer, PrototypeHead)][0]
    np.testing.assert_array_equal(to_numpy(lh.prototypes), to_numpy(head.prototypes))


def test_heads_registry_entry():
    spec = zoo.heads.get("prototypes", 10, 9, prototypes="etf")
    assert spec.needs_labels and isinstance(spec.layer, PrototypeHead) and len(spec.callbacks) == 1
    assert spec.loss.form == "balanced"
    fixed = zoo.heads.get("prototypes", 10, 3, reassign=False, form="long_tail", steps=10)
    assert fixed.callbacks == [] and fixed.loss.form == "long_tail"
    assert zoo.heads.get("prototypes", 10, 3, prototypes="learned", steps=10).callbacks == []
    with pytest.raises(ValueError, match="needs dim >= num - 1"):
        zoo.heads.get("prototypes", 10, 5, prototypes="etf")
    with pytest.raises(ValueError, match="reassign=True makes no sense"):
        zoo.heads.get("prototypes", 10, 5, prototypes="learned", reassign=True)
    with pytest.raises(TypeError):
        zoo.heads.get("prototypes", 10, 5, bogus=1)


# -- reliability (issue #13) ---------------------------------------------------------------------------------------


def _no_disk_and_no_estimate(monkeypatch):
    """Every estimate and every cache write/read fails from here on (a locked-down machine)."""
    def boom(*args, **kwargs):
        raise AssertionError("estimated or touched the prototype cache while loading a saved model")

    monkeypatch.setattr(sys.modules["zoo.prototypes.store"], "save", boom)
    monkeypatch.setattr(sys.modules["zoo.prototypes.store"], "load", boom)
    monkeypatch.setattr(zoo.prototypes, "load", boom)
    monkeypatch.setattr(sys.modules["zoo.prototypes.uniform"], "uniform", boom)


@pytest.mark.parametrize("kind", ["uniform", "file"])
def test_saved_model_loads_from_its_weights_without_the_cache(tmp_path, monkeypatch, kind):
    if kind == "file":
        path = tmp_path / "protos.npy"
        zoo.prototypes.save(path, zoo.prototypes.uniform(4, 3, steps=5, seed=1))
        head = PrototypeHead(4, prototypes=str(path))
    else:
        head = PrototypeHead(4, prototypes="uniform", steps=5)
    model = _model(head)
    saved = tmp_path / "m.keras"
    model.save(saved)
    monkeypatch.setenv("ZOO_PROTOTYPES_DIR", str(tmp_path / "empty_cache"))
    _no_disk_and_no_estimate(monkeypatch)
    loaded = keras.saving.load_model(saved)
    lh = [layer for layer in loaded.layers if isinstance(layer, PrototypeHead)][0]
    for name in ("prototypes", "polars", "class_means"):
        np.testing.assert_array_equal(to_numpy(getattr(lh, name)), to_numpy(getattr(head, name)))
    x = np.random.default_rng(3).normal(size=(5, 3)).astype("float32")
    y = np.array([0, 1, 2, 3, 0], "int32")
    np.testing.assert_allclose(to_numpy(loaded([x, y])), to_numpy(model([x, y])), atol=1e-6)
    assert not os.path.exists(tmp_path / "empty_cache")


def test_uniform_head_builds_when_the_cache_cannot_be_written(monkeypatch):
    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(sys.modules["zoo.prototypes.store"].os, "makedirs", denied)
    head = PrototypeHead(6, prototypes="uniform", steps=5)
    with pytest.warns(RuntimeWarning, match="could not cache"):
        head.build((None, 3))
    np.testing.assert_allclose(to_numpy(head.prototypes), zoo.prototypes.uniform(6, 3, steps=5), atol=1e-6)


def test_a_prototype_file_with_a_zero_row_is_refused(tmp_path):
    p = zoo.prototypes.etf(4, 3)
    p[1] = 0.0
    path = tmp_path / "zero.npy"
    np.save(path, p)
    with pytest.raises(zoo.prototypes.PrototypeFileError, match="all-zero"):
        PrototypeHead(4, prototypes=str(path))


# -- DL2PA's long-tail BN_H (issue #16) ---------------------------------------------------------------------------


def test_feature_bn_normalises_the_features_before_the_cosines_and_round_trips(tmp_path):
    """feature_bn=True: scores = cos(BN(x), p) with the batch statistics in training (float64 reference), the
    moving statistics at inference; the class means follow BN(x); off by default (no layer, plain cosines);
    config and .keras round trip."""
    rng = np.random.default_rng(7)
    x = (rng.normal(size=(8, 3)) * [3.0, 0.5, 1.0] + [2.0, -1.0, 0.5]).astype("float32")
    y = np.array([0, 1, 2, 3, 0, 1, 2, 3], "int32")
    plain, protos = _head(momentum=0.5)
    assert plain.batch_norm is None and not plain.get_config()["feature_bn"]
    head, _ = _head(momentum=0.5, feature_bn=True)
    assert isinstance(head.batch_norm, keras.layers.BatchNormalization) and head.get_config()["feature_bn"]
    assert len(head.weights) == len(plain.weights) + 4  # gamma, beta, moving mean, moving variance
    x64 = x.astype(np.float64)
    h = (x64 - x64.mean(0)) / np.sqrt(x64.var(0) + 1e-5)  # BN in training: batch statistics, gamma 1, beta 0
    q0 = to_numpy(head.class_means).astype(np.float64)
    scores = to_numpy(head(x, labels=y, training=True))
    np.testing.assert_allclose(scores, _unit(h) @ protos[:4].T, atol=1e-5)
    assert not np.allclose(scores, to_numpy(plain(x)), atol=1e-2)  # the option changes the outputs
    for k in range(4):  # the class means moved towards the BN'd features
        np.testing.assert_allclose(to_numpy(head.class_means)[k],
                                   _unit(0.5 * q0[k] + 0.5 * _unit(h)[y == k].mean(0)), atol=1e-5)
    moving_mean = to_numpy(head.batch_norm.moving_mean)
    np.testing.assert_allclose(moving_mean, 0.1 * x64.mean(0), atol=1e-5)  # momentum 0.9 = torch's 0.1
    model = _model(head)
    path = tmp_path / "bn.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(to_numpy(loaded([x, y])), to_numpy(model([x, y])), atol=1e-6)
    lh = [layer for layer in loaded.layers if isinstance(layer, PrototypeHead)][0]
    assert lh.feature_bn
    np.testing.assert_allclose(to_numpy(lh.batch_norm.moving_mean), moving_mean, atol=1e-7)
    with pytest.raises(TypeError, match="feature_bn"):
        PrototypeHead(4, prototypes=protos, feature_bn="yes")
    spec = zoo.heads.get("prototypes", 4, 3, prototypes="etf", feature_bn=True)
    assert spec.layer.feature_bn and "BN" in spec.description
