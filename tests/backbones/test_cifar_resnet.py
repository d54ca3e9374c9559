"""CIFAR ResNets: parameter counts, stage sizes, shortcuts, serialization."""

import keras
import numpy as np
import pytest

import zoo.backbones
from zoo.backbones.cifar_resnet import PadShortcut, cifar_resnet
from tests.helpers import roundtrip


def _trainable(model):
    return sum(int(np.prod(v.shape)) for v in model.trainable_variables)


def test_resnet20_parameter_counts():
    # He et al. (2016) Table 6: ResNet-20 on CIFAR-10 (option A shortcuts, 10 outputs) has 0.27M.
    pad = zoo.backbones.get("resnet20", (32, 32, 3), 10, shortcut="pad")
    assert _trainable(pad) == 269_722
    # Projection adds two 1x1 convs + BN: 16*32 + 2*32 + 32*64 + 2*64 = 2,752.
    proj = zoo.backbones.get("resnet20", (32, 32, 3), 10)
    assert _trainable(proj) == 269_722 + 2_752
    assert 0.26e6 < _trainable(proj) < 0.29e6


@pytest.mark.parametrize("name, blocks", [("resnet20", 9), ("resnet32", 15), ("resnet56", 27)])
def test_depth(name, blocks):
    model = zoo.backbones.get(name, (32, 32, 3), 8, shortcut="pad")
    adds = [layer for layer in model.layers if isinstance(layer, keras.layers.Add)]
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert len(adds) == blocks
    assert len(convs) + 1 == int(name[6:])           # 6n+1 convs + the final Dense
    assert model.name == name


@pytest.mark.parametrize("shortcut", ["projection", "pad", "conv3x3"])
def test_small_grayscale_stage_sizes(shortcut):
    model = zoo.backbones.get("resnet20", (28, 28, 1), 16, shortcut=shortcut)
    assert model.get_layer("stage1_block2_out").output.shape[1:] == (28, 28, 16)
    assert model.get_layer("stage2_block2_out").output.shape[1:] == (14, 14, 32)
    assert model.get_layer("stage3_block2_out").output.shape[1:] == (7, 7, 64)
    assert model.output_shape == (None, 16)


def test_odd_size_and_width():
    model = zoo.backbones.get("resnet32", (7, 7, 3), 4, width=2, shortcut="pad")
    assert model.get_layer("stage3_block4_out").output.shape[1:] == (2, 2, 128)   # 7 -> 4 -> 2
    y = model(np.random.rand(1, 7, 7, 3).astype("float32"), training=False)
    assert tuple(y.shape) == (1, 4)


def test_pad_shortcut_matches_numpy():
    x = np.random.rand(2, 5, 6, 3).astype("float32")
    y = keras.ops.convert_to_numpy(PadShortcut(8, stride=2)(x))
    expected = np.zeros((2, 3, 3, 8), "float32")
    expected[..., 2:5] = x[:, ::2, ::2, :]          # (8 - 3) = 5 zero channels: 2 before, 3 after
    np.testing.assert_array_equal(y, expected)
    assert PadShortcut(8, stride=2).compute_output_shape((None, 5, 6, 3)) == (None, 3, 3, 8)


def test_pad_shortcut_has_no_parameters():
    pad = zoo.backbones.get("resnet20", (32, 32, 3), 10, shortcut="pad")
    layer = pad.get_layer("stage2_block0_shortcut")
    assert isinstance(layer, PadShortcut) and not layer.weights


@pytest.mark.parametrize("shortcut", ["pad", "projection"])
def test_roundtrip_identical_predictions(shortcut):
    # Depth 8 (n = 1): the same blocks and shortcut layers as ResNet-20/32/56, compiled faster.
    model = cifar_resnet((8, 8, 1), 3, depth=8, width=0.5, shortcut=shortcut)
    x = np.random.rand(2, 8, 8, 1).astype("float32")
    roundtrip(model, x)


def test_bad_arguments():
    with pytest.raises(ValueError, match="shortcut"):
        zoo.backbones.get("resnet20", (32, 32, 3), 8, shortcut="identity")
    with pytest.raises(ValueError, match="width"):
        zoo.backbones.get("resnet20", (32, 32, 3), 8, width=0)
    with pytest.raises(ValueError, match="depth"):
        cifar_resnet((32, 32, 3), 8, depth=18)
