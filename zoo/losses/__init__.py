"""zoo.losses: every module in this folder is imported and its public names (its `__all__`) exported
(one public object per file); importing the package registers every class with keras.saving."""

from zoo._autoimport import export_modules

__all__ = export_modules(__name__, __path__, globals())
