"""zoo.models._inputs: the data checks and label routing of the task models, called directly (no model, no
compilation): arrays on the host, tf.data batches in the pipeline, generators and PyDatasets batch by batch."""

import keras
import numpy as np
import pytest

import zoo
from zoo.models import _inputs

W = "Where.fit"


def _digits(n=12):
    (x, y), _ = zoo.data.digits()
    return x[:n], y[:n]


def _tf():
    import tensorflow as tf

    return tf


def _first(ds):
    return next(iter(ds.as_numpy_iterator()))


# -- small helpers ----------------------------------------------------------------------------------------------
def test_is_dataset_require_array_and_split_inputs():
    tf = _tf()
    x, y = _digits()
    ds = tf.data.Dataset.from_tensor_slices(x)
    assert _inputs.is_dataset(ds) and not _inputs.is_dataset(x) and not _inputs.is_dataset([1, 2])
    np.testing.assert_array_equal(_inputs.require_array([1, 2], "y", W), [1, 2])
    with pytest.raises(TypeError, match=r"Where.fit: `y` must be an array of images or labels, not a .*Dataset; "
                                        r"collect the arrays first"):
        _inputs.require_array(ds, "y", W)
    images, labels = _inputs.split_inputs({"images": x, "labels": y})
    assert images is x and labels is y
    assert _inputs.split_inputs(x) == (x, None)
    assert _inputs.split_inputs({"images": x})[1] is None


# -- images -----------------------------------------------------------------------------------------------------
def test_check_images_accepts_raw_pixels_of_any_numeric_dtype():
    x, _ = _digits()
    assert _inputs.check_images(x, W) is not None
    for images in (x, x.astype("float32"), x.astype("int64"), x[..., None], np.repeat(x[..., None], 3, -1)):
        np.testing.assert_array_equal(_inputs.check_images(images, W), images)


@pytest.mark.parametrize("images, error, message", [
    (np.array([["a"]]), TypeError, r"Where.fit: `x` must hold numeric pixel values 0..255; got dtype <U1"),
    (np.zeros((4, 8), "uint8"), ValueError, r"`x` must be images \[N, H, W\] or \[N, H, W, C\]; got shape \(4, 8\)"),
    (np.zeros((0, 8, 8), "uint8"), ValueError, r"`x` holds no images \(shape \(0, 8, 8\)\)"),
    (np.full((2, 8, 8), 256.0), ValueError, r"`x` must hold raw pixel values in 0..255 \(the model rescales and "
                                            r"normalises them itself\); got values in \[256, 256\]"),
    (np.full((2, 8, 8), -0.5), ValueError, r"got values in \[-0.5, -0.5\]"),
    (np.where(np.eye(8)[None] > 0, np.nan, 1.0), ValueError, r"Where.fit: `x` holds NaN or inf pixel values"),
    (np.where(np.eye(8)[None] > 0, np.inf, 1.0), ValueError, r"`x` holds NaN or inf pixel values"),
])
def test_check_images_errors_name_the_argument_and_the_range(images, error, message):
    with pytest.raises(error, match=message):
        _inputs.check_images(images, W)


def test_check_images_warns_on_images_already_scaled_to_unit_range():
    x, _ = _digits()
    with pytest.warns(UserWarning, match=r"looks like images already scaled to \[0, 1\]"):
        _inputs.check_images(x / 255.0, W)
    with pytest.warns(UserWarning, match="`images` holds floats"):
        _inputs.check_images(x / 255.0, W, name="images")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _inputs.check_images(np.zeros((1, 4, 4), "float32"), W)  # too few pixels to tell: no warning
        _inputs.check_images(x, W)


# -- labels -----------------------------------------------------------------------------------------------------
def test_check_labels_returns_int32_ids():
    for y in ([0, 1, 2], np.array([[0], [1], [2]]), np.array([0.0, 1.0, 2.0]), np.array([0, 1, 2], "uint8")):
        out = _inputs.check_labels(y, 3, W)
        assert out.dtype == np.int32 and out.shape == (3,)
        np.testing.assert_array_equal(out, [0, 1, 2])
    np.testing.assert_array_equal(_inputs.check_labels([5, 900], None, W), [5, 900])  # no num_classes: >= 0 only


def test_check_labels_passes_packed_labels_of_another_width():
    packed = np.array([[0, 1, 0.3], [2, 1, 0.5]])  # mixup's (y_a, y_b, lam)
    out = _inputs.check_labels(packed, 10, W)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, packed)


@pytest.mark.parametrize("labels, error, message", [
    (np.eye(3)[[0, 1, 2, 1]], ValueError, r"Where.fit: `y` looks one-hot \(shape \(4, 3\), 3 classes\); pass "
                                          r"integer class ids \[N\] instead, e.g. `y.argmax\(-1\)`"),
    (np.array([0, 2.5, 1]), ValueError, r"`y` must be whole class ids; got 2.5 \(1 distinct bad value\(s\)\)"),
    (np.array([0, np.nan, 1]), ValueError, r"`y` must be whole class ids; got nan"),
    (np.array([0, 3, 1, -2, 3]), ValueError, r"`y` must be class ids in \[0, num_classes\) = \[0, 3\); got -2, 3 "
                                             r"\(2 distinct bad value\(s\)\)"),
    (np.arange(10, 17), ValueError, r"got 10, 11, 12, 13, 14, ... \(7 distinct bad value\(s\)\)"),
    (np.zeros((2, 2, 2)), ValueError, r"`y` must be integer class ids of shape \[N\]; got shape \(2, 2, 2\)"),
    (np.array(["a", "b"]), TypeError, r"`y` must be integer class ids; got dtype <U1"),
])
def test_check_labels_errors_name_the_bad_values(labels, error, message):
    with pytest.raises(error, match=message):
        _inputs.check_labels(labels, 3, W)


def test_check_labels_negative_without_num_classes_and_count_mismatch():
    with pytest.raises(ValueError, match=r"`y` must be class ids >= 0; got -1"):
        _inputs.check_labels([0, -1], None, W)
    with pytest.raises(ValueError, match=r"Where.fit: `x` has 3 images but `y` has 2 labels"):
        _inputs.check_labels([0, 1], 3, W, count=3)
    with pytest.raises(TypeError, match="`labels` must be an array"):
        _inputs.check_labels(_tf().data.Dataset.range(3), 3, W, name="labels")


# -- feed: arrays -----------------------------------------------------------------------------------------------
def test_feed_arrays_routes_labels_only_to_heads_that_need_them():
    x, y = _digits()
    fx, fy = _inputs.feed(x, y, num_classes=10, needs_labels=False, where=W)
    np.testing.assert_array_equal(fx, x)
    assert fy.dtype == np.int32
    fx, fy = _inputs.feed(x, y, num_classes=10, needs_labels=True, where=W)
    assert set(fx) == {"images", "labels"}
    np.testing.assert_array_equal(fx["labels"], fy)
    np.testing.assert_array_equal(fx["images"], x)
    fx, fy = _inputs.feed(x, None, num_classes=10, needs_labels=False, where=W)  # predict-like call without labels
    assert fy is None


def test_feed_errors():
    tf = _tf()
    x, y = _digits()
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(4)
    with pytest.raises(ValueError, match=r"Where.fit: `y` must be None when `x` is a tf.data dataset"):
        _inputs.feed(ds, y, num_classes=10, needs_labels=False, where=W)
    with pytest.raises(TypeError, match=r"`x` must be images \(an array or a dataset\), not a dict"):
        _inputs.feed({"images": x}, y, num_classes=10, needs_labels=False, where=W)
    with pytest.raises(ValueError, match=r"`y` looks one-hot"):
        _inputs.feed(x, np.eye(10)[y], num_classes=10, needs_labels=True, where=W)
    with pytest.raises(ValueError, match=r"`y` must be class ids in \[0, num_classes\) = \[0, 5\)"):
        _inputs.feed(x, y, num_classes=5, needs_labels=False, where=W)


def test_feed_validation():
    tf = _tf()
    x, y = _digits()
    assert _inputs.feed_validation(None, num_classes=10, needs_labels=False, where=W) is None
    vx, vy = _inputs.feed_validation((x, y), num_classes=10, needs_labels=True, where=W)
    assert set(vx) == {"images", "labels"} and vy.dtype == np.int32
    weights = np.ones(len(x))
    assert _inputs.feed_validation([x, y, weights], num_classes=10, needs_labels=False, where=W)[2] is weights
    ds = _inputs.feed_validation(tf.data.Dataset.from_tensor_slices((x, y)).batch(4), num_classes=10,
                                 needs_labels=True, where=W)
    images_labels, labels = _first(ds)
    np.testing.assert_array_equal(images_labels["labels"], labels)
    with pytest.raises(TypeError, match=r"`validation_data` must be a dataset or an \(x, y\) tuple; got ndarray"):
        _inputs.feed_validation(x, num_classes=10, needs_labels=False, where=W)
    with pytest.raises(ValueError, match=r"`y` must be class ids in \[0, num_classes\) = \[0, 3\)"):
        _inputs.feed_validation((x, y), num_classes=3, needs_labels=False, where=W)


# -- feed: tf.data ----------------------------------------------------------------------------------------------
def test_dataset_feed_checks_and_routes_inside_the_pipeline():
    tf = _tf()
    x, y = _digits()
    ds = tf.data.Dataset.from_tensor_slices((x, y[:, None].astype("float32"))).batch(4)  # [B, 1] whole floats
    fed, none = _inputs.feed(ds, None, num_classes=10, needs_labels=True, where=W)
    assert none is None
    batch_x, batch_y = _first(fed)
    assert batch_y.dtype == np.int32 and batch_y.shape == (4,)
    np.testing.assert_array_equal(batch_y, y[:4])
    np.testing.assert_array_equal(batch_x["images"], x[:4])
    np.testing.assert_array_equal(batch_x["labels"], y[:4])
    plain, _ = _inputs.feed(tf.data.Dataset.from_tensor_slices((x, y)).batch(4), None, num_classes=10,
                            needs_labels=False, where=W)
    np.testing.assert_array_equal(_first(plain)[0], x[:4])
    packed = tf.data.Dataset.from_tensor_slices((x, np.zeros((len(x), 3), "float32") + 0.5)).batch(4)
    fed_packed, _ = _inputs.feed(packed, None, num_classes=10, needs_labels=False, where=W)
    np.testing.assert_allclose(_first(fed_packed)[1], 0.5)  # mixup-packed labels pass unchecked


@pytest.mark.parametrize("case, message", [
    ("range", r"Where.fit: labels must be class ids in \[0, num_classes\) = \[0, 10\)"),
    ("negative", r"Where.fit: labels must be class ids in \[0, num_classes\) = \[0, 10\)"),
    ("fraction", r"Where.fit: labels must be whole class ids"),
    ("pixels", r"Where.fit: images must hold raw pixel values in 0..255 \(the model rescales them itself\)"),
    ("negative_pixels", r"Where.fit: images must hold raw pixel values in 0..255"),
    ("nan", r"Where.fit: images hold NaN or inf values"),
])
def test_dataset_feed_fails_the_pipeline_with_a_clear_message(case, message):
    tf = _tf()
    x, y = _digits()
    x, y = x.astype("float32"), y.astype("float32")
    if case == "range":
        y[2] = 10
    elif case == "negative":
        y[2] = -1
    elif case == "fraction":
        y[2] = 2.5
    elif case == "pixels":
        x[1, 0, 0] = 256
    elif case == "negative_pixels":
        x[1, 0, 0] = -3
    else:
        x[1, 0, 0] = np.nan
    fed, _ = _inputs.feed(tf.data.Dataset.from_tensor_slices((x, y)).batch(4), None, num_classes=10,
                          needs_labels=False, where=W)
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        _first(fed)


def test_dataset_feed_structural_errors():
    tf = _tf()
    x, y = _digits()
    with pytest.raises(ValueError, match=r"Where.fit: the dataset yields one-hot labels \(shape \(None, 10\)\)"):
        _inputs.feed(tf.data.Dataset.from_tensor_slices((x, np.eye(10)[y])).batch(4), None, num_classes=10,
                     needs_labels=False, where=W)
    with pytest.raises(ValueError, match=r"the dataset must yield batches of images \[B, H, W\] or \[B, H, W, C\]; "
                                         r"got element shape \(8, 8\) \(batch it with `.batch\(n\)`\)"):
        _inputs.feed(tf.data.Dataset.from_tensor_slices((x, y)), None, num_classes=10, needs_labels=False, where=W)
    with pytest.raises(TypeError, match=r"the dataset must yield images or \(images, labels\) batches, not dicts"):
        _inputs.feed(tf.data.Dataset.from_tensor_slices({"images": x}).batch(4), None, num_classes=10,
                     needs_labels=False, where=W)
    with pytest.raises(ValueError, match=r"this head learns from the labels; the dataset must yield \(images, "):
        _inputs.feed(tf.data.Dataset.from_tensor_slices(x).batch(4), None, num_classes=10, needs_labels=True,
                     where=W)


def test_predict_feed_drops_labels_and_checks_images():
    tf = _tf()
    x, y = _digits()
    fed = _inputs.predict_feed(tf.data.Dataset.from_tensor_slices((x, y)).batch(4), W)
    np.testing.assert_array_equal(_first(fed), x[:4])
    fed = _inputs.predict_feed(tf.data.Dataset.from_tensor_slices(x).batch(4), W)
    np.testing.assert_array_equal(_first(fed), x[:4])
    np.testing.assert_array_equal(_inputs.predict_feed(x, W), x)
    with pytest.raises(ValueError, match="0..255"):
        _inputs.predict_feed(x.astype("float32") + 300, W)
    batches = list(_inputs.predict_feed(((x[i:i + 4], y[i:i + 4]) for i in range(0, 12, 4)), W))
    assert len(batches) == 3
    np.testing.assert_array_equal(batches[0], x[:4])


# -- feed: generators and PyDatasets ----------------------------------------------------------------------------
class _Batches(keras.utils.PyDataset):
    def __init__(self, x, y):
        super().__init__()
        self.x, self.y, self.epochs = x, y, 0

    def __len__(self):
        return len(self.x) // 4

    def __getitem__(self, i):
        return self.x[4 * i:4 * i + 4], self.y[4 * i:4 * i + 4]

    def on_epoch_end(self):
        self.epochs += 1


def test_generator_and_pydataset_batches_are_checked_and_routed():
    x, y = _digits()
    gen, none = _inputs.feed(((x[i:i + 4], y[i:i + 4]) for i in range(0, 12, 4)), None, num_classes=10,
                             needs_labels=True, where=W)
    assert none is None
    batch_x, batch_y = next(gen)
    np.testing.assert_array_equal(batch_x["labels"], batch_y)
    source = _Batches(x, y)
    fed, _ = _inputs.feed(source, None, num_classes=10, needs_labels=False, where=W)
    assert isinstance(fed, keras.utils.PyDataset) and len(fed) == 3
    np.testing.assert_array_equal(fed[1][0], x[4:8])
    assert fed[1][1].dtype == np.int32
    fed.on_epoch_end()
    assert source.epochs == 1
    bad, _ = _inputs.feed(_Batches(x, np.where(np.arange(12) == 5, 10, y)), None, num_classes=10,
                          needs_labels=False, where=W)
    bad[0]  # a clean batch
    with pytest.raises(ValueError, match=r"Where.fit: `labels` must be class ids in \[0, num_classes\) = \[0, 10\)"):
        bad[1]
    with pytest.raises(ValueError, match="`y` must be None when `x` is a _Batches"):
        _inputs.feed(source, y, num_classes=10, needs_labels=False, where=W)
    with pytest.raises(ValueError, match=r"the generator must yield \(images, labels\)"):
        next(_inputs.feed((x[i:i + 4] for i in range(0, 12, 4)), None, num_classes=10, needs_labels=True,
                          where=W)[0])
