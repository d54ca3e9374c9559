"""Prototype sets on disk: `.npy` files with a sha256 sidecar, and a cache keyed by (kind, num, dim, ...).

A uniform set of 1000 prototypes in 512-d takes a minute of numpy; it is estimated once and reused by
every later run with the same parameters. Files live in `$ZOO_PROTOTYPES_DIR`, else
`$KERAS_HOME/zoo/prototypes`, else `~/.keras/zoo/prototypes` (never inside the package).

Layout: `<name>.npy` (numpy's format, float32 [num, dim]) and `<name>.npy.sha256` ("<hex>  <name>.npy",
the `sha256sum` format). `load` refuses a file whose hash or shape is not the expected one.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from typing import Any

import numpy as np

from zoo._io import keras_home, sha256_file

__all__ = ["cache_dir", "save", "load", "sha256_file", "load_or_estimate", "PrototypeFileError"]

#: Environment variable naming the folder of cached prototype sets.
ENV_VAR = "ZOO_PROTOTYPES_DIR"


class PrototypeFileError(ValueError):
    """A prototype file is missing, corrupt, of the wrong shape or does not match its sha256."""


def cache_dir() -> str:
    """The folder of cached prototype sets ($ZOO_PROTOTYPES_DIR, $KERAS_HOME/zoo/prototypes or
    ~/.keras/zoo/prototypes); not created here."""
    if os.environ.get(ENV_VAR):
        return os.path.abspath(os.path.expanduser(os.environ[ENV_VAR]))
    return os.path.join(keras_home(), "zoo", "prototypes")


def save(path: str | os.PathLike, prototypes: Any) -> str:
    """Write `prototypes` (float32 [num, dim]) to `path` (.npy) and its sha256 to `path + ".sha256"`.

    Both files are written atomically (temporary file, then rename), so concurrent runs never read a
    half-written set; when writing fails (full disk, read-only folder) the temporary files are removed
    and the error is raised.

    Returns:
        the hex sha256 of the .npy file.

    Example:
        >>> digest = zoo.prototypes.save("protos_100x50.npy", zoo.prototypes.uniform(100, 50))
    """
    arr = np.ascontiguousarray(np.asarray(prototypes, dtype=np.float32))
    if arr.ndim != 2:
        raise ValueError(f"prototypes must be a [num, dim] array; got shape {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        raise ValueError("prototypes contain NaN or inf.")
    if arr.size and not np.all(np.any(arr != 0, axis=1)):
        raise ValueError("prototypes contain an all-zero row (a prototype needs a direction).")
    path = os.fspath(path)
    if not path.endswith(".npy"):
        raise ValueError(f"prototype files end in .npy; got {path!r}.")
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    temps = []
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".npy.tmp")
        temps.append(tmp)
        with os.fdopen(fd, "wb") as f:
            np.save(f, arr, allow_pickle=False)
        digest = sha256_file(tmp)
        fd2, tmp2 = tempfile.mkstemp(dir=folder, suffix=".sha256.tmp")
        temps.append(tmp2)
        with os.fdopen(fd2, "w") as f:
            f.write(f"{digest}  {os.path.basename(path)}\n")
        os.replace(tmp, path)
        os.replace(tmp2, path + ".sha256")
    except BaseException:
        # A full disk or an interrupt leaves no half-written temporary file behind.
        for t in temps:
            try:
                os.remove(t)
            except OSError:
                pass
        raise
    return digest


def _digest(value, what):
    """A sha256 hex digest (64 hex digits, any case, surrounding whitespace ignored) in lower case."""
    text = value.strip().lower() if isinstance(value, str) else ""
    if len(text) != 64 or any(ch not in "0123456789abcdef" for ch in text):
        shown = "empty" if isinstance(value, str) and not value.strip() else repr(value)
        raise PrototypeFileError(f"{what} is not a sha256 digest (64 hex digits): {shown}.")
    return text


def load(path: str | os.PathLike, shape: tuple[int, int] | None = None, sha256: str | None = None) -> np.ndarray:
    """Load a prototype set written by `save`, checking its hash and shape.

    Args:
        path: the .npy file.
        shape: optional expected (num, dim); either entry may be None (not checked).
        sha256: optional expected hex digest; default: the one in `path + ".sha256"` if that file exists.
            A file with neither is loaded unchecked.

    Returns:
        float32 numpy array [num, dim].

    Raises:
        PrototypeFileError: missing file, unreadable, hash mismatch, wrong shape or rank, non-finite values,
            an all-zero row (no direction: its cosine scores would be NaN).

    Example:
        >>> protos = zoo.prototypes.load("protos_100x50.npy", shape=(100, 50))
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise PrototypeFileError(f"prototype file {path!r} does not exist.")
    expected = None if sha256 is None else _digest(sha256, "`sha256`")
    sidecar = path + ".sha256"
    if expected is None and os.path.isfile(sidecar):
        with open(sidecar) as f:
            words = f.read().split()
        expected = _digest(words[0] if words else "", f"the sidecar file {sidecar!r}")
    if expected is not None:
        actual = sha256_file(path)
        if actual != expected:
            raise PrototypeFileError(f"prototype file {path!r} has sha256 {actual}, expected {expected}: the "
                                     "file is corrupt or not the set that was saved. Delete it to re-estimate.")
    try:
        arr = np.load(path, allow_pickle=False)
    except Exception as e:  # noqa: BLE001 - re-raised with the path
        raise PrototypeFileError(f"cannot read prototype file {path!r}: {e}") from e
    if arr.ndim != 2:
        raise PrototypeFileError(f"prototype file {path!r} holds shape {arr.shape}; expected [num, dim].")
    if shape is not None:
        for axis, (want, got) in enumerate(zip(shape, arr.shape)):
            if want is not None and int(want) != got:
                raise PrototypeFileError(f"prototype file {path!r} holds shape {arr.shape}; expected "
                                         f"{tuple(shape)} (axis {axis} differs).")
    if not np.all(np.isfinite(arr)):
        raise PrototypeFileError(f"prototype file {path!r} contains NaN or inf.")
    zero = np.flatnonzero(~np.any(arr != 0, axis=1))
    if zero.size:
        raise PrototypeFileError(f"prototype file {path!r} has all-zero row(s) {zero[:5].tolist()}: a prototype "
                                 "must be a non-zero vector (its direction is the class's target).")
    return arr.astype(np.float32)


def load_or_estimate(kind: str, num: int, dim: int, seed: int = 0, steps: int = 1000,
                     directory: str | os.PathLike | None = None, verbose: Any = "auto",
                     **kwargs: Any) -> np.ndarray:
    """The prototype set (kind, num, dim, seed, steps, ...) from the cache, estimated and saved if absent.

    Args:
        kind: "uniform" (estimated by `zoo.prototypes.uniform`, cached) or "etf" (closed form, not cached).
        num, dim: number and dimension of the prototypes.
        seed, steps, **kwargs: passed to `uniform`; they are part of the file name, so a different
            setting never reads another's file.
        directory: cache folder (default `cache_dir()`).
        verbose: progress bar of the estimate (see `uniform`; not part of the file name).

    Returns:
        float32 numpy array [num, dim].

    The cache is best effort: when the set cannot be written (read-only or missing home, full disk) a
    `RuntimeWarning` says so and the estimate is returned all the same (no temporary file is left).

    Example:
        >>> protos = zoo.prototypes.load_or_estimate("uniform", 100, 50)   # ~/.keras/zoo/prototypes/...
    """
    from zoo.prototypes.etf import etf
    from zoo.prototypes.uniform import uniform

    if kind == "etf":
        return etf(num, dim)
    if kind != "uniform":
        raise ValueError(f"kind must be 'uniform' or 'etf'; got {kind!r}.")
    extra = "".join(f"_{k}{kwargs[k]}" for k in sorted(kwargs))
    name = f"uniform_{int(num)}x{int(dim)}_seed{seed}_steps{int(steps)}{extra}.npy"
    path = os.path.join(directory or cache_dir(), name)
    if os.path.isfile(path):
        return load(path, shape=(num, dim))
    protos = uniform(num, dim, steps=steps, seed=seed, verbose=verbose, **kwargs)
    try:
        save(path, protos)
    except OSError as e:
        warnings.warn(f"zoo.prototypes: could not cache the prototype set in {path!r} ({e}); it will be "
                      f"estimated again next time. Set ${ENV_VAR} to a writable folder to keep it.",
                      RuntimeWarning, stacklevel=2)
    return protos
