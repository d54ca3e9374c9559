"""`HyperbolicMLR`: multinomial logistic regression on the Poincaré ball (Ganea et al. 2018), closed form.

Closed form (why no [batch, classes, dim] tensor is needed)
-----------------------------------------------------------
Ganea's logit for class k, with offset p_k in the ball and normal a_k in the tangent space at p_k, is

    zeta_k(x) = (lambda_{p_k} ||a_k|| / sqrt c) asinh( 2 sqrt(c) <w, a_k> / ((1 - c||w||^2) ||a_k||) ),
    w = (-p_k) (+)_c x,   lambda_p = 2 / (1 - c||p||^2).

Write X2 = ||x||^2, P2 = ||p_k||^2, xp = <x, p_k>, beta = 1 - c P2, b = 1 - c X2. Möbius addition gives

    w = (beta x - alpha p_k) / D,   alpha = 1 - 2c xp + c X2,   D = 1 - 2c xp + c^2 P2 X2,

and the gyro-identity 1 - c||u (+) v||^2 = (1 - c||u||^2)(1 - c||v||^2) / D gives 1 - c||w||^2 = beta b / D.
D cancels in the ratio:

    2 sqrt(c) <w, a> / ((1 - c||w||^2) ||a||) = 2 sqrt(c) (beta <x, a> - alpha <p, a>) / (beta b ||a||).

The reference stores a_k = a~_k (1 - c||p_k||^2) = beta a~_k (transport of a~_k from 0 to p_k), so with
a~ the stored weight, lambda_p ||a|| = 2 ||a~|| and

    zeta_k(x) = (2 ||a~_k|| / sqrt c) asinh( 2 sqrt(c) (beta_k <x, a~_k> - alpha_k(x) <p_k, a~_k>)
                                             / (beta_k b(x) ||a~_k||) ).

Everything over batch x classes comes from two matmuls, x @ A~ and x @ P ([B, d] x [d, K]), plus ||x||^2
[B, 1] and per-class vectors [1, K]. alpha is evaluated as beta + c ||x - p||^2 (a sum of non-negative
terms, ||x - p||^2 = X2 + P2 - 2 xp floored at 0), which equals 1 - 2c xp + c X2.
"""

import keras
from keras import ops

from zoo._checks import check_int
from zoo.geometry import numerics as nx
from zoo.geometry import poincare as P
from zoo.geometry.curvature import c_tensor
from zoo.layers._ball import BallLayer
from zoo.layers._initializers import reference_initializer

__all__ = ["HyperbolicMLR"]


def ganea_logits(x, p_points, a_normals, c):
    """Hyperbolic MLR logits [B, K] in closed form (see the module docstring for the derivation).

    Args:
        x: [B, d] points in the ball.
        p_points: [d, K] class offsets p_k in the ball (columns).
        a_normals: [d, K] the stored normals a~_k (columns); the transported normal is beta_k a~_k.
        c: curvature magnitude > 0 (float or scalar tensor).

    Returns:
        [B, K] logits.
    """
    x = ops.convert_to_tensor(x)
    c = c_tensor(c, x.dtype)
    sqrt_c = ops.sqrt(c)
    p_points = ops.cast(p_points, x.dtype)
    a_normals = ops.cast(a_normals, x.dtype)
    x2 = nx.sq_norm(x)  # [B, 1]
    p2 = nx.sq_norm(p_points, axis=0)  # [1, K]
    a_norm = nx.safe_norm(a_normals, axis=0)  # [1, K]
    pa = ops.sum(p_points * a_normals, axis=0, keepdims=True)  # [1, K]
    xp = ops.matmul(x, p_points)  # [B, K]
    xa = ops.matmul(x, a_normals)  # [B, K]
    # (floors as tensors of x's dtype: keras' torch backend returns float32 for maximum(float64, python float))
    floor, zero = ops.convert_to_tensor(nx.MIN_DENOM, dtype=x.dtype), ops.convert_to_tensor(0.0, dtype=x.dtype)
    beta = ops.maximum(1.0 - c * p2, floor)
    b = ops.maximum(1.0 - c * x2, floor)
    alpha = beta + c * ops.maximum(x2 + p2 - 2.0 * xp, zero)
    z = 2.0 * sqrt_c * (beta * xa - alpha * pa) / (beta * b * a_norm)
    return 2.0 * a_norm / sqrt_c * ops.arcsinh(z)


@keras.saving.register_keras_serializable(package="zoo")
class HyperbolicMLR(BallLayer):
    """Hyperbolic multinomial logistic regression (Ganea et al.): ball points [B, d] -> logits [B, K].

    zeta_k(x) = (lambda_{p_k}||a_k||/sqrt c) asinh(2 sqrt(c) <(-p_k)(+)x, a_k> / ((1 - c||(-p_k)(+)x||^2)||a_k||)),
    the signed hyperbolic distance of x to the gyroplane through p_k with normal a_k, times
    lambda_{p_k}||a_k||. Parameters are stored as in the reference: p~_k in the tangent space at 0 with
    p_k = expmap0(p~_k), and a~_k with a_k = (1 - c||p_k||^2) a~_k (the transport of a~_k from 0 to p_k).
    The logits are computed in closed form from x @ P and x @ A~ (O(B K) memory; see the module
    docstring for the derivation); use them with a softmax cross-entropy "from logits".

    One ball per model: the inputs must lie on the ball of the layer that made them. Called on symbolic
    inputs, the layer follows the graph upstream to the nearest ToPoincare / HyperbolicLinear and raises a
    ValueError naming both layers and both curvatures when its c differs from theirs (a trainable c is a
    ball of its own: share it with `c=<the ToPoincare layer>`). `zoo.layers.PoincareClassifier` is the
    ToPoincare + HyperbolicMLR pair in one layer.

    Args:
        num_classes: K >= 1.
        c: curvature magnitude > 0, equal to that of the ToPoincare that feeds this layer; or that layer
            itself, whose c (trainable or not) this layer then shares.
        ball_dim: optional expected input dimension; a mismatch with the input is an error.
        p_initializer, a_initializer: initializers of the [d, K] kernels p~ and a~; default
            U(+-1/sqrt(d)), torch's kaiming_uniform_(a=sqrt(5)) as in the reference.
        share_ball: take the ball of the nearest ball layer upstream (set by `c=<layer>`; stored in the
            config, so a loaded model shares the trained c again). `c` is then the owner's initial c.
        **kwargs: Layer arguments; the dtype policy is float32 (float64 if asked), mixed policies are
            replaced by float32.

    Call args:
        x: [B, d] points of the ball (e.g. the output of `zoo.layers.ToPoincare`).
        c: optional curvature overriding the layer's (a float or a scalar tensor).

    Example:
        >>> head = keras.Sequential([zoo.layers.ToPoincare(c=1.0), zoo.layers.HyperbolicMLR(10, c=1.0)])
        >>> logits = head(embeddings)        # [B, 10]
        >>> loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        >>> to_ball = zoo.layers.ToPoincare(c=0.1, train_c=True)
        >>> logits = zoo.layers.HyperbolicMLR(10, c=to_ball)(to_ball(features))   # one trainable ball

    Reference:
        Ganea, Bécigneul, Hofmann, "Hyperbolic Neural Networks", NeurIPS 2018 (eq. 25);
        Khrulkov et al., "Hyperbolic Image Embeddings", CVPR 2020 (hyptorch/nn.py `HyperbolicMLR`,
        pmath.py `_hyperbolic_softmax`).

    Departures from the reference code:
        - The reference builds the Möbius sums of all (x, p_k) pairs, a [K, B, d] tensor (3.3 GB for
          B=256, d=512, K=1000); here two [B, d] x [d, K] matmuls.
        - No +1e-5 in the Möbius denominator (it cancels exactly in the closed form), asinh instead of
          hyptorch's log form (which cancels for arguments below about -1e3 in float32).
        - p_k = expmap0(p~_k) is projected onto the ball of radius (1 - 1e-3)/sqrt(c) (hyptorch does not
          project p_k, so a long p~_k gives 1 - c||p_k||^2 = 0 and an infinite conformal factor).
        - The constructor takes (num_classes, c, ball_dim) instead of (ball_dim, n_classes, c); ball_dim is
          inferred from the input.
        - The reference MNIST example trains ToPoincare's c while its MLR keeps the initial c (two balls
          after the first step); here that model is an error, and `c=<the ToPoincare layer>` shares it.
    """

    reads_ball = True
    writes_ball = False  # logits

    def __init__(self, num_classes, c=1.0, ball_dim=None, p_initializer=None, a_initializer=None, **kwargs):
        super().__init__(c=c, **kwargs)
        self.num_classes = check_int(num_classes, "num_classes", minimum=1, owner="HyperbolicMLR")
        self.ball_dim = None if ball_dim is None else check_int(ball_dim, "ball_dim", minimum=1,
                                                                owner="HyperbolicMLR")
        self.p_initializer = keras.initializers.get(p_initializer) if p_initializer else reference_initializer()
        self.a_initializer = keras.initializers.get(a_initializer) if a_initializer else reference_initializer()

    def build(self, input_shape):
        dim = input_shape[-1]
        if dim is None:
            raise ValueError(f"HyperbolicMLR needs a known last (feature) dimension; got {input_shape}.")
        if self.ball_dim is not None and dim != self.ball_dim:
            raise ValueError(f"HyperbolicMLR: the input has dimension {dim} but `ball_dim` is {self.ball_dim}.")
        self.p_tangent = self.add_weight(name="p", shape=(dim, self.num_classes), initializer=self.p_initializer)
        self.a = self.add_weight(name="a", shape=(dim, self.num_classes), initializer=self.a_initializer)

    def offsets(self, c=None):
        """The class offsets p_k = expmap0(p~_k) in the ball, [K, d]."""
        c = c_tensor(self.curvature if c is None else c, self.compute_dtype)
        return P.expmap0(ops.transpose(ops.convert_to_tensor(self.p_tangent)), c)

    def call(self, x, c=None):
        c = c_tensor(self.curvature if c is None else c, self.compute_dtype)
        p = ops.transpose(self.offsets(c))  # [d, K]
        return ganea_logits(x, p, self.a, c)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.num_classes,)

    def get_config(self):
        config = super().get_config()
        config.update(
            num_classes=self.num_classes, ball_dim=self.ball_dim,
            p_initializer=keras.initializers.serialize(self.p_initializer),
            a_initializer=keras.initializers.serialize(self.a_initializer),
        )
        return config

