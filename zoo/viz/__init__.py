"""Plots people would rather look at than read.

- `plot_disk(points, labels, c)`: 2-D Poincaré-ball points by class, optional decision regions.
- `plot_distance_histograms(in_distances, out_distances)`: distance to the origin, in vs out of distribution.
- `plot_poincare_head(embeddings, labels, layer)`: a trained "poincare" head's disk and MLR regions.
- `plot_latent(embeddings, labels, layer)`: 2-D embeddings with a hyperspherical head's proxies, directions,
  centres and sphere radii.
- `plot_prototypes(embeddings, labels, layer)`: 2-D embeddings with a PrototypeHead's assigned prototypes.
- `plot_embeddings(embeddings, labels, method="pca" | "tsne", geometry)`: embeddings of any dimension in 2-D
  (Poincaré points through log₀ for PCA and their hyperbolic distances for t-SNE); `project_2d` gives the coordinates.

Every function takes an optional matplotlib `ax` to draw on (default: a new figure with an Agg canvas,
no display needed), writes a PNG when given a `path`, returns the figure, and never switches the user's
matplotlib backend. matplotlib is imported only when a plot is drawn.

Example:
    >>> fig = zoo.viz.plot_disk(points, labels, c=1.0, path="disk.png")
    >>> import matplotlib.pyplot as plt
    >>> _, (left, right) = plt.subplots(1, 2)
    >>> zoo.viz.plot_latent(emb_a, labels, head_a, ax=left)
    >>> zoo.viz.plot_latent(emb_b, labels, head_b, ax=right)
"""

from zoo.viz import embeddings, latent, poincare, prototypes
from zoo.viz.embeddings import plot_embeddings, project_2d
from zoo.viz.latent import plot_latent
from zoo.viz.poincare import plot_disk, plot_distance_histograms, plot_poincare_head
from zoo.viz.prototypes import plot_prototypes

__all__ = [
    "embeddings", "latent", "poincare", "prototypes",
    "plot_embeddings", "project_2d",
    "plot_disk", "plot_distance_histograms", "plot_poincare_head", "plot_latent", "plot_prototypes",
]
