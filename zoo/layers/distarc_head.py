"""DistArcHead (HyperSpaceX): classes on concentric hyperspheres, radial proxies ω_k = r_k·ŵ_k.

Public parts of this module:
    `DistArcHead`: the layer.
    `unpack_outputs(outputs)` (also `DistArcHead.unpack`): the packed output layout
        [-δ (K) | -Q·(2 + cos θ) (K) | -Q·(2 + cos φ) (K) | -Q (1)] -> (δ, cos θ, cos φ), each [B, K];
        the contract between the head and the stateless `zoo.losses.DistArcLoss`.
    `resolve_radii(...)`: the radius configuration (per-sphere radii, per-class radii).
"""

import math

import keras
import numpy as np
from keras import ops

from zoo.geometry import numerics as nx
from zoo.geometry import sphere

__all__ = ["DistArcHead"]


def resolve_radii(num_classes, radii=None, num_spheres=None, classes_per_sphere=None, radial_gap=10.0,
                  first_radius=10.0):
    """Per-sphere radii and the per-class radius vector (class k lies on sphere k // classes_per_sphere).

    Returns:
        (sphere_radii: list of floats, class_radii: list of K floats, classes_per_sphere: int).
    """
    owner = "DistArcHead"
    k = int(num_classes)
    if radii is not None:
        radii = [float(r) for r in np.ravel(np.asarray(radii, dtype="float64"))]
        if not radii:
            raise ValueError(f"{owner}: `radii` must not be empty.")
        if not all(math.isfinite(r) and r > 0 for r in radii):
            raise ValueError(f"{owner}: every radius must be finite and > 0; got radii={radii}.")
        if any(b <= a for a, b in zip(radii, radii[1:])):
            raise ValueError(f"{owner}: `radii` must be strictly increasing; got radii={radii}.")
        if num_spheres is not None and int(num_spheres) != len(radii):
            raise ValueError(f"{owner}: num_spheres={num_spheres} but {len(radii)} radii were given.")
        num_spheres = len(radii)
    for name, value in (("num_spheres", num_spheres), ("classes_per_sphere", classes_per_sphere)):
        if value is not None and (isinstance(value, bool) or not hasattr(value, "__index__") or int(value) < 1):
            raise ValueError(f"{owner}: `{name}` must be an integer >= 1; got {value!r}.")
    if num_spheres is None and classes_per_sphere is None:
        classes_per_sphere = 1  # released code: one class per sphere
    if classes_per_sphere is None:
        classes_per_sphere = -(-k // int(num_spheres))
    classes_per_sphere = int(classes_per_sphere)
    needed = -(-k // classes_per_sphere)
    if num_spheres is None:
        num_spheres = needed
    num_spheres = int(num_spheres)
    if num_spheres != needed:
        raise ValueError(
            f"{owner}: {k} classes at classes_per_sphere={classes_per_sphere} fill {needed} spheres, but "
            f"num_spheres={num_spheres} (every sphere must hold at least one class)."
        )
    if radii is None:
        gap = float(radial_gap)
        first = float(first_radius)
        if not (math.isfinite(gap) and gap > 0):
            raise ValueError(f"{owner}: `radial_gap` must be finite and > 0; got {radial_gap!r}.")
        if not (math.isfinite(first) and first > 0):
            raise ValueError(f"{owner}: `first_radius` must be finite and > 0; got {first_radius!r}.")
        radii = [first + gap * i for i in range(num_spheres)]
    class_radii = [radii[j // classes_per_sphere] for j in range(k)]
    return radii, class_radii, classes_per_sphere


def unpack_outputs(outputs):
    """Split a DistArcHead output [B, 3K+1] into (δ, cos θ, cos φ), each [B, K].

    The layout is documented in `DistArcHead`: [-δ | -Q(2 + cos θ) | -Q(2 + cos φ) | -Q].
    """
    width = outputs.shape[-1]
    if width is None or (int(width) - 1) % 3 != 0 or int(width) < 4:
        raise ValueError(
            "DistArc: expected the DistArcHead output of width 3K+1 ([-δ | -Q(2+cos θ) | -Q(2+cos φ) | -Q]); "
            f"got a last axis of {width}."
        )
    k = (int(width) - 1) // 3
    q = outputs[..., 3 * k:]
    delta = -outputs[..., :k]
    cos_theta = outputs[..., k:2 * k] / q - 2.0
    cos_phi = outputs[..., 2 * k:3 * k] / q - 2.0
    return delta, cos_theta, cos_phi


@keras.saving.register_keras_serializable(package="zoo")
class DistArcHead(keras.layers.Layer):
    """HyperSpaceX head: learnable class directions ŵ_k on fixed concentric spheres of radius r_k.

    For an embedding x and the radial proxy ω_k = r_k·ŵ_k (ŵ_k the normalised column k of W [d, K]):

        cos θ_k = x̂·ŵ_k,
        δ_k     = ‖x - ω_k‖² = (‖x‖ - r_k)² + 2·r_k·(‖x‖ - x·ŵ_k)
                  (the expansion ‖x‖² - 2r_k(x·ŵ_k) + r_k², written as a sum of non-negative terms),
        cos φ_k = (r_k - x·ŵ_k) / ‖x - ω_k‖   (angle at the proxy between "to the origin" and "to x"),

    all from one [B, d]×[d, K] matmul: memory O(B·K), never a [B, K, d] tensor.

    Precision: the closed form has a float32 error of about ε·r_k·‖x‖ (x·ŵ_k is only known to ε·‖x‖),
    which next to a proxy swamps δ_k itself (at radius 100 and distance 0.01 from the proxy, δ was off
    ~10×). So the column of the nearest proxy k* = argmin_k δ_k (the true class once training works) is
    computed from R = x - r_k*·ŵ_k* directly (a [B, d] gather): δ_k* = ‖R‖², cos φ_k* = -R·ŵ_k*/‖R‖,
    accurate down to the float32 rounding of the proxy itself (error ~ε·r/‖R‖ in cos φ and relative in δ).
    Every other column has δ_k >= ‖ω_k - ω_k*‖²/4, so its relative error ε·r_k·‖x‖/δ_k is bounded by the
    spacing of the proxies and does not grow as x approaches its own proxy.

    Output layout (width 3K+1), chosen so that one stock accuracy metric and `argmax` of
    `model.predict` give the paper's prediction, while the stateless `zoo.losses.DistArcLoss` still
    receives everything it needs from the same tensor:

        [ -δ (K) | -Q·(2 + cos θ) (K) | -Q·(2 + cos φ) (K) | -Q (1) ],   Q = (‖x‖ + r_max + 1)².

    Since δ_k <= (‖x‖ + r_k)² < Q, every one of the last 2K+1 entries is <= -Q < max_k(-δ_k), so the
    argmax over the whole row is always argmin_k ‖x - ω_k‖ (the nearest radial proxy, the paper's
    radial-angular measure ‖R_k‖). `outputs[:, :K]` are the scores -δ; `unpack_outputs` (or
    `DistArcHead.unpack`) recovers (δ, cos θ, cos φ) exactly up to float32 rounding (the encoding is
    multiplicative, so cos θ keeps ~1e-7 accuracy whatever the radii).

    Radii: sphere i has radius `first_radius + i·radial_gap` (or `radii[i]`), class k sits on sphere
    k // classes_per_sphere. The default (one class per sphere, first radius 10, gap 10) gives
    r = 10, 20, ..., 10K: the δ radii of the released objects script. Radii are constants; only W is
    trained. The layer computes in float32 even under mixed precision.

    Args:
        num_classes: K >= 1.
        radii: optional strictly increasing positive per-sphere radii (overrides gap/first radius).
        num_spheres: number of spheres (default: enough for `classes_per_sphere`).
        classes_per_sphere: classes per sphere (default 1, or ceil(K / num_spheres)).
        radial_gap: distance between consecutive spheres (> 0). Default 10 (released code's `gap`).
        first_radius: radius of the innermost sphere (> 0). Default 10.
        kernel_initializer: initializer of W [d, K]. Default "he_uniform" (the code's Kaiming-uniform).
        **kwargs: `keras.layers.Layer` arguments.

    Example:
        >>> head = zoo.layers.DistArcHead(10, radial_gap=10.0)
        >>> out = head(keras.ops.ones((4, 2)))                    # [4, 31]
        >>> pred = keras.ops.argmax(out, -1)                      # nearest radial proxy
        >>> loss = zoo.losses.DistArcLoss()(labels, out)

    Reference:
        Chiranjeev, Dosi, Thakral, Vatsa, Singh, "HyperSpaceX: Radial and Angular Exploration of
        HyperSpherical Dimensions", ECCV 2024 (poster and IAB-IITJ/HyperSpaceX `train_objects.py`).

    Departures from the reference code:
        One radius set for δ, cos φ and prediction (the code uses r - 9 for φ, which makes class 0's
        radius negative, r + 5 for δ and r for its "Accuracy1"); δ and cos φ in closed form instead of a
        [B, K, d] broadcast; prediction is argmin δ ("Accuracy2"), not argmax of
        cos θ - softmax((r - ‖x‖)²). The nearest proxy's δ and cos φ are recomputed from x - ω (see
        Precision); the released code broadcasts x - ω for every class, which is exact but [B, K, d].
    """

    def __init__(self, num_classes, radii=None, num_spheres=None, classes_per_sphere=None, radial_gap=10.0,
                 first_radius=10.0, kernel_initializer="he_uniform", **kwargs):
        kwargs["dtype"] = kwargs.get("dtype") or "float32"
        super().__init__(**kwargs)
        if isinstance(num_classes, bool) or not hasattr(num_classes, "__index__") or int(num_classes) < 1:
            raise ValueError(f"DistArcHead: `num_classes` must be an integer >= 1; got {num_classes!r}.")
        self.num_classes = int(num_classes)
        self.sphere_radii, self.class_radii, self.classes_per_sphere = resolve_radii(
            self.num_classes, radii, num_spheres, classes_per_sphere, radial_gap, first_radius
        )
        self._radii_arg = None if radii is None else list(self.sphere_radii)
        self.num_spheres_arg = None if num_spheres is None else int(num_spheres)
        self.classes_per_sphere_arg = None if classes_per_sphere is None else int(classes_per_sphere)
        self.radial_gap = float(radial_gap)
        self.first_radius = float(first_radius)
        self.num_spheres = len(self.sphere_radii)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def build(self, input_shape):
        dim = input_shape[-1]
        if dim is None:
            raise ValueError("DistArcHead: the embedding dimension (last input axis) must be known.")
        self.kernel = self.add_weight(name="kernel", shape=(int(dim), self.num_classes),
                                      initializer=self.kernel_initializer, trainable=True)

    def directions(self):
        """Unit class directions ŵ_k, [K, d]."""
        return sphere.normalize(ops.transpose(self.kernel))

    def proxies(self):
        """Radial proxies ω_k = r_k·ŵ_k, [K, d]."""
        r = ops.convert_to_tensor(np.asarray(self.class_radii, "float32"))
        return ops.expand_dims(r, -1) * self.directions()

    def geometry(self, inputs):
        """(δ, cos θ, cos φ, ‖x‖) for embeddings [B, d], each [B, K] (‖x‖: [B, 1]); see the class docs."""
        x = ops.cast(inputs, "float32")
        r = ops.convert_to_tensor(np.asarray(self.class_radii, "float32"))
        w_hat = self.directions()  # [K, d]
        norm = nx.safe_norm(x)  # [B, 1]
        dot = ops.matmul(x, ops.transpose(w_hat))  # x·ŵ_k [B, K]: the only [B, d]x[d, K] product
        cos = ops.clip(dot / norm, -1.0, 1.0)
        # Every column in closed form: δ_k = (‖x‖ - r_k)² + 2·r_k·(‖x‖ - x·ŵ_k), a sum of non-negative terms.
        delta = ops.square(norm - r) + 2.0 * r * ops.maximum(norm - dot, 0.0)
        cos_phi = (r - dot) / nx.safe_sqrt(delta)
        # The nearest proxy's column from R = x - ω_k* itself (exact where the closed form cancels).
        nearest = ops.argmin(delta, axis=-1)  # [B]
        w_near = ops.take(w_hat, nearest, axis=0)  # [B, d]
        diff = x - ops.expand_dims(ops.take(r, nearest, axis=0), -1) * w_near  # R = x - r_k*·ŵ_k*
        delta_near = ops.sum(ops.square(diff), axis=-1, keepdims=True)
        cos_phi_near = -ops.sum(diff * w_near, axis=-1, keepdims=True) / nx.safe_norm(diff)
        is_near = ops.equal(ops.expand_dims(ops.arange(self.num_classes, dtype="int32"), 0),
                            ops.expand_dims(ops.cast(nearest, "int32"), -1))
        delta = ops.where(is_near, delta_near, delta)
        cos_phi = ops.clip(ops.where(is_near, cos_phi_near, cos_phi), -1.0, 1.0)
        return delta, cos, cos_phi, norm

    def call(self, inputs):
        delta, cos, cos_phi, norm = self.geometry(inputs)
        bound = ops.square(norm + (max(self.class_radii) + 1.0))  # Q > max_k δ_k
        return ops.concatenate([-delta, -bound * (2.0 + cos), -bound * (2.0 + cos_phi), -bound], axis=-1)

    @staticmethod
    def unpack(outputs):
        """(δ, cos θ, cos φ) from the layer's output; see `unpack_outputs`."""
        return unpack_outputs(outputs)

    @staticmethod
    def scores(outputs):
        """The prediction scores -δ [B, K] (argmax = nearest radial proxy) from the layer's output."""
        k = (int(outputs.shape[-1]) - 1) // 3
        return outputs[..., :k]

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (3 * self.num_classes + 1,)

    def get_config(self):
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "radii": self._radii_arg,
            "num_spheres": self.num_spheres_arg,
            "classes_per_sphere": self.classes_per_sphere_arg,
            "radial_gap": self.radial_gap,
            "first_radius": self.first_radius,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
        }
