"""The "prototypes" head (DL2PA): fixed hyperspherical prototypes, momentum class means and Hungarian
reassignment of classes to prototypes.

    scores[b, k] = cos(f(x_b), p_σ(k)),   loss = mean_b (1 − scores[b, y_b])²   (form="balanced")

`zoo.layers.PrototypeHead` scores an embedding by its cosine to the prototype p_σ(k) assigned to each class
k and keeps momentum class means (updated from the labels, hence `needs_labels=True`);
`zoo.losses.PrototypeRegressionLoss` pulls the embedding to its class's prototype (balanced or long-tail
form); `zoo.callbacks.PrototypeReassignment` re-solves σ with the Hungarian method on the class means.

Reference:
    Saadabadi et al., "Hyperspherical Classification with Dynamic Label-to-Prototype Assignment",
    CVPR 2024, §3.2-3.3.

Example:
    >>> spec = zoo.heads.get("prototypes", num_classes=10, embedding_dim=3, prototypes="uniform")
    >>> model.fit(..., callbacks=spec.callbacks)
"""

from zoo.callbacks import PrototypeReassignment
from zoo.heads._embed import unit_vectors
from zoo.heads._plots import prototypes_hook
from zoo.heads.head_spec import HeadSpec
from zoo.heads.registry import accuracy, register
from zoo.layers import PrototypeHead
from zoo.losses import PrototypeRegressionLoss
from zoo.prototypes import etf

__all__ = []


@register("prototypes")
def _prototypes(num_classes, embedding_dim, prototypes="uniform", reassign=None, every_n_epochs=1,
                every_n_steps=None, form="balanced", momentum=0.9, num_prototypes=None, seed=0, steps=1000,
                reduction="sum_over_batch_size", verbose=1, feature_bn=False):
    """DL2PA: fixed hyperspherical prototypes + momentum class means + Hungarian reassignment callback.

    Options (`--head-opt key=value`, or the recipe's `--prototypes`):
        prototypes: "uniform" (Gaussian-potential set, cached on disk), "etf" (needs dim >= classes - 1),
            "learned" (trainable prototypes, no reassignment), a path to a `.npy` prototype file, or an array
            [P, d] of prototypes (P >= num_classes).
        reassign: run `PrototypeReassignment` (default True, False for "learned"); False = fixed
            prototypes with the identity assignment (the "fixed prototypes" baseline).
        every_n_epochs / every_n_steps: reassignment schedule (default once per epoch).
        form: "balanced" or "long_tail" (the class-weighted dot-regression loss).
        momentum, num_prototypes, seed, steps: see `zoo.layers.PrototypeHead`.
        reduction: of the loss ("sum" for the reference's summed balanced loss).
        verbose: of the callback.
        feature_bn: a BatchNormalization on the embeddings before the normalisation (DL2PA's long-tail
            `BN_H`; default False, as its balanced runs), see `zoo.layers.PrototypeHead`.
    """
    kind = prototypes if isinstance(prototypes, str) else None  # None: an array or a path-like object
    if reassign is None:
        reassign = kind != "learned"
    if reassign and kind == "learned":
        raise ValueError("head 'prototypes': reassign=True makes no sense with prototypes='learned' (the prototypes "
                         "move with the loss); use reassign=False.")
    layer = PrototypeHead(num_classes, prototypes=prototypes, num_prototypes=num_prototypes, momentum=momentum,
                          seed=seed, steps=steps, feature_bn=feature_bn, name="prototype_head")
    if kind == "etf":  # fail now, not at build, when the ETF cannot exist
        etf(layer.num_prototypes, embedding_dim)
    callbacks = [PrototypeReassignment(every_n_epochs=every_n_epochs, every_n_steps=every_n_steps,
                                       verbose=verbose)] if reassign else []
    schedule = (f"every {every_n_steps} steps" if every_n_steps else f"every {every_n_epochs} epoch(s)")
    return HeadSpec(
        layer=layer,
        loss=PrototypeRegressionLoss(form=form, reduction=reduction),
        metrics=[accuracy()],
        callbacks=callbacks,
        needs_labels=True,
        description=(f"{kind or 'given'} prototypes ({layer.num_prototypes})"
                     f"{' on BN(features)' if feature_bn else ''} + "
                     f"{form} prototype regression, "
                     + (f"Hungarian reassignment {schedule}" if reassign else "fixed assignment")),
        plot=prototypes_hook,
        embed=_head_unit_vectors if feature_bn else unit_vectors,
        geometry="sphere",
    )


def _head_unit_vectors(layer, embeddings):
    """The points the head scores: BN(f(x)) / ||BN(f(x))|| with `feature_bn` (inference statistics)."""
    from keras import ops

    return unit_vectors(layer, layer.batch_norm(ops.cast(embeddings, layer.compute_dtype), training=False))
