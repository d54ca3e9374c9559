"""PK batches: layout (P groups of K same-class samples, P distinct classes), no repeats inside an epoch,
reshuffled every epoch, `model.fit` on the current backend, bad input."""

import keras
import numpy as np
import pytest

import zoo.data
import zoo.losses


def labels(n_per=7, classes=5):
    return np.repeat(np.arange(classes), n_per)


def epoch(ds):
    return [(np.asarray(x), np.asarray(y)) for x, y in ds.as_numpy_iterator()]


def test_layout_no_repeats_and_reshuffled_every_epoch():
    y = labels()
    x = np.arange(len(y), dtype=np.uint8)[:, None, None].repeat(2, 1).repeat(2, 2)  # pixel = index
    ds = zoo.data.pk_batches(x, y, p=3, k=2, seed=1)
    seen = []
    for _ in range(2):
        batches = epoch(ds)
        assert len(batches) == 5   # 5 classes x 3 groups of 2 = 15 groups -> 5 batches of 3
        idx = np.concatenate([np.rint(b[0][:, 0, 0, 0] * 255).astype(int) for b in batches])
        assert len(set(idx)) == len(idx)                       # no sample twice in an epoch
        for bx, by in batches:
            assert bx.shape == (6, 2, 2, 1) and bx.dtype == np.float32
            groups = by.reshape(3, 2)
            assert (groups == groups[:, :1]).all()              # K consecutive same-class samples
            assert len(set(groups[:, 0])) == 3                  # P distinct classes
            np.testing.assert_array_equal(y[np.rint(bx[:, 0, 0, 0] * 255).astype(int)], by)
        seen.append(idx)
    assert not np.array_equal(seen[0], seen[1])


def test_fit_on_pk_batches():
    (xtr, ytr), _ = zoo.data.digits()
    ds = zoo.data.pk_batches(xtr[:300], ytr[:300], p=4, k=3, normalize=zoo.data.DIGITS_MEAN_STD)
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(8)])


    model.compile(optimizer="adam", loss=zoo.losses.TripletLoss(margin=0.5))
    assert int(ds.cardinality()) == sum(c // 3 for c in np.bincount(ytr[:300])) // 4
    hist = model.fit(ds, epochs=3, shuffle=False, verbose=0)
    assert len(hist.history["loss"]) == 3 and all(np.isfinite(hist.history["loss"]))


def test_bad_input():
    y = labels()
    x = np.zeros((len(y), 2, 2), np.uint8)
    with pytest.raises(ValueError, match="`k` must be an integer >= 2"):
        zoo.data.pk_batches(x, y, p=2, k=1)
    with pytest.raises(ValueError, match="`p`"):
        zoo.data.pk_batches(x, y, p=0, k=2)
    with pytest.raises(ValueError, match="only 5 classes"):
        zoo.data.pk_batches(x, y, p=6, k=2)
    with pytest.raises(ValueError, match="y must be integer"):
        zoo.data.pk_batches(x, np.eye(5)[y], p=2, k=2)
    with pytest.raises(ValueError, match="labels"):
        zoo.data.pk_batches(x, y[:-1], p=2, k=2)


def test_float_range_non_finite_raw_and_seed():
    """Issue #13 items 13 and 21: 0..255 floats and NaN refused, raw pixel values kept, `seed` named."""
    y = labels()
    x = np.arange(len(y), dtype=np.uint8)[:, None, None].repeat(2, 1).repeat(2, 2)  # pixel = index
    with pytest.raises(ValueError, match=r"pk_batches: `x`.*\[0, 1\].*divide by 255"):
        zoo.data.pk_batches(x.astype(np.float32), y, p=2, k=2)
    bad = (x / 255.0).astype(np.float32)
    bad[3, 1, 1] = np.nan
    with pytest.raises(ValueError, match="pk_batches: `x`.*NaN"):
        zoo.data.pk_batches(bad, y, p=2, k=2)
    with pytest.raises(ValueError, match="pk_batches: `seed`"):
        zoo.data.pk_batches(x, y, p=2, k=2, seed=-1)
    with pytest.raises(ValueError, match="`normalize`"):
        zoo.data.pk_batches(x, y, p=2, k=2, raw=True, normalize=(0.5, 0.5))
    bx, by = epoch(zoo.data.pk_batches(x, y, p=3, k=2, seed=1, raw=True))[0]
    assert bx.dtype == np.float32 and bx.max() > 1.0
    np.testing.assert_array_equal(y[bx[:, 0, 0, 0].astype(int)], by)   # pixel values are the raw indices


def test_process_slices_are_the_global_batch():
    """num_processes = n: every process draws the global plan of `seed` and yields its contiguous slice of whole
    classes; the slices in process order are the single-process batches, epoch after epoch."""
    y = labels(n_per=6, classes=8)
    x = np.arange(len(y), dtype=np.uint8)[:, None, None].repeat(2, 1).repeat(2, 2)  # pixel = index
    whole = zoo.data.pk_batches(x, y, p=4, k=3, seed=5)
    parts = [zoo.data.pk_batches(x, y, p=4, k=3, seed=5, num_processes=2, process_index=i) for i in range(2)]
    assert parts[0].element_spec[0].shape.as_list() == [None, 2, 2, 1]   # no static batch: Keras won't re-shard
    assert int(parts[1].cardinality()) == int(whole.cardinality()) == 4
    for _ in range(2):                                                      # epoch 2: a new plan, still equal
        ref, got = epoch(whole), [epoch(ds) for ds in parts]
        for b, (rx, ry) in enumerate(ref):
            for i in range(2):
                gx, gy = got[i][b]
                assert gx.shape == (6, 2, 2, 1)
                assert len(set(gy)) == 2 and (gy.reshape(2, 3) == gy.reshape(2, 3)[:, :1]).all()  # whole classes
            np.testing.assert_array_equal(np.concatenate([got[0][b][0], got[1][b][0]]), rx)
            np.testing.assert_array_equal(np.concatenate([got[0][b][1], got[1][b][1]]), ry)


def test_process_slicing_bad_input():
    y = labels()
    x = np.zeros((len(y), 2, 2), np.uint8)
    with pytest.raises(ValueError, match=r"pk_batches: p = 3 .* divisible by num_processes = 2"):
        zoo.data.pk_batches(x, y, p=3, k=2, num_processes=2)
    with pytest.raises(ValueError, match="pk_batches: `process_index` must be an integer in \\[0, 1\\]"):
        zoo.data.pk_batches(x, y, p=2, k=2, num_processes=2, process_index=2)
    with pytest.raises(ValueError, match="pk_batches: `num_processes`"):
        zoo.data.pk_batches(x, y, p=2, k=2, num_processes=0)


def test_process_slicing_refuses_keras_auto_sharding(monkeypatch):
    """A sliced pipeline under a multi-process distribution that auto-shards datasets itself is refused."""

    class FakeDistribution:
        num_processes = 2
        auto_shard_dataset = True

    fake = FakeDistribution()
    monkeypatch.setattr(keras.distribution, "distribution", lambda: fake)
    y = labels()
    x = np.zeros((len(y), 2, 2), np.uint8)
    with pytest.raises(ValueError, match="auto-shards tf.data datasets"):
        zoo.data.pk_batches(x, y, p=2, k=2, num_processes=2, process_index=1)
    with pytest.raises(ValueError, match="runs on 2 processes; pass num_processes=2"):
        zoo.data.pk_batches(x, y, p=4, k=2, num_processes=4)
    fake.auto_shard_dataset = False
    zoo.data.pk_batches(x, y, p=2, k=2, num_processes=2, process_index=1)
    zoo.data.pk_batches(x, y, p=2, k=2)                     # the global pipeline: Keras shards it


def test_plans_seeded_per_pass():
    """Pass e draws from [seed, e]: an iterator abandoned after one batch (Keras' build-time peek, with prefetching)
    does not shift the next pass, and two datasets with one seed give the same sequence."""
    y = labels()
    x = np.arange(len(y), dtype=np.uint8)[:, None, None].repeat(2, 1).repeat(2, 2)
    peeked = zoo.data.pk_batches(x, y, p=3, k=2, seed=7)
    next(iter(peeked))
    fresh = zoo.data.pk_batches(x, y, p=3, k=2, seed=7)
    first = epoch(fresh)
    second = epoch(fresh)
    for a, b in zip(epoch(peeked), second):
        np.testing.assert_array_equal(a[0], b[0])
    assert not all(np.array_equal(a[1], b[1]) for a, b in zip(first, second))
