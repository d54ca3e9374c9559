"""`synthetic_reid`: exact Market-1501 layout and naming, loads with `zoo.data.reid("market1501")`, reused without
rewriting, rebuilt identically (deterministic), never replaces a folder it did not write."""

import json
import os
import re

import numpy as np
import pytest

from zoo.data.reid import reid
from zoo.data.synthetic_reid import synthetic_reid

TINY = dict(num_train_ids=8, num_test_ids=4, num_cams=3, images_per_cam=2, num_distractors=3, num_junk=2)
NAME = re.compile(r"^(\d{4}|-1)_c([1-3])s1_(\d{6})_(\d{2})\.jpg$")


def files(folder):
    return {sub: sorted(os.listdir(os.path.join(folder, sub)))
            for sub in ("bounding_box_train", "query", "bounding_box_test")}


def test_layout_naming_and_loading(tmp_path):
    folder = synthetic_reid(str(tmp_path), **TINY)
    assert folder == os.path.join(str(tmp_path), "Market-1501-v15.09.15")
    listing = files(folder)
    for names in listing.values():
        assert names and all(NAME.match(n) for n in names)
    assert len(listing["bounding_box_train"]) == 8 * 3 * 2
    assert len(listing["query"]) == 4 * 3                                   # one query per identity per camera
    assert len(listing["bounding_box_test"]) == 4 * 3 * 1 + 3 + 2
    assert sum(n.startswith("0000_") for n in listing["bounding_box_test"]) == 3
    assert sum(n.startswith("-1_") for n in listing["bounding_box_test"]) == 2
    with open(os.path.join(folder, "synthetic_reid.json")) as f:
        record = json.load(f)
    assert record["params"]["num_train_ids"] == 8 and "SYNTHETIC" in record["note"]
    s = reid("market1501", str(tmp_path))
    assert s.num_train_ids == 8 and s.num_cams == 3
    assert len(s.query[0]) == 12 and len(s.gallery[0]) == 15                 # junk dropped, distractors kept
    assert not set(s.query[1]) & set(s.train[1] + 1)                        # test ids 0009..0012, disjoint
    np.testing.assert_array_equal(np.unique(s.query[1]), [9, 10, 11, 12])
    for pid, cam in zip(s.query[1], s.query[2]):                              # every query has a cross-camera match
        assert ((s.gallery[1] == pid) & (s.gallery[2] != cam)).any()
    import tensorflow as tf

    img = tf.io.decode_jpeg(tf.io.read_file(s.train[0][0])).numpy()
    assert img.shape == (64, 32, 3) and img.std() > 10


def test_reuse_rebuild_determinism_and_safety(tmp_path):
    a = synthetic_reid(str(tmp_path / "a"), **TINY)
    stamp = os.stat(os.path.join(a, "query")).st_ino, os.path.getmtime(os.path.join(a, "synthetic_reid.json"))
    assert synthetic_reid(str(tmp_path / "a"), **TINY) == a                 # reused, nothing rewritten
    assert (os.stat(os.path.join(a, "query")).st_ino,
            os.path.getmtime(os.path.join(a, "synthetic_reid.json"))) == stamp
    b = synthetic_reid(str(tmp_path / "b"), **TINY)
    some = files(a)["query"][:3] + files(a)["bounding_box_test"][-2:]
    for sub, name in [("query", n) for n in some[:3]] + [("bounding_box_test", n) for n in some[3:]]:
        with open(os.path.join(a, sub, name), "rb") as fa, open(os.path.join(b, sub, name), "rb") as fb:
            assert fa.read() == fb.read()                                   # same seed, same bytes
    with pytest.raises(ValueError, match="other parameters"):
        synthetic_reid(str(tmp_path / "a"), **dict(TINY, seed=1))
    c = synthetic_reid(str(tmp_path / "a"), overwrite=True, **dict(TINY, seed=1))
    name = files(c)["query"][0]
    with open(os.path.join(c, "query", name), "rb") as fc, open(os.path.join(b, "query", name), "rb") as fb:
        assert fc.read() != fb.read()                                       # another seed, other images
    assert not [n for n in os.listdir(tmp_path / "a") if n.startswith(".")]  # no temp folder left behind
    foreign = tmp_path / "real" / "Market-1501-v15.09.15"
    os.makedirs(foreign / "query")
    with pytest.raises(ValueError, match="not written by synthetic_reid"):
        synthetic_reid(str(tmp_path / "real"), overwrite=True, **TINY)
    assert os.path.isdir(foreign / "query")
    with pytest.raises(ValueError, match="`num_cams`"):
        synthetic_reid(str(tmp_path / "x"), num_cams=7)
    with pytest.raises(ValueError, match="`images_per_cam`"):
        synthetic_reid(str(tmp_path / "x"), images_per_cam=1)
