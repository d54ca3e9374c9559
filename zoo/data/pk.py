"""`pk_batches`: P classes × K samples per batch as a `tf.data.Dataset` for metric learning.

Every batch holds P groups of K consecutive same-class samples (the exponential-triplet reference's
groups of 3 same-class samples are K = 3; its anchors are then every K-th sample). Every epoch each
class's samples are reshuffled and cut into groups of K (a remainder < K is left out of that epoch),
and batches draw P distinct classes at random, weighted by their remaining groups, until fewer than P
classes have groups left. The index plan is made on the host (numpy, seeded) by a generator that
tf.data calls again at every pass over the dataset; pass e draws its plan from ``default_rng([seed, e])``,
so `model.fit(ds, epochs=n, shuffle=False)` sees a new plan each epoch on the TensorFlow, JAX and PyTorch
backends, and a pass abandoned half-way (Keras reads one batch to build the model at the first `fit`,
with prefetching) does not shift the plans of the next ones. TensorFlow is imported lazily.

Multi-process data parallelism: every process builds the same global plan from the shared seed; with
``num_processes=n, process_index=i`` it yields slice i of each global batch (P/n whole classes), so the
slices of all processes, in process order, are the single-process batch (see docs/scaling.md).
"""

import numpy as np

from zoo._checks import check_int
from zoo.data._checks import check_raw, check_seed, pixel_scale
from zoo.data._preprocess import check_normalize, float_images
from zoo.data._shards import check_processes, local_range

__all__ = ["pk_batches", "pk_plan"]


def pk_plan(y, p, k, rng):
    """One epoch of PK batches: a list of int arrays of P·K indices into `y` (numpy, no TensorFlow).

    Args:
        y: int labels [N].
        p, k: classes per batch and samples per class.
        rng: `np.random.Generator`.
    """
    groups = {}
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        n = len(idx) // k
        if n:
            groups[int(c)] = list(idx[: n * k].reshape(n, k))
    batches = []
    while True:
        alive = [c for c, g in groups.items() if g]
        if len(alive) < p:
            return batches
        w = np.array([len(groups[c]) for c in alive], float)
        chosen = rng.choice(len(alive), size=p, replace=False, p=w / w.sum())
        batches.append(np.concatenate([groups[alive[i]].pop() for i in chosen]).astype(np.int32))


def pk_batches(x, y, p=10, k=3, normalize=None, seed=0, raw=False, num_processes=1, process_index=0):
    """Build a PK-batch `tf.data.Dataset` of ``(images, labels)``, images float32 [P·K, H, W, C].

    With ``num_processes`` = n > 1 each process yields its slice of the global batch: every process draws the
    same global plan from ``seed`` and process i keeps the K-groups ``i·P/n .. (i+1)·P/n − 1`` (rows
    ``i·P·K/n .. (i+1)·P·K/n − 1``), whole classes; the slices in process order are the single-process batch.

    Args:
        x: images [N, H, W] or [N, H, W, C]; uint8 0..255 (scaled by 1/255) or float in [0, 1] (float
            images in 0..255, NaN or inf pixels are refused).
        y: integer class ids [N].
        p: classes per batch (>= 1; at most the number of classes with >= k samples).
        k: samples per class (>= 2: a batch needs positive pairs). The reference: k = 3.
        normalize: None or ``(mean, std)`` of [0, 1]-scaled pixels, as `zoo.data.make_dataset`.
        seed: seed of the plans (pass e over the dataset draws from ``np.random.default_rng([seed, e])``), an
            int in [0, 2**31 - 1].
        raw: True: images stay pixel values in 0..255 (float32, not scaled or normalised) for the task models
            of `zoo.models`, which preprocess themselves; ``normalize`` must then be None.
        num_processes, process_index: multi-process slicing (1, 0: the whole global batch). P must be divisible
            by num_processes. For multi-process JAX `fit`, either build the global pipeline (the default) and
            let Keras' auto-sharding take each process's slice (the same rows), or pass
            ``zoo.distribute.process_info()`` here (only this process's images are gathered) and turn Keras'
            auto-sharding off (``dp.distribution.auto_shard_dataset = False``); a sliced pipeline has an
            unknown static batch size, so Keras' auto-sharding refuses it instead of slicing it again.

    Returns:
        `tf.data.Dataset` of exactly ``(Σ_c ⌊n_c / K⌋) // P`` batches per epoch (its cardinality, known to
        Keras), of P·K rows (P·K / num_processes when sliced). Within an epoch no sample repeats as long as
        the per-pass plan suffices (balanced classes); when a pass runs short the next batches come from a
        freshly shuffled pass.
        Use ``model.fit(ds, epochs=..., shuffle=False)``.

    Raises:
        ValueError: k < 2, p < 1, fewer than p classes with k samples, labels not [N] integers or of
            another length than x, bad images (dtype, float values outside [0, 1], NaN), a bad seed,
            ``normalize`` with ``raw=True``; p not divisible by num_processes, process_index outside
            [0, num_processes); num_processes > 1 under an active keras distribution that runs on another
            number of processes or auto-shards datasets itself.

    Example:
        >>> (x, y), _ = zoo.data.fashion_mnist()
        >>> ds = zoo.data.pk_batches(x, y, p=10, k=3, normalize=zoo.data.FASHION_MNIST_MEAN_STD)
        >>> model.fit(ds, epochs=10, shuffle=False)
        >>> n, i = zoo.distribute.process_info()          # several JAX processes: this process's slice
        >>> part = zoo.data.pk_batches(x, y, p=10, k=3, raw=True, num_processes=n, process_index=i)

    Reference:
        Hermans, Beyer, Leibe, "In Defense of the Triplet Loss for Person Re-Identification", 2017 (PK
        batches); Urtans et al., ICCDA 2020 (groups of 3 same-class samples).

    Departures from the reference code:
        The reference cycles its groups through the classes in a fixed order (a batch of 11 groups over
        10 classes repeats a class); here the P classes of a batch are distinct and drawn at random. Process
        slicing follows fast-reid's samplers (same seed on every rank, each rank takes its part of the batch).
    """
    import tensorflow as tf

    p = check_int(p, "p", minimum=1, owner="pk_batches")
    k = check_int(k, "k", minimum=2, owner="pk_batches")
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[0] == 0:
        raise ValueError(f"pk_batches: x must be images [N, H, W] or [N, H, W, C]; got shape {x.shape}.")
    y = np.asarray(y)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"pk_batches: y must be integer class ids of shape [N]; got {y.dtype} shape {y.shape}.")
    if len(y) != len(x):
        raise ValueError(f"pk_batches: x has {len(x)} images but y has {len(y)} labels.")
    classes, counts = np.unique(y, return_counts=True)
    usable = int((counts >= k).sum())
    if usable < p:
        raise ValueError(f"pk_batches: p = {p} classes per batch, but only {usable} classes have k = {k} samples.")
    scale = pixel_scale(x, "pk_batches", dtype_error=ValueError)
    norm = check_normalize(normalize, x.shape[-1])
    raw = check_raw(raw, normalize, "pk_batches")
    num_processes, process_index = check_processes(num_processes, process_index, "pk_batches")
    if p % num_processes:
        raise ValueError(f"pk_batches: p = {p} classes per global batch must be divisible by num_processes = "
                         f"{num_processes} (each process takes whole classes: P/num_processes groups of K).")
    start, local = local_range(p * k, num_processes, process_index)
    seed = check_seed(seed, "pk_batches")
    steps = int(sum(c // k for c in counts)) // p
    passes = [0]

    def plans():
        # Exactly `steps` batches per pass (a fixed, known epoch length for Keras): batches come from a stream of
        # plans; when a plan runs short (unbalanced classes) a new one is drawn. Pass e has its own generator
        # seeded [seed, e]: how far an earlier iterator ran (Keras' build-time peek, prefetching) cannot change
        # it, so every process of a multi-process job draws the same global batches.
        rng = np.random.default_rng([seed, passes[0]])
        passes[0] += 1
        stream = []
        for _ in range(steps):
            while not stream:
                stream.extend(pk_plan(y, p, k, rng))
            yield stream.pop(0)[start:start + local]

    images = tf.constant(x)
    labels = tf.constant(y.astype(np.int32))

    def load(idx):
        return float_images(tf.gather(images, idx), [], scale, norm, raw), tf.gather(labels, idx)

    # A slice keeps no static batch size: Keras' multi-process auto-sharding then refuses the dataset ("batch size
    # unknown") instead of silently keeping a part of this process's part.
    rows = p * k if num_processes == 1 else None
    ds = tf.data.Dataset.from_generator(plans, output_signature=tf.TensorSpec([rows], tf.int32))
    ds = ds.apply(tf.data.experimental.assert_cardinality(steps))
    return ds.map(load, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
