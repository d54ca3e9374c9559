"""Image encoders: `zoo.backbones.get(name, input_shape, embedding_dim, **kwargs)`.

Every backbone is a functional `keras.Model` (named after the backbone) mapping images
`[B, H, W, C]` (float32, channels last) to embeddings `[B, embedding_dim]`. The embedding is
linear (no activation, no normalisation): the geometry heads in `zoo.layers` decide how to
normalise or project it.

| name        | what it is                                                               | file             |
|-------------|--------------------------------------------------------------------------|------------------|
| `lenet`     | hyperbolic-image-embeddings MNIST LeNet (conv20-conv50-fc500-fc dim)      | `lenet.py`       |
| `conv4`     | 4 x [conv3x3-BN-ReLU-maxpool2] few-shot encoder (hyptorch / ProtoNet)     | `conv4.py`       |
| `resnet12`  | few-shot ResNet-12, 64-128-256-512, DropBlock, global max-pool            | `resnet12.py`    |
| `resnet20`  | CIFAR ResNet, 3 x 3 BasicBlocks, 16/32/64 channels                       | `cifar_resnet.py`|
| `resnet32`  | CIFAR ResNet, 3 x 5 BasicBlocks                                          | `cifar_resnet.py`|
| `resnet56`  | CIFAR ResNet, 3 x 9 BasicBlocks                                          | `cifar_resnet.py`|
| `hub_resnet`| adapter over `keras_hub.models.ResNetBackbone` (random init or preset)   | `hub.py`         |
| `hub_vit`   | adapter over `keras_hub.models.ViTBackbone` (random init or preset)      | `hub.py`         |

Example:
    >>> import zoo.backbones
    >>> model = zoo.backbones.get("lenet", input_shape=(28, 28, 1), embedding_dim=64)
    >>> model(np.zeros((2, 28, 28, 1), "float32")).shape
    (2, 64)
    >>> zoo.backbones.available()
    ['conv4', 'hub_resnet', 'hub_vit', 'lenet', 'resnet12', 'resnet20', 'resnet32', 'resnet56']

Keyword arguments are forwarded to the family's builder (for example `variant="flatten"` for
`conv4`, `shortcut="pad"` / `width=2` for the CIFAR ResNets, `preset=...` for the keras-hub
adapters); an argument the builder does not accept raises a `ValueError` naming it. Every
builder also accepts `name=` to rename the model (two encoders in one model need distinct names).

The `hub_*` adapters need the optional `keras-hub` package (`pip install keras-hub`, extra `hub`);
it is imported only when one of them is built.
"""

import inspect

# --- shared argument checks -----------------------------------------------------------------
# Defined before the family modules are imported: they import these helpers from the package.


def _check_embedding_dim(embedding_dim):
    """Return `embedding_dim` as an int >= 1 or raise a ValueError naming it."""
    if isinstance(embedding_dim, bool) or not hasattr(embedding_dim, "__index__"):
        raise ValueError(f"`embedding_dim` must be an integer >= 1; got {embedding_dim!r}.")
    embedding_dim = int(embedding_dim)
    if embedding_dim < 1:
        raise ValueError(f"`embedding_dim` must be an integer >= 1; got {embedding_dim}.")
    return embedding_dim


def _check_input_shape(input_shape, *, backbone, min_size=1, allow_none=False):
    """Validate an image shape `(H, W, C)` (channels last, no batch axis).

    Args:
        input_shape: the shape to check.
        backbone: backbone name, used in the messages.
        min_size: the smallest H and W the network accepts.
        allow_none: whether H and W may be None (networks that end in a global pooling).

    Returns:
        The shape as a tuple of ints (or None for H/W where allowed).
    """
    try:
        shape = tuple(input_shape)
    except TypeError:
        raise ValueError(
            f"`input_shape` must be a tuple (height, width, channels) of rank 3; got {input_shape!r}."
        ) from None
    if len(shape) != 3:
        raise ValueError(
            f"`input_shape` must be (height, width, channels), rank 3 without the batch axis; "
            f"got {input_shape!r} (rank {len(shape)})."
        )
    out = []
    for axis, (size, what) in enumerate(zip(shape, ("height", "width", "channels"))):
        if size is None:
            if axis == 2 or not allow_none:
                raise ValueError(
                    f"`input_shape` {what} must be a known positive integer for {backbone!r}; "
                    f"got {input_shape!r}."
                )
            out.append(None)
            continue
        if isinstance(size, bool) or not hasattr(size, "__index__") or int(size) < 1:
            raise ValueError(f"`input_shape` {what} must be a positive integer; got {input_shape!r}.")
        out.append(int(size))
    for size, what in zip(out[:2], ("height", "width")):
        if size is not None and size < min_size:
            raise ValueError(
                f"`input_shape` {input_shape!r} is too small for {backbone!r}: {what} must be >= "
                f"{min_size}."
            )
    return tuple(out)


from zoo.backbones import cifar_resnet, conv4, hub, lenet, resnet12  # noqa: E402

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


def available():
    """Names accepted by `zoo.backbones.get`, sorted.

    Example:
        >>> zoo.backbones.available()
        ['conv4', 'hub_resnet', 'hub_vit', 'lenet', 'resnet12', 'resnet20', 'resnet32', 'resnet56']
    """
    return sorted(_REGISTRY)


def get(name, /, input_shape, embedding_dim, **kwargs):
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


__all__ = ["get", "available", "lenet", "conv4", "resnet12", "cifar_resnet", "hub"]
