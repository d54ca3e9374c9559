"""`plot_embeddings`: a 2-D view (PCA or t-SNE) of embeddings of any dimension, coloured by class.

Poincaré-ball embeddings are projected in their own geometry: PCA runs on their tangent vectors at the origin
(log₀, which keeps the radial distance to the origin), t-SNE on their pairwise hyperbolic distances; unit-sphere
embeddings use cosine distances for t-SNE. scikit-learn does the projections.
"""

import numpy as np

from zoo._checks import check_choice, check_int
from zoo.viz._figure import axes_for, class_cmap, finish

__all__ = ["METHODS", "plot_embeddings", "project_2d"]

#: Projections `plot_embeddings` offers.
METHODS = ("pca", "tsne")


def _subsample(n, max_points, seed):
    if n <= max_points:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=max_points, replace=False))


def project_2d(embeddings, method="pca", geometry=None, seed=0, threads=None):
    """[N, 2] coordinates of [N, d] embeddings (numpy float64).

        pca:  the first two principal components (of log₀_c(x) for Poincaré points)
        tsne: t-SNE (scikit-learn, PCA initialisation, seeded) on the geometry's distances: Euclidean, cosine for
              the sphere, the hyperbolic distance for the Poincaré ball
    d = 2 embeddings are returned as they are (Poincaré points stay in their disk).

    Args:
        embeddings: [N, d] array (N >= 3 for t-SNE).
        method: "pca" or "tsne".
        geometry: None (Euclidean) or anything `zoo.geometry.get` takes ("sphere", "cosine", "poincare", a geometry
            object such as a task model's `model.geometry`).
        seed: t-SNE's random state.
        threads: CPU threads t-SNE may use (None: scikit-learn's default, every core). On a machine busy with other
            work 1 is much faster: oversubscribed OpenMP threads made a 600-point t-SNE 10x slower on a 2-core
            machine running training jobs (77 s vs 7 s).

    Example:
        >>> xy = zoo.viz.embeddings.project_2d(model.embed(x_test), "tsne", model.geometry)
    """
    import keras

    import zoo.geometry

    method = check_choice(method, "method", METHODS, owner="project_2d")
    x = np.asarray(keras.ops.convert_to_numpy(embeddings) if not isinstance(embeddings, np.ndarray) else embeddings,
                   dtype="float64")
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"project_2d: `embeddings` must be [N, d] with N >= 2; got shape {x.shape}.")
    if not np.all(np.isfinite(x)):
        raise ValueError("project_2d: `embeddings` hold NaN or inf values.")
    geo = zoo.geometry.get(geometry or "euclidean")
    name = geo.get_config()["name"]
    if x.shape[1] == 2:
        return x
    if method == "pca":
        from sklearn.decomposition import PCA

        if name == "poincare":
            x = np.asarray(keras.ops.convert_to_numpy(zoo.geometry.poincare.logmap0(x, c=float(geo.c))), "float64")
        return PCA(n_components=2, random_state=seed).fit_transform(x)
    from sklearn.manifold import TSNE

    if len(x) < 3:
        raise ValueError(f"project_2d: t-SNE needs at least 3 points; got {len(x)}.")
    if threads is not None:
        threads = check_int(threads, "threads", minimum=1, owner="project_2d")
    perplexity = float(min(30.0, max(1.0, (len(x) - 1) / 3)))
    if name == "euclidean":
        tsne, data = TSNE(2, init="pca", perplexity=perplexity, random_state=seed, n_jobs=threads), x
    else:
        d = np.asarray(keras.ops.convert_to_numpy(geo.pairwise_distance(x.astype("float32"), x.astype("float32"))),
                       "float64")
        d = np.maximum((d + d.T) / 2, 0.0)
        np.fill_diagonal(d, 0.0)
        tsne, data = TSNE(2, init="random", metric="precomputed", perplexity=perplexity, random_state=seed,
                          n_jobs=threads), d
    from threadpoolctl import threadpool_limits  # a scikit-learn dependency

    with threadpool_limits(limits=threads):
        return tsne.fit_transform(data)


def plot_embeddings(embeddings, labels, method="pca", geometry=None, path=None, class_names=None, title=None,
                    max_points=5000, seed=0, ax=None, threads=None, legend=True):
    """A 2-D picture of embeddings of any dimension, one colour per class (see `project_2d`).

    Args:
        embeddings, labels: [N, d] embeddings (e.g. `model.embed(x)`) and int labels [N].
        method: "pca" (default) or "tsne".
        geometry: the embeddings' geometry (a task model's `model.geometry`, or a name); None = Euclidean.
        path: optional PNG file to write (atomically).
        class_names: legend names (one per class).
        title: axes title (default: the method and the dimension).
        max_points: a seeded subsample of at most this many points is drawn (and projected).
        seed: subsample and t-SNE seed.
        threads: CPU threads of t-SNE (see `project_2d`; None: every core).
        ax: a matplotlib axes to draw on (default: a new figure; the user's backend is never switched).
        legend: draw the class legend (default True; it is left out above 20 classes either way).

    Returns:
        the matplotlib figure.

    Example:
        >>> fig = zoo.viz.plot_embeddings(model.embed(x_test), y_test, "tsne", model.geometry, path="tsne.png")
    """
    labels = np.asarray(labels)
    n = len(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"plot_embeddings: `labels` must be integers [N]; got {labels.dtype} shape {labels.shape}.")
    if len(embeddings) != n:
        raise ValueError(f"plot_embeddings: {len(embeddings)} embeddings but {n} labels.")
    max_points = check_int(max_points, "max_points", minimum=2, owner="plot_embeddings")
    keep = _subsample(n, max_points, seed)
    dim = int(np.shape(embeddings)[1]) if np.ndim(embeddings) == 2 else None
    xy = project_2d(np.asarray(embeddings)[keep], method, geometry, seed, threads=threads)
    labels = labels[keep]
    fig, ax, owned = axes_for(ax, (5.2, 4.6), dpi=100)
    classes = np.unique(labels)
    cmap = class_cmap("tab10" if len(classes) <= 10 else "tab20")
    for i, k in enumerate(classes):
        sel = labels == k
        name = class_names[int(k)] if class_names is not None else str(int(k))
        ax.scatter(xy[sel, 0], xy[sel, 1], s=6, alpha=0.7, color=cmap(i % cmap.N), label=name)
    ax.set_title(title or (f"{dim}-d embeddings, {'PCA' if method == 'pca' else 't-SNE'}" if dim != 2 else
                           "2-d embeddings"))
    ax.set_xticks([])
    ax.set_yticks([])
    if legend and len(classes) <= 20:
        ax.legend(markerscale=2.5, fontsize=7, loc="best", frameon=False)
    return finish(fig, owned, path, dpi=100)
