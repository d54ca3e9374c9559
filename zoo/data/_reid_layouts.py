"""File layouts of the person re-identification datasets read by `zoo.data.reid` (pure Python/numpy, no TensorFlow).

Each reader returns three lists of ``(path, pid, cam)`` with the pid and the 1-based camera exactly as the files
name them (junk pid -1 still present); `zoo.data.reid` drops the junk, relabels train and makes cameras 0-based.

- Market-style folders (Market-1501, DukeMTMC-reID, CUHK03-NP as released by Zhong et al., any such "folder"):
  ``{bounding_box_train, query, bounding_box_test}/*.jpg|*.png`` with names ``<pid>_c<cam>...``
  (``0002_c1s1_000451_03.jpg``, ``-1_c3s2_000123_01.jpg``, ``0005_c2_f0046985.jpg``).
- MSMT17 V1/V2: list files ``list_{train,val,query,gallery}.txt`` of ``relative/path.jpg pid`` lines, images under
  ``train``/``test`` (V1) or ``mask_train_v2``/``mask_test_v2`` (V2); camera = third ``_`` field of the path.
- CUHK03 as torchreid extracts it: ``splits_new_{labeled,detected}.json`` (a list of splits, each with
  ``train``/``query``/``gallery`` lists of ``[path, pid, camid]``, cameras already 0-based) next to
  ``images_{labeled,detected}/``; paths are re-rooted there by file name.
"""

import json
import os
import re

__all__ = ["DATASETS", "IMAGE_SUFFIXES", "MARKET_FOLDERS", "MARKET_NAME", "find_root", "read_cuhk03_torchreid",
           "read_market", "read_msmt17"]

#: Market-style split folders, in (train, query, gallery) order.
MARKET_FOLDERS = ("bounding_box_train", "query", "bounding_box_test")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
#: ``<signed pid>_c<camera>`` at the start of a Market-style file name.
MARKET_NAME = re.compile(r"^(-?\d+)_c(\d+)")

#: name -> (folder names the dataset is shipped under, pid range, 1-based camera range); None: no bound.
DATASETS = {
    "market1501": (("Market-1501-v15.09.15", "market1501", "Market-1501"), (0, 1501), (1, 6)),
    "dukemtmcreid": (("DukeMTMC-reID", "dukemtmc-reid", "dukemtmcreid"), (0, None), (1, 8)),
    "msmt17": (("MSMT17_V2", "MSMT17_V1", "msmt17", "MSMT17"), (0, None), (1, 15)),
    "cuhk03_np_labeled": (("cuhk03-np", "cuhk03_np", "CUHK03-NP", "cuhk03"), (0, None), (1, 2)),
    "cuhk03_np_detected": (("cuhk03-np", "cuhk03_np", "CUHK03-NP", "cuhk03"), (0, None), (1, 2)),
    "folder": ((), (0, None), (1, None)),
}


def _candidates(root, names, sub=None):
    """Folders the dataset may be in: root itself, root/<name>, root/<name>/<name'> (a parent of the release)."""
    out = [root]
    for n in names:
        out.append(os.path.join(root, n))
        out.extend(os.path.join(root, n, m) for m in names if m != n)
    if sub:
        out = [p for c in out for p in (os.path.join(c, sub), c)]
    seen, uniq = set(), []
    for p in out:
        if p not in seen:
            seen.add(p)
            uniq.append(p)
    return uniq


def find_root(root, names, required, owner, sub=None):
    """The first candidate folder holding every path of `required` (relative paths; tuples are alternatives).

    Raises:
        FileNotFoundError: naming every missing folder/file of the closest candidate (the one with the most
            required items present; on a tie the first that exists, searched in the order root,
            root/<official name>, ...), and the other places that were looked at.
    """
    if not os.path.isdir(root):
        raise FileNotFoundError(f"{owner}: `root` {root!r} is not a folder (the datasets are only read, never "
                                "downloaded: point `root` at your copy or at the folder holding it).")
    best, best_missing, best_score = None, None, -1
    tried = []
    for cand in _candidates(root, names, sub):
        if not os.path.isdir(cand):
            continue
        tried.append(cand)
        missing = []
        for item in required:
            alts = item if isinstance(item, tuple) else (item,)
            if not any(os.path.exists(os.path.join(cand, a)) for a in alts):
                missing.append(" or ".join(os.path.join(cand, a) for a in alts))
        if not missing:
            return cand
        score = len(required) - len(missing)
        if score > best_score:
            best, best_missing, best_score = cand, missing, score
    if best_score == 0 and names:
        # Nothing of the dataset anywhere: name what is missing under the official release folder.
        best = os.path.join(root, names[0])
        best_missing = [" or ".join(os.path.join(best, a) for a in (i if isinstance(i, tuple) else (i,)))
                        for i in required]
    others = [t for t in tried if t != best]
    also = f" (also looked in: {', '.join(others)})" if others else ""
    raise FileNotFoundError(f"{owner}: the dataset is not complete under {best!r}; missing "
                            f"{len(best_missing)}: {'; '.join(best_missing)}{also}. The datasets are only read, "
                            "never downloaded.")


def _check_range(value, bounds, what, path, owner):
    lo, hi = bounds
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        allowed = f"{lo}..{hi if hi is not None else 'inf'}"
        raise ValueError(f"{owner}: {what} {value} of {path!r} is outside the range {allowed} of this dataset; "
                         "is this the right dataset name?")


def read_market(folder, pid_range, cam_range, owner):
    """``(path, pid, cam)`` of every image file of a Market-style split folder, sorted by file name."""
    out = []
    for name in sorted(os.listdir(folder)):
        if not name.lower().endswith(IMAGE_SUFFIXES):
            continue
        m = MARKET_NAME.match(name)
        path = os.path.join(folder, name)
        if m is None:
            raise ValueError(f"{owner}: {path!r} is not named like a Market-1501 image (<pid>_c<camera>..., e.g. "
                             "0002_c1s1_000451_03.jpg).")
        pid, cam = int(m.group(1)), int(m.group(2))
        if pid != -1:
            _check_range(pid, pid_range, "person id", path, owner)
        _check_range(cam, cam_range, "camera", path, owner)
        out.append((path, pid, cam))
    if not out:
        raise ValueError(f"{owner}: no .jpg/.png images in {folder!r}.")
    return out


def read_msmt17(folder, cam_range, owner, with_val=False):
    """Train (list_train [+ list_val]), query and gallery of an MSMT17_V1 or MSMT17_V2 folder."""
    v2 = os.path.isdir(os.path.join(folder, "mask_train_v2"))
    train_dir, test_dir = ("mask_train_v2", "mask_test_v2") if v2 else ("train", "test")

    def read(list_name, image_dir):
        path = os.path.join(folder, list_name)
        out = []
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                line = line.strip()
                if not line:
                    continue
                parts = line.split()
                if len(parts) != 2 or not re.fullmatch(r"-?\d+", parts[1]):
                    raise ValueError(f"{owner}: line {n} of {path!r} is not 'relative/path.jpg pid': {line!r}.")
                rel, pid = parts[0], int(parts[1])
                fields = rel.split("_")
                if len(fields) < 3 or not fields[2].isdigit():
                    raise ValueError(f"{owner}: line {n} of {path!r}: cannot read the camera (third '_' field) of "
                                     f"{rel!r}.")
                cam = int(fields[2])
                img = os.path.join(folder, image_dir, rel)
                _check_range(cam, cam_range, "camera", img, owner)
                _check_range(pid, (0, None), "person id", img, owner)
                out.append((img, pid, cam))
        return out

    train = read("list_train.txt", train_dir)
    if with_val:
        train += read("list_val.txt", train_dir)
    return train, read("list_query.txt", test_dir), read("list_gallery.txt", test_dir)


def read_cuhk03_torchreid(folder, variant, owner, split_id=0):
    """Train/query/gallery of torchreid's extracted CUHK03 new-protocol split (cameras returned 1-based)."""
    path = os.path.join(folder, f"splits_new_{variant}.json")
    with open(path, encoding="utf-8") as f:
        splits = json.load(f)
    if not isinstance(splits, list) or not splits or not all(k in splits[0] for k in ("train", "query", "gallery")):
        raise ValueError(f"{owner}: {path!r} is not torchreid's split file (a list of dicts with train/query/gallery).")
    if not 0 <= split_id < len(splits):
        raise ValueError(f"{owner}: `split_id` must be in [0, {len(splits) - 1}] for {path!r}; got {split_id}.")
    image_dir = os.path.join(folder, f"images_{variant}")
    out = []
    for key in ("train", "query", "gallery"):
        items = []
        for img, pid, cam in splits[split_id][key]:
            local = img if os.path.isabs(img) and os.path.exists(img) else os.path.join(image_dir,
                                                                                         os.path.basename(img))
            items.append((local, int(pid), int(cam) + 1))
        out.append(items)
    return tuple(out)
