"""Omniglot as class-disjoint few-shot splits of characters, from the tfds ``omniglot`` dataset.

`omniglot(...)` reads a prepared tfds dataset through `zoo.data.load_tfds` (never downloading unless
``download=True``; a clear `DatasetNotPreparedError` otherwise), merges its tfds splits (which split *images*,
not classes), cuts the characters into class-disjoint few-shot splits and returns ``{"train": FewShotSplit,
"val": FewShotSplit, "test": FewShotSplit}`` of uint8 images in memory (labels re-numbered 0..K-1 inside each
split, ``class_names`` naming them). TensorFlow and tfds are imported lazily.

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

Memory: everything is kept as uint8: 28x28 = 25 MB (x4 with rotations).

Example:
    >>> splits = zoo.data.fewshot_omniglot.omniglot(data_dir="/data/tfds")            # Vinyals split
    >>> splits["train"].num_classes, splits["test"].num_classes
    (1028, 423)
"""

import warnings

import numpy as np

from zoo._checks import check_bool, check_int
from zoo.data._tfds_splits import SPLITS, assemble, load, num_examples, progbar, to_fewshot_splits

__all__ = ["omniglot", "OMNIGLOT_ALPHABETS", "OMNIGLOT_BACKGROUND_ALPHABETS", "OMNIGLOT_EVALUATION_ALPHABETS",
           "OMNIGLOT_VINYALS"]

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


def _omniglot_arrays(data_dir=None, download=False, image_size=28, class_split="vinyals", rotations=False,
                     invert=True, verbose=1, batch_size=512):
    fn = "omniglot"
    image_size = check_int(image_size, "image_size", minimum=1, maximum=4096, owner=fn)
    rotations = check_bool(rotations, "rotations", owner=fn)
    invert = check_bool(invert, "invert", owner=fn)
    if class_split not in ("vinyals", "lake"):
        raise ValueError(f"{fn}: `class_split` must be 'vinyals' or 'lake'; got {class_split!r}.")
    import tensorflow as tf

    split = "train+test"  # Lake's background + evaluation sets = all 1,623 characters
    ds, info = load("omniglot", split, fn, data_dir, download)
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
    chunks = {s: [] for s in (SPLITS if class_split == "vinyals" else ("train", "test"))}
    bar, seen = progbar(num_examples(info, split), verbose, "omniglot"), 0
    for images, alphabet, character in ds.as_numpy_iterator():
        alphabet = remap[alphabet]
        character = character.astype(np.int64)
        if character.size and (character.min() < 0 or character.max() >= 1000):
            raise ValueError(f"{fn}: alphabet_char_id out of [0, 1000): {character.min()}..{character.max()}.")
        key = alphabet * 1000 + character
        which = _omniglot_split_of(alphabet, character, class_split)
        for r in range(4 if rotations else 1):
            rotated = np.rot90(images, k=r, axes=(1, 2)) if r else images  # counter-clockwise, as PIL
            for s, split_name in enumerate(SPLITS):
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

    out = assemble(chunks, name_of, fn)
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
    return to_fewshot_splits(_omniglot_arrays(data_dir, download, image_size, class_split, rotations, invert,
                                               verbose))
