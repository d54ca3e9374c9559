"""The "distarc" head (HyperSpaceX): radial class proxies on concentric spheres and the DistArc loss.

`zoo.layers.DistArcHead` places class k's proxy ω_k = r_k·ŵ_k on the sphere of radius r_k and outputs
[−δ (K) | encoded cos θ (K) | encoded cos φ (K) | −Q], δ_k = ‖x − ω_k‖², every encoded entry below every
−δ_k, so the argmax of a row is the nearest radial proxy and one accuracy metric serves;
`zoo.losses.DistArcLoss` decodes the packed columns and combines them (angular margin m, scale s, λ·δ_y).

Reference:
    Chiranjeev, Dosi, Thakral, Vatsa, Singh, "HyperSpaceX: Radial and Angular Exploration of
    HyperSpherical Dimensions", ECCV 2024.

Example:
    >>> spec = zoo.heads.get("distarc", num_classes=10, embedding_dim=2, lam=0.0, use_cos_phi=False)
"""

from zoo.heads._plots import latent_hook
from zoo.heads.head_spec import HeadSpec
from zoo.heads.registry import accuracy, register
from zoo.layers import DistArcHead
from zoo.losses import DistArcLoss

__all__ = []


@register("distarc")
def _distarc(num_classes, embedding_dim, scale=1.0, margin=0.5, lam=0.005, use_cos_phi=True, form="paper",
             radii=None, num_spheres=None, classes_per_sphere=None, radial_gap=10.0, first_radius=10.0):
    """HyperSpaceX: DistArcHead (radial proxies on concentric spheres) + DistArcLoss.

    Ablations of the poster: `--head-opt lam=0 --head-opt use_cos_phi=False` (cos θ only),
    `lam=0` (+ cos φ), `use_cos_phi=False` (+ δ), defaults (+ both); `form='code'` for the released
    code's CE + λδ_y.
    """
    layer = DistArcHead(num_classes, radii=radii, num_spheres=num_spheres, classes_per_sphere=classes_per_sphere,
                        radial_gap=radial_gap, first_radius=first_radius, name="distarc_head")
    loss = DistArcLoss(scale=scale, margin=margin, lam=lam, use_cos_phi=use_cos_phi, form=form)
    parts = "cos θ" + (" + cos φ" if use_cos_phi else "") + (f" + δ (λ={lam})" if lam else "")
    return HeadSpec(layer=layer, loss=loss, metrics=[accuracy()],
                    description=f"DistArc ({form} form: {parts}, m={margin}, s={scale}; radii "
                                f"{layer.sphere_radii[0]:g}..{layer.sphere_radii[-1]:g})",
                    plot=latent_hook, scores=DistArcHead.scores)
