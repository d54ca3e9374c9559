"""ReIDModel: the strong-baseline defaults, the loss terms inside the model against their references (batch-hard
triplet on the pooled feature, Wen's centre update, the coupled L2), training on identity batches of a tiny synthetic
Market-1501 set, features in the right geometry (flip TTA), evaluate_reid on paths, a `.keras` round trip that
fits again, loading on another backend, a keras-hub preset directory with the last stride 1."""

import keras
import numpy as np
import pytest

import zoo
from tests.helpers import load_on_other_backend, to_numpy
from zoo.models import ReIDModel

SIZE = (32, 16)
TINY_SET = dict(num_train_ids=8, num_test_ids=4, num_cams=3, images_per_cam=2, num_distractors=3, num_junk=2,
                image_size=SIZE)
STRIDES = {"stackwise_num_strides": [1, 1]}


def _model(**kwargs):
    kwargs.setdefault("backbone_options", STRIDES)
    return ReIDModel("hub_resnet", num_classes=kwargs.pop("num_classes", 8), input_shape=(*SIZE, 3), **kwargs)


@pytest.fixture(scope="module")
def splits(tmp_path_factory):
    folder = zoo.data.synthetic_reid(str(tmp_path_factory.mktemp("reid")), **TINY_SET)
    return zoo.data.reid("market1501", folder)


@pytest.fixture(scope="module")
def trained(splits):
    keras.utils.set_random_seed(0)
    model = _model(center_weight=5e-4, l2=5e-4)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    paths, pids, _ = splits.train
    ds = zoo.data.reid_dataset(paths, pids, training=True, image_size=SIZE, p=4, k=2, seed=0)
    history = model.fit(ds, epochs=1, verbose=0)
    return model, history


def _images(n=8, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(n, *SIZE, 3)).astype("uint8")


def test_strong_baseline_defaults():
    model = _model()
    assert isinstance(model.neck, keras.layers.BatchNormalization) and not model.neck.center
    assert model.neck.momentum == pytest.approx(0.9) and model.neck.epsilon == pytest.approx(1e-5)  # PyTorch's
    assert model.embedding_dim == 128 and not model.head.use_bias                    # pooled feature, BoT classifier
    assert np.std(to_numpy(model.head.kernel)) == pytest.approx(0.001, rel=0.2)
    assert isinstance(model.default_loss(), zoo.losses.LabelSmoothingCrossEntropy)
    assert model.default_loss().epsilon == pytest.approx(0.1)
    assert model.geometry.get_config() == {"name": "sphere", "distance": "cosine"}
    assert model.needs_labels and model.triplet_margin == pytest.approx(0.3)
    paper = _model(head="poincare", embedding_dim=8, neck="none", triplet_weight=0.0, label_smoothing=0.0, c=0.1)
    assert paper.neck is None and paper.feature == "backbone" and not paper.needs_labels
    assert paper.geometry.get_config() == {"name": "poincare", "c": pytest.approx(0.1)}
    assert isinstance(paper.default_loss(), keras.losses.SparseCategoricalCrossentropy)
    assert _model(head="arcface").default_loss().__class__.__name__ == "ArcFaceLoss"     # "auto": no smoothing


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="num_classes"):
        ReIDModel("hub_resnet", input_shape=(*SIZE, 3))
    with pytest.raises(ValueError, match="label_smoothing"):
        _model(head="arcface", label_smoothing=0.1)
    with pytest.raises(ValueError, match="neck"):
        _model(neck="bn")
    with pytest.raises(ValueError, match="triplet_distance='poincare' needs head='poincare'"):
        _model(triplet_distance="poincare")
    with pytest.raises(ValueError, match="head"):
        _model(head="nope")


def test_loss_terms_equal_their_references():
    """add_loss terms of one labelled call: w_t·TripletLoss(margin 0.3, batch-hard, Euclidean) of the pooled feature
    f, w_c·mean ||f - c_y||^2 with Wen's centre update, and l2/2·Σθ²."""
    keras.utils.set_random_seed(1)
    model = _model(num_classes=4, triplet_weight=0.7, center_weight=0.5, center_alpha=0.5, l2=1e-3)
    model.adapt(_images(16, seed=3))
    x, y = _images(8), np.array([0, 0, 1, 1, 2, 2, 3, 3])
    f = to_numpy(model.features(x, training=True))            # the training call's f (batch statistics)
    centers0 = np.random.default_rng(2).normal(size=(4, 128)).astype("float32")
    model.centers.assign(centers0)
    penalty = 0.5e-3 * sum(float(np.sum(np.square(to_numpy(w).astype(np.float64)))) for w in model.trainable_weights)
    model({"images": x, "labels": y}, training=True)
    losses = [float(to_numpy(v)) for v in model.losses]
    triplet = 0.7 * float(to_numpy(zoo.losses.TripletLoss(margin=0.3)(y, f)))
    center = 0.5 * float(np.mean(np.sum((f - centers0[y]) ** 2, axis=1)))
    np.testing.assert_allclose(sorted(losses), sorted([triplet, center, penalty]), rtol=2e-4)
    # Wen et al.: c_j <- c_j - α Σ_i [y_i = j](c_j - x_i) / (1 + n_j)
    f_train = f
    expected = centers0.copy()
    for j in range(4):
        idx = y == j
        expected[j] -= 0.5 * (idx.sum() * centers0[j] - f_train[idx].sum(0)) / (1 + idx.sum())
    np.testing.assert_allclose(to_numpy(model.centers), expected, rtol=1e-4, atol=1e-5)


def test_trains_on_identity_batches_and_embeds_in_its_geometry(trained, splits):
    model, history = trained
    assert all(np.isfinite(history.history["loss"])) and len(history.history["loss"]) == 1
    x = _images(6)
    feats = model.predict(x)
    assert feats.shape == (6, 128)
    np.testing.assert_allclose(feats, model.embed(x), rtol=1e-6)
    flipped = model.embed(x, flip=True)
    np.testing.assert_allclose(flipped, (model.embed(x) + model.embed(x[:, :, ::-1])) / 2, rtol=1e-5, atol=1e-6)
    assert model.scores(x).shape == (6, 8)
    res = model.evaluate_reid(splits.query, splits.gallery, flip=True, ap="market")
    assert res["num_valid_queries"] == len(splits.query[0]) and res["ap"] == "market" and res["flip"] is True
    assert res["distance"] == "cosine" and res["feature"] == "neck" and res["cmc"].shape[0] >= 10
    assert 0.0 <= res["mAP"] <= 1.0 and 0.0 <= res["rank1"] <= res["rank5"] <= 1.0


def test_poincare_arm_embeds_ball_points(splits):
    model = _model(head="poincare", embedding_dim=8, neck="none", triplet_weight=1.0, triplet_distance="poincare",
                   label_smoothing=0.1, c=0.5)
    model.compile()
    paths, pids, _ = splits.train
    model.fit(zoo.data.reid_dataset(paths, pids, training=True, image_size=SIZE, p=4, k=2), epochs=1, verbose=0)
    feats = model.embed(paths[:5])                                        # paths are read at the model's size
    assert feats.shape == (5, 8) and np.all(np.linalg.norm(feats, axis=1) < 1 / np.sqrt(0.5))
    res = model.evaluate_reid(splits.query, splits.gallery, re_ranking={"k1": 4, "k2": 2})
    assert res["distance"].startswith("poincare") and res["re_ranking"] == {"k1": 4, "k2": 2}
    with pytest.raises(ValueError, match="query expansion"):
        model.evaluate_reid(splits.query, splits.gallery, query_expansion=True)


CROSS_BACKEND_SCRIPT = """
import numpy as np, keras, zoo
model = keras.saving.load_model(PATH)
x = np.load(PATH + ".x.npy")
np.testing.assert_allclose(model.predict(x), np.load(PATH + ".feats.npy"), rtol=1e-4, atol=1e-4)
y = np.array([0, 0, 1, 1, 2, 2])
loss = model.fit(x, y, batch_size=6, epochs=1, verbose=0).history["loss"][0]
assert np.isfinite(loss)
print("ok")
"""


def test_keras_round_trip_fits_again_and_loads_on_another_backend(trained, tmp_path):
    model, _ = trained
    x = _images(6, seed=5)
    path = str(tmp_path / "reid.keras")
    model.save(path)
    np.save(path + ".x.npy", x)
    np.save(path + ".feats.npy", model.predict(x))
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(loaded.predict(x), model.predict(x), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(to_numpy(loaded.centers), to_numpy(model.centers))
    assert loaded.center_weight == model.center_weight and loaded.l2 == model.l2
    assert loaded.backbone_options == STRIDES
    y = np.array([0, 0, 1, 1, 2, 2])
    assert np.isfinite(loaded.fit(x, y, batch_size=6, epochs=1, verbose=0).history["loss"][0])
    other = {"tensorflow": "torch", "jax": "tensorflow", "torch": "jax"}[keras.backend.backend()]
    assert "ok" in load_on_other_backend(path, other, CROSS_BACKEND_SCRIPT, timeout=600)


def test_keras_hub_preset_directory_with_last_stride_1(tmp_path):
    keras_hub = pytest.importorskip("keras_hub")
    from zoo.backbones.hub import SMALL_RESNET_CONFIG

    preset = str(tmp_path / "tiny_resnet")
    hub = keras_hub.models.ResNetBackbone(**SMALL_RESNET_CONFIG, image_shape=(None, None, 3))
    hub.save_to_preset(preset)
    stride2 = ReIDModel(preset, num_classes=4, input_shape=(*SIZE, 3))
    stride1 = ReIDModel(preset, num_classes=4, input_shape=(*SIZE, 3), backbone_options=STRIDES)
    assert stride1.embedding_dim == stride2.embedding_dim == 128                # pooled features, no projection
    inner1, inner2 = (next(la for la in m.backbone.layers if isinstance(la, keras_hub.models.ResNetBackbone))
                      for m in (stride1, stride2))
    x = np.zeros((1, *SIZE, 3), "float32")
    assert inner1(x).shape[1:3] == (2 * inner2(x).shape[1], 2 * inner2(x).shape[2])   # last stride 1: 2x the map
    for a, b in zip(inner1.weights, hub.weights):                              # the preset's weights still load
        np.testing.assert_array_equal(to_numpy(a), to_numpy(b))
