"""Getting a verified local file for a published model or a source: `zoo.pretrained.path` and `fetch`.

Sources: a manifest name; a local file or a directory holding `model.keras`; `file://`; relative
`file:weights/...` (against the checkout, in manifest entries); `https://` / `http://` (downloaded with pooch:
timeouts, a temporary file in the cache folder renamed only once complete and hash-checked); and
`hf://org/repo@revision/path/in/repo` (huggingface_hub, optional, imported when such a source is used; the file
stays in the Hugging Face cache and is hash-checked in place).

Every file is checked against its sha256 before it is returned. For a published name the order is: the zoo cache
(never touches the network), local sources (a checkout's `weights/` folder: works on a read-only machine without
any cache), then, unless offline, each remote source in turn; a failure moves on to the next source, and the final
error lists every source tried with its reason.
"""

import os
import shutil
import sys

from zoo._io import sha256_file
from zoo.pretrained import _cache, _manifest

#: Hint printed when huggingface_hub is missing.
HF_INSTALL = "pip install huggingface_hub"


class WeightsUnavailableError(OSError):
    """No verified file could be obtained for a published model or a source (offline with nothing cached, every
    source unreachable or failing its sha256); the message lists each source tried and how to fetch the file on
    another machine."""


# -- sources --------------------------------------------------------------------------------------------------
def source_kind(source):
    """"http", "hf", "file" (file:// or relative file:) or "local" (a path)."""
    lower = source.lower()
    if lower.startswith(("https://", "http://")):
        return "http"
    if lower.startswith("hf://"):
        return "hf"
    if lower.startswith("file:"):
        return "file"
    return "local"


def local_file(source):
    """The local path a `file:`/`file://`/plain-path source names (relative `file:` against the checkout); a
    directory stands for the `model.keras` inside it."""
    if source.lower().startswith("file://"):
        from urllib.parse import unquote, urlparse

        target = unquote(urlparse(source).path)
    elif source.lower().startswith("file:"):
        target = source[len("file:"):]
        if not os.path.isabs(target):
            target = os.path.join(_manifest.REPO_ROOT, target)
    else:
        target = os.path.expanduser(source)
    if os.path.isdir(target):
        target = os.path.join(target, "model.keras")
    return target


def parse_hf(source):
    """`hf://org/repo@revision/path/in/repo` -> (repo_id, revision or None, filename)."""
    rest = source[len("hf://"):]
    parts = rest.split("/")
    if len(parts) < 3 or not all(parts):
        raise ValueError(f"zoo.pretrained: {source!r} is not an hf:// source; expected "
                         "hf://org/repo@revision/path/in/repo (e.g. hf://org/zoo-weights@<commit>/name/model.keras).")
    repo, revision = parts[1], None
    if "@" in repo:
        repo, revision = repo.split("@", 1)
    return f"{parts[0]}/{repo}", revision or None, "/".join(parts[2:])


def _hf_cache_dir():
    """huggingface_hub's cache, from the environment at call time (it reads it only at import)."""
    if os.environ.get("HF_HUB_CACHE"):
        return os.environ["HF_HUB_CACHE"]
    home = os.environ.get("HF_HOME") or os.path.join(os.path.expanduser("~"), ".cache", "huggingface")
    return os.path.join(home, "hub")


def _verify(file, sha256):
    """None if `file` has `sha256` (or no hash is asked for), else the reason it does not."""
    if sha256 is None:
        return None
    actual = sha256_file(file)
    return None if actual == sha256 else f"sha256 {actual} does not match the expected {sha256}"


def _fetch_hf(source, sha256, offline):
    try:
        import huggingface_hub
    except ImportError as e:
        raise ImportError(f"zoo.pretrained: {source!r} needs huggingface_hub ({HF_INSTALL}).") from e
    repo_id, revision, filename = parse_hf(source)
    kwargs = dict(repo_id=repo_id, filename=filename, revision=revision, cache_dir=_hf_cache_dir())
    file = huggingface_hub.hf_hub_download(**kwargs, local_files_only=offline)
    reason = _verify(file, sha256)
    if reason and not offline:  # a corrupt copy in the HF cache: fetch it again once
        file = huggingface_hub.hf_hub_download(**kwargs, force_download=True)
        reason = _verify(file, sha256)
    if reason:
        raise ValueError(reason + " (file in the Hugging Face cache: " + file + ")")
    return file


def _fetch_http(url, sha256, dest, progress):
    import pooch

    folder, name = os.path.split(dest)
    connect, read = _cache.timeouts()
    downloader = pooch.HTTPDownloader(progressbar=bool(progress), timeout=(connect, read))
    # pooch streams into a temporary file in `folder`, checks the hash, then moves it onto `dest`; a cached file
    # whose hash no longer matches is downloaded again ("update").
    return pooch.retrieve(url, known_hash=f"sha256:{sha256}", fname=name, path=folder, downloader=downloader)


def _reason(error):
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    response = getattr(error, "response", None)
    status = getattr(response, "status_code", None)
    if status is not None:
        return f"HTTP {status} {getattr(response, 'reason', '') or ''}".strip()
    return f"{type(error).__name__}: {text}"[:300]


# -- the public functions -------------------------------------------------------------------------------------
def path(name_or_source, *, sha256=None, cache_dir=None, offline=None, progress=None, manifest=None):
    """The local file of a published model or a source, downloaded if needed and verified by sha256.

    Args:
        name_or_source: a published name (`zoo.pretrained.list_weights()`), a local `.keras` file or a directory
            holding `model.keras`, `file://...`, `https://...`, or `hf://org/repo@revision/path` (needs
            huggingface_hub).
        sha256: the expected sha256 (64 hex digits). Required for `https://` and `hf://` sources; checked for
            local files when given; must agree with the manifest for a name.
        cache_dir: cache root instead of `$ZOO_WEIGHTS_CACHE` / `$KERAS_HOME/zoo/pretrained`.
        offline: True never touches the network (default: `$ZOO_OFFLINE` or `$HF_HUB_OFFLINE`).
        progress: show a download progress bar (default: when stderr is a terminal).
        manifest: a manifest file instead of the package's.

    Returns:
        str: path of a local file whose sha256 was checked.

    Raises:
        WeightsUnavailableError: offline with nothing cached, or every source failed (the message lists them,
            with the expected sha256, the cache path to drop the file into and the `fetch` command).
        ValueError: an unknown name, a bad `sha256`, a remote source without `sha256`.
        FileNotFoundError: a local path that does not exist.

    Example:
        >>> zoo.pretrained.path("lenet_fmnist_poincare_d64")  # '.../weights/lenet_fmnist_poincare_d64/model.keras'
    """
    sha256 = _cache.check_sha256(sha256)
    offline = _cache.is_offline(offline)
    progress = sys.stderr.isatty() if progress is None else progress
    if isinstance(name_or_source, os.PathLike):
        name_or_source = os.fspath(name_or_source)
    if not isinstance(name_or_source, str) or not name_or_source:
        raise TypeError(f"zoo.pretrained: expected a published name, a path or a URL; got {name_or_source!r}.")
    if _manifest.is_name(name_or_source, manifest):
        entry = _manifest.info(name_or_source, manifest)
        if sha256 is not None and sha256 != entry["sha256"]:
            raise ValueError(f"zoo.pretrained: sha256={sha256} disagrees with the manifest's {entry['sha256']} for "
                             f"{entry['name']!r}; leave `sha256` out for published names.")
        return _entry_file(entry, cache_dir, offline, progress, manifest)
    return _source_file(name_or_source, sha256, cache_dir, offline, progress, manifest)


def _source_file(source, sha256, cache_dir, offline, progress, manifest):
    kind = source_kind(source)
    if kind in ("local", "file"):
        file = local_file(source)
        if not os.path.exists(file):
            if kind == "local" and "/" not in source and os.sep not in source and not source.endswith(".keras"):
                _manifest.info(source, manifest)  # raises: not a published name (with the closest names)
            raise FileNotFoundError(f"zoo.pretrained: {source!r}: no such file ({file}).")
        reason = _verify(file, sha256)
        if reason:
            raise WeightsUnavailableError(f"zoo.pretrained: {file}: {reason}.")
        return file
    if sha256 is None:
        raise ValueError(f"zoo.pretrained: {source!r} is a remote source: pass its sha256 (`sha256=`; the model card "
                         "lists it, `python -m zoo.pretrained hash FILE` computes it) so the download can be checked.")
    if kind == "hf":
        try:
            return _fetch_hf(source, sha256, offline)
        except (ImportError, ValueError):
            raise
        except Exception as e:  # noqa: BLE001 - huggingface_hub's errors, translated with the source named
            raise WeightsUnavailableError(f"zoo.pretrained: {source}: {_reason(e)}"
                                          + (" (offline: only the Hugging Face cache was searched)" if offline else "")
                                          ) from e
    name = os.path.basename(source.split("?", 1)[0].rstrip("/")) or "model.keras"
    for root in _cache.cache_dirs(cache_dir):
        cached = os.path.join(root, "urls", sha256[:16], name)
        if os.path.isfile(cached) and _verify(cached, sha256) is None:
            return cached
    if offline:
        raise WeightsUnavailableError(
            f"zoo.pretrained: offline, and {source} is not in the cache "
            f"({os.path.join(_cache.cache_dirs(cache_dir)[0], 'urls', sha256[:16], name)}). Download it on a machine "
            "with network and load the local file, or allow the network (offline=False, unset ZOO_OFFLINE).")
    root = _require_writable(cache_dir, source)
    dest = os.path.join(root, "urls", sha256[:16], name)
    try:
        return _fetch_http(source, sha256, dest, progress)
    except Exception as e:  # noqa: BLE001 - requests' and pooch's errors, translated with the URL named
        _cache.remove_quietly(dest, stop=root)
        raise WeightsUnavailableError(f"zoo.pretrained: could not download {source}: {_reason(e)}. Nothing was "
                                      "left in the cache.") from e


def _require_writable(cache_dir, what):
    root = _cache.writable_cache_dir(cache_dir)
    if root is None:
        raise WeightsUnavailableError(
            f"zoo.pretrained: no writable cache folder to download {what} into (tried "
            f"{', '.join(_cache.cache_dirs(cache_dir))}); pass cache_dir= or set {_cache.CACHE_ENV}.")
    return root


def _entry_file(entry, cache_dir, offline, progress, manifest):
    name, sha256, file_name = entry["name"], entry["sha256"], entry.get("file", "model.keras")
    tried = []
    # 1. the zoo cache: no network, ever
    for root in _cache.cache_dirs(cache_dir):
        cached = _cache.entry_cache_path(root, name, sha256, file_name)
        if os.path.isfile(cached):
            reason = _verify(cached, sha256)
            if reason is None:
                return cached
            tried.append((cached, f"cached copy is corrupt ({reason}); removed"))
            _cache.remove_quietly(cached, stop=root)
    # 2. local sources (a checkout's weights/ folder): no cache needed, works read-only
    sources = _manifest.entry_sources(entry, manifest)
    for source in sources:
        if source_kind(source) not in ("local", "file"):
            continue
        file = local_file(source)
        if not os.path.isfile(file):
            tried.append((source, f"no file at {file}"))
            continue
        reason = _verify(file, sha256)
        if reason is None:
            return file
        tried.append((source, reason))
    # 3. remote sources, unless offline (hf:// still looks in the Hugging Face cache when offline)
    remote = [s for s in sources if source_kind(s) in ("http", "hf")]
    for source in remote:
        if source_kind(source) == "http" and offline:
            tried.append((source, "skipped: offline"))
            continue
        try:
            if source_kind(source) == "hf":
                return _fetch_hf(source, sha256, offline)
            root = _require_writable(cache_dir, name)
            dest = _cache.entry_cache_path(root, name, sha256, file_name)
            try:
                return _fetch_http(source, sha256, dest, progress)
            except BaseException:
                _cache.remove_quietly(dest, stop=root)
                raise
        except ImportError:
            tried.append((source, f"skipped: huggingface_hub is not installed ({HF_INSTALL})"))
        except Exception as e:  # noqa: BLE001 - each source's failure is reported, then the next one is tried
            tried.append((source, _reason(e)))
    raise WeightsUnavailableError(_unavailable_message(entry, tried, cache_dir, offline, bool(remote)))


def _unavailable_message(entry, tried, cache_dir, offline, has_remote):
    name = entry["name"]
    target = _cache.entry_cache_path(_cache.cache_dirs(cache_dir)[0], name, entry["sha256"],
                                     entry.get("file", "model.keras"))
    why = "offline, and it is not in the cache" if offline else "no source gave a verified file"
    lines = [f"zoo.pretrained: cannot get {name!r} ({entry.get('size', '?')} bytes, sha256 {entry['sha256']}): "
             f"{why}."]
    if tried:
        lines.append("Sources tried:")
        lines += [f"  - {source}: {reason}" for source, reason in tried]
    if not has_remote:
        lines.append("No download source is configured for it (a release mirror can be set with "
                     f"${_manifest.BASE_URL_ENV} or the manifest's base_urls).")
    lines.append(f"To use it here: on a machine that has it, run `python -m zoo.pretrained fetch {name} DIR`, copy "
                 f"DIR here and pass cache_dir=DIR (or set {_cache.CACHE_ENV}=DIR); or place the file at {target}.")
    if offline:
        lines.append("Or allow the network: offline=False, unset ZOO_OFFLINE / HF_HUB_OFFLINE.")
    return "\n".join(lines)


def fetch(names, directory, *, offline=None, progress=None, manifest=None):
    """Put verified copies of published models into `directory`, laid out as a cache (`<dir>/<name>/<sha16>/
    model.keras`, plus the model card when available): copy the folder to an air-gapped machine and load with
    `cache_dir=<dir>` or `ZOO_WEIGHTS_CACHE=<dir>`.

    Args:
        names: a published name or a list of them.
        directory: the folder to fill (created if needed).

    Returns:
        list of str: the copied model files.

    Example:
        >>> zoo.pretrained.fetch(["lenet_fmnist_softmax_d64"], "zoo-weights")
    """
    names = [names] if isinstance(names, str) else list(names)
    out = []
    for name in names:
        entry = _manifest.info(name, manifest)
        source = path(name, offline=offline, progress=progress, manifest=manifest)
        dest = _cache.entry_cache_path(os.fspath(directory), name, entry["sha256"], entry.get("file", "model.keras"))
        if not (os.path.isfile(dest) and _verify(dest, entry["sha256"]) is None):
            _copy_atomic(source, dest)
        card = os.path.join(os.path.dirname(source), "README.md")
        if os.path.isfile(card):
            _copy_atomic(card, os.path.join(os.path.dirname(dest), "README.md"))
        out.append(dest)
    return out


def _copy_atomic(source, dest):
    from zoo._io import atomic_path

    with atomic_path(dest) as tmp:
        shutil.copyfile(source, tmp)

