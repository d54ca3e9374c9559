"""zoo.data.load_tfds: reads prepared/mocked data offline, never downloads, fails fast and clearly."""

import sys
import time

import numpy as np
import pytest

from zoo.data import DatasetNotPreparedError, load_tfds, make_dataset

tfds = pytest.importorskip("tensorflow_datasets")


@pytest.mark.parametrize("name, shape", [("mnist", (28, 28, 1)), ("omniglot", (105, 105, 3))])
def test_mock_data_supervised(name, shape, tmp_path):
    with tfds.testing.mock_data(num_examples=6, data_dir=str(tmp_path)):
        ds = load_tfds(name, "train", data_dir=str(tmp_path))
        pairs = list(ds.as_numpy_iterator())
    assert len(pairs) == 6
    image, label = pairs[0]
    assert image.shape == shape and image.dtype == np.uint8 and np.ndim(label) == 0


def test_mock_data_dict_and_kwargs_pass_through(tmp_path):
    with tfds.testing.mock_data(num_examples=5, data_dir=str(tmp_path)):
        ds, info = load_tfds("mnist", "test", data_dir=str(tmp_path), as_supervised=False, with_info=True)
        example = next(iter(ds))
    assert set(example) >= {"image", "label"} and info.features["label"].num_classes == 10


def test_mock_data_feeds_make_dataset(tmp_path):
    with tfds.testing.mock_data(num_examples=8, data_dir=str(tmp_path)):
        # (batch_size=-1 is avoided: under mock_data the cardinality is unknown and TF aborts.)
        pairs = list(load_tfds("mnist", "train", data_dir=str(tmp_path)).as_numpy_iterator())
    x, y = np.stack([p[0] for p in pairs]), np.array([p[1] for p in pairs])
    batch = next(iter(make_dataset(x, y, batch_size=4)))
    assert tuple(batch[0].shape) == (4, 28, 28, 1) and batch[1].dtype.name == "int32"


def test_not_prepared_fails_fast_with_instructions(tmp_path):
    t0 = time.perf_counter()
    with pytest.raises(DatasetNotPreparedError) as info:
        load_tfds("mnist", "train", data_dir=str(tmp_path))
    elapsed = time.perf_counter() - t0
    assert elapsed < 10, f"took {elapsed:.1f} s"
    msg = str(info.value)
    assert "'mnist'" in msg and str(tmp_path) in msg
    assert "tfds build mnist" in msg and "download=True" in msg
    assert isinstance(info.value, FileNotFoundError)


def test_unknown_name_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match="not_a_dataset_zoo"):
        load_tfds("not_a_dataset_zoo", "train", data_dir=str(tmp_path))


def test_download_true_offline_fails_fast_without_calling_tfds_download(tmp_path, monkeypatch):
    """Issue #13 item 16: offline, download=True used to retry inside tfds for ~205 s before failing."""
    module = sys.modules["zoo.data.tfds"]
    probes = []
    monkeypatch.setattr(module, "_network_available", lambda *a, **k: probes.append(1) or False)
    real_load = tfds.load

    def load(*args, **kwargs):
        assert not kwargs.get("download"), "tfds.load(download=True) must not run when the probe fails"
        return real_load(*args, **kwargs)

    monkeypatch.setattr(tfds, "load", load)
    t0 = time.perf_counter()
    with pytest.raises(DatasetNotPreparedError) as info:
        load_tfds("mnist", "train", data_dir=str(tmp_path), download=True)
    assert time.perf_counter() - t0 < 10
    msg = str(info.value)
    assert probes and "'mnist'" in msg and "network" in msg and "tfds build mnist" in msg
    # Prepared data needs no network: download=True reads it without probing.
    probes.clear()
    with tfds.testing.mock_data(num_examples=3, data_dir=str(tmp_path)):
        pairs = list(load_tfds("mnist", "train", data_dir=str(tmp_path), download=True).as_numpy_iterator())
    assert len(pairs) == 3 and not probes
