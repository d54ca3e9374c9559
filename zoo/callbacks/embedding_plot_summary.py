"""`EmbeddingPlotSummary`: the 2-D picture of the embeddings as a TensorBoard image, every n epochs of fit."""

import io
import os
import tempfile

import keras
import numpy as np

from zoo._checks import check_choice, check_int

__all__ = ["EmbeddingPlotSummary"]

_OWNER = "EmbeddingPlotSummary"


class EmbeddingPlotSummary(keras.callbacks.Callback):
    """Draw a fixed sample's embeddings every `every_n_epochs` epochs and log the picture to TensorBoard.

    The picture is the one a person would look at for the model:

    - a task model (`zoo.models.ImageClassifier`) with a 2-d embedding and a head that has a picture (Poincaré
      disk with the hyperbolic MLR regions, hyperspherical proxies/radii, prototypes): that picture
      (`model.spec.plot`, i.e. `zoo.viz.plot_poincare_head`, `plot_latent` or `plot_prototypes`) of `model.features`;
    - any other model: `zoo.viz.plot_embeddings` of `model.embed` (or `model.predict`) in the model's geometry,
      projected to 2-D by `method` ("pca" or "tsne").

    Each picture goes into the TensorBoard event files of `log_dir` as an image summary named `name` (the IMAGES
    tab; the step is the epoch number, 1-based), and, with `png_dir`, also as `<png_dir>/<name>_epoch<NNN>.png`.
    The image is rendered off-screen (matplotlib's Agg canvas); the user's matplotlib backend is not touched.

    Args:
        data: (raw images, int labels) of the sample to draw (e.g. a slice of the validation set).
        log_dir: TensorBoard folder (e.g. the one of `keras.callbacks.TensorBoard`; its "images" subfolder is used
            so the images sit beside the scalars of a "train" / "validation" run).
        every_n_epochs: draw after every n-th epoch (0: only at the end of training). The last epoch is always drawn.
        max_points: a seeded subsample of at most this many points is drawn.
        method: "pca" or "tsne", for pictures of embeddings that are not 2-d.
        name: the image summary's tag (and the PNG file prefix).
        png_dir: optional folder for a PNG per drawing.
        batch_size: batch size of the embedding pass.
        seed: the subsample seed.

    Example:
        >>> model = zoo.models.ImageClassifier("lenet", head="poincare", num_classes=10, input_shape=(28, 28),
        ...                                    embedding_dim=2)
        >>> model.fit(x, y, epochs=10, callbacks=[keras.callbacks.TensorBoard("logs"),
        ...                                       zoo.callbacks.EmbeddingPlotSummary((x_val, y_val), "logs")])
        >>> # tensorboard --logdir logs   -> IMAGES: the disk and the MLR regions, epoch by epoch

    Reference: the picture functions of `zoo.viz`; TensorBoard's image summaries (`tf.summary.image`).
    Departures: none (a tool, not a method). Writing needs TensorFlow installed (it is a core dependency);
    it works on every Keras backend.
    """

    def __init__(self, data, log_dir, every_n_epochs=1, max_points=2000, method="pca", name="embeddings_2d",
                 png_dir=None, batch_size=256, seed=0):
        super().__init__()
        try:
            images, labels = data
        except (TypeError, ValueError):
            raise ValueError(f"{_OWNER}: `data` must be an (images, int labels) pair; got "
                             f"{type(data).__name__}.") from None
        images, labels = np.asarray(images), np.asarray(labels)
        if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer) or len(images) != len(labels) \
                or len(labels) < 2:
            raise ValueError(f"{_OWNER}: `data` must hold N >= 2 images and N int labels [N]; got images "
                             f"{images.shape} and labels {labels.dtype} {labels.shape}.")
        if not isinstance(log_dir, (str, os.PathLike)) or not os.fspath(log_dir):
            raise ValueError(f"{_OWNER}: `log_dir` must be a folder path; got {log_dir!r}.")
        self.log_dir = os.fspath(log_dir)
        self.every_n_epochs = check_int(every_n_epochs, "every_n_epochs", minimum=0, owner=_OWNER)
        self.max_points = check_int(max_points, "max_points", minimum=2, owner=_OWNER)
        self.method = check_choice(method, "method", ("pca", "tsne"), owner=_OWNER)
        if not isinstance(name, str) or not name:
            raise ValueError(f"{_OWNER}: `name` must be a non-empty string; got {name!r}.")
        self.name = name
        self.png_dir = None if png_dir is None else os.fspath(png_dir)
        self.batch_size = check_int(batch_size, "batch_size", minimum=1, owner=_OWNER)
        self.seed = check_int(seed, "seed", minimum=0, owner=_OWNER)
        n = len(labels)
        index = np.arange(n) if n <= self.max_points else np.sort(
            np.random.default_rng(self.seed).choice(n, self.max_points, replace=False))
        self.images, self.labels = images[index], labels[index]
        self.written = []  # epochs (1-based) drawn so far
        self._writer = None
        self._last_epoch = None

    # ---- the picture -------------------------------------------------------------------------------------
    def _batches(self, fn):
        out = [keras.ops.convert_to_numpy(fn(self.images[i:i + self.batch_size]))
               for i in range(0, len(self.images), self.batch_size)]
        return np.concatenate(out).astype("float32")

    def png(self):
        """The picture of the current model as PNG bytes."""
        model = self.model
        spec = getattr(model, "spec", None)
        if (spec is not None and getattr(spec, "plot", None) is not None and getattr(model, "embedding_dim", None) == 2
                and callable(getattr(model, "features", None))):
            features = self._batches(model.features)
            with tempfile.TemporaryDirectory() as folder:
                path = os.path.join(folder, "picture.png")
                spec.plot(features, self.labels, model.head, path)
                with open(path, "rb") as f:
                    return f.read()
        from zoo.viz.embeddings import plot_embeddings

        embed = getattr(model, "embed", None)
        embeddings = np.asarray(keras.ops.convert_to_numpy(embed(self.images, batch_size=self.batch_size)), "float32") \
            if callable(embed) else self._batches(lambda x: model.predict(x, verbose=0))
        figure = plot_embeddings(embeddings.reshape(len(self.labels), -1), self.labels, method=self.method,
                                 geometry=getattr(model, "geometry", None), max_points=self.max_points,
                                 seed=self.seed)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=80)
        return buffer.getvalue()

    def write(self, epoch):
        """Draw now and log the picture at step `epoch + 1`; returns the PNG bytes."""
        import tensorflow as tf

        data = self.png()
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(os.path.join(self.log_dir, "images"))
        image = tf.io.decode_png(data, channels=4)[None]
        with self._writer.as_default():
            tf.summary.image(self.name, image, step=int(epoch) + 1)
        self._writer.flush()
        if self.png_dir:
            from zoo._io import atomic_path

            os.makedirs(self.png_dir, exist_ok=True)
            with atomic_path(os.path.join(self.png_dir, f"{self.name}_epoch{int(epoch) + 1:03d}.png")) as tmp:
                with open(tmp, "wb") as f:
                    f.write(data)
        self.written.append(int(epoch) + 1)
        return data

    # ---- Keras hooks -----------------------------------------------------------------------------------------
    def on_epoch_end(self, epoch, logs=None):
        self._last_epoch = epoch
        if self.every_n_epochs and (epoch + 1) % self.every_n_epochs == 0:
            self.write(epoch)

    def on_train_end(self, logs=None):
        if self._last_epoch is not None and (not self.written or self.written[-1] != self._last_epoch + 1):
            self.write(self._last_epoch)
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def get_config(self):
        return {"log_dir": self.log_dir, "every_n_epochs": self.every_n_epochs, "max_points": self.max_points,
                "method": self.method, "name": self.name, "png_dir": self.png_dir, "batch_size": self.batch_size,
                "seed": self.seed}
