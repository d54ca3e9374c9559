"""zoo.models.ProtoNet: episodic training, predict_episode from any support set, evaluation, saving, errors.

Real data: scikit-learn digits (8x8 uint8 in 0..255), classes 0-4 to train, 5-9 to test; conv4 built for 16x16
(the preprocessing upsamples), embedding_dim 16.
"""

import keras
import numpy as np
import pytest

import zoo
from tests.helpers import load_on_other_backend, other_backends
from zoo.layers import PrototypicalHead
from zoo.models.protonet import ProtoNet

SHAPE = dict(input_shape=(8, 8), image_size=16, embedding_dim=16)


@pytest.fixture(scope="module")
def digits():
    (x, y), (xt, yt) = zoo.data.digits()
    return (x[y < 5], y[y < 5]), (xt[yt >= 5], yt[yt >= 5])


@pytest.fixture(scope="module")
def trained(digits):
    """A 1-shot hyperbolic ProtoNet with a trainable c, a few episodes of training on digits 0-4."""
    (x, y), _ = digits
    keras.utils.set_random_seed(0)
    model = ProtoNet("conv4", geometry="poincare", c=0.05, train_c=True, shot=1, query=5, **SHAPE)
    model.compile()
    history = model.fit(x, y, way=5, episodes_per_epoch=8, epochs=2, verbose=0)
    return model, history


@pytest.fixture(scope="module")
def euclidean():
    keras.utils.set_random_seed(1)
    return ProtoNet("conv4", geometry="euclidean", shot=2, query=3, normalize=None, **SHAPE)


def one_episode(model, source, way, shot=None, query=None, seed=3):
    ds = model.episodes(source, way=way, episodes=1, seed=seed, shot=shot, query=query, resample=False)
    return next(iter(ds.as_numpy_iterator()))


def test_fit_trains_on_raw_digits_episodes_and_shares_one_ball(trained):
    model, history = trained
    loss = history.history["loss"]
    assert np.isfinite(loss).all() and loss[-1] < loss[0]
    assert model.preprocessor.is_adapted  # statistics measured from the raw training images
    # One curvature: the head reads the (trained) c of the ToPoincare layer.
    assert model.head.ball_owner() is model.to_poincare
    assert model.curvature != pytest.approx(0.05)
    points = model.embed(np.zeros((2, 8, 8), np.uint8))
    assert np.all(model.curvature * np.sum(points ** 2, axis=-1) < 1.0)


@pytest.mark.parametrize("which", ["poincare", "euclidean"])
def test_predict_episode_equals_the_episodic_output(trained, euclidean, digits, which):
    model = trained[0] if which == "poincare" else euclidean
    way, shot = 3, model.shot
    x, y = one_episode(model, digits[1], way)
    assert x.min() >= 0 and x.max() > 1  # raw pixels, as the model takes
    logits = model.predict_on_batch(x)  # the model on the episode batch (shot-major)
    support_labels = np.tile(np.arange(way), shot)
    scores = model.predict_episode(x[:shot * way], support_labels, x[shot * way:])
    assert scores.shape == logits.shape == (model.query * way, way)
    np.testing.assert_allclose(scores, logits, rtol=1e-5, atol=1e-5)


def test_predict_episode_any_shot_equals_the_head_on_the_same_points(trained, digits):
    """A 1-shot-trained hyperbolic model scores a 2-shot episode as a 2-shot head on the same ball would."""
    model, _ = trained
    x, _ = one_episode(model, digits[1], way=3, shot=2, query=3)
    head = PrototypicalHead(shot=2, query=3, geometry="poincare", c=model.curvature)
    expected = keras.ops.convert_to_numpy(head(model.embed(x)))
    scores = model.predict_episode(x[:6], np.tile(np.arange(3), 2), x[6:])
    np.testing.assert_allclose(scores, expected, rtol=1e-5, atol=1e-5)


def test_columns_follow_the_sorted_support_labels(trained, digits):
    model, _ = trained
    x, _ = one_episode(model, digits[1], way=3)
    support, queries = x[:3], x[3:]
    base = model.predict_episode(support, [0, 1, 2], queries)
    names = np.array([7, 3, 12])  # class j of the episode is called names[j]
    order = np.array([2, 0, 1])  # and the support set comes in another order
    scores = model.predict_episode(support[order], names[order], queries)
    np.testing.assert_allclose(scores, base[:, np.argsort(names)], rtol=1e-6, atol=1e-6)  # columns 3, 7, 12


def test_five_shot_evaluation_of_a_one_shot_model(trained, digits):
    model, _ = trained
    one = model.evaluate_episodes(digits[1], way=5, shot=1, query=5, episodes=10, seed=1)
    five = model.evaluate_episodes(digits[1], way=5, shot=5, query=5, episodes=10, seed=1)
    assert one["n"] == five["n"] == 10
    assert 0 < five["ci95"] < 0.2
    # Unseen digits 5-9, 5-way (chance 20%): more shots give better prototypes.
    assert five["mean"] > 0.5 and five["mean"] > one["mean"], (one["mean"], five["mean"])


def test_keras_round_trip_same_backend_and_another(trained, digits, tmp_path):
    model, _ = trained
    x, _ = one_episode(model, digits[1], way=4, shot=2, query=2)
    support, labels, queries = x[:8], np.tile([5, 9, 6, 8], 2), x[8:]
    expected = model.predict_episode(support, labels, queries)
    path = str(tmp_path / "protonet.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, ProtoNet) and loaded.head.ball_owner() is loaded.to_poincare
    assert loaded.curvature == pytest.approx(model.curvature, rel=1e-7)
    np.testing.assert_array_equal(loaded.predict_episode(support, labels, queries), expected)
    np.testing.assert_array_equal(loaded.predict_on_batch(x[:12]), model.predict_on_batch(x[:12]))

    np.savez(tmp_path / "episode.npz", support=support, labels=labels, queries=queries)
    backend = other_backends()[0]
    load_on_other_backend(path, backend, f"""
        import numpy as np, keras
        import zoo.models.protonet
        data = np.load({str(tmp_path / "episode.npz")!r})
        model = keras.saving.load_model(PATH, compile=False)
        scores = model.predict_episode(data["support"], data["labels"], data["queries"])
        np.savez({str(tmp_path / "other.npz")!r}, scores=scores, points=model.embed(data["queries"]))
    """)
    other = np.load(tmp_path / "other.npz")
    # The embeddings agree to float32 rounding of two backends' convolutions; the scores, computed from them
    # by the closed-form distance ||q||^2 + ||p||^2 - 2<q, p>, lose a few more digits for close pairs.
    np.testing.assert_allclose(other["points"], model.embed(queries), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(other["scores"], expected, rtol=1e-4, atol=1e-4)


def test_clear_errors(euclidean, digits):
    model = euclidean
    x = digits[1][0][:6]
    with pytest.raises(ValueError, match="way >= 2"):
        model.predict_episode(x[:3], [4, 4, 4], x[3:])
    with pytest.raises(ValueError, match="query_images"):
        model.predict_episode(x[:4], [0, 1, 0, 1], x[:0])
    with pytest.raises(ValueError, match="support_labels"):
        model.predict_episode(x[:4], [0, 1, 0], x[4:])
    with pytest.raises(ValueError, match="whole numbers"):
        model.predict_episode(x[:2], [0.5, 1.0], x[4:])
    tf = pytest.importorskip("tensorflow")
    with pytest.raises(TypeError, match="support_images"):
        model.predict_episode(tf.data.Dataset.from_tensor_slices(x[:4]).batch(2), [0, 1, 0, 1], x[4:])
    with pytest.raises(TypeError, match="query_images"):
        model.predict_episode(x[:4], [0, 1, 0, 1], tf.data.Dataset.from_tensor_slices(x[4:]).batch(2))
    with pytest.raises(ValueError, match="pass their labels `y`"):
        model.fit(x)
    with pytest.raises(TypeError, match="predict_episode"):
        model.predict(x)
    with pytest.raises(TypeError, match="evaluate_episodes"):
        model.evaluate(x, np.zeros(len(x)))
    with pytest.raises(ValueError, match="`c`"):
        ProtoNet("conv4", geometry="euclidean", c=0.1, **SHAPE)
    with pytest.raises(ValueError, match="shot"):
        ProtoNet("conv4", shot=0, **SHAPE)
    with pytest.raises(ValueError, match="way"):
        model.evaluate_episodes(digits[1], way=1, episodes=2)
