"""The backbone registry: `zoo.backbones.get(name, input_shape, embedding_dim, **kwargs)` and
`zoo.backbones.available()`.

A new backbone is a builder `f(input_shape, embedding_dim, *, ..., name=...) -> keras.Model` in its own
module and one entry in `_REGISTRY` below.
"""

from __future__ import annotations

import inspect

import keras

from zoo.backbones import cifar_resnet, conv4, hub, lenet, resnet12

__all__ = ["available", "get"]

_REGISTRY = {
    "lenet": lenet.lenet,
    "conv4": conv4.conv4,
    "resnet12": resnet12.resnet12,
    "resnet20": cifar_resnet.resnet20,
    "resnet32": cifar_resnet.resnet32,
    "resnet56": cifar_resnet.resnet56,
    "hub_resnet": hub.hub_resnet,
    "hub_vit": hub.hub_vit,
}


def available() -> list[str]:
    """Names accepted by `zoo.backbones.get`, sorted.

    Example:
        >>> zoo.backbones.available()
        ['conv4', 'hub_resnet', 'hub_vit', 'lenet', 'resnet12', 'resnet20', 'resnet32', 'resnet56']
    """
    return sorted(_REGISTRY)


def get(name: str, /, input_shape: tuple, embedding_dim: int, **kwargs) -> keras.Model:
    """Build a backbone by name: images `[B, H, W, C]` -> embeddings `[B, embedding_dim]`.

    Args:
        name: one of `zoo.backbones.available()` (case-insensitive; "-" may replace "_").
            Positional only, so that `name=` in `kwargs` can name the model.
        input_shape: `(height, width, channels)`, no batch axis, channels last.
        embedding_dim: int >= 1, size of the output embedding (linear, no activation).
        **kwargs: family-specific options, forwarded to the builder (see each module), plus
            `name=` for the model name (defaults to the backbone name).

    Returns:
        A functional `keras.Model` with one input named "images".

    Raises:
        ValueError: unknown `name`, `embedding_dim` < 1, `input_shape` not rank 3, input too small
            for the network, or a keyword argument the backbone does not accept.

    Example:
        >>> model = zoo.backbones.get("resnet20", input_shape=(32, 32, 3), embedding_dim=64,
        ...                           shortcut="pad")
    """
    if not isinstance(name, str):
        raise ValueError(f"`name` must be a backbone name (str), one of {available()}; got {name!r}.")
    key = name.strip().lower().replace("-", "_")
    if key not in _REGISTRY:
        raise ValueError(f"Unknown backbone `name` {name!r}; choose one of {available()}.")
    builder = _REGISTRY[key]
    params = inspect.signature(builder).parameters
    accepts_var_kw = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    if not accepts_var_kw:
        accepted = [k for k in params if k not in ("input_shape", "embedding_dim")]
        unknown = sorted(k for k in kwargs if k not in params or k in ("input_shape", "embedding_dim"))
        if unknown:
            raise ValueError(
                f"Backbone {key!r} got unexpected keyword argument(s) {unknown}; it accepts {accepted}."
            )
    return builder(input_shape, embedding_dim, **kwargs)
