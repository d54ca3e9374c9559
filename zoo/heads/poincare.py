"""The "poincare" head: exponential map to the Poincaré ball and hyperbolic multinomial logistic regression.

    y = project(exp_0^c(x)),   logits_k = (λ_{p_k}‖a_k‖/√c) · asinh(2√c ⟨(−p_k) ⊕_c y, a_k⟩
                                                                 / ((1 − c‖(−p_k) ⊕_c y‖²)‖a_k‖))

trained with softmax cross-entropy on the logits. The layer is `zoo.layers.PoincareClassifier`
(ToPoincare + HyperbolicMLR on one ball, so a trainable c, `train_c=True`, is also the MLR's c);
`spec.layer.embed(x)` gives the ball points and `spec.plot` draws the disk with the MLR decision regions.

Reference:
    Khrulkov et al., "Hyperbolic Image Embeddings", CVPR 2020 (the MNIST model: LeNet -> dim -> ToPoincare
    -> HyperbolicMLR); Ganea, Bécigneul, Hofmann, "Hyperbolic Neural Networks", NeurIPS 2018 (the MLR).

Example:
    >>> spec = zoo.heads.get("poincare", num_classes=10, embedding_dim=2, c=1.0, train_c=True)
"""

import keras

from zoo.heads._embed import ball_points
from zoo.heads._plots import poincare_hook
from zoo.heads.head_spec import HeadSpec
from zoo.heads.registry import accuracy, register
from zoo.layers import PoincareClassifier

__all__ = []


@register("poincare")
def _poincare(num_classes, embedding_dim, c=1.0, riemannian=True, train_c=False, train_x=False):
    """ToPoincare (exp map at 0, projection, Riemannian gradient rescale) + hyperbolic MLR, softmax CE.

    The reference MNIST model of Khrulkov et al. (LeNet -> dim -> ToPoincare -> HyperbolicMLR), as one
    `zoo.layers.PoincareClassifier` sharing one curvature between its two parts.
    """
    layer = PoincareClassifier(num_classes, c=c, train_c=train_c, train_x=train_x, riemannian=riemannian,
                               ball_dim=embedding_dim, name="poincare_head")
    return HeadSpec(
        layer=layer,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[accuracy()],
        description=(f"ToPoincare(c={c:g}{', trainable' if train_c else ''}"
                     f"{', riemannian' if riemannian else ''}) + hyperbolic MLR, softmax cross-entropy"),
        plot=poincare_hook,
        embed=ball_points,
        geometry="poincare",
    )
