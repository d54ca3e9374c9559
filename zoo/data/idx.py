"""Reader and writer for the IDX file format (MNIST, Fashion-MNIST, EMNIST, KMNIST).

An IDX file is a 4-byte magic number, one big-endian uint32 per dimension, then the array data in
big-endian, C order. The magic number is ``0x0000`` (two zero bytes), one byte naming the element
type, and one byte giving the number of dimensions; so uint8 images ``[N, rows, cols]`` have magic
``0x00000803 = 2051`` and uint8 labels ``[N]`` have ``0x00000801 = 2049``. Files ending in ``.gz``
are gzip-compressed. Reference: http://yann.lecun.com/exdb/mnist/ (section "File formats").

Pure numpy: no TensorFlow import.
"""

import gzip
import os
import struct

import numpy as np

from zoo._io import atomic_path

__all__ = ["read_idx", "write_idx", "IDX_IMAGES_MAGIC", "IDX_LABELS_MAGIC", "IDXFormatError"]

#: Magic number of a uint8 array with 3 dimensions (images ``[N, rows, cols]``).
IDX_IMAGES_MAGIC = 2051
#: Magic number of a uint8 array with 1 dimension (labels ``[N]``).
IDX_LABELS_MAGIC = 2049

# IDX type byte -> big-endian numpy dtype.
_TYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dt.newbyteorder("="): code for code, dt in _TYPES.items()}


class IDXFormatError(ValueError):
    """An IDX file is truncated, has a wrong magic number or inconsistent sizes."""


def _open(path, mode):
    return gzip.open(path, mode) if str(path).endswith(".gz") else open(path, mode)


def read_idx(path, expected_magic=None):
    """Read an IDX file (optionally ``.gz``) into a numpy array.

    Returns:
        numpy array with the file's dimensions and element type, in native byte order, writable.

    Args:
        path: file path; gzip-decompressed when it ends with ``.gz``.
        expected_magic: optional int (e.g. ``2051`` for uint8 images, ``2049`` for uint8 labels);
            a different magic number raises `IDXFormatError`.

    Raises:
        FileNotFoundError: the file does not exist.
        IDXFormatError: bad magic number, unknown type byte, truncated data, trailing bytes, or a
            gzip stream that does not decompress.

    Example:
        >>> labels = zoo.data.read_idx("train-labels-idx1-ubyte.gz", expected_magic=2049)
        >>> labels.shape
        (60000,)
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"IDX file not found: {path}")
    try:
        with _open(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise IDXFormatError(f"{path}: cannot read/decompress the file ({e}); it is probably corrupt "
                             "or truncated, delete it and fetch it again") from e
    if len(data) < 4:
        raise IDXFormatError(f"{path}: only {len(data)} bytes, too short for an IDX header (4-byte magic)")
    magic = struct.unpack(">I", data[:4])[0]
    zero, type_code, ndim = magic >> 16, (magic >> 8) & 0xFF, magic & 0xFF
    if expected_magic is not None and magic != expected_magic:
        raise IDXFormatError(f"{path}: magic number {magic} (0x{magic:08x}), expected {expected_magic} "
                             f"(0x{expected_magic:08x}); this is not the IDX file it is named as")
    if zero != 0 or type_code not in _TYPES or ndim == 0:
        raise IDXFormatError(f"{path}: magic number {magic} (0x{magic:08x}) is not an IDX header "
                             "(must be 0x0000, a type byte in {0x08,0x09,0x0B,0x0C,0x0D,0x0E}, ndim >= 1)")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise IDXFormatError(f"{path}: truncated header ({len(data)} bytes, need {header} for {ndim} dims)")
    shape = struct.unpack(">" + "I" * ndim, data[4:header])
    dtype = _TYPES[type_code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    got = len(data) - header
    if got != expected:
        raise IDXFormatError(f"{path}: header says shape {tuple(shape)} ({expected} data bytes) but the "
                             f"file holds {got} data bytes; the file is truncated or corrupt")
    arr = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return arr.astype(dtype.newbyteorder("="), copy=True)


def write_idx(path, array):
    """Write a numpy array as an IDX file (gzip-compressed when ``path`` ends with ``.gz``).

    Returns:
        the path written, as a string.

    Args:
        path: destination file.
        array: numpy array of uint8, int8, int16, int32, float32 or float64 with at least 1 dim
            (e.g. uint8 images ``[N, 28, 28]`` → magic 2051, uint8 labels ``[N]`` → magic 2049).

    Example:
        >>> zoo.data.write_idx("t10k-labels-idx1-ubyte.gz", np.arange(10, dtype=np.uint8))
    """
    array = np.asarray(array)
    if array.ndim == 0 or array.ndim > 255:
        raise ValueError(f"array must have 1..255 dimensions, got shape {array.shape}")
    code = _CODES.get(array.dtype.newbyteorder("="))
    if code is None:
        raise ValueError(f"array dtype {array.dtype} has no IDX type; use one of "
                         f"{sorted(str(d.newbyteorder('=')) for d in _TYPES.values())}")
    magic = (code << 8) | array.ndim
    header = struct.pack(">I", magic) + struct.pack(">" + "I" * array.ndim, *array.shape)
    path = os.fspath(path)
    with atomic_path(path) as tmp:  # same ending (".gz" picks gzip); a failed write keeps any previous file
        with _open(tmp, "wb") as f:
            f.write(header)
            f.write(np.ascontiguousarray(array, dtype=_TYPES[code]).tobytes())
    return path
