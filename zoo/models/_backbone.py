"""One way for every task model to turn its `backbone` argument into an image encoder `[B, H, W, C] -> [B, d]`.

`backbone` may be:
- a `zoo.backbones` name ("lenet", "conv4", "resnet12", "resnet20", "hub_resnet", "hub_vit", ...): built for the
  task's `input_shape` and `embedding_dim`;
- a keras-hub preset: a built-in name ("resnet_18_imagenet", "vit_base_patch16_224_imagenet"), a `kaggle://`,
  `hf://` or `modelscope://` handle, or a local preset directory (`Backbone.save_to_preset`): a ResNet or ViT
  backbone, wrapped by `zoo.backbones.hub_resnet` / `hub_vit` (pooling + Dense(embedding_dim));
- any Keras model or layer mapping images to features: used as it is when it outputs `[B, embedding_dim]`,
  else followed by global average pooling (4-D feature maps) and a Dense(embedding_dim) projection.

It also says which image shape the encoder takes (`ImagePreprocessor` converts raw images to it).
"""

import os

import keras

from zoo._checks import check_embedding_dim

__all__ = ["backbone_input_shape", "resolve_backbone"]

# Image size used for a keras-hub preset whose spatial size is free (ResNet) when the task gives no input_shape.
DEFAULT_PRESET_SIZE = 224


def image_shape(input_shape, where):
    """`(H, W, C)` from `(H, W)` or `(H, W, C)` (None stays None); ValueError naming `input_shape`."""
    if input_shape is None:
        return None
    try:
        shape = tuple(None if v is None else int(v) for v in input_shape)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: `input_shape` must be (height, width) or (height, width, channels); "
                         f"got {input_shape!r}.") from None
    if len(shape) == 2:
        shape = shape + (1,)
    if len(shape) != 3 or shape[2] not in (1, 3) or any(v is not None and v < 1 for v in shape):
        raise ValueError(f"{where}: `input_shape` must be (height, width) or (height, width, channels) with 1 or 3 "
                         f"channels; got {input_shape!r}.")
    return shape


def resolve_backbone(backbone, input_shape, embedding_dim, where, **options):
    """(encoder model, image shape it takes) for a backbone name, keras-hub preset or Keras model.

    Args:
        backbone: see the module docstring.
        input_shape: `(H, W, C)` of the raw images (from `image_shape`), or None.
        embedding_dim: output dimension; None keeps a Keras model's or preset's own feature size.
        where: the task model's name, for messages.
        **options: forwarded to `zoo.backbones.get` (names) or to the keras-hub adapter (presets).
    """
    import zoo.backbones

    if isinstance(backbone, (keras.Model, keras.layers.Layer)):
        if options:
            raise ValueError(f"{where}: `backbone_options` only apply to backbone names and presets; got "
                             f"{sorted(options)} with a {type(backbone).__name__}.")
        return _wrap_model(backbone, input_shape, embedding_dim, where)
    if not isinstance(backbone, str) or not backbone:
        raise ValueError(f"{where}: `backbone` must be a zoo.backbones name ({zoo.backbones.available()}), a "
                         f"keras-hub preset name/handle/directory or a Keras model; got {backbone!r}.")
    key = backbone.strip().lower().replace("-", "_")
    if key in zoo.backbones.available():
        if input_shape is None or None in input_shape[:2] and key not in ("hub_resnet",):
            raise ValueError(f"{where}: `input_shape` (height, width[, channels]) is needed to build backbone "
                             f"{backbone!r}; e.g. input_shape=(28, 28, 1).")
        if embedding_dim is None and key == "hub_resnet":
            dim = None  # pooled ResNet features without a projection
        else:
            dim = check_embedding_dim(64 if embedding_dim is None else embedding_dim, owner=where)
        model = zoo.backbones.get(key, input_shape, dim, **options)
        return model, tuple(model.input_shape[1:])
    return _from_preset(backbone, input_shape, embedding_dim, where, **options)


def backbone_input_shape(model):
    """`(H, W, C)` a built backbone takes (H/W may be None)."""
    shape = tuple(model.input_shape[1:]) if isinstance(model.input_shape, tuple) else None
    if shape is None or len(shape) != 3:
        raise ValueError(f"the backbone must take images [B, H, W, C]; its input shape is {model.input_shape}.")
    return shape


def _from_preset(preset, input_shape, embedding_dim, where, load_weights=True, **options):
    import zoo.backbones
    from zoo.backbones import hub

    try:
        import keras_hub
    except ImportError as e:  # pragma: no cover - keras-hub is installed in the dev environment
        raise ImportError(f"{where}: keras-hub presets need keras-hub: `pip install keras-hub` (or this project's "
                          "extra `hub`).") from e
    if not (os.path.isdir(preset) or preset.startswith(hub.PRESET_SCHEMES) or _is_builtin(keras_hub, preset)):
        raise ValueError(f"{where}: `backbone` {preset!r} is not a zoo.backbones name ({zoo.backbones.available()}), "
                         "a built-in keras-hub ResNet/ViT preset, a kaggle:// / hf:// / modelscope:// handle or an "
                         "existing local preset directory.")
    adapter = {k: options.pop(k) for k in ("pooling", "name") if k in options}
    try:  # the remaining options are config overrides (e.g. stackwise_num_strides: a ResNet's last stride)
        loaded = keras_hub.models.Backbone.from_preset(preset, load_weights=load_weights, **options)
    except Exception as e:
        raise RuntimeError(f"{where}: could not load keras-hub preset {preset!r} ({type(e).__name__}: {e}). Built-in "
                           "presets download on first use and need network access; offline, pass a local preset "
                           "directory made with `Backbone.save_to_preset`.") from e
    if isinstance(loaded, keras_hub.models.ResNetBackbone):
        family, channels = "hub_resnet", 3
    elif isinstance(loaded, keras_hub.models.ViTBackbone):
        family, channels = "hub_vit", 3
    else:
        raise ValueError(f"{where}: keras-hub preset {preset!r} is a {type(loaded).__name__}; task models take ResNet "
                         "and ViT presets (or pass the backbone as a Keras model).")
    preset_shape = tuple(loaded.input_shape[1:])
    channels = preset_shape[2] or channels
    height = preset_shape[0] or (input_shape[0] if input_shape and input_shape[0] else DEFAULT_PRESET_SIZE)
    width = preset_shape[1] or (input_shape[1] if input_shape and input_shape[1] else DEFAULT_PRESET_SIZE)
    if embedding_dim is None and family == "hub_resnet":
        dim = None  # the pooled ResNet features as they are (e.g. ResNet-50's 2048)
    else:
        dim = check_embedding_dim(64 if embedding_dim is None else embedding_dim, owner=where)
    model = zoo.backbones.get(family, (height, width, channels), dim, preset=loaded, **adapter)
    return model, (height, width, channels)


def _is_builtin(keras_hub, name):
    return name in keras_hub.models.ResNetBackbone.presets or name in keras_hub.models.ViTBackbone.presets


def _wrap_model(model, input_shape, embedding_dim, where):
    """Use a Keras model as the encoder: pool 4-D features and project to `embedding_dim` when they differ."""
    if not model.built:
        if input_shape is None or None in input_shape:
            raise ValueError(f"{where}: the backbone model is not built; pass `input_shape` or build it first.")
        model.build((None,) + tuple(input_shape))
    try:
        shape = backbone_input_shape(model) if isinstance(model, keras.Model) else tuple(input_shape)
    except (AttributeError, ValueError):
        if input_shape is None:
            raise ValueError(f"{where}: pass `input_shape` for a backbone without a known input shape.") from None
        shape = tuple(input_shape)
    shape = tuple(s if s is not None else (input_shape[i] if input_shape else None) for i, s in enumerate(shape))
    out_shape = model.compute_output_shape((None,) + shape) if hasattr(model, "compute_output_shape") else None
    rank = len(out_shape) if out_shape is not None else 2
    features = out_shape[-1] if out_shape is not None else None
    if rank == 2 and (embedding_dim is None or features == embedding_dim):
        return model, shape
    inputs = keras.Input(shape, name="images")
    x = model(inputs)
    if rank == 4:
        x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
    elif rank == 3:
        x = keras.layers.GlobalAveragePooling1D(name="pool")(x)
    elif rank != 2:
        raise ValueError(f"{where}: the backbone model outputs rank-{rank} features {out_shape}; expected [B, d], "
                         "[B, N, d] or [B, h, w, d].")
    if embedding_dim is not None and x.shape[-1] != embedding_dim:
        x = keras.layers.Dense(check_embedding_dim(embedding_dim, owner=where), name="embedding")(x)
    return keras.Model(inputs, x, name=f"{model.name}_encoder"), shape
