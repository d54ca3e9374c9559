"""The "center" head: a classifier (softmax, or a margin loss on a CosineHead) plus λ·center loss.

    loss = base(scores, y) + λ/2 · ‖x − c_y‖²
    Δc_j = Σ_i [y_i = j](c_j − x_i) / (1 + Σ_i [y_i = j]),   c_j ← c_j − α·Δc_j     (Wen et al., Eq. 4)

`zoo.layers.CenterHead` keeps the class centres c_j (updated from the labels, hence `needs_labels=True`)
and appends the centre term to its scores as a column that is always below them (argmax unchanged);
`zoo.losses.CenterLoss` adds λ/2 of it to the base loss.

Reference:
    Wen et al., "A Discriminative Feature Learning Approach for Deep Face Recognition", ECCV 2016.

Example:
    >>> spec = zoo.heads.get("center", num_classes=10, embedding_dim=2, lam=0.003, base="arcface")
"""

import keras

from zoo.heads._embed import drop_last_column
from zoo.heads._plots import latent_hook
from zoo.heads.head_spec import HeadSpec
from zoo.heads.registry import accuracy, register
from zoo.layers import CenterHead, CosineHead
from zoo.losses import ArcFaceLoss, CenterLoss, CosFaceLoss, SphereFaceLoss

__all__ = []

_BASES = {"softmax": None, "arcface": ArcFaceLoss, "cosface": CosFaceLoss, "sphereface": SphereFaceLoss}


@register("center")
def _center(num_classes, embedding_dim, lam=0.003, alpha=0.5, base="softmax", scale=None, margin=None):
    """Softmax (or a margin loss on a CosineHead: base="arcface"/"cosface"/"sphereface") + λ·center loss."""
    if base not in _BASES:
        raise ValueError(f"head 'center': `base` must be one of {sorted(_BASES)}; got {base!r}.")
    if base == "softmax":
        if scale is not None or margin is not None:
            raise TypeError("head 'center' with base='softmax' takes no scale/margin")
        classifier = keras.layers.Dense(num_classes, dtype="float32", name="classifier")
        base_loss = None
    else:
        classifier = CosineHead(num_classes, name="classifier")
        kw = {k: v for k, v in (("scale", scale), ("margin", margin)) if v is not None}
        base_loss = _BASES[base](**kw)
    return HeadSpec(
        layer=CenterHead(num_classes, alpha=alpha, classifier=classifier, name="center_head"),
        loss=CenterLoss(lam=lam, base_loss=base_loss),
        metrics=[accuracy()],
        needs_labels=True,
        description=f"{base} + center loss (λ={lam}, α={alpha})",
        plot=latent_hook,
        scores=drop_last_column,
    )
