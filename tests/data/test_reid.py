"""Re-ID loaders on fixture trees in each dataset's exact layout and naming (tests/data/reid_fixtures.py): counts,
train relabelling, 0-based cameras, junk dropped, distractors kept, every missing folder named, range checks,
`summary()`, and `ReIDSplits.validation()` carving held-out training identities."""

import os
import shutil

import numpy as np
import pytest

from tests.data import reid_fixtures as fx
from zoo.data.reid import REID_DATASETS, reid
from zoo.data.reid_splits import ReIDSplits


def names(paths):
    return [os.path.basename(p) for p in paths]


def test_market1501_rules_and_roots(tmp_path):
    base = fx.market(str(tmp_path))
    s = reid("market1501", str(tmp_path))                     # the parent of the release folder
    assert s.name == "market1501" and s.root == base
    paths, pids, cams = s.train
    assert names(paths) == sorted(fx.MARKET["bounding_box_train"])
    np.testing.assert_array_equal(pids, [0, 0, 1, 1, 1, 2])   # 0002, 0007, 0011 -> 0, 1, 2 (sorted order)
    np.testing.assert_array_equal(cams, [0, 1, 2, 5, 5, 0])   # c1, c2, c3, c6, c6, c1 -> 0-based
    assert pids.dtype == np.int64 and cams.dtype == np.int64 and paths.dtype.kind == "U"
    qp, qpid, qcam = s.query
    np.testing.assert_array_equal(qpid, [1, 1, 3])            # query keeps the original ids
    np.testing.assert_array_equal(qcam, [0, 1, 5])
    gp, gpid, gcam = s.gallery
    assert len(gp) == 5 and -1 not in gpid                     # two junk files dropped
    assert sorted(gpid.tolist()) == [0, 0, 1, 1, 3]            # distractors (pid 0) kept
    assert s.num_train_ids == 3 and s.num_cams == 6
    assert all(os.path.isfile(p) for p in np.concatenate([paths, qp, gp]))
    # the release folder itself, and torchreid's root/market1501/Market-1501-v15.09.15, give the same splits
    for root in (base, str(tmp_path / "tr")):
        if root != base:
            os.makedirs(tmp_path / "tr" / "market1501")
            shutil.copytree(base, tmp_path / "tr" / "market1501" / "Market-1501-v15.09.15")
        t = reid("market1501", root)
        assert names(t.gallery[0]) == names(gp)
        np.testing.assert_array_equal(t.train[1], pids)


def test_duke_msmt17_cuhk03_folder(tmp_path):
    root = str(tmp_path)
    fx.duke(root)
    d = reid("dukemtmcreid", root)
    np.testing.assert_array_equal(d.train[1], [0, 0, 1])
    np.testing.assert_array_equal(d.train[2], [1, 4, 7])
    assert 7140 in d.gallery[1] and d.num_cams == 8

    for version in (1, 2):
        sub = tmp_path / f"msmt{version}"
        base = fx.msmt17(str(sub), version)
        m = reid("msmt17", str(sub))
        assert m.root == base
        assert len(m.train[0]) == 3 and m.num_train_ids == 2
        np.testing.assert_array_equal(m.train[2], [0, 4, 14])   # third "_" field 01, 05, 15 -> 0-based
        assert os.path.isfile(m.train[0][0]) and os.path.isfile(m.gallery[0][1])
        np.testing.assert_array_equal(m.gallery[1], [0, 4])
        mv = reid("msmt17", str(sub), with_val=True)            # list_val joins train (torchreid's combineall)
        assert len(mv.train[0]) == 4 and mv.num_train_ids == 3

    fx.cuhk03_np(root)
    for variant in ("labeled", "detected"):
        c = reid(f"cuhk03_np_{variant}", root)
        assert c.root == os.path.join(root, "cuhk03-np", variant)
        assert (len(c.train[0]), len(c.query[0]), len(c.gallery[0])) == (4, 2, 3)
        assert c.num_cams == 2 and c.train[0][0].endswith(".png")
    alone = reid("cuhk03_np_detected", os.path.join(root, "cuhk03-np", "detected"))   # the variant folder itself
    assert alone.root == os.path.join(root, "cuhk03-np", "detected")

    tr = str(tmp_path / "torchreid")
    fx.cuhk03_torchreid(tr)
    t = reid("cuhk03_np_labeled", tr)                           # torchreid's extraction, re-rooted by file name
    assert all(os.path.isfile(p) for p in t.train[0]) and t.root == os.path.join(tr, "cuhk03")
    np.testing.assert_array_equal(t.train[2], [0, 1])
    np.testing.assert_array_equal(t.gallery[1], [2, 3])

    f = reid("folder", os.path.join(root, "DukeMTMC-reID"))
    np.testing.assert_array_equal(f.train[1], d.train[1])


def test_missing_folders_and_files_are_all_named(tmp_path):
    base = fx.market(str(tmp_path))
    shutil.rmtree(os.path.join(base, "query"))
    shutil.rmtree(os.path.join(base, "bounding_box_test"))
    with pytest.raises(FileNotFoundError) as e:
        reid("market1501", str(tmp_path))
    msg = str(e.value)
    assert os.path.join(base, "query") in msg and os.path.join(base, "bounding_box_test") in msg
    assert "bounding_box_train" not in msg.split("missing")[1].split("(also")[0]
    with pytest.raises(FileNotFoundError, match="DukeMTMC-reID/bounding_box_train.*DukeMTMC-reID/query"):
        reid("dukemtmcreid", str(tmp_path))
    sub = tmp_path / "m"
    base = fx.msmt17(str(sub), 2)
    os.remove(os.path.join(base, "list_query.txt"))
    os.remove(os.path.join(base, "list_val.txt"))
    with pytest.raises(FileNotFoundError, match="list_val.txt.*list_query.txt"):
        reid("msmt17", str(sub))
    with pytest.raises(FileNotFoundError, match="not a folder"):
        reid("market1501", str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="torchreid's extracted layout"):
        reid("cuhk03_np_labeled", str(tmp_path))


def test_range_and_name_checks(tmp_path):
    bad = dict(fx.MARKET, query=["0001_c7s1_001051_00.jpg"])   # Market has 6 cameras
    fx.market(str(tmp_path / "a"), names=bad)
    with pytest.raises(ValueError, match="camera 7 .*0001_c7s1_001051_00.jpg"):
        reid("market1501", str(tmp_path / "a"))
    bad = dict(fx.MARKET, query=["frame_0001.jpg"])
    fx.market(str(tmp_path / "b"), names=bad)
    with pytest.raises(ValueError, match="not named like a Market-1501 image"):
        reid("market1501", str(tmp_path / "b"))
    with pytest.raises(ValueError, match="`name` must be one of"):
        reid("market", str(tmp_path))
    assert set(REID_DATASETS) == {"market1501", "dukemtmcreid", "msmt17", "cuhk03_np_labeled", "cuhk03_np_detected",
                                  "folder"}


def test_summary_text(tmp_path):
    fx.market(str(tmp_path))
    s = reid("market1501", str(tmp_path))
    lines = s.summary().splitlines()
    assert lines[0].startswith("=> market1501 (")
    assert lines[2].split("|") == ["  subset   ", " # ids ", " # images ", " # cameras"]
    assert [line.split("|")[0].strip() for line in lines[4:7]] == ["train", "query", "gallery"]
    assert [int(x) for x in lines[4].split("|")[1:]] == [3, 6, 4]
    assert [int(x) for x in lines[6].split("|")[1:]] == [3, 5, 4]
    assert str(s) == repr(s) == s.summary()


def make_splits():
    # 12 train ids: id i has images in cameras 0..(i % 4) (id 0: one camera), 1..3 images per camera
    paths, pids, cams = [], [], []
    for i in range(12):
        for c in range(i % 4 + 1):
            for j in range(1 + (i + c) % 3):
                paths.append(f"/x/{i:04d}_c{c + 1}_{j}.jpg")
                pids.append(i)
                cams.append(c)
    q = (np.array(["/q/a.jpg"]), np.array([100]), np.array([0]))
    return ReIDSplits("toy", "/x", (np.array(paths), np.array(pids), np.array(cams)), q, q)


def test_validation_carves_held_out_training_ids():
    s = make_splits()
    v = s.validation(num_ids=6, seed=3)
    assert v.name == "toy/validation"
    held = np.unique(np.concatenate([v.query[1], v.gallery[1]]))
    assert len(held) == 6 and set(v.query[1].tolist()) <= set(held.tolist())
    tp = set(v.train[0])
    assert not tp & set(v.query[0]) and not tp & set(v.gallery[0]) and not set(v.query[0]) & set(v.gallery[0])
    assert len(tp) + len(v.query[0]) + len(v.gallery[0]) == len(s.train[0])
    np.testing.assert_array_equal(np.unique(v.train[1]), np.arange(6))          # relabelled 0..N'-1
    for pid, cam in zip(v.query[1], v.query[2]):
        assert ((v.gallery[1] == pid) & (v.gallery[2] != cam)).any()           # a cross-camera match exists
    for pid in held:                                                            # <= one query per camera
        qc = v.query[2][v.query[1] == pid]
        assert len(qc) == len(set(qc.tolist()))
    s_pids, s_cams = s.train[1], s.train[2]
    for pid in held:
        cams = np.unique(s_cams[s_pids == pid])
        nq = (v.query[1] == pid).sum()
        if len(cams) == 1:
            assert nq == 0                                                      # one camera: gallery only
        else:
            multi = sum((s_cams[s_pids == pid] == c).sum() >= 2 for c in cams)
            assert nq == max(multi, 1)
    w = s.validation(num_ids=6, seed=3)
    for a, b in zip(v.query + v.gallery + v.train, w.query + w.gallery + w.train):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(s.validation(num_ids=6, seed=4).query[0], v.query[0])
    np.testing.assert_array_equal(s.query[1], [100])                           # the real query is untouched
    with pytest.raises(ValueError, match="`num_ids`"):
        s.validation(num_ids=12)
    with pytest.raises(ValueError, match="`num_ids`"):
        s.validation(num_ids=0)
