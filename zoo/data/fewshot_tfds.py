"""Few-shot class splits of two tensorflow_datasets (tfds) datasets: Omniglot and CUB-200-2011.

`omniglot(...)` and `caltech_birds2011(...)` read a prepared tfds dataset through `zoo.data.load_tfds`
(never downloading unless ``download=True``; a clear `DatasetNotPreparedError` otherwise), merge its tfds
splits (which split *images*, not classes), cut the classes into class-disjoint few-shot splits, and
return ``{"train": FewShotSplit, "val": FewShotSplit, "test": FewShotSplit}`` of uint8 images in memory
(labels re-numbered 0..K-1 inside each split, ``class_names`` naming them). TensorFlow and tfds are
imported lazily.

Omniglot (tfds ``omniglot``: 32,460 images of 1,623 characters from 50 alphabets, 20 drawers each)
    The classes are the *characters*: one class per (``alphabet``, ``alphabet_char_id``) pair, which is
    what tfds' ``label`` numbers (0..1622, from the image file names ``NNNN_DD.png``). tfds' ``train``
    split is Lake's *background* set (30 alphabets, 964 characters), ``test`` the *evaluation* set (20
    alphabets, 659 characters); ``small1``/``small2`` are subsets of ``train`` and are not used.

    ``class_split="vinyals"`` (default): the split of Vinyals et al., "Matching Networks for One Shot
    Learning" (NeurIPS 2016), as published with Snell et al., "Prototypical Networks for Few-shot
    Learning" (NeurIPS 2017), github.com/jakesnell/prototypical-networks,
    ``data/omniglot/splits/vinyals/{train,val,test}.txt``: 1,028 train / 172 val / 423 test characters.

    - test (423): the alphabets Kannada, Keble, Malayalam, Manipuri, Mongolian,
      Old_Church_Slavonic_(Cyrillic), Oriya, Sylheti, Syriac_(Serto), Tengwar, Tibetan, ULOG, plus
      Gurmukhi characters 42-45;
    - val (172): the alphabets Armenian, Bengali, Early_Aramaic, Hebrew, Mkhedruli_(Georgian);
    - train (1,028): everything else (33 alphabets and Gurmukhi characters 1-41).

    It is the split of the ProtoNet / MAML Omniglot numbers (images 28x28), hence the default.
    Vinyals and Snell also multiply the classes by four with rotations by 0/90/180/270 degrees (each
    rotation a new class, in all three splits): ``rotations=True``.

    ``class_split="lake"``: Lake et al., "Human-level concept learning through probabilistic program
    induction" (Science 2015): train = the 30 background alphabets (964 characters), test = the 20
    evaluation alphabets (659 characters), no "val" key. Alphabet-disjoint, hence harder.

    Images are 105x105 RGB PNGs with equal channels (black strokes on white). They become one grey
    channel (ITU-R 601 luma), resized to ``image_size`` (bilinear, antialiased) and by default inverted
    (``invert=True``: strokes bright on a black background, as Snell et al.'s loader ``1 - x``).

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

Memory: everything is kept as uint8: Omniglot 28x28 = 25 MB (x4 with rotations), CUB 84x84x3 = 250
MB (about twice that while the three splits are assembled).

Example:
    >>> splits = zoo.data.fewshot_tfds.omniglot(data_dir="/data/tfds")            # Vinyals split
    >>> splits["train"].num_classes, splits["test"].num_classes
    (1028, 423)
    >>> cub = zoo.data.fewshot_tfds.caltech_birds2011(data_dir="/data/tfds", image_size=84)
    >>> ds = zoo.data.episodes(cub["train"], way=5, shot=1, query=15)
"""

import numbers
import warnings

import numpy as np

__all__ = [
    "omniglot",
    "caltech_birds2011",
    "OMNIGLOT_ALPHABETS",
    "OMNIGLOT_BACKGROUND_ALPHABETS",
    "OMNIGLOT_EVALUATION_ALPHABETS",
    "OMNIGLOT_VINYALS",
    "cub_class_split",
]

#: The 30 alphabets of Lake's background set (tfds ``omniglot`` split ``train``).
OMNIGLOT_BACKGROUND_ALPHABETS = (
    "Alphabet_of_the_Magi", "Anglo-Saxon_Futhorc", "Arcadian", "Armenian", "Asomtavruli_(Georgian)",
    "Balinese", "Bengali", "Blackfoot_(Canadian_Aboriginal_Syllabics)", "Braille", "Burmese_(Myanmar)",
    "Cyrillic", "Early_Aramaic", "Futurama", "Grantha", "Greek", "Gujarati", "Hebrew",
    "Inuktitut_(Canadian_Aboriginal_Syllabics)", "Japanese_(hiragana)", "Japanese_(katakana)", "Korean",
    "Latin", "Malay_(Jawi_-_Arabic)", "Mkhedruli_(Georgian)", "N_Ko", "Ojibwe_(Canadian_Aboriginal_Syllabics)",
    "Sanskrit", "Syriac_(Estrangelo)", "Tagalog", "Tifinagh",
)
#: The 20 alphabets of Lake's evaluation set (tfds ``omniglot`` split ``test``).
OMNIGLOT_EVALUATION_ALPHABETS = (
    "Angelic", "Atemayar_Qelisayer", "Atlantean", "Aurek-Besh", "Avesta", "Ge_ez", "Glagolitic", "Gurmukhi",
    "Kannada", "Keble", "Malayalam", "Manipuri", "Mongolian", "Old_Church_Slavonic_(Cyrillic)", "Oriya",
    "Sylheti", "Syriac_(Serto)", "Tengwar", "Tibetan", "ULOG",
)
#: All 50 alphabets in tfds' order: tfds' ``alphabet`` ClassLabel is ``sorted`` alphabet folder names.
OMNIGLOT_ALPHABETS = tuple(sorted(OMNIGLOT_BACKGROUND_ALPHABETS + OMNIGLOT_EVALUATION_ALPHABETS))

#: Vinyals et al.'s class split (as published by Snell et al.): whole alphabets in val and test, plus
#: Gurmukhi characters 42-45 (1-based, as the folders ``character42``..) in test; train is the rest.
OMNIGLOT_VINYALS = {
    "val": ("Armenian", "Bengali", "Early_Aramaic", "Hebrew", "Mkhedruli_(Georgian)"),
    "test": ("Kannada", "Keble", "Malayalam", "Manipuri", "Mongolian", "Old_Church_Slavonic_(Cyrillic)",
             "Oriya", "Sylheti", "Syriac_(Serto)", "Tengwar", "Tibetan", "ULOG"),
    "test_characters": {"Gurmukhi": (42, 43, 44, 45)},
    "num_characters": {"train": 1028, "val": 172, "test": 423},
}

_SPLITS = ("train", "val", "test")
_CUB_NUM_CLASSES = 200


def _check_image_size(image_size, fn):
    if isinstance(image_size, bool) or not isinstance(image_size, numbers.Integral) or not 1 <= image_size <= 4096:
        raise ValueError(f"{fn}: `image_size` must be an integer in [1, 4096]; got {image_size!r}.")
    return int(image_size)


def _check_bool(value, name, fn):
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{fn}: `{name}` must be True or False; got {value!r}.")
    return bool(value)


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
    if not isinstance(class_split, dict) or not {"train", "test"} <= set(class_split) <= set(_SPLITS):
        raise ValueError(f"{fn}: `class_split` must be 'closer_look' or a dict with keys 'train', 'test' and "
                         f"optionally 'val'; got {class_split!r}.")
    out, seen = {}, set()
    for name in _SPLITS:
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


def _omniglot_split_of(alphabet, character, class_split):
    """Split index (0 train, 1 val, 2 test) of characters given by alphabet index (into
    `OMNIGLOT_ALPHABETS`) and 0-based character index (tfds ``alphabet_char_id``); numpy arrays."""
    alphabet = np.asarray(alphabet, np.int64)
    character = np.asarray(character, np.int64)
    if class_split == "lake":
        table = np.array([2 if a in OMNIGLOT_EVALUATION_ALPHABETS else 0 for a in OMNIGLOT_ALPHABETS])
        return table[alphabet]
    table = np.array([1 if a in OMNIGLOT_VINYALS["val"] else 2 if a in OMNIGLOT_VINYALS["test"] else 0
                      for a in OMNIGLOT_ALPHABETS])
    out = table[alphabet]
    for name, chars in OMNIGLOT_VINYALS["test_characters"].items():
        hit = (alphabet == OMNIGLOT_ALPHABETS.index(name)) & np.isin(character + 1, chars)
        out = np.where(hit, 2, out)
    return out


def _progbar(target, verbose, what):
    import keras

    if verbose:
        print(f"{what}: decoding, resizing and splitting {target if target else 'the'} images")
    return keras.utils.Progbar(target, verbose=verbose, unit_name="image")


def _load(name, split, fn, data_dir, download, **kw):
    from zoo.data.tfds import DatasetNotPreparedError, load_tfds

    try:
        return load_tfds(name, split, data_dir=data_dir, download=download, as_supervised=False, with_info=True,
                         **kw)
    except DatasetNotPreparedError as e:
        raise DatasetNotPreparedError(f"{fn}: {e} Here: zoo.data.fewshot_tfds.{fn}(download=True"
                                      + (f", data_dir={data_dir!r}" if data_dir is not None else "") + ").") from e


def _num_examples(info, split):
    try:
        n = int(info.splits[split].num_examples)
    except Exception:  # mocked or partial metadata: no split sizes
        return None
    return n or None


def _assemble(chunks, name_of, fn):
    """chunks[s] = list of (images, keys) batches -> {split: (x uint8, y 0..K-1, class_names)}."""
    out = {}
    for split in list(chunks):
        parts = chunks.pop(split)
        if not parts:
            raise ValueError(f"{fn}: no image fell into the {split!r} classes; is the prepared dataset complete?")
        x = np.concatenate([p[0] for p in parts])
        keys = np.concatenate([p[1] for p in parts])
        del parts
        classes, y = np.unique(keys, return_inverse=True)
        out[split] = (x, y.astype(np.int32).reshape(-1), [name_of(int(k)) for k in classes])
    return out


def _to_fewshot_splits(arrays):
    from zoo.data.episodes import FewShotSplit

    return {s: FewShotSplit.from_arrays(x, y, class_names=names) for s, (x, y, names) in arrays.items()}


def _omniglot_arrays(data_dir=None, download=False, image_size=28, class_split="vinyals", rotations=False,
                     invert=True, verbose=1, batch_size=512):
    fn = "omniglot"
    image_size = _check_image_size(image_size, fn)
    rotations = _check_bool(rotations, "rotations", fn)
    invert = _check_bool(invert, "invert", fn)
    if class_split not in ("vinyals", "lake"):
        raise ValueError(f"{fn}: `class_split` must be 'vinyals' or 'lake'; got {class_split!r}.")
    import tensorflow as tf

    split = "train+test"  # Lake's background + evaluation sets = all 1,623 characters
    ds, info = _load("omniglot", split, fn, data_dir, download)
    names = list(info.features["alphabet"].names)
    if sorted(names) == sorted(OMNIGLOT_ALPHABETS):  # prepared data: real names (in tfds' sorted order)
        remap = np.array([OMNIGLOT_ALPHABETS.index(n) for n in names])
    else:  # mocked metadata ("0".."49"): tfds numbers the alphabets in sorted order
        remap = np.arange(len(OMNIGLOT_ALPHABETS))
    weights = tf.constant([0.2989, 0.5870, 0.1140], tf.float32)

    def prepare(ex):
        image = tf.cast(ex["image"], tf.float32)
        grey = tf.tensordot(image, weights, axes=[[-1], [0]])[..., None]
        grey = tf.image.resize(grey, [image_size, image_size], method="bilinear", antialias=True)
        if invert:
            grey = 255.0 - grey
        grey = tf.cast(tf.clip_by_value(tf.round(grey), 0.0, 255.0), tf.uint8)
        return grey, ex["alphabet"], ex["alphabet_char_id"]

    ds = ds.map(prepare, num_parallel_calls=tf.data.AUTOTUNE).batch(batch_size).prefetch(2)
    chunks = {s: [] for s in (_SPLITS if class_split == "vinyals" else ("train", "test"))}
    bar, seen = _progbar(_num_examples(info, split), verbose, "omniglot"), 0
    for images, alphabet, character in ds.as_numpy_iterator():
        alphabet = remap[alphabet]
        character = character.astype(np.int64)
        if character.size and (character.min() < 0 or character.max() >= 1000):
            raise ValueError(f"{fn}: alphabet_char_id out of [0, 1000): {character.min()}..{character.max()}.")
        key = alphabet * 1000 + character
        which = _omniglot_split_of(alphabet, character, class_split)
        for r in range(4 if rotations else 1):
            rotated = np.rot90(images, k=r, axes=(1, 2)) if r else images  # counter-clockwise, as PIL
            for s, split_name in enumerate(_SPLITS):
                if split_name in chunks:
                    m = which == s
                    if m.any():
                        chunks[split_name].append((np.ascontiguousarray(rotated[m]), key[m] * 4 + r))
        seen += len(images)
        bar.update(seen)
    if bar.target is None:
        bar.update(seen, finalize=True)

    def name_of(k):
        char_key, r = divmod(k, 4)
        a, c = divmod(char_key, 1000)
        name = f"{OMNIGLOT_ALPHABETS[a]}/character{c + 1:02d}"
        return f"{name}/rot{90 * r:03d}" if rotations else name

    out = _assemble(chunks, name_of, fn)
    if class_split == "vinyals" and not rotations and sorted(names) == sorted(OMNIGLOT_ALPHABETS):
        got = {s: len(v[2]) for s, v in out.items()}
        if got != OMNIGLOT_VINYALS["num_characters"]:
            warnings.warn(f"omniglot: characters per split {got} differ from Vinyals et al.'s "
                          f"{OMNIGLOT_VINYALS['num_characters']}; is the prepared dataset complete?", stacklevel=3)
    return out


def omniglot(data_dir=None, download=False, image_size=28, *, class_split="vinyals", rotations=False, invert=True,
             verbose=1):
    """Omniglot as class-disjoint few-shot splits of characters (tfds ``omniglot``), uint8 in memory.

    See the module docstring for the splits and their sources.

    Args:
        data_dir: folder of prepared tfds data; None: ``$TFDS_DATA_DIR`` or ``~/tensorflow_datasets``.
        download: let tfds download and prepare the dataset (needs network); False (default) fails fast.
        image_size: side of the square output images (default 28, as Vinyals / Snell / MAML).
        class_split: ``"vinyals"`` (default; 1,028 / 172 / 423 characters) or ``"lake"`` (background 964 /
            evaluation 659 characters, no "val").
        rotations: also add the images rotated by 90, 180 and 270 degrees as new classes (Vinyals et al.,
            Snell et al.), in every split; class names end in ``/rot000`` .. ``/rot270``.
        invert: strokes bright on black (default, as Snell et al.), else tfds' black on white.
        verbose: 1 shows a `keras.utils.Progbar` while decoding, 0 is silent.

    Returns:
        dict "train", "val" (not for "lake"), "test" -> `zoo.data.FewShotSplit` of uint8 images
        [N, image_size, image_size, 1] and labels 0..K-1, ``class_names`` like ``"Latin/character07"``.

    Raises:
        zoo.data.DatasetNotPreparedError: not prepared in ``data_dir`` and ``download`` is False.
        ValueError: bad ``image_size`` / ``class_split`` / flags; a split without images.

    Example:
        >>> splits = zoo.data.fewshot_tfds.omniglot(data_dir="/data/tfds", rotations=True)
        >>> ds = zoo.data.episodes(splits["train"], way=60, shot=5, query=5)

    Reference:
        Lake et al., Science 2015 (dataset); Vinyals et al., NeurIPS 2016 and Snell et al., NeurIPS 2017
        (split, 28x28, rotations).
    """
    return _to_fewshot_splits(_omniglot_arrays(data_dir, download, image_size, class_split, rotations, invert,
                                               verbose))


def _cub_arrays(data_dir=None, download=False, image_size=84, crop_to_bbox=True, class_split="closer_look",
                verbose=1, batch_size=64):
    fn = "caltech_birds2011"
    image_size = _check_image_size(image_size, fn)
    crop_to_bbox = _check_bool(crop_to_bbox, "crop_to_bbox", fn)
    ids = cub_class_split(class_split)
    import tensorflow as tf
    import tensorflow_datasets as tfds

    split = "train+test"  # tfds splits CUB by image; the few-shot splits are by class
    ds, info = _load("caltech_birds2011", split, fn, data_dir, download,
                     decoders={"segmentation_mask": tfds.decode.SkipDecoding()})
    split_of = np.full(_CUB_NUM_CLASSES, -1)
    for s, name in enumerate(_SPLITS):
        if name in ids:
            split_of[ids[name]] = s

    def prepare(ex):
        return (_crop_resize(ex["image"], ex["bbox"], image_size, crop_to_bbox), ex["label"], ex["label_name"])

    ds = ds.map(prepare, num_parallel_calls=tf.data.AUTOTUNE).batch(batch_size).prefetch(2)
    chunks = {s: [] for s in _SPLITS if s in ids}
    label_names = {}
    bar, seen = _progbar(_num_examples(info, split), verbose, "caltech_birds2011"), 0
    for images, label, label_name in ds.as_numpy_iterator():
        label = label.astype(np.int64)
        for k, n in zip(label.tolist(), label_name.tolist()):
            label_names.setdefault(k, n.decode("utf-8") if isinstance(n, bytes) else str(n))
        which = split_of[label]
        for s, split_name in enumerate(_SPLITS):
            m = which == s
            if split_name in chunks and m.any():
                chunks[split_name].append((images[m], label[m]))
        seen += len(images)
        bar.update(seen)
    if bar.target is None:
        bar.update(seen, finalize=True)
    return _assemble(chunks, lambda k: f"{k + 1:03d}.{label_names[k]}", fn)


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
    return _to_fewshot_splits(_cub_arrays(data_dir, download, image_size, crop_to_bbox, class_split, verbose))
