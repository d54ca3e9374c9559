"""`PoincareClassifier`: ToPoincare and HyperbolicMLR on one ball, as one layer (the hyperbolic image head)."""

import keras

from zoo._checks import check_bool, check_int
from zoo.geometry.curvature import check_c
from zoo.layers._dtype import geometry_dtype
from zoo.layers.hyperbolic_mlr import HyperbolicMLR
from zoo.layers.to_poincare import ToPoincare

__all__ = ["PoincareClassifier"]


@keras.saving.register_keras_serializable(package="zoo")
class PoincareClassifier(keras.layers.Layer):
    """Euclidean features [B, d] -> logits [B, K] on one Poincaré ball: HyperbolicMLR(ToPoincare(x)).

        y = project(exp_{x_p}(x))                                   (zoo.layers.ToPoincare, Riemannian rescale)
        logits_k = (lambda_{p_k}||a_k||/sqrt c) asinh(2 sqrt(c) <(-p_k)(+)y, a_k>
                                                    / ((1 - c||(-p_k)(+)y||^2)||a_k||))   (zoo.layers.HyperbolicMLR)

    with one curvature c for both parts: the MLR shares the ToPoincare's c (`HyperbolicMLR(K,
    c=to_poincare)`), so a trainable c (`train_c=True`) trains once and classifies on the ball it maps to.
    This is the "poincare" head of `zoo.heads` (train with a softmax cross-entropy from logits).

    Args:
        num_classes: K >= 1.
        c: curvature magnitude > 0 (ball radius 1/sqrt(c)); with `train_c` the initial value.
        train_c: learn c (softplus-parametrised, kept >= MIN_TRAINABLE_C), shared by both parts.
        train_x: learn the base point of the exponential map (see `zoo.layers.ToPoincare`).
        riemannian: rescale the gradient reaching the ball points by (1 - c||y||^2)^2 / 4 (default True).
        ball_dim: optional expected input dimension; a mismatch with the input is an error.
        **kwargs: Layer arguments; the dtype policy is float32 (float64 if asked), mixed policies are
            replaced by float32.

    Attributes:
        to_poincare: the `ToPoincare` part (owns c and the base point).
        mlr: the `HyperbolicMLR` part (offsets p~ and normals a~).
        curvature: the current c (a float, or a scalar tensor when trainable).

    Example:
        >>> head = zoo.layers.PoincareClassifier(10, c=0.05, train_c=True)
        >>> logits = head(keras.ops.ones((4, 2)))       # [4, 10]
        >>> points = head.embed(keras.ops.ones((4, 2)))   # the ball points the MLR classifies
        >>> float(head.curvature)                         # 0.05 until trained

    Reference:
        Khrulkov et al., "Hyperbolic Image Embeddings", CVPR 2020 (the MNIST/Omniglot classifier head,
        hyptorch/nn.py `ToPoincare` + `HyperbolicMLR`); Ganea, Bécigneul, Hofmann, "Hyperbolic Neural
        Networks", NeurIPS 2018 (MLR, eq. 25).

    Departures from the reference code:
        - In the reference MNIST example ToPoincare trains its own c while the MLR keeps the initial one;
          here both parts always use the one current c.
        - Every departure of `zoo.layers.ToPoincare` and `zoo.layers.HyperbolicMLR` (closed-form MLR,
          softplus-parametrised c, per-layer Riemannian rescale, projected offsets).
        - Saved models of earlier versions name this layer `_PoincareClassifier`; they still load (an
          alias class registered under that name).
    """

    def __init__(self, num_classes, c=1.0, train_c=False, train_x=False, riemannian=True, ball_dim=None,
                 **kwargs):
        kwargs["dtype"] = geometry_dtype(kwargs.get("dtype"))
        super().__init__(**kwargs)
        self.num_classes = check_int(num_classes, "num_classes", minimum=1, owner="PoincareClassifier")
        self.c = check_c(c)
        self.train_c = check_bool(train_c, "train_c", owner="PoincareClassifier")
        self.train_x = check_bool(train_x, "train_x", owner="PoincareClassifier")
        self.riemannian = check_bool(riemannian, "riemannian", owner="PoincareClassifier")
        self.ball_dim = None if ball_dim is None else check_int(ball_dim, "ball_dim", minimum=1,
                                                                owner="PoincareClassifier")
        self.to_poincare = ToPoincare(c=self.c, train_c=self.train_c, train_x=self.train_x,
                                      riemannian=self.riemannian, ball_dim=self.ball_dim, name="to_poincare")
        self.mlr = HyperbolicMLR(self.num_classes, c=self.to_poincare, ball_dim=self.ball_dim,
                                 name="hyperbolic_mlr")

    def build(self, input_shape):
        self.to_poincare.build(input_shape)
        self.mlr.build(input_shape)

    @property
    def curvature(self):
        """The curvature magnitude c of both parts (a float, or a scalar tensor when trainable)."""
        return self.to_poincare.curvature

    def embed(self, x):
        """The ball points [B, d] the MLR classifies."""
        return self.to_poincare(x)

    def call(self, x):
        return self.mlr(self.to_poincare(x))

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.num_classes,)

    def get_config(self):
        config = super().get_config()
        config.update(num_classes=self.num_classes, c=self.c, train_c=self.train_c, train_x=self.train_x,
                      riemannian=self.riemannian, ball_dim=self.ball_dim)
        return config


@keras.saving.register_keras_serializable(package="zoo", name="_PoincareClassifier")
class _PoincareClassifier(PoincareClassifier):
    """`PoincareClassifier` under the name `.keras` files saved before it was public use (`zoo>_PoincareClassifier`)."""
