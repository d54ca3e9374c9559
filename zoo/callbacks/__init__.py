"""zoo.callbacks: every module in this folder is imported here and its public names (its `__all__`)
are exported, so registering a Keras-serializable object is just adding a file (one public object per
file). Importing the package registers every class with keras.saving, so `.keras` files load."""

import importlib as _importlib
import pkgutil as _pkgutil

__all__ = []
for _info in sorted(_pkgutil.iter_modules(__path__), key=lambda m: m.name):
    if _info.name.startswith("_"):
        continue
    _module = _importlib.import_module(f"{__name__}.{_info.name}")
    for _name in getattr(_module, "__all__", []):
        globals()[_name] = getattr(_module, _name)
        __all__.append(_name)
del _importlib, _pkgutil
