"""keras-hub adapters: random-init configs, pooling, serialization, preset code path (offline)."""

import time

import keras
import numpy as np
import pytest

import zoo.backbones
from tests.backbones.test_support import quick, shapes_only
from tests.helpers import roundtrip

keras_hub = pytest.importorskip("keras_hub")

TINY_VIT = dict(num_layers=1, hidden_dim=16, num_heads=2, mlp_dim=32)


def test_hub_resnet_random_init_on_28x28_grayscale():
    with shapes_only():
        model = zoo.backbones.get("hub_resnet", (28, 28, 1), 64)
    inner = model.get_layer("resnet_backbone")
    assert isinstance(inner, keras_hub.models.ResNetBackbone)
    assert inner.output.shape[1:] == (4, 4, 128)        # 28 -> 14 (conv) -> 7 (pool) -> 7 -> 4
    assert model.count_params() == 314_240
    assert model.output_shape == (None, 64)


def test_hub_resnet_pooling_matches_feature_map():
    # Same config as the registry tests (16x16x1, dim 4): on JAX the forward ops are compiled once.
    model = quick(lambda: zoo.backbones.get("hub_resnet", (16, 16, 1), 4, pooling="max"))
    inner = model.get_layer("resnet_backbone")
    x = np.random.rand(2, 16, 16, 1).astype("float32")
    fmap = keras.ops.convert_to_numpy(inner(x, training=False))
    assert fmap.shape == (2, 2, 2, 128)
    dense = model.get_layer("embedding")
    expected = keras.ops.convert_to_numpy(dense(fmap.max(axis=(1, 2))))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(x, training=False)), expected,
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("pooling", ["token", "mean"])
def test_hub_vit_pooling(pooling):
    model = quick(lambda: zoo.backbones.get("hub_vit", (16, 16, 1), 4, pooling=pooling, **TINY_VIT))
    inner = model.get_layer("vit_backbone")
    assert isinstance(inner, keras_hub.models.ViTBackbone)
    assert inner.output.shape[1:] == (1 + 16, 16)       # class token + (16/4)^2 patches, hidden 16
    x = np.random.rand(2, 16, 16, 1).astype("float32")
    tokens = keras.ops.convert_to_numpy(inner(x, training=False))
    pooled = tokens[:, 0] if pooling == "token" else tokens[:, 1:].mean(axis=1)
    expected = keras.ops.convert_to_numpy(model.get_layer("embedding")(pooled))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(model(x, training=False)), expected,
                               rtol=1e-5, atol=1e-5)


def test_hub_vit_without_class_token_defaults_to_mean():
    with shapes_only():
        model = zoo.backbones.get("hub_vit", (8, 8, 1), 3, use_class_token=False, **TINY_VIT)
    assert model.get_layer("vit_backbone").output.shape[1] == 4
    assert isinstance(model.get_layer("pool"), keras.layers.GlobalAveragePooling1D)
    with shapes_only(), pytest.raises(ValueError, match="pooling='token'"):
        zoo.backbones.get("hub_vit", (8, 8, 1), 3, use_class_token=False, pooling="token", **TINY_VIT)


@pytest.mark.parametrize("name, kwargs", [("hub_resnet", {}), ("hub_vit", TINY_VIT)])
def test_roundtrip_identical_predictions(name, kwargs):
    model = quick(lambda: zoo.backbones.get(name, (16, 16, 1), 4, **kwargs))
    loaded = roundtrip(model)
    assert type(loaded.layers[1]) is type(model.layers[1])
    # Compared eagerly rather than with predict(): on JAX each predict() is a fresh XLA compile.
    x = np.random.rand(2, 16, 16, 1).astype("float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(x, training=False)),
                               keras.ops.convert_to_numpy(model(x, training=False)), rtol=1e-5, atol=1e-5)


def test_bad_config():
    with pytest.raises(ValueError, match="patch_size"):
        zoo.backbones.get("hub_vit", (30, 30, 1), 4)                 # 30 % 4 != 0
    with pytest.raises(ValueError, match="num_heads"):
        zoo.backbones.get("hub_vit", (16, 16, 1), 4, hidden_dim=10, num_heads=4)
    with pytest.raises(ValueError, match="pooling"):
        zoo.backbones.get("hub_resnet", (16, 16, 1), 4, pooling="token")
    with pytest.raises(ValueError, match=r"unexpected keyword.*'depth'"):
        zoo.backbones.get("hub_vit", (16, 16, 1), 4, depth=3)
    with pytest.raises(ValueError, match=r"unexpected keyword.*'depth'"):
        zoo.backbones.get("hub_resnet", (16, 16, 1), 4, depth=18)


# --- presets: never touch the network -------------------------------------------------------


def test_unknown_preset_fails_before_any_download():
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match=r"preset.*'resnet_7_nowhere'.*resnet_18_imagenet"):
        zoo.backbones.get("hub_resnet", (224, 224, 3), 8, preset="resnet_7_nowhere")
    assert time.perf_counter() - t0 < 5


@pytest.mark.parametrize(
    "name, cls_name, preset",
    [("hub_resnet", "ResNetBackbone", "resnet_18_imagenet"),
     ("hub_vit", "ViTBackbone", "vit_base_patch16_224_imagenet")],
)
def test_offline_preset_fails_with_clear_error(monkeypatch, name, cls_name, preset):
    calls = []

    def offline(cls, preset, **kwargs):
        calls.append((cls.__name__, preset, kwargs))
        raise ConnectionError("Failed to resolve 'api.kaggle.com'")      # what keras-hub raises offline

    monkeypatch.setattr(getattr(keras_hub.models, cls_name), "from_preset", classmethod(offline))
    t0 = time.perf_counter()
    with pytest.raises(RuntimeError, match=rf"preset '{preset}'.*network"):
        zoo.backbones.get(name, (224, 224, 3), 8, preset=preset)
    assert time.perf_counter() - t0 < 5
    inner_name = name.replace("hub_", "") + "_backbone"
    assert calls == [(cls_name, preset, {"load_weights": True, "name": inner_name})]


def test_preset_code_path_builds_the_right_model(monkeypatch):
    """from_preset is called with the preset and load_weights; its backbone is pooled and projected."""
    calls = []

    def fake_from_preset(cls, preset, load_weights=True, **kwargs):
        calls.append((preset, load_weights, kwargs))
        return cls(image_shape=(16, 16, 1), patch_size=4, **{**TINY_VIT, **kwargs})

    monkeypatch.setattr(keras_hub.models.ViTBackbone, "from_preset", classmethod(fake_from_preset))
    model = quick(lambda: zoo.backbones.get(
        "hub_vit", (16, 16, 1), 4, preset="vit_base_patch16_224_imagenet", load_weights=False,
        dropout_rate=0.1))
    assert calls == [("vit_base_patch16_224_imagenet", False, {"name": "vit_backbone", "dropout_rate": 0.1})]
    assert model.output_shape == (None, 4)
    assert model.get_layer("vit_backbone").dropout_rate == 0.1
    y = model(np.random.rand(2, 16, 16, 1).astype("float32"), training=False)
    assert tuple(y.shape) == (2, 4)
    # A preset fixes the ViT input size: a different one is refused with a clear message.
    with shapes_only(), pytest.raises(ValueError, match=r"input_shape.*does not match the preset"):
        zoo.backbones.get("hub_vit", (32, 32, 1), 4, preset="vit_base_patch16_224_imagenet")
