"""2-D latent-space picture of a trained head: embeddings, class proxies and sphere radii (PNG).

`plot_latent(embeddings, labels, layer, path)` draws the `plot` hook of the hyperspherical heads in
`zoo.heads` (the classification recipe calls it when the embedding dimension is 2). It draws:

- the embeddings the head receives, coloured by class (a random subset of at most `max_points`);
- `zoo.layers.DistArcHead`: every radial proxy ω_k = r_k·ŵ_k (a star in its class colour), a ray from
  the origin to it, and a dashed circle for every sphere radius (the poster's figure);
- `zoo.layers.CosineHead`: the class directions ŵ_k as rays from the origin (scaled to the data);
- `zoo.layers.CenterHead`: its class centres (stars), and what its classifier draws.
- a Dense classifier: its weight directions as rays.

It draws on the matplotlib `ax` it is given (or on a new figure with an Agg canvas: no display needed),
writes a PNG when given a `path`, returns the figure, and never switches the matplotlib backend.
"""

import numpy as np
from keras import ops

from zoo.layers import CenterHead, CosineHead, DistArcHead
from zoo.viz._figure import axes_for, class_cmap, finish

__all__ = ["plot_latent"]


def _np(x):
    return np.asarray(ops.convert_to_numpy(x), dtype="float64")


def _unit_rows(w):
    n = np.linalg.norm(w, axis=1, keepdims=True)
    return w / np.maximum(n, 1e-12)


def _draw_head(ax, layer, colors, reach):
    """Draw the head-specific geometry; returns the largest coordinate drawn (for the limits)."""
    from matplotlib.patches import Circle

    extent = 0.0
    if isinstance(layer, CenterHead):
        centers = _np(layer.centers)
        if centers.shape[1] == 2:
            for k, c in enumerate(centers):
                ax.scatter(*c, marker="*", s=260, c=[colors[k % len(colors)]], edgecolors="black",
                           linewidths=1.0, zorder=5)
            extent = max(extent, float(np.abs(centers).max()))
        return max(extent, _draw_head(ax, layer.classifier, colors, reach))
    if isinstance(layer, DistArcHead):
        w = _unit_rows(_np(layer.kernel).T)
        radii = np.asarray(layer.class_radii)
        for r in layer.sphere_radii:
            ax.add_patch(Circle((0, 0), r, fill=False, ls="--", lw=0.8, color="0.45", zorder=1))
        for k, (d, r) in enumerate(zip(w, radii)):
            p = d * r
            ax.plot([0, p[0]], [0, p[1]], color=colors[k % len(colors)], lw=1.0, zorder=2)
            ax.scatter(*p, marker="*", s=260, c=[colors[k % len(colors)]], edgecolors="black", linewidths=1.0,
                       zorder=5)
        return max(extent, float(max(layer.sphere_radii)))
    kernel = getattr(layer, "kernel", None)
    if kernel is not None and _np(kernel).shape[0] == 2:
        w = _unit_rows(_np(kernel).T)
        for k, d in enumerate(w):
            p = d * reach
            ax.plot([0, p[0]], [0, p[1]], color=colors[k % len(colors)], lw=2.0, zorder=4)
            ax.scatter(*p, marker="o" if isinstance(layer, CosineHead) else "^", s=90,
                       c=[colors[k % len(colors)]], edgecolors="black", zorder=5)
    return extent


def plot_latent(embeddings, labels, layer, path=None, max_points=5000, title=None, class_names=None, seed=0,
                ax=None, legend=True):
    """Draw 2-D embeddings with the head's proxies / directions / centres and sphere radii (PNG if `path`).

    Args:
        embeddings: [N, 2] array (the backbone outputs the head receives).
        labels: [N] int labels.
        layer: the trained head layer (`DistArcHead`, `CosineHead`, `CenterHead`, a Dense ...).
        path: optional output PNG path (written at 110 dpi; folders are created); None writes nothing.
        max_points: draw at most this many points (random subset).
        title: optional title (default: the layer's class name).
        class_names: optional names for the legend.
        seed: seed of the subset.
        ax: optional matplotlib axes to draw on (default: a new 7 x 7 inch figure).
        legend: draw the class legend (default True; False for small panels or many classes).

    Returns:
        The matplotlib figure drawn on.

    Example:
        >>> fig = zoo.viz.latent.plot_latent(backbone.predict(x), y, spec.layer, "latent_2d.png")
    """
    emb = np.asarray(embeddings, dtype="float64")
    labels = np.asarray(labels).reshape(-1)
    if emb.ndim != 2 or emb.shape[1] != 2:
        raise ValueError(f"plot_latent: embeddings must be [N, 2]; got shape {emb.shape}.")
    if len(labels) != len(emb):
        raise ValueError(f"plot_latent: {len(emb)} embeddings but {len(labels)} labels.")
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(emb))[:max_points]
    emb, lab = emb[idx], labels[idx]
    num = int(max(labels.max() + 1, getattr(layer, "num_classes", 0) or 0))
    cmap = class_cmap("tab10" if num <= 10 else "tab20")
    colors = [cmap(i % cmap.N) for i in range(max(num, 1))]

    fig, ax, owned = axes_for(ax, figsize=(7, 7))
    for k in range(num):
        sel = lab == k
        if sel.any():
            name = class_names[k] if class_names is not None and k < len(class_names) else str(k)
            ax.scatter(emb[sel, 0], emb[sel, 1], s=3, alpha=0.5, color=colors[k], label=name, zorder=3)
    reach = float(np.percentile(np.linalg.norm(emb, axis=1), 95)) if len(emb) else 1.0
    extent = _draw_head(ax, layer, colors, reach)
    lim = 1.08 * max(extent, float(np.abs(emb).max()) if len(emb) else 1.0, 1e-6)
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.axhline(0, color="0.85", lw=0.5, zorder=0)
    ax.axvline(0, color="0.85", lw=0.5, zorder=0)
    ax.set_title(title or f"{type(layer).__name__}: 2-D embeddings, proxies and radii")
    if legend:
        ax.legend(loc="upper right", markerscale=4, fontsize=7, ncol=2, framealpha=0.8)
    return finish(fig, owned, path, dpi=110)
