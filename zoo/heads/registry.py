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
        HeadSpec.

    Example:
        >>> spec = zoo.heads.get("poincare", num_classes=10, embedding_dim=2, c=1.0)
        >>> model.compile(optimizer="adam", loss=spec.loss, metrics=spec.metrics)
    """
    if name not in _REGISTRY:
        raise ValueError(f"Unknown head {name!r}; available heads: {', '.join(available())}.")
    if int(num_classes) < 2:
        raise ValueError(f"num_classes must be >= 2; got {num_classes}.")
    if int(embedding_dim) < 1:
        raise ValueError(f"embedding_dim must be >= 1; got {embedding_dim}.")
    return _REGISTRY[name](int(num_classes), int(embedding_dim), **options)


def accuracy() -> keras.metrics.Metric:
    """The accuracy metric shared by every head (argmax of the scores)."""
    return keras.metrics.SparseCategoricalAccuracy(name="accuracy")
