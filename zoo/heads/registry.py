"""Head registry: one name -> (layer, loss, metrics, callbacks). Recipes never branch on head names.

A head factory takes `(num_classes, embedding_dim, **options)` and returns a `HeadSpec`. The head layer
maps embeddings to per-class *scores* whose argmax is the prediction (logits, cosines, negative
distances ...), so one accuracy metric serves every head. Heads that update state from the labels during
training (class centres, prototype class means) set `needs_labels=True`; the recipe then feeds the labels
as a second model input and the layer is called as `layer(embedding, labels=labels)`.

Adding a method is one `@register("name")` factory here, not an edit in every recipe.

Example:
    >>> spec = zoo.heads.get("softmax", num_classes=10, embedding_dim=64)
    >>> scores = spec.layer(embeddings)
    >>> model.compile(optimizer="adam", loss=spec.loss, metrics=spec.metrics)
"""

import dataclasses

import keras

_REGISTRY = {}


@dataclasses.dataclass
class HeadSpec:
    """What a recipe needs to train one head.

    Attributes:
        layer: Keras layer mapping embeddings [B, d] to scores [B, num_classes] (argmax = prediction).
        loss: a Keras loss taking (int labels, scores).
        metrics: Keras metrics on (labels, scores).
        callbacks: callbacks the head needs during fit (e.g. prototype reassignment).
        needs_labels: the layer takes `labels=` during training (state updated from labels).
        description: one line for `--help` and logs.
        plot: optional `plot(embeddings, labels, layer, path)` drawing a 2-D picture of the trained head
            (embeddings are the backbone outputs the head receives, `layer` the trained head layer);
            the recipe calls it when the embedding dimension is 2.
    """

    layer: keras.layers.Layer
    loss: object
    metrics: list = dataclasses.field(default_factory=list)
    callbacks: list = dataclasses.field(default_factory=list)
    needs_labels: bool = False
    description: str = ""
    plot: object = None


def register(name):
    """Decorator registering a head factory `f(num_classes, embedding_dim, **options) -> HeadSpec`."""

    def deco(factory):
        if name in _REGISTRY:
            raise ValueError(f"head {name!r} is registered twice")
        _REGISTRY[name] = factory
        return factory

    return deco


def available():
    """Sorted names of the registered heads."""
    return sorted(_REGISTRY)


def get(name, num_classes, embedding_dim, **options):
    """Build the head `name` for `num_classes` classes on `embedding_dim`-d embeddings.

    Args:
        name: a registered head name (see `available()`).
        num_classes: number of classes (>= 2).
        embedding_dim: dimension of the embeddings the head receives.
        **options: head-specific options (e.g. `c` for poincare, `margin`/`scale` for arcface); an
            option the head does not take raises a TypeError naming it.

    Returns:
        HeadSpec.
    """
    if name not in _REGISTRY:
        raise ValueError(f"Unknown head {name!r}; available heads: {', '.join(available())}.")
    if int(num_classes) < 2:
        raise ValueError(f"num_classes must be >= 2; got {num_classes}.")
    if int(embedding_dim) < 1:
        raise ValueError(f"embedding_dim must be >= 1; got {embedding_dim}.")
    return _REGISTRY[name](int(num_classes), int(embedding_dim), **options)


def accuracy():
    """The accuracy metric shared by every head (argmax of the scores)."""
    return keras.metrics.SparseCategoricalAccuracy(name="accuracy")


# --- Euclidean baseline -----------------------------------------------------------------------------


@register("softmax")
def _softmax(num_classes, embedding_dim, **options):
    """Plain linear classifier + softmax cross-entropy: the baseline every geometry is compared with."""
    if options:
        raise TypeError(f"head 'softmax' takes no options; got {sorted(options)}")
    return HeadSpec(
        layer=keras.layers.Dense(num_classes, name="softmax_head"),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[accuracy()],
        description="linear layer + softmax cross-entropy (baseline)",
    )


# --- hyperbolic heads (issue: hyperbolic embeddings) --------------------------------------------------


def _plot_poincare_head(embeddings, labels, layer, path):
    """Plot hook of the "poincare" head: backbone outputs -> ToPoincare -> disk, MLR decision regions."""
    import numpy as np
    from keras import ops

    from zoo.viz.poincare import plot_disk

    points = ops.convert_to_numpy(layer.embed(ops.convert_to_tensor(np.asarray(embeddings, "float32"))))
    c = float(ops.convert_to_numpy(layer.curvature))

    def regions(grid):
        return np.argmax(ops.convert_to_numpy(layer.mlr(ops.convert_to_tensor(grid), c=c)), axis=-1)

    return plot_disk(points, labels, c=c, path=path, region_fn=regions,
                     title=f"Poincaré disk (c = {c:.4g}): test embeddings and MLR decision regions")


@register("poincare")
def _poincare(num_classes, embedding_dim, c=1.0, riemannian=True, train_c=False, train_x=False):
    """ToPoincare (exp map at 0, projection, Riemannian gradient rescale) + hyperbolic MLR, softmax CE.

    The reference MNIST model of Khrulkov et al. (LeNet -> dim -> ToPoincare -> HyperbolicMLR). The layer is
    a private composite of zoo.layers.ToPoincare and zoo.layers.HyperbolicMLR sharing one curvature (so a
    trainable c, `train_c=True`, is also the MLR's c); `layer.embed(x)` gives the ball points.
    """
    from zoo.layers.hyperbolic_mlr import _PoincareClassifier

    layer = _PoincareClassifier(num_classes, c=c, train_c=train_c, train_x=train_x, riemannian=riemannian,
                                ball_dim=embedding_dim, name="poincare_head")
    return HeadSpec(
        layer=layer,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=[accuracy()],
        description=(f"ToPoincare(c={c:g}{', trainable' if train_c else ''}"
                     f"{', riemannian' if riemannian else ''}) + hyperbolic MLR, softmax cross-entropy"),
        plot=_plot_poincare_head,
    )


# --- hyperspherical heads (issue: margins and HyperSpaceX) --------------------------------------------

# Every head below outputs scores whose argmax over the *whole* output row is the prediction (CenterHead
# and DistArcHead append extra columns that are always below the scores; see their docstrings), so the
# shared `accuracy()` metric is correct for all of them. `plot` draws the 2-D latent picture.


def _plot_latent(embeddings, labels, layer, path):
    from zoo.viz.latent import plot_latent

    return plot_latent(embeddings, labels, layer, path)


def _cosine_spec(name, num_classes, loss, description):
    from zoo.layers import CosineHead

    return HeadSpec(layer=CosineHead(num_classes, name=f"{name}_head"), loss=loss, metrics=[accuracy()],
                    description=description, plot=_plot_latent)


@register("arcface")
def _arcface(num_classes, embedding_dim, scale=64.0, margin=0.5, easy_margin=False):
    """CosineHead + ArcFace additive angular margin (s = 64, m = 0.5)."""
    from zoo.losses import ArcFaceLoss

    return _cosine_spec("arcface", num_classes, ArcFaceLoss(scale=scale, margin=margin, easy_margin=easy_margin),
                        f"cosine head + ArcFace (s={scale}, m={margin})")


@register("cosface")
def _cosface(num_classes, embedding_dim, scale=64.0, margin=0.35):
    """CosineHead + CosFace additive cosine margin (s = 64, m = 0.35)."""
    from zoo.losses import CosFaceLoss

    return _cosine_spec("cosface", num_classes, CosFaceLoss(scale=scale, margin=margin),
                        f"cosine head + CosFace (s={scale}, m={margin})")


@register("sphereface")
def _sphereface(num_classes, embedding_dim, scale=30.0, margin=1.5):
    """CosineHead + SphereFace multiplicative angular margin (s = 30, m = 1.5)."""
    from zoo.losses import SphereFaceLoss

    return _cosine_spec("sphereface", num_classes, SphereFaceLoss(scale=scale, margin=margin),
                        f"cosine head + SphereFace (s={scale}, m={margin})")


@register("sphereface2")
def _sphereface2(num_classes, embedding_dim, scale=40.0, margin=0.4, lam=0.7, t=3.0, bias=None, loss_weight=1.0):
    """CosineHead + SphereFace2-C one-vs-all binary loss (r = 40, m = 0.4, λ = 0.7, t = 3)."""
    from zoo.losses import SphereFace2Loss

    loss = SphereFace2Loss(scale=scale, margin=margin, lam=lam, t=t, bias=bias, loss_weight=loss_weight)
    return _cosine_spec("sphereface2", num_classes, loss, f"cosine head + SphereFace2-C (r={scale}, m={margin})")


@register("center")
def _center(num_classes, embedding_dim, lam=0.003, alpha=0.5, base="softmax", scale=None, margin=None):
    """Softmax (or a margin loss on a CosineHead: base="arcface"/"cosface"/"sphereface") + λ·center loss."""
    import keras

    from zoo.layers import CenterHead, CosineHead
    from zoo.losses import ArcFaceLoss, CenterLoss, CosFaceLoss, SphereFaceLoss

    bases = {"softmax": None, "arcface": ArcFaceLoss, "cosface": CosFaceLoss, "sphereface": SphereFaceLoss}
    if base not in bases:
        raise ValueError(f"head 'center': `base` must be one of {sorted(bases)}; got {base!r}.")
    if base == "softmax":
        if scale is not None or margin is not None:
            raise TypeError("head 'center' with base='softmax' takes no scale/margin")
        classifier = keras.layers.Dense(num_classes, dtype="float32", name="classifier")
        base_loss = None
    else:
        classifier = CosineHead(num_classes, name="classifier")
        kw = {k: v for k, v in (("scale", scale), ("margin", margin)) if v is not None}
        base_loss = bases[base](**kw)
    return HeadSpec(
        layer=CenterHead(num_classes, alpha=alpha, classifier=classifier, name="center_head"),
        loss=CenterLoss(lam=lam, base_loss=base_loss),
        metrics=[accuracy()],
        needs_labels=True,
        description=f"{base} + center loss (λ={lam}, α={alpha})",
        plot=_plot_latent,
    )


@register("distarc")
def _distarc(num_classes, embedding_dim, scale=1.0, margin=0.5, lam=0.005, use_cos_phi=True, form="paper",
             radii=None, num_spheres=None, classes_per_sphere=None, radial_gap=10.0, first_radius=10.0):
    """HyperSpaceX: DistArcHead (radial proxies on concentric spheres) + DistArcLoss.

    Ablations of the poster: `--head-opt lam=0 --head-opt use_cos_phi=False` (cos θ only),
    `lam=0` (+ cos φ), `use_cos_phi=False` (+ δ), defaults (+ both); `form='code'` for the released
    code's CE + λδ_y.
    """
    from zoo.layers import DistArcHead
    from zoo.losses import DistArcLoss

    layer = DistArcHead(num_classes, radii=radii, num_spheres=num_spheres, classes_per_sphere=classes_per_sphere,
                        radial_gap=radial_gap, first_radius=first_radius, name="distarc_head")
    loss = DistArcLoss(scale=scale, margin=margin, lam=lam, use_cos_phi=use_cos_phi, form=form)
    parts = "cos θ" + (" + cos φ" if use_cos_phi else "") + (f" + δ (λ={lam})" if lam else "")
    return HeadSpec(layer=layer, loss=loss, metrics=[accuracy()],
                    description=f"DistArc ({form} form: {parts}, m={margin}, s={scale}; radii "
                                f"{layer.sphere_radii[0]:g}..{layer.sphere_radii[-1]:g})",
                    plot=_plot_latent)


# --- fixed prototypes (issue: dynamic label-to-prototype assignment) ----------------------------------


def _plot_prototypes(embeddings, labels, layer, path):
    """2-D picture: the embeddings projected on the unit circle (class colours) and each class's assigned
    prototype (a star in the class colour); unassigned prototypes as grey crosses."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    emb = np.asarray(embeddings, dtype="float64")
    emb = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
    labels = np.asarray(labels).reshape(-1)
    protos = np.asarray(keras.ops.convert_to_numpy(layer.prototypes), dtype="float64")
    protos = protos / np.linalg.norm(protos, axis=1, keepdims=True)
    sigma = np.asarray(keras.ops.convert_to_numpy(layer.assignment))
    cmap = plt.get_cmap("tab10" if layer.num_classes <= 10 else "tab20")
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(emb))[:5000]
    jitter = 1.0 + 0.04 * rng.standard_normal(len(idx))[:, None]  # spread points off the circle to see density
    fig, ax = plt.subplots(figsize=(7, 7))
    ax.add_patch(matplotlib.patches.Circle((0, 0), 1.0, fill=False, color="0.6", lw=0.8))
    for k in range(layer.num_classes):
        sel = labels[idx] == k
        if sel.any():
            pts = emb[idx][sel] * jitter[sel]
            ax.scatter(pts[:, 0], pts[:, 1], s=3, alpha=0.4, color=cmap(k % cmap.N), label=str(k))
        p = protos[sigma[k]] * 1.15
        ax.scatter(*p, marker="*", s=300, color=cmap(k % cmap.N), edgecolors="black", zorder=5)
        ax.annotate(str(k), p * 1.08, ha="center", va="center", fontsize=9)
    unused = sorted(set(range(protos.shape[0])) - set(sigma.tolist()))
    if unused:
        ax.scatter(protos[unused, 0] * 1.15, protos[unused, 1] * 1.15, marker="x", color="0.5", s=60)
    ax.set_xlim(-1.4, 1.4)
    ax.set_ylim(-1.4, 1.4)
    ax.set_aspect("equal")
    ax.set_title(f"PrototypeHead ({layer.kind}): normalised embeddings and assigned prototypes")
    ax.legend(loc="upper right", markerscale=4, fontsize=7, ncol=2, framealpha=0.8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


@register("prototypes")
def _prototypes(num_classes, embedding_dim, prototypes="uniform", reassign=None, every_n_epochs=1,
                every_n_steps=None, form="balanced", momentum=0.9, num_prototypes=None, seed=0, steps=1000,
                reduction="sum_over_batch_size", verbose=1):
    """DL2PA: fixed hyperspherical prototypes + momentum class means + Hungarian reassignment callback.

    Options (`--head-opt key=value`, or the recipe's `--prototypes`):
        prototypes: "uniform" (Gaussian-potential set, cached on disk), "etf" (needs dim >= classes - 1),
            "learned" (trainable prototypes, no reassignment), or a path to a `.npy` prototype file.
        reassign: run `PrototypeReassignment` (default True, False for "learned"); False = fixed
            prototypes with the identity assignment (the "fixed prototypes" baseline).
        every_n_epochs / every_n_steps: reassignment schedule (default once per epoch).
        form: "balanced" or "long_tail" (the class-weighted dot-regression loss).
        momentum, num_prototypes, seed, steps: see `zoo.layers.PrototypeHead`.
        reduction: of the loss ("sum" for the reference's summed balanced loss).
        verbose: of the callback.
    """
    from zoo.callbacks import PrototypeReassignment
    from zoo.layers import PrototypeHead
    from zoo.losses import PrototypeRegressionLoss

    if reassign is None:
        reassign = prototypes != "learned"
    if reassign and prototypes == "learned":
        raise ValueError("head 'prototypes': reassign=True makes no sense with prototypes='learned' (the prototypes "
                         "move with the loss); use reassign=False.")
    layer = PrototypeHead(num_classes, prototypes=prototypes, num_prototypes=num_prototypes, momentum=momentum,
                          seed=seed, steps=steps, name="prototype_head")
    if prototypes == "etf":  # fail now, not at build, when the ETF cannot exist
        from zoo.prototypes import etf

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
        description=(f"{prototypes} prototypes ({layer.num_prototypes}) + {form} prototype regression, "
                     + (f"Hungarian reassignment {schedule}" if reassign else "fixed assignment")),
        plot=_plot_prototypes,
    )
