"""`HeadSpec`: what a recipe needs to train one head (what every factory of `zoo.heads` returns)."""

import dataclasses

import keras

__all__ = ["HeadSpec"]


@dataclasses.dataclass
class HeadSpec:
    """What a recipe needs to train one head.

    Attributes:
        layer: Keras layer mapping embeddings [B, d] to scores [B, num_classes] (argmax = prediction).
        loss: a Keras loss taking (int labels, scores).
        metrics: Keras metrics on (labels, scores).
        callbacks: callbacks the head needs during fit (e.g. prototype reassignment).
        needs_labels: the layer takes `labels=` during training (state updated from labels).
        description: one line for `--help` and logs.
        plot: optional `plot(embeddings, labels, layer, path)` writing a 2-D picture of the trained head to
            the PNG file `path` and returning `path` (embeddings are the backbone outputs the head
            receives, `layer` the trained head layer); the recipe calls it when the embedding dimension
            is 2. The drawings themselves are in `zoo.viz`.
        scores: optional `scores(outputs) -> [B, num_classes]`, the class scores inside the layer's output
            when the loss needs more columns (DistArc's packed δ/cos θ/cos φ, the centre term); None = the
            output is already the scores. `zoo.models.ImageClassifier.predict` applies it.
        embed: optional `embed(layer, embeddings) -> points`, the embeddings in the head's geometry (unit
            vectors for cosine heads, ball points for hyperbolic heads); None = the embeddings as they are.
        geometry: the geometry of `embed`'s points: "euclidean", "sphere" or "poincare" (a
            `zoo.geometry.get` name); the curvature of a Poincaré head is the layer's `c`.

    Example:
        >>> spec = zoo.heads.HeadSpec(layer=keras.layers.Dense(10), loss=keras.losses.SparseCategoricalCrossentropy(
        ...     from_logits=True), metrics=[zoo.heads.accuracy()], description="linear head")
    """

    layer: keras.layers.Layer
    loss: object
    metrics: list = dataclasses.field(default_factory=list)
    callbacks: list = dataclasses.field(default_factory=list)
    needs_labels: bool = False
    description: str = ""
    plot: object = None
    scores: object = None
    embed: object = None
    geometry: str = "euclidean"
