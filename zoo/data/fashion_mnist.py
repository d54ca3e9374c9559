"""Fashion-MNIST (Xiao, Rasul & Vollgraf 2017, MIT licence) read from local IDX files, offline first.

Search order (the first folder holding the four files wins):

1. the ``path`` argument,
2. the environment variable ``ZOO_FASHION_MNIST_DIR``,
3. the Debian/Ubuntu package folder ``/usr/share/datasets/fashion-mnist/``
   (``apt-get install dataset-fashion-mnist``),
4. keras' download cache ``$KERAS_HOME/datasets/fashion-mnist/`` (``~/.keras`` by default),
5. a download through ``keras.datasets.fashion_mnist.load_data()``, only when ``download=True``, or
   ``download=None`` and a quick network probe succeeds.

The files are the original ``train-images-idx3-ubyte.gz``, ``train-labels-idx1-ubyte.gz``,
``t10k-images-idx3-ubyte.gz``, ``t10k-labels-idx1-ubyte.gz`` (uncompressed copies without ``.gz``
are accepted too). They are read directly with numpy (`zoo.data.idx.read_idx`): tfds' own
``fashion_mnist`` builder is not used because the Debian package's ``.gz`` files have other checksums
than upstream's (same content, different compression), which tfds rejects.

Content check: the decoded files are hashed and compared with `FASHION_MNIST_SHA256`, the sha256 of the
official files *after decompression* (``zcat FILE | sha256sum``; identical for upstream's and Debian's
``.gz`` and for uncompressed copies). A copy with the right headers and sizes but altered images or labels
is refused with an error naming the file (``verify=False`` loads modified or partial copies). Hashing the
55 MB of decoded data costs about 0.1 s, next to about 1.3 s of gzip decoding, so the verdict is not cached.

Pure numpy: no TensorFlow import.
"""

import hashlib
import os
import struct

import numpy as np

from zoo._checks import check_bool
from zoo._io import keras_home
from zoo.data._network import PROBE_ADDRESS, PROBE_TIMEOUT_S  # noqa: F401 - kept importable from here
from zoo.data._network import network_available as _network_available
from zoo.data.idx import IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, IDXFormatError, read_idx

__all__ = ["fashion_mnist", "FASHION_MNIST_CLASSES", "FASHION_MNIST_MEAN_STD", "FASHION_MNIST_FILES",
           "FASHION_MNIST_SHA256"]

#: Class names, index = label.
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)

#: Mean and standard deviation of the 60,000 training images scaled to [0, 1] (pixel-wise, one
#: channel); measured on the real files: 0.28604, 0.35302.
FASHION_MNIST_MEAN_STD = (0.2860, 0.3530)

#: split -> (images file, labels file).
FASHION_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}

#: file name -> sha256 of the official file after decompression (``zcat FILE | sha256sum``): IDX header +
#: data, 60,000 train / 10,000 test examples. Computed from the Debian package ``dataset-fashion-mnist``
#: (the upstream release, recompressed), whose headers and sizes match the official ones.
FASHION_MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "train-labels-idx1-ubyte.gz": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "t10k-images-idx3-ubyte.gz": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "t10k-labels-idx1-ubyte.gz": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
}

ENV_VAR = "ZOO_FASHION_MNIST_DIR"
DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"
_SPLIT_SIZES = {"train": 60000, "test": 10000}
_NUM_CLASSES = 10
_IMAGE_SHAPE = (28, 28)


def _keras_cache_dirs():
    """Folders keras' `get_file` uses for `keras.datasets.fashion_mnist` (same rule as keras)."""
    dirs = [os.path.join(keras_home(), "datasets", "fashion-mnist")]
    # keras falls back to /tmp/.keras when the home folder is not writable.
    dirs.append(os.path.join("/tmp", ".keras", "datasets", "fashion-mnist"))
    return dirs


def _find_file(folder, name):
    """`folder/name` or its uncompressed twin (without .gz), or None."""
    for candidate in (name, name[:-3] if name.endswith(".gz") else name + ".gz"):
        p = os.path.join(folder, candidate)
        if os.path.isfile(p):
            return p
    return None


def _files_in(folder):
    """{split: (images path, labels path)} if all four files are in `folder`, else the missing names."""
    found, missing = {}, []
    for split, names in FASHION_MNIST_FILES.items():
        paths = [_find_file(folder, n) for n in names]
        missing += [n for n, p in zip(names, paths) if p is None]
        found[split] = tuple(paths)
    return (found, []) if not missing else (None, missing)


def _check_official(name, where, arr, magic):
    """IDXFormatError unless `arr` (decoded from the file `name`, read from `where`) is the official content."""
    n = _SPLIT_SIZES["train" if name.startswith("train") else "test"]
    what = "images" if magic == IDX_IMAGES_MAGIC else "labels"
    if arr.shape[0] != n:
        raise IDXFormatError(f"Fashion-MNIST: {where} holds {arr.shape[0]} {what}; the official {name} has {n}: "
                             "this is not the official dataset (a subset, or another dataset in its format). "
                             "Pass verify=False to load a modified or partial copy.")
    h = hashlib.sha256(struct.pack(">" + "I" * (1 + arr.ndim), magic, *arr.shape))
    h.update(np.ascontiguousarray(arr, dtype=np.uint8))
    actual, expected = h.hexdigest(), FASHION_MNIST_SHA256[name]
    if actual != expected:
        raise IDXFormatError(f"Fashion-MNIST: {where}: the sha256 of its decoded content is {actual}, the official "
                             f"{name}'s is {expected}. The file has the official header and size but other "
                             f"{what}: it has been altered or damaged. Delete it and fetch the official files "
                             "again (`apt-get install --reinstall dataset-fashion-mnist`, or "
                             "zoo.data.fashion_mnist(download=True) once it is removed), or pass verify=False "
                             "to load a modified copy on purpose.")


def _load_split(split, images_path, labels_path, verify):
    try:
        x = read_idx(images_path, expected_magic=IDX_IMAGES_MAGIC)
        y = read_idx(labels_path, expected_magic=IDX_LABELS_MAGIC)
    except IDXFormatError as e:
        raise IDXFormatError(f"Fashion-MNIST: {e}") from e
    if x.shape[1:] != _IMAGE_SHAPE:
        raise IDXFormatError(f"Fashion-MNIST: {images_path} holds images of shape {x.shape[1:]}, "
                             f"expected {_IMAGE_SHAPE}")
    if x.shape[0] != y.shape[0]:
        raise IDXFormatError(f"Fashion-MNIST: {images_path} has {x.shape[0]} images but {labels_path} "
                             f"has {y.shape[0]} labels")
    if y.size and y.max() >= _NUM_CLASSES:
        raise IDXFormatError(f"Fashion-MNIST: {labels_path} has label {int(y.max())}, labels must be in "
                             f"[0, {_NUM_CLASSES - 1}]")
    if verify:
        images_name, labels_name = FASHION_MNIST_FILES[split]
        _check_official(images_name, images_path, x, IDX_IMAGES_MAGIC)
        _check_official(labels_name, labels_path, y, IDX_LABELS_MAGIC)
    return x.astype(np.uint8, copy=False), y.astype(np.int64)


def _load_folder(files, verify):
    return _load_split("train", *files["train"], verify), _load_split("test", *files["test"], verify)


def _download():
    import keras  # imported lazily: only this path needs it

    (x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
    return ((np.asarray(x_train, np.uint8), np.asarray(y_train, np.int64)),
            (np.asarray(x_test, np.uint8), np.asarray(y_test, np.int64)))


def _check_download(arrays):
    """`arrays` from `_download` if they are the official content (keras' cache files are named)."""
    where = os.path.join(_keras_cache_dirs()[0], "{}") + " (downloaded by keras.datasets.fashion_mnist.load_data())"
    for split, (x, y) in zip(("train", "test"), arrays):
        images_name, labels_name = FASHION_MNIST_FILES[split]
        _check_official(images_name, where.format(images_name), x, IDX_IMAGES_MAGIC)
        _check_official(labels_name, where.format(labels_name), y, IDX_LABELS_MAGIC)
    return arrays


def fashion_mnist(path=None, download=None, verify=True):
    """Load Fashion-MNIST from local IDX files (offline first), downloading only when allowed.

    Returns:
        ``((x_train, y_train), (x_test, y_test))``: images are uint8 numpy arrays ``[N, 28, 28]`` in
        0..255, labels int64 numpy arrays ``[N]`` in 0..9 (names in `FASHION_MNIST_CLASSES`);
        60,000 train and 10,000 test examples for the real dataset (6,000 / 1,000 per class).

    Args:
        path: folder holding the four IDX files. When given it is the only place searched, and a
            missing file there is an error (no silent fallback to another copy).
        download: ``True``: download through ``keras.datasets.fashion_mnist.load_data()`` (into
            keras' cache) if no local copy is found. ``False``: never download. ``None`` (default):
            download only if a TCP probe of keras' download host answers within 0.5 s.
        verify: True (default): the decoded files must be the official ones (60,000 / 10,000 examples,
            sha256 in `FASHION_MNIST_SHA256`); False: load any well-formed copy (a subset, a modified or
            a synthetic dataset in the same format).

    Search order when ``path`` is None: ``$ZOO_FASHION_MNIST_DIR`` (if set, it is the only place
    searched, like ``path``), ``/usr/share/datasets/fashion-mnist/``, ``$KERAS_HOME/datasets/
    fashion-mnist/`` (``~/.keras`` by default), then the download described above.

    Raises:
        FileNotFoundError: no local copy and no download allowed/possible; the message lists every
            place searched and the three ways to fix it. Returns within about a second offline.
        zoo.data.idx.IDXFormatError: a file is corrupt (bad magic number, truncated, images and
            labels of different lengths, labels outside 0..9, images not 28x28), or, with ``verify``,
            not the official content (other sizes, or a sha256 that differs: the file is named).

    Example:
        >>> (x_train, y_train), (x_test, y_test) = zoo.data.fashion_mnist()
        >>> x_train.shape, x_train.dtype, y_train.dtype
        ((60000, 28, 28), dtype('uint8'), dtype('int64'))
        >>> zoo.data.FASHION_MNIST_CLASSES[y_train[0]]
        'Ankle boot'
    """
    verify = check_bool(verify, "verify", owner="fashion_mnist")
    names = [n for pair in FASHION_MNIST_FILES.values() for n in pair]
    explicit = None
    if path is not None:
        explicit = ("path argument", os.fspath(path))
    elif os.environ.get(ENV_VAR):
        explicit = (f"${ENV_VAR}", os.environ[ENV_VAR])
    if explicit is not None:
        what, folder = explicit
        if not os.path.isdir(folder):
            raise FileNotFoundError(f"Fashion-MNIST: the folder given by the {what} does not exist: "
                                    f"{folder!r}. It must hold {', '.join(names)}.")
        files, missing = _files_in(folder)
        if files is None:
            raise FileNotFoundError(f"Fashion-MNIST: the folder given by the {what} ({folder!r}) lacks "
                                    f"{', '.join(missing)} (uncompressed copies without .gz also work).")
        return _load_folder(files, verify)

    searched = [DEBIAN_DIR] + _keras_cache_dirs()
    for folder in searched:
        if os.path.isdir(folder):
            files, _ = _files_in(folder)
            if files is not None:
                return _load_folder(files, verify)

    if download is None:
        download = _network_available()
        reason = "download=None and the network probe failed (offline)"
    else:
        reason = "download=False"
    if download:
        try:
            arrays = _download()
        except Exception as e:  # keras raises bare Exception subclasses on network errors
            raise FileNotFoundError(
                "Fashion-MNIST: no local copy and the download through "
                f"keras.datasets.fashion_mnist.load_data() failed: {type(e).__name__}: {e}. "
                f"Searched: {', '.join(searched)}.") from e
        return _check_download(arrays) if verify else arrays
    raise FileNotFoundError(
        "Fashion-MNIST not found. Searched: " + ", ".join(searched) + f" ({reason}). Fix one of: "
        "(1) `apt-get install dataset-fashion-mnist` (installs the IDX files in " + DEBIAN_DIR + "); "
        f"(2) set {ENV_VAR} or pass path=... to a folder holding " + ", ".join(names) + "; "
        "(3) call zoo.data.fashion_mnist(download=True) on a machine with network access.")
