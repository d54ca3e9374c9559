"""Pictures of the Poincaré ball: the 2-D disk with embeddings coloured by class (and the decision regions
of a trained "poincare" head), and histograms of the distance to the origin (in- vs out-of-distribution).

Every function draws on the matplotlib `ax` it is given (or on a new figure with an Agg canvas), writes a
file when given a `path`, returns the figure, and never switches the matplotlib backend.

Example:
    >>> fig = zoo.viz.poincare.plot_disk(points, labels, c=1.0, path="disk.png")
    >>> fig = zoo.viz.poincare.plot_distance_histograms(d_in, d_out, "hist.png",
    ...                                                 labels=("Fashion-MNIST", "digits"))
    >>> fig = zoo.viz.poincare.plot_poincare_head(embeddings, labels, spec.layer, ax=my_axes)

Reference:
    Khrulkov et al., "Hyperbolic Image Embeddings", CVPR 2020, Fig. 5 (MNIST disk and the histograms of
    distances to the origin for MNIST and Omniglot).
"""

import math

import numpy as np
from keras import ops

from zoo.viz._figure import axes_for, class_cmap, finish

__all__ = ["plot_disk", "plot_distance_histograms", "plot_poincare_head"]


def _class_colors(n):
    """tab10 for the first ten classes, then black / grey, then tab20's light tints."""
    tab10 = [class_cmap("tab10")(i) for i in range(10)]
    extra = ["black", "dimgray"] + [class_cmap("tab20")(i) for i in range(1, 20, 2)]
    return (tab10 + extra)[:n] if n <= len(tab10) + len(extra) else [class_cmap("hsv")(i / n) for i in range(n)]


def plot_disk(points, labels, c=1.0, path=None, class_names=None, region_fn=None, title=None,
              max_points=10000, seed=0, ax=None, legend=True):
    """Scatter 2-D Poincaré-ball points coloured by class, with the boundary circle of radius 1/sqrt(c).

    Args:
        points: [N, 2] points in the disk.
        labels: [N] int class labels.
        c: curvature magnitude > 0 (the circle drawn has radius 1/sqrt(c)).
        path: optional PNG file to write (folders are created); None writes nothing.
        class_names: optional names for the legend.
        region_fn: optional `f(grid [M, 2]) -> [M] int` classifying disk points (e.g. the argmax of a
            HyperbolicMLR); the decision regions are shaded.
        title: optional figure title.
        max_points: plot at most this many points (a seeded random subset).
        seed: seed of that subset.
        ax: optional matplotlib axes to draw on (default: a new 6.4 x 6.4 inch figure at 120 dpi).
        legend: draw the class legend (default True; False for small panels or many classes).

    Returns:
        The matplotlib figure drawn on.
    """
    pts = np.asarray(points, np.float64)
    labels = np.asarray(labels).astype(int).ravel()
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ValueError(f"plot_disk needs 2-D points [N, 2]; got shape {pts.shape}.")
    if len(labels) != len(pts):
        raise ValueError(f"{len(pts)} points but {len(labels)} labels.")
    if not (c > 0 and math.isfinite(c)):
        raise ValueError(f"`c` must be a finite number > 0; got {c!r}.")
    radius = 1.0 / math.sqrt(c)
    if len(pts) > max_points:
        keep = np.random.default_rng(seed).choice(len(pts), max_points, replace=False)
        pts, labels = pts[keep], labels[keep]
    num_classes = int(labels.max()) + 1 if len(labels) else 1
    colors = _class_colors(max(num_classes, 1))
    fig, ax, owned = axes_for(ax, figsize=(6.4, 6.4), dpi=120)
    if region_fn is not None:
        n = 300
        g = np.linspace(-radius, radius, n)
        gx, gy = np.meshgrid(g, g)
        grid = np.stack([gx.ravel(), gy.ravel()], axis=1)
        inside = np.sum(grid**2, axis=1) < (radius * 0.999) ** 2
        cls = np.full(len(grid), np.nan)
        cls[inside] = np.asarray(region_fn(grid[inside].astype(np.float32))).ravel()
        from matplotlib.colors import ListedColormap

        ax.imshow(cls.reshape(n, n), origin="lower", extent=(-radius, radius, -radius, radius),
                  cmap=ListedColormap(colors), vmin=-0.5, vmax=len(colors) - 0.5, alpha=0.18,
                  interpolation="nearest")
    for k in range(num_classes):
        sel = labels == k
        if not np.any(sel):
            continue
        name = class_names[k] if class_names is not None and k < len(class_names) else str(k)
        ax.scatter(pts[sel, 0], pts[sel, 1], s=3, color=colors[k], label=name, alpha=0.7, linewidths=0)
    from matplotlib.patches import Circle

    ax.add_patch(Circle((0, 0), radius, fill=False, color="black", linewidth=1.2))
    ax.set_xlim(-1.05 * radius, 1.05 * radius)
    ax.set_ylim(-1.05 * radius, 1.05 * radius)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([])
    for side in ax.spines.values():
        side.set_visible(False)
    if legend:
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), markerscale=4, fontsize=8, frameon=False)
    ax.set_title(title or f"Poincaré disk, c = {c:g} (radius {radius:.3g})", fontsize=9)
    return finish(fig, owned, path)


def plot_distance_histograms(in_distances, out_distances, path=None,
                             labels=("in-distribution", "out-of-distribution"), c=None, auroc=None, bins=50,
                             title=None, ax=None):
    """Overlaid, density-normalised histograms of the distance to the origin of two sets.

    Args:
        in_distances, out_distances: [N] distances d_c(0, x).
        path: optional PNG file to write (folders are created); None writes nothing.
        labels: legend names of the two sets.
        c: optional curvature, shown in the title with the largest distance (2/sqrt c) artanh(1 - 1e-5).
        auroc: optional AUROC shown in the title.
        bins: number of bins (shared by both sets).
        title: optional title (replaces the default).
        ax: optional matplotlib axes to draw on (default: a new 7 x 4.2 inch figure at 120 dpi).

    Returns:
        The matplotlib figure drawn on.
    """
    a = np.asarray(in_distances, np.float64).ravel()
    b = np.asarray(out_distances, np.float64).ravel()
    if a.size == 0 or b.size == 0:
        raise ValueError("both distance sets must be non-empty.")
    lo, hi = float(min(a.min(), b.min())), float(max(a.max(), b.max()))
    edges = np.linspace(lo, hi if hi > lo else lo + 1.0, bins + 1)
    fig, ax, owned = axes_for(ax, figsize=(7.0, 4.2), dpi=120)
    ax.hist(a, bins=edges, density=True, alpha=0.55, label=f"{labels[0]} (n={a.size})", color="tab:blue")
    ax.hist(b, bins=edges, density=True, alpha=0.55, label=f"{labels[1]} (n={b.size})", color="tab:orange")
    ax.set_xlabel("hyperbolic distance to the origin  d_c(0, x)")
    ax.set_ylabel("density")
    parts = []
    if c is not None:
        parts.append(f"c = {c:g}")
    if auroc is not None:
        parts.append(f"OOD AUROC = {auroc:.3f}")
    ax.set_title(title or ("Distance to the origin" + (": " + ", ".join(parts) if parts else "")))
    ax.legend()
    return finish(fig, owned, path)


def plot_poincare_head(embeddings, labels, layer, path=None, ax=None, **kwargs):
    """The 2-D picture of a trained "poincare" head: its ball points on the disk and its MLR decision regions.

    The backbone outputs go through the head's exponential map (`layer.embed`, ToPoincare) to the disk of
    radius 1/sqrt(c) (c the head's current, possibly trained, curvature); the background is shaded by the
    argmax of the head's hyperbolic MLR (`layer.mlr`) at every grid point of the disk.

    Args:
        embeddings: [N, 2] backbone outputs (what the head receives, before the exponential map).
        labels: [N] int class labels.
        layer: the trained head layer of `zoo.heads.get("poincare", ...)` (a ToPoincare + HyperbolicMLR
            composite with `embed`, `mlr` and `curvature`).
        path: optional PNG file to write (folders are created).
        ax: optional matplotlib axes to draw on.
        **kwargs: passed to `plot_disk` (class_names, title, max_points, seed, legend).

    Returns:
        The matplotlib figure drawn on.

    Example:
        >>> spec = zoo.heads.get("poincare", num_classes=10, embedding_dim=2)
        >>> fig = zoo.viz.poincare.plot_poincare_head(backbone.predict(x), y, spec.layer, "disk.png")
    """
    points = ops.convert_to_numpy(layer.embed(ops.convert_to_tensor(np.asarray(embeddings, "float32"))))
    c = float(ops.convert_to_numpy(layer.curvature))

    def regions(grid):
        return np.argmax(ops.convert_to_numpy(layer.mlr(ops.convert_to_tensor(grid), c=c)), axis=-1)

    kwargs.setdefault("title", f"Poincaré disk (c = {c:.4g}): test embeddings and MLR decision regions")
    return plot_disk(points, labels, c=c, path=path, region_fn=regions, ax=ax, **kwargs)
