"""`synthetic_reid`: a small SYNTHETIC multi-camera re-ID set made from real Fashion-MNIST images, written to disk in
the exact Market-1501 layout and file naming, so the whole re-ID stack (loader, identity batches, training,
evaluation protocol) can run offline. Its numbers only show that the pipeline learns; they say nothing about
person re-identification. TensorFlow is imported lazily (resizing and JPEG encoding).
"""

import json
import os
import shutil

import numpy as np

from zoo._checks import check_bool, check_int
from zoo._io import atomic_write_text
from zoo.data._checks import check_seed
from zoo.data._images import check_image_size

__all__ = ["SYNTHETIC_REID_VERSION", "synthetic_reid"]

#: Bumped whenever the rendering changes: a folder written by another version is rebuilt only with overwrite=True.
SYNTHETIC_REID_VERSION = 1
_RELEASE = "Market-1501-v15.09.15"
_PARAMS_FILE = "synthetic_reid.json"


def _cameras(num_cams, rng):
    """Fixed, distinct per-camera photometric + geometric transforms."""
    hues = (np.arange(num_cams) / num_cams + rng.uniform(0, 1)) % 1.0
    cams = []
    for c in range(num_cams):
        hue = hues[c]
        cast = 0.55 + 0.45 * np.clip(np.abs(((hue * 6 + np.array([0.0, 4.0, 2.0])) % 6) - 3) - 1, 0, 1)
        cams.append({
            "cast": cast,                                            # colour cast (RGB gains)
            "background": rng.uniform(20, 200, size=3),              # background colour
            "gradient": rng.uniform(-40, 40, size=3),                # vertical background gradient
            "brightness": rng.uniform(-0.15, 0.15),
            "contrast": rng.uniform(0.7, 1.2),
            "blur": float([0.0, 0.6, 1.0, 0.3, 1.3, 0.8][c % 6]),    # Gaussian blur sigma (pixels at output size)
            "scale": rng.uniform(0.7, 0.95),                         # garment size relative to the frame
            "shift": rng.uniform(-0.08, 0.08, size=2),               # garment offset (fractions of H, W)
        })
    return cams


def _render(garments, cam, image_size, rng):
    """Render garments [n, 28, 28] uint8 through one camera: uint8 [n, H, W, 3] with per-shot jitter and noise."""
    import tensorflow as tf
    from scipy.ndimage import gaussian_filter

    h, w = image_size
    n = len(garments)
    gh, gw = max(2, int(round(h * cam["scale"]))), max(2, int(round(w * cam["scale"] * 0.9)))
    g = tf.image.resize(garments[..., None].astype(np.float32) / 255.0, (gh, gw), antialias=True).numpy()[..., 0]
    flips = rng.uniform(size=n) < 0.5
    g[flips] = g[flips, :, ::-1]
    rows = np.linspace(0.0, 1.0, h)[None, :, None, None]
    canvas = np.broadcast_to(cam["background"] + rows * cam["gradient"], (n, h, w, 3)).copy()
    mask = np.zeros((n, h, w), np.float32)
    fg = np.zeros((n, h, w), np.float32)
    top0 = (h - gh) / 2 + cam["shift"][0] * h
    left0 = (w - gw) / 2 + cam["shift"][1] * w
    jitter = rng.integers(-2, 3, size=(n, 2))
    for i in range(n):
        top = int(np.clip(round(top0) + jitter[i, 0], 0, h - gh))
        left = int(np.clip(round(left0) + jitter[i, 1], 0, w - gw))
        mask[i, top:top + gh, left:left + gw] = np.clip(g[i] * 2.5, 0, 1)
        fg[i, top:top + gh, left:left + gw] = g[i]
    bright = cam["brightness"] + rng.normal(0, 0.05, size=(n, 1, 1))
    contrast = cam["contrast"] * rng.uniform(0.9, 1.1, size=(n, 1, 1))
    tone = np.clip(contrast * (fg - 0.5) + 0.5 + bright, 0, 1)
    colour = tone[..., None] * cam["cast"] * 255.0
    out = canvas * (1 - mask[..., None]) + colour * mask[..., None]
    if cam["blur"] > 0:
        out = gaussian_filter(out, sigma=(0, cam["blur"], cam["blur"], 0))
    out = out + rng.normal(0, 6.0, size=out.shape)
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


def _write(folder, names, images):
    import tensorflow as tf

    for name, img in zip(names, images):
        with open(os.path.join(folder, name), "wb") as f:
            f.write(tf.io.encode_jpeg(img, quality=95).numpy())


def synthetic_reid(root, num_train_ids=200, num_test_ids=100, num_cams=5, images_per_cam=4, image_size=(64, 32),
                   seed=0, num_distractors=100, num_junk=50, overwrite=False, verbose=False):
    """Write (or reuse) a SYNTHETIC multi-camera re-ID set in the Market-1501 layout; return its folder.

    Clearly synthetic: an "identity" is one real Fashion-MNIST image (train identities from its train split,
    query/gallery identities from its test split, so they are disjoint); a "camera" is a fixed, distinct
    transform (colour cast, background colour and gradient, brightness/contrast, blur, garment scale and
    position); every shot adds random jitter (±2 px shift, horizontal flip, brightness/contrast) and Gaussian
    noise (σ = 6). Recognising an identity across cameras needs the garment's shape and texture, not its colour.
    The numbers a model reaches on it only show that the pipeline learns.

    Layout (exactly Market-1501's): ``<root>/Market-1501-v15.09.15/{bounding_box_train, query,
    bounding_box_test}/<pid 4 digits>_c<cam>s1_<frame 6 digits>_<box 2 digits>.jpg``; train ids are 0001..N,
    test ids follow. Every train identity has ``images_per_cam`` shots in each camera; every test identity has
    one query per camera (its first shot there, as Market takes one query per identity per camera) and the
    other shots in the gallery; the gallery also holds ``num_distractors`` distractors (pid ``0000``: unused
    test-split images through a random camera) and ``num_junk`` junk files (pid ``-1``: partial, cut-off
    renderings), which `zoo.data.reid` keeps / drops like Market's. A ``synthetic_reid.json`` of the
    parameters sits in the folder. Defaults: 200 train + 100 test ids × 5 cameras × 4 shots (4,000 train
    and 500 query images, 1,650 gallery files = 1,500 + 100 distractors + 50 junk, at 64 × 32), written in
    about 7 s on 2 busy CPU cores, enough for a few-minute CPU training run (scale the pipeline's ``pad`` to the
    image: ~3 px at 64 × 32); tests use e.g. 8 + 4 ids × 3 cameras × 2 shots.

    Args:
        root: parent folder; the set is written to ``root/Market-1501-v15.09.15``.
        num_train_ids, num_test_ids: identities (>= 1 each; at most 1,501 together, Market's pid range).
        num_cams: cameras, 2..6 (Market's range).
        images_per_cam: shots per identity per camera, >= 2 (one becomes a query for test identities).
        image_size: (H, W) of the written images.
        seed: int seed of every draw (camera transforms, identities, jitter): same seed, same files.
        num_distractors, num_junk: extra gallery files with pid 0000 and -1 (>= 0).
        overwrite: rebuild even when a set with the same parameters exists (only a folder this function wrote
            is ever replaced).
        verbose: print what happens.

    Returns:
        str: the dataset folder, loadable with ``zoo.data.reid("market1501", folder)``.

    Raises:
        ValueError: out-of-range arguments; an existing set with other parameters and ``overwrite=False``; an
            existing ``Market-1501-v15.09.15`` folder this function did not write (never replaced).

    Example:
        >>> folder = zoo.data.synthetic_reid("/tmp/reid")
        >>> splits = zoo.data.reid("market1501", folder)

    Reference:
        Xiao, Rasul, Vollgraf, "Fashion-MNIST", 2017 (the images); Zheng et al., ICCV 2015 (Market-1501 layout).
    """
    owner = "synthetic_reid"
    params = {
        "num_train_ids": check_int(num_train_ids, "num_train_ids", minimum=1, owner=owner),
        "num_test_ids": check_int(num_test_ids, "num_test_ids", minimum=1, owner=owner),
        "num_cams": check_int(num_cams, "num_cams", minimum=2, maximum=6, owner=owner),
        "images_per_cam": check_int(images_per_cam, "images_per_cam", minimum=2, owner=owner),
        "image_size": list(check_image_size(image_size, owner)),
        "seed": check_seed(seed, owner),
        "num_distractors": check_int(num_distractors, "num_distractors", minimum=0, owner=owner),
        "num_junk": check_int(num_junk, "num_junk", minimum=0, owner=owner),
    }
    overwrite = check_bool(overwrite, "overwrite", owner=owner)
    if params["num_train_ids"] + params["num_test_ids"] > 1501:
        raise ValueError(f"{owner}: num_train_ids + num_test_ids must be <= 1501 (Market-1501's pid range); got "
                         f"{params['num_train_ids'] + params['num_test_ids']}.")
    if params["num_test_ids"] + params["num_distractors"] + params["num_junk"] > 10000:
        raise ValueError(f"{owner}: num_test_ids + num_distractors + num_junk must be <= 10000 (Fashion-MNIST's "
                         "test split).")
    if min(params["image_size"]) < 8:
        raise ValueError(f"{owner}: `image_size` must be at least 8 x 8; got {tuple(params['image_size'])}.")
    record = {"generator": "zoo.data.synthetic_reid", "version": SYNTHETIC_REID_VERSION, "params": params}
    root = os.path.abspath(os.path.expanduser(os.fspath(root)))
    final = os.path.join(root, _RELEASE)
    if os.path.exists(final):
        try:
            with open(os.path.join(final, _PARAMS_FILE), encoding="utf-8") as f:
                existing = json.load(f)
        except (OSError, ValueError):
            raise ValueError(f"{owner}: {final!r} exists and was not written by synthetic_reid (no readable "
                             f"{_PARAMS_FILE}); it is never replaced. Choose another `root`.") from None
        same = {k: existing.get(k) for k in ("generator", "version", "params")} == record
        if same and not overwrite:
            if verbose:
                print(f"{owner}: reusing {final}")
            return final
        if not same and not overwrite:
            raise ValueError(f"{owner}: {final!r} holds a synthetic set with other parameters "
                             f"({existing.get('params')}); pass overwrite=True to rebuild it or choose another "
                             "`root`.")
    from zoo.data.fashion_mnist import fashion_mnist

    (x_train, _), (x_test, _) = fashion_mnist()
    rng = np.random.default_rng(params["seed"])
    h, w = params["image_size"]
    n_cam, shots = params["num_cams"], params["images_per_cam"]
    cams = _cameras(n_cam, rng)
    train_src = rng.choice(len(x_train), size=params["num_train_ids"], replace=False)
    test_perm = rng.permutation(len(x_test))
    n_te = params["num_test_ids"]
    test_src = test_perm[:n_te]
    extra_src = test_perm[n_te:n_te + params["num_distractors"] + params["num_junk"]]
    os.makedirs(root, exist_ok=True)
    tmp = os.path.join(root, f".tmp-{os.getpid()}-{_RELEASE}")
    shutil.rmtree(tmp, ignore_errors=True)
    folders = {k: os.path.join(tmp, k) for k in ("bounding_box_train", "query", "bounding_box_test")}
    for f in folders.values():
        os.makedirs(f)
    frame = [0] * n_cam
    counts = {"train": 0, "query": 0, "gallery": 0, "distractors": 0, "junk": 0}

    def names(pid_text, c, n):
        out = []
        for j in range(n):
            frame[c] += 1
            out.append(f"{pid_text}_c{c + 1}s1_{frame[c]:06d}_{j + 1:02d}.jpg")
        return out

    try:
        for c, cam in enumerate(cams):
            # train: every identity, `shots` shots per camera
            imgs = _render(np.repeat(x_train[train_src], shots, axis=0), cam, (h, w), rng)
            files = [n for i in range(len(train_src)) for n in names(f"{i + 1:04d}", c, shots)]
            _write(folders["bounding_box_train"], files, imgs)
            counts["train"] += len(files)
            # test: first shot per camera -> query, the rest -> gallery
            imgs = _render(np.repeat(x_test[test_src], shots, axis=0), cam, (h, w), rng).reshape(n_te, shots, h, w, 3)
            for i in range(n_te):
                files = names(f"{params['num_train_ids'] + i + 1:04d}", c, shots)
                _write(folders["query"], files[:1], imgs[i, :1])
                _write(folders["bounding_box_test"], files[1:], imgs[i, 1:])
            counts["query"] += n_te
            counts["gallery"] += n_te * (shots - 1)
        n_dis = params["num_distractors"]
        extra_cams = rng.integers(0, n_cam, size=len(extra_src))
        for j, (src, c) in enumerate(zip(extra_src, extra_cams)):
            img = _render(x_test[src][None], cams[c], (h, w), rng)
            if j < n_dis:
                _write(folders["bounding_box_test"], names("0000", c, 1), img)
                counts["distractors"] += 1
            else:   # junk: a cut-off detection (the top or bottom part of the frame replaced by background)
                cut = int(rng.integers(h // 4, 3 * h // 4))
                img = img.copy()
                img[0, cut:] = np.clip(cams[c]["background"], 0, 255).astype(np.uint8)
                _write(folders["bounding_box_test"], names("-1", c, 1), img)
                counts["junk"] += 1
        record["counts"] = counts
        record["note"] = ("SYNTHETIC re-ID set (Fashion-MNIST identities through fixed camera transforms); its "
                          "metrics only show that a pipeline learns.")
        atomic_write_text(os.path.join(tmp, _PARAMS_FILE), json.dumps(record, indent=1, sort_keys=True))
        if os.path.exists(final):
            old = os.path.join(root, f".old-{os.getpid()}-{_RELEASE}")
            os.replace(final, old)
            os.replace(tmp, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if verbose:
        print(f"{owner}: wrote {final} ({counts})")
    return final
