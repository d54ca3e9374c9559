"""Figure plumbing shared by the plot functions of `zoo.viz`: an axes to draw on, a file to write, colours.

No pyplot and no backend selection: a figure the zoo creates is a plain `matplotlib.figure.Figure`
with an Agg canvas, so drawing and saving never switch (or even read) the user's matplotlib backend, need
no display, and leave no figure open in pyplot. matplotlib itself is imported only when a plot is drawn.
"""

import os

from zoo._io import atomic_path

__all__ = ["axes_for", "class_cmap", "finish"]


def axes_for(ax, figsize, dpi=None):
    """`(figure, axes, owned)`: the user's `ax` and its figure, or a new Agg-backed figure of `figsize`.

    `owned` is True when the figure was created here (the caller may then lay it out freely).
    """
    if ax is not None:
        return ax.figure, ax, False
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=dpi)
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot(1, 1, 1), True


def finish(fig, owned, path=None, **savefig_kwargs):
    """Lay out a figure created here (`owned`), write it to `path` if given (folders are created; the file is
    written atomically, so an interrupted save keeps the previous picture).

    Returns `fig`.
    """
    if owned:
        fig.tight_layout()
    if path is not None:
        path = os.fspath(path)
        if "format" not in savefig_kwargs:  # the temporary name keeps the extension, but say the format outright
            ext = os.path.splitext(path)[1].lstrip(".").lower()
            if ext:
                savefig_kwargs["format"] = ext
        with atomic_path(path) as tmp:
            fig.savefig(tmp, **savefig_kwargs)
    return fig


def class_cmap(name):
    """The registered matplotlib colormap `name` (e.g. "tab10"), without pyplot."""
    import matplotlib

    return matplotlib.colormaps[name]
