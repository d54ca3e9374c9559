"""`EmbeddingProjector`: embeddings, labels and image sprites for TensorBoard's projector, every n epochs."""

import inspect
import math
import os
import re

import keras
import numpy as np

from zoo._checks import check_bool, check_choice, check_int
from zoo._io import atomic_path, atomic_write_text

__all__ = ["EmbeddingProjector"]

_OWNER = "EmbeddingProjector"
# Thumbnails keep the images' own size up to this many pixels per side (Fashion-MNIST and digits at 28,
# CIFAR at 32 stay as they are; larger images are shrunk, keeping their aspect ratio).
_THUMBNAIL_MAX = 32
# The projector's front end refuses sprites wider or taller than 8192 pixels (WebGL texture limit).
_SPRITE_MAX = 8192
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_\-]*$")
METADATA_FILE, SPRITE_FILE, CONFIG_FILE = "metadata.tsv", "sprite.png", "projector_config.pbtxt"


def _check_data(data):
    try:
        images, labels = data
    except (TypeError, ValueError):
        raise ValueError(f"{_OWNER}: `data` must be an (images, int labels) pair; got {type(data).__name__}.") from None
    images, labels = np.asarray(images), np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"{_OWNER}: `data` labels must be a 1-d integer array; got {labels.dtype} shape "
                         f"{labels.shape}.")
    if images.ndim < 2 or len(images) != len(labels) or len(labels) == 0:
        raise ValueError(f"{_OWNER}: `data` images must be an array [N, ...] with one image per label (N >= 1); got "
                         f"images of shape {images.shape} and {len(labels)} labels.")
    if labels.min() < 0:
        raise ValueError(f"{_OWNER}: `data` labels must be >= 0; got {int(labels.min())}.")
    return images, labels


def _check_class_names(class_names, labels):
    if class_names is None:
        return None
    if isinstance(class_names, str) or not all(isinstance(n, str) for n in class_names):
        raise ValueError(f"{_OWNER}: `class_names` must be a list of strings (one per class); got {class_names!r}.")
    class_names = [str(n) for n in class_names]
    if len(class_names) <= int(labels.max()):
        raise ValueError(f"{_OWNER}: `class_names` has {len(class_names)} names but `data` has label "
                         f"{int(labels.max())}; give one name per class 0..{int(labels.max())}.")
    return class_names


def _sprite_layout(shape, n):
    """(thumbnail height, width, mode, grid side) for images of `shape` [H, W(, C)]."""
    if len(shape) == 2 or (len(shape) == 3 and shape[-1] == 1):
        mode = "L"
    elif len(shape) == 3 and shape[-1] in (3, 4):
        mode = "RGB"
    else:
        raise ValueError(f"{_OWNER}: `sprite=True` needs images [N, H, W] or [N, H, W, 1|3|4]; got images of shape "
                         f"[N, {', '.join(map(str, shape))}] (pass sprite=False for data that is not images).")
    h, w = int(shape[0]), int(shape[1])
    grid = math.ceil(math.sqrt(n))
    scale = min(1.0, _THUMBNAIL_MAX / max(h, w), _SPRITE_MAX / (grid * max(h, w)))
    return max(1, int(h * scale)), max(1, int(w * scale)), mode, grid


def _to_uint8(images):
    """Raw images as uint8 0..255: floats in [0, 1] are scaled by 255, everything else is clipped."""
    if images.dtype == np.uint8:
        return images
    x = images.astype("float64")
    if np.issubdtype(images.dtype, np.floating) and x.size and np.nanmin(x) >= 0 and np.nanmax(x) <= 1:
        x = x * 255.0
    return np.clip(np.nan_to_num(np.rint(x)), 0, 255).astype(np.uint8)


def _sprite(images, n_points):
    """The sprite image (a PIL image): thumbnails in a square grid, row by row from the top left."""
    from PIL import Image

    th, tw, mode, grid = _sprite_layout(images.shape[1:], n_points)
    images = _to_uint8(images)
    if images.ndim == 4:
        images = images[..., 0] if mode == "L" else images[..., :3]
    sheet = np.zeros((grid * th, grid * tw) + ((3,) if mode == "RGB" else ()), np.uint8)
    for i, image in enumerate(images):
        thumb = Image.fromarray(np.ascontiguousarray(image), mode)
        if thumb.size != (tw, th):
            thumb = thumb.resize((tw, th), Image.Resampling.BOX)
        r, c = divmod(i, grid)
        sheet[r * th:(r + 1) * th, c * tw:(c + 1) * tw] = np.asarray(thumb)
    return Image.fromarray(sheet, mode), (th, tw)


def _tsv_cell(text):
    return " ".join(str(text).split())  # no tabs or newlines inside a cell


@keras.saving.register_keras_serializable(package="zoo")
class EmbeddingProjector(keras.callbacks.Callback):
    """Write the embeddings of a fixed sample of images, their labels and a sprite of the images in the format of
    TensorBoard's embedding projector, at the end of every `every_n_epochs`-th epoch and at the end of training.

        e_i = model.embed(x_i)            (zoo.models task models: the head's geometry)
        e_i = model.predict(x_i)          (any other Keras model)
        t_i = logmap0(e_i, c) = artanh(√c‖e_i‖) e_i / (√c‖e_i‖)     (Poincaré ball points, tangent view)

    The sample is at most `max_points` images of `data`, drawn once without replacement with `seed` (sorted, so
    the metadata rows follow `data`'s order). Each write leaves in `log_dir`:

    - ``{name}-{k}.index`` / ``.data-*``: a TensorFlow checkpoint (`tf.train.Checkpoint` of `tf.Variable`s, k
      counts the writes) with one [n, d] float32 tensor per view, and the ``checkpoint`` state file naming the
      latest; older checkpoints of this callback are removed after the state file moved on;
    - ``metadata.tsv``: a header row ``label<TAB>class`` and one row per point (class = `class_names[label]`,
      else the label);
    - ``sprite.png``: the thumbnails in a square grid (images' own size up to 32 px per side, grey or RGB; the
      sprite stays within the projector's 8192 px), if `sprite`;
    - ``projector_config.pbtxt``: a `ProjectorConfig` listing each tensor with its metadata and sprite.

    The views: Euclidean and spherical embeddings are one tensor ``{name}``. Poincaré-ball embeddings
    (`geometry` or the model's `geometry` is "poincare" with curvature c) are offered as ball coordinates
    ``{name}_ball`` and as tangent vectors at the origin ``{name}_tangent`` (`zoo.geometry.poincare.logmap0`;
    PCA and t-SNE of the tangent vectors are not squeezed against the boundary), or one of them (`poincare`).

    Point TensorBoard at `log_dir` (or its parent): ``tensorboard --logdir LOG_DIR``, tab "Projector". The
    `keras.callbacks.TensorBoard` root folder is a good `log_dir` (its runs live in sub-folders); do not share
    `log_dir` with other TensorFlow checkpoints (the ``checkpoint`` state file is this callback's).

    Files are written before the config that names them, each atomically (a temporary file renamed; the
    checkpoint state file by TensorFlow's atomic write): a crash mid-write leaves the previous, complete set.
    TensorFlow is imported when the first write happens, on every Keras backend.

    Args:
        data: (raw images [N, H, W(, C)], int labels [N]) as the model takes them (task models preprocess
            inside); the images also make the sprite.
        log_dir: folder of the projector files (created if missing).
        every_n_epochs: write after every n-th epoch (int >= 0; 0 = only at the end of training). The end of
            training writes too unless the last epoch was just written.
        max_points: at most this many points (int >= 1), sampled without replacement (seeded).
        sprite: write the image sprite (needs image data [N, H, W] or [N, H, W, 1|3|4]).
        poincare: "both", "ball" or "tangent": the views of Poincaré-ball embeddings.
        class_names: optional names of classes 0..K-1 for the metadata.
        batch_size: prediction batch size (int >= 1).
        name: tensor name prefix (letters, digits, "_", "-"; starts with a letter).
        geometry: None (the model's `geometry` attribute, else Euclidean), or a `zoo.geometry` name, config or
            object describing the embeddings (e.g. {"name": "poincare", "c": 0.1} for a plain Keras model).
        seed: seed of the subsample (int >= 0).
        verbose: 1 prints one line per write.

    Raises:
        ValueError: bad arguments (named in the message); non-finite embeddings at a write (the projector
            would show nothing), a model with several outputs.

    Example:
        >>> (x, y), (x_test, y_test) = zoo.data.fashion_mnist()
        >>> model = zoo.models.ImageClassifier("lenet", head="poincare", num_classes=10, input_shape=(28, 28))
        >>> model.compile()
        >>> cb = zoo.callbacks.EmbeddingProjector((x_test, y_test), "logs", every_n_epochs=5,
        ...                                       class_names=zoo.data.FASHION_MNIST_CLASSES)
        >>> model.fit(x, y, epochs=10, callbacks=[cb, keras.callbacks.TensorBoard("logs")])
        >>> # tensorboard --logdir logs   ->  Projector: embeddings_ball, embeddings_tangent

    Reference:
        Smilkov et al., "Embedding Projector: Interactive Visualization and Interpretation of Embeddings",
        NIPS 2016 workshop; TensorBoard's `tensorboard.plugins.projector` (file formats); tf.keras 2's
        `TensorBoard(embeddings_freq=...)`, which projected only `Embedding` layer weights (Keras 3 dropped it).

    Departures:
        `tensorboard.plugins.projector.visualize_embeddings` writes the config in place; here the same
        `ProjectorConfig` text is written atomically. The config leaves `model_checkpoint_path` empty, so
        TensorBoard finds the latest checkpoint through the state file (relative paths: the folder can move).
    """

    def __init__(self, data, log_dir, every_n_epochs=1, max_points=1000, sprite=True, poincare="both",
                 class_names=None, batch_size=256, name="embeddings", geometry=None, seed=0, verbose=0):
        super().__init__()
        images, labels = _check_data(data)
        if not isinstance(log_dir, (str, os.PathLike)) or not os.fspath(log_dir):
            raise ValueError(f"{_OWNER}: `log_dir` must be a folder path; got {log_dir!r}.")
        self.log_dir = os.fspath(log_dir)
        self.every_n_epochs = check_int(every_n_epochs, "every_n_epochs", minimum=0, owner=_OWNER)
        self.max_points = check_int(max_points, "max_points", minimum=1, owner=_OWNER)
        self.sprite = check_bool(sprite, "sprite", owner=_OWNER)
        self.poincare = check_choice(poincare, "poincare", ("both", "ball", "tangent"), owner=_OWNER)
        self.class_names = _check_class_names(class_names, labels)
        self.batch_size = check_int(batch_size, "batch_size", minimum=1, owner=_OWNER)
        if not isinstance(name, str) or not _NAME.match(name):
            raise ValueError(f"{_OWNER}: `name` must start with a letter and hold only letters, digits, '_' and "
                             f"'-'; got {name!r}.")
        self.name = name
        if geometry is not None:
            import zoo.geometry

            try:
                geometry = zoo.geometry.get(geometry).get_config()
            except (TypeError, ValueError) as e:
                raise ValueError(f"{_OWNER}: `geometry` must be None or a zoo.geometry name, config or object; "
                                 f"got {geometry!r} ({e}).") from None
        self.geometry = geometry
        self.seed = check_int(seed, "seed", minimum=0, owner=_OWNER)
        self.verbose = check_int(verbose, "verbose", minimum=0, owner=_OWNER)
        n = len(labels)
        index = np.arange(n) if n <= self.max_points else np.sort(
            np.random.default_rng(self.seed).choice(n, self.max_points, replace=False))
        self.images, self.labels = images[index], labels[index]
        self.index = index
        if self.sprite:
            _sprite_layout(self.images.shape[1:], len(index))  # fail now, not after the first epoch
        self.history = []  # (epoch, checkpoint prefix) per write
        self._last_epoch = None
        self._written_epoch = None

    # ---- what is written -----------------------------------------------------------------------------------
    def embeddings(self):
        """The sample's embeddings [n, d] (float32 numpy), from `model.embed` or `model.predict`."""
        model, x = self.model, self.images
        embed = getattr(model, "embed", None)
        if callable(embed):
            params = inspect.signature(embed).parameters
            out = embed(x, batch_size=self.batch_size) if "batch_size" in params else embed(x)
        else:
            out = model.predict(x, batch_size=self.batch_size, verbose=0)
        if isinstance(out, dict):
            out = list(out.values())
        if isinstance(out, (list, tuple)):
            if len(out) != 1:
                raise ValueError(f"{_OWNER}: the model returns {len(out)} outputs; the projector needs one "
                                 "embedding output (use a task model's `embed` or a model with one output).")
            out = out[0]
        out = np.asarray(keras.ops.convert_to_numpy(out), np.float32)
        return out.reshape(len(x), -1)

    def geometry_config(self):
        """The embeddings' geometry config: `geometry`, else the model's `geometry`, else Euclidean."""
        if self.geometry is not None:
            return dict(self.geometry)
        geometry = getattr(self.model, "geometry", None)
        if geometry is not None and hasattr(geometry, "get_config"):
            return geometry.get_config()
        return {"name": "euclidean"}

    def views(self):
        """{tensor name: [n, d] float32 array}: the embeddings in each view that is written."""
        import zoo.geometry.poincare

        emb = self.embeddings()
        if not np.all(np.isfinite(emb)):
            raise ValueError(f"{_OWNER}: the embeddings of {int((~np.isfinite(emb)).any(axis=1).sum())} of "
                             f"{len(emb)} points are not finite; nothing written to {self.log_dir!r}.")
        config = self.geometry_config()
        if config.get("name") != "poincare":
            return {self.name: emb}
        views = {}
        if self.poincare in ("both", "ball"):
            views[f"{self.name}_ball"] = emb
        if self.poincare in ("both", "tangent"):
            tangent = zoo.geometry.poincare.logmap0(emb.astype("float64"), float(config.get("c", 1.0)))
            views[f"{self.name}_tangent"] = np.asarray(keras.ops.convert_to_numpy(tangent), np.float32)
        return views

    def _metadata_text(self):
        rows = ["label\tclass"]
        for label in self.labels:
            label = int(label)
            rows.append(f"{label}\t{_tsv_cell(self.class_names[label] if self.class_names else label)}")
        return "\n".join(rows) + "\n"

    def write(self, epoch=None):
        """Embed the sample now and write the projector files; returns the checkpoint prefix."""
        import tensorflow as tf
        from google.protobuf import text_format
        from tensorboard.plugins.projector import ProjectorConfig

        views = self.views()
        os.makedirs(self.log_dir, exist_ok=True)
        # 1. metadata and sprite (the same for every write: the sample is fixed).
        atomic_write_text(os.path.join(self.log_dir, METADATA_FILE), self._metadata_text())
        thumb = None
        if self.sprite:
            sheet, thumb = _sprite(self.images, len(self.labels))
            with atomic_path(os.path.join(self.log_dir, SPRITE_FILE)) as tmp:
                sheet.save(tmp, format="PNG")
        # 2. the checkpoint; CheckpointManager writes the files, then the state file (atomically), then sweeps.
        checkpoint = tf.train.Checkpoint(**{key: tf.Variable(value, trainable=False, name=key)
                                            for key, value in views.items()})
        manager = tf.train.CheckpointManager(checkpoint, self.log_dir, max_to_keep=1, checkpoint_name=self.name)
        latest = manager.latest_checkpoint
        number = int(latest.rsplit("-", 1)[1]) + 1 if latest and latest.rsplit("-", 1)[-1].isdigit() else 1
        prefix = manager.save(checkpoint_number=number)
        # 3. the config last: everything it names exists.
        config = ProjectorConfig()
        for key in views:
            info = config.embeddings.add()
            info.tensor_name = f"{key}/.ATTRIBUTES/VARIABLE_VALUE"
            info.metadata_path = METADATA_FILE
            if thumb is not None:
                info.sprite.image_path = SPRITE_FILE
                info.sprite.single_image_dim.extend([thumb[1], thumb[0]])  # [width, height]
        atomic_write_text(os.path.join(self.log_dir, CONFIG_FILE), text_format.MessageToString(config))
        self.history.append((epoch, prefix))
        self._written_epoch = epoch
        if self.verbose:
            shapes = ", ".join(f"{k} {list(v.shape)}" for k, v in views.items())
            print(f"[{_OWNER}] epoch {'-' if epoch is None else epoch + 1}: {shapes} -> {prefix}")
        return prefix

    # ---- Keras hooks ---------------------------------------------------------------------------------------
    def on_epoch_end(self, epoch, logs=None):
        self._last_epoch = epoch
        if self.every_n_epochs and (epoch + 1) % self.every_n_epochs == 0:
            self.write(epoch)

    def on_train_end(self, logs=None):
        if self._last_epoch is not None and self._written_epoch != self._last_epoch:
            self.write(self._last_epoch)

    def get_config(self):
        return {"log_dir": self.log_dir, "every_n_epochs": self.every_n_epochs, "max_points": self.max_points,
                "sprite": self.sprite, "poincare": self.poincare, "class_names": self.class_names,
                "batch_size": self.batch_size, "name": self.name, "geometry": self.geometry, "seed": self.seed,
                "verbose": self.verbose}
