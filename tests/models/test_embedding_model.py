"""zoo.models.EmbeddingModel on real data (scikit-learn digits, raw 0..255 pixels): PK training with the loss
falling, embeddings in the space's geometry, chunked retrieval against a float64 numpy brute force,
evaluate_retrieval against zoo.metrics, .keras round trips (same backend and another one), clear errors."""


import keras
import numpy as np
import pytest

import zoo
from tests.helpers import load_on_other_backend, other_backends
from zoo.models.embedding_model import EmbeddingModel

SMALL = dict(input_shape=(8, 8), image_size=16, embedding_dim=8)
# The backend the saved model is loaded on (torch when possible: no compile, the quickest start).
OTHER = "torch" if "torch" in other_backends() else other_backends()[0]


@pytest.fixture(scope="module")
def digits():
    (x, y), (xt, yt) = zoo.data.digits()
    return x[:300], y[:300], xt[:60], yt[:60]


@pytest.fixture(scope="module")
def trained(digits):
    """The recipe's configuration: tanh -> l2 space, exponential triplet loss + the class term."""
    x, y, _, _ = digits
    keras.utils.set_random_seed(0)
    model = EmbeddingModel("conv4", space="l2", activation="tanh", num_classes=10, class_coef=1.0, **SMALL)
    history = model.fit(x, y, epochs=2, k=3, seed=0, verbose=0)
    return model, history.history["loss"]


@pytest.fixture(scope="module")
def ball(digits):
    """Poincaré space, trainable c, triplet loss (the ball's default)."""
    x, y, _, _ = digits
    keras.utils.set_random_seed(1)
    model = EmbeddingModel("conv4", space="poincare", c=0.5, train_c=True, **SMALL)
    history = model.fit(x, y, epochs=2, seed=0, verbose=0)
    return model, history.history["loss"]


def _poincare_dist(a, b, c):
    a, b = a.astype(np.float64), b.astype(np.float64)
    sq = np.sum((a[:, None] - b[None]) ** 2, -1)
    den = (1 - c * np.sum(a * a, -1))[:, None] * (1 - c * np.sum(b * b, -1))[None]
    return np.arccosh(1 + 2 * c * sq / den) / np.sqrt(c)


def test_trains_on_pk_batches_with_the_loss_falling(trained, ball):
    for model, losses in (trained, ball):
        assert len(losses) == 2 and np.all(np.isfinite(losses))
        assert losses[-1] < losses[0], (model.space, losses)
    model = trained[0]
    assert isinstance(model.loss, zoo.losses.ExponentialTripletLoss) and model.loss.num_classes == 10
    assert isinstance(ball[0].loss, zoo.losses.TripletLoss)
    assert ball[0].curvature != pytest.approx(0.5, abs=1e-7)        # c was trained


def test_embed_lies_in_the_space(trained, ball, digits):
    _, _, xt, _ = digits
    e = trained[0].embed(xt)
    assert e.shape == (60, 8)
    np.testing.assert_allclose(np.linalg.norm(e, axis=1), 1.0, atol=1e-5)        # l2, scale 1
    np.testing.assert_allclose(trained[0].predict(xt, verbose=0), e, atol=1e-6)
    model = ball[0]
    e = model.embed(xt)
    assert np.all(np.linalg.norm(e, axis=1) < 1.0 / np.sqrt(model.curvature))
    assert model.geometry.get_config() == {"name": "poincare", "c": model.curvature}
    sphere = EmbeddingModel("conv4", space="sphere", normalize=None, **SMALL)
    np.testing.assert_allclose(np.linalg.norm(sphere.embed(xt[:8]), axis=1), 1.0, atol=1e-5)
    assert sphere.geometry.get_config() == {"name": "sphere", "distance": "cosine"}


def test_retrieve_chunked_equals_brute_force(trained, ball, digits):
    x, y, xt, _ = digits
    for model in (trained[0], ball[0]):
        q, g = model.embed(xt), model.embed(x)
        if model.space == "poincare":
            ref = _poincare_dist(q, g, model.curvature)
        else:
            ref = np.sqrt(np.sum((q[:, None].astype(np.float64) - g[None]) ** 2, -1))
        idx, dist, labels = model.retrieve(xt, g, k=4, gallery_labels=y, max_elements=7 * len(g))  # 9 blocks
        want = np.argsort(ref, axis=1, kind="stable")[:, :4]
        np.testing.assert_allclose(dist, np.take_along_axis(ref, want, 1), rtol=2e-3, atol=2e-4)
        np.testing.assert_allclose(np.take_along_axis(ref, idx, 1), np.take_along_axis(ref, want, 1),
                                   rtol=2e-3, atol=2e-4)           # same neighbours up to float32 near-ties
        assert np.all(np.diff(dist, axis=1) >= 0) and idx.shape == (60, 4)
        np.testing.assert_array_equal(labels, y[idx])
        idx2, dist2 = model.retrieve(q, g, k=4)                     # embeddings in, one block
        np.testing.assert_array_equal(idx2, idx)
        np.testing.assert_allclose(dist2, dist, rtol=3e-4, atol=1e-5)   # float32 closed form, other block shapes


def test_evaluate_retrieval_equals_zoo_metrics(trained, ball, digits):
    x, y, xt, yt = digits
    for model in (trained[0], ball[0]):
        got = model.evaluate_retrieval(xt, yt, x, y, ks=(1, 5))
        want = zoo.metrics.retrieval_metrics(model.embed(xt), yt, model.embed(x), y, ks=(1, 5),
                                             geometry=model.geometry, mean_ap=True)
        assert got == pytest.approx(want)
        assert set(got) >= {"recall@1", "recall@5", "precision@5", "map@r", "map"}
        assert got["recall@1"] > 0.3, got                           # chance: 0.1
    loo = trained[0].evaluate_retrieval(trained[0].embed(xt), yt + 100, ks=(1,))   # any ids, leave-one-out
    assert loo == pytest.approx(zoo.metrics.retrieval_metrics(trained[0].embed(xt), yt, ks=(1,), mean_ap=True))


def test_keras_round_trip_same_and_other_backend(trained, ball, digits, tmp_path):
    x, y, xt, _ = digits
    for i, (model, _) in enumerate((trained, ball)):
        path = str(tmp_path / f"m{i}.keras")
        model.save(path)
        loaded = keras.saving.load_model(path)
        np.testing.assert_array_equal(loaded.embed(xt), model.embed(xt))
        assert loaded.geometry == model.geometry and type(loaded.loss) is type(model.loss)
    np.save(tmp_path / "x.npy", x[:60])
    np.save(tmp_path / "y.npy", y[:60])
    np.save(tmp_path / "e.npy", ball[0].embed(x[:60]))
    out = load_on_other_backend(str(tmp_path / "m1.keras"), OTHER, """
        import numpy as np, keras
        import zoo.models.embedding_model  # registers EmbeddingModel (until zoo.models exports it)
        d = os.path.dirname(PATH)
        x, y = np.load(os.path.join(d, "x.npy")), np.load(os.path.join(d, "y.npy"))
        model = keras.saving.load_model(PATH)
        err = np.abs(model.embed(x) - np.load(os.path.join(d, "e.npy"))).max()
        assert err < 1e-4, err
        model.compile()
        loss = model.fit(x, y, epochs=1, p=5, seed=0, verbose=0).history["loss"][0]
        assert np.isfinite(loss), loss
        print("OK", err, model.evaluate_retrieval(x, y, ks=(1,))["recall@1"])
    """)
    assert "OK" in out


def test_clear_errors(trained, digits):
    x, y, xt, yt = digits
    with pytest.raises(ValueError, match="space"):
        EmbeddingModel("conv4", space="hyperbolic", **SMALL)
    for c in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="`c`"):
            EmbeddingModel("conv4", space="poincare", c=c, **SMALL)
    with pytest.raises(ValueError, match="only applies to space='poincare'"):
        EmbeddingModel("conv4", space="l2", c=1.0, **SMALL)
    with pytest.raises(ValueError, match="distance"):
        EmbeddingModel("conv4", space="poincare", distance="cosine", **SMALL)
    with pytest.raises(ValueError, match="num_classes"):
        EmbeddingModel("conv4", class_coef=1.0, **SMALL)
    with pytest.raises(ValueError, match="loss"):
        EmbeddingModel("conv4", loss="arcface", **SMALL)
    model = trained[0]
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((xt, yt)).batch(20)
    with pytest.raises(TypeError, match="query_labels"):
        model.evaluate_retrieval(xt, ds, x, y)
    with pytest.raises(ValueError, match="gallery_labels"):
        model.evaluate_retrieval(xt, yt, x)
    with pytest.raises(ValueError, match="embeddings and must be"):
        model.retrieve(np.zeros((3, 5), "float32"), x, k=2)
    with pytest.raises(ValueError, match="`k`"):
        model.retrieve(xt, xt[:3], k=4)
    with pytest.raises(ValueError, match="batch_size"):
        model.fit(x, y, batch_size=32)
    with pytest.raises(ValueError, match=r"in \[0, num_classes\)"):
        model.fit(x, y + 10)                                         # the class term needs ids < num_classes
    with pytest.raises(ValueError, match="p = 11"):
        model.fit(x, y, p=11)
    fresh = EmbeddingModel("conv4", **SMALL)
    with pytest.raises(ValueError, match="num_classes"):
        fresh.compile()                                              # "exp" without K before any fit


def test_maxout_head_option_and_round_trip(digits, tmp_path):
    """maxout_pool = k: BatchNorm -> MaxoutDense(d, k) between the backbone and the activation (the
    exponential-triplet reference's head); off (0) leaves the model as before."""
    from zoo.layers.maxout_dense import MaxoutDense

    _, _, xt, _ = digits
    plain = EmbeddingModel("conv4", space="unit_ball", activation="tanh", num_classes=10, **SMALL)
    assert plain.maxout is None and plain.get_config()["maxout_pool"] == 0
    keras.utils.set_random_seed(2)
    model = EmbeddingModel("conv4", space="unit_ball", activation="tanh", num_classes=10, maxout_pool=4, **SMALL)
    assert isinstance(model.maxout, MaxoutDense) and model.maxout.kernel.shape == (8, 32)
    assert model.count_params() == plain.count_params() + 8 * 32 + 32 + 4 * 8
    feats = model.features(xt[:5])
    want = np.tanh(np.asarray(keras.ops.convert_to_numpy(model.maxout(model.maxout_bn(feats)))))
    want = want * np.minimum(1.0, 1.0 / np.linalg.norm(want, axis=1, keepdims=True))     # the unit ball
    np.testing.assert_allclose(model.embed(xt[:5]), want, rtol=1e-5, atol=1e-5)
    # (training with the head: tests/recipes/test_metric_learning.py::test_filter_and_maxout_flags)
    path = str(tmp_path / "maxout.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert loaded.maxout_pool == 4
    np.testing.assert_allclose(loaded.embed(xt), model.embed(xt), rtol=1e-6, atol=1e-6)
    with pytest.raises(ValueError, match="maxout_pool"):
        EmbeddingModel("conv4", maxout_pool=-1, **SMALL)
