"""recipes.classification on the other data sources and backbones, offline: a tfds dataset (tfds mock data) with
a keras-hub ResNet from a local preset directory, an image-folder fixture with a keras-hub ViT preset, and the
data plumbing (`recipes._datasets`, the raw-pixel pipeline of `recipes.common`).

Sizes are tiny (64 mock CIFAR-10 images, 18 PNGs, 1-2 epochs, 32x32): these runs show the plumbing, not accuracy.
"""

import json
import os
import shutil

import keras
import numpy as np
import pytest

from recipes import _datasets, classification, common

tfds = pytest.importorskip("tensorflow_datasets")
keras_hub = pytest.importorskip("keras_hub")

NUM_FOLDER_CLASSES = 3
IMAGES_PER_CLASS = 6


@pytest.fixture(scope="module")
def presets(tmp_path_factory):
    """Local keras-hub preset directories (random weights): a one-stack ResNet and a one-layer ViT (32x32, 8x8
    patches), made with `save_to_preset` as a user would."""
    root = tmp_path_factory.mktemp("presets")
    resnet = keras_hub.models.ResNetBackbone(
        input_conv_filters=[64], input_conv_kernel_sizes=[3], stackwise_num_filters=[64], stackwise_num_blocks=[1],
        stackwise_num_strides=[1], block_type="basic_block", use_pre_activation=False, image_shape=(None, None, 3))
    resnet.save_to_preset(str(root / "resnet"))
    vit = keras_hub.models.ViTBackbone(
        image_shape=(32, 32, 3), patch_size=8, num_layers=1, num_heads=2, hidden_dim=32, mlp_dim=64,
        dropout_rate=0.0, attention_dropout=0.0, use_class_token=True)
    vit.save_to_preset(str(root / "vit"))
    return {"resnet": str(root / "resnet"), "vit": str(root / "vit")}


def _image_folder(root, size=20):
    """root/<class>/<i>.png: 3 classes x 6 RGB PNGs, each class a different mean colour plus noise."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for c in range(NUM_FOLDER_CLASSES):
        os.makedirs(root / f"class_{c}", exist_ok=True)
        for i in range(IMAGES_PER_CLASS):
            base = np.zeros(3)
            base[c] = 200.0
            pixels = np.clip(base + rng.normal(0, 30, (size, size + i % 2, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / f"class_{c}" / f"{i}.png")
    return root


def test_tfds_dataset_with_resnet_preset_and_validation_selection(tmp_path, presets):
    data_dir = str(tmp_path / "tfds")
    out = tmp_path / "run"
    with tfds.testing.mock_data(num_examples=64, data_dir=data_dir):
        summary = classification.main([
            "--dataset", "cifar10", "--data-dir", data_dir, "--preset", presets["resnet"], "--embedding-dim", "8",
            "--epochs", "2", "--batch-size", "32", "--val-split", "0.25", "--test-limit", "32",
            "--out", str(out), "--verbose", "0"])
    assert summary["num_classes"] == 10 and summary["test_images"] == 32
    assert summary["train_images"] + summary["val_images"] == 64 and summary["val_images"] >= 10
    assert summary["input_shape"] == [32, 32, 3] and summary["backbone"] == presets["resnet"]
    val = summary["val_accuracy"]
    assert len(val) == 2 and summary["selected_epoch"] == int(np.argmax(val)) + 1
    assert summary["restored_val_accuracy"] == pytest.approx(max(val), abs=1e-6)
    assert 0.0 <= summary["test_accuracy"] <= 1.0 and np.isfinite(summary["test_loss"])
    model = keras.saving.load_model(out / "model.keras", compile=False)
    scores = model.predict(np.zeros((2, 32, 32, 3), np.uint8), verbose=0)
    assert scores.shape == (2, 10) and np.isfinite(scores).all()


def test_image_folder_with_vit_preset(tmp_path, presets):
    root = _image_folder(tmp_path / "folder")
    out = tmp_path / "run"
    summary = classification.main([
        "--dataset", str(root), "--image-size", "32", "--test-fraction", "0.34", "--preset", presets["vit"],
        "--embedding-dim", "8", "--head", "arcface", "--epochs", "1", "--batch-size", "8", "--out", str(out),
        "--verbose", "0"])
    assert summary["num_classes"] == NUM_FOLDER_CLASSES
    assert summary["test_images"] == 2 * NUM_FOLDER_CLASSES and summary["train_images"] == 4 * NUM_FOLDER_CLASSES
    assert summary["input_shape"] == [32, 32, 3] and summary["selected_epoch"] == 1
    assert summary["val_accuracy"] is None and 0.0 <= summary["test_accuracy"] <= 1.0
    with open(out / "metrics.json") as f:
        assert json.load(f)["run"].startswith("folder-vit-arcface-d8-")


def test_folder_layouts_and_sizes(tmp_path):
    root = _image_folder(tmp_path / "flat")
    data = _datasets.load_classification_data(str(root), image_size=(12, 16), test_fraction=0.5, seed=3)
    (xtr, ytr), (xte, yte) = data.train, data.test
    assert xte.shape[1:] == (12, 16, 3)
    assert data.class_names == [f"class_{c}" for c in range(NUM_FOLDER_CLASSES)] and data.source == str(root)
    assert xtr.dtype == np.uint8 and xtr.shape[1:] == (12, 16, 3) and ytr.dtype == np.int32
    assert np.bincount(ytr).tolist() == [3, 3, 3] and np.bincount(yte).tolist() == [3, 3, 3]
    # train/ + test/ subfolders: the test labels follow the training class order
    split = tmp_path / "split"
    for part, classes in (("train", (0, 1, 2)), ("test", (0, 2))):
        for c in classes:
            shutil.copytree(root / f"class_{c}", split / part / f"class_{c}")
    data = _datasets.load_classification_data(str(split), image_size=(8, 8))
    assert len(data.train[0]) == 18 and sorted(set(data.test[1].tolist())) == [0, 2] and data.num_classes == 3
    with pytest.raises(ValueError, match="(?i)no images"):
        os.makedirs(tmp_path / "empty" / "a")
        _datasets.load_classification_data(str(tmp_path / "empty"))


def test_dataset_names_sizes_and_splits():
    assert _datasets.dataset_kind("digits") == "builtin" and _datasets.dataset_kind("cifar10") == "tfds"
    assert _datasets.dataset_kind(os.path.dirname(__file__)) == "folder"
    assert _datasets.parse_image_size("32") == (32, 32) and _datasets.parse_image_size("64x48") == (64, 48)
    assert _datasets.parse_image_size(None) is None
    with pytest.raises(ValueError, match="--image-size"):
        _datasets.parse_image_size("big")
    labels = np.repeat(np.arange(4), [10, 20, 2, 1])
    kept, held = _datasets.stratified_split(labels, 0.2, seed=0)
    assert np.bincount(labels[held], minlength=4).tolist() == [2, 4, 1, 0]
    assert sorted(np.concatenate([kept, held]).tolist()) == list(range(len(labels)))
    again, _ = _datasets.stratified_split(labels, 0.2, seed=0)
    assert np.array_equal(kept, again)
    # digits: raw uint8 pixels, and the 8x8 images are upsampled to 28x28 inside the model for zoo backbones
    (xtr, ytr), (xte, _) = common.load_data("digits", train_limit=32)
    assert xtr.dtype == np.uint8 and xtr.max() > 16 and len(xtr) == 32 and ytr.dtype == np.int32
    args = classification.build_parser().parse_args(["--dataset", "digits"])
    assert common.model_image_size(args) == (28, 28) and common.model_image_size(args, preset=True) is None


def test_raw_pipeline_keeps_uint8_pixels_and_augments_in_pixel_units():
    (x, y), _ = common.load_data("digits", train_limit=16)
    for augment in (None, "flip_crop"):
        ds = common.raw_image_dataset(x, y, batch_size=8, shuffle=True, augment=augment, seed=1)
        images, labels = next(iter(ds))
        assert images.dtype.name == "uint8" and tuple(images.shape) == (8, 8, 8) and labels.dtype.name == "int32"
        assert int(np.max(images.numpy())) > 100
    with pytest.raises(ValueError, match="--augment"):
        common.raw_image_dataset(x, y, batch_size=8, augment="rotate")
