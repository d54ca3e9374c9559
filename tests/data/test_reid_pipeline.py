"""Identity batches (`identity_plan`), the re-ID tf.data pipeline (`reid_dataset`: shapes, dtypes, ranges, labels,
cardinality, per-epoch plans, process slices of one global batch, evaluation order) and `random_erasing`
(probability, area/aspect ranges and the distribution of Zhong et al.'s loop, fills), plus `fit` on the backend."""

import math
import random

import keras
import numpy as np
import pytest

from tests.data import reid_fixtures as fx
from zoo.data.random_erasing import BOT_ERASING_FILL, IMAGENET_MEAN_255, random_erasing
from zoo.data.reid_pipeline import identity_plan, identity_steps, reid_dataset

PIDS = np.array([0] * 6 + [1] * 3 + [2] * 1 + [3] * 4 + [4] * 5 + [5] * 2 + [6] * 4)   # 25 images, 7 ids


def test_identity_plan_semantics():
    p, k = 3, 2
    batches = identity_plan(PIDS, p, k, np.random.default_rng(0))
    groups = sum(max(n, k) // k for n in np.bincount(PIDS))     # 3+1+1+2+2+1+2 = 12 groups
    assert 1 <= len(batches) <= groups // p
    seen = []
    for b in batches:
        assert b.shape == (p * k,) and b.dtype == np.int64
        g = PIDS[b].reshape(p, k)
        assert (g == g[:, :1]).all() and len(set(g[:, 0])) == p   # P distinct ids, K consecutive images each
        seen.append(b)
    flat = np.concatenate(seen)
    big = np.isin(PIDS[flat], [0, 1, 3, 4, 5, 6])
    assert len(set(flat[big])) == big.sum()                       # ids with >= K images: no index twice
    # id 2 has one image: drawn with replacement -> its group repeats that index
    plans = [identity_plan(PIDS, p, k, np.random.default_rng(s)) for s in range(20)]
    two = [b.reshape(p, k)[i] for pl in plans for b in pl for i in range(p) if PIDS[b[i * k]] == 2]
    assert two and all((g == 9).all() for g in two)
    again = identity_plan(PIDS, p, k, np.random.default_rng(0))
    assert all(np.array_equal(a, b) for a, b in zip(batches, again)) and len(again) == len(batches)
    assert not all(np.array_equal(a, b) for a, b in zip(batches, plans[1]))
    assert identity_steps(PIDS, p, k) == groups // p == 4
    assert identity_plan(PIDS, 8, k, np.random.default_rng(0)) == []


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return fx.indexed_pngs(str(tmp_path_factory.mktemp("reid_png")), len(PIDS))


def index_of(images):
    """Pixel (i % 256, i // 256, 7) -> i for un-augmented images."""
    return np.rint(images[:, 0, 0, 0] + 256 * images[:, 0, 0, 1]).astype(int)


def test_training_batches(files):
    ds = reid_dataset(files, PIDS, training=True, image_size=(8, 4), p=3, k=2, flip=False, pad=0, erasing=0.0)
    assert int(ds.cardinality()) == identity_steps(PIDS, 3, 2) == 4
    epochs = [list(ds.as_numpy_iterator()) for _ in range(2)]
    for batches in epochs:
        assert len(batches) == 4
        for x, y in batches:
            assert x.shape == (6, 8, 4, 3) and x.dtype == np.float32 and y.dtype == np.int32
            assert x.min() >= 0 and x.max() <= 255
            np.testing.assert_array_equal(PIDS[index_of(x)], y)   # labels are the pids of the files read
            g = y.reshape(3, 2)
            assert (g == g[:, :1]).all() and len(set(g[:, 0])) == 3
    assert not all(np.array_equal(a[1], b[1]) for a, b in zip(*epochs))   # a new plan every epoch
    # resized when the file has another size; values stay raw 0..255
    big = reid_dataset(files, PIDS, training=True, image_size=(16, 8), p=3, k=2, pad=2, erasing=1.0, seed=1)
    x, _ = next(iter(big.as_numpy_iterator()))
    assert x.shape == (6, 16, 8, 3) and 0 <= x.min() and x.max() <= 255 and x.max() > 100   # erasing fill ~124


def test_process_slices_form_the_global_batch(files):
    kw = dict(training=True, image_size=(8, 4), p=4, k=2, seed=5, pad=2, erasing=0.5)
    full = list(reid_dataset(files, PIDS, **kw).as_numpy_iterator())
    parts = [list(reid_dataset(files, PIDS, num_processes=2, process_index=i, **kw).as_numpy_iterator())
             for i in range(2)]
    assert len(full) == len(parts[0]) == len(parts[1]) == identity_steps(PIDS, 4, 2)
    for (x, y), (x0, y0), (x1, y1) in zip(full, *parts):
        assert x0.shape == (4, 8, 4, 3)
        np.testing.assert_array_equal(np.concatenate([y0, y1]), y)
        np.testing.assert_array_equal(np.concatenate([x0, x1]), x)     # same augmentation, pixel for pixel
    cached = list(reid_dataset(files, PIDS, cache=True, **kw).as_numpy_iterator())
    for (x, y), (xc, yc) in zip(full, cached):
        np.testing.assert_array_equal(x, xc)
        np.testing.assert_array_equal(y, yc)
    with pytest.raises(ValueError, match="divisible by num_processes"):
        reid_dataset(files, PIDS, training=True, p=3, k=2, num_processes=2)


def test_evaluation_batches_and_bad_input(files):
    ds = reid_dataset(files, training=False, image_size=(8, 4), batch_size=10)
    batches = list(ds.as_numpy_iterator())
    assert [len(b) for b in batches] == [10, 10, 5]
    np.testing.assert_array_equal(index_of(np.concatenate(batches)), np.arange(len(files)))   # ordered, untouched
    with pytest.raises(ValueError, match="only 7 identities"):
        reid_dataset(files, PIDS, training=True, p=8, k=2)
    with pytest.raises(ValueError, match="needs `pids`"):
        reid_dataset(files, None, training=True)
    with pytest.raises(ValueError, match="`paths`"):
        reid_dataset([], training=False)
    with pytest.raises(ValueError, match="`erasing`"):
        reid_dataset(files, PIDS, training=True, p=2, erasing=1.5)
    with pytest.raises(ValueError, match="`fill`"):
        reid_dataset(files, PIDS, training=True, p=2, erasing_options={"fill": "grey"})


def reference_boxes(n, h, w, rng, p=0.5, sl=0.02, sh=0.4, r1=0.3):
    """Zhong et al.'s loop (BoT's transforms.py), transcribed: (erased?, he, we) per image."""
    out = []
    for _ in range(n):
        if rng.uniform(0, 1) >= p:
            out.append((False, 0, 0))
            continue
        for _ in range(100):
            target = rng.uniform(sl, sh) * h * w
            aspect = rng.uniform(r1, 1 / r1)
            he, we = int(round(math.sqrt(target * aspect))), int(round(math.sqrt(target / aspect)))
            if we < w and he < h:
                out.append((True, he, we))
                break
        else:
            out.append((False, 0, 0))
    return out


def test_random_erasing_statistics_match_the_reference():
    import tensorflow as tf

    n, h, w = 3000, 32, 16
    x = random_erasing(tf.zeros([n, h, w, 3]), probability=0.5, aspect=(0.3, 1 / 0.3), fill=255.0, seed=7).numpy()
    erased = x[..., 0] > 0
    hit = erased.any(axis=(1, 2))
    rows, cols = erased.any(axis=2).sum(1)[hit], erased.any(axis=1).sum(1)[hit]
    assert (erased[hit].sum((1, 2)) == rows * cols).all()          # one axis-aligned rectangle
    ref = reference_boxes(n, h, w, random.Random(0))
    ref_hit = np.array([r[0] for r in ref])
    assert abs(hit.mean() - 0.5) < 0.03 and abs(hit.mean() - ref_hit.mean()) < 0.04
    rh, rw = np.array([r[1] for r in ref if r[0]]), np.array([r[2] for r in ref if r[0]])
    area, ref_area = rows * cols / (h * w), rh * rw / (h * w)
    assert area.min() >= 0.01 and area.max() <= 0.45                # 0.02..0.4 up to the rounding of H_e, W_e
    assert (rows / cols).min() >= 0.25 and (rows / cols).max() <= 4.0
    assert abs(area.mean() - ref_area.mean()) < 0.01                # same accepted-area distribution
    assert abs(np.mean(rows / cols) - np.mean(rh / rw)) < 0.08     # uniform (not log-uniform) aspect
    assert (rows < h).all() and (cols < w).all()
    # positions are uniform over every valid offset: the erased pixels cover the whole image over many draws
    assert erased.any(axis=0).all()
    again = random_erasing(tf.zeros([n, h, w, 3]), probability=0.5, aspect=(0.3, 1 / 0.3), fill=255.0, seed=7)
    np.testing.assert_array_equal(x, again.numpy())


def test_random_erasing_fills_and_checks():
    import tensorflow as tf

    img = tf.fill([64, 32, 3], 9.0)
    for fill, value in (("mean", IMAGENET_MEAN_255), ("bot", BOT_ERASING_FILL), ((1.0, 2.0, 3.0), (1, 2, 3))):
        out = random_erasing(img, probability=1.0, fill=fill, seed=3).numpy()
        assert out.shape == (64, 32, 3)
        changed = out[..., 0] != 9.0
        assert changed.any()
        np.testing.assert_allclose(out[changed], np.broadcast_to(value, out[changed].shape), rtol=1e-6)
    np.testing.assert_allclose(BOT_ERASING_FILL, (152.0, 142.3, 126.8), atol=0.1)
    rnd = random_erasing(img, probability=1.0, fill="random", seed=3).numpy()
    vals = rnd[rnd[..., 0] != 9.0]
    assert vals.std() > 50 and 0 <= vals.min() and vals.max() < 255
    np.testing.assert_array_equal(random_erasing(img, probability=0.0).numpy(), img.numpy())
    for kwargs, arg in (({"probability": -0.1}, "probability"), ({"area": (0.5, 0.1)}, "area"),
                        ({"aspect": (0, 2)}, "aspect"), ({"fill": (1, 2)}, "fill"), ({"max_attempts": 0}, "max_at")):
        with pytest.raises(ValueError, match=f"`{arg}"):
            random_erasing(img, **kwargs)


def test_fit_on_reid_dataset(tmp_path):
    import zoo.models

    paths = fx.indexed_pngs(str(tmp_path), 16, size=(16, 8))
    pids = np.repeat(np.arange(4), 4)
    ds = reid_dataset(paths, pids, training=True, image_size=(64, 32), p=2, k=2, pad=4, seed=0)
    model = zoo.models.ImageClassifier("lenet", num_classes=4, input_shape=(64, 32, 3),
                                       normalize=((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)))
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    hist = model.fit(ds.take(2), epochs=1, shuffle=False, verbose=0)
    assert np.isfinite(hist.history["loss"]).all()
