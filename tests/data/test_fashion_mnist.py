"""zoo.data.fashion_mnist and the IDX reader/writer: real files, fixtures, corruption, offline errors."""

import gzip
import os
import struct
import sys
import time

import numpy as np
import pytest

import zoo.data
from zoo.data import FASHION_MNIST_CLASSES, FASHION_MNIST_MEAN_STD, IDXFormatError, read_idx, write_idx

fm = sys.modules["zoo.data.fashion_mnist"]  # the module (the package attribute zoo.data.fashion_mnist is the function)

DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"
FILES = [n for pair in fm.FASHION_MNIST_FILES.values() for n in pair]


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    """No env var, no Debian folder, an empty HOME / KERAS_HOME: nothing can be found."""
    monkeypatch.delenv("ZOO_FASHION_MNIST_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "home" / ".keras"))
    monkeypatch.setattr(fm, "DEBIAN_DIR", str(tmp_path / "no-debian"))
    real = fm._keras_cache_dirs
    # Keep keras' own rule ($KERAS_HOME/datasets/fashion-mnist) but drop the shared /tmp/.keras fallback.
    monkeypatch.setattr(fm, "_keras_cache_dirs", lambda: real()[:1])
    return tmp_path


def _write_raw_idx(path, magic, shape, payload):
    with gzip.open(path, "wb") as f:
        f.write(struct.pack(">I", magic) + struct.pack(">" + "I" * len(shape), *shape) + payload)


def _write_fixture(folder, n_train=20, n_test=10, seed=0):
    """A tiny Fashion-MNIST in the exact upstream format, written by hand (not via write_idx)."""
    rng = np.random.default_rng(seed)
    os.makedirs(folder, exist_ok=True)
    data = {}
    for split, n, (img_name, lab_name) in (("train", n_train, FILES[:2]), ("test", n_test, FILES[2:])):
        x = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        y = (np.arange(n) % 10).astype(np.uint8)
        _write_raw_idx(os.path.join(folder, img_name), 2051, (n, 28, 28), x.tobytes())
        _write_raw_idx(os.path.join(folder, lab_name), 2049, (n,), y.tobytes())
        data[split] = (x, y)
    return data


@pytest.mark.skipif(not os.path.isdir(DEBIAN_DIR),
                    reason=f"{DEBIAN_DIR} absent: `apt-get install dataset-fashion-mnist` to run this test")
def test_real_debian_files(monkeypatch):
    monkeypatch.delenv("ZOO_FASHION_MNIST_DIR", raising=False)
    (x_train, y_train), (x_test, y_test) = zoo.data.fashion_mnist(download=False)
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert y_train.shape == (60000,) and y_test.shape == (10000,)
    assert x_train.dtype == np.uint8 and x_test.dtype == np.uint8
    assert y_train.dtype == np.int64 and y_test.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(y_train, minlength=10), [6000] * 10)
    np.testing.assert_array_equal(np.bincount(y_test, minlength=10), [1000] * 10)
    assert x_train.min() == 0 and x_train.max() == 255
    assert y_train[0] == 9 and FASHION_MNIST_CLASSES[y_train[0]] == "Ankle boot"  # the well-known first image
    scaled = x_train / 255.0
    np.testing.assert_allclose([scaled.mean(), scaled.std()], FASHION_MNIST_MEAN_STD, atol=1e-4)
    # The same files through path= give the same arrays.
    (x2, y2), _ = zoo.data.fashion_mnist(path=DEBIAN_DIR)
    np.testing.assert_array_equal(x2[:100], x_train[:100])
    np.testing.assert_array_equal(y2, y_train)


def test_class_names():
    assert len(FASHION_MNIST_CLASSES) == 10
    assert FASHION_MNIST_CLASSES[0] == "T-shirt/top" and FASHION_MNIST_CLASSES[9] == "Ankle boot"


def test_fixture_via_path(isolated):
    folder = isolated / "fixture"
    data = _write_fixture(folder)
    (x_train, y_train), (x_test, y_test) = zoo.data.fashion_mnist(path=folder, download=False, verify=False)
    np.testing.assert_array_equal(x_train, data["train"][0])
    np.testing.assert_array_equal(y_train, data["train"][1])
    np.testing.assert_array_equal(x_test, data["test"][0])
    np.testing.assert_array_equal(y_test, data["test"][1])
    assert x_train.dtype == np.uint8 and y_train.dtype == np.int64
    assert x_train.flags.writeable


def test_fixture_via_env_var_and_keras_cache(isolated, monkeypatch):
    folder = isolated / "env"
    data = _write_fixture(folder, n_train=12, n_test=4, seed=1)
    monkeypatch.setenv("ZOO_FASHION_MNIST_DIR", str(folder))
    (x_train, _), _ = zoo.data.fashion_mnist(download=False, verify=False)
    np.testing.assert_array_equal(x_train, data["train"][0])
    monkeypatch.delenv("ZOO_FASHION_MNIST_DIR")
    cache = isolated / "home" / ".keras" / "datasets" / "fashion-mnist"
    data = _write_fixture(cache, n_train=7, n_test=3, seed=2)
    (x_train, _), (x_test, _) = zoo.data.fashion_mnist(download=False, verify=False)
    assert x_train.shape == (7, 28, 28) and x_test.shape == (3, 28, 28)
    np.testing.assert_array_equal(x_test, data["test"][0])


def test_idx_roundtrip(tmp_path):
    for arr in (np.arange(24, dtype=np.uint8).reshape(2, 3, 4), np.arange(5, dtype=np.uint8),
                np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3), np.array([-3, 70000], np.int32)):
        for name in ("a.gz", "a"):
            p = write_idx(tmp_path / name, arr)
            back = read_idx(p)
            assert back.dtype == arr.dtype and back.shape == arr.shape
            np.testing.assert_array_equal(back, arr)
    # Exact header bytes of uint8 images: magic 2051 then big-endian sizes.
    write_idx(tmp_path / "img", np.zeros((3, 28, 28), np.uint8))
    raw = open(tmp_path / "img", "rb").read()
    assert struct.unpack(">IIII", raw[:16]) == (2051, 3, 28, 28) and len(raw) == 16 + 3 * 784


@pytest.mark.parametrize("damage", ["magic", "truncated", "not_gzip", "count_mismatch", "bad_label", "shape"])
def test_corrupt_files_raise_clear_errors(isolated, damage):
    folder = isolated / "bad"
    _write_fixture(folder)
    img, lab = (folder / FILES[0]), (folder / FILES[1])
    if damage == "magic":  # labels where images are expected
        _write_raw_idx(img, 2049, (20,), bytes(20))
        match = "magic number 2049"
    elif damage == "truncated":
        _write_raw_idx(img, 2051, (20, 28, 28), bytes(100))
        match = "truncated or corrupt"
    elif damage == "not_gzip":
        img.write_bytes(b"this is not gzip data at all")
        match = "corrupt"
    elif damage == "count_mismatch":
        _write_raw_idx(lab, 2049, (19,), bytes(19))
        match = "20 images but"
    elif damage == "bad_label":
        _write_raw_idx(lab, 2049, (20,), bytes([12] * 20))
        match = "label 12"
    else:
        _write_raw_idx(img, 2051, (20, 14, 56), bytes(20 * 784))
        match = r"shape \(14, 56\)"
    with pytest.raises(IDXFormatError, match=match) as info:
        zoo.data.fashion_mnist(path=folder, download=False, verify=False)
    assert "Fashion-MNIST" in str(info.value)


def test_path_missing_file_is_an_error(isolated):
    folder = isolated / "partial"
    _write_fixture(folder)
    os.remove(folder / FILES[2])
    with pytest.raises(FileNotFoundError, match=FILES[2]):
        zoo.data.fashion_mnist(path=folder)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        zoo.data.fashion_mnist(path=isolated / "nowhere")


@pytest.mark.parametrize("download", [None, False])
def test_missing_offline_raises_fast(isolated, download):
    # download=None runs the real network probe; the conftest refuses outbound connections.
    t0 = time.perf_counter()
    with pytest.raises(FileNotFoundError) as info:
        zoo.data.fashion_mnist(download=download)
    elapsed = time.perf_counter() - t0
    assert elapsed < 1.0, f"took {elapsed:.2f} s"
    msg = str(info.value)
    assert "apt-get install dataset-fashion-mnist" in msg and "ZOO_FASHION_MNIST_DIR" in msg
    assert "download=True" in msg and str(isolated / "no-debian") in msg


def test_network_probe_is_bounded(monkeypatch):
    """A probe whose name resolution hangs still returns False within its deadline."""
    def hang(*a, **k):
        time.sleep(5)
    monkeypatch.setattr(sys.modules["zoo.data._network"].socket, "create_connection", hang)
    t0 = time.perf_counter()
    assert fm._network_available(timeout=0.2) is False
    assert time.perf_counter() - t0 < 1.0


def test_download_true_failure_is_clear(isolated, monkeypatch):
    def fail():
        raise OSError("no route to host")
    monkeypatch.setattr(fm, "_download", fail)
    with pytest.raises(FileNotFoundError, match="download .* failed: OSError: no route to host"):
        zoo.data.fashion_mnist(download=True)


# -- issue #13, item 20: the content is checked against the official digests ----------------------------------
def test_fixture_is_not_the_official_dataset(isolated):
    folder = isolated / "fixture"
    _write_fixture(folder)
    with pytest.raises(IDXFormatError, match=r"train-images-idx3-ubyte.gz.*20 images.*60000.*verify=False"):
        zoo.data.fashion_mnist(path=folder)
    with pytest.raises(ValueError, match="`verify` must be True or False"):
        zoo.data.fashion_mnist(path=folder, verify="no")


@pytest.mark.skipif(not os.path.isdir(DEBIAN_DIR),
                    reason=f"{DEBIAN_DIR} absent: `apt-get install dataset-fashion-mnist` to run this test")
@pytest.mark.parametrize("altered", ["t10k-images-idx3-ubyte", "train-labels-idx1-ubyte"])
def test_altered_copy_of_the_official_files_is_refused(isolated, altered):
    """A well-formed copy (right headers and sizes) with changed content used to load silently."""
    folder = isolated / "altered"
    folder.mkdir()
    for name in FILES:
        if not name.startswith(altered):
            os.symlink(os.path.join(DEBIAN_DIR, name), folder / name)
    data = bytearray(gzip.open(os.path.join(DEBIAN_DIR, altered + ".gz")).read())
    data[-1] = (data[-1] + 1) % 10   # one pixel / one label changed, still a valid value
    (folder / altered).write_bytes(bytes(data))   # uncompressed copies are accepted
    with pytest.raises(IDXFormatError, match=altered + r".*sha256.*official") as info:
        zoo.data.fashion_mnist(path=folder)
    assert str(folder / altered) in str(info.value)
    if altered.startswith("train"):  # the opt-out loads it (once: a full load costs ~1.3 s)
        (_, y_train), _ = zoo.data.fashion_mnist(path=folder, verify=False)
        assert y_train.shape == (60000,) and y_train[-1] == data[-1]


@pytest.mark.skipif(not os.path.isdir(DEBIAN_DIR),
                    reason=f"{DEBIAN_DIR} absent: `apt-get install dataset-fashion-mnist` to run this test")
def test_official_digests_match_the_debian_files():
    """The digests are those of the decompressed official files (`zcat FILE | sha256sum`), headers 60k / 10k.

    Shown on the two label files (cheap); the image digests are exercised by every verified load
    (`test_real_debian_files`)."""
    import hashlib

    for name in (FILES[1], FILES[3]):
        raw = gzip.open(os.path.join(DEBIAN_DIR, name)).read()
        assert hashlib.sha256(raw).hexdigest() == fm.FASHION_MNIST_SHA256[name], name
        n = struct.unpack(">I", raw[4:8])[0]
        assert n == (60000 if name.startswith("train") else 10000)
