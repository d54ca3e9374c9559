"""A thin, offline-safe adapter over `tensorflow_datasets` (tfds).

`tfds.load` with downloading allowed retries for about 200 s on a machine without network before it
fails. `load_tfds` never downloads unless asked (``download=True``) and turns "not prepared" into a
clear error that names the dataset and how to prepare it. With ``download=True`` it first reads prepared
data without touching the network, and before downloading it probes the network (the probe of
`zoo.data.fashion_mnist`, about 0.5 s), so offline it fails in about a second, not after minutes.
"""

import os

from zoo._checks import check_bool
from zoo.data._network import PROBE_ADDRESS, PROBE_TIMEOUT_S
from zoo.data._network import network_available as _network_available

__all__ = ["load_tfds", "DatasetNotPreparedError"]


class DatasetNotPreparedError(FileNotFoundError):
    """A tfds dataset is not prepared in the data directory and downloading was not allowed or not possible."""


def _default_data_dir():
    return os.environ.get("TFDS_DATA_DIR") or os.path.join(os.path.expanduser("~"), "tensorflow_datasets")


def _not_prepared(name, split, data_dir, why):
    """The DatasetNotPreparedError for `name`, saying `why` it was not downloaded and how to prepare it."""
    where = data_dir if data_dir is not None else _default_data_dir()
    base = name.split(":")[0]
    return DatasetNotPreparedError(
        f"tfds dataset {name!r} (split {split!r}) is not prepared in data_dir {os.fspath(where)!r}, {why}. "
        "Prepare it once on a machine with network access: "
        f"`tfds build {base} --data_dir {os.fspath(where)}`, or call "
        f"zoo.data.load_tfds({name!r}, {split!r}, download=True"
        + (f", data_dir={os.fspath(data_dir)!r}" if data_dir is not None else "") + "); or pass "
        "data_dir=... (or set $TFDS_DATA_DIR) to a folder where it is already prepared. "
        "Datasets with manual downloads also need "
        "download_and_prepare_kwargs={'download_config': tfds.download.DownloadConfig(manual_dir=...)}.")


def load_tfds(name, split, data_dir=None, download=False, as_supervised=True, **kw):
    """Load a prepared tfds dataset as a `tf.data.Dataset`, without ever downloading by default.

    Returns:
        whatever ``tfds.load`` returns for these arguments: a `tf.data.Dataset` of ``(image, label)``
        pairs when ``as_supervised=True`` (the default), of feature dicts otherwise; a dict of
        datasets when ``split=None``; ``(dataset, info)`` when ``with_info=True`` is passed.

    Args:
        name: tfds name, optionally with config and version, e.g. ``"mnist"``, ``"omniglot"``,
            ``"cifar100:3.0.2"``.
        split: tfds split string, e.g. ``"train"``, ``"test"``, ``"train[:90%]"``.
        data_dir: folder of prepared tfds data; None uses tfds' default (``$TFDS_DATA_DIR`` or
            ``~/tensorflow_datasets``).
        download: False (default): only read prepared data, fail fast if it is absent. True:
            read prepared data if there is some, else let tfds download and prepare it (needs network
            access: a probe of about 0.5 s runs first, and offline the call fails at once).
        as_supervised: return ``(input, label)`` tuples (tfds' ``supervised_keys``).
        **kw: passed through to ``tfds.load`` (``shuffle_files``, ``with_info``, ``read_config``,
            ``builder_kwargs``, ``download_and_prepare_kwargs``, ``batch_size``, ...).

    Raises:
        DatasetNotPreparedError (a FileNotFoundError): the dataset is not prepared in ``data_dir``
            and ``download`` is False, or ``download`` is True and the machine is offline; the message
            gives the ``tfds build`` command and the ``download=True`` argument.
        ValueError: ``name`` is not a tfds dataset (tfds' ``DatasetNotFoundError``, re-raised with
            the name).

    Example:
        >>> ds = zoo.data.load_tfds("mnist", "train", data_dir="/data/tfds")
        >>> ds = ds.map(lambda image, label: (image, label)).batch(128)
        >>> ds = zoo.data.load_tfds("omniglot", "train", download=True)   # on a machine with network
    """
    import tensorflow_datasets as tfds

    download = check_bool(download, "download", owner="load_tfds")
    try:
        # Prepared data first, without the network, even when downloading is allowed.
        return tfds.load(name, split=split, data_dir=data_dir, download=False,
                         as_supervised=as_supervised, **kw)
    except tfds.core.registered.DatasetNotFoundError as e:
        raise ValueError(f"load_tfds: {name!r} is not a tensorflow_datasets dataset ({e})") from e
    except AssertionError as e:
        # tfds raises a bare AssertionError "Dataset X: could not find data in DIR ..." when the
        # dataset is not prepared and download=False.
        if "could not find data" not in str(e):
            raise
        if not download:
            raise _not_prepared(name, split, data_dir, "and load_tfds does not download unless asked") from e
        if not _network_available():
            raise _not_prepared(
                name, split, data_dir,
                f"and download=True cannot fetch it: this machine looks offline (a TCP connection to "
                f"{PROBE_ADDRESS[0]}:{PROBE_ADDRESS[1]}, where tfds looks first, did not open within "
                f"{PROBE_TIMEOUT_S} s; without this check tfds would retry for minutes)") from e
    return tfds.load(name, split=split, data_dir=data_dir, download=True, as_supervised=as_supervised, **kw)
