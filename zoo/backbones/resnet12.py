"""ResNet-12 of few-shot learning (`zoo.backbones.get("resnet12", ...)`)."""

import numbers

import keras
from keras import layers

from zoo._checks import check_choice, check_embedding_dim, check_input_shape, check_int
from zoo.layers.drop_block import DropBlock

# Four 2x2 max-pools must leave >= 1 pixel: 16 -> 8 -> 4 -> 2 -> 1.
MIN_SIZE = 16
POOLS = ("max", "avg")
# PyTorch BatchNorm2d defaults (momentum 0.1 on the new statistic = Keras momentum 0.9, eps 1e-5).
BN_MOMENTUM = 0.9
BN_EPSILON = 1e-5
LEAKY_SLOPE = 0.1
# Blocks (1-based) regularised with DropBlock; the others with ordinary dropout of the same rate.
DROPBLOCK_BLOCKS = (3, 4)


def _kernel_init():
    """kaiming_normal_(mode="fan_out", nonlinearity="leaky_relu") of the reference: a = 0, so gain sqrt(2),
    an untruncated normal of variance 2 / (k * k * out_channels)."""
    return keras.initializers.VarianceScaling(scale=2.0, mode="fan_out", distribution="untruncated_normal")


def _conv(x, filters, kernel_size, name):
    return layers.Conv2D(
        filters, kernel_size, padding="same", use_bias=False,
        kernel_initializer=_kernel_init(), name=name,
    )(x)


def _bn(x, name):
    return layers.BatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=name)(x)


def _block(x, filters, index, drop_rate, block_size, drop_warmup_steps, seed):
    name = f"block{index}"
    y = x
    for j in (1, 2, 3):
        y = _conv(y, filters, 3, f"{name}_conv{j}")
        y = _bn(y, f"{name}_bn{j}")
        if j < 3:
            y = layers.LeakyReLU(LEAKY_SLOPE, name=f"{name}_relu{j}")(y)
    s = _conv(x, filters, 1, f"{name}_shortcut_conv")
    s = _bn(s, f"{name}_shortcut_bn")
    y = layers.Add(name=f"{name}_add")([y, s])
    y = layers.LeakyReLU(LEAKY_SLOPE, name=f"{name}_out")(y)
    y = layers.MaxPooling2D(2, name=f"{name}_pool")(y)
    if drop_rate > 0:
        layer_seed = None if seed is None else seed + index
        if index in DROPBLOCK_BLOCKS:
            y = DropBlock(drop_rate, block_size, warmup_steps=drop_warmup_steps, seed=layer_seed,
                          name=f"{name}_dropblock")(y)
        else:
            y = layers.Dropout(drop_rate, seed=layer_seed, name=f"{name}_dropout")(y)
    return y


def _check_channels(channels):
    try:
        channels = tuple(channels)
    except TypeError:
        raise ValueError(f"`channels` must be 4 integers >= 1 (one per block); got {channels!r}.") from None
    if len(channels) != 4 or any(
        isinstance(c, bool) or not isinstance(c, numbers.Integral) or c < 1 for c in channels
    ):
        raise ValueError(f"`channels` must be 4 integers >= 1 (one per block); got {channels!r}.")
    return tuple(int(c) for c in channels)


def resnet12(
    input_shape=(84, 84, 3),
    embedding_dim=512,
    *,
    channels=(64, 128, 256, 512),
    drop_rate=0.1,
    block_size=5,
    drop_warmup_steps=0,
    pool="max",
    project=False,
    seed=None,
    name="resnet12",
):
    """ResNet-12 few-shot encoder: 4 residual blocks, each 3 x [conv3x3-BN-LeakyReLU] + shortcut + maxpool.

    Block i (channels c_i), as in MetaOptNet / FEAT / the hyperbolic ProtoNet:

        y = BN(conv3x3(lrelu(BN(conv3x3(lrelu(BN(conv3x3(x))))))))       (convs without bias)
        y = maxpool2(lrelu(y + BN(conv1x1(x))))                          (1x1 shortcut in every block)
        y = Dropout(drop_rate)(y)                                        blocks 1, 2
        y = DropBlock(drop_rate, block_size)(y)                          blocks 3, 4

    with LeakyReLU slope 0.1, then a global max-pool (`pool="max"`, the hyperbolic ProtoNet's
    `AdaptiveMaxPool2d(1)`) or average pool (`pool="avg"`, FEAT). On 84x84 inputs the maps are
    84 -> 42 -> 21 -> 10 -> 5 and the embedding is `channels[-1]`-d: 512 for the default
    64-128-256-512 of the hyperbolic ProtoNet, 640 for the 64-160-320-640 of MetaOptNet / FEAT.
    DropBlock works on the 10x10 map of block 3 and the 5x5 map of block 4, where a 5x5 block is the
    whole channel (so block 4's DropBlock drops whole channels with probability `drop_rate`).

    The embedding size is the last block's channel count: the reference ResNet-12 has no projection
    (`--dim` has no effect for it). `embedding_dim` must therefore equal `channels[-1]`, unless
    `project=True`, which appends a `Dense(embedding_dim)` (no activation) named "embedding".

    Args:
        input_shape: `(height, width, channels)`, height and width >= 16 and known (DropBlock's gamma
            depends on the map size).
        embedding_dim: int >= 1; must equal `channels[-1]` unless `project=True`.
        channels: the 4 block widths (64, 128, 256, 512) of the hyperbolic ProtoNet; (64, 160, 320, 640)
            is the MetaOptNet / FEAT ResNet-12.
        drop_rate: 0 <= rate < 1, dropout rate of blocks 1-2 and DropBlock rate of blocks 3-4 (0.1 in the
            references); 0 removes the dropout layers.
        block_size: DropBlock block side (5 in the references).
        drop_warmup_steps: int >= 0; if > 0 the DropBlock rate ramps linearly from 0 to `drop_rate` over
            that many training steps (see "Departures"); 0 = constant rate.
        pool: `"max"` (global max-pool, default) or `"avg"` (global average pool).
        project: append `Dense(embedding_dim)` after the pooling.
        seed: optional int; block i's dropout / DropBlock is seeded with `seed + i`.
        name: model name.

    Returns:
        A functional `keras.Model` `[B, H, W, C] -> [B, embedding_dim]`; layers are named
        `block{1..4}_{conv1,bn1,relu1,conv2,bn2,relu2,conv3,bn3,shortcut_conv,shortcut_bn,add,out,pool}`,
        `block{1,2}_dropout`, `block{3,4}_dropblock`, then `global_max_pool` / `global_avg_pool`
        (+ `embedding`).

    Example:
        >>> model = zoo.backbones.get("resnet12", input_shape=(84, 84, 3), embedding_dim=512)
        >>> feat = zoo.backbones.get("resnet12", input_shape=(84, 84, 3), embedding_dim=640,
        ...                          channels=(64, 160, 320, 640), pool="avg")
        >>> small = zoo.backbones.get("resnet12", input_shape=(84, 84, 3), embedding_dim=128, project=True)

    Parameter counts (84x84x3, `count_params()`, trainable + BN moving statistics): 7,996,800 trainable
    + 7,680 non-trainable for 64-128-256-512; 12,424,320 trainable (the usual "12.4M") + 9,472 for
    64-160-320-640, the same as the PyTorch references' `parameters()`.

    Reference:
        Khrulkov et al., "Hyperbolic Image Embeddings", CVPR 2020 (leymir/hyperbolic-image-embeddings,
        examples/fewshot/networks/ResNet12.py, `Res12()`: 64-128-256-512, max-pool, drop 0.1, block 5);
        Lee et al., "Meta-Learning with Differentiable Convex Optimization", CVPR 2019
        (kjunelee/MetaOptNet, models/ResNet12_embedding.py); Ye et al., "Few-Shot Learning via Embedding
        Adaptation with Set-to-Set Functions", CVPR 2020 (Sha-Lab/FEAT, model/networks/res12.py);
        Oreshkin et al., "TADAM", NeurIPS 2018; Ghiasi et al., "DropBlock", NeurIPS 2018.

    Departures from the reference code:
        - DropBlock schedule: the reference ramps the DropBlock rate linearly,
          `1 - keep = min(drop_rate, drop_rate * t / 40000)`, with t the number of forward calls of the
          block, counting calls in eval mode too, in an attribute that is not saved. The hyperbolic
          ProtoNet calls the encoder twice per episode (support, query) and runs 500 validation episodes
          per epoch, so its rate reaches 0.1 after ~33 epochs (~3,300 training episodes). Here the rate is
          constant by default (`drop_warmup_steps=0`); `drop_warmup_steps=3300` approximates the
          reference's ramp in training steps (one step = one episode), counted per training call only.
        - DropBlock's gamma uses H and W apart and the block is clamped to the map (the reference assumes
          a square map at least `block_size` wide), so small inputs (e.g. 32x32) work.
        - Global max-pool at every input size (the reference's `AdaptiveMaxPool2d(1)`, same thing);
          `pool="avg"` is global too, where FEAT's `AvgPool2d(5)` is global only at 84x84.
    """
    channels = _check_channels(channels)
    embedding_dim = check_embedding_dim(embedding_dim)
    input_shape = check_input_shape(input_shape, backbone="resnet12", min_size=MIN_SIZE)
    if not project and embedding_dim != channels[-1]:
        raise ValueError(
            f"`embedding_dim` ({embedding_dim}) must equal the last block's channels `channels[-1]` "
            f"({channels[-1]}): the ResNet-12 embedding is its pooled last block. Pass "
            f"embedding_dim={channels[-1]}, other `channels`, or `project=True` to add a Dense projection."
        )
    if isinstance(drop_rate, bool) or not isinstance(drop_rate, numbers.Real) or not 0 <= drop_rate < 1:
        raise ValueError(f"`drop_rate` must be a number with 0 <= drop_rate < 1; got {drop_rate!r}.")
    drop_rate = float(drop_rate)
    block_size = check_int(block_size, "block_size", minimum=1)
    drop_warmup_steps = check_int(drop_warmup_steps, "drop_warmup_steps", minimum=0)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0):
        raise ValueError(f"`seed` must be None or an integer >= 0; got {seed!r}.")
    check_choice(pool, "pool", POOLS)

    inputs = keras.Input(shape=input_shape, name="images")
    x = inputs
    for index, filters in enumerate(channels, start=1):
        x = _block(x, filters, index, drop_rate, block_size, drop_warmup_steps, seed)
    if pool == "max":
        x = layers.GlobalMaxPooling2D(name="global_max_pool")(x)
    else:
        x = layers.GlobalAveragePooling2D(name="global_avg_pool")(x)
    if project:
        x = layers.Dense(embedding_dim, name="embedding")(x)
    return keras.Model(inputs, x, name=name)
