"""Four-block ConvNet of few-shot learning (`zoo.backbones.get("conv4", ...)`)."""

import keras
from keras import layers

from zoo._checks import check_choice, check_embedding_dim, check_input_shape, check_int

# Four 2x2 max-pools must leave >= 1 pixel: 16 -> 8 -> 4 -> 2 -> 1.
MIN_SIZE = 16
VARIANTS = ("hyptorch", "flatten")

# PyTorch BatchNorm2d defaults (momentum 0.1 on the new statistic = Keras momentum 0.9, eps 1e-5),
# as in the reference encoders.
BN_MOMENTUM = 0.9
BN_EPSILON = 1e-5


def _block(x, filters, index):
    x = layers.Conv2D(filters, 3, padding="same", name=f"block{index}_conv")(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=f"block{index}_bn")(x)
    x = layers.Activation("relu", name=f"block{index}_relu")(x)
    return layers.MaxPooling2D(2, name=f"block{index}_pool")(x)


def conv4(input_shape=(84, 84, 3), embedding_dim=1600, *, filters=64, variant="hyptorch", name="conv4"):
    """Conv-4 few-shot encoder: 4 x [conv3x3 (pad 1) -> BatchNorm -> ReLU -> maxpool 2].

    Two variants:

    * `variant="hyptorch"` (default), the encoder of the hyperbolic ProtoNet: blocks 1-3 have
      `filters` channels, the LAST block has `embedding_dim` channels, and a global max-pool over
      the remaining spatial positions gives the embedding,
      `z[b, k] = max_{i,j} block4(x)[b, i, j, k]`. On 84x84 inputs block 4 is 5x5 and the
      reference's `MaxPool2d(5)` is exactly this global max; with `embedding_dim=1600` the
      embedding is 1600-d. There is no Dense layer: the embedding is a max of ReLU outputs, so it
      is non-negative.
    * `variant="flatten"`, the classic Prototypical Networks encoder: all four blocks have
      `filters` channels and the block-4 map is flattened (64*5*5 = 1600 on 84x84, 64 on 28x28).
      A `Dense(embedding_dim)` (no activation) is appended **only if** the flattened size differs
      from `embedding_dim`, so `get("conv4", (84, 84, 3), 1600, variant="flatten")` and
      `get("conv4", (28, 28, 1), 64, variant="flatten")` are the unmodified ProtoNet encoder.
      This variant needs a known height and width.

    Args:
        input_shape: `(height, width, channels)`, height and width >= 16. For `"hyptorch"` they may
            be None (any size at run time).
        embedding_dim: int >= 1. The number of channels of block 4 (`"hyptorch"`), or the output
            size of the optional Dense (`"flatten"`).
        filters: channels of the hidden blocks (64 in both references).
        variant: `"hyptorch"` or `"flatten"`.
        name: model name.

    Returns:
        A functional `keras.Model` `[B, H, W, C] -> [B, embedding_dim]`; layers are named
        `block{1..4}_{conv,bn,relu,pool}`, then `global_max_pool` or `flatten` (+ `embedding`).

    Example:
        >>> model = zoo.backbones.get("conv4", input_shape=(84, 84, 3), embedding_dim=1600)
        >>> protonet = zoo.backbones.get("conv4", input_shape=(28, 28, 1), embedding_dim=64,
        ...                              variant="flatten")

    Reference:
        Khrulkov et al., "Hyperbolic Image Embeddings", CVPR 2020 (`hyptorch`, examples/fewshot,
        ConvNet with `z_dim = dim`); Snell et al., "Prototypical Networks for Few-shot Learning",
        NeurIPS 2017; Vinyals et al., "Matching Networks for One Shot Learning", NeurIPS 2016.

    Departures from the reference code:
        The reference pools with a fixed `MaxPool2d(5)`, which is global only at 84x84; here the
        pool is global at every input size (same result at 84x84). Convolutions keep their bias as
        in the reference (redundant before BatchNorm, but it keeps the parameter count equal).
    """
    embedding_dim = check_embedding_dim(embedding_dim)
    check_choice(variant, "variant", VARIANTS)
    filters = check_int(filters, "filters", minimum=1)
    input_shape = check_input_shape(
        input_shape, backbone="conv4", min_size=MIN_SIZE, allow_none=(variant == "hyptorch")
    )

    inputs = keras.Input(shape=input_shape, name="images")
    x = inputs
    for index in (1, 2, 3):
        x = _block(x, filters, index)
    if variant == "hyptorch":
        x = _block(x, embedding_dim, 4)
        outputs = layers.GlobalMaxPooling2D(name="global_max_pool")(x)
    else:
        x = _block(x, filters, 4)
        x = layers.Flatten(name="flatten")(x)
        if x.shape[-1] != embedding_dim:
            x = layers.Dense(embedding_dim, name="embedding")(x)
        outputs = x
    return keras.Model(inputs, outputs, name=name)
