"""`FewShotSplit`: one class split (train, val or test classes) of a labelled image set, in memory or as image
files decoded lazily; the source of `zoo.data.episodes`. TensorFlow is imported lazily.
"""

import os

import numpy as np

from zoo.data._images import (
    AUTO_PROGRESS_MIN_FOLDERS,
    AUTO_PROGRESS_MIN_ITEMS,
    LOAD_BATCH,
    check_channels,
    check_image_size,
    decode_fn,
    peek_image,
    resize,
    verbose_on,
)

__all__ = ["FewShotSplit", "IMAGE_EXTENSIONS"]

#: File name endings (lower-case) that `FewShotSplit.from_folder` reads as images (`tf.io.decode_image`).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif")


class FewShotSplit:
    """One class split (train, val or test classes) of a labelled image set, the source of `zoo.data.episodes`.

    Holds the images, either in memory (a uint8 array ``[N, H, W, C]``, or float32 in [0, 1]) or as a list of
    image file paths (jpg/png/bmp/gif) decoded lazily by the episode pipeline, plus integer labels ``[N]`` in
    ``0..num_classes-1`` and one name per class. Labels given with other values (e.g. Fashion-MNIST classes
    5..9) are re-numbered ``0..C-1`` in sorted order; the class names keep the link to the original classes.

    Args:
        images: uint8 (or 0..255 integer, or float [0, 1]) array ``[N, H, W]`` / ``[N, H, W, C]``, or a
            sequence of N image file paths.
        labels: integer class labels ``[N]`` (any integer values; bool/float/one-hot are rejected).
        class_names: None (names are ``str(label)``); a sequence with one name per distinct label (in sorted
            label order); or a sequence indexed by the original label value (longer than the largest label,
            e.g. `zoo.data.FASHION_MNIST_CLASSES` for labels 5..9).
        image_size: files only: ``(height, width)`` (or an int) every decoded image is resized to (bilinear,
            antialiased, rounded back to integers); None: the size of the first file.
        channels: files only: 1 (grayscale) or 3 (RGB); images are converted on decoding. None: 1 if the
            first file is grayscale, else 3.

    Attributes:
        images: the numpy array or a tuple of paths. labels: int32 ``[N]``. class_names: tuple of str.
        image_size: ``(H, W)``. channels: int. lazy: True for file-backed splits. num_classes: int.

    Raises:
        ValueError: an empty split; labels not 1-D integers or of another length than the images; images not
            of rank 3/4, integer images outside 0..255, float images outside [0, 1]; class_names of the wrong
            length; missing image files (the first ones are named); bad ``image_size`` / ``channels``.

    Example:
        >>> (x, y), _ = zoo.data.fashion_mnist()
        >>> train = zoo.data.FewShotSplit.from_arrays(x[y < 5], y[y < 5], zoo.data.FASHION_MNIST_CLASSES)
        >>> train.num_classes, train.class_counts()
        (5, array([6000, 6000, 6000, 6000, 6000]))
        >>> test = zoo.data.FewShotSplit.from_folder("/data/cub/test", image_size=84)

    Reference:
        Vinyals et al., "Matching Networks for One Shot Learning", NeurIPS 2016 (class splits, episodes);
        Ravi & Larochelle, "Optimization as a Model for Few-Shot Learning", ICLR 2017 (MiniImageNet splits).
    """

    def __init__(self, images, labels, class_names=None, image_size=None, channels=None):
        labels_arr = np.asarray(labels)
        if labels_arr.ndim != 1 or labels_arr.dtype == bool or not np.issubdtype(labels_arr.dtype, np.integer):
            raise ValueError(f"FewShotSplit: `labels` must be integer class labels of shape [N]; got dtype "
                             f"{labels_arr.dtype} and shape {labels_arr.shape} (one-hot labels? pass y.argmax(-1)).")
        if isinstance(images, np.ndarray) or hasattr(images, "__array__") and not isinstance(images, (list, tuple)):
            self._init_array(np.asarray(images), image_size, channels)
        elif isinstance(images, (list, tuple)) and all(isinstance(p, (str, os.PathLike)) for p in images):
            self._init_files([os.fspath(p) for p in images], image_size, channels)
        else:
            raise ValueError("FewShotSplit: `images` must be a numpy array [N, H, W(, C)] or a list of image file "
                             f"paths; got {type(images).__name__}.")
        n = len(self.images)
        if n == 0:
            raise ValueError("FewShotSplit: empty split (0 images).")
        if len(labels_arr) != n:
            raise ValueError(f"FewShotSplit: {n} images but {len(labels_arr)} labels.")
        values, self.labels = np.unique(labels_arr, return_inverse=True)
        self.labels = self.labels.reshape(-1).astype(np.int32)
        if class_names is None:
            names = [str(v) for v in values]
        else:
            class_names = list(class_names)
            if len(class_names) == len(values):
                names = class_names
            elif values.min() >= 0 and len(class_names) > values.max():
                names = [class_names[int(v)] for v in values]
            else:
                raise ValueError(f"FewShotSplit: `class_names` has {len(class_names)} names, but the labels have "
                                 f"{len(values)} distinct values in {values.min()}..{values.max()}: give one name "
                                 "per distinct label or a list indexed by the label.")
        self.class_names = tuple(str(s) for s in names)
        if len(set(self.class_names)) != len(self.class_names):
            raise ValueError(f"FewShotSplit: `class_names` are not distinct: {self.class_names}.")

    def _init_array(self, x, image_size, channels):
        if image_size is not None or channels is not None:
            raise ValueError("FewShotSplit: `image_size` and `channels` apply to file-backed splits only; resize "
                             "in-memory images before, or pass `image_size` to zoo.data.episodes.")
        if x.ndim == 3:
            x = x[..., None]
        if x.ndim != 4:
            raise ValueError(f"FewShotSplit: images must be an array [N, H, W] or [N, H, W, C]; got shape {x.shape}.")
        if not (np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)):
            raise ValueError(f"FewShotSplit: images must be uint8 (0..255) or float ([0, 1]); got dtype {x.dtype}.")
        if x.size and np.issubdtype(x.dtype, np.integer) and x.dtype != np.uint8:
            if x.min() < 0 or x.max() > 255:
                raise ValueError(f"FewShotSplit: integer images must be in 0..255; got {x.min()}..{x.max()}.")
            x = x.astype(np.uint8)
        if np.issubdtype(x.dtype, np.floating):
            x = x.astype(np.float32, copy=False)
            if x.size and (not np.isfinite(x).all() or x.min() < 0.0 or x.max() > 1.0):
                raise ValueError("FewShotSplit: float images must be finite and in [0, 1] (uint8 images in 0..255 "
                                 "are accepted as such).")
        self.images = x
        self.lazy = False
        self.image_size = (int(x.shape[1]), int(x.shape[2]))
        self.channels = int(x.shape[3])

    def _init_files(self, paths, image_size, channels):
        image_size = check_image_size(image_size, "FewShotSplit")
        channels = check_channels(channels, "FewShotSplit")
        listings = {}
        missing = []
        for p in paths:
            folder, name = os.path.split(os.path.abspath(p))
            if folder not in listings:
                listings[folder] = set(os.listdir(folder)) if os.path.isdir(folder) else set()
            if name not in listings[folder] or not os.path.isfile(p):
                missing.append(p)
        if missing:
            raise ValueError(f"FewShotSplit: {len(missing)} of {len(paths)} image files are missing, first: "
                             f"{missing[:5]}.")
        if paths and (image_size is None or channels is None):
            h, w, c = peek_image(paths[0])
            image_size = image_size or (h, w)
            channels = channels or (1 if c == 1 else 3)
        self.images = tuple(paths)
        self.lazy = True
        self.image_size = image_size
        self.channels = channels

    # ----------------------------------------------------------------------------------------------------------
    @classmethod
    def from_arrays(cls, x, y, class_names=None):
        """Split from in-memory images ``x`` [N, H, W(, C)] (uint8, or float in [0, 1]) and integer labels ``y``."""
        return cls(np.asarray(x), y, class_names)

    @classmethod
    def from_files(cls, paths, labels, class_names=None, image_size=None, channels=None):
        """Split from image file paths (decoded lazily) and their integer labels."""
        return cls(list(paths), labels, class_names, image_size, channels)

    @classmethod
    def from_folder(cls, root, image_size=None, channels=None, verbose="auto"):
        """Split from ``root/<class name>/<images>`` (one sub-folder per class, sorted by name, label = index).

        Files ending in `IMAGE_EXTENSIONS` (any case) are read lazily; other files and hidden entries are ignored.

        Args:
            root: folder with one sub-folder per class.
            image_size, channels: as the constructor (None: taken from the first image).
            verbose: progress bar over the class folders: 0, 1 or "auto" (shown above 200 folders).

        Raises:
            FileNotFoundError: ``root`` is not a folder. ValueError: no class sub-folders, or a class folder
                without images (named).
        """
        root = os.fspath(root)
        if not os.path.isdir(root):
            raise FileNotFoundError(f"FewShotSplit.from_folder: {root!r} is not a folder (expected "
                                    "root/<class name>/<images>).")
        classes = sorted(e.name for e in os.scandir(root) if e.is_dir() and not e.name.startswith("."))
        if not classes:
            raise ValueError(f"FewShotSplit.from_folder: {root!r} has no class sub-folders (expected "
                             "root/<class name>/<images>).")
        bar = None
        if verbose_on(verbose, len(classes), AUTO_PROGRESS_MIN_FOLDERS):
            import keras

            bar = keras.utils.Progbar(len(classes), unit_name="class folder")
        paths, labels = [], []
        for i, name in enumerate(classes):
            folder = os.path.join(root, name)
            files = sorted(f for f in os.listdir(folder)
                           if not f.startswith(".") and f.lower().endswith(IMAGE_EXTENSIONS))
            if not files:
                raise ValueError(f"FewShotSplit.from_folder: class folder {folder!r} has no images "
                                 f"({', '.join(IMAGE_EXTENSIONS)}).")
            paths += [os.path.join(folder, f) for f in files]
            labels += [i] * len(files)
            if bar is not None:
                bar.update(i + 1)
        return cls(paths, np.asarray(labels, np.int32), classes, image_size, channels)

    @classmethod
    def from_dataset(cls, dataset, class_names=None, image_size=None, verbose="auto"):
        """Split materialised in memory from a finite `tf.data.Dataset` of ``(image, label)`` pairs.

        Also accepts dict elements with ``"image"`` and ``"label"`` keys (tfds with ``as_supervised=False``).

        Args:
            dataset: finite `tf.data.Dataset`; images [H, W] or [H, W, C], uint8 (or float in [0, 1]); integer
                labels.
            class_names: as the constructor.
            image_size: None (all images must have one size) or ``(height, width)`` to resize every image to.
            verbose: progress bar over the images: 0, 1 or "auto" (shown above 10,000 images or when the
                dataset's length is unknown).

        Raises:
            ValueError: infinite dataset, elements that are not (image, label) pairs, non-integer labels, images
                of different sizes without ``image_size``, an empty dataset.
        """
        import keras
        import tensorflow as tf

        size = check_image_size(image_size, "FewShotSplit.from_dataset")
        spec = dataset.element_spec
        if isinstance(spec, dict) and "image" in spec and "label" in spec:
            dataset = dataset.map(lambda d: (d["image"], d["label"]))
            spec = dataset.element_spec
        if not (isinstance(spec, tuple) and len(spec) == 2):
            raise ValueError("FewShotSplit.from_dataset: the dataset must yield (image, label) pairs (or dicts with "
                             f"'image' and 'label'); got elements {spec}.")
        if not (spec[1].dtype.is_integer and spec[1].shape.rank == 0):
            raise ValueError(f"FewShotSplit.from_dataset: labels must be integer scalars; got {spec[1]}.")
        count = int(dataset.cardinality())
        if count == tf.data.INFINITE_CARDINALITY:
            raise ValueError("FewShotSplit.from_dataset: the dataset is infinite (remove .repeat()).")
        integer = spec[0].dtype.is_integer

        def prep(image, label):
            if image.shape.rank == 2:
                image = image[..., None]
            if size is not None:
                image = resize(image, size, integer)
                image = tf.cast(image, tf.uint8) if integer else image
            return image, label

        dataset = dataset.map(prep, num_parallel_calls=tf.data.AUTOTUNE).batch(LOAD_BATCH)
        total = count if count >= 0 else None
        bar = keras.utils.Progbar(total, unit_name="image") if verbose_on(verbose, total, AUTO_PROGRESS_MIN_ITEMS) \
            else None
        xs, ys, done = [], [], 0
        try:
            for bx, by in dataset.as_numpy_iterator():
                xs.append(bx)
                ys.append(by)
                done += len(by)
                if bar is not None:
                    bar.update(done)
        except tf.errors.InvalidArgumentError as e:
            raise ValueError("FewShotSplit.from_dataset: cannot stack the images (different sizes?); pass "
                             f"image_size=(height, width) to resize them ({e.message.splitlines()[0]}).") from None
        if not xs:
            raise ValueError("FewShotSplit: empty split (0 images).")
        x = np.concatenate(xs)
        if np.issubdtype(x.dtype, np.floating) and x.size and x.max() > 1.0:
            raise ValueError("FewShotSplit.from_dataset: float images must be in [0, 1]; cast 0..255 images to uint8.")
        return cls(x, np.concatenate(ys), class_names)

    # ----------------------------------------------------------------------------------------------------------
    @property
    def num_classes(self):
        return len(self.class_names)

    @property
    def image_shape(self):
        """``(H, W, C)`` of the images the episodes carry (before an `episodes(image_size=...)` resize)."""
        return (*self.image_size, self.channels)

    def __len__(self):
        return len(self.labels)

    def class_counts(self):
        """Images per class: int64 array ``[num_classes]``, index = label (names in `class_names`)."""
        return np.bincount(self.labels, minlength=self.num_classes)

    def in_memory(self, verbose="auto"):
        """This split with its images decoded into a uint8 array (itself if already in memory).

        Decoding is exactly the lazy path's (same resize and channels), so the episodes are identical; the
        progress bar (0, 1 or "auto": above 10,000 images) counts decoded images.
        """
        if not self.lazy:
            return self
        import keras
        import tensorflow as tf

        decode = decode_fn(self.image_size, self.channels)
        ds = tf.data.Dataset.from_tensor_slices(list(self.images))
        ds = ds.map(decode, num_parallel_calls=tf.data.AUTOTUNE).batch(LOAD_BATCH)
        bar = keras.utils.Progbar(len(self), unit_name="image") \
            if verbose_on(verbose, len(self), AUTO_PROGRESS_MIN_ITEMS) else None
        xs = []
        for batch in ds.as_numpy_iterator():
            xs.append(batch.astype(np.uint8))
            if bar is not None:
                bar.update(sum(len(b) for b in xs))
        return FewShotSplit(np.concatenate(xs), self.labels, self.class_names)

    def __repr__(self):
        kind = "files" if self.lazy else f"{self.images.dtype} array"
        return (f"FewShotSplit({len(self)} images ({kind}) of shape {self.image_shape}, {self.num_classes} classes, "
                f"{int(self.class_counts().min())}..{int(self.class_counts().max())} per class)")
