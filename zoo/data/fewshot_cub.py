"""CUB-200-2011 as class-disjoint few-shot splits, from the tfds ``caltech_birds2011`` dataset.

`caltech_birds2011(...)` reads a prepared tfds dataset through `zoo.data.load_tfds` (never downloading unless
``download=True``; a clear `DatasetNotPreparedError` otherwise), merges its tfds splits (which split *images*,
not classes), cuts the classes into class-disjoint few-shot splits and returns ``{"train": FewShotSplit,
"val": FewShotSplit, "test": FewShotSplit}`` of uint8 images in memory (labels re-numbered 0..K-1 inside each
split, ``class_names`` naming them). TensorFlow and tfds are imported lazily.

CUB-200-2011 (tfds ``caltech_birds2011``: 11,788 images of 200 bird species; tfds splits by image)
    Both tfds splits are merged (every class has images in both). ``class_split="closer_look"``
    (default): the 100 / 50 / 50 class split of Chen et al., "A Closer Look at Few-shot Classification"
    (ICLR 2019), github.com/wyharveychen/CloserLookFewShot ``filelists/CUB/write_CUB_filelist.py``: with
    the class folders sorted (``001.Black_footed_Albatross`` .. ``200.Common_Yellowthroat``) and
    numbered i = 0..199 (= tfds ``label``, which is the folder number - 1): base/train ``i % 2 == 0``,
    val ``i % 4 == 1``, novel/test ``i % 4 == 3``. The paper describes it as following the 100 base /
    50 val / 50 novel protocol of Hilliard et al., "Few-Shot Learning with Metric-Agnostic Conditional
    Embeddings" (2018); the rule above is what its released code does, so it is reproducible from the
    class ids alone.

    The hyperbolic ProtoNet reference (Khrulkov et al., CVPR 2020, code github.com/leymir/
    hyperbolic-image-embeddings) reads CSV split files ``data/cub/split/{train,val,test}.csv`` with the
    loader and format of FEAT (Ye et al., CVPR 2020; github.com/Sha-Lab/FEAT). FEAT's published
    ``test.csv`` is a different 100/50/50 class list (its test classes include 018.Spotted_Catbird,
    133.White_throated_Sparrow and 174.Palm_Warbler, which Chen's rule puts in val, train and val):
    compare numbers with the reference only on the same split. Pass
    ``class_split={"train": ids, "val": ids, "test": ids}`` (0-based class ids, i.e. folder number - 1)
    to use any other split, FEAT's included; classes in no split are left out.

    The reference assumes bbox-cropped images (``dataloader/cub.py``). ``crop_to_bbox=True`` crops
    each image to its bounding box (tfds ``bbox``: normalised [ymin, xmin, ymax, xmax], rounded to whole
    pixels), then - as the reference's test transform ``Resize(84, BICUBIC) + CenterCrop(84)`` - resizes
    the shorter side to ``image_size`` (bicubic, antialiased) and centre-crops ``image_size`` x
    ``image_size``. Random train augmentation belongs to `zoo.data.episodes(augment=...)`.

Memory: everything is kept as uint8: 84x84x3 = 250 MB (about twice that while the three splits are assembled).

Example:
    >>> cub = zoo.data.fewshot_cub.caltech_birds2011(data_dir="/data/tfds", image_size=84)
    >>> ds = zoo.data.episodes(cub["train"], way=5, shot=1, query=15)
"""

import numpy as np

from zoo._checks import check_bool, check_int
from zoo.data._tfds_splits import SPLITS, assemble, load, num_examples, progbar, to_fewshot_splits

__all__ = ["caltech_birds2011", "cub_class_split"]

_CUB_NUM_CLASSES = 200


def cub_class_split(class_split="closer_look"):
    """0-based CUB-200-2011 class ids (tfds ``label`` = class folder number - 1) of each few-shot split.

    Args:
        class_split: ``"closer_look"`` (Chen et al. 2019: train ``i % 2 == 0``, val ``i % 4 == 1``,
            test ``i % 4 == 3``; 100 / 50 / 50 classes), or a dict with keys "train", "test" and
            optionally "val", each a sequence of distinct ids in [0, 200), the splits disjoint.

    Returns:
        dict split name -> sorted int64 numpy array of class ids.

    Raises:
        ValueError: an unknown name, a dict with other keys, ids out of range or shared by two splits.

    Example:
        >>> zoo.data.fewshot_tfds.cub_class_split()["test"][:3]
        array([ 3,  7, 11])
    """
    fn = "cub_class_split"
    if isinstance(class_split, str):
        if class_split != "closer_look":
            raise ValueError(f"{fn}: `class_split` must be 'closer_look' or a dict of class ids; got {class_split!r}.")
        i = np.arange(_CUB_NUM_CLASSES)
        return {"train": i[i % 2 == 0], "val": i[i % 4 == 1], "test": i[i % 4 == 3]}
    if not isinstance(class_split, dict) or not {"train", "test"} <= set(class_split) <= set(SPLITS):
        raise ValueError(f"{fn}: `class_split` must be 'closer_look' or a dict with keys 'train', 'test' and "
                         f"optionally 'val'; got {class_split!r}.")
    out, seen = {}, set()
    for name in SPLITS:
        if name not in class_split:
            continue
        ids = np.asarray(list(class_split[name]))
        if ids.ndim != 1 or ids.size == 0 or not np.issubdtype(ids.dtype, np.integer):
            raise ValueError(f"{fn}: `class_split[{name!r}]` must be a non-empty sequence of integer class ids.")
        if ids.min() < 0 or ids.max() >= _CUB_NUM_CLASSES:
            raise ValueError(f"{fn}: `class_split[{name!r}]` ids must be in [0, {_CUB_NUM_CLASSES}); "
                             f"got {ids.min()}..{ids.max()}.")
        ids = np.unique(ids).astype(np.int64)
        shared = seen.intersection(ids.tolist())
        if shared:
            raise ValueError(f"{fn}: class ids {sorted(shared)[:10]} appear in two splits; splits must be "
                             "class-disjoint.")
        seen.update(ids.tolist())
        out[name] = ids
    return out


def _cub_arrays(data_dir=None, download=False, image_size=84, crop_to_bbox=True, class_split="closer_look",
                verbose=1, batch_size=64):
    fn = "caltech_birds2011"
    image_size = check_int(image_size, "image_size", minimum=1, maximum=4096, owner=fn)
    crop_to_bbox = check_bool(crop_to_bbox, "crop_to_bbox", owner=fn)
    ids = cub_class_split(class_split)
    import tensorflow as tf
    import tensorflow_datasets as tfds

    split = "train+test"  # tfds splits CUB by image; the few-shot splits are by class
    ds, info = load("caltech_birds2011", split, fn, data_dir, download,
                     decoders={"segmentation_mask": tfds.decode.SkipDecoding()})
    split_of = np.full(_CUB_NUM_CLASSES, -1)
    for s, name in enumerate(SPLITS):
        if name in ids:
            split_of[ids[name]] = s

    def prepare(ex):
        return (_crop_resize(ex["image"], ex["bbox"], image_size, crop_to_bbox), ex["label"], ex["label_name"])

    ds = ds.map(prepare, num_parallel_calls=tf.data.AUTOTUNE).batch(batch_size).prefetch(2)
    chunks = {s: [] for s in SPLITS if s in ids}
    label_names = {}
    bar, seen = progbar(num_examples(info, split), verbose, "caltech_birds2011"), 0
    for images, label, label_name in ds.as_numpy_iterator():
        label = label.astype(np.int64)
        for k, n in zip(label.tolist(), label_name.tolist()):
            label_names.setdefault(k, n.decode("utf-8") if isinstance(n, bytes) else str(n))
        which = split_of[label]
        for s, split_name in enumerate(SPLITS):
            m = which == s
            if split_name in chunks and m.any():
                chunks[split_name].append((images[m], label[m]))
        seen += len(images)
        bar.update(seen)
    if bar.target is None:
        bar.update(seen, finalize=True)
    return assemble(chunks, lambda k: f"{k + 1:03d}.{label_names[k]}", fn)


def _crop_resize(image, bbox, size, crop):
    """(TensorFlow) crop a uint8 [H, W, 3] image to a normalised [ymin, xmin, ymax, xmax] box (whole pixels,
    at least 1x1), resize its shorter side to `size` (bicubic, antialiased; the longer side to
    int(size * long / short), as torchvision's Resize), centre-crop size x size; uint8."""
    import tensorflow as tf

    shape = tf.shape(image)
    h, w = shape[0], shape[1]
    if crop:
        bbox = tf.cast(bbox, tf.float32)
        hf, wf = tf.cast(h, tf.float32), tf.cast(w, tf.float32)
        y0 = tf.clip_by_value(tf.cast(tf.round(bbox[0] * hf), tf.int32), 0, h - 1)
        x0 = tf.clip_by_value(tf.cast(tf.round(bbox[1] * wf), tf.int32), 0, w - 1)
        y1 = tf.clip_by_value(tf.cast(tf.round(bbox[2] * hf), tf.int32), y0 + 1, h)
        x1 = tf.clip_by_value(tf.cast(tf.round(bbox[3] * wf), tf.int32), x0 + 1, w)
        image = image[y0:y1, x0:x1]
        h, w = y1 - y0, x1 - x0
    short = tf.cast(tf.minimum(h, w), tf.float32)
    nh = tf.maximum(size, tf.cast(tf.floor(size * tf.cast(h, tf.float32) / short), tf.int32))
    nw = tf.maximum(size, tf.cast(tf.floor(size * tf.cast(w, tf.float32) / short), tf.int32))
    out = tf.image.resize(tf.cast(image, tf.float32), tf.stack([nh, nw]), method="bicubic", antialias=True)
    top, left = (nh - size) // 2, (nw - size) // 2
    out = out[top:top + size, left:left + size]
    out = tf.cast(tf.clip_by_value(tf.round(out), 0.0, 255.0), tf.uint8)
    return tf.ensure_shape(out, [size, size, 3])


def caltech_birds2011(data_dir=None, download=False, image_size=84, crop_to_bbox=True, *,
                      class_split="closer_look", verbose=1):
    """CUB-200-2011 as class-disjoint few-shot splits (tfds ``caltech_birds2011``), uint8 in memory.

    Both tfds splits (by image) are merged, then cut by class; see the module docstring for the splits
    and their sources.

    Args:
        data_dir: folder of prepared tfds data; None: ``$TFDS_DATA_DIR`` or ``~/tensorflow_datasets``.
        download: let tfds download and prepare the dataset (needs network, ~1.2 GB); False (default)
            fails fast.
        image_size: side of the square output images (default 84, as the reference).
        crop_to_bbox: crop each image to its bounding box first (default; the reference assumes
            bbox-cropped images).
        class_split: ``"closer_look"`` (default; Chen et al. 2019, 100 / 50 / 50 classes) or a dict of
            0-based class ids, see `cub_class_split`.
        verbose: 1 shows a `keras.utils.Progbar` while decoding, 0 is silent.

    Returns:
        dict "train", "val" (unless a dict split leaves it out), "test" -> `zoo.data.FewShotSplit` of uint8
        images [N, image_size, image_size, 3] and labels 0..K-1, ``class_names`` like
        ``"001.black_footed_albatross"`` (tfds lower-cases the species names).

    Raises:
        zoo.data.DatasetNotPreparedError: not prepared in ``data_dir`` and ``download`` is False.
        ValueError: bad ``image_size`` / ``crop_to_bbox`` / ``class_split``; a split without images.

    Example:
        >>> cub = zoo.data.fewshot_tfds.caltech_birds2011(data_dir="/data/tfds")
        >>> cub["train"].num_classes, cub["val"].num_classes, cub["test"].num_classes
        (100, 50, 50)

    Reference:
        Wah et al., "The Caltech-UCSD Birds-200-2011 Dataset" (2011); Chen et al., ICLR 2019 (split);
        Khrulkov et al., CVPR 2020 (bbox crops, 84x84).
    """
    return to_fewshot_splits(_cub_arrays(data_dir, download, image_size, crop_to_bbox, class_split, verbose))
