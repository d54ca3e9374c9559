"""Tiny re-ID dataset trees in each dataset's exact folder layout and file naming (8 × 4 images), for the tests.

Every builder returns the release folder it wrote and the expected counts. Image bytes are encoded once
(TensorFlow) and copied, except `indexed_pngs`, whose pixels encode the file's index.
"""

import json
import os

import numpy as np

_BYTES = {}


def image_bytes(kind="jpg", value=128):
    import tensorflow as tf

    if (kind, value) not in _BYTES:
        img = tf.fill([8, 4, 3], tf.constant(value, tf.uint8))
        _BYTES[kind, value] = (tf.io.encode_jpeg(img) if kind == "jpg" else tf.io.encode_png(img)).numpy()
    return _BYTES[kind, value]


def _write(folder, names, kind="jpg"):
    os.makedirs(folder, exist_ok=True)
    for n in names:
        with open(os.path.join(folder, n), "wb") as f:
            f.write(image_bytes(kind))


# Market-1501 naming: <pid 4 digits>_c<cam>s<seq>_<frame 6 digits>_<box 2 digits>.jpg ; junk "-1_c..."
MARKET = {
    "bounding_box_train": ["0002_c1s1_000451_03.jpg", "0002_c2s1_000301_01.jpg", "0007_c3s3_077419_03.jpg",
                           "0007_c6s1_012345_01.jpg", "0007_c6s1_012346_01.jpg", "0011_c1s1_001051_02.jpg"],
    "query": ["0001_c1s1_001051_00.jpg", "0001_c2s1_000301_00.jpg", "0003_c6s2_004011_00.jpg"],
    "bounding_box_test": ["0001_c1s1_002301_01.jpg", "0001_c5s1_000426_02.jpg", "0003_c4s1_000151_01.jpg",
                          "0000_c1s1_000151_01.jpg", "0000_c6s4_002452_06.jpg", "-1_c1s1_000401_03.jpg",
                          "-1_c3s2_000123_01.jpg"],
}


def market(root, release="Market-1501-v15.09.15", names=MARKET, kind="jpg"):
    base = os.path.join(root, release)
    for folder, files in names.items():
        _write(os.path.join(base, folder), files, kind)
    with open(os.path.join(base, "readme.txt"), "w") as f:   # stray non-image files are ignored
        f.write("Market-1501\n")
    return base


# DukeMTMC-reID naming: <pid>_c<cam>_f<frame 7 digits>.jpg, cams 1..8
DUKE = {
    "bounding_box_train": ["0005_c2_f0046985.jpg", "0005_c5_f0051781.jpg", "0008_c8_f0001234.jpg"],
    "query": ["0019_c1_f0057434.jpg", "0019_c7_f0101010.jpg"],
    "bounding_box_test": ["0019_c2_f0046985.jpg", "0019_c7_f0101011.jpg", "7140_c3_f0000001.jpg",
                          "0034_c8_f0222222.jpg"],
}


def duke(root):
    return market(root, "DukeMTMC-reID", DUKE)


def msmt17(root, version=2):
    """MSMT17_V1 / MSMT17_V2: list files of ``<pid folder>/<pid>_<seq>_<cam 2 digits>_<date><time>_<n>_<m>.jpg pid``."""
    base = os.path.join(root, f"MSMT17_V{version}")
    train_dir, test_dir = ("mask_train_v2", "mask_test_v2") if version == 2 else ("train", "test")
    lists = {
        "list_train.txt": (train_dir, [("0000/0000_000_01_0303morning_0015_0.jpg", 0),
                                       ("0000/0000_001_05_0303morning_0016_0.jpg", 0),
                                       ("0001/0001_000_15_0303noon_0200_1.jpg", 1)]),
        "list_val.txt": (train_dir, [("0002/0002_000_03_0303afternoon_0300_0.jpg", 2)]),
        "list_query.txt": (test_dir, [("0000/0000_000_02_0113morning_0015_0.jpg", 0)]),
        "list_gallery.txt": (test_dir, [("0000/0000_003_09_0113morning_0016_0.jpg", 0),
                                        ("0004/0004_000_11_0113noon_0001_0.jpg", 4)]),
    }
    for list_name, (image_dir, rows) in lists.items():
        os.makedirs(base, exist_ok=True)
        with open(os.path.join(base, list_name), "w") as f:
            f.writelines(f"{rel} {pid}\n" for rel, pid in rows)
        for rel, _ in rows:
            _write(os.path.join(base, image_dir, os.path.dirname(rel)), [os.path.basename(rel)])
    return base


# CUHK03-NP (Zhong et al.): cuhk03-np/{labeled,detected}/{bounding_box_train,query,bounding_box_test}/*.png,
# Market-style names with two cameras.
CUHK03_NP = {
    "bounding_box_train": ["0001_c1_1.png", "0001_c2_6.png", "0003_c1_2.png", "0003_c2_7.png"],
    "query": ["0002_c1_1.png", "0002_c2_6.png"],
    "bounding_box_test": ["0002_c1_2.png", "0002_c2_7.png", "0004_c2_8.png"],
}


def cuhk03_np(root, variants=("labeled", "detected")):
    base = os.path.join(root, "cuhk03-np")
    for v in variants:
        for folder, files in CUHK03_NP.items():
            _write(os.path.join(base, v, folder), files, "png")
    return base


def cuhk03_torchreid(root, variant="labeled"):
    """torchreid's extraction: cuhk03/images_<variant>/<pair>_<pid 3>_<view>_<img 2>.png + splits_new_<variant>.json
    whose paths were absolute on another machine."""
    base = os.path.join(root, "cuhk03")
    names = ["1_001_1_01.png", "1_001_2_06.png", "1_002_1_01.png", "1_002_2_07.png", "1_003_2_08.png"]
    _write(os.path.join(base, f"images_{variant}"), names, "png")
    far = "/elsewhere/reid-data/cuhk03/images_" + variant
    split = {"train": [[f"{far}/{names[0]}", 0, 0], [f"{far}/{names[1]}", 0, 1]],
             "query": [[f"{far}/{names[2]}", 2, 0]],
             "gallery": [[f"{far}/{names[3]}", 2, 1], [f"{far}/{names[4]}", 3, 1]],
             "num_train_pids": 1, "num_query_pids": 1, "num_gallery_pids": 2}
    with open(os.path.join(base, f"splits_new_{variant}.json"), "w") as f:
        json.dump([split], f)
    return base


def indexed_pngs(folder, n, size=(8, 4)):
    """`n` PNG files whose every pixel is (i % 256, i // 256, 7): the pipeline tests read the index back."""
    import tensorflow as tf

    os.makedirs(folder, exist_ok=True)
    paths = []
    for i in range(n):
        img = np.zeros([size[0], size[1], 3], np.uint8)
        img[..., 0], img[..., 1], img[..., 2] = i % 256, i // 256, 7
        path = os.path.join(folder, f"{i:05d}.png")
        with open(path, "wb") as f:
            f.write(tf.io.encode_png(img).numpy())
        paths.append(path)
    return np.array(paths)
