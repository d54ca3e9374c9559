"""zoo.data.long_tail (exponential profile), long_tail_splits, zoo.metrics.long_tail_accuracy,
zoo.data.mixup (packed labels) and a mixup + long-tail-loss training smoke on digits."""

import sys

import keras
import numpy as np
import pytest

import zoo.data
from tests.helpers import to_numpy
from zoo.layers import PrototypeHead
from zoo.losses import PrototypeRegressionLoss
from zoo.metrics import long_tail_accuracy


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_PROTOTYPES_DIR", str(tmp_path / "cache"))


def test_counts_reproduce_cifar_lt():
    assert zoo.data.long_tail_counts(5000, 10, 0.01) == [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]
    c100 = zoo.data.long_tail_counts(500, 100, 0.01)
    assert c100[0] == 500 and c100[-1] == 5 and sum(c100) == 10847
    assert zoo.data.long_tail_counts(7, 3, 1.0) == [7, 7, 7]


def test_long_tail_subset_of_digits():
    (x, y), _ = zoo.data.digits()
    n_max = int(np.bincount(y).min())
    xs, ys = zoo.data.long_tail((x, y), imbalance=0.1, seed=0)
    assert np.bincount(ys).tolist() == zoo.data.long_tail_counts(n_max, 10, 0.1)
    assert xs.shape[1:] == x.shape[1:] and len(xs) == len(ys)
    # every kept image is an image of its class in the original set, no duplicates
    pos = {im.tobytes(): lab for im, lab in zip(x, y)}
    assert all(pos[im.tobytes()] == lab for im, lab in zip(xs, ys))
    xs2, ys2 = zoo.data.long_tail((x, y), imbalance=0.1, seed=0)
    np.testing.assert_array_equal(xs, xs2)
    xs3, _ = zoo.data.long_tail((x, y), imbalance=0.1, seed=1)
    assert not np.array_equal(xs, xs3)


def test_long_tail_bad_input():
    (x, y), _ = zoo.data.digits()
    for bad in (0.0, -0.1, 1.5, "0.01"):
        with pytest.raises(ValueError, match="imbalance"):
            zoo.data.long_tail((x, y), imbalance=bad)
    with pytest.raises(ValueError, match="pass a smaller n_max"):
        zoo.data.long_tail((x, y), n_max=10_000)
    with pytest.raises(ValueError, match="x has"):
        zoo.data.long_tail((x[:5], y))
    with pytest.raises(ValueError, match="integers"):
        zoo.data.long_tail((x, y.astype(float)))


def test_splits_and_head_medium_tail_accuracy():
    s10 = zoo.data.long_tail_splits(10)
    assert [v.tolist() for v in s10.values()] == [[0, 1, 2], [3, 4, 5, 6], [7, 8, 9]]
    s100 = zoo.data.long_tail_splits(100)
    assert (len(s100["head"]), len(s100["medium"]), len(s100["tail"])) == (36, 35, 29)
    assert [len(v) for v in zoo.data.long_tail_splits(6).values()] == [2, 2, 2]
    y = np.repeat(np.arange(10), 4)
    pred = y.copy()
    pred[y >= 7] = 0  # tail all wrong
    pred[(y == 3)] = 9  # one medium class wrong
    out = long_tail_accuracy(y, np.eye(10)[pred])
    assert out["accuracy"] == pytest.approx(1 - 16 / 40)
    assert (out["head_accuracy"], out["medium_accuracy"], out["tail_accuracy"]) == (1.0, 0.75, 0.0)
    assert out["per_class_accuracy"][3] == 0.0 and len(out["per_class_accuracy"]) == 10
    assert long_tail_accuracy(y, pred, num_classes=10)["medium_accuracy"] == 0.75
    with pytest.raises(ValueError, match="NaN or inf"):
        long_tail_accuracy(y, np.full((40, 10), np.nan))
    with pytest.raises(ValueError, match="labels must be in"):
        long_tail_accuracy(np.r_[y[:-1], 12], np.eye(10)[pred])


def test_mixup_packs_both_label_sets_and_lambda():
    import tensorflow as tf

    n = 16
    x = np.arange(n, dtype="float32")[:, None, None, None] * np.ones((1, 2, 2, 1), "float32")
    y = np.arange(n, dtype="int32")  # unique labels: y_b identifies the partner image
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(8)
    lams = []
    mixed = zoo.data.mixup(ds, alpha=1.0, seed=3)
    for _epoch in range(2):  # two passes over the same pipeline, as two epochs of fit
        for xm, packed in mixed:
            xm, packed = xm.numpy(), packed.numpy()
            assert packed.shape == (8, 3)
            lam = packed[0, 2]
            assert 0.0 <= lam <= 1.0 and np.all(packed[:, 2] == lam)
            assert sorted(packed[:, 1].tolist()) == sorted(packed[:, 0].tolist())  # a permutation of the batch
            np.testing.assert_allclose(xm[:, 0, 0, 0], lam * packed[:, 0] + (1 - lam) * packed[:, 1], atol=1e-5)
            lams.append(lam)
    assert len(set(lams)) == 4  # new draws every batch and every epoch
    again = [p.numpy()[0, 2] for _, p in zoo.data.mixup(ds, alpha=1.0, seed=3)]
    assert again == lams[:2]  # reproducible from the seed
    (xi, ya), packed = next(iter(zoo.data.mixup(ds, alpha=0.0, label_input=True)))
    assert np.all(packed.numpy()[:, 2] == 1.0) and np.array_equal(ya.numpy(), packed.numpy()[:, 0])
    np.testing.assert_allclose(xi.numpy(), x[:8])
    with pytest.raises(ValueError, match="alpha"):
        zoo.data.mixup(ds, alpha=-1.0)
    np.testing.assert_allclose(zoo.data.pack_mixup_labels([1, 2], [2, 1], 0.25),
                               [[1, 2, 0.25], [2, 1, 0.25]])
    assert sys.modules["zoo.data.mixup"].mixup is zoo.data.mixup  # the module stays reachable


def test_mixup_long_tail_training_smoke():
    (x, y), _ = zoo.data.digits()
    xs, ys = zoo.data.long_tail((x, y), imbalance=0.1)
    ds = zoo.data.make_dataset(xs, ys, batch_size=128, shuffle=True, normalize=zoo.data.DIGITS_MEAN_STD)
    ds = zoo.data.mixup(ds, alpha=1.0, seed=0, label_input=True)
    keras.utils.set_random_seed(0)
    img = keras.Input((8, 8, 1))
    lab = keras.Input((), dtype="int32")
    h = keras.layers.Dense(64, activation="relu")(keras.layers.Flatten()(img))
    head = PrototypeHead(10, prototypes="etf")
    model = keras.Model([img, lab], head(keras.layers.Dense(9)(h), labels=lab))
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss=PrototypeRegressionLoss(form="long_tail"))
    means0 = to_numpy(head.class_means).copy()
    hist = model.fit(ds, epochs=2, verbose=0)
    loss = hist.history["loss"]
    assert np.all(np.isfinite(loss)) and loss[-1] < loss[0], loss
    assert not np.allclose(to_numpy(head.class_means), means0)


def test_bad_seed_is_named():
    """Issue #13 item 21: a negative or fractional seed names `seed`."""
    x, y = np.zeros((20, 2, 2), np.uint8), np.arange(20) % 2
    with pytest.raises(ValueError, match="long_tail: `seed` must be an integer"):
        zoo.data.long_tail((x, y), seed=-1)
    with pytest.raises(ValueError, match="long_tail: `n_max` must be an integer"):   # was truncated to 1
        zoo.data.long_tail((x, y), n_max=1.5)
    ds = zoo.data.make_dataset(x, y, batch_size=4)
    with pytest.raises(ValueError, match="mixup: `seed` must be an integer"):
        zoo.data.mixup(ds, seed=-1)
    with pytest.raises(ValueError, match="mixup: `seed` must be an integer"):
        zoo.data.mixup(ds, seed=0.5)


def test_mixup_of_raw_pixels_stays_in_their_range():
    """Mixing 255 with 255 must give 255, not 255 + float32 rounding (the task models assert raw pixels <= 255)."""
    import tensorflow as tf

    from zoo.data.mixup import mixup

    x = np.full((64, 4, 4), 255, np.uint8)
    x[::2] = 0
    ds = tf.data.Dataset.from_tensor_slices((x, np.arange(64) % 4)).batch(64)
    for seed in range(20):
        mixed, _ = next(iter(mixup(ds, alpha=1.0, seed=seed)))
        mixed = mixed.numpy()
        assert mixed.min() >= 0.0 and mixed.max() <= 255.0
        full = np.flatnonzero((x.reshape(64, -1) == 255).all(axis=1))
        assert set(np.unique(mixed[full][mixed[full] > 254])) <= {255.0}
