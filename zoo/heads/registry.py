"""The head registry: one name -> a factory returning a `HeadSpec` (layer, loss, metrics, callbacks).

A head factory takes `(num_classes, embedding_dim, **options)` and returns a `zoo.heads.HeadSpec`. The
family modules of `zoo.heads` (softmax, margins, center, distarc, prototypes, poincare) register their
heads with `@register("name")` when they are imported; `zoo/heads/__init__.py` imports every one of them.

Example:
    >>> zoo.heads.available()
    ['arcface', 'center', 'cosface', 'distarc', 'poincare', 'prototypes', 'softmax', 'sphereface', 'sphereface2']
    >>> spec = zoo.heads.get("arcface", num_classes=10, embedding_dim=64, margin=0.3)
"""

from __future__ import annotations

from collections.abc import Callable

import keras

from zoo._checks import check_int
from zoo.heads.head_spec import HeadSpec

__all__ = ["accuracy", "available", "get", "register"]

HeadFactory = Callable[..., HeadSpec]

_REGISTRY: dict[str, HeadFactory] = {}


def register(name: str) -> Callable[[HeadFactory], HeadFactory]:
    """Decorator registering a head factory `f(num_classes, embedding_dim, **options) -> HeadSpec`.

    Example:
        >>> @zoo.heads.register("my_head")
        ... def my_head(num_classes, embedding_dim, scale=1.0):
        ...     return zoo.heads.HeadSpec(layer=..., loss=..., metrics=[zoo.heads.accuracy()])
    """

    def deco(factory):
        if name in _REGISTRY:
            raise ValueError(f"head {name!r} is registered twice")
        _REGISTRY[name] = factory
        return factory

    return deco


def available() -> list[str]:
    """Sorted names of the registered heads."""
    return sorted(_REGISTRY)


def get(name: str, num_classes: int, embedding_dim: int, **options) -> HeadSpec:
    """Build the head `name` for `num_classes` classes on `embedding_dim`-d embeddings.

    Args:
        name: a registered head name (see `available()`).
        num_classes: number of classes (>= 2).
        embedding_dim: dimension of the embeddings the head receives.
        **options: head-specific options (e.g. `c` for poincare, `margin`/`scale` for arcface); an
            option the head does not take raises a TypeError naming it.

    Returns:
        HeadSpec. Its layer only accepts `embedding_dim`-d inputs: a call on another dimension raises a
        ValueError naming the layer, the expected and the received shape (a `keras.InputSpec` on the last
        axis; a head built for d = 8 would otherwise build itself on d = 5 embeddings).

    Raises:
        ValueError: unknown name; `num_classes` not an integer >= 2 or `embedding_dim` not an integer >= 1
            (floats such as 2.5 and None are refused, not truncated).

    Example:
        >>> spec = zoo.heads.get("poincare", num_classes=10, embedding_dim=2, c=1.0)
        >>> model.compile(optimizer="adam", loss=spec.loss, metrics=spec.metrics)
    """
    if name not in _REGISTRY:
        raise ValueError(f"Unknown head {name!r}; available heads: {', '.join(available())}.")
    num_classes = check_int(num_classes, "num_classes", minimum=2, owner=f"zoo.heads.get({name!r})")
    embedding_dim = check_int(embedding_dim, "embedding_dim", minimum=1, owner=f"zoo.heads.get({name!r})")
    spec = _REGISTRY[name](num_classes, embedding_dim, **options)
    _expect_dim(spec.layer, embedding_dim)
    return spec


def _expect_dim(layer, embedding_dim):
    """Make `layer` refuse inputs whose last axis is not `embedding_dim` (checked by Keras on every call)."""
    if not isinstance(layer, keras.layers.Layer):
        return
    spec = layer.input_spec
    if spec is None or isinstance(spec, keras.InputSpec):
        min_ndim = 2 if spec is None or spec.min_ndim is None else spec.min_ndim
        layer.input_spec = keras.InputSpec(min_ndim=min_ndim, axes={-1: embedding_dim})


def accuracy() -> keras.metrics.Metric:
    """The accuracy metric shared by every head (argmax of the scores)."""
    return keras.metrics.SparseCategoricalAccuracy(name="accuracy")
