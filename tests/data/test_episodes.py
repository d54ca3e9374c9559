"""Few-shot episodes: the shot-major layout, distinct classes and samples, seeded per-pass plans, file-backed ==
array-backed, decoding (png/jpg, grayscale/RGB, resize), normalisation, augmentation, `model.fit` on the current
backend with a train way other than the test way, and every bad input."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo.data
from zoo.data import FewShotSplit

CLASSES, PER_CLASS = 7, 9


def indexed_split(first_label=10):
    """63 images 2x2x1: pixel (0, 0) = sample index, pixel (1, 0) = 20 * class (constant per class)."""
    y = np.repeat(np.arange(CLASSES), PER_CLASS)
    rng = np.random.default_rng(0)
    perm = rng.permutation(len(y))            # classes interleaved in the array
    y = y[perm]
    x = np.zeros((len(y), 2, 2, 1), np.uint8)
    x[:, 0, 0, 0] = np.arange(len(y))
    x[:, 1, 0, 0] = 20 * y
    return x, y + first_label


def collect(ds):
    return [(np.asarray(x), np.asarray(y)) for x, y in ds.as_numpy_iterator()]


def decode(x):
    """(sample index, class) of every row of an episode built from `indexed_split`."""
    px = np.rint(x * 255).astype(int)
    return px[:, 0, 0, 0], px[:, 1, 0, 0] // 20


@pytest.mark.parametrize("way,shot,query", [(5, 1, 3), (3, 2, 2), (7, 4, 5)])
def test_layout_classes_and_samples(way, shot, query):
    x, y = indexed_split()
    split = FewShotSplit.from_arrays(x, y)
    assert split.num_classes == CLASSES and split.class_names == tuple(str(c) for c in range(10, 17))
    np.testing.assert_array_equal(split.class_counts(), [PER_CLASS] * CLASSES)
    batches = collect(zoo.data.episodes(split, way, shot, query, episodes=6, seed=3))
    assert len(batches) == 6
    seen_orders = set()
    for bx, by in batches:
        assert bx.shape == ((shot + query) * way, 2, 2, 1) and bx.dtype == np.float32
        assert by.shape == (query * way,) and by.dtype == np.int32
        np.testing.assert_array_equal(by, np.arange(query * way) % way)     # y[i] = i % way
        idx, cls = decode(bx)
        np.testing.assert_array_equal(cls, y[idx] - 10)                      # pixel class == label of sample
        grid = cls.reshape(shot + query, way)                                # row r -> class r % way
        assert (grid == grid[:1]).all()
        order = grid[0]
        assert len(set(order)) == way and set(order) <= set(range(CLASSES))  # distinct classes of the split
        seen_orders.add(tuple(order))
        samples = idx.reshape(shot + query, way)
        for j in range(way):
            assert len(set(samples[:, j])) == shot + query                   # distinct samples per class
        support, queries = cls[: shot * way], cls[shot * way:]
        np.testing.assert_array_equal(queries, order[by])                    # query labels index the order
        np.testing.assert_array_equal(support, np.tile(order, shot))
    assert len(seen_orders) > 1                                              # classes re-drawn per episode


def test_seeded_plans_new_per_pass_and_resample_false():
    x, y = indexed_split()
    split = FewShotSplit.from_arrays(x, y)
    ds = zoo.data.episodes(split, 3, 1, 2, episodes=4, seed=5)
    twin = zoo.data.episodes(split, 3, 1, 2, episodes=4, seed=5)
    first, second = collect(ds), collect(ds)
    np.testing.assert_array_equal(np.stack([b[0] for b in first]), np.stack([b[0] for b in collect(twin)]))
    np.testing.assert_array_equal(np.stack([b[0] for b in second]), np.stack([b[0] for b in collect(twin)]))
    assert not np.array_equal(np.stack([b[0] for b in first]), np.stack([b[0] for b in second]))
    other = collect(zoo.data.episodes(split, 3, 1, 2, episodes=4, seed=6))
    assert not np.array_equal(np.stack([b[0] for b in first]), np.stack([b[0] for b in other]))
    # pass e uses episode_plan with default_rng([seed, e])
    plan = zoo.data.episode_plan(split.labels, 3, 1, 2, 4, np.random.default_rng([5, 1]))
    np.testing.assert_array_equal(np.stack([decode(b[0])[0] for b in second]), split.images[plan, 0, 0, 0])
    fixed = zoo.data.episodes(split, 3, 1, 2, episodes=4, seed=5, resample=False)
    a, b = collect(fixed), collect(fixed)
    np.testing.assert_array_equal(np.stack([e[0] for e in a]), np.stack([e[0] for e in b]))
    np.testing.assert_array_equal(np.stack([e[0] for e in a]), np.stack([e[0] for e in first]))


def test_normalize_and_cardinality():
    x, y = indexed_split()
    ds = zoo.data.episodes((x, y), 2, 1, 1, episodes=3, normalize=(0.5, 0.25))
    assert int(ds.cardinality()) == 3
    bx, _ = collect(ds)[0]
    raw = bx * 0.25 + 0.5
    np.testing.assert_allclose(raw * 255, np.rint(raw * 255), atol=1e-3)
    idx = np.rint(raw[:, 0, 0, 0] * 255).astype(int)
    np.testing.assert_allclose(bx[:, 0, 0, 0], (x[idx, 0, 0, 0] / 255.0 - 0.5) / 0.25, atol=1e-5)


def write_images(folder, images, ext="png"):
    os.makedirs(folder, exist_ok=True)
    paths = []
    for i, im in enumerate(images):
        path = os.path.join(folder, f"{i:04d}.{ext}")
        data = tf.io.encode_png(im) if ext == "png" else tf.io.encode_jpeg(im, quality=100)
        tf.io.write_file(path, data)
        paths.append(path)
    return paths


def test_file_backed_equals_array_backed(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, size=(24, 6, 5, 3), dtype=np.uint8)
    y = np.repeat(np.arange(4), 6)
    paths = write_images(str(tmp_path / "png"), x)
    files = FewShotSplit.from_files(paths, y)
    arrays = FewShotSplit.from_arrays(x, y)
    assert files.lazy and not arrays.lazy and files.image_shape == arrays.image_shape == (6, 5, 3)
    norm = ((0.4, 0.5, 0.6), (0.2, 0.3, 0.25))
    for kw in ({}, {"normalize": norm}, {"image_size": (4, 3)}):
        a = collect(zoo.data.episodes(arrays, 3, 2, 2, episodes=3, seed=2, **kw))
        f = collect(zoo.data.episodes(files, 3, 2, 2, episodes=3, seed=2, **kw))
        for (ax, ay), (fx, fy) in zip(a, f):
            np.testing.assert_array_equal(ax, fx)
            np.testing.assert_array_equal(ay, fy)
    assert a[0][0].shape == (12, 4, 3, 3)
    loaded = files.in_memory(verbose=0)
    assert not loaded.lazy and loaded.images.dtype == np.uint8
    np.testing.assert_array_equal(loaded.images, x)
    np.testing.assert_array_equal(loaded.labels, files.labels)


def test_folder_png_jpg_grayscale_rgb_resize(tmp_path):
    # class "a": grayscale png 10x12 (first image -> channels 1 by default); class "b": RGB jpg 7x7; constant
    # images per class so decoding, conversion and resizing keep a known colour.
    gray = np.full((4, 10, 12, 1), 50, np.uint8)
    rgb = np.tile(np.array([200, 100, 30], np.uint8), (4, 7, 7, 1))
    write_images(str(tmp_path / "a"), gray, "png")
    write_images(str(tmp_path / "b"), rgb, "jpg")
    (tmp_path / "b" / "notes.txt").write_text("not an image")
    split = FewShotSplit.from_folder(tmp_path, image_size=8, verbose=0)
    assert split.class_names == ("a", "b") and split.channels == 1 and split.image_size == (8, 8)
    np.testing.assert_array_equal(split.class_counts(), [4, 4])
    bx, by = collect(zoo.data.episodes(split, 2, 1, 3, episodes=1))[0]
    assert bx.shape == (8, 8, 8, 1)
    color = np.rint(bx * 255).reshape(8, -1)
    gray_b = round(0.299 * 200 + 0.587 * 100 + 0.114 * 30)          # RGB jpg converted to grayscale
    for r in range(8):
        assert np.ptp(color[r]) <= 2                                  # still constant after resize
    grid = color[:, 0].reshape(4, 2)                                  # row r -> class r % 2
    assert (np.abs(grid - grid[:1]) <= 2).all()
    np.testing.assert_allclose(sorted(grid[0]), [50, gray_b], atol=3)
    rgb_split = FewShotSplit.from_folder(tmp_path, image_size=(5, 6), channels=3, verbose=0)
    bx, _ = collect(zoo.data.episodes(rgb_split, 2, 1, 1, episodes=1))[0]
    assert bx.shape == (4, 5, 6, 3)
    px = np.rint(bx[:, 0, 0] * 255)
    for p in px:   # grayscale replicated to 3 channels, or the jpg colour (jpeg tolerance)
        assert np.allclose(p, 50, atol=1) or np.allclose(p, [200, 100, 30], atol=4)
    default = FewShotSplit.from_folder(tmp_path, verbose=0)   # size of the first image
    assert default.image_size == (10, 12)
    # A folder path is a source too: the same episodes as the split read from it.
    by_path = collect(zoo.data.episodes(str(tmp_path), 2, 1, 3, episodes=2, seed=4, image_size=8))
    by_split = collect(zoo.data.episodes(split, 2, 1, 3, episodes=2, seed=4))
    for (px_, py_), (sx_, sy_) in zip(by_path, by_split):
        np.testing.assert_array_equal(px_, sx_)
        np.testing.assert_array_equal(py_, sy_)


def test_from_dataset_matches_arrays_and_shows_progress(capsys):
    x, y = indexed_split()
    arrays = FewShotSplit.from_arrays(x, y)
    ds = tf.data.Dataset.from_tensor_slices((x[..., 0], y))          # [H, W] images get a channel axis
    mat = FewShotSplit.from_dataset(ds, verbose=1)
    assert "image" in capsys.readouterr().out
    np.testing.assert_array_equal(mat.images, arrays.images)
    np.testing.assert_array_equal(mat.labels, arrays.labels)
    as_dict = tf.data.Dataset.from_tensor_slices({"image": x, "label": y})
    np.testing.assert_array_equal(FewShotSplit.from_dataset(as_dict, verbose=0).images, x)
    a = collect(zoo.data.episodes(arrays, 4, 1, 2, episodes=2))
    b = collect(zoo.data.episodes(ds, 4, 1, 2, episodes=2))
    np.testing.assert_array_equal(np.stack([e[0] for e in a]), np.stack([e[0] for e in b]))
    resized = FewShotSplit.from_dataset(ds, image_size=(3, 3), verbose=0)
    assert resized.images.shape == (len(y), 3, 3, 1) and resized.images.dtype == np.uint8


def test_augment_per_image():
    # left half 0, right half 255: a horizontal flip is visible; per-class label pixel is symmetric.
    x = np.zeros((40, 4, 4, 1), np.uint8)
    x[:, :, 2:] = 255
    y = np.repeat(np.arange(4), 10)
    bx, by = collect(zoo.data.episodes((x, y), 4, 2, 8, episodes=1, augment="flip"))[0]
    assert bx.shape == (40, 4, 4, 1)
    flipped = bx[:, 0, 0, 0] > 0.5
    assert flipped.any() and not flipped.all()                       # drawn per image, not per episode
    np.testing.assert_allclose(bx[flipped], 1.0 - np.rint(x[:40] / 255.0)[flipped])
    np.testing.assert_array_equal(by, np.arange(32) % 4)


class EpisodeHead(keras.layers.Layer):
    """Minimal ProtoNet head for this test only: -squared distance of queries to support means."""

    def __init__(self, shot, query, **kw):
        super().__init__(**kw)
        self.shot, self.query = shot, query

    def compute_output_shape(self, input_shape):
        return (None, None)                                                   # [query * way, way]

    def call(self, z):
        d = z.shape[-1]
        z = keras.ops.reshape(z, (self.shot + self.query, -1, d))            # [shot + query, way, d]
        protos = keras.ops.mean(z[: self.shot], axis=0)
        q = keras.ops.reshape(z[self.shot:], (-1, d))
        return -(keras.ops.sum(q * q, -1)[:, None] - 2 * keras.ops.matmul(q, keras.ops.transpose(protos))
                 + keras.ops.sum(protos * protos, -1)[None, :])


def test_fit_train_way_differs_from_test_way():
    (xtr, ytr), (xte, yte) = zoo.data.digits()
    train = FewShotSplit.from_arrays(xtr[ytr < 6], ytr[ytr < 6])
    test = FewShotSplit.from_arrays(xte[yte >= 6], yte[yte >= 6])
    shot, query = 2, 4
    train_ds = zoo.data.episodes(train, 6, shot, query, episodes=15, normalize=zoo.data.DIGITS_MEAN_STD)
    test_ds = zoo.data.episodes(test, 3, shot, query, episodes=10, seed=1, normalize=zoo.data.DIGITS_MEAN_STD)
    model = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(16),
                              EpisodeHead(shot, query)])
    model.compile(optimizer=keras.optimizers.Adam(3e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["sparse_categorical_accuracy"])
    hist = model.fit(train_ds, epochs=3, shuffle=False, verbose=0)
    losses = hist.history["loss"]
    assert all(np.isfinite(losses)) and losses[-1] < losses[0]
    _, acc = model.evaluate(test_ds, verbose=0)                       # 3-way on unseen classes
    assert acc > 0.6
    logits = model.predict(test_ds.take(1), verbose=0)
    assert logits.shape == (3 * query, 3)


def test_bad_input(tmp_path):
    x, y = indexed_split()
    split = FewShotSplit.from_arrays(x, y)
    for name, kw in (("way", {"way": 0}), ("shot", {"shot": 0}), ("query", {"query": -1}),
                     ("episodes", {"episodes": 0}), ("way", {"way": 2.0})):
        args = {"way": 2, "shot": 1, "query": 1, **kw}
        with pytest.raises(ValueError, match=f"`{name}` must be an integer >= 1"):
            zoo.data.episodes(split, **args)
    with pytest.raises(ValueError, match=r"`way` = 8 is larger than the number of classes in the split \(7\)"):
        zoo.data.episodes(split, 8, 1, 1)
    small = np.concatenate([np.flatnonzero(y != 13), np.flatnonzero(y == 13)[:4]])
    with pytest.raises(ValueError, match="shot \\+ query = 2 \\+ 3 = 5 .* class '13' has only 4 images"):
        zoo.data.episodes(FewShotSplit.from_arrays(x[small], y[small]), 2, 2, 3)
    zoo.data.episodes(FewShotSplit.from_arrays(x[small], y[small]), 2, 1, 3)       # 4 images are enough
    with pytest.raises(ValueError, match="empty split"):
        FewShotSplit.from_arrays(x[:0], y[:0])
    with pytest.raises(ValueError, match="empty split"):
        FewShotSplit.from_files([], np.zeros(0, int))
    with pytest.raises(ValueError, match="`labels` must be integer"):
        FewShotSplit.from_arrays(x, y.astype(float))
    with pytest.raises(ValueError, match="one-hot"):
        FewShotSplit.from_arrays(x, np.eye(17)[y])
    with pytest.raises(ValueError, match="`labels` must be integer"):
        FewShotSplit.from_arrays(x, y > 12)
    with pytest.raises(ValueError, match="63 images but 62 labels"):
        FewShotSplit.from_arrays(x, y[:-1])
    with pytest.raises(ValueError, match="0..255"):
        FewShotSplit.from_arrays(x.astype(np.int32) * 5, y)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        FewShotSplit.from_arrays(x.astype(np.float32), y)
    with pytest.raises(ValueError, match="`class_names` has 3 names"):
        FewShotSplit.from_arrays(x, y, class_names=["a", "b", "c"])
    assert FewShotSplit.from_arrays(x, y, class_names=[f"c{i}" for i in range(17)]).class_names[0] == "c10"
    with pytest.raises(ValueError, match="image files are missing, first: .*nope.png"):
        FewShotSplit.from_files([str(tmp_path / "nope.png")], [0])
    with pytest.raises(ValueError, match="normalize std must be > 0"):
        zoo.data.episodes(split, 2, 1, 1, normalize=(0.5, 0.0))
    with pytest.raises(ValueError, match="`image_size`"):
        zoo.data.episodes(split, 2, 1, 1, image_size=(0, 3))
    with pytest.raises(TypeError, match="`source` must be"):
        zoo.data.episodes([x, y], 2, 1, 1)
    with pytest.raises(ValueError, match="infinite"):
        FewShotSplit.from_dataset(tf.data.Dataset.from_tensor_slices((x, y)).repeat())
    ragged = tf.data.Dataset.from_generator(
        lambda: iter([(np.zeros((2, 2, 1), np.uint8), 0), (np.zeros((3, 3, 1), np.uint8), 1)]),
        output_signature=(tf.TensorSpec([None, None, 1], tf.uint8), tf.TensorSpec([], tf.int64)))
    with pytest.raises(ValueError, match="pass image_size"):
        FewShotSplit.from_dataset(ragged, verbose=0)
    with pytest.raises(FileNotFoundError):
        FewShotSplit.from_folder(tmp_path / "nowhere")
    (tmp_path / "empty_class").mkdir()
    with pytest.raises(ValueError, match="has no images"):
        FewShotSplit.from_folder(tmp_path)


def test_raw_pixels_and_seed_named():
    """Issue #13 items 13 and 21: `raw=True` keeps 0..255 pixel values; a bad `seed` is named."""
    x, y = indexed_split()
    split = FewShotSplit.from_arrays(x, y)
    (bx, _), = collect(zoo.data.episodes(split, 3, 1, 2, episodes=1, seed=3, raw=True))
    ref, = collect(zoo.data.episodes(split, 3, 1, 2, episodes=1, seed=3))
    np.testing.assert_array_equal(bx, np.rint(ref[0] * 255))
    assert bx.dtype == np.float32 and bx.max() > 1.0
    with pytest.raises(ValueError, match="`normalize`"):
        zoo.data.episodes(split, 3, 1, 2, raw=True, normalize=(0.5, 0.5))
    with pytest.raises(ValueError, match="episodes: `seed`"):
        zoo.data.episodes(split, 3, 1, 2, seed=-1)


@pytest.mark.parametrize("way,shot,query", [(4, 1, 3), (3, 2, 4)])
def test_process_slices_are_the_episode(way, shot, query):
    """num_processes = 2: each process yields its contiguous half of every episode's rows and labels (the same
    episodes on both); the halves in process order are the single-process episode, pass after pass."""
    x, y = indexed_split()
    split = FewShotSplit.from_arrays(x, y)
    whole = zoo.data.episodes(split, way, shot, query, episodes=3, seed=4)
    parts = [zoo.data.episodes(split, way, shot, query, episodes=3, seed=4, num_processes=2, process_index=i)
             for i in range(2)]
    assert int(parts[1].cardinality()) == 3
    for _ in range(2):
        ref, got = collect(whole), [collect(ds) for ds in parts]
        for (rx, ry), (ax, ay), (bx, by) in zip(ref, *got):
            assert ax.shape == ((shot + query) * way // 2, 2, 2, 1) and ay.shape == (query * way // 2,)
            np.testing.assert_array_equal(np.concatenate([ax, bx]), rx)
            np.testing.assert_array_equal(np.concatenate([ay, by]), ry)


def test_process_slicing_bad_input():
    x, y = indexed_split()
    with pytest.raises(ValueError, match=r"episodes: .*shot \* way = 1 \* 5 and query \* way = 2 \* 5 must both be "
                                         r"divisible by 2"):
        zoo.data.episodes((x, y), way=5, shot=1, query=2, num_processes=2)
    with pytest.raises(ValueError, match=r"episodes: `process_index` must be an integer in \[0, 2\]"):
        zoo.data.episodes((x, y), way=3, shot=1, query=2, num_processes=3, process_index=3)
