"""Head registry: one name -> (layer, loss, metrics, callbacks). Recipes never branch on head names.

A head factory takes `(num_classes, embedding_dim, **options)` and returns a `HeadSpec`. The head layer
maps embeddings to per-class *scores* whose argmax is the prediction (logits, cosines, negative
distances ...), so one accuracy metric serves every head. Heads that update state from the labels during
training (class centres, prototype class means) set `needs_labels=True`; the recipe then feeds the labels
as a second model input and the layer is called as `layer(embedding, labels=labels)`.

Adding a method is one `@register("name")` factory here, not an edit in every recipe.

Example:
    >>> spec = zoo.heads.get("softmax", num_classes=10, embedding_dim=64)
    >>> scores = spec.layer(embeddings)
    >>> model.compile(optimizer="adam", loss=spec.loss, metrics=spec.metrics)
"""

import dataclasses

import keras

_REGISTRY = {}


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
        plot: optional `plot(embeddings, labels, layer, path)` drawing a 2-D picture of the trained head
            (embeddings are the backbone outputs the head receives, `layer` the trained head layer);
            the recipe calls it when the embedding dimension is 2.
    """

    layer: keras.layers.Layer
    loss: object
    metrics: list = dataclasses.field(default_factory=list)
    callbacks: list = dataclasses.field(default_factory=list)
    needs_labels: bool = False
    description: str = ""
    plot: object = None


def register(name):
    """Decorator registering a head factory `f(num_classes, embedding_dim, **options) -> HeadSpec`."""

    def deco(factory):
        if name in _REGISTRY:
            raise ValueError(f"head {name!r} is registered twice")
        _REGISTRY[name] = factory
        return factory

    return deco


def available():
    """Sorted names of the registered heads."""
    return sorted(_REGISTRY)


def get(name, num_classes, embedding_dim, **options):
    """Build the head `name` for `num_classes` classes on `embedding_dim`-d embeddings.

    Args:
        name: a registered head name (see `available()`).
        num_classes: number of classes (>= 2).
        embedding_dim: dimension of the embeddings the head receives.
        **options: head-specific options (e.g. `c` for poincare, `margin`/`scale` for arcface); an
            option the head does not take raises a TypeError naming it.

    Returns:
        HeadSpec.
    """
    if name not in _REGISTRY:
        raise ValueError(f"Unknown head {name!r}; available heads: {', '.join(available())}.")
    if int(num_classes) < 2:
        raise ValueError(f"num_classes must be >= 2; got {num_classes}.")
    if int(embedding_dim) < 1:
        raise ValueError(f"embedding_dim must be >= 1; got {embedding_dim}.")
    return _REGISTRY[name](int(num_classes), int(embedding_dim), **options)


def accuracy():
    """The accuracy metric shared by every head (argmax of the scores)."""
    return keras.metrics.SparseCategoricalAccuracy(name="accuracy")


# --- Euclidean baseline -----------------------------------------------------------------------------


@register("softmax")
def _softmax(num_classes, embedding_dim, **options):
    """Plain linear classifier + softmax cross-entropy: the baseline every geometry is compared with."""
    if options:
        raise TypeError(f"head 'softmax' takes no options; got {sorted(options)}")
    return HeadSpec(
        layer=keras.layers.Dense(num_classes, name="softmax_head"),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[accuracy()],
        description="linear layer + softmax cross-entropy (baseline)",
    )


# --- hyperbolic heads (issue: hyperbolic embeddings) --------------------------------------------------


def _plot_poincare_head(embeddings, labels, layer, path):
    """Plot hook of the "poincare" head: backbone outputs -> ToPoincare -> disk, MLR decision regions."""
    import numpy as np
    from keras import ops

    from zoo.viz.poincare import plot_disk

    points = ops.convert_to_numpy(layer.embed(ops.convert_to_tensor(np.asarray(embeddings, "float32"))))
    c = float(ops.convert_to_numpy(layer.curvature))

    def regions(grid):
        return np.argmax(ops.convert_to_numpy(layer.mlr(ops.convert_to_tensor(grid), c=c)), axis=-1)

    return plot_disk(points, labels, c=c, path=path, region_fn=regions,
                     title=f"Poincaré disk (c = {c:.4g}): test embeddings and MLR decision regions")


@register("poincare")
def _poincare(num_classes, embedding_dim, c=1.0, riemannian=True, train_c=False, train_x=False):
    """ToPoincare (exp map at 0, projection, Riemannian gradient rescale) + hyperbolic MLR, softmax CE.

    The reference MNIST model of Khrulkov et al. (LeNet -> dim -> ToPoincare -> HyperbolicMLR). The layer is
    a private composite of zoo.layers.ToPoincare and zoo.layers.HyperbolicMLR sharing one curvature (so a
    trainable c, `train_c=True`, is also the MLR's c); `layer.embed(x)` gives the ball points.
    """
    from zoo.layers.hyperbolic_mlr import _PoincareClassifier

    layer = _PoincareClassifier(num_classes, c=c, train_c=train_c, train_x=train_x, riemannian=riemannian,
                                ball_dim=embedding_dim, name="poincare_head")
    return HeadSpec(
        layer=layer,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[accuracy()],
        description=(f"ToPoincare(c={c:g}{', trainable' if train_c else ''}"
                     f"{', riemannian' if riemannian else ''}) + hyperbolic MLR, softmax cross-entropy"),
        plot=_plot_poincare_head,
    )


# --- hyperspherical heads (issue: margins and HyperSpaceX) --------------------------------------------

# --- fixed prototypes (issue: dynamic label-to-prototype assignment) ----------------------------------
