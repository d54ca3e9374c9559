"""The base of every layer on the Poincaré ball: dtype policy, curvature ownership and the one-ball check.

A model has one ball per curvature owner. `BallLayer` gives each layer on the ball

- the float32 dtype policy (`geometry_dtype`: mixed policies become float32, float64 stays);
- its curvature c: a fixed number, a trainable weight of a `BallMapLayer` (`train_c=True`, kept positive
  as c = max(softplus(raw), MIN_TRAINABLE_C)), or the c of another ball layer it shares
  (`c=<that layer>`, e.g. `HyperbolicMLR(10, c=to_poincare)`);
- the one-ball check: when a layer that reads ball points (FromPoincare, HyperbolicMLR, HyperbolicLinear,
  PoincareDistance, a Poincaré PrototypicalHead) is called on symbolic inputs (a functional or
  Sequential model, and again when a saved model is loaded), the graph is followed upstream to the
  nearest layers that write ball points (ToPoincare, HyperbolicLinear). Their ball must be this layer's
  ball, or a ValueError names both layers and both curvatures. Two fixed curvatures are the same ball
  when they are equal (to float32 rounding, the precision the layers compute in); a trainable c is a
  ball of its own, shared only by layers built with `c=<its owner>`.

Sharing is stored in the config as `share_ball=True` (with the owner's initial c): when the model is
loaded, the layer takes the ball of the ball layer upstream of it again, so a trained c stays shared.
"""

import math

import keras
import numpy as np
from keras import ops

from zoo._checks import check_bool, check_int
from zoo.geometry import poincare as P
from zoo.geometry.curvature import check_c, is_scalar_number
from zoo.geometry.numerics import MIN_TRAINABLE_C
from zoo.layers._dtype import geometry_dtype

__all__ = ["BallLayer", "BallMapLayer", "geometry_dtype", "inverse_softplus", "upstream_ball_layers"]

# Two fixed curvatures are one ball when they agree to this relative tolerance: the layers compute in
# float32, where c and c(1 + 1e-7) are the same number (np.float32(0.05) and 0.05 differ by 1.5e-8).
SAME_C_RTOL = 1e-7


def inverse_softplus(c):
    """raw with softplus(raw) = c, in float64 (log(expm1(c)) written as c + log(-expm1(-c)), exact for large c)."""
    return float(c + math.log(-math.expm1(-c)))


class _OwnerRef:
    """Holds the layer whose ball is shared, out of sight of Keras' (and torch's) sub-layer tracking: the
    owner's weights belong to the owner, not to every layer that shares its c."""

    __slots__ = ("layer", "shared_by_argument")

    def __init__(self, layer, shared_by_argument):
        self.layer = layer
        self.shared_by_argument = shared_by_argument  # `c=<layer>` (True) or linked to the upstream ball


def _nested_outputs(op):
    """The output KerasTensors of a nested functional / Sequential model, or None for any other op."""
    if not isinstance(op, keras.Model):
        return None
    try:
        return keras.tree.flatten(op.outputs)
    except (AttributeError, ValueError):  # subclassed model: no graph to follow
        return None


def upstream_ball_layers(inputs):
    """The nearest layers upstream of `inputs` that write points of a Poincaré ball (a list, graph order).

    Follows the `_keras_history` of every KerasTensor in `inputs` through the layers of the model (and
    into nested functional models) and stops on each path at the first `BallLayer`: it is returned when
    its outputs are ball points (ToPoincare, HyperbolicLinear), and ends the path otherwise (FromPoincare,
    HyperbolicMLR, PoincareDistance, PrototypicalHead output tangent vectors, logits or distances).
    Eager tensors have no history: the list is empty.
    """
    found = []
    seen = set()
    # (tensor, outer node inputs to continue with when an Input of a nested model is reached)
    stack = [(t, None) for t in keras.tree.flatten(inputs) if isinstance(t, keras.KerasTensor)]
    while stack:
        tensor, outer = stack.pop()
        history = getattr(tensor, "_keras_history", None)
        if history is None:
            continue
        op, node_index, tensor_index = history
        key = (id(op), node_index, tensor_index)
        if key in seen:
            continue
        seen.add(key)
        if isinstance(op, BallLayer):
            if op._writes_ball() and all(f is not op for f in found):
                found.append(op)
            continue
        nodes = getattr(op, "_inbound_nodes", [])
        node = nodes[node_index] if node_index < len(nodes) else None
        node_inputs = [(t, outer) for t in node.input_tensors] if node is not None else []
        if isinstance(op, keras.layers.InputLayer):
            if outer is not None:  # the Input of a nested model: continue with the outer call's inputs
                stack.extend(outer)
            continue
        inner = _nested_outputs(op)
        if inner is not None and tensor_index < len(inner):
            stack.append((inner[tensor_index], node_inputs))
            continue
        stack.extend(node_inputs)
    return found


def _describe(layer):
    """'ToPoincare 'name' (c=0.5)', with the kind of c (trainable, shared) spelled out."""
    owner = layer.ball_owner()
    if owner.has_trainable_c:
        what = f"trainable c, initially {owner.c:g}"
    else:
        what = f"c={owner.c:g}"
    if owner is not layer:
        what += f", shared from {type(owner).__name__} '{owner.name}'"
    return f"{type(layer).__name__} '{layer.name}' ({what})"


class BallLayer(keras.layers.Layer):
    """Base of the layers on the Poincaré ball: float32 policy, curvature c (own or shared), one-ball check.

    Args:
        c: curvature magnitude > 0 (ball radius 1/sqrt(c)), or a `BallLayer` whose c this layer shares (a
            trainable c then trains once, for both).
        share_ball: take the ball of the nearest ball layer upstream when called on symbolic inputs (set
            by `c=<layer>`; stored in the config so that a loaded model shares the ball again). `c` is
            then the owner's initial value, used by eager calls on plain tensors.
        **kwargs: Layer arguments; the dtype policy is float32 (float64 if asked), mixed policies become
            float32 (`geometry_dtype`).

    Subclasses say what they do with ball points: `reads_ball` (the inputs are points of this layer's
    ball: checked against the upstream owner) and `writes_ball` (the outputs are points of this ball:
    layers downstream are checked against it).
    """

    reads_ball = True
    writes_ball = False

    def __init__(self, c=1.0, share_ball=False, **kwargs):
        kwargs["dtype"] = geometry_dtype(kwargs.get("dtype"))
        super().__init__(**kwargs)
        self._owner = None
        share_ball = check_bool(share_ball, "share_ball", owner=type(self).__name__)
        if isinstance(c, BallLayer):
            self._owner = _OwnerRef(c, shared_by_argument=True)
            c, share_ball = c.ball_owner().c, True
        elif not is_scalar_number(c):
            raise ValueError(f"{type(self).__name__}: `c` must be a finite number > 0 (curvature -c, ball "
                             f"radius 1/sqrt(c)) or a ball layer whose c to share; got {c!r}.")
        self.c = check_c(c)
        self.share_ball = share_ball

    # -- the ball ------------------------------------------------------------------------------------

    @property
    def has_trainable_c(self):
        """Whether this layer owns a trainable c (only `BallMapLayer(train_c=True)` does)."""
        return False

    def ball_owner(self):
        """The layer that owns this layer's c: itself, or the end of the chain of shared balls.

        (A method, not a property: Keras' saving walks the properties of a layer, and one returning the
        layer itself would recurse.)"""
        layer = self
        while layer._owner is not None:
            layer = layer._owner.layer
        return layer

    def _own_curvature(self):
        return self.c

    @property
    def curvature(self):
        """The curvature magnitude c of the forward pass: the owner's c when shared, else this layer's (a
        Python float, or a scalar tensor when it is trainable)."""
        owner = self.ball_owner()
        return owner._own_curvature()

    def _ball_key(self):
        owner = self.ball_owner()
        if owner.has_trainable_c:
            return ("trainable", id(owner))
        return ("fixed", owner.c)

    def same_ball(self, other):
        """Whether `other` (a BallLayer) computes on the same ball as this layer."""
        mine, theirs = self._ball_key(), other._ball_key()
        if mine[0] == "fixed" and theirs[0] == "fixed":
            return math.isclose(mine[1], theirs[1], rel_tol=SAME_C_RTOL)
        return mine == theirs

    def _reads_ball(self):
        return self.reads_ball

    def _writes_ball(self):
        return self.writes_ball

    def _check_ball(self, inputs):
        """Share or check the ball of the ball layers upstream of symbolic `inputs` (see the module doc)."""
        upstream = upstream_ball_layers(inputs)
        if not upstream:
            if self._owner is not None and self._owner.shared_by_argument and any(
                    isinstance(t, keras.KerasTensor) for t in keras.tree.flatten(inputs)):
                owner = self._owner.layer
                raise ValueError(
                    f"{type(self).__name__} '{self.name}' shares the c of {type(owner).__name__} '{owner.name}' "
                    f"(`c=<layer>`) but is called on inputs that do not come from that ball: a saved model "
                    f"could not restore the link. Call it on that layer's output (or on tensors computed from "
                    f"it), or give it a fixed c."
                )
            return
        if self.share_ball and self._owner is None:
            self._owner = _OwnerRef(upstream[0], shared_by_argument=False)
        for other in upstream:
            if other is not self and not self.same_ball(other):
                raise ValueError(
                    f"{_describe(self)} is called on points of the Poincaré ball of {_describe(other)}: two "
                    f"different balls in one model. Give both layers the same fixed c, or let this layer "
                    f"share the ball of its owner with `c=<that layer>` (e.g. "
                    f"zoo.layers.HyperbolicMLR(num_classes, c=to_poincare))."
                )

    def __call__(self, *args, **kwargs):
        if self._reads_ball():
            points = args[0] if args else kwargs.get("inputs")
            if points is not None:
                self._check_ball(points)
        return super().__call__(*args, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.update(c=self.c, share_ball=self.share_ball)
        return config


class BallMapLayer(BallLayer):
    """Base of the maps between Euclidean space and the ball (ToPoincare, FromPoincare): a curvature that
    may be a trainable weight of the layer, an optional (learnable) base point, dimension checks.

    Args:
        c: curvature magnitude > 0 (initial value when `train_c`), or a ball layer to share c with.
        train_c: make c a trainable weight of *this* layer, c = max(softplus(raw), MIN_TRAINABLE_C).
        train_x: learn a base point x_p = project(expmap0(v)) (v in the tangent space at 0).
        ball_dim: expected input dimension (optional; checked against the input when given).
        base_point: initial (train_x) or fixed (not train_x) base point, a point of the ball given as
            a list of ball_dim floats; None = the origin.
        share_ball, **kwargs: see `BallLayer`.
    """

    def __init__(self, c=1.0, train_c=False, train_x=False, ball_dim=None, base_point=None, **kwargs):
        super().__init__(c=c, **kwargs)
        self.train_c = check_bool(train_c, "train_c", owner=type(self).__name__)
        if self.train_c and self._owner is not None:
            raise ValueError(f"{type(self).__name__}: `train_c=True` makes c a weight of this layer; it cannot "
                             f"also share the c of {type(self._owner.layer).__name__} '{self._owner.layer.name}'.")
        self.train_x = check_bool(train_x, "train_x", owner=type(self).__name__)
        if ball_dim is not None:
            ball_dim = check_int(ball_dim, "ball_dim", minimum=1)
        self.ball_dim = ball_dim
        self.base_point = self._checked_base_point(base_point, ball_dim)
        self._c_raw = None
        self._xp_raw = None

    def _checked_base_point(self, base_point, ball_dim):
        if base_point is None:
            return None
        bp = np.asarray(base_point, dtype=np.float64)
        if bp.ndim != 1 or not np.all(np.isfinite(bp)):
            raise ValueError(f"`base_point` must be a finite 1-D list of floats; got {base_point!r}.")
        sq = float(np.sum(bp * bp))
        if self.c * sq >= 1.0:
            raise ValueError(
                f"`base_point` must lie inside the Poincaré ball c*||x||^2 < 1 (radius 1/sqrt(c) = "
                f"{1 / math.sqrt(self.c):.6g} for c={self.c}); got a point of norm {math.sqrt(sq):.6g}."
            )
        if ball_dim is not None and bp.shape[0] != ball_dim:
            raise ValueError(f"`base_point` has {bp.shape[0]} coordinates but `ball_dim` is {ball_dim}.")
        return [float(v) for v in bp]

    # -- weights ------------------------------------------------------------------------------------

    def _check_dim(self, input_shape):
        dim = input_shape[-1]
        if dim is None:
            raise ValueError(f"{type(self).__name__} needs a known last (feature) dimension; got {input_shape}.")
        if self.ball_dim is not None and dim != self.ball_dim:
            raise ValueError(
                f"{type(self).__name__}: the input has dimension {dim} but `ball_dim` is {self.ball_dim}."
            )
        if self.base_point is not None and len(self.base_point) != dim:
            raise ValueError(
                f"{type(self).__name__}: `base_point` has {len(self.base_point)} coordinates but the input "
                f"has dimension {dim}."
            )
        return int(dim)

    def _build_ball(self, dim):
        if self.train_c:
            self._c_raw = self.add_weight(
                name="c_raw", shape=(), trainable=True,
                initializer=keras.initializers.Constant(inverse_softplus(self.c)),
            )
        if self.train_x or self.base_point is not None:
            if self.base_point is None:
                init = np.zeros((dim,))
            else:  # store v = logmap0(base point) (the reference's parametrisation of x_p)
                bp = np.asarray(self.base_point, np.float64)
                n = np.linalg.norm(bp)
                init = bp if n == 0 else np.arctanh(math.sqrt(self.c) * n) * bp / (math.sqrt(self.c) * n)
            self._xp_raw = self.add_weight(
                name="base_point", shape=(dim,), trainable=self.train_x,
                initializer=keras.initializers.Constant(init.astype("float64")),
            )

    @property
    def has_trainable_c(self):
        return self.train_c

    def _own_curvature(self):
        if self._c_raw is None:
            return self.c
        return ops.maximum(ops.softplus(self._c_raw), MIN_TRAINABLE_C)

    def _base(self, c):
        """The base point x_p = project(expmap0(v)) as [1, d], or None for the origin."""
        if self._xp_raw is None:
            return None
        return P.expmap0(ops.expand_dims(ops.convert_to_tensor(self._xp_raw), 0), c)

    def base_point_value(self):
        """The current base point in the ball (numpy, [d]) or None."""
        b = self._base(self.curvature)
        return None if b is None else ops.convert_to_numpy(b)[0]

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            train_c=self.train_c, train_x=self.train_x, ball_dim=self.ball_dim, base_point=self.base_point,
        )
        return config
