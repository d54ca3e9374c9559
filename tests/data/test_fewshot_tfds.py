"""zoo.data.fewshot_tfds: Omniglot / CUB-200-2011 few-shot class splits from tfds, tested offline.

tfds is mocked (`tfds.testing.mock_data`): tfds' own random examples for Omniglot, and hand-made
examples (`as_dataset_fn`) where exact pixels and labels matter (tfds' random generator cannot emulate
caltech_birds2011 at all: its random bbox has min > max and fails tfds' own BBoxFeature check).
Nothing downloads; the not-prepared path runs on an empty data_dir.
"""

import time

import numpy as np
import pytest

from zoo.data import DatasetNotPreparedError, fewshot_cub, fewshot_omniglot
from zoo.data import fewshot_tfds as F

tfds = pytest.importorskip("tensorflow_datasets")
tf = pytest.importorskip("tensorflow")

S_OMNI = 28
S_CUB = 32
GREY = 0.2989 * 200 + 0.5870 * 100 + 0.1140 * 50  # luma of the RGB colour (200, 100, 50) = 124.18


# ---------------------------------------------------------------------------------------------- splits
def test_omniglot_alphabet_tables():
    assert len(F.OMNIGLOT_ALPHABETS) == 50 and list(F.OMNIGLOT_ALPHABETS) == sorted(F.OMNIGLOT_ALPHABETS)
    assert len(F.OMNIGLOT_BACKGROUND_ALPHABETS) == 30 and len(F.OMNIGLOT_EVALUATION_ALPHABETS) == 20
    v = F.OMNIGLOT_VINYALS
    assert len(v["val"]) == 5 and len(v["test"]) == 12 and not set(v["val"]) & set(v["test"])
    assert set(v["val"]) <= set(F.OMNIGLOT_BACKGROUND_ALPHABETS)  # Vinyals' val: background alphabets
    assert set(v["test"]) | {"Gurmukhi"} < set(F.OMNIGLOT_EVALUATION_ALPHABETS)
    assert sum(v["num_characters"].values()) == 1623


@pytest.mark.parametrize("alphabet, character, vinyals, lake", [
    ("Latin", 0, 0, 0), ("Hebrew", 21, 1, 0), ("Bengali", 45, 1, 0), ("Kannada", 0, 2, 2), ("ULOG", 25, 2, 2),
    ("Angelic", 3, 0, 2),             # an evaluation alphabet that Vinyals trains on
    ("Gurmukhi", 40, 0, 2),           # character41: train
    ("Gurmukhi", 41, 2, 2),           # character42..45: test
    ("Gurmukhi", 44, 2, 2),
])
def test_omniglot_split_of(alphabet, character, vinyals, lake):
    a = F.OMNIGLOT_ALPHABETS.index(alphabet)
    assert fewshot_omniglot._omniglot_split_of([a], [character], "vinyals").tolist() == [vinyals]
    assert fewshot_omniglot._omniglot_split_of([a], [character], "lake").tolist() == [lake]


def test_cub_closer_look_split():
    ids = F.cub_class_split()
    assert {k: len(v) for k, v in ids.items()} == {"train": 100, "val": 50, "test": 50}
    assert ids["train"][:4].tolist() == [0, 2, 4, 6] and ids["val"][:3].tolist() == [1, 5, 9]
    assert ids["test"][:3].tolist() == [3, 7, 11] and ids["test"][-1] == 199
    assert np.array_equal(np.sort(np.concatenate(list(ids.values()))), np.arange(200))  # disjoint cover


def test_cub_custom_split_and_errors():
    ids = F.cub_class_split({"train": [5, 0, 5], "test": [7]})
    assert set(ids) == {"train", "test"} and ids["train"].tolist() == [0, 5]
    with pytest.raises(ValueError, match="two splits"):
        F.cub_class_split({"train": [1, 2], "val": [3], "test": [2]})
    with pytest.raises(ValueError, match=r"\[0, 200\)"):
        F.cub_class_split({"train": [1], "test": [200]})
    with pytest.raises(ValueError, match="class_split"):
        F.cub_class_split("feat")
    with pytest.raises(ValueError, match="class_split"):
        F.cub_class_split({"train": [1]})


# -------------------------------------------------------------------------------- mocked tfds: Omniglot
def _quadrant():
    img = np.full((105, 105, 3), 255, np.uint8)
    img[:52, :52] = 0  # black top-left quadrant
    return img


def _omniglot_image(drawer):
    if drawer == 0:
        return np.broadcast_to(np.array([200, 100, 50], np.uint8), (105, 105, 3)).copy()
    if drawer == 1:
        img = np.full((105, 105, 3), 255, np.uint8)
        img[:, :52] = 0  # black left half
        return img
    return _quadrant()


#: (alphabet, 0-based character) of the hand-made Omniglot examples, 3 drawers each.
OMNI_CHARS = [("Latin", 0), ("Latin", 1), ("Angelic", 3), ("Gurmukhi", 40), ("Gurmukhi", 41), ("Hebrew", 0),
              ("Bengali", 45), ("Kannada", 5), ("ULOG", 2)]


def _omniglot_fake(self, split, **kw):
    def gen():
        for i, (alphabet, character) in enumerate(OMNI_CHARS):
            for drawer in range(3):
                yield {"image": _omniglot_image(drawer), "alphabet": F.OMNIGLOT_ALPHABETS.index(alphabet),
                       "alphabet_char_id": character, "label": i}
    sig = {"image": tf.TensorSpec((105, 105, 3), tf.uint8), "alphabet": tf.TensorSpec((), tf.int64),
           "alphabet_char_id": tf.TensorSpec((), tf.int64), "label": tf.TensorSpec((), tf.int64)}
    return tf.data.Dataset.from_generator(gen, output_signature=sig)


@pytest.fixture(scope="module")
def omni(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("tfds"))
    with tfds.testing.mock_data(as_dataset_fn=_omniglot_fake, data_dir=d):
        return {
            "vinyals": fewshot_omniglot._omniglot_arrays(data_dir=d, image_size=S_OMNI, verbose=0),
            "lake": fewshot_omniglot._omniglot_arrays(data_dir=d, image_size=S_OMNI, class_split="lake", verbose=0),
            "rot": fewshot_omniglot._omniglot_arrays(data_dir=d, image_size=S_OMNI, rotations=True, invert=False,
                                                     verbose=0),
        }


def test_omniglot_vinyals_classes(omni):
    out = omni["vinyals"]
    assert set(out) == {"train", "val", "test"}
    names = {s: v[2] for s, v in out.items()}
    assert names["train"] == ["Angelic/character04", "Gurmukhi/character41", "Latin/character01",
                              "Latin/character02"]
    assert names["val"] == ["Bengali/character46", "Hebrew/character01"]
    assert names["test"] == ["Gurmukhi/character42", "Kannada/character06", "ULOG/character03"]
    for x, y, n in out.values():
        assert x.shape == (3 * len(n), S_OMNI, S_OMNI, 1) and x.dtype == np.uint8
        assert y.dtype == np.int32 and np.array_equal(np.bincount(y), np.full(len(n), 3))  # 3 drawers each


def test_omniglot_lake_classes(omni):
    out = omni["lake"]
    assert set(out) == {"train", "test"}  # Lake's protocol has no validation alphabets
    assert out["train"][2] == ["Bengali/character46", "Hebrew/character01", "Latin/character01",
                               "Latin/character02"]
    assert {n.split("/")[0] for n in out["test"][2]} == {"Angelic", "Gurmukhi", "Kannada", "ULOG"}


def test_omniglot_grey_resize_invert(omni):
    x, y, names = omni["vinyals"]["train"]
    imgs = x[y == names.index("Latin/character01"), ..., 0]  # drawers 0, 1, 2 in order
    assert np.all(imgs[0] == 255 - round(GREY))  # RGB (200, 100, 50) -> luma 124 -> inverted 131
    # black left half -> bright after inversion; columns clear of the antialiasing footprint are exact
    assert np.all(imgs[1][:, :11] == 255) and np.all(imgs[1][:, 16:] == 0)
    assert np.all(np.diff(imgs[1].astype(int), axis=1) <= 0)  # monotone edge, no ringing


def test_omniglot_rotations(omni):
    out = omni["rot"]
    x, y, names = out["train"]
    assert len(names) == 4 * 4 and x.shape[0] == 4 * 4 * 3
    assert names[:4] == [f"Angelic/character04/rot{r:03d}" for r in (0, 90, 180, 270)]
    q = [x[y == names.index(f"Latin/character01/rot{r:03d}")][2, ..., 0] for r in (0, 90, 180, 270)]
    assert q[0][:8, :8].max() == 0 and q[0][-8:, -8:].min() == 255  # not inverted: black top-left
    assert q[1][-8:, :8].max() == 0 and q[1][:8, :8].min() == 255   # 90 deg counter-clockwise: bottom-left
    assert q[2][-8:, -8:].max() == 0 and q[3][:8, -8:].max() == 0   # 180: bottom-right, 270: top-right
    assert len(out["test"][2]) == 12 and len(out["val"][2]) == 8


def test_omniglot_tfds_random_mock(tmp_path):
    """tfds' own random Omniglot examples (random alphabets, character ids 0..255): disjoint splits."""
    with tfds.testing.mock_data(num_examples=150, data_dir=str(tmp_path)):
        out = fewshot_omniglot._omniglot_arrays(data_dir=str(tmp_path), image_size=20, verbose=0)
    total = 0
    for s, (x, y, names) in out.items():
        total += len(x)
        assert x.shape[1:] == (20, 20, 1) and x.dtype == np.uint8 and len(names) == y.max() + 1
        expected = fewshot_omniglot._omniglot_split_of([F.OMNIGLOT_ALPHABETS.index(n.split("/")[0]) for n in names],
                                        [int(n.split("character")[1]) - 1 for n in names], "vinyals")
        assert np.all(expected == ["train", "val", "test"].index(s))
    assert total == 150
    assert not (set(out["train"][2]) & set(out["val"][2]) or set(out["train"][2]) & set(out["test"][2])
                or set(out["val"][2]) & set(out["test"][2]))


# ------------------------------------------------------------------------------------- mocked tfds: CUB
BLUE, GREEN, RED = (0, 0, 255), (0, 255, 0), (255, 0, 0)

#: (label, H, W, bbox in pixels (x, y, w, h) as CUB's bounding_boxes.txt)
CUB_EXAMPLES = [
    (0, 100, 200, (40, 20, 100, 50)),    # landscape box, train
    (1, 300, 120, (10, 30, 80, 200)),    # portrait box, val
    (3, 64, 64, (0, 0, 64, 64)),         # the whole image, test
    (2, 50, 80, (30, 10, 0, 20)),        # zero-width box (-> 1 pixel column), train
    (6, 90, 90, (45, 45, 45, 45)),       # box touching the bottom-right border, train
    (7, 40, 60, (5, 5, 30, 20)),         # test
    (5, 40, 60, (5, 5, 30, 20)),         # val
]


def _cub_image(h, w, box):
    x, y, bw, bh = box
    img = np.zeros((h, w, 3), np.uint8)
    img[:] = BLUE
    img[y:y + bh, x:x + bw // 2] = GREEN  # left half of the box green, right half red
    img[y:y + bh, x + bw // 2:x + bw] = RED
    return img


def _cub_fake(self, split, **kw):
    def gen():
        for i, (label, h, w, (x, y, bw, bh)) in enumerate(CUB_EXAMPLES):
            yield {"image": _cub_image(h, w, (x, y, bw, bh)), "image/filename": f"{label}/{i}.jpg",
                   "label": label, "label_name": f"bird_{label}",
                   "bbox": np.array([y / h, x / w, (y + bh) / h, (x + bw) / w], np.float32),  # as tfds
                   "segmentation_mask": np.zeros((h, w, 1), np.uint8)}
    sig = {"image": tf.TensorSpec((None, None, 3), tf.uint8), "image/filename": tf.TensorSpec((), tf.string),
           "label": tf.TensorSpec((), tf.int64), "label_name": tf.TensorSpec((), tf.string),
           "bbox": tf.TensorSpec((4,), tf.float32), "segmentation_mask": tf.TensorSpec((None, None, 1), tf.uint8)}
    return tf.data.Dataset.from_generator(gen, output_signature=sig)


@pytest.fixture(scope="module")
def cub(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("tfds"))
    with tfds.testing.mock_data(as_dataset_fn=_cub_fake, data_dir=d):
        return {
            "crop": fewshot_cub._cub_arrays(data_dir=d, image_size=S_CUB, verbose=0),
            "full": fewshot_cub._cub_arrays(data_dir=d, image_size=S_CUB, crop_to_bbox=False, verbose=0),
            "custom": fewshot_cub._cub_arrays(data_dir=d, image_size=S_CUB, class_split={"train": [0, 1], "test": [3]},
                                    verbose=0),
        }


def _image(out, name):
    for x, y, names in out.values():
        if name in names:
            return x[y == names.index(name)][0].astype(int)
    raise KeyError(name)


def test_cub_class_split_and_shapes(cub):
    out = cub["crop"]
    assert {s: v[2] for s, v in out.items()} == {
        "train": ["001.bird_0", "003.bird_2", "007.bird_6"], "val": ["002.bird_1", "006.bird_5"],
        "test": ["004.bird_3", "008.bird_7"]}
    for x, y, names in out.values():
        assert x.shape == (len(names), S_CUB, S_CUB, 3) and x.dtype == np.uint8
        assert y.tolist() == list(range(len(names)))


@pytest.mark.parametrize("name", ["001.bird_0", "002.bird_1"])
def test_cub_bbox_crop(cub, name):
    img = _image(cub["crop"], name)
    assert img[..., 2].max() == 0  # nothing from outside the box (blue) survives the crop
    h = S_CUB // 2
    # the centre crop keeps the box's middle: green left of its midline, red right of it, exactly
    assert np.all(img[:, :h - 3] == GREEN) and np.all(img[:, h + 3:] == RED)
    full = _image(cub["full"], name)
    assert full[..., 2].max() == 255  # without the crop the blue surroundings are in the picture


def test_cub_whole_image_box_and_edge_boxes(cub):
    assert np.array_equal(_image(cub["crop"], "004.bird_3"), _image(cub["full"], "004.bird_3"))
    # a zero-width box still gives an image: the 1-pixel column x = 30, rows 10..29 (blue: nothing was
    # painted in an empty box)
    assert np.all(_image(cub["crop"], "003.bird_2") == BLUE)
    corner = _image(cub["crop"], "007.bird_6")
    assert np.all(corner[:, :S_CUB // 2 - 3] == GREEN) and np.all(corner[:, S_CUB // 2 + 3:] == RED)


def test_cub_custom_split(cub):
    out = cub["custom"]
    assert set(out) == {"train", "test"}
    assert out["train"][2] == ["001.bird_0", "002.bird_1"] and out["test"][2] == ["004.bird_3"]


# ------------------------------------------------------------------------------------ errors, public API
@pytest.mark.parametrize("fn", [F.omniglot, F.caltech_birds2011])
def test_not_prepared_fails_fast(fn, tmp_path):
    t0 = time.perf_counter()
    with pytest.raises(DatasetNotPreparedError) as info:
        fn(data_dir=str(tmp_path), verbose=0)
    assert time.perf_counter() - t0 < 10
    msg = str(info.value)
    assert fn.__name__ in msg and str(tmp_path) in msg and "download=True" in msg
    assert isinstance(info.value, FileNotFoundError)


@pytest.mark.parametrize("fn, kw, arg", [
    (F.omniglot, {"image_size": 0}, "image_size"), (F.omniglot, {"image_size": "28"}, "image_size"),
    (F.omniglot, {"image_size": True}, "image_size"), (F.omniglot, {"class_split": "closer_look"}, "class_split"),
    (F.omniglot, {"rotations": 1}, "rotations"), (F.caltech_birds2011, {"image_size": 84.0}, "image_size"),
    (F.caltech_birds2011, {"crop_to_bbox": "yes"}, "crop_to_bbox"),
    (F.caltech_birds2011, {"class_split": "vinyals"}, "class_split"),
])
def test_bad_arguments(fn, kw, arg, tmp_path):
    with pytest.raises(ValueError, match=f"`{arg}`"):
        fn(data_dir=str(tmp_path), verbose=0, **kw)


def test_public_functions_return_fewshot_splits(tmp_path, omni, cub):
    from zoo.data import FewShotSplit

    d = str(tmp_path)
    with tfds.testing.mock_data(as_dataset_fn=_omniglot_fake, data_dir=d):
        omniglot = F.omniglot(data_dir=d, image_size=S_OMNI, verbose=0)
    with tfds.testing.mock_data(as_dataset_fn=_cub_fake, data_dir=d):
        birds = F.caltech_birds2011(data_dir=d, image_size=S_CUB, verbose=0)
    for splits, arrays, shape in ((omniglot, omni["vinyals"], (S_OMNI, S_OMNI, 1)),
                                  (birds, cub["crop"], (S_CUB, S_CUB, 3))):
        assert set(splits) == set(arrays) == {"train", "val", "test"}
        for s, split in splits.items():
            x, y, names = arrays[s]
            assert isinstance(split, FewShotSplit) and split.num_classes == len(names)
            assert split.class_names == tuple(names) and split.image_shape == shape
            assert np.array_equal(split.images, x) and np.array_equal(split.labels, y)
            assert np.array_equal(split.class_counts(), np.bincount(y))
