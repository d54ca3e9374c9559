"""The `plot` hooks of the head families: `hook(embeddings, labels, layer, path) -> path` (the `HeadSpec.plot`
contract), each a thin wrapper over a drawing of `zoo.viz` that writes the PNG `path`.

`zoo.viz` imports matplotlib only when a plot is drawn, so importing this module stays cheap.
"""

from zoo.viz.latent import plot_latent
from zoo.viz.poincare import plot_poincare_head
from zoo.viz.prototypes import plot_prototypes

__all__ = ["latent_hook", "poincare_hook", "prototypes_hook"]


def latent_hook(embeddings, labels, layer, path):
    """Hyperspherical heads (cosine margins, center, distarc): `zoo.viz.plot_latent` to `path`."""
    plot_latent(embeddings, labels, layer, path)
    return path


def poincare_hook(embeddings, labels, layer, path):
    """The "poincare" head: `zoo.viz.plot_poincare_head` (disk + MLR decision regions) to `path`."""
    plot_poincare_head(embeddings, labels, layer, path)
    return path


def prototypes_hook(embeddings, labels, layer, path):
    """The "prototypes" head: `zoo.viz.plot_prototypes` to `path`."""
    plot_prototypes(embeddings, labels, layer, path)
    return path
