"""Shared by the `__init__` of zoo.layers, zoo.losses, zoo.metrics and zoo.callbacks: import every module
of the package and export its public names (its `__all__`). Registering a Keras-serializable object is
then just adding a file, and importing the package registers every class with keras.saving."""

import importlib
import pkgutil


def export_modules(package_name, package_path, namespace):
    """Import each non-private module of the package; copy its `__all__` names into `namespace`.

    Returns the combined `__all__` list."""
    exported = []
    for info in sorted(pkgutil.iter_modules(package_path), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package_name}.{info.name}")
        for name in getattr(module, "__all__", []):
            namespace[name] = getattr(module, name)
            exported.append(name)
    return exported
