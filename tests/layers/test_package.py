"""The zoo.layers package: explicit exports (every public class of every module, registered with keras.saving)
and `python -m pydoc zoo.layers` listing every layer."""

import inspect
import pkgutil
import pydoc
import sys

import keras

import zoo.layers


def test_every_public_name_of_every_module_is_exported_and_registered():
    modules = [info.name for info in pkgutil.iter_modules(zoo.layers.__path__) if not info.name.startswith("_")]
    assert "poincare_classifier" in modules
    for name in modules:
        module = sys.modules.get(f"zoo.layers.{name}")
        assert module is not None, f"zoo.layers does not import zoo.layers.{name}"
        for public in module.__all__:
            assert public in zoo.layers.__all__ and getattr(zoo.layers, public) is getattr(module, public), public
            obj = getattr(module, public)
            if inspect.isclass(obj):
                assert issubclass(obj, keras.layers.Layer) and obj.__module__ == module.__name__
                assert keras.saving.get_registered_object(f"zoo>{public}") is obj, public
    assert sorted(zoo.layers.__all__) == sorted(set(zoo.layers.__all__))


def test_pydoc_lists_every_layer():
    text = pydoc.render_doc(zoo.layers, renderer=pydoc.plaintext)
    for name in zoo.layers.__all__:
        assert f"class {name}" in text or f"{name}(" in text, name
