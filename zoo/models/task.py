"""`Task`: the base of the task models (preprocessing + backbone + head as one `keras.Model`)."""

import os

import keras

from zoo._io import atomic_path
from zoo.callbacks.stop_on_interrupt import StopOnInterrupt
from zoo.distribute import _padding, _state
from zoo.layers.image_preprocessor import ImagePreprocessor
from zoo.models import _inputs
from zoo.models._backbone import image_shape, resolve_backbone

__all__ = ["Task"]

#: Learning rate of the optimizer `compile()` picks when none is given (Adam).
DEFAULT_LEARNING_RATE = 1e-3
NORMALIZE_MODES = ("adapt",)


class Task(keras.Model):
    """Raw images -> `ImagePreprocessor` -> backbone -> head, trained with `fit` on raw images and labels.

    The base of `zoo.models.ImageClassifier`, `EmbeddingModel` and `ProtoNet`. It owns what they share:

    - preprocessing inside the model (`self.preprocessor`, an `ImagePreprocessor`: channels, resize to the
      backbone's input, 1/255, per-channel mean/std adapted from the training data at the first `fit`, or
      given), saved in `.keras`, so a loaded model takes raw 0..255 images;
    - `compile()` with no arguments: the head's loss and metrics and Adam(1e-3), each overridable;
    - `fit` / `evaluate` / `predict` on raw uint8 arrays, `tf.data` datasets (tfds,
      `keras.utils.image_dataset_from_directory`), generators or `keras.utils.PyDataset`s, with the input
      checks of `zoo.models._inputs` (clear errors for one-hot or out-of-range labels, images outside
      0..255, a dataset where arrays belong) and the labels routed to heads that learn from them;
    - the head's callbacks attached to `fit` (unless the caller passes one of the same class, or
      `head_callbacks=False`), and `zoo.callbacks.StopOnInterrupt`: Ctrl-C stops training after the current
      batch on every backend, lets the callbacks finish, then raises `KeyboardInterrupt`;
    - `embed(images)`: the embeddings in the head's geometry;
    - under data parallelism (`zoo.distribute.data_parallel()`: JAX's sharding or TensorFlow's MirroredStrategy),
      `predict`, `embed` and `evaluate` pad each batch to a multiple of the device count by repeating its last
      row and strip the padding again (evaluation: padded rows get sample weight 0, so the loss is the real
      examples' sum over the padded count, and plain `metrics`, which Keras does not weight, count the copies:
      see `zoo.distribute._padding`); a batch size that the devices cannot split raises a ValueError.

    Subclasses set `self.head` and implement `call`, `default_loss`, `default_metrics` and the properties
    below; `postprocess` maps `predict`'s raw outputs (default: unchanged).
    """

    #: Whether `call` needs the labels in training (the model is then fed {"images": x, "labels": y}).
    needs_labels = False
    #: Number of classes labels must be below (None: only whole, non-negative ids are checked).
    label_classes = None

    def __init__(self, *, backbone, input_shape=None, embedding_dim=None, normalize="adapt", preprocessor=None,
                 backbone_options=None, image_size=None, **kwargs):
        super().__init__(**kwargs)
        where = type(self).__name__
        if not (normalize is None or normalize in NORMALIZE_MODES or _is_pair(normalize)):
            raise ValueError(f"{where}: `normalize` must be 'adapt', None or a (mean, std) pair in [0, 1] units; "
                             f"got {normalize!r}.")
        raw_shape = image_shape(input_shape, where)
        build_shape = raw_shape
        if image_size is not None:
            size = (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)
            build_shape = image_shape(tuple(size) + ((raw_shape or (0, 0, 1))[2],), where)
        encoder, backbone_shape = resolve_backbone(backbone, build_shape, embedding_dim, where,
                                                   **dict(backbone_options or {}))
        if preprocessor is None:
            mean, std = (normalize if _is_pair(normalize) else
                         ((0.0, 1.0) if normalize is None else (None, None)))
            preprocessor = ImagePreprocessor(backbone_shape, mean=mean, std=std, name="preprocessor")
        elif not isinstance(preprocessor, ImagePreprocessor):
            raise TypeError(f"{where}: `preprocessor` must be a zoo.layers.ImagePreprocessor; got "
                            f"{type(preprocessor).__name__}.")
        self.normalize = list(normalize) if _is_pair(normalize) else normalize
        self.raw_input_shape = raw_shape
        self.image_size = None if image_size is None else list(build_shape[:2])
        self.backbone_options = dict(backbone_options or {})
        self.preprocessor = preprocessor
        self.backbone = encoder
        self.embedding_dim = int(encoder.output_shape[-1])
        if not preprocessor.built:
            preprocessor.build()

    # -- what subclasses provide ------------------------------------------------------------------------------
    def default_loss(self):
        raise NotImplementedError

    def default_metrics(self):
        return []

    def default_optimizer(self):
        return keras.optimizers.Adam(DEFAULT_LEARNING_RATE)

    def head_callbacks(self):
        """Callbacks the head needs during `fit` (e.g. `zoo.callbacks.PrototypeReassignment`)."""
        return []

    def postprocess(self, outputs):
        """`predict`'s result from the model's outputs (numpy)."""
        return outputs

    def embed_tensor(self, images):
        """Embeddings of a batch of raw images (tensors), in the head's geometry."""
        return self.features(images)

    # -- the model ---------------------------------------------------------------------------------------------
    def features(self, images, training=None):
        """Backbone embeddings `[B, d]` of raw images `[B, H, W(, C)]`."""
        return self.backbone(self.preprocessor(images), training=training)

    def adapt(self, data, max_images=None):
        """Measure the normalisation statistics from raw training images (array or dataset); see `ImagePreprocessor`."""
        kwargs = {} if max_images is None else {"max_images": max_images}
        self.preprocessor.adapt(data, **kwargs)
        return self

    def compile(self, optimizer="auto", loss="auto", metrics="auto", **kwargs):
        """`keras.Model.compile`; "auto" (the default) picks Adam(1e-3), the head's loss and its metrics."""
        super().compile(optimizer=self.default_optimizer() if _auto(optimizer) else optimizer,
                        loss=self.default_loss() if _auto(loss) else loss,
                        metrics=self.default_metrics() if _auto(metrics) else metrics, **kwargs)

    def compile_from_config(self, config):
        """Recompile a loaded model from its saved compile config, on any backend.

        Departures from `keras.Model.compile_from_config`: `jit_compile` is not restored (it is the saving
        backend's choice: "auto" on the loading one), and an optimizer that does not deserialize here (Keras
        records the torch optimizer module in files saved on torch) is rebuilt from its class name and config.
        """
        config = {k: v for k, v in dict(config).items() if k != "jit_compile"}
        optimizer = config.pop("optimizer", None)
        config = keras.saving.deserialize_keras_object(config)
        self.compile(optimizer=_optimizer_from_config(optimizer), **config)
        if self.built:
            self.optimizer.build(self.trainable_variables)

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None, validation_split=0.0,
            validation_data=None, head_callbacks=True, **kwargs):
        """`keras.Model.fit` on raw images and integer labels; `head_callbacks=False` leaves the head's out.

        Normalisation statistics are adapted from `x` first when the model was built with `normalize="adapt"`
        and has none yet (arrays and datasets; other inputs keep mean 0, std 1 and warn).
        """
        where = f"{type(self).__name__}.fit"
        self._maybe_adapt(x, where)
        data, labels = self._feed(x, y, where)
        if _inputs.is_stream(x):  # datasets and generators shuffle themselves (Keras warns shuffle=True is ignored)
            kwargs.setdefault("shuffle", False)
        validation_data = _inputs.feed_validation(validation_data, num_classes=self.label_classes,
                                                  needs_labels=self.needs_labels, where=where)
        callbacks = list(callbacks or [])
        if head_callbacks:
            have = {type(cb) for cb in callbacks}
            callbacks = callbacks + [cb for cb in self.head_callbacks() if type(cb) not in have]
        interrupt = next((cb for cb in callbacks if isinstance(cb, StopOnInterrupt)), None)
        if interrupt is None:
            interrupt = StopOnInterrupt()
            callbacks.append(interrupt)
        if not self.compiled:
            self.compile()
        history = super().fit(data, labels, batch_size=batch_size, epochs=epochs, verbose=verbose,
                              callbacks=callbacks, validation_split=validation_split, validation_data=validation_data,
                              **kwargs)
        if interrupt.interrupted:
            raise KeyboardInterrupt(f"{where}: stopped by Ctrl-C in epoch {interrupt.stopped_epoch}; every callback "
                                    "finished (`model.history` holds the epochs run)")
        return history

    def evaluate(self, x=None, y=None, *args, **kwargs):
        """`keras.Model.evaluate` on raw images and integer labels."""
        if kwargs.get("_use_cached_eval_dataset"):  # fit's validation: `fit` fed that data already
            return super().evaluate(x, y, *args, **kwargs)
        where = f"{type(self).__name__}.evaluate"
        data, labels = self._feed(x, y, where)
        multiple = _state.pad_multiple()
        if multiple > 1:  # data parallel: batches padded to the device count, padded rows weighted 0
            return _padding.evaluate(super().evaluate, data, labels, args, kwargs, multiple=multiple, where=where,
                                     allow=self._paddable())
        return super().evaluate(data, labels, *args, **kwargs)

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """`keras.Model.predict` on raw images, passed through `postprocess` (class scores for classifiers)."""
        where = f"{type(self).__name__}.predict"
        data = _inputs.predict_feed(x, where)
        multiple = _state.pad_multiple()
        if multiple > 1:  # data parallel: batches padded to the device count, the padding stripped
            outputs = _padding.predict(
                lambda d, size: super(Task, self).predict(d, batch_size=size, verbose=verbose, steps=steps,
                                                          callbacks=callbacks),
                data, multiple=multiple, batch_size=batch_size, where=where, allow=self._paddable())
        else:
            outputs = super().predict(data, batch_size=batch_size, verbose=verbose, steps=steps, callbacks=callbacks)
        return self.postprocess(outputs)

    def predict_on_batch(self, x):
        return self.postprocess(super().predict_on_batch(_inputs.check_images(x, f"{type(self).__name__}.predict")))

    def train_on_batch(self, x, y=None, *args, **kwargs):
        data, labels = self._feed(x, y, f"{type(self).__name__}.train_on_batch")
        return super().train_on_batch(data, labels, *args, **kwargs)

    def test_on_batch(self, x, y=None, *args, **kwargs):
        data, labels = self._feed(x, y, f"{type(self).__name__}.test_on_batch")
        return super().test_on_batch(data, labels, *args, **kwargs)

    def embed(self, images, batch_size=None, verbose=0):
        """Embeddings `[N, d]` of raw images (array or dataset), in the head's geometry (numpy)."""
        where = f"{type(self).__name__}.embed"
        data = _inputs.predict_feed(images, where)
        embedder = self._embedding_model()
        multiple = _state.pad_multiple()
        if multiple > 1:  # data parallel: batches padded to the device count, the padding stripped
            return _padding.predict(lambda d, size: embedder.predict(d, batch_size=size, verbose=verbose), data,
                                    multiple=multiple, batch_size=batch_size, where=where)
        return embedder.predict(data, batch_size=batch_size, verbose=verbose)

    def _embedding_model(self):
        """`embed_tensor` as a cached model (batched, compiled predict; every layer of the task tracked)."""
        hidden = self.__dict__.get("_embedder")
        if hidden is None:
            # Untracked and out of Keras' saving walk (it follows every attribute, and `load_weights` has no cycle
            # guard: the embedder's link back to this task recursed without end).
            hidden = _Hidden(_Embedder(self))
            object.__setattr__(self, "_embedder", hidden)
        return hidden.value

    def save(self, filepath, overwrite=True, **kwargs):
        """`keras.Model.save`, atomically for `.keras` files: a crash mid-write keeps the previous file."""
        path = str(filepath)
        if not path.endswith(".keras"):
            return super().save(filepath, overwrite=overwrite, **kwargs)
        if not overwrite and os.path.exists(path):
            raise FileExistsError(f"{type(self).__name__}.save: {path} exists and overwrite=False.")
        with atomic_path(path) as tmp:
            super().save(tmp, overwrite=True, **kwargs)

    # -- plumbing ----------------------------------------------------------------------------------------------
    def _paddable(self):
        """Whether `predict`/`evaluate` batches may be padded by repeating rows (not for episode batches, whose
        layout the head reads: `zoo.layers.PrototypicalHead`)."""
        from zoo.layers.prototypical_head import PrototypicalHead

        return not isinstance(getattr(self, "head", None), PrototypicalHead)

    def _feed(self, x, y, where):
        return _inputs.feed(x, y, num_classes=self.label_classes, needs_labels=self.needs_labels, where=where)

    def _maybe_adapt(self, x, where):
        if self.normalize != "adapt" or self.preprocessor.is_adapted or x is None:
            return
        if _inputs.is_dataset(x):
            self.adapt(x)
        elif hasattr(x, "shape") or isinstance(x, (list, tuple)):
            self.adapt(_inputs.check_images(x, where))
        else:
            import warnings

            warnings.warn(f"{where}: cannot measure normalisation statistics from a {type(x).__name__}; call "
                          "`model.adapt(images)` first or build the model with normalize=(mean, std). Using mean 0, "
                          "std 1.", stacklevel=3)

    def get_config(self):
        return {
            "name": self.name,
            "backbone": keras.saving.serialize_keras_object(self.backbone),
            "preprocessor": keras.saving.serialize_keras_object(self.preprocessor),
            "input_shape": None if self.raw_input_shape is None else list(self.raw_input_shape),
            "normalize": self.normalize,
            "image_size": self.image_size,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["backbone"] = keras.saving.deserialize_keras_object(config["backbone"])
        config["preprocessor"] = keras.saving.deserialize_keras_object(config["preprocessor"])
        # The saved backbone is built already: its options (e.g. a preset's strides) are in its own config.
        options = config.pop("backbone_options", None)
        model = cls(**config)
        model.backbone_options = dict(options or {})
        return model


class _Hidden:
    """Holds an object where Keras' saving walk does not look (not a layer, list, dict or tuple)."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


class _Embedder(keras.Model):
    """`task.embed_tensor` as a model, so `embed` batches, compiles and accepts datasets like `predict`."""

    def __init__(self, task):
        super().__init__(name=f"{task.name}_embedder")
        self.task_layers = list(task.layers)  # every layer `embed_tensor` may read (trainable c included)
        object.__setattr__(self, "_task", _Hidden(task))
        self.built = True

    def call(self, images):
        return self._task.value.embed_tensor(images)


def _optimizer_from_config(config):
    """An optimizer from its saved config; "auto" when there is none."""
    if config is None:
        return "auto"
    module = (config.get("module") or "") if isinstance(config, dict) else ""
    marker = "keras.src.backend."
    saved_backend = module.split(marker, 1)[1].split(".", 1)[0] if marker in module else None
    if saved_backend and saved_backend != keras.backend.backend():
        # e.g. torch's own Adam class: it deserializes here but cannot update this backend's variables
        return keras.optimizers.deserialize({"class_name": config["class_name"], "config": config.get("config", {})})
    try:
        return keras.saving.deserialize_keras_object(config)
    except (TypeError, ValueError, ImportError, AttributeError):
        if not isinstance(config, dict) or "class_name" not in config:
            raise
        return keras.optimizers.deserialize({"class_name": config["class_name"], "config": config.get("config", {})})


def _auto(value):
    return isinstance(value, str) and value == "auto"


def _is_pair(value):
    return isinstance(value, (tuple, list)) and len(value) == 2
