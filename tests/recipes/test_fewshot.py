"""recipes.fewshot end to end: the offline Fashion-MNIST class split and a MiniImageNet-layout fixture."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from recipes import fewshot
from zoo.models.protonet import ProtoNet

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HAVE_FMNIST = os.path.isdir("/usr/share/datasets/fashion-mnist") or bool(os.environ.get("ZOO_FASHION_MNIST_DIR"))


def test_help_lists_the_issue_flags():
    proc = subprocess.run([sys.executable, "-m", "recipes.fewshot", "--help"], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    for flag in ("--geometry", "--way", "--shot", "--query", "--train-way", "--c", "--dataset"):
        assert flag in proc.stdout


@pytest.mark.parametrize("argv, match", [
    (["--c", "0"], "--c"),
    (["--shot", "0"], "--shot"),
    (["--train-way", "0"], "--train-way"),
    (["--temperature", "-1"], "--temperature"),
    (["--dataset", "mini_imagenet"], "--data-dir"),
])
def test_bad_arguments_fail_before_any_work(argv, match):
    with pytest.raises(ValueError, match=match):
        fewshot.main(argv)


@pytest.mark.skipif(not HAVE_FMNIST, reason="Debian dataset-fashion-mnist not installed")
@pytest.mark.parametrize("geometry", ["euclidean", "poincare"])
def test_fashion_mnist_split_trains_evaluates_and_saves(tmp_path, geometry):
    out = tmp_path / geometry
    summary = fewshot.main([
        "--geometry", geometry, "--c", "0.05", "--shot", "2", "--query", "5", "--way", "5",
        "--train-way", "4", "--dim", "32", "--epochs", "2", "--episodes-per-epoch", "15",
        "--test-episodes", "30", "--out", str(out), "--verbose", "0",
    ])
    # 5-way on the 5 unseen test classes: chance is 20%; a few dozen episodes of real training beat it.
    assert summary["test_episodes"] == 30
    assert summary["test_accuracy"] > 0.35, summary["test_accuracy"]
    assert 0 < summary["test_ci95"] < 0.1
    assert summary["train_way"] == 4
    assert np.isfinite(summary["history"]["loss"]).all()
    stored = json.loads((out / "metrics.json").read_text())
    assert stored["test_accuracy"] == summary["test_accuracy"]
    assert (out / "curves.png").stat().st_size > 0
    model = keras.saving.load_model(out / "model.keras", compile=False)
    assert isinstance(model, ProtoNet) and model.geometry_name == geometry
    # The reloaded model evaluates another way than it trained with (way comes from the batch).
    x = np.random.default_rng(0).normal(size=((2 + 5) * 3, 28, 28, 1)).astype("float32")
    assert keras.ops.convert_to_numpy(model(x)).shape == (5 * 3, 3)
    # ... and takes raw images with any support set (labels 7 and 3: columns 3, 7).
    raw = np.random.default_rng(1).integers(0, 256, size=(7, 28, 28), dtype=np.uint8)
    assert model.predict_episode(raw[:4], [7, 3, 7, 7], raw[4:]).shape == (3, 2)


def write_mini_imagenet(root, classes_per_split=(6, 3, 3), per_class=8, size=20):
    """A MiniImageNet layout (images/ + train/val/test.csv with `filename,label`) of learnable images:
    each class is a distinct coloured square at a class-specific position, with pixel noise."""
    rng = np.random.default_rng(0)
    (root / "images").mkdir(parents=True)
    k = 0
    for split, n in zip(("train", "val", "test"), classes_per_split):
        lines = ["filename,label"]
        for _ in range(n):
            wnid = f"n{1000000 + k:08d}"
            colour = rng.integers(0, 256, 3)
            r0, c0 = (k * 3) % (size - 6), (k * 5) % (size - 6)
            for i in range(per_class):
                im = rng.integers(0, 60, (size, size, 3)).astype(np.uint8)
                im[r0:r0 + 6, c0:c0 + 6] = colour
                name = f"{wnid}{i + 1:08d}.jpg"
                tf.io.write_file(str(root / "images" / name), tf.io.encode_jpeg(im, quality=95))
                lines.append(f"{name},{wnid}")
            k += 1
        (root / f"{split}.csv").write_text("\n".join(lines) + "\n")
    return root


def test_mini_imagenet_layout_with_model_selection(tmp_path):
    data = write_mini_imagenet(tmp_path / "mini")
    out = tmp_path / "run"
    summary = fewshot.main([
        "--dataset", "mini_imagenet", "--data-dir", str(data), "--image-size", "20", "--geometry", "sphere",
        "--shot", "1", "--query", "3", "--way", "3", "--train-way", "5", "--dim", "16", "--epochs", "2",
        "--episodes-per-epoch", "5", "--val-episodes", "4", "--test-episodes", "10", "--lr-step", "1",
        "--out", str(out), "--verbose", "0",
    ])
    # The validation split drives FewShotEvaluation: its per-epoch accuracy is in the history.
    assert len(summary["history"]["val_fewshot_accuracy"]) == 2
    assert all(0.0 <= a <= 1.0 for a in summary["history"]["val_fewshot_accuracy"])
    # The step schedule halves the learning rate every epoch.
    assert summary["history"]["learning_rate"][1] == pytest.approx(0.5 * summary["history"]["learning_rate"][0])
    assert summary["test_episodes"] == 10 and 0.0 <= summary["test_accuracy"] <= 1.0


def test_mini_imagenet_split_naming_missing_images_is_a_clear_error(tmp_path):
    data = write_mini_imagenet(tmp_path / "mini")
    with open(data / "test.csv", "a") as f:
        f.write("n0999999900000001.jpg,n09999999\n")
    with pytest.raises(FileNotFoundError, match="test.csv"):
        fewshot.main(["--dataset", "mini_imagenet", "--data-dir", str(data), "--image-size", "20",
                      "--epochs", "1", "--out", str(tmp_path / "run"), "--verbose", "0"])


# -- issue #16: training augmentation and validation classes carved from the training classes ----------------------


def _grey_split(classes=5, per_class=6, size=16):
    import zoo.data

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, size=(classes * per_class, size, size)).astype(np.uint8)
    y = np.repeat(np.arange(classes) + 5, per_class)  # labels 5.. (renumbered 0.. by the split)
    return zoo.data.FewShotSplit.from_arrays(x, y, zoo.data.FASHION_MNIST_CLASSES)


def test_validation_classes_are_the_last_training_classes_and_disjoint():
    split = _grey_split()
    train, val = fewshot.carve_validation_classes(split, 2)
    assert (train.num_classes, val.num_classes) == (3, 2) and len(train) + len(val) == len(split)
    assert set(train.class_names).isdisjoint(val.class_names)
    assert list(val.class_names) == list(split.class_names[3:])
    assert list(train.class_names) == list(split.class_names[:3])
    np.testing.assert_array_equal(val.images, split.images[split.labels >= 3])  # the images of those classes
    for bad in (0, 5, 2.0):
        with pytest.raises(ValueError, match="`n`"):
            fewshot.carve_validation_classes(split, bad)
    args = fewshot.build_parser().parse_args(["--val-classes", "2", "--way", "5", "--train-way", "3"])
    tr, va, te = fewshot.carve_splits(args, {"train": split, "test": split}, 3)
    assert va.num_classes == 2 and fewshot.validation_way(args, va) == 2  # min(--way, N)
    with pytest.raises(ValueError, match="--val-classes 2 leaves 3"):
        fewshot.carve_splits(args, {"train": split, "test": split}, 4)
    with pytest.raises(ValueError, match="own validation split"):
        fewshot.carve_splits(args, {"train": split, "val": split, "test": split}, 3)
    with pytest.raises(ValueError, match="--val-classes"):
        fewshot.main(["--val-classes", "1"])
    with pytest.raises(ValueError, match="--lr-step"):
        fewshot.main(["--lr-step", "2", "--lr-schedule", "cosine"])
    stepped = fewshot.build_parser().parse_args(["--lr-step", "2", "--epochs", "5"])
    fewshot.check_args(stepped)  # the reference's StepLR: lr·0.5^⌊e/2⌋
    assert (stepped.lr_schedule, stepped.lr_steps, stepped.lr_gamma) == ("step", [2, 4], 0.5)


@pytest.mark.parametrize("channels", [1, 3])
def test_reference_augmentation_changes_training_episodes_only(tmp_path, channels):
    """--augment reference: training episodes differ from the plain ones (same images, same plan) and stay pixel
    values; the validation episodes of the run are the plain ones. Per-op checks: the jitter of a constant image is a
    brightness factor in [0.6, 1.4] (grey) and a crop of a constant image is the same constant."""
    import zoo.data

    split = _grey_split()
    if channels == 3:
        split = zoo.data.FewShotSplit.from_arrays(np.repeat(split.images, 3, axis=-1), split.labels + 5,
                                                  zoo.data.FASHION_MNIST_CLASSES)
    args = fewshot.build_parser().parse_args(["--augment", "reference", "--val-classes", "2", "--shot", "1",
                                              "--query", "2", "--dim", "8", "--val-episodes", "2",
                                              "--out", str(tmp_path)])
    fewshot.check_args(args)
    train, val, _ = fewshot.carve_splits(args, {"train": split, "test": split}, 3)
    model = fewshot.build_model(args, train.image_shape)
    episodes = fewshot._episode_factory(args, model)
    plain = np.asarray(next(iter(episodes(train, 3, 1, 0)))[0])
    augmented = np.asarray(next(iter(episodes(train, 3, 1, 0, augment=fewshot.training_augmentation(args, train))))[0])
    assert plain.shape == augmented.shape == (9, 16, 16, channels)
    assert not np.allclose(plain, augmented) and augmented.min() >= 0 and augmented.max() <= 255
    evaluation = fewshot._callbacks(args, val, episodes, str(tmp_path))[0]
    np.testing.assert_array_equal(np.asarray(next(iter(evaluation.val_episodes))[0]),
                                  np.asarray(next(iter(episodes(val, 2, 2, args.seed + 1, resample=False)))[0]))
    crop, jitter, flip = fewshot.reference_augmentation(channels, seed=3)
    const = np.full((4, 16, 16, channels), 100.0, "float32")
    np.testing.assert_allclose(np.asarray(crop(const)), const, atol=1e-3)
    factors = np.asarray(jitter(const))[:, 0, 0, 0] / 100.0
    assert np.all((factors >= 0.6 - 1e-6) & (factors <= 1.4 + 1e-6)) and np.ptp(factors) > 0
