"""Adapters over keras-hub's ResNet and ViT backbones (`zoo.backbones.get("hub_resnet" | "hub_vit")`).

Both adapters wrap a `keras_hub.models.Backbone` as a sub-model, pool its output and add a
`Dense(embedding_dim)`. By default the keras-hub backbone is built from a small explicit config and
randomly initialised (offline, every backend). With `preset="..."` it comes from
`Backbone.from_preset(preset)` instead: a built-in preset name (downloads from Kaggle on first use,
then cached), a `kaggle://` / `hf://` / `modelscope://` handle, or a local preset directory.

keras-hub is an optional dependency (`pip install keras-hub`, extra `hub`), imported only here and
only when an adapter is built.
"""

import os

import keras
from keras import layers

from zoo._checks import check_choice, check_embedding_dim, check_input_shape

# Small random-init configs: fast to build and run on a CPU, fine for 28x28 and 32x32 inputs.
# keras-hub's ResNetBackbone requires stackwise_num_filters[0] == 64 and, for "basic_block", the
# first stack keeps the stem's channels (identity shortcut), so the stem must have 64 filters too.
# Its stem downsamples by 4 (stride-2 conv + stride-2 max-pool), then each stack by its stride:
# 28x28 -> 14 -> 7 -> 7 -> 4.
SMALL_RESNET_CONFIG = {
    "input_conv_filters": [64],
    "input_conv_kernel_sizes": [3],
    "stackwise_num_filters": [64, 128],
    "stackwise_num_blocks": [1, 1],
    "stackwise_num_strides": [1, 2],
    "block_type": "basic_block",
    "use_pre_activation": False,
}
# 4x4 patches: 49 tokens on 28x28, 64 on 32x32 (+1 class token).
SMALL_VIT_CONFIG = {
    "patch_size": 4,
    "num_layers": 2,
    "num_heads": 4,
    "hidden_dim": 64,
    "mlp_dim": 128,
    "dropout_rate": 0.0,
    "attention_dropout": 0.0,
    "use_class_token": True,
}
RESNET_POOLINGS = ("avg", "max")
VIT_POOLINGS = ("token", "mean")
PRESET_SCHEMES = ("kaggle://", "hf://", "modelscope://")


def _keras_hub():
    try:
        import keras_hub
    except ImportError as e:  # pragma: no cover - keras-hub is installed in the dev environment
        raise ImportError(
            "The 'hub_resnet' and 'hub_vit' backbones need keras-hub: `pip install keras-hub` "
            "(or this project's extra `hub`)."
        ) from e
    return keras_hub


def _check_config(config, allowed, backbone):
    unknown = sorted(set(config) - set(allowed))
    if unknown:
        raise ValueError(
            f"Backbone {backbone!r} got unexpected keyword argument(s) {unknown}; keras-hub config "
            f"keys accepted: {sorted(allowed)}."
        )


def _from_preset(cls, preset, load_weights, backbone, **overrides):
    """`cls.from_preset(preset, load_weights=...)` with a clear message when it cannot be loaded.

    `preset` may also be a `cls` instance already loaded (`zoo.models` loads a preset once to learn its family).
    """
    if isinstance(preset, cls):
        return preset
    if not isinstance(preset, str) or not preset:
        raise ValueError(f"`preset` must be a keras-hub preset name, handle or directory; got {preset!r}.")
    builtin = sorted(cls.presets.keys())
    if preset not in builtin and not preset.startswith(PRESET_SCHEMES) and not os.path.isdir(preset):
        raise ValueError(
            f"Unknown keras-hub `preset` {preset!r} for {backbone!r}: not a built-in "
            f"{cls.__name__} preset ({builtin}), not a kaggle:// / hf:// / modelscope:// handle and "
            f"not an existing local directory."
        )
    try:
        return cls.from_preset(preset, load_weights=load_weights, **overrides)
    except Exception as e:
        raise RuntimeError(
            f"Could not load keras-hub preset {preset!r} for {backbone!r} ({type(e).__name__}: {e}). "
            f"Built-in presets are downloaded on first use and need network access; offline, pass a "
            f"local preset directory, or leave `preset=None` for a randomly initialised backbone."
        ) from e


def _check_preset_input(hub_backbone, input_shape, backbone):
    expected = tuple(hub_backbone.input_shape[1:])
    for got, want, what in zip(input_shape, expected, ("height", "width", "channels")):
        if want is not None and got != want:
            raise ValueError(
                f"`input_shape` {input_shape} does not match the preset of {backbone!r}, which expects "
                f"{expected} ({what} differs)."
            )


def hub_resnet(
    input_shape=(32, 32, 3), embedding_dim=64, *, preset=None, load_weights=True, pooling="avg",
    name="hub_resnet", **config
):
    """keras-hub `ResNetBackbone` -> global pooling -> `Dense(embedding_dim)` (or no projection).

    `z = W · pool(ResNetBackbone(x)) + b` where the backbone returns its last feature map
    `[B, h, w, C]` and `pool` is the spatial mean (`"avg"`) or max (`"max"`); with
    `embedding_dim=None`, `z = pool(ResNetBackbone(x))` (the re-ID strong baseline's 2048-d
    `global_feat` of ResNet-50).

    Random init (default): `SMALL_RESNET_CONFIG` (stem conv3x3(64), stacks 64/128 of one basic
    block each, strides 1/2: 305,984 parameters before the Dense), any keyword argument in `config`
    overriding a key of it (keras-hub's own names: `stackwise_num_filters`, `block_type`,
    `use_pre_activation`, ...). keras-hub requires `stackwise_num_filters[0] == 64`.

    Args:
        input_shape: `(height, width, channels)`; height and width >= 8 (or None).
        embedding_dim: int >= 1, or None for the pooled features without a projection.
        preset: None (random init from the config), or a keras-hub preset name / handle / local
            directory (or a loaded `ResNetBackbone`), e.g. `"resnet_18_imagenet"`,
            `"resnet_50_imagenet"` (3-channel inputs; needs the network the first time). Keyword
            arguments in `config` are then forwarded to `from_preset` as config overrides (e.g.
            `stackwise_num_strides=[1, 2, 2, 1]`: the last stride 1 of re-ID baselines; strides
            do not change weight shapes, so the preset's weights still load).
        load_weights: with a preset, whether to load its weights (False: preset architecture,
            random weights).
        pooling: `"avg"` (default) or `"max"`.
        name: model name.
        **config: keras-hub `ResNetBackbone` constructor arguments.

    Returns:
        A functional `keras.Model` `[B, H, W, C] -> [B, embedding_dim]` (`[B, C]` with
        `embedding_dim=None`) with the keras-hub model as its layer `"resnet_backbone"`.

    Example:
        >>> model = zoo.backbones.get("hub_resnet", input_shape=(28, 28, 1), embedding_dim=64)
        >>> model = zoo.backbones.get("hub_resnet", input_shape=(224, 224, 3), embedding_dim=128,
        ...                           preset="resnet_50_imagenet")    # needs the network once

    Reference:
        He et al., "Deep Residual Learning for Image Recognition", CVPR 2016; KerasHub
        `keras_hub.models.ResNetBackbone`.

    Departures:
        keras-hub's input is the raw image; preset weights expect the preset's own normalisation
        (`keras_hub.models.ResNetImageConverter`), which this adapter does not apply.
    """
    keras_hub = _keras_hub()
    embedding_dim = None if embedding_dim is None else check_embedding_dim(embedding_dim)
    check_choice(pooling, "pooling", RESNET_POOLINGS)
    cls = keras_hub.models.ResNetBackbone
    if preset is None:
        cfg = dict(SMALL_RESNET_CONFIG)
        _check_config(config, list(cfg) + ["data_format", "dtype"], "hub_resnet")
        cfg.update(config)
        # Stem: stride-2 conv then stride-2 max-pool; then each stack's stride.
        min_size = 4 * max(1, _prod(cfg["stackwise_num_strides"]))
        input_shape = check_input_shape(input_shape, backbone="hub_resnet", min_size=min_size,
                                         allow_none=True)
        hub_backbone = cls(image_shape=input_shape, name="resnet_backbone", **cfg)
    else:
        input_shape = check_input_shape(input_shape, backbone="hub_resnet", min_size=8, allow_none=True)
        hub_backbone = _from_preset(cls, preset, load_weights, "hub_resnet", name="resnet_backbone", **config)
        _check_preset_input(hub_backbone, input_shape, "hub_resnet")

    inputs = keras.Input(shape=input_shape, name="images")
    x = hub_backbone(inputs)
    if pooling == "avg":
        x = layers.GlobalAveragePooling2D(name="pool")(x)
    else:
        x = layers.GlobalMaxPooling2D(name="pool")(x)
    outputs = x if embedding_dim is None else layers.Dense(embedding_dim, name="embedding")(x)
    return keras.Model(inputs, outputs, name=name)


def hub_vit(
    input_shape=(32, 32, 3), embedding_dim=64, *, preset=None, load_weights=True, pooling=None,
    name="hub_vit", **config
):
    """keras-hub `ViTBackbone` -> class token or token mean -> `Dense(embedding_dim)`.

    The keras-hub ViT returns the layer-normalised token sequence `[B, 1 + N, D]` (class token
    first when `use_class_token=True`, `N = HW / patch²`). The embedding is
    `z = W · t + b` with `t` the class token (`pooling="token"`, the default when there is a class
    token) or the mean of the N patch tokens (`pooling="mean"`, class token excluded, as timm's
    `global_pool="avg"`; the default without a class token).

    Random init (default): `SMALL_VIT_CONFIG` (patch 4, 2 layers, 4 heads, hidden 64, MLP 128:
    71,424 parameters on 28x28x1 before the Dense, position embeddings included), any keyword
    argument in `config` overriding a key.

    Args:
        input_shape: `(height, width, channels)`, known height and width divisible by
            `patch_size` (a preset fixes the size, e.g. 224x224x3).
        embedding_dim: int >= 1.
        preset: None (random init), or a keras-hub preset name / handle / local directory (or a loaded
            `ViTBackbone`), e.g.
            `"vit_base_patch16_224_imagenet"` (needs the network the first time).
        load_weights: with a preset, whether to load its weights.
        pooling: `"token"` or `"mean"` (default: `"token"` if the backbone has a class token).
        name: model name.
        **config: keras-hub `ViTBackbone` constructor arguments (`patch_size`, `num_layers`,
            `num_heads`, `hidden_dim`, `mlp_dim`, `dropout_rate`, `use_class_token`, ...).

    Returns:
        A functional `keras.Model` `[B, H, W, C] -> [B, embedding_dim]` with the keras-hub model as
        its layer `"vit_backbone"`.

    Example:
        >>> model = zoo.backbones.get("hub_vit", input_shape=(32, 32, 3), embedding_dim=64)
        >>> model = zoo.backbones.get("hub_vit", input_shape=(28, 28, 1), embedding_dim=64,
        ...                           patch_size=7, pooling="mean")

    Reference:
        Dosovitskiy et al., "An Image is Worth 16x16 Words: Transformers for Image Recognition at
        Scale", ICLR 2021; KerasHub `keras_hub.models.ViTBackbone`.

    Departures:
        `"mean"` averages the patch tokens only; keras-hub's `ViTImageClassifier(pooling="gap")`
        also averages in the class token.
    """
    keras_hub = _keras_hub()
    embedding_dim = check_embedding_dim(embedding_dim)
    if pooling is not None and pooling not in VIT_POOLINGS:
        raise ValueError(f"`pooling` must be one of {VIT_POOLINGS} or None; got {pooling!r}.")
    cls = keras_hub.models.ViTBackbone
    if preset is None:
        cfg = dict(SMALL_VIT_CONFIG)
        allowed = list(cfg) + ["layer_norm_epsilon", "use_mha_bias", "use_mlp_bias", "use_patch_bias",
                               "data_format", "dtype"]
        _check_config(config, allowed, "hub_vit")
        cfg.update(config)
        patch = cfg["patch_size"]
        patch = (patch, patch) if isinstance(patch, int) else tuple(patch)
        input_shape = check_input_shape(input_shape, backbone="hub_vit", min_size=min(patch))
        for size, p, what in zip(input_shape, patch, ("height", "width")):
            if size % p:
                raise ValueError(
                    f"`input_shape` {what} {size} must be divisible by `patch_size` {p} for 'hub_vit'."
                )
        if cfg["hidden_dim"] % cfg["num_heads"]:
            raise ValueError(
                f"`hidden_dim` ({cfg['hidden_dim']}) must be divisible by `num_heads` ({cfg['num_heads']})."
            )
        hub_backbone = cls(image_shape=input_shape, name="vit_backbone", **cfg)
    else:
        input_shape = check_input_shape(input_shape, backbone="hub_vit")
        hub_backbone = _from_preset(cls, preset, load_weights, "hub_vit", name="vit_backbone", **config)
        _check_preset_input(hub_backbone, input_shape, "hub_vit")

    has_class_token = bool(hub_backbone.use_class_token)
    pooling = pooling or ("token" if has_class_token else "mean")
    if pooling == "token" and not has_class_token:
        raise ValueError("`pooling='token'` needs `use_class_token=True`; use pooling='mean'.")

    inputs = keras.Input(shape=input_shape, name="images")
    tokens = hub_backbone(inputs)                                   # [B, 1 + N, D] or [B, N, D]
    num_tokens = tokens.shape[1]
    if pooling == "token":
        # Keep token 0 only (built-in layers, so the model saves without custom objects).
        x = layers.Cropping1D((0, num_tokens - 1), name="class_token")(tokens)
        x = layers.Flatten(name="pool")(x)
    else:
        if has_class_token:
            tokens = layers.Cropping1D((1, 0), name="patch_tokens")(tokens)
        x = layers.GlobalAveragePooling1D(name="pool")(tokens)
    outputs = layers.Dense(embedding_dim, name="embedding")(x)
    return keras.Model(inputs, outputs, name=name)


def _prod(values):
    out = 1
    for v in values:
        out *= int(v)
    return out
