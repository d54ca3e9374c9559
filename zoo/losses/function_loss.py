"""`FunctionLoss`: the base of every function-backed loss of the zoo (a pure function plus its arguments)."""

from __future__ import annotations

from typing import Any, Callable

import keras

from zoo.losses._common import base_config

__all__ = ["FunctionLoss"]


def _serialize(value: Any) -> Any:
    """A config value: Keras objects (e.g. a nested base loss) through keras.saving, the rest as is."""
    if isinstance(value, keras.losses.Loss):
        return keras.saving.serialize_keras_object(value)
    return value


@keras.saving.register_keras_serializable(package="zoo")
class FunctionLoss(keras.losses.Loss):
    """A Keras loss that is a pure function of (y_true, y_pred) and a few keyword arguments.

        loss.call(y_true, y_pred) = fn(y_true, y_pred, **kwargs)
        loss.get_config()         = {name, reduction, dtype} ∪ kwargs

    written once here (the shape of keras' `LossFunctionWrapper`). Every keyword argument becomes an
    attribute of the same name (`loss.margin`) and a key of the config; `call` reads the attributes, so
    the function always sees the current values. A subclass checks its arguments in its own `__init__`
    (explicit signature, defaults, messages) and passes them on; the pure function stays usable without
    Keras (`zoo.losses.arcface.arcface_loss(y, cos)`), and the class is a thin wrapper over it.

    Args:
        fn: the per-sample (or batch-scalar) function `fn(y_true, y_pred, **kwargs)`. Subclasses set it as
            a class attribute (`fn = staticmethod(my_loss)`) and leave this None; when given here it must
            be serialisable by `keras.saving` (e.g. registered with `register_keras_serializable`) for
            the loss to be saved.
        reduction, name, dtype: as `keras.losses.Loss`.
        **kwargs: the function's keyword arguments (already checked), JSON-able or Keras objects.

    Example:
        >>> @keras.saving.register_keras_serializable(package="my")
        ... def scaled_mse(y_true, y_pred, scale=1.0):
        ...     return scale * keras.ops.mean(keras.ops.square(y_true - y_pred), axis=-1)
        >>> loss = zoo.losses.FunctionLoss(scaled_mse, scale=2.0)
        >>> loss.scale, loss.get_config()["scale"]            # (2.0, 2.0)

    To add a loss to the zoo, subclass it (see `zoo.losses.ContrastiveLoss`): write the pure function,
    check the arguments in `__init__`, call `super().__init__(reduction=..., name=..., dtype=..., **checked)`.

    Reference:
        keras `LossFunctionWrapper` (the pattern: a function and its stored kwargs).

    Departures from the reference code:
        The keyword arguments are attributes read at call time (keras keeps a private dict), and a
        subclass names its function as a class attribute, so its config holds no function entry.
    """

    fn: Callable | None = None

    def __init__(self, fn: Callable | None = None, reduction: str = "sum_over_batch_size", name: str | None = None,
                 dtype: Any = None, **kwargs: Any):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        if fn is not None:
            if isinstance(fn, (dict, str)):
                fn = keras.saving.deserialize_keras_object(fn)
            if not callable(fn):
                raise ValueError(f"{type(self).__name__}: `fn` must be callable; got {fn!r}.")
            self.fn = fn
        elif type(self).fn is None:
            raise ValueError(f"{type(self).__name__}: pass the loss function `fn` (or set it on the subclass).")
        self._own_fn = fn is not None
        self._fn_args = tuple(kwargs)
        for key, value in kwargs.items():
            setattr(self, key, value)

    @property
    def fn_kwargs(self) -> dict:
        """The function's keyword arguments, read from the attributes of the same name."""
        return {key: getattr(self, key) for key in self._fn_args}

    def call(self, y_true, y_pred):
        return self.fn(y_true, y_pred, **self.fn_kwargs)

    def get_config(self) -> dict:
        config = base_config(self)
        if self._own_fn:
            config["fn"] = keras.saving.serialize_keras_object(self.fn)
        config.update({key: _serialize(value) for key, value in self.fn_kwargs.items()})
        return config
