"""Few-shot split registry: the Fashion-MNIST class split (real files), the MiniImageNet layout (images/ +
train/val/test.csv written as in Ravi & Larochelle's split files), the folder layout, the tfds dispatch, and the
errors for missing images, bad split files, shared classes and unknown names."""

import os

import numpy as np
import pytest
import tensorflow as tf

import zoo.data
from zoo.data.fashion_mnist import DEBIAN_DIR

# MiniImageNet-like fixture: wnid-style class names and file names "<wnid><8-digit index>.jpg".
MINI = {"train": ["n01532829", "n01558993", "n01704323"], "val": ["n01855672", "n02091244"],
        "test": ["n01930112", "n01981276"]}
PER_CLASS = 5


def class_color(name):
    """A distinct constant RGB colour per class (so decoded pixels reveal the class)."""
    k = sum(MINI.values(), []).index(name)
    return np.array([30 * k + 20, 250 - 30 * k, 120], np.uint8)


def write_mini(root, gray_first=False):
    images = root / "images"
    images.mkdir(parents=True)
    for split, classes in MINI.items():
        lines = ["filename,label"]
        for c in classes:
            for i in range(PER_CLASS):
                name = f"{c}{i + 1:08d}.jpg"
                im = np.tile(class_color(c), (10, 12, 1))
                if gray_first and split == "train" and c == classes[0] and i == 0:
                    im = np.full((10, 12, 1), 128, np.uint8)          # a grayscale JPEG, as ImageNet has some
                tf.io.write_file(str(images / name), tf.io.encode_jpeg(im, quality=100))
                lines.append(f"{name},{c}")
        (root / f"{split}.csv").write_text("\n".join(lines) + "\n")
    return root


def test_mini_imagenet_layout(tmp_path):
    root = write_mini(tmp_path / "mini", gray_first=True)
    splits = zoo.data.fewshot_splits("mini_imagenet", root=root, image_size=8)
    assert set(splits) == {"train", "val", "test"}
    for split, classes in MINI.items():
        s = splits[split]
        assert s.lazy and s.class_names == tuple(sorted(classes)) and s.image_shape == (8, 8, 3)
        np.testing.assert_array_equal(s.class_counts(), [PER_CLASS] * len(classes))
    names = [set(s.class_names) for s in splits.values()]
    assert not (names[0] & names[1] or names[0] & names[2] or names[1] & names[2])
    # decoded colours identify the class of each row: row r -> episode class r % way
    test = splits["test"]
    for bx, by in zoo.data.episodes(test, 2, 2, 3, episodes=3).as_numpy_iterator():
        assert bx.shape == (10, 8, 8, 3)
        rgb = np.rint(bx[:, 4, 4] * 255)
        expected = {tuple(class_color(c).astype(float)) for c in MINI["test"]}
        row_class = [min(expected, key=lambda e: np.abs(np.subtract(e, p)).max()) for p in rgb]
        for r, p in enumerate(rgb):
            assert np.abs(p - row_class[r]).max() <= 4
            assert row_class[r] == row_class[r % 2]
        assert row_class[0] != row_class[1]
        np.testing.assert_array_equal(by, np.arange(6) % 2)
    # the grayscale JPEG is converted to RGB (3 equal channels)
    train = splits["train"].in_memory(verbose=0)
    first = train.images[list(splits["train"].images).index(str(root / "images" / "n0153282900000001.jpg"))]
    assert first.shape == (8, 8, 3) and (np.abs(first.astype(int) - 128) <= 1).all()
    # default image_size is 84
    assert zoo.data.fewshot_splits("mini_imagenet", root=root)["val"].image_size == (84, 84)


def test_mini_imagenet_errors(tmp_path):
    root = write_mini(tmp_path / "mini")
    os.remove(root / "images" / "n0193011200000003.jpg")
    os.remove(root / "images" / "n0198127600000005.jpg")
    with pytest.raises(FileNotFoundError, match=r"test\.csv names 2 images missing .*'n0193011200000003\.jpg', "
                                                r"'n0198127600000005\.jpg'"):
        zoo.data.fewshot_splits("mini_imagenet", root=root)
    (root / "test.csv").write_text("n0193011200000001.jpg,n01930112\n")
    with pytest.raises(ValueError, match=r"test\.csv must start with the header line 'filename,label'"):
        zoo.data.fewshot_splits("mini_imagenet", root=root)
    (root / "test.csv").write_text("filename,label\nn0193011200000001.jpg\n")
    with pytest.raises(ValueError, match=r"test\.csv lines \[2\]"):
        zoo.data.fewshot_splits("mini_imagenet", root=root)
    (root / "test.csv").write_text("filename,label\nn0153282900000001.jpg,n01532829\n")
    with pytest.raises(ValueError, match=r"'train' and 'test' splits share 1 classes .*n01532829"):
        zoo.data.fewshot_splits("mini_imagenet", root=root)
    os.remove(root / "test.csv")
    with pytest.raises(FileNotFoundError, match=r"missing split file .*test\.csv"):
        zoo.data.fewshot_splits("mini_imagenet", root=root)
    with pytest.raises(FileNotFoundError, match="images"):
        zoo.data.fewshot_splits("mini_imagenet", root=tmp_path / "nowhere")


def test_mini_imagenet_without_val(tmp_path):
    root = write_mini(tmp_path / "mini")
    os.remove(root / "val.csv")
    splits = zoo.data.fewshot_splits("mini_imagenet", root=root, image_size=6)
    assert set(splits) == {"train", "test"}


def write_folder(root, split, classes, size=(6, 7)):
    for k, c in enumerate(classes):
        d = root / split / c
        d.mkdir(parents=True)
        for i in range(4):
            im = np.full((*size, 3), 10 * k + i, np.uint8)
            tf.io.write_file(str(d / f"{i}.png"), tf.io.encode_png(im))


def test_folder_layout(tmp_path):
    write_folder(tmp_path, "train", ["cat", "dog", "owl"])
    write_folder(tmp_path, "test", ["ant", "bee"], size=(9, 9))
    splits = zoo.data.fewshot_splits("folder", root=tmp_path, verbose=0)
    assert set(splits) == {"train", "test"}
    assert splits["train"].class_names == ("cat", "dog", "owl") and splits["test"].class_names == ("ant", "bee")
    assert splits["train"].image_shape == splits["test"].image_shape == (6, 7, 3)   # the first train image's
    bx, _ = next(zoo.data.episodes(splits["test"], 2, 1, 2, episodes=1).as_numpy_iterator())
    assert bx.shape == (6, 6, 7, 3)
    write_folder(tmp_path, "val", ["cat"])
    with pytest.raises(ValueError, match="'train' and 'val' splits share 1 classes"):
        zoo.data.fewshot_splits("folder", root=tmp_path, verbose=0)
    with pytest.raises(FileNotFoundError, match="missing .*test"):
        zoo.data.fewshot_splits("folder", root=tmp_path / "train", verbose=0)


@pytest.mark.skipif(not os.path.isdir(DEBIAN_DIR), reason="Fashion-MNIST files (dataset-fashion-mnist) not installed")
def test_fashion_mnist_class_split():
    splits = zoo.data.fewshot_splits("fashion_mnist", download=False)
    assert set(splits) == {"train", "test"}
    train, test = splits["train"], splits["test"]
    assert train.class_names == zoo.data.FASHION_MNIST_CLASSES[:5]
    assert test.class_names == zoo.data.FASHION_MNIST_CLASSES[5:]
    assert not set(train.class_names) & set(test.class_names)
    np.testing.assert_array_equal(train.class_counts(), [6000] * 5)
    np.testing.assert_array_equal(test.class_counts(), [1000] * 5)
    (x_train, y_train), (x_test, y_test) = zoo.data.fashion_mnist(download=False)
    np.testing.assert_array_equal(train.images[..., 0], x_train[y_train < 5])   # from the 60k train file
    np.testing.assert_array_equal(test.images[..., 0], x_test[y_test >= 5])     # from the 10k test file
    np.testing.assert_array_equal(test.labels, y_test[y_test >= 5] - 5)
    ds = zoo.data.episodes(test, 5, 1, 15, episodes=2, normalize=zoo.data.FASHION_MNIST_MEAN_STD)
    bx, by = next(ds.as_numpy_iterator())
    assert bx.shape == (80, 28, 28, 1) and by.shape == (75,)
    with pytest.raises(ValueError, match="disjoint"):
        zoo.data.fewshot_splits("fashion_mnist", download=False, train_classes=(0, 1, 5))


def test_tfds_names_dispatch_lazily(monkeypatch):
    from zoo.data import fewshot_cub, fewshot_omniglot

    calls = []
    split = zoo.data.FewShotSplit.from_arrays(np.zeros((2, 2, 2), np.uint8), [0, 1])
    monkeypatch.setattr(fewshot_omniglot, "omniglot",
                        lambda **kw: calls.append(("omniglot", kw)) or {"train": split, "test": split})
    monkeypatch.setattr(fewshot_cub, "caltech_birds2011",
                        lambda **kw: calls.append(("caltech_birds2011", kw)) or {"train": split})
    assert zoo.data.fewshot_splits("omniglot", data_dir="/d", image_size=28)["train"] is split
    zoo.data.fewshot_splits("caltech_birds2011", download=False, crop_to_bbox=False)
    assert calls == [("omniglot", {"data_dir": "/d", "image_size": 28}),
                     ("caltech_birds2011", {"download": False, "crop_to_bbox": False})]


def test_unknown_name():
    with pytest.raises(ValueError, match="unknown dataset 'cifar_fs'; use one of"):
        zoo.data.fewshot_splits("cifar_fs")
    assert set(zoo.data.FEWSHOT_DATASETS) == {"fashion_mnist", "mini_imagenet", "folder", "omniglot",
                                              "caltech_birds2011"}
