"""ResNet-12 few-shot backbone: structure, parameter counts, global max-pool, train vs inference, `.keras`."""

import keras
import numpy as np
import pytest

import zoo.backbones
import zoo.layers
from tests.backbones.test_support import quick, shapes_only
from tests.helpers import roundtrip, to_numpy, value_and_grad

SMALL = dict(channels=(8, 16, 16, 32), seed=0)     # 32x32x3, small widths: fast on every backend
_CACHE = {}


def _small_model():
    if "model" not in _CACHE:
        _CACHE["model"] = quick(lambda: zoo.backbones.get("resnet12", (32, 32, 3), 32, **SMALL))
    return _CACHE["model"]


def _hand_count(channels, in_channels=3):
    """Trainable parameters of the reference ResNet-12 (PyTorch `parameters()`): per block three 3x3
    convs and a 1x1 shortcut conv, all without bias, and 4 BatchNorms with a scale and a shift."""
    total = 0
    for c in channels:
        total += 9 * in_channels * c + 2 * 9 * c * c + in_channels * c + 4 * 2 * c
        in_channels = c
    return total


def _trainable(model):
    return sum(int(np.prod(v.shape)) for v in model.trainable_variables)


def test_reference_structure_and_parameter_counts():
    with shapes_only():
        model = zoo.backbones.get("resnet12", (84, 84, 3), 512)
        metaoptnet = zoo.backbones.get("resnet12", (84, 84, 3), 640, channels=(64, 160, 320, 640))
    assert model.name == "resnet12"
    assert model.output_shape == (None, 512)
    sizes = [model.get_layer(f"block{i}_pool").output.shape[1:] for i in (1, 2, 3, 4)]
    assert sizes == [(42, 42, 64), (21, 21, 128), (10, 10, 256), (5, 5, 512)]
    assert model.layers[-1].name == "global_max_pool"
    # hand count of the hyperbolic ProtoNet's Res12(): 64-128-256-512
    assert _hand_count((64, 128, 256, 512)) == 7_996_800
    assert _trainable(model) == 7_996_800
    assert model.count_params() == 7_996_800 + 2 * 4 * (64 + 128 + 256 + 512)      # + BN moving stats
    # the MetaOptNet / FEAT ResNet-12 (64-160-320-640): the well-known 12.4M
    assert _hand_count((64, 160, 320, 640)) == 12_424_320
    assert _trainable(metaoptnet) == 12_424_320
    assert metaoptnet.output_shape == (None, 640)
    for i in (1, 2, 3, 4):
        convs = [model.get_layer(f"block{i}_conv{j}") for j in (1, 2, 3)] + [model.get_layer(f"block{i}_shortcut_conv")]
        assert [c.kernel_size for c in convs] == [(3, 3)] * 3 + [(1, 1)]
        assert not any(c.use_bias for c in convs)
        assert model.get_layer(f"block{i}_relu1").negative_slope == pytest.approx(0.1)
        assert model.get_layer(f"block{i}_out").negative_slope == pytest.approx(0.1)
        bn = model.get_layer(f"block{i}_bn1")
        assert (bn.momentum, bn.epsilon) == (0.9, 1e-5)
    init = model.get_layer("block1_conv1").kernel_initializer.get_config()
    assert (init["scale"], init["mode"], init["distribution"]) == (2.0, "fan_out", "untruncated_normal")


def test_dropout_in_blocks_1_2_dropblock_in_blocks_3_4():
    with shapes_only():
        model = zoo.backbones.get("resnet12", (84, 84, 3), 512, drop_warmup_steps=3300)
        plain = zoo.backbones.get("resnet12", (84, 84, 3), 512, drop_rate=0.0)
    for i in (1, 2):
        layer = model.get_layer(f"block{i}_dropout")
        assert type(layer) is keras.layers.Dropout and layer.rate == 0.1
    for i in (3, 4):
        layer = model.get_layer(f"block{i}_dropblock")
        assert isinstance(layer, zoo.layers.DropBlock)
        assert (layer.rate, layer.block_size, layer.warmup_steps) == (0.1, 5, 3300)
    assert not any(isinstance(layer, (keras.layers.Dropout, zoo.layers.DropBlock)) for layer in plain.layers)
    assert _trainable(plain) == _trainable(model)


def test_output_is_global_max_of_last_block():
    model = _small_model()
    assert model.output_shape == (None, 32)
    x = np.random.rand(4, 32, 32, 3).astype("float32")
    block4 = keras.Model(model.input, model.get_layer("block4_dropblock").output)
    feature_map = to_numpy(block4(x, training=False))
    assert feature_map.shape == (4, 2, 2, 32)                   # 32 -> 16 -> 8 -> 4 -> 2
    z = to_numpy(model(x, training=False))
    np.testing.assert_allclose(z, feature_map.max(axis=(1, 2)), rtol=1e-6, atol=1e-6)
    assert not np.allclose(z, feature_map[:, 0, 0])
    assert np.isfinite(z).all()


def test_train_vs_inference():
    model = _small_model()
    x = np.random.rand(4, 32, 32, 3).astype("float32")
    a = to_numpy(model(x, training=False))
    np.testing.assert_array_equal(to_numpy(model(x, training=False)), a)      # deterministic
    moving_mean = to_numpy(model.get_layer("block1_bn1").moving_mean)
    t1 = to_numpy(model(x, training=True))
    t2 = to_numpy(model(x, training=True))
    assert t1.shape == a.shape and np.isfinite(t1).all()
    assert not np.allclose(t1, a)                                # batch statistics + dropout
    assert not np.allclose(t1, t2)                               # fresh dropout / DropBlock masks per call
    assert not np.allclose(to_numpy(model.get_layer("block1_bn1").moving_mean), moving_mean)


def test_gradient_reaches_first_kernel_in_training_mode():
    model = _small_model()
    trainable = model.trainable_variables
    kernel = model.get_layer("block1_conv1").kernel
    index = [i for i, v in enumerate(trainable) if v is kernel]
    assert len(index) == 1
    non_trainable = [v.value for v in model.non_trainable_variables]
    x = np.random.rand(4, 32, 32, 3).astype("float32")

    def loss(k):
        values = [k if i == index[0] else v.value for i, v in enumerate(trainable)]
        y, _ = model.stateless_call(values, non_trainable, x, training=True)   # through Dropout + DropBlock
        return keras.ops.sum(keras.ops.square(y))

    val, (g,) = value_and_grad(loss, to_numpy(kernel.value))
    assert g.shape == (3, 3, 3, 8)
    assert np.isfinite(val) and np.isfinite(g).all() and np.abs(g).max() > 0


def test_roundtrip_identical_predictions():
    model = _small_model()
    loaded = roundtrip(model)
    assert isinstance(loaded.get_layer("block3_dropblock"), zoo.layers.DropBlock)
    assert loaded.get_layer("block3_dropblock").get_config() == model.get_layer("block3_dropblock").get_config()
    x = np.random.rand(2, 32, 32, 3).astype("float32")
    np.testing.assert_allclose(to_numpy(loaded(x, training=False)), to_numpy(model(x, training=False)),
                               rtol=1e-5, atol=1e-5)


def test_projection_and_average_pool():
    with shapes_only():
        projected = zoo.backbones.get("resnet12", (84, 84, 3), 128, project=True)
        feat = zoo.backbones.get("resnet12", (84, 84, 3), 640, channels=(64, 160, 320, 640), pool="avg")
    assert projected.output_shape == (None, 128)
    assert projected.layers[-1].name == "embedding"
    assert tuple(projected.layers[-1].kernel.shape) == (512, 128)
    assert feat.layers[-1].name == "global_avg_pool"


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"embedding_dim.*512.*project=True"):
        zoo.backbones.get("resnet12", (84, 84, 3), 1600)         # `--dim` has no effect for ResNets
    with pytest.raises(ValueError, match="embedding_dim"):
        zoo.backbones.get("resnet12", (84, 84, 3), 0, project=True)
    for channels in [(64, 128, 256), (64, 128, 0, 512), "abcd", 5]:
        with pytest.raises(ValueError, match="channels"):
            zoo.backbones.get("resnet12", (84, 84, 3), 512, channels=channels)
    for rate in (1.0, -0.1, "0.1"):
        with pytest.raises(ValueError, match="drop_rate"):
            zoo.backbones.get("resnet12", (84, 84, 3), 512, drop_rate=rate)
    with pytest.raises(ValueError, match="block_size"):
        zoo.backbones.get("resnet12", (84, 84, 3), 512, block_size=0)
    with pytest.raises(ValueError, match="drop_warmup_steps"):
        zoo.backbones.get("resnet12", (84, 84, 3), 512, drop_warmup_steps=-5)
    with pytest.raises(ValueError, match="pool"):
        zoo.backbones.get("resnet12", (84, 84, 3), 512, pool="flatten")
    with pytest.raises(ValueError, match="seed"):
        zoo.backbones.get("resnet12", (84, 84, 3), 512, seed=-1)


@pytest.mark.parametrize("shape", [(15, 84, 3), (84, 8, 3), (None, None, 3), (84, 84), (84, 84, 0)])
def test_bad_input_shape(shape):
    with pytest.raises(ValueError, match="input_shape"):
        zoo.backbones.get("resnet12", shape, 512)
