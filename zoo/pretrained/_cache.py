"""Where downloaded weights live, whether the network may be used, and the sha256 argument's check.

Cache root, first that applies: the `cache_dir` argument, `$ZOO_WEIGHTS_CACHE`, `$KERAS_HOME/zoo/pretrained`,
`~/.keras/zoo/pretrained`; when that is not writable, `/tmp/.keras/zoo/pretrained` (keras' own fallback). A
published model sits at `<root>/<name>/<sha256[:16]>/<file>` (content-addressed: a new version never overwrites
an old one); a file fetched from a bare URL at `<root>/urls/<sha256[:16]>/<file name>`.

Offline, first that applies: the `offline` argument, `$ZOO_OFFLINE`, `$HF_HUB_OFFLINE` (both read at call time,
unlike huggingface_hub, which reads its variable at import).
"""

import os

from zoo._io import keras_home

CACHE_ENV = "ZOO_WEIGHTS_CACHE"
OFFLINE_ENV = "ZOO_OFFLINE"
#: Seconds to wait for a connection / between bytes of a download (`$ZOO_CONNECT_TIMEOUT`, `$ZOO_READ_TIMEOUT`).
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 60.0
_TRUE = ("1", "true", "yes", "on")


def default_cache_dir():
    """The cache root when no `cache_dir` is given (see the module docstring)."""
    if os.environ.get(CACHE_ENV):
        return os.path.expanduser(os.environ[CACHE_ENV])
    return os.path.join(keras_home(), "zoo", "pretrained")


def fallback_cache_dir():
    """Where downloads go when the default cache is not writable (as `keras.utils.get_file`)."""
    return os.path.join("/tmp", ".keras", "zoo", "pretrained")


def cache_dirs(cache_dir=None):
    """Cache roots to look in, in order: the given/default one, then (no `cache_dir` given) the fallback."""
    if cache_dir is not None:
        return [os.path.expanduser(os.fspath(cache_dir))]
    dirs = [default_cache_dir()]
    if fallback_cache_dir() not in dirs:
        dirs.append(fallback_cache_dir())
    return dirs


def writable_cache_dir(cache_dir=None):
    """The first cache root that exists or can be created and is writable; None if none is."""
    for root in cache_dirs(cache_dir):
        try:
            os.makedirs(root, exist_ok=True)
        except OSError:
            continue
        if os.access(root, os.W_OK | os.X_OK):
            return root
    return None


def is_offline(offline=None):
    """The effective offline switch (see the module docstring)."""
    if offline is not None:
        return bool(offline)
    return any(os.environ.get(var, "").strip().lower() in _TRUE for var in (OFFLINE_ENV, "HF_HUB_OFFLINE"))


def timeouts():
    """(connect, read) timeouts in seconds, from the environment or the defaults."""
    def read(var, default):
        try:
            value = float(os.environ.get(var, default))
        except ValueError:
            return default
        return value if value > 0 else default
    return read("ZOO_CONNECT_TIMEOUT", CONNECT_TIMEOUT), read("ZOO_READ_TIMEOUT", READ_TIMEOUT)


def check_sha256(value, name="sha256"):
    """`value` as 64 lowercase hex digits (an optional "sha256:" prefix is dropped), or a ValueError naming it."""
    if value is None:
        return None
    text = str(value).strip().lower()
    if text.startswith("sha256:"):
        text = text[len("sha256:"):]
    if len(text) != 64 or any(ch not in "0123456789abcdef" for ch in text):
        raise ValueError(f"zoo.pretrained: `{name}` must be 64 hex digits (a sha256, optionally 'sha256:...'); "
                         f"got {value!r}.")
    return text


def entry_cache_path(root, name, sha256, file_name):
    """`<root>/<name>/<sha256[:16]>/<file_name>`."""
    return os.path.join(root, name, sha256[:16], file_name)


def remove_quietly(path, stop=None):
    """Delete file `path` if present, then its empty parent folders up to (not including) `stop`."""
    try:
        if os.path.isfile(path):
            os.remove(path)
    except OSError:
        return
    folder = os.path.dirname(path)
    while stop and os.path.abspath(folder).startswith(os.path.abspath(stop) + os.sep):
        try:
            os.rmdir(folder)
        except OSError:
            break
        folder = os.path.dirname(folder)
