"""Cosine-margin heads on the hypersphere: "arcface", "cosface", "sphereface", "sphereface2".

Each is a `zoo.layers.CosineHead` (cos θ_k between the normalised embedding and the normalised class
weight k) and a margin loss on those cosines that changes the target logit only:

    arcface      s·cos(θ_y + m)           (Deng et al., CVPR 2019; s = 64, m = 0.5)
    cosface      s·(cos θ_y − m)          (Wang et al., CVPR 2018; s = 64, m = 0.35)
    sphereface   s·cos(m·θ_y)             (Liu et al., CVPR 2017; s = 30, m = 1.5)
    sphereface2  one-vs-all binary loss   (Wen et al., ICLR 2022, SphereFace2-C; r = 40, m = 0.4, λ = 0.7)

The scores of the head are the cosines, so argmax is the prediction and the shared accuracy metric holds.

Example:
    >>> spec = zoo.heads.get("arcface", num_classes=10, embedding_dim=64, margin=0.3)
"""

from zoo.heads._embed import unit_vectors
from zoo.heads._plots import latent_hook
from zoo.heads.head_spec import HeadSpec
from zoo.heads.registry import accuracy, register
from zoo.layers import CosineHead
from zoo.losses import ArcFaceLoss, CosFaceLoss, SphereFace2Loss, SphereFaceLoss

__all__ = []


def _cosine_spec(name, num_classes, loss, description):
    return HeadSpec(layer=CosineHead(num_classes, name=f"{name}_head"), loss=loss, metrics=[accuracy()],
                    description=description, plot=latent_hook, embed=unit_vectors, geometry="sphere")


@register("arcface")
def _arcface(num_classes, embedding_dim, scale=64.0, margin=0.5, easy_margin=False):
    """CosineHead + ArcFace additive angular margin (s = 64, m = 0.5)."""
    return _cosine_spec("arcface", num_classes, ArcFaceLoss(scale=scale, margin=margin, easy_margin=easy_margin),
                        f"cosine head + ArcFace (s={scale}, m={margin})")


@register("cosface")
def _cosface(num_classes, embedding_dim, scale=64.0, margin=0.35):
    """CosineHead + CosFace additive cosine margin (s = 64, m = 0.35)."""
    return _cosine_spec("cosface", num_classes, CosFaceLoss(scale=scale, margin=margin),
                        f"cosine head + CosFace (s={scale}, m={margin})")


@register("sphereface")
def _sphereface(num_classes, embedding_dim, scale=30.0, margin=1.5):
    """CosineHead + SphereFace multiplicative angular margin (s = 30, m = 1.5)."""
    return _cosine_spec("sphereface", num_classes, SphereFaceLoss(scale=scale, margin=margin),
                        f"cosine head + SphereFace (s={scale}, m={margin})")


@register("sphereface2")
def _sphereface2(num_classes, embedding_dim, scale=40.0, margin=0.4, lam=0.7, t=3.0, bias=None, loss_weight=1.0):
    """CosineHead + SphereFace2-C one-vs-all binary loss (r = 40, m = 0.4, λ = 0.7, t = 3)."""
    loss = SphereFace2Loss(scale=scale, margin=margin, lam=lam, t=t, bias=bias, loss_weight=loss_weight)
    return _cosine_spec("sphereface2", num_classes, loss, f"cosine head + SphereFace2-C (r={scale}, m={margin})")
