"""The zoo's manifest: what is published, read from `zoo/pretrained/manifest.json` inside the package (so listing
works offline and on a machine without the repository).

Schema 1: `{"schema": 1, "base_urls": [...], "models": {name: entry}}`. An entry holds at least `name`, `task`,
`dataset`, `backbone`, `head`, `geometry`, `embedding_dim`, `input`, `metrics` (metric -> {value, split, protocol,
by_backend}), `protocol` (what `zoo.pretrained.evaluate` runs), `file`, `size`, `sha256`, `sources`, `command`,
`commit`; `recipes.publish` writes them. `base_urls` (and `$ZOO_WEIGHTS_URL`) are release mirrors: a model is
`<base>/<name>/<file>` there.
"""

import copy
import difflib
import json
import os

MANIFEST_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "manifest.json")
#: The checkout's root: relative `file:` sources ("file:weights/<name>/model.keras") resolve against it.
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
#: Tasks a published entry can have.
TASKS = ("image_classification", "few_shot", "metric_learning", "reid")
#: Environment variable with release mirrors (space- or comma-separated base URLs), tried after the manifest's.
BASE_URL_ENV = "ZOO_WEIGHTS_URL"
SCHEMA = 1


def read_manifest(path=None):
    """The manifest as a dict (a fresh copy); `path` defaults to the one inside the package."""
    path = path or MANIFEST_PATH
    with open(path, encoding="utf-8") as f:
        manifest = json.load(f)
    if manifest.get("schema") != SCHEMA:
        raise ValueError(f"{path}: manifest schema {manifest.get('schema')!r}; this zoo reads schema {SCHEMA}.")
    if not isinstance(manifest.get("models"), dict):
        raise ValueError(f"{path}: the manifest has no `models` mapping.")
    return manifest


def list_weights(task=None, dataset=None, manifest=None):
    """Published models, as dicts (copies of their manifest entries), sorted by name; works offline.

    Args:
        task: only entries of this task ("image_classification", "few_shot", "metric_learning", "reid").
        dataset: only entries trained on this dataset (e.g. "fashion_mnist").
        manifest: a manifest file to read instead of the package's (tests, private zoos).

    Returns:
        list of dict: each with `name`, `task`, `dataset`, `backbone`, `head`, `geometry`, `embedding_dim`,
        `input`, `metrics`, `size`, `sha256`, `command`, `commit`, `sources`, ...

    Raises:
        ValueError: an unknown `task`.

    Example:
        >>> [m["name"] for m in zoo.pretrained.list_weights(task="few_shot")]
    """
    if task is not None and task not in TASKS:
        raise ValueError(f"zoo.pretrained.list_weights: unknown task {task!r}; tasks are {', '.join(TASKS)}.")
    models = read_manifest(manifest)["models"]
    out = []
    for name in sorted(models):
        entry = models[name]
        if task is not None and entry.get("task") != task:
            continue
        if dataset is not None and entry.get("dataset") != dataset:
            continue
        out.append(copy.deepcopy(entry))
    return out


def info(name, manifest=None):
    """The manifest entry (a dict copy) of published model `name`.

    Raises:
        ValueError: `name` is not published; the message lists the closest names.

    Example:
        >>> zoo.pretrained.info("lenet_fmnist_poincare_d64")["metrics"]["accuracy"]["value"]
    """
    models = read_manifest(manifest)["models"]
    if not isinstance(name, str) or name not in models:
        close = difflib.get_close_matches(str(name), list(models), n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise ValueError(f"zoo.pretrained: no published model named {name!r}.{hint} `zoo.pretrained.list_weights()` "
                         f"(or `python -m zoo.pretrained list`) lists the {len(models)} published models.")
    return copy.deepcopy(models[name])


def is_name(name, manifest=None):
    """True if `name` is a published model (and not a path or URL)."""
    return isinstance(name, str) and name in read_manifest(manifest)["models"]


def base_urls(manifest=None):
    """Release mirrors, in order: the manifest's `base_urls`, then `$ZOO_WEIGHTS_URL` (read at call time)."""
    urls = list(read_manifest(manifest).get("base_urls", []))
    env = os.environ.get(BASE_URL_ENV, "")
    urls += [u for u in env.replace(",", " ").split() if u]
    return [u.rstrip("/") for u in urls]


def entry_sources(entry, manifest=None):
    """Every source of `entry`, in the order they are tried: its own `sources`, then `<base>/<name>/<file>` for
    each release mirror."""
    sources = list(entry.get("sources", []))
    for base in base_urls(manifest):
        url = f"{base}/{entry['name']}/{entry.get('file', 'model.keras')}"
        if url not in sources:
            sources.append(url)
    return sources
