"""`zoo.pretrained.load`: a published model (or any `.keras` source) as a ready task model."""

from zoo.pretrained import _download


def load(name_or_source, *, sha256=None, cache_dir=None, offline=None, compile=True, progress=None, manifest=None):
    """Load a published model, or a `.keras` file from any source, as a ready task model.

    The file comes from `zoo.pretrained.path` (downloaded if needed, verified by sha256), and is loaded with
    `keras.saving.load_model(file, compile=False, safe_mode=True)`: published files are saved without optimizer
    state, so they load on every backend whichever one saved them. Preprocessing is inside the model: `predict`
    takes raw images (0..255).

    Args:
        name_or_source: a published name, a local file/directory, `file://`, `https://` or `hf://` source (as
            `zoo.pretrained.path`).
        sha256: expected sha256 (required for `https://` / `hf://` sources).
        cache_dir: cache root instead of the default (`$ZOO_WEIGHTS_CACHE`, `$KERAS_HOME/zoo/pretrained`).
        offline: True never touches the network (default: `$ZOO_OFFLINE` / `$HF_HUB_OFFLINE`).
        compile: compile with the model's own defaults (`model.compile()`: its loss, metrics and a fresh
            optimizer), so `evaluate` and `fit` work at once; False returns it uncompiled.
        progress: show a download progress bar (default: when stderr is a terminal).
        manifest: a manifest file instead of the package's.

    Returns:
        keras.Model: the task model (`zoo.models.ImageClassifier`, `ProtoNet`, `EmbeddingModel`, ...).

    Raises:
        WeightsUnavailableError, ValueError, FileNotFoundError: as `zoo.pretrained.path`.

    Example:
        >>> model = zoo.pretrained.load("lenet_fmnist_poincare_d64")
        >>> model.predict(x_test[:8]).argmax(-1)
    """
    import keras

    file = _download.path(name_or_source, sha256=sha256, cache_dir=cache_dir, offline=offline, progress=progress,
                          manifest=manifest)
    model = keras.saving.load_model(file, compile=False, safe_mode=True)
    if compile:
        model.compile()
    return model
