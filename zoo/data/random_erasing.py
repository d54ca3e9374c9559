"""`random_erasing`: Random Erasing (Zhong et al., AAAI 2020) exactly as its reference code draws it, in TensorFlow ops.

TensorFlow is imported lazily (the function builds tf ops, for `tf.data` pipelines on every Keras backend).
"""

import numbers

import numpy as np

from zoo._checks import check_int, check_range

__all__ = ["BOT_ERASING_FILL", "IMAGENET_MEAN_255", "random_erasing"]

#: ImageNet mean pixel in 0..255 (R, G, B): the value the task models' normalisation maps to 0.
IMAGENET_MEAN_255 = (123.675, 116.28, 103.53)
_IMAGENET_STD = (0.229, 0.224, 0.225)
#: What BoT / torchreid's erased pixels hold, in raw 0..255 terms: they write the ImageNet mean (0.485, 0.456,
#: 0.406) into the ALREADY normalised tensor, i.e. raw = 255 * (m * s + m) = (152.0, 142.3, 126.8).
BOT_ERASING_FILL = tuple(float(255 * (m / 255 * s + m / 255)) for m, s in zip(IMAGENET_MEAN_255, _IMAGENET_STD))


def _pair(value, name, lo, hi):
    try:
        a, b = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"random_erasing: `{name}` must be a (low, high) pair of numbers; got {value!r}.") from None
    if not (lo <= a <= b <= hi) or not (np.isfinite(a) and np.isfinite(b)):
        raise ValueError(f"random_erasing: `{name}` must be a pair low <= high within [{lo}, {hi}]; got {value!r}.")
    return a, b


def _fill_value(fill, channels):
    if isinstance(fill, str):
        if fill == "mean":
            return IMAGENET_MEAN_255 if channels == 3 else (IMAGENET_MEAN_255[0],) * channels
        if fill == "bot":
            return BOT_ERASING_FILL if channels == 3 else (BOT_ERASING_FILL[0],) * channels
        if fill == "random":
            return None
        raise ValueError(f"random_erasing: `fill` must be 'mean', 'bot', 'random', a number or a tuple of "
                         f"{channels} numbers; got {fill!r}.")
    if isinstance(fill, numbers.Real) and not isinstance(fill, bool):
        return (float(fill),) * channels
    try:
        values = tuple(float(v) for v in fill)
    except (TypeError, ValueError):
        values = ()
    if len(values) != channels or not all(np.isfinite(values)):
        raise ValueError(f"random_erasing: `fill` must be 'mean', 'bot', 'random', a number or a tuple of "
                         f"{channels} finite numbers; got {fill!r}.")
    return values


def random_erasing(images, probability=0.5, area=(0.02, 0.4), aspect=(0.3, 3.33), fill="mean", max_attempts=100,
                   seed=None):
    """Erase one random rectangle per image with probability `probability` (Zhong et al.'s Random Erasing).

    For each image of size H × W (S = H·W), independently: with probability ``p`` (``u ~ U(0, 1) < p``) make up
    to ``max_attempts`` attempts; attempt t draws

        S_e = U(area) · S,   r_e = U(aspect)   (uniform, NOT log-uniform),
        H_e = round(√(S_e · r_e)),   W_e = round(√(S_e / r_e)),

    and is accepted when ``H_e < H`` and ``W_e < W`` (strict, as the reference); the first accepted attempt
    places its rectangle at a uniform position (top in ``0..H-H_e``, left in ``0..W-W_e``, inclusive) and
    fills it. If no attempt fits the image is left unchanged. The attempts are drawn at once and the first
    fitting one is used, which is distributed exactly as the reference's loop. Aspect ``r_e = H_e / W_e``.
    Note the accepted areas are not uniform over `area`: large areas with extreme aspects are rejected.

    Args:
        images: float tensor [H, W, C] or [B, H, W, C] (raw 0..255 pixels here; any range works with an
            explicit `fill`).
        probability: p in [0, 1] (0: identity).
        area: (s_l, s_h), fractions of the image area, within [0, 1]. Reference: (0.02, 0.4).
        aspect: (r_1, r_2) > 0, height/width ratios. Reference: (0.3, 1 / 0.3 = 3.33).
        fill: "mean" — the ImageNet mean pixel in 0..255 `IMAGENET_MEAN_255`, i.e. 0 after the task models'
            normalisation, which is what Zhong et al.'s "mean" erasing intends; "bot" — `BOT_ERASING_FILL`,
            the raw value equal to what BoT/torchreid's erased pixels hold after normalisation (see
            Departures); "random" — per-pixel uniform values in [0, 255) (the paper's random-value erasing);
            a number or a per-channel tuple (same units as `images`).
        max_attempts: attempts per image (reference: 100).
        seed: None (stateful random ops, not reproducible), an int, or a stateless seed (shape-[2] int
            tensor) for `tf.random.stateless_*` — the pipeline passes a per-image key so every image's draw
            is fixed by (seed, epoch step, position).

    Returns:
        float32 tensor of the input's shape.

    Raises:
        ValueError: probability outside [0, 1], bad area/aspect ranges, bad fill, max_attempts < 1, images not
            rank 3 or 4.

    Example:
        >>> x = zoo.data.random_erasing(tf.zeros([8, 256, 128, 3]), probability=0.5, seed=1)

    Reference:
        Zhong, Zheng, Kang, Li, Yang, "Random Erasing Data Augmentation", AAAI 2020 (arXiv 1708.04896), Alg. 1;
        code ``zhunzhong07/Random-Erasing`` ``transforms.py``, copied by BoT (``reid-strong-baseline``
        ``data/transforms/transforms.py``) and torchreid (``data/transforms.py``).

    Departures:
        - The reference (and BoT/torchreid) erase AFTER normalisation and fill with ``mean`` =
          (0.4914, 0.4822, 0.4465) by default (CIFAR's mean, the class default); BoT's ``build_transforms`` and
          torchreid's ``build_transforms`` pass the ImageNet mean (0.485, 0.456, 0.406) instead — written into
          the normalised tensor, so the erased pixels read as raw values ``255·(m·s + m)`` ≈ (152, 142, 127),
          not the mean (a quirk; ``fill="bot"`` reproduces it on raw pixels). Here images are raw 0..255 (the
          models normalise inside), so ``fill="mean"`` writes the ImageNet mean itself (0 after normalisation).
        - ``keras.layers.RandomErasing`` (keras 3.15.1) differs in every draw: a float ``factor=p`` makes the
          per-image probability itself ~ U(0, p) (mean p/2; ``factor=(p, p)`` gives p); the patch's width and
          height fractions are drawn independently as √U(scale) with ``scale=(0.02, 0.33)`` (so the area
          fraction is √(u₁u₂), no aspect-ratio control, no rejection, one attempt); positions are uniform in
          continuous coordinates; the default fill (``fill_value=None``) is per-pixel Gaussian noise
          N(0, 1)·value_range[1], clipped to value_range (about half the pixels 0, the rest mostly saturated).
        - torchvision's ``RandomErasing`` draws the aspect log-uniformly and tries 10 times; the reference
          and this function draw it uniformly and try 100 times.
    """
    import tensorflow as tf

    probability = check_range(probability, "probability", "random_erasing", 0.0, 1.0)
    area = _pair(area, "area", 0.0, 1.0)
    aspect = _pair(aspect, "aspect", 1e-6, np.inf)
    max_attempts = check_int(max_attempts, "max_attempts", minimum=1, owner="random_erasing")
    images = tf.convert_to_tensor(images)
    if images.shape.rank not in (3, 4):
        raise ValueError(f"random_erasing: `images` must be [H, W, C] or [B, H, W, C]; got shape {images.shape}.")
    single = images.shape.rank == 3
    x = tf.cast(images[None] if single else images, tf.float32)
    channels = x.shape[-1]
    if channels is None:
        raise ValueError("random_erasing: the number of channels of `images` must be known.")
    fill_values = _fill_value(fill, channels)
    if probability == 0.0:
        return images if images.dtype == tf.float32 else tf.cast(images, tf.float32)

    shape = tf.shape(x)
    b, h, w = shape[0], shape[1], shape[2]
    if seed is None:
        def uniform(i, s):
            return tf.random.uniform(s)
    else:
        key = tf.cast(tf.reshape(tf.convert_to_tensor(seed), [-1]), tf.int64)
        key = tf.concat([key, tf.zeros([2], tf.int64)], 0)[:2] if key.shape[0] != 2 else key
        keys = tf.random.experimental.stateless_split(key, 6)

        def uniform(i, s):
            return tf.random.stateless_uniform(s, keys[i])

    hf, wf = tf.cast(h, tf.float32), tf.cast(w, tf.float32)
    apply = uniform(0, [b]) < probability
    s_e = (area[0] + (area[1] - area[0]) * uniform(1, [b, max_attempts])) * hf * wf
    r_e = aspect[0] + (aspect[1] - aspect[0]) * uniform(2, [b, max_attempts])
    he = tf.round(tf.sqrt(s_e * r_e))   # round half to even, python's round() in the reference too
    we = tf.round(tf.sqrt(s_e / r_e))
    fits = tf.logical_and(he < hf, we < wf)
    first = tf.argmax(tf.cast(fits, tf.int32), axis=1, output_type=tf.int32)
    apply = tf.logical_and(apply, tf.reduce_any(fits, axis=1))
    he = tf.gather(he, first, batch_dims=1)
    we = tf.gather(we, first, batch_dims=1)
    top = tf.floor(uniform(3, [b]) * (hf - he + 1.0))
    left = tf.floor(uniform(4, [b]) * (wf - we + 1.0))
    rows = tf.cast(tf.range(h), tf.float32)[None, :, None]
    cols = tf.cast(tf.range(w), tf.float32)[None, None, :]
    mask = ((rows >= top[:, None, None]) & (rows < (top + he)[:, None, None])
            & (cols >= left[:, None, None]) & (cols < (left + we)[:, None, None]) & apply[:, None, None])
    if fill_values is None:
        filler = 255.0 * uniform(5, shape)
    else:
        filler = tf.broadcast_to(tf.constant(fill_values, tf.float32), shape)
    out = tf.where(mask[..., None], filler, x)
    return out[0] if single else out
