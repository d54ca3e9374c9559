"""The re-ID input pipeline: `identity_plan` (P identities × K images, torchreid's RandomIdentitySampler) and
`reid_dataset` (image files → decoded, resized, augmented raw-pixel batches as a `tf.data.Dataset`).

The index plan is made on the host (numpy, seeded) by a generator that tf.data calls again at every epoch, as in
`zoo.data.pk_batches`; augmentation uses stateless random ops keyed by (seed, global step, position in the global
batch), so a given seed gives the same global batch, pixel for pixel, on every process and every backend.
TensorFlow is imported lazily.
"""

import numpy as np

from zoo._checks import check_bool, check_int, check_range
from zoo.data._checks import check_seed
from zoo.data._images import check_image_size, decode_fn
from zoo.data.random_erasing import random_erasing

__all__ = ["identity_plan", "identity_steps", "reid_dataset"]


def identity_plan(pids, p, k, rng):
    """One epoch of identity batches: a list of int64 arrays of P·K indices into `pids` (numpy, no TensorFlow).

    torchreid's ``RandomIdentitySampler`` semantics: each identity's image indices are shuffled (an identity with
    fewer than K images is first drawn WITH replacement up to K), cut into groups of K (a remainder < K is left
    out of this epoch); then while at least P identities have groups left, a batch takes P distinct identities
    drawn uniformly among them and the next group of each. A batch is P consecutive groups of K same-identity
    indices.

    Args:
        pids: int identity labels [N].
        p: identities per batch (>= 1).
        k: images per identity (>= 1).
        rng: `np.random.Generator` (the plan is a function of its state: seeded, deterministic).

    Returns:
        list of int64 arrays of shape [P·K] (empty when fewer than P identities exist).

    Example:
        >>> batches = zoo.data.identity_plan(pids, p=16, k=4, rng=np.random.default_rng(0))

    Reference:
        Hermans, Beyer, Leibe, "In Defense of the Triplet Loss for Person Re-Identification", 2017 (PK batches);
        torchreid ``data/sampler.py`` ``RandomIdentitySampler`` (fast-reid ``NaiveIdentitySampler``).

    Departures:
        torchreid iterates its identities in dictionary order and shuffles with Python's `random`; here identities
        are visited in sorted order and every draw comes from `rng` (same distribution, reproducible).
    """
    pids = np.asarray(pids)
    groups = {}
    for pid in np.unique(pids):
        idx = np.flatnonzero(pids == pid)
        if len(idx) < k:
            idx = rng.choice(idx, size=k, replace=True)
        idx = rng.permutation(idx)
        n = len(idx) // k
        groups[int(pid)] = [g.astype(np.int64) for g in idx[: n * k].reshape(n, k)]
    alive = sorted(groups)
    batches = []
    while len(alive) >= p:
        chosen = [alive[i] for i in rng.choice(len(alive), size=p, replace=False)]
        batches.append(np.concatenate([groups[c].pop(0) for c in chosen]))
        alive = [c for c in alive if groups[c]]
    return batches


def identity_steps(pids, p, k):
    """Batches per epoch of `reid_dataset`: torchreid's sampler length ``Σ_id ⌊max(n_id, K) / K⌋ · K`` over P·K."""
    counts = np.unique(np.asarray(pids), return_counts=True)[1]
    return int(sum(max(int(c), k) // k for c in counts)) // p


def _check_paths(paths, owner):
    paths = np.asarray(paths)
    if paths.ndim != 1 or paths.size == 0 or paths.dtype.kind not in "US":
        raise ValueError(f"{owner}: `paths` must be a non-empty 1-D array of file paths (str); got dtype "
                         f"{paths.dtype} shape {paths.shape}.")
    return paths.astype(str)


def _augment_fn(image_size, flip, pad, erasing, erasing_options):
    import tensorflow as tf

    h, w = image_size

    def augment(image, key):
        keys = tf.random.experimental.stateless_split(key, 4)
        if flip:
            image = tf.cond(tf.random.stateless_uniform([], keys[0]) < 0.5,
                            lambda: tf.image.flip_left_right(image), lambda: image)
        if pad:
            padded = tf.pad(image, [[pad, pad], [pad, pad], [0, 0]])
            off = tf.random.stateless_uniform([2], keys[1], minval=0, maxval=2 * pad + 1, dtype=tf.int32)
            image = tf.slice(padded, [off[0], off[1], 0], [h, w, 3])
        if erasing:
            image = random_erasing(image, probability=erasing, seed=keys[2], **erasing_options)
        return tf.ensure_shape(image, [h, w, 3])

    return augment


def _decode_all(paths, image_size):
    """Every image decoded and resized, as a uint8 numpy array [N, H, W, 3] (``cache=True``)."""
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices(paths).map(decode_fn(image_size, 3), num_parallel_calls=tf.data.AUTOTUNE)
    return np.concatenate([b.astype(np.uint8) for b in ds.batch(256).as_numpy_iterator()])


def reid_dataset(paths, pids=None, *, training, image_size=(256, 128), p=16, k=4, batch_size=64, seed=0, flip=True,
                 pad=10, erasing=0.5, erasing_options=None, num_processes=1, process_index=0, cache=False):
    """Image files → a `tf.data.Dataset` of raw-pixel batches for re-ID training (identity batches) or embedding.

    Images are read from the files (jpg/png, ``tf.io.decode_image``, 3 channels), resized (bilinear, antialiased,
    rounded to integers) to ``image_size`` = (H, W) and yielded as float32 RAW pixel values in 0..255: the task
    models of `zoo.models` normalise inside.

    ``training=True``: ``(images [P·K/num_processes, H, W, 3], labels int32)`` batches of identity groups from
    `identity_plan` (a new plan every epoch, exactly `identity_steps` batches per epoch, its cardinality known to
    Keras), then per image: horizontal flip with probability 0.5, zero-padding by ``pad`` pixels and a random
    H × W crop, and `zoo.data.random_erasing` with probability ``erasing``. Labels are ``pids`` as given (pass
    the relabelled train pids). The global batch is a function of ``seed`` only: with ``num_processes`` > 1
    every process builds the same plan and takes its contiguous slice of whole K-groups (process i: groups
    ``i·P/n .. (i+1)·P/n - 1``), and each image's augmentation is keyed by (seed, global step, position in the
    global batch), so the union of the slices is the single-process batch.

    ``training=False``: ordered batches of ``batch_size`` images only (no labels, no shuffle, no augmentation),
    the last one smaller, for embedding query/gallery (every process gets the full set).

    Args:
        paths: image file paths [N] (str).
        pids: int identity labels [N] (training only; ignored otherwise).
        training: which of the two datasets to build.
        image_size: (H, W), or an int for a square. BoT: (256, 128).
        p, k: identities per global batch and images per identity. BoT: 16 × 4.
        batch_size: evaluation batch size.
        seed: seed of the plans (pass e over the dataset draws from ``np.random.default_rng([seed, e])``) and of
            the augmentation, an int in [0, 2**31 - 1].
        flip: random horizontal flip (p = 0.5).
        pad: zero-padding in pixels before the random crop back to H × W (0: no pad-crop). BoT: 10.
        erasing: random-erasing probability in [0, 1] (0: off). BoT: 0.5.
        erasing_options: extra keyword arguments of `zoo.data.random_erasing` (area, aspect, fill, max_attempts).
        num_processes, process_index: data-parallel slicing of the global batch (P divisible by num_processes).
        cache: decode every image once into host memory (uint8, N·H·W·3 bytes: 1.3 GB for Market's train at
            256 × 128) instead of reading the files every step; for evaluation, `Dataset.cache()` after decoding.

    Returns:
        `tf.data.Dataset`. Fit with ``model.fit(ds, epochs=..., shuffle=False)``.

    Raises:
        ValueError: empty or non-string paths, pids not [N] integers, fewer than p identities, p not divisible by
            num_processes, process_index out of range, bad sizes, seed, probabilities or erasing options.

    Example:
        >>> splits = zoo.data.reid("market1501", "/data")
        >>> paths, pids, _ = splits.train
        >>> train = zoo.data.reid_dataset(paths, pids, training=True, p=16, k=4)
        >>> query = zoo.data.reid_dataset(splits.query[0], training=False, batch_size=128)

    Reference:
        Luo et al., "Bag of Tricks and A Strong Baseline for Deep Person Re-identification", CVPRW 2019
        (resize, flip 0.5, pad 10 + crop, random erasing 0.5, P16 × K4); torchreid's RandomIdentitySampler;
        fast-reid's sampler (same seed on every rank, each rank takes its slice of the batch).

    Departures:
        BoT resizes with PIL bilinear and erases after normalisation; here pixels stay raw (see
        `zoo.data.random_erasing` for what ``fill="mean"`` means) and resizing is TensorFlow's antialiased
        bilinear, rounded to integer pixel values.
    """
    import tensorflow as tf

    owner = "reid_dataset"
    training = check_bool(training, "training", owner=owner)
    paths = _check_paths(paths, owner)
    image_size = check_image_size(image_size, owner)
    if image_size is None:
        raise ValueError(f"{owner}: `image_size` must be an int or a (height, width) pair; got None.")
    cache = check_bool(cache, "cache", owner=owner)
    decode = decode_fn(image_size, 3)
    if not training:
        batch_size = check_int(batch_size, "batch_size", minimum=1, owner=owner)
        ds = tf.data.Dataset.from_tensor_slices(paths).map(decode, num_parallel_calls=tf.data.AUTOTUNE)
        if cache:
            ds = ds.cache()
        return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)

    p = check_int(p, "p", minimum=1, owner=owner)
    k = check_int(k, "k", minimum=1, owner=owner)
    seed = check_seed(seed, owner)
    flip = check_bool(flip, "flip", owner=owner)
    pad = check_int(pad, "pad", minimum=0, owner=owner)
    erasing = check_range(erasing, "erasing", owner, 0.0, 1.0)
    erasing_options = dict(erasing_options or {})
    if "probability" in erasing_options or "seed" in erasing_options:
        raise ValueError(f"{owner}: `erasing_options` sets area/aspect/fill/max_attempts; the probability is "
                         "`erasing` and the seed comes from `seed`.")
    if erasing:
        random_erasing(tf.zeros([1, 2, 2, 3]), probability=erasing, seed=0, **erasing_options)  # check options now
    num_processes = check_int(num_processes, "num_processes", minimum=1, owner=owner)
    process_index = check_int(process_index, "process_index", minimum=0, maximum=num_processes - 1, owner=owner)
    if p % num_processes:
        raise ValueError(f"{owner}: p = {p} identities per global batch must be divisible by num_processes = "
                         f"{num_processes} (each process takes whole K-groups).")
    pids = np.asarray(pids) if pids is not None else None
    if pids is None or pids.ndim != 1 or not np.issubdtype(pids.dtype, np.integer) or len(pids) != len(paths):
        raise ValueError(f"{owner}: training needs `pids`, integer labels of shape [{len(paths)}] (one per path); "
                         f"got {None if pids is None else f'{pids.dtype} {pids.shape}'}.")
    n_ids = len(np.unique(pids))
    if n_ids < p:
        raise ValueError(f"{owner}: p = {p} identities per batch, but `pids` has only {n_ids} identities.")

    steps = identity_steps(pids, p, k)
    passes = [0]
    local = p * k // num_processes
    start = process_index * local

    def plans():
        # Exactly `steps` batches per pass; a plan that runs short is followed by a freshly drawn one. Pass e over
        # the dataset draws from its own generator seeded [seed, e], and its global steps are e·steps + i (they key
        # the augmentation): how far an earlier iterator ran (Keras' build-time peek, prefetching) cannot shift the
        # batches of the next passes, so every process builds the same global batches.
        e = passes[0]
        passes[0] += 1
        rng = np.random.default_rng([seed, e])
        stream = []
        for i in range(steps):
            while not stream:
                stream.extend(identity_plan(pids, p, k, rng))
            yield stream.pop(0)[start:start + local], np.int64(e * steps + i)

    labels = tf.constant(pids.astype(np.int32))
    if cache:
        images = tf.constant(_decode_all(paths, image_size))

        def load(i):
            return tf.cast(tf.gather(images, i), tf.float32)
    else:
        files = tf.constant(paths)

        def load(i):
            return decode(tf.gather(files, i))

    augment = _augment_fn(image_size, flip, pad, erasing, erasing_options)
    positions = tf.range(start, start + local, dtype=tf.int64)

    def per_image(i, step, pos):
        key = tf.stack([tf.constant(seed, tf.int64), step * (p * k) + pos])
        return augment(load(i), key), tf.gather(labels, i)

    ds = tf.data.Dataset.from_generator(plans, output_signature=(tf.TensorSpec([local], tf.int64),
                                                                 tf.TensorSpec([], tf.int64)))
    ds = ds.apply(tf.data.experimental.assert_cardinality(steps))
    ds = ds.flat_map(lambda idx, step: tf.data.Dataset.from_tensor_slices(
        (idx, tf.fill([local], step), positions)))
    ds = ds.map(per_image, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    ds = ds.batch(local, drop_remainder=True)
    ds = ds.apply(tf.data.experimental.assert_cardinality(steps))
    return ds.prefetch(tf.data.AUTOTUNE)
