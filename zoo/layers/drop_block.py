"""`DropBlock`: structured dropout of contiguous square regions of a feature map (Ghiasi et al., 2018).

The pure functions `drop_block_gamma`, `block_mask_from_seeds` and `drop_block` hold the maths; the layer
only adds the training switch, the seed generator and the optional linear warm-up of the rate.
"""

import keras
from keras import ops

from zoo._checks import check_int, check_range

__all__ = ["DropBlock"]


def _effective_block_size(height, width, block_size):
    """The block side actually used: `min(block_size, height, width)` (blocks must fit in the map)."""
    return max(1, min(int(block_size), int(height), int(width)))


def drop_block_gamma(height, width, rate, block_size):
    """Seed probability gamma so that a fraction `rate` of the map is covered by blocks on average.

    gamma = rate / k^2 * (H W) / ((H - k + 1) (W - k + 1)),   k = min(block_size, H, W)

    (Ghiasi et al., Eq. (1), with H and W apart). Seeds are drawn only on the (H - k + 1) x (W - k + 1)
    positions whose k x k block lies inside the map, so the expected number of dropped units *counting
    overlaps* is gamma (H-k+1)(W-k+1) k^2 = rate H W; overlapping blocks make the dropped fraction itself
    slightly smaller (0.0935 instead of 0.1 for a 10 x 10 map, k = 5). gamma <= rate always. `rate` may be
    a tensor (a scheduled rate); the factor is a Python float from the static sizes.
    """
    k = _effective_block_size(height, width, block_size)
    factor = (height * width) / (k * k * (height - k + 1) * (width - k + 1))
    return rate * factor


def block_mask_from_seeds(seeds, block_size):
    """Dropped-unit mask [B, H, W, C] (1 = dropped) from seeds [B, H-k+1, W-k+1, C] (1 = block start).

    A seed at (i, j) drops the k x k square of rows i..i+k-1 and columns j..j+k-1 (its top-left corner):
    the seeds are padded with k-1 zeros on every side and max-pooled with a k x k window, stride 1.
    This is the block construction of the MetaOptNet / FEAT / hyptorch `DropBlock._compute_block_mask`
    (scatter of the k^2 offsets of every non-zero seed into the padded mask), written as a pooling.
    """
    k = int(block_size)
    if k == 1:
        return seeds
    padded = ops.pad(seeds, [[0, 0], [k - 1, k - 1], [k - 1, k - 1], [0, 0]])
    return ops.max_pool(padded, pool_size=k, strides=1, padding="valid", data_format="channels_last")


def drop_block(x, rate, block_size, seed=None):
    """Apply DropBlock to a channels-last map `x` [B, H, W, C] (always; the layer decides when).

        seeds  ~ Bernoulli(gamma)  on [B, H-k+1, W-k+1, C]   (independent per sample and channel)
        M      = 1 - block_mask_from_seeds(seeds, k)          (0 on every k x k block)
        y      = x * M * (numel(M) / max(sum(M), 1))

    with k = min(block_size, H, W) and gamma from `drop_block_gamma`. The rescale is the *global* one of
    the reference code (count / count_ones over the whole batch tensor), not a per-sample one; if every
    unit is dropped the output is zero instead of inf/NaN.

    Args:
        x: [B, H, W, C] tensor with static H and W.
        rate: target fraction of dropped units, 0 <= rate < 1 (float or scalar tensor).
        block_size: side of the square blocks (int >= 1).
        seed: int, None or a `keras.random.SeedGenerator`.

    Returns:
        A tensor like `x`.
    """
    height, width = x.shape[1], x.shape[2]
    if height is None or width is None:
        raise ValueError(f"DropBlock needs a static height and width; got an input of shape {x.shape}.")
    k = _effective_block_size(height, width, block_size)
    gamma = drop_block_gamma(height, width, rate, k)
    batch = ops.shape(x)[0]
    channels = x.shape[-1] if x.shape[-1] is not None else ops.shape(x)[-1]
    noise = keras.random.uniform((batch, height - k + 1, width - k + 1, channels), seed=seed)
    seeds = ops.cast(ops.less(noise, ops.cast(gamma, noise.dtype)), "float32")
    keep = 1.0 - block_mask_from_seeds(seeds, k)
    count = ops.cast(ops.size(keep), "float32")
    scale = count / ops.maximum(ops.sum(keep), 1.0)
    return x * ops.cast(keep * scale, x.dtype)


@keras.saving.register_keras_serializable(package="zoo")
class DropBlock(keras.layers.Layer):
    """DropBlock: in training, zero random `block_size` x `block_size` squares of each channel, then rescale.

    For an input [B, H, W, C] (channels last, static H and W) and k = min(block_size, H, W):

        gamma = rate / k^2 * H W / ((H - k + 1)(W - k + 1))
        seeds ~ Bernoulli(gamma) on [B, H - k + 1, W - k + 1, C]   (one mask per sample and channel)
        M     = 1 on every unit not covered by the k x k square whose top-left corner is a seed
        y     = x * M * numel(M) / sum(M)

    Edge handling (as in the MetaOptNet / FEAT / hyptorch `DropBlock`): seeds are drawn only where the whole
    block fits, so a block never sticks out of the map and every fully-inside k x k square is equally likely;
    units near the border are therefore covered by fewer candidate blocks and dropped less often than those
    in the middle (the corner unit only by the block that starts there). gamma is Eq. (1) of the paper, so
    the expected number of dropped units counted with overlaps is exactly `rate * H * W`; the dropped
    fraction is a little lower because blocks overlap (0.0935 for rate 0.1, 10 x 10, k = 5). The rescale is
    one factor for the whole batch tensor, so the mean over the map is preserved; per unit,
    E[y] = x (1 - p_unit) / (1 - mean p), slightly above x at the borders and below it in the middle (the
    reference's behaviour too). At inference (`training=False`, or `rate == 0`) the layer is the identity.

    Args:
        rate: target drop rate ("1 - keep_prob"), 0 <= rate < 1. 0 makes the layer the identity.
        block_size: side of the dropped squares, int >= 1 (1 = ordinary dropout with the global rescale).
            Clamped to the feature map size: on a map smaller than the block, k = min(block_size, H, W)
            (as the TPU reference `dropblock`); with k = H = W a block is a whole channel (spatial dropout).
        warmup_steps: int >= 0. If > 0 the rate grows linearly, `rate * min(1, t / warmup_steps)` at the
            t-th training call (t = 1, 2, ...), counted in a non-trainable int32 weight `step` that is saved
            with the model. 0 (default) = constant rate.
        seed: optional int seed of the layer's `keras.random.SeedGenerator`.
        **kwargs: Layer arguments.

    Example:
        >>> layer = zoo.layers.DropBlock(rate=0.1, block_size=5, seed=1)
        >>> y = layer(keras.ops.ones((2, 10, 10, 8)), training=True)   # 5x5 squares zeroed, rest * ~1.1
        >>> z = layer(keras.ops.ones((2, 10, 10, 8)))                  # identity

    Reference:
        Ghiasi, Lin, Le, "DropBlock: A regularization method for convolutional networks", NeurIPS 2018
        (Algorithm 1, Eq. (1), linear scheduling of keep_prob); the few-shot ResNet-12 implementations
        kjunelee/MetaOptNet `models/dropblock.py`, Sha-Lab/FEAT `model/networks/dropblock.py` and
        leymir/hyperbolic-image-embeddings `examples/fewshot/networks/ResNet12.py` (same code).

    Departures from the reference code:
        - The reference passes gamma in at every call and its ResNet-12 block computes it from a square
          map (`feat_size = H`); here the layer computes gamma itself, with H and W apart, and clamps the
          block to the map (the reference fails on a map smaller than the block).
        - The reference ramps the rate inside the ResNet block over 40,000 forward calls, counting calls
          made in eval mode too, in a plain attribute that is not saved; here the ramp is optional
          (`warmup_steps`), counts training calls only and is saved with the model.
        - Seeds are Bernoulli draws from uniform noise with a Keras seed generator (same distribution);
          the block dilation is a max-pool instead of an index scatter (same mask); the rescale guards the
          all-dropped case.
        - Channels last only (the reference is channels first).
    """

    def __init__(self, rate=0.1, block_size=5, warmup_steps=0, seed=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(rate, str):  # check_range would parse "0.1"
            raise ValueError(f"DropBlock: `rate` must be a number in [0, 1) (fraction of units dropped); got {rate!r}.")
        self.rate = check_range(rate, "rate", "DropBlock", 0.0, 1.0, "0", "1", hi_open=True)
        self.block_size = check_int(block_size, "block_size", minimum=1, owner="DropBlock")
        self.warmup_steps = check_int(warmup_steps, "warmup_steps", minimum=0, owner="DropBlock")
        if seed is not None:
            seed = check_int(seed, "seed", minimum=0, owner="DropBlock")
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.supports_masking = True
        self.step = None

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(
                f"DropBlock expects a channels-last feature map [batch, height, width, channels] (rank 4); "
                f"got an input of shape {tuple(input_shape)}."
            )
        if input_shape[1] is None or input_shape[2] is None:
            raise ValueError(
                f"DropBlock needs a known height and width (gamma depends on them); got {tuple(input_shape)}."
            )
        if self.warmup_steps:
            self.step = self.add_weight(
                name="step", shape=(), dtype="int32", initializer="zeros", trainable=False,
                aggregation="only_first_replica",  # integer state cannot be averaged; replicas count alike
            )

    def current_rate(self):
        """The rate of the latest training call: `rate * min(1, step / warmup_steps)` (a tensor), or `rate`."""
        if not self.warmup_steps or self.step is None:
            return self.rate
        t = ops.cast(self.step, "float32")
        return self.rate * ops.minimum(1.0, t / float(self.warmup_steps))

    def call(self, inputs, training=None):
        if not training or self.rate == 0.0:
            return inputs
        rate = self.rate
        if self.warmup_steps:
            self.step.assign(self.step + 1)
            rate = self.current_rate()
        return drop_block(inputs, rate, self.block_size, seed=self.seed_generator)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            rate=self.rate, block_size=self.block_size, warmup_steps=self.warmup_steps, seed=self.seed
        )
        return config
