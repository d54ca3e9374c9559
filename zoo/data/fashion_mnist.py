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

Pure numpy: no TensorFlow import.
"""

import os
import socket
import threading

import numpy as np

from zoo.data.idx import IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, IDXFormatError, read_idx

__all__ = ["fashion_mnist", "FASHION_MNIST_CLASSES", "FASHION_MNIST_MEAN_STD", "FASHION_MNIST_FILES"]

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

ENV_VAR = "ZOO_FASHION_MNIST_DIR"
DEBIAN_DIR = "/usr/share/datasets/fashion-mnist"
# Host probed to decide whether `download=None` may download (keras' own download origin).
PROBE_ADDRESS = ("storage.googleapis.com", 443)
PROBE_TIMEOUT_S = 0.5
_NUM_CLASSES = 10
_IMAGE_SHAPE = (28, 28)


def _keras_cache_dirs():
    """Folders keras' `get_file` uses for `keras.datasets.fashion_mnist` (same rule as keras)."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    dirs = [os.path.join(home, "datasets", "fashion-mnist")]
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


def _network_available(address=PROBE_ADDRESS, timeout=PROBE_TIMEOUT_S):
    """True if a TCP connection to `address` opens within `timeout` seconds (DNS included).

    Runs in a daemon thread joined with a deadline, because name resolution ignores socket timeouts
    and can block for many seconds on an offline machine.
    """
    result = []

    def probe():
        try:
            with socket.create_connection(address, timeout=timeout):
                result.append(True)
        except Exception:  # noqa: BLE001 - any failure means "no network"
            result.append(False)

    t = threading.Thread(target=probe, daemon=True, name="zoo-network-probe")
    t.start()
    t.join(timeout + 0.1)
    return bool(result and result[0])


def _load_split(images_path, labels_path):
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
    return x.astype(np.uint8, copy=False), y.astype(np.int64)


def _load_folder(files):
    return _load_split(*files["train"]), _load_split(*files["test"])


def _download():
    import keras  # imported lazily: only this path needs it

    (x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
    return ((np.asarray(x_train, np.uint8), np.asarray(y_train, np.int64)),
            (np.asarray(x_test, np.uint8), np.asarray(y_test, np.int64)))


def fashion_mnist(path=None, download=None):
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

    Search order when ``path`` is None: ``$ZOO_FASHION_MNIST_DIR`` (if set, it is the only place
    searched, like ``path``), ``/usr/share/datasets/fashion-mnist/``, ``$KERAS_HOME/datasets/
    fashion-mnist/`` (``~/.keras`` by default), then the download described above.

    Raises:
        FileNotFoundError: no local copy and no download allowed/possible; the message lists every
            place searched and the three ways to fix it. Returns within about a second offline.
        zoo.data.idx.IDXFormatError: a file is corrupt (bad magic number, truncated, images and
            labels of different lengths, labels outside 0..9, images not 28x28).

    Example:
        >>> (x_train, y_train), (x_test, y_test) = zoo.data.fashion_mnist()
        >>> x_train.shape, x_train.dtype, y_train.dtype
        ((60000, 28, 28), dtype('uint8'), dtype('int64'))
        >>> zoo.data.FASHION_MNIST_CLASSES[y_train[0]]
        'Ankle boot'
    """
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
        return _load_folder(files)

    searched = [DEBIAN_DIR] + _keras_cache_dirs()
    for folder in searched:
        if os.path.isdir(folder):
            files, _ = _files_in(folder)
            if files is not None:
                return _load_folder(files)

    if download is None:
        download = _network_available()
        reason = "download=None and the network probe failed (offline)"
    else:
        reason = "download=False"
    if download:
        try:
            return _download()
        except Exception as e:  # keras raises bare Exception subclasses on network errors
            raise FileNotFoundError(
                "Fashion-MNIST: no local copy and the download through "
                f"keras.datasets.fashion_mnist.load_data() failed: {type(e).__name__}: {e}. "
                f"Searched: {', '.join(searched)}.") from e
    raise FileNotFoundError(
        "Fashion-MNIST not found. Searched: " + ", ".join(searched) + f" ({reason}). Fix one of: "
        "(1) `apt-get install dataset-fashion-mnist` (installs the IDX files in " + DEBIAN_DIR + "); "
        f"(2) set {ENV_VAR} or pass path=... to a folder holding " + ", ".join(names) + "; "
        "(3) call zoo.data.fashion_mnist(download=True) on a machine with network access.")
