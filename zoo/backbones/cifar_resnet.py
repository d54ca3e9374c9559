"""CIFAR-style ResNets (ResNet-20/32/56) (`zoo.backbones.get("resnet32", ...)`)."""

import keras
from keras import layers, ops

from zoo._checks import check_choice, check_embedding_dim, check_input_shape

SHORTCUTS = ("projection", "pad", "conv3x3")
# The two stride-2 stages should really downsample: 4 -> 4 -> 2 -> 1.
MIN_SIZE = 4
# PyTorch BatchNorm2d defaults (momentum 0.1 = Keras momentum 0.9, eps 1e-5), as in the references.
BN_MOMENTUM = 0.9
BN_EPSILON = 1e-5
# Kaiming-normal (fan_in) convolutions and Dense, as `_weights_init` in the reference CIFAR ResNet.
KERNEL_INIT = "he_normal"


@keras.saving.register_keras_serializable(package="zoo")
class PadShortcut(keras.layers.Layer):
    """Parameter-free "option A" shortcut: subsample, then zero-pad the channels.

    `y = pad_channels(x[:, ::stride, ::stride, :], (lo, hi))` with `lo = (out - in) // 2` and
    `hi = out - in - lo` zero channels before and after (the reference pads `planes // 4` on both
    sides, the same thing when the channels double).

    Args:
        filters: output channels (>= input channels).
        stride: spatial subsampling step.

    Example:
        >>> y = zoo.backbones.cifar_resnet.PadShortcut(32, stride=2)(x)    # [B,32,32,16]->[B,16,16,32]

    Reference:
        He et al., "Deep Residual Learning for Image Recognition", CVPR 2016, §4.2 option A;
        the `LambdaLayer` of akamaster/pytorch_resnet_cifar10 used by the DL2PA LT code.
    """

    def __init__(self, filters, stride=2, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.stride = int(stride)

    def build(self, input_shape):
        in_channels = input_shape[-1]
        if in_channels is None or in_channels > self.filters:
            raise ValueError(
                f"PadShortcut `filters` ({self.filters}) must be >= the input channels ({in_channels})."
            )
        self.built = True

    def call(self, x):
        if self.stride > 1:
            x = x[:, :: self.stride, :: self.stride, :]
        extra = self.filters - x.shape[-1]
        if extra:
            lo = extra // 2
            x = ops.pad(x, [[0, 0], [0, 0], [0, 0], [lo, extra - lo]])
        return x

    def compute_output_shape(self, input_shape):
        def sub(n):
            return None if n is None else -(-n // self.stride)

        return (input_shape[0], sub(input_shape[1]), sub(input_shape[2]), self.filters)

    def get_config(self):
        config = super().get_config()
        config.update({"filters": self.filters, "stride": self.stride})
        return config


def _conv(x, filters, kernel_size, stride, name):
    """Conv with PyTorch-style padding (k // 2 on every side), identical on every backend."""
    pad = kernel_size // 2
    if stride > 1 and pad:
        # "same" with stride 2 pads only bottom/right in TF/JAX; the reference pads 1 on each side.
        x = layers.ZeroPadding2D(pad, name=f"{name}_pad")(x)
        padding = "valid"
    else:
        padding = "same"
    return layers.Conv2D(
        filters, kernel_size, strides=stride, padding=padding, use_bias=False,
        kernel_initializer=KERNEL_INIT, name=name,
    )(x)


def _bn(x, name):
    return layers.BatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=name)(x)


def _basic_block(x, filters, stride, shortcut, name):
    in_channels = x.shape[-1]
    y = _conv(x, filters, 3, stride, f"{name}_conv1")
    y = _bn(y, f"{name}_bn1")
    y = layers.Activation("relu", name=f"{name}_relu1")(y)
    y = _conv(y, filters, 3, 1, f"{name}_conv2")
    y = _bn(y, f"{name}_bn2")
    if stride == 1 and in_channels == filters:
        s = x
    elif shortcut == "pad":
        s = PadShortcut(filters, stride, name=f"{name}_shortcut")(x)
    else:
        k = 1 if shortcut == "projection" else 3
        s = _conv(x, filters, k, stride, f"{name}_shortcut_conv")
        s = _bn(s, f"{name}_shortcut_bn")
    y = layers.Add(name=f"{name}_add")([y, s])
    return layers.Activation("relu", name=f"{name}_out")(y)


def cifar_resnet(
    input_shape=(32, 32, 3), embedding_dim=64, *, depth=20, width=1, shortcut="projection", name=None
):
    """CIFAR ResNet of depth `6n + 2`: 3 stages of `n` BasicBlocks, then average pool and Dense.

    Architecture (He et al. §4.2):

        conv3x3(16w) -> BN -> ReLU
        stage 1: n x BasicBlock(16w), stride 1
        stage 2: n x BasicBlock(32w), first block stride 2
        stage 3: n x BasicBlock(64w), first block stride 2
        global average pool -> Dense(embedding_dim)                (no activation)

    with `BasicBlock(c) = relu(BN(conv3x3(relu(BN(conv3x3(x))))) + shortcut(x))`. The shortcut is
    the identity unless the block changes resolution or channels; then it is:

    * `"projection"` (default): 1x1 conv (stride 2) + BN, "option B";
    * `"pad"`: subsample by 2 and zero-pad the channels, parameter-free "option A" (the
      `resnet32_fe` of the DL2PA long-tail code; `width=2` gives its 32/64/128 CIFAR-100 variant);
    * `"conv3x3"`: 3x3 conv (stride 2) + BN, the downsample of the HPN ResNet-32 that DL2PA uses in
      its balanced CIFAR-100 runs (see shared research notes §4.4).

    Stride-2 convolutions pad one pixel on every side as in PyTorch (not Keras' asymmetric "same"),
    so the spatial sizes are `H -> H -> ceil(H/2) -> ceil(H/4)` on every backend: 32 -> 32/16/8
    (CIFAR), 28 -> 28/14/7 (Fashion-MNIST, any channel count). Height and width may be None.

    Args:
        input_shape: `(height, width, channels)`, height and width >= 4 (or None).
        embedding_dim: int >= 1, output size of the final Dense.
        depth: 6n + 2 (20, 32, 44, 56, 110, ...).
        width: channel multiplier; stage channels are `round(16*width)`, `round(32*width)`,
            `round(64*width)`.
        shortcut: `"projection"`, `"pad"` or `"conv3x3"`.
        name: model name (default `f"resnet{depth}"`).

    Returns:
        A functional `keras.Model` `[B, H, W, C] -> [B, embedding_dim]`.

    Example:
        >>> model = zoo.backbones.get("resnet32", input_shape=(32, 32, 3), embedding_dim=64,
        ...                           shortcut="pad")
        >>> model = zoo.backbones.get("resnet20", input_shape=(28, 28, 1), embedding_dim=64)

    Parameter counts (trainable, 32x32x3): ResNet-20 with `shortcut="pad"` and 10 outputs has
    269,722 parameters, the 0.27M of He et al. Table 6.

    Reference:
        He et al., "Deep Residual Learning for Image Recognition", CVPR 2016 (CIFAR-10 nets, §4.2);
        Kasarla et al. / DL2PA: "Hyperspherical Classification with Dynamic Label-to-Prototype
        Assignment", CVPR 2024 (`resnet32_fe`); akamaster/pytorch_resnet_cifar10.

    Departures from the reference code:
        A Dense(embedding_dim) always follows the pooling (DL2PA's `resnet32_fe` has none and
        returns the 64-d pooled feature; use `embedding_dim=64` and let the head project, or take
        the `pool` layer's output). Keras BatchNorm is configured with PyTorch's momentum/epsilon.
    """
    embedding_dim = check_embedding_dim(embedding_dim)
    if isinstance(depth, bool) or not hasattr(depth, "__index__") or depth < 8 or (depth - 2) % 6:
        raise ValueError(f"`depth` must be 6n + 2 with n >= 1 (20, 32, 56, ...); got {depth!r}.")
    check_choice(shortcut, "shortcut", SHORTCUTS)
    try:
        width = float(width)
    except (TypeError, ValueError):
        raise ValueError(f"`width` must be a positive number; got {width!r}.") from None
    channels = [int(round(c * width)) for c in (16, 32, 64)]
    if not width > 0 or min(channels) < 1:
        raise ValueError(f"`width` must be positive and give >= 1 channel per stage; got {width!r}.")
    depth = int(depth)
    n = (depth - 2) // 6
    name = name or f"resnet{depth}"
    input_shape = check_input_shape(input_shape, backbone=name, min_size=MIN_SIZE, allow_none=True)

    inputs = keras.Input(shape=input_shape, name="images")
    x = _conv(inputs, channels[0], 3, 1, "stem_conv")
    x = _bn(x, "stem_bn")
    x = layers.Activation("relu", name="stem_relu")(x)
    for stage, filters in enumerate(channels, start=1):
        for block in range(n):
            stride = 2 if (stage > 1 and block == 0) else 1
            x = _basic_block(x, filters, stride, shortcut, f"stage{stage}_block{block}")
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    outputs = layers.Dense(embedding_dim, kernel_initializer=KERNEL_INIT, name="embedding")(x)
    return keras.Model(inputs, outputs, name=name)


def resnet20(input_shape=(32, 32, 3), embedding_dim=64, *, width=1, shortcut="projection", name="resnet20"):
    """CIFAR ResNet-20 (n = 3). See `zoo.backbones.cifar_resnet.cifar_resnet` for the details.

    Example:
        >>> model = zoo.backbones.get("resnet20", input_shape=(32, 32, 3), embedding_dim=10,
        ...                           shortcut="pad")    # 269,722 trainable parameters
    """
    return cifar_resnet(input_shape, embedding_dim, depth=20, width=width, shortcut=shortcut, name=name)


def resnet32(input_shape=(32, 32, 3), embedding_dim=64, *, width=1, shortcut="projection", name="resnet32"):
    """CIFAR ResNet-32 (n = 5), the DL2PA / HPN backbone. See `cifar_resnet` for the details.

    Example:
        >>> model = zoo.backbones.get("resnet32", input_shape=(32, 32, 3), embedding_dim=64,
        ...                           shortcut="pad")             # DL2PA resnet32_fe + Dense
        >>> model = zoo.backbones.get("resnet32", input_shape=(32, 32, 3), embedding_dim=128,
        ...                           shortcut="pad", width=2)    # resnet32_fe_c100 + Dense
    """
    return cifar_resnet(input_shape, embedding_dim, depth=32, width=width, shortcut=shortcut, name=name)


def resnet56(input_shape=(32, 32, 3), embedding_dim=64, *, width=1, shortcut="projection", name="resnet56"):
    """CIFAR ResNet-56 (n = 9). See `zoo.backbones.cifar_resnet.cifar_resnet` for the details.

    Example:
        >>> model = zoo.backbones.get("resnet56", input_shape=(32, 32, 3), embedding_dim=64)
    """
    return cifar_resnet(input_shape, embedding_dim, depth=56, width=width, shortcut=shortcut, name=name)
