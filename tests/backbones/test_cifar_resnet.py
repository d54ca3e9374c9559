"""CIFAR ResNets: parameter counts, stage sizes, shortcuts, serialization."""


import keras
import numpy as np
import pytest

import zoo.backbones
from tests.backbones.test_support import quick, shapes_only
from tests.harness import check_layer
from tests.helpers import roundtrip
from zoo.backbones.cifar_resnet import PadShortcut, cifar_resnet


def _trainable(model):
    return sum(int(np.prod(v.shape)) for v in model.trainable_variables)


def test_resnet20_parameter_counts():
    with shapes_only():
        pad = zoo.backbones.get("resnet20", (32, 32, 3), 10, shortcut="pad")
        proj = zoo.backbones.get("resnet20", (32, 32, 3), 10)
        fmnist = zoo.backbones.get("resnet20", (28, 28, 1), 64)
    # He et al. (2016) Table 6: ResNet-20 on CIFAR-10 (option A shortcuts, 10 outputs) has 0.27M.
    assert _trainable(pad) == 269_722
    # Projection adds two 1x1 convs + BN: 16*32 + 2*32 + 32*64 + 2*64 = 2,752.
    assert _trainable(proj) == 269_722 + 2_752
    assert 0.26e6 < _trainable(proj) < 0.29e6
    # Grayscale stem (-288) and a 64-d embedding (+3,510): 275,696 trainable.
    assert _trainable(fmnist) == 272_474 - 27 * 16 + 9 * 16 + 54 * 65 == 275_696


@pytest.mark.parametrize("name, blocks", [("resnet20", 9), ("resnet32", 15), ("resnet56", 27)])
def test_depth(name, blocks):
    with shapes_only():
        model = zoo.backbones.get(name, (32, 32, 3), 8, shortcut="pad")
    adds = [layer for layer in model.layers if isinstance(layer, keras.layers.Add)]
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert len(adds) == blocks
    assert len(convs) + 1 == int(name[6:])           # 6n+1 convs + the final Dense
    assert model.name == name


@pytest.mark.parametrize("shortcut", ["projection", "pad", "conv3x3"])
def test_small_grayscale_stage_sizes(shortcut):
    with shapes_only():
        model = zoo.backbones.get("resnet20", (28, 28, 1), 16, shortcut=shortcut)
    assert model.get_layer("stage1_block2_out").output.shape[1:] == (28, 28, 16)
    assert model.get_layer("stage2_block2_out").output.shape[1:] == (14, 14, 32)
    assert model.get_layer("stage3_block2_out").output.shape[1:] == (7, 7, 64)
    assert model.output_shape == (None, 16)
    kernel = {"projection": (1, 1, 16, 32), "conv3x3": (3, 3, 16, 32)}.get(shortcut)
    if kernel:
        assert tuple(model.get_layer("stage2_block0_shortcut_conv").kernel.shape) == kernel
    else:
        layer = model.get_layer("stage2_block0_shortcut")
        assert isinstance(layer, PadShortcut) and not layer.weights


def test_odd_size_and_width():
    with shapes_only():
        model = zoo.backbones.get("resnet32", (7, 7, 3), 4, width=2, shortcut="pad")
        variable = zoo.backbones.get("resnet32", (None, None, 3), 4)
    assert model.get_layer("stage1_block4_out").output.shape[1:] == (7, 7, 32)
    assert model.get_layer("stage3_block4_out").output.shape[1:] == (2, 2, 128)   # 7 -> 4 -> 2
    assert model.output_shape == (None, 4)
    assert variable.output_shape == (None, 4)


def test_pad_shortcut_matches_numpy():
    x = np.random.rand(2, 5, 6, 3).astype("float32")
    # the shared layer checks (config and .keras round trips, float16 under the policy, finite gradients);
    # no fit step: the layer has no weights
    y = check_layer(PadShortcut(8, stride=2), x, expected_shape=(2, 3, 3, 8), mixed_precision="policy", fit=False)
    expected = np.zeros((2, 3, 3, 8), "float32")
    expected[..., 2:5] = x[:, ::2, ::2, :]          # (8 - 3) = 5 zero channels: 2 before, 3 after
    np.testing.assert_array_equal(y, expected)
    assert PadShortcut(8, stride=2).compute_output_shape((None, 5, 6, 3)) == (None, 3, 3, 8)


def test_roundtrip_identical_predictions():
    # Depth 8 (n = 1): the same blocks and the custom PadShortcut layer as ResNet-20/32/56,
    # compiled faster. Odd input size: the subsampled shortcut must line up with the conv path.
    model = quick(lambda: cifar_resnet((9, 9, 1), 4, depth=8, shortcut="pad"))
    loaded = roundtrip(model)
    assert isinstance(loaded.get_layer("stage3_block0_shortcut"), PadShortcut)
    # Compared eagerly rather than with predict(): on JAX each predict() is a fresh XLA compile.
    x = np.random.rand(2, 9, 9, 1).astype("float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(x, training=False)),
                               keras.ops.convert_to_numpy(model(x, training=False)), rtol=1e-5, atol=1e-5)


def test_bad_arguments():
    with pytest.raises(ValueError, match="shortcut"):
        zoo.backbones.get("resnet20", (32, 32, 3), 8, shortcut="identity")
    with pytest.raises(ValueError, match="width"):
        zoo.backbones.get("resnet20", (32, 32, 3), 8, width=0)
    with pytest.raises(ValueError, match="depth"):
        cifar_resnet((32, 32, 3), 8, depth=18)
    with pytest.raises(ValueError, match="filters"):
        PadShortcut(2, stride=2)(np.zeros((1, 4, 4, 3), "float32"))
