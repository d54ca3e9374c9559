"""zoo.backbones.get / available: names, output shapes, argument validation, gradients.

On JAX every random initialiser is compiled once per weight shape (about 1 s each on this CPU), so
the forward/backward tests share one small model per name (16x16x1 inputs, embedding_dim 4).
"""

import keras
import numpy as np
import pytest

import zoo.backbones
from tests.backbones.test_support import quick, shapes_only
from tests.helpers import assert_all_finite, value_and_grad

ALL = ["conv4", "hub_resnet", "hub_vit", "lenet", "resnet12", "resnet20", "resnet32", "resnet56"]
HUB = {"hub_resnet", "hub_vit"}
DIM = 4
# Small options where the default config is large; the other names use their defaults.
TINY = {
    "conv4": dict(filters=8),
    "resnet12": dict(channels=(8, 8, 8, DIM)),       # its embedding is the last block's channels
    "hub_vit": dict(num_layers=1, hidden_dim=16, num_heads=2, mlp_dim=32),
}
_MODELS = {}


def _model(name):
    if name in HUB:
        pytest.importorskip("keras_hub")
    if name not in _MODELS:
        _MODELS[name] = quick(lambda: zoo.backbones.get(name, (16, 16, 1), DIM, **TINY.get(name, {})))
    return _MODELS[name]


def test_available_lists_every_name():
    assert zoo.backbones.available() == ALL


@pytest.mark.parametrize("name", ALL)
def test_output_shape(name):
    model = _model(name)
    assert isinstance(model, keras.Model)
    assert model.name == name
    assert model.input_shape == (None, 16, 16, 1)
    assert model.output_shape == (None, DIM)
    x = np.random.rand(2, 16, 16, 1).astype("float32")
    y = keras.ops.convert_to_numpy(model(x, training=False))
    assert y.shape == (2, DIM) and y.dtype == np.float32
    assert_all_finite(y, what=name)


def test_fashion_mnist_shape_and_name_override():
    with shapes_only():
        model = zoo.backbones.get("LeNet", (28, 28, 1), 64, name="encoder")
        assert model.name == "encoder"
        assert model.output_shape == (None, 64)
        assert zoo.backbones.get("ResNet20", (28, 28, 1), 3).name == "resnet20"


def _first_kernel(model):
    """The kernel of the layer that sees the pixels."""
    for layer in model.layers:
        if layer.name == "resnet_backbone":
            return layer.get_layer("conv1_conv").kernel
        if layer.name == "vit_backbone":
            return layer.get_layer("vit_patching_and_embedding").patch_embedding.kernel
        if isinstance(layer, keras.layers.Conv2D):
            return layer.kernel
    raise AssertionError("no first conv found")


@pytest.mark.parametrize("name", ["lenet", "conv4", "resnet20", "hub_resnet", "hub_vit"])
def test_gradient_reaches_first_layer(name):
    model = _model(name)
    kernel = _first_kernel(model)
    assert kernel.shape[-2] == 1                        # it reads the single input channel
    trainable = model.trainable_variables
    index = [i for i, v in enumerate(trainable) if v is kernel]
    assert len(index) == 1, "first kernel is not trainable"
    index = index[0]
    non_trainable = [v.value for v in model.non_trainable_variables]
    x = np.random.rand(4, 16, 16, 1).astype("float32")

    def loss(k):
        values = [k if i == index else v.value for i, v in enumerate(trainable)]
        # Inference mode: reuses the kernels compiled by test_output_shape (JAX compiles per op).
        y, _ = model.stateless_call(values, non_trainable, x, training=False)
        return keras.ops.sum(keras.ops.square(y))

    val, (g,) = value_and_grad(loss, keras.ops.convert_to_numpy(kernel.value))
    assert g.shape == tuple(kernel.shape)
    assert_all_finite(val, g, what=name)
    assert np.abs(g).max() > 0, f"{name}: zero gradient at the first layer"


# --- validation -----------------------------------------------------------------------------


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match=r"name.*'resnet18'.*conv4.*lenet.*resnet20"):
        zoo.backbones.get("resnet18", (32, 32, 3), 8)
    with pytest.raises(ValueError, match="name"):
        zoo.backbones.get(None, (32, 32, 3), 8)


@pytest.mark.parametrize("name", ["lenet", "conv4", "resnet20"])
@pytest.mark.parametrize("dim", [0, -3, 2.5, None, True])
def test_bad_embedding_dim(name, dim):
    with pytest.raises(ValueError, match="embedding_dim"):
        zoo.backbones.get(name, (28, 28, 1), dim)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("shape", [(28, 28), (1, 28, 28, 1), 28, (28, 0, 1), (28, 28, None)])
def test_bad_input_shape(name, shape):
    if name in HUB:
        pytest.importorskip("keras_hub")
    with pytest.raises(ValueError, match="input_shape"):
        zoo.backbones.get(name, shape, 8)


@pytest.mark.parametrize(
    "name, shape",
    [("lenet", (15, 28, 1)), ("conv4", (28, 12, 3)), ("conv4", (8, 8, 3)), ("resnet32", (3, 3, 1)),
     ("hub_resnet", (4, 4, 3)), ("hub_vit", (2, 2, 1))],
)
def test_input_too_small(name, shape):
    if name in HUB:
        pytest.importorskip("keras_hub")
    with pytest.raises(ValueError, match=r"input_shape.*too small"):
        zoo.backbones.get(name, shape, 8)


def test_unknown_kwarg_is_named():
    with pytest.raises(ValueError, match=r"unexpected keyword.*'filters'"):
        zoo.backbones.get("lenet", (28, 28, 1), 8, filters=32)
    with pytest.raises(ValueError, match=r"unexpected keyword.*'variant'"):
        zoo.backbones.get("resnet20", (28, 28, 1), 8, variant="flatten")
    with pytest.raises(TypeError):                    # `name` is positional: name= names the model
        zoo.backbones.get(input_shape=(28, 28, 1), embedding_dim=8)
