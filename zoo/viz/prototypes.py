"""2-D picture of a trained `zoo.layers.PrototypeHead`: normalised embeddings and assigned prototypes.

It draws on the matplotlib `ax` it is given (or on a new figure with an Agg canvas: no display needed),
writes a PNG when given a `path`, returns the figure, and never switches the matplotlib backend.

Example:
    >>> spec = zoo.heads.get("prototypes", num_classes=10, embedding_dim=2)
    >>> fig = zoo.viz.prototypes.plot_prototypes(backbone.predict(x), y, spec.layer, "prototypes_2d.png")
"""

import numpy as np
from keras import ops

from zoo.viz._figure import axes_for, class_cmap, finish

__all__ = ["plot_prototypes"]

# The prototypes are drawn just outside the unit circle, where no normalised embedding is.
PROTOTYPE_RADIUS = 1.15
# Relative radial jitter of the drawn embeddings: spreads them off the circle to show their density.
JITTER = 0.04


def plot_prototypes(embeddings, labels, layer, path=None, max_points=5000, seed=0, ax=None, legend=True):
    """Draw 2-D embeddings projected on the unit circle and each class's assigned prototype.

    The embeddings are drawn as x / ‖x‖ (times 1 + 0.04·ε, ε ~ N(0, 1), so that their density shows), in
    the colour of their class; prototype σ(k) of class k (its row of `layer.prototypes`, normalised) is a
    star in the colour of class k at radius 1.15; prototypes no class is assigned to are grey crosses.

    Args:
        embeddings: [N, 2] embeddings the head receives.
        labels: [N] int labels.
        layer: a trained `zoo.layers.PrototypeHead` (its `prototypes`, `assignment`, `num_classes`, `kind`).
        path: optional PNG path (written at 110 dpi; folders are created); None writes nothing.
        max_points: draw at most this many embeddings (a seeded random subset).
        seed: seed of the subset and of the jitter.
        ax: optional matplotlib axes to draw on (default: a new 7 x 7 inch figure).
        legend: draw the class legend (default True; False for small panels or many classes).

    Returns:
        The matplotlib figure drawn on.
    """
    from matplotlib.patches import Circle

    emb = np.asarray(embeddings, dtype="float64")
    emb = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
    labels = np.asarray(labels).reshape(-1)
    protos = np.asarray(ops.convert_to_numpy(layer.prototypes), dtype="float64")
    protos = protos / np.linalg.norm(protos, axis=1, keepdims=True)
    sigma = np.asarray(ops.convert_to_numpy(layer.assignment))
    cmap = class_cmap("tab10" if layer.num_classes <= 10 else "tab20")
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(emb))[:max_points]
    jitter = 1.0 + JITTER * rng.standard_normal(len(idx))[:, None]
    fig, ax, owned = axes_for(ax, figsize=(7, 7))
    ax.add_patch(Circle((0, 0), 1.0, fill=False, color="0.6", lw=0.8))
    for k in range(layer.num_classes):
        sel = labels[idx] == k
        if sel.any():
            pts = emb[idx][sel] * jitter[sel]
            ax.scatter(pts[:, 0], pts[:, 1], s=3, alpha=0.4, color=cmap(k % cmap.N), label=str(k))
        p = protos[sigma[k]] * PROTOTYPE_RADIUS
        ax.scatter(*p, marker="*", s=300, color=cmap(k % cmap.N), edgecolors="black", zorder=5)
        ax.annotate(str(k), p * 1.08, ha="center", va="center", fontsize=9)
    unused = sorted(set(range(protos.shape[0])) - set(sigma.tolist()))
    if unused:
        ax.scatter(protos[unused, 0] * PROTOTYPE_RADIUS, protos[unused, 1] * PROTOTYPE_RADIUS, marker="x",
                   color="0.5", s=60)
    ax.set_xlim(-1.4, 1.4)
    ax.set_ylim(-1.4, 1.4)
    ax.set_aspect("equal")
    ax.set_title(f"PrototypeHead ({layer.kind}): normalised embeddings and assigned prototypes")
    if legend:
        ax.legend(loc="upper right", markerscale=4, fontsize=7, ncol=2, framealpha=0.8)
    return finish(fig, owned, path, dpi=110)
