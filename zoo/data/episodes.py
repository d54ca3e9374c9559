"""Few-shot episodes: `episodes` (N-way K-shot Q-query batches as a `tf.data.Dataset` for `model.fit`) from a
`FewShotSplit` (one class split of a labelled image set, `zoo.data.fewshot_split`), and `episode_plan` (the host
side index plan).

An episode is ONE batch, in the shot-major layout of the hyperbolic ProtoNet reference:

- ``x``: float32 ``[(shot + query) * way, H, W, C]``; row ``r`` belongs to episode class ``r % way``; the first
  ``shot * way`` rows are the support set (rows ``0..way-1`` = first shot of classes ``0..way-1``, ...), the
  remaining ``query * way`` rows the queries, interleaved the same way.
- ``y``: int32 ``[query * way]``, ``y[i] = i % way`` (episode-relative labels of the queries).

The ``way`` classes of an episode are drawn at random (without replacement) from the split's classes and
re-labelled ``0..way-1`` in the random order they were drawn; the ``shot + query`` images of each class are
distinct images of that class. Index plans are made on the host (numpy, seeded); tf.data gathers in-memory
images or reads and decodes image files lazily. TensorFlow is imported lazily.

Multi-process data parallelism: an episode is one global batch (the model's step, e.g. `zoo.models.ProtoNet` on
JAX, sees the whole episode). With ``num_processes=n, process_index=i`` every process draws the same episodes
from the shared seed and yields the i-th contiguous n-th of each episode's rows and of its labels, so the
slices in process order are exactly the single-process episode (see docs/scaling.md).
"""

import os

import numpy as np

from zoo._checks import check_int
from zoo.data._checks import check_raw, check_seed
from zoo.data._images import check_image_size, decode_fn, resize
from zoo.data._preprocess import augment_fns, check_normalize, float_images
from zoo.data._shards import check_processes, local_range
from zoo.data.fewshot_split import IMAGE_EXTENSIONS, FewShotSplit

# FewShotSplit and IMAGE_EXTENSIONS live in zoo.data.fewshot_split; they stay importable from here.
__all__ = ["episodes", "episode_plan", "FewShotSplit", "IMAGE_EXTENSIONS"]


def episode_plan(labels, way, shot, query, episodes, rng):
    """Index plan of ``episodes`` episodes (numpy, no TensorFlow): int32 ``[episodes, (shot + query) * way]``.

    Row ``e`` holds indices into ``labels`` in the shot-major layout: entry ``i * way + j`` is the i-th sample
    (i < shot: support, else query) of the episode's class j. The ``way`` classes are drawn without
    replacement in random order from the classes present in ``labels``; the ``shot + query`` samples of a class
    without replacement. Every class must have at least ``shot + query`` samples (checked by `episodes`).

    Args:
        labels: int labels [N]. way, shot, query, episodes: ints >= 1. rng: `np.random.Generator`.
    """
    labels = np.asarray(labels)
    order = np.argsort(labels, kind="stable")
    classes, starts, counts = np.unique(labels[order], return_index=True, return_counts=True)
    k = shot + query
    plan = np.empty((episodes, k, way), np.int64)
    for e in range(episodes):
        for j, c in enumerate(rng.choice(len(classes), size=way, replace=False)):
            plan[e, :, j] = order[starts[c] + rng.choice(counts[c], size=k, replace=False)]
    return plan.reshape(episodes, k * way).astype(np.int32)


def episodes(source, way, shot, query, episodes=100, seed=0, normalize=None, image_size=None, augment=None,
             resample=True, raw=False, num_processes=1, process_index=0):
    """N-way K-shot Q-query episodes as a `tf.data.Dataset` of ``episodes`` batches ``(x, y)`` for `model.fit`.

    Each batch is one episode in the shot-major layout: ``x`` float32 ``[(shot + query) * way, H, W, C]`` where
    row r shows an image of episode class ``r % way`` (rows ``< shot * way``: support, the rest: queries) and
    ``y`` int32 ``[query * way]`` with ``y[i] = i % way``. Pixels are ``(p / 255 - mean) / std`` (``[0, 1]``
    without ``normalize``), as `zoo.data.make_dataset`; with ``raw=True`` they stay pixel values in 0..255.

    Every pass over the dataset (every ``fit`` epoch) draws new episodes: pass e uses the plan
    ``episode_plan(..., rng=np.random.default_rng([seed, e]))``, so two datasets built with one seed give the
    same episode sequence, and a half-consumed epoch does not shift the next ones. ``resample=False`` repeats
    the first pass's episodes on every pass (fixed validation/test episodes).

    Several processes (multi-process JAX data parallelism) share each episode rather than taking one episode
    each: the step of an episodic model sees one episode as its global batch, so with ``num_processes`` = n
    process i yields rows ``i·R/n .. (i+1)·R/n − 1`` of ``x`` (R = (shot + query)·way) and entries
    ``i·Q/n .. (i+1)·Q/n − 1`` of ``y`` (Q = query·way) of the same episode; concatenated in process order they
    are the single-process episode. Both R and Q must be divisible by n, i.e. n must divide ``shot·way`` and
    ``query·way``. Keras' multi-process auto-sharding cannot shard episodes (x and y differ in length): turn it
    off (``dp.distribution.auto_shard_dataset = False``) and pass ``zoo.distribute.process_info()`` here.

    Args:
        source: a `zoo.data.FewShotSplit`, an image folder path (one sub-folder per class, read lazily with
            `FewShotSplit.from_folder`), an ``(x, y)`` pair of arrays, or a finite `tf.data.Dataset` of
            ``(image, label)`` (materialised with `FewShotSplit.from_dataset`).
        way: classes per episode, 1..num_classes (the reference trains 30-way 1-shot / 20-way 5-shot on
            MiniImageNet and evaluates 5-way).
        shot: support images per class (>= 1).
        query: query images per class (>= 1; 15 in the reference). ``shot + query`` must not exceed the
            images of the split's smallest class.
        episodes: episodes per pass (>= 1; 100 per training "epoch" in the reference, 600 or 10,000 at test).
        seed: seed of the episode plans (and of the preset augmentation layers), an int in [0, 2**31 - 1].
        normalize: None or ``(mean, std)`` of [0, 1]-scaled pixels, scalars or one per channel, e.g.
            `zoo.data.FASHION_MNIST_MEAN_STD` or ImageNet's ``((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))``.
        image_size: None (the split's size) or ``(height, width)`` / int: images are resized (bilinear,
            antialiased; integer images rounded back to integers). File-backed splits decode straight to it.
        augment: None, a `zoo.data.make_dataset` preset (``"flip"``, ``"crop"``, ``"flip_crop"``), a keras
            preprocessing layer, a callable on image batches or a list of them. It is applied to the whole
            episode batch, per image (the presets and keras' random layers draw per image), support and
            queries alike, in the 0..255 range before scaling and normalisation. Use it for training
            episodes only. The reference's MiniImageNet train transform (RandomResizedCrop, colour jitter,
            h-flip) maps to e.g. ``[keras.layers.RandomZoom(...), keras.layers.RandomColorJitter(...),
            keras.layers.RandomFlip("horizontal")]``.
        resample: True (default): new episodes on every pass; False: the same episodes on every pass.
        raw: True: pixel values in 0..255 (float32; [0, 1] float splits are multiplied by 255), augmented but
            neither scaled nor normalised, for the task models of `zoo.models` (`zoo.models.ProtoNet`), which
            preprocess themselves; ``normalize`` must then be None.
        num_processes, process_index: multi-process slicing of every episode (1, 0: whole episodes), see above.

    Returns:
        `tf.data.Dataset` of exactly ``episodes`` elements (its cardinality, known to Keras), prefetched, each
        an episode or (num_processes > 1) this process's slice ``x [R/n, H, W, C]``, ``y [Q/n]``. Use
        ``model.fit(ds, epochs=..., shuffle=False)``; it works on the TensorFlow, JAX and PyTorch backends.

    Raises:
        ValueError: way/shot/query/episodes < 1; a bad seed; ``normalize`` with ``raw=True``; way larger than the
            number of classes; shot + query larger than the smallest class (named, with its count); bad
            normalize / image_size; an empty split or non-integer labels, float images outside [0, 1] or with
            NaN (from `FewShotSplit`); process_index outside [0, num_processes), ``shot·way`` or ``query·way`` not
            divisible by num_processes, num_processes > 1 under an active keras distribution that runs on
            another number of processes or auto-shards datasets. TypeError: an unsupported ``source``.

    Example:
        >>> splits = zoo.data.fewshot_splits("fashion_mnist")
        >>> train = zoo.data.episodes(splits["train"], way=5, shot=1, query=15, episodes=100,
        ...                           normalize=zoo.data.FASHION_MNIST_MEAN_STD)
        >>> test = zoo.data.episodes(splits["test"], way=5, shot=1, query=15, episodes=600, seed=1,
        ...                          normalize=zoo.data.FASHION_MNIST_MEAN_STD, resample=False)
        >>> model.fit(train, epochs=20, shuffle=False)

    Reference:
        Snell, Swersky, Zemel, "Prototypical Networks for Few-shot Learning", NeurIPS 2017; Khrulkov et al.,
        "Hyperbolic Image Embeddings", CVPR 2020 (code: examples/fewshot, CategoriesSampler: shot-major
        batches, 100 episodes per epoch).

    Departures from the reference code:
        The reference's sampler draws one fresh random plan per iteration with torch's global RNG; here plans
        are seeded per pass (reproducible). The reference resizes Mini test images to 92 and centre-crops 84;
        here images are resized straight to ``image_size`` (MiniImageNet's usual 84x84 files need no resize).
        With ``augment`` and num_processes > 1 each process augments its own slice: the plan (which images)
        is the single-process one, the random augmentation draws are not.
    """
    import tensorflow as tf

    way = check_int(way, "way", minimum=1, owner="episodes")
    shot = check_int(shot, "shot", minimum=1, owner="episodes")
    query = check_int(query, "query", minimum=1, owner="episodes")
    n_episodes = check_int(episodes, "episodes", minimum=1, owner="episodes")
    seed = check_seed(seed, "episodes")
    raw = check_raw(raw, normalize, "episodes")
    num_processes, process_index = check_processes(num_processes, process_index, "episodes")
    if (shot * way) % num_processes or (query * way) % num_processes:
        raise ValueError(f"episodes: num_processes = {num_processes} processes share each episode, so shot * way = "
                         f"{shot} * {way} and query * way = {query} * {way} must both be divisible by "
                         f"{num_processes} (each process takes 1/{num_processes} of the support+query rows and of the "
                         "query labels).")
    split = _as_split(source, image_size)
    _check_episode_fits(split, way, shot, query)
    size = check_image_size(image_size, "episodes") or split.image_size
    norm = check_normalize(normalize, split.channels)
    fns = augment_fns(augment, size[0], size[1], seed)
    start, rows = local_range((shot + query) * way, num_processes, process_index)
    ds, scale = _episode_images(_plan_dataset(split.labels, way, shot, query, n_episodes, seed, resample,
                                              start, rows), split, size, rows)
    y_start, y_rows = local_range(query * way, num_processes, process_index)
    y = tf.constant(np.tile(np.arange(way, dtype=np.int32), query)[y_start:y_start + y_rows])

    def finish(x):
        x = float_images(x, fns, scale, norm, raw)
        return tf.ensure_shape(x, [rows, size[0], size[1], split.channels]), y

    ds = ds.map(finish, num_parallel_calls=None if fns else tf.data.AUTOTUNE)
    ds = ds.apply(tf.data.experimental.assert_cardinality(n_episodes))
    return ds.prefetch(tf.data.AUTOTUNE)


# -- the steps of `episodes` ------------------------------------------------------------------------------------
def _as_split(source, image_size):
    """A `FewShotSplit` from any `episodes` source (split, tf.data.Dataset, (x, y) pair, image folder)."""
    import tensorflow as tf

    if isinstance(source, FewShotSplit):
        return source
    if isinstance(source, tf.data.Dataset):
        return FewShotSplit.from_dataset(source)
    if isinstance(source, tuple) and len(source) == 2:
        return FewShotSplit.from_arrays(*source)
    if isinstance(source, (str, os.PathLike)):
        return FewShotSplit.from_folder(source, image_size=image_size)
    raise TypeError("episodes: `source` must be a zoo.data.FewShotSplit, an (x, y) pair of arrays, a "
                    "tf.data.Dataset of (image, label) or an image folder with one sub-folder per class; "
                    f"got {type(source).__name__}.")


def _check_episode_fits(split, way, shot, query):
    """ValueError unless `way` classes with `shot + query` images each can be drawn from `split`."""
    if way > split.num_classes:
        raise ValueError(f"episodes: `way` = {way} is larger than the number of classes in the split "
                         f"({split.num_classes}); use way <= {split.num_classes}.")
    counts = split.class_counts()
    smallest = int(np.argmin(counts))
    if shot + query > counts[smallest]:
        raise ValueError(f"episodes: shot + query = {shot} + {query} = {shot + query} images per class, but class "
                         f"{split.class_names[smallest]!r} has only {int(counts[smallest])} images; use shot + query "
                         f"<= {int(counts[smallest])} or drop the small classes.")


def _plan_dataset(labels, way, shot, query, n_episodes, seed, resample, start=0, rows=None):
    """tf.data.Dataset of episode index rows, int32 [rows] (entries start..start+rows-1 of each
    [(shot + query) * way] row: a process's slice); pass e draws the plan seeded [seed, e] (always [seed, 0]
    when not `resample`)."""
    import tensorflow as tf

    passes = [0]
    rows = (shot + query) * way if rows is None else rows

    def plans():
        e = passes[0] if resample else 0
        passes[0] += 1
        plan = episode_plan(labels, way, shot, query, n_episodes, np.random.default_rng([int(seed), e]))
        yield from plan[:, start:start + rows]

    return tf.data.Dataset.from_generator(plans, output_signature=tf.TensorSpec([rows], tf.int32))


def _episode_images(plans, split, size, rows):
    """(dataset of float32 [rows, H, W, C] image batches in the split's value range, scale to [0, 1]):
    file-backed splits decode (and resize) each file, in-memory splits gather (and resize when `size`
    differs)."""
    import tensorflow as tf

    if split.lazy:
        paths = tf.constant(list(split.images))
        ds = plans.map(lambda idx: tf.gather(paths, idx)).unbatch()
        ds = ds.map(decode_fn(size, split.channels), num_parallel_calls=tf.data.AUTOTUNE)
        return ds.batch(rows, drop_remainder=True), 1.0 / 255.0
    integer = split.images.dtype == np.uint8
    images = tf.constant(split.images)

    def gather(idx):
        x = tf.cast(tf.gather(images, idx), tf.float32)
        if size != split.image_size:
            x = resize(x, size, integer)
        return x

    return plans.map(gather, num_parallel_calls=tf.data.AUTOTUNE), 1.0 / 255.0 if integer else 1.0
