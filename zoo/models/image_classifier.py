"""`ImageClassifier`: the one-line image classifier with any registered head."""

import keras

from zoo._checks import check_int
from zoo.models import _inputs
from zoo.models.task import Task

__all__ = ["ImageClassifier"]


@keras.saving.register_keras_serializable(package="zoo")
class ImageClassifier(Task):
    """Raw images -> preprocessing -> backbone -> embedding -> a `zoo.heads` head -> class scores.

        scores = head(backbone((resize(x) / 255 − mean) / std)),   prediction = argmax_k scores_k

    The head is any `zoo.heads.available()` name with its options: "softmax" (linear + cross-entropy),
    "arcface" / "cosface" / "sphereface" / "sphereface2" (cosine margins), "center", "distarc" (HyperSpaceX),
    "prototypes" (DL2PA, with its Hungarian reassignment callback attached to `fit`), "poincare" (Khrulkov et
    al.'s hyperbolic MLR; one curvature `c`, trainable with `train_c=True`, shared by the exponential map and
    the MLR). `compile()` uses the head's loss and metrics; `fit(x, y)` takes raw uint8 images and integer
    labels (arrays, `tf.data` datasets, generators) and routes the labels to heads that learn from them (center,
    prototypes); `predict(images)` returns `[N, num_classes]` class scores for every head (the packed columns
    some losses need are dropped); `embed(images)` the embeddings in the head's geometry (unit vectors for
    cosine and prototype heads, ball points for "poincare"). A `.keras` file holds the preprocessing, so
    raw images give the same scores after `keras.saving.load_model` on any backend.

    Args:
        backbone: a `zoo.backbones` name ("lenet", "resnet20", "hub_vit", ...), a keras-hub ResNet/ViT preset
            (name, handle or local preset directory) or a Keras model (features are pooled and projected to
            `embedding_dim` when needed).
        head: a `zoo.heads` name (default "softmax").
        num_classes: number of classes (int >= 2).
        input_shape: `(height, width)` or `(height, width, channels)` of the raw images; needed for zoo
            backbone names (the network is built for it). Images of another size or channel count are
            converted to what the backbone takes (e.g. grey 28x28 to RGB 224x224 for a preset).
        embedding_dim: embedding size (default 64; None keeps a preset's or model's own feature size).
        image_size: `(height, width)` (or an int) to build a zoo backbone for instead of the input size; the
            preprocessing resizes the images to it (e.g. 8x8 digits upsampled to 28x28 for "lenet").
        normalize: "adapt" (default: per-channel mean/std of the training images at the first `fit`),
            a `(mean, std)` pair in [0, 1] units (scalars or per channel), or None (only 1/255).
        backbone_options: keyword arguments of the backbone builder (e.g. `{"shortcut": "pad"}`).
        head_options: options of the head (e.g. `{"margin": 0.3}`); also accepted as keyword arguments.
        preprocessor: an `ImagePreprocessor` to use instead of building one (used when loading).
        name: model name.

    Example:
        >>> (x_train, y_train), (x_test, y_test) = zoo.data.fashion_mnist()
        >>> model = zoo.models.ImageClassifier("lenet", head="arcface", num_classes=10, input_shape=(28, 28))
        >>> model.compile()
        >>> model.fit(x_train, y_train, epochs=5)
        >>> scores = model.predict(x_test)                      # [10000, 10]

    Reference:
        keras-hub's `ImageClassifier` (a task = preprocessing + backbone + head, `compile()` defaults); the
        heads' papers are cited in `zoo.heads`.

    Departures:
        `model(x)` returns the head's raw output (what the loss sees: DistArc's packed [δ | cos θ | cos φ | Q],
        the centre term column); `predict` returns the class scores only.
    """

    def __init__(self, backbone, head="softmax", num_classes=None, input_shape=None, embedding_dim=64,
                 normalize="adapt", image_size=None, backbone_options=None, head_options=None, preprocessor=None,
                 name="image_classifier", **options):
        import zoo.heads

        if num_classes is None:
            raise ValueError("ImageClassifier: `num_classes` is required (an int >= 2).")
        num_classes = check_int(num_classes, "num_classes", minimum=2, owner="ImageClassifier")
        if not isinstance(head, str) or head not in zoo.heads.available():
            raise ValueError(f"ImageClassifier: `head` must be one of {zoo.heads.available()}; got {head!r}.")
        super().__init__(backbone=backbone, input_shape=input_shape, embedding_dim=embedding_dim,
                         normalize=normalize, image_size=image_size, preprocessor=preprocessor,
                         backbone_options=backbone_options, name=name)
        self.head_name = head
        self.num_classes = num_classes
        self.head_options = {**dict(head_options or {}), **options}
        self.spec = zoo.heads.get(head, num_classes, self.embedding_dim, **self.head_options)
        self.head = self.spec.layer
        self.needs_labels = bool(self.spec.needs_labels)
        self.label_classes = num_classes
        if not self.head.built:
            self.head.build((None, self.embedding_dim))
        self.built = True

    def call(self, inputs, training=None):
        images, labels = _inputs.split_inputs(inputs)
        embeddings = self.features(images, training=training)
        if self.needs_labels:
            return self.head(embeddings, labels=labels, training=training)
        return self.head(embeddings, training=training)

    def default_loss(self):
        return self.spec.loss

    def default_metrics(self):
        return list(self.spec.metrics)

    def head_callbacks(self):
        return list(self.spec.callbacks)

    def postprocess(self, outputs):
        return outputs if self.spec.scores is None else self.spec.scores(outputs)

    def scores(self, outputs):
        """Class scores `[B, num_classes]` from the model's raw outputs (tensors or arrays)."""
        return self.postprocess(outputs)

    def embed_tensor(self, images):
        embeddings = self.features(images)
        return embeddings if self.spec.embed is None else self.spec.embed(self.head, embeddings)

    @property
    def geometry(self):
        """The geometry of `embed`'s points: a `zoo.geometry` object (the head's curvature for "poincare")."""
        import zoo.geometry

        if self.spec.geometry == "poincare":
            return zoo.geometry.get("poincare", c=float(keras.ops.convert_to_numpy(self.head.curvature)))
        return zoo.geometry.get(self.spec.geometry)

    def get_config(self):
        head_options = dict(self.head_options)
        if self.head_name == "prototypes" and head_options.get("num_prototypes") is None:
            # A prototype file need not exist where the model is loaded: its size is enough, the weights hold it.
            head_options["num_prototypes"] = int(self.head.num_prototypes)
        return {**super().get_config(), "head": self.head_name, "num_classes": self.num_classes,
                "embedding_dim": self.embedding_dim, "head_options": head_options,
                "backbone_options": self.backbone_options}
