"""File helpers shared by the zoo and the recipes: atomic writes (a temporary file in the same folder, then a
rename), file hashes and the Keras home folder.

A crash or `kill -9` in the middle of a write leaves the previous file intact (the rename is atomic on POSIX
and Windows when both paths are on one file system, which a temporary file in the same folder guarantees)
and no partial file under the final name; a failed write removes its temporary file.

Example:
    >>> with atomic_path("runs/x/model.keras") as tmp:
    ...     model.save(tmp)                 # Keras writes tmp; it becomes runs/x/model.keras only when complete
"""

import contextlib
import hashlib
import os

__all__ = ["atomic_path", "atomic_write_text", "keras_home", "sha256_file"]


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path next to `path`, ending like it (".keras", ".weights.h5": Keras checks the ending);
    rename it to `path` when the block succeeds. A block that writes nothing leaves `path` as it was."""
    path = os.fspath(path)
    folder, base = os.path.split(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f".tmp-{os.getpid()}-{base}")
    try:
        yield tmp
        if os.path.exists(tmp):
            os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def atomic_write_text(path, text):
    """Write `text` to `path` atomically (UTF-8)."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
    return path


def sha256_file(path):
    """Hex sha256 of a file's bytes (read in 1 MiB chunks)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def keras_home():
    """Keras' home folder, as `keras.utils.get_file` finds it: `$KERAS_HOME`, else `~/.keras`."""
    return os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
