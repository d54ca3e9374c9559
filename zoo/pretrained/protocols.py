"""Test protocols of the published zoo: `evaluate(model, protocol)` computes a model card's metric, exactly.

A manifest entry states its metric "on its test protocol": a small JSON dict such as

    {"kind": "classification", "dataset": "fashion_mnist", "split": "test", "batch_size": 500}
    {"kind": "few_shot", "dataset": "fashion_mnist", "split": "test", "way": 5, "shots": [1, 5], "query": 15,
     "episodes": 600, "seed": 0, "batch_size": 500}
    {"kind": "retrieval", "dataset": "fashion_mnist", "split": "test", "ks": [1, 5], "batch_size": 500}

and a test reloads every published model on tensorflow, jax and torch and checks that `evaluate` gives the
manifest's value for that backend exactly. Evaluation is therefore deterministic on a given backend and
machine: the data come in file order (no shuffling, no tf.data), one forward pass per protocol with a fixed
batch size, argmax / ranking / averaging in numpy (float64), and the few-shot episode plans are
`zoo.data.episode_plan`'s from a seeded numpy generator. Kinds (`PROTOCOLS` holds the standard protocol of
each):

- ``"classification"``: top-1 accuracy of ``argmax(model.predict(x, batch_size))`` -> ``{"accuracy"}``.
- ``"few_shot"``: a `zoo.models.ProtoNet` (``embed`` and ``episode_scores``); the test-class pool is embedded
  once (``model.embed(pool, batch_size)``), then for each shot ``episodes`` `way`-way episodes are drawn by
  `zoo.data.episode_plan` from ``np.random.default_rng((seed, shot))`` (classes without replacement, then
  ``shot + query`` images of each class without replacement, the first ``shot`` the support set) and scored
  by the model's own prototype and distance code,
  ``model.episode_scores(z_support, class_index, way, z_query)``; per-episode accuracy of the numpy argmax
  -> ``{"5way1shot_accuracy", "5way1shot_ci95", "5way5shot_accuracy", ...}`` (mean and
  1.96·std/√episodes, `zoo.metrics.confidence_interval`). Each episode's scores equal
  `ProtoNet.predict_episode` on its raw images (support labels = class index) up to the numerics of the
  embedding batches; the standard protocol embeds 5,000 images instead of 108,000 (600 episodes of 5 x (1 + 15)
  and 5 x (5 + 15) images), and its episodes are not those of `ProtoNet.evaluate_episodes` (tf.data plans).
- ``"retrieval"``: leave-one-out retrieval inside the split (queries = gallery, each query's own image left
  out) with `EmbeddingModel.evaluate_retrieval` -> ``{"recall@1", "recall@5", "map@r"}``.

`register_protocol` adds a kind (the re-ID issue's "reid": query / gallery with camera filtering),
`describe_protocol` writes the one line a model card prints, `check_protocol` fills in the defaults and
names any missing or bad key.

Datasets (``protocol["dataset"]``, ``protocol["split"]`` in {"test", "train"}, ``protocol["limit"]``: the first
N examples only, for tests):

- ``"fashion_mnist"``: `zoo.data.fashion_mnist` (offline copy): test 10,000 / train 60,000 images, file order.
  Few-shot: the pool of `zoo.data.fewshot_splits("fashion_mnist")` that `recipes.fewshot` evaluates on, i.e.
  split "test" = classes 5-9 (Sandal, Shirt, Sneaker, Bag, Ankle boot) of the 10k test file (5,000 images),
  split "train" = classes 0-4 of the 60k training file (30,000 images).
- ``"digits"``: `zoo.data.digits()` with its defaults: scikit-learn's 8x8 digits as raw uint8 pixels
  ``round(v * 255 / 16)``, the stratified split of seed 0 (test 450 / train 1,347 images). Not a few-shot
  dataset.

``data=(x, y)`` replaces the dataset by arrays (raw 0..255 images and integer labels; for "few_shot" the
test-class pool), e.g. for tests on tiny data; ``limit`` still applies.
"""

import functools
import math
import numbers
import types
from collections.abc import Mapping

import numpy as np

from zoo._checks import check_int

__all__ = ["evaluate", "register_protocol", "describe_protocol", "check_protocol", "PROTOCOLS"]

#: Keys every protocol has: what it computes, on which dataset and split.
REQUIRED_KEYS = ("kind", "dataset", "split")
#: Keys any protocol may have: `limit` (the first N examples only; None or absent: all of them).
OPTIONAL_KEYS = ("limit",)
#: Splits of the built-in datasets.
SPLITS = ("test", "train")
#: Examples per (dataset, split) of the built-in datasets (for `describe_protocol`, without loading them).
DATASET_SIZES = {"fashion_mnist": {"test": 10000, "train": 60000}, "digits": {"test": 450, "train": 1347}}
#: Few-shot pools: (dataset, split) -> (images, classes, file they come from); as `zoo.data.fewshot_splits`.
FEW_SHOT_POOLS = {("fashion_mnist", "test"): (5000, "5-9", "test"), ("fashion_mnist", "train"): (30000, "0-4", "train")}
#: Display names of the datasets in `describe_protocol`.
DATASET_NAMES = {"fashion_mnist": "Fashion-MNIST", "digits": "scikit-learn digits"}

# kind -> {"fn", "defaults", "describe", "check"}; PROTOCOLS is a read-only view of the standard protocols.
_REGISTRY = {}
_STANDARD = {}
#: kind -> the standard protocol of that kind (read-only; `dict(PROTOCOLS["few_shot"])` to edit a copy).
PROTOCOLS = types.MappingProxyType(_STANDARD)


# -- the public functions ------------------------------------------------------------------------------------
def evaluate(model, protocol, *, data=None, verbose=0):
    """The metrics of `model` on its test protocol: a dict of metric name -> float, deterministic per backend.

    Dispatches on ``protocol["kind"]`` (see the module docstring and `PROTOCOLS`); missing optional keys take
    the kind's defaults (`check_protocol`).

    Args:
        model: a task model: `zoo.models.ImageClassifier` ("classification"), `zoo.models.ProtoNet`
            ("few_shot"), `zoo.models.EmbeddingModel` ("retrieval"), or what a registered kind takes.
        protocol: the protocol dict (as in a manifest entry).
        data: None (load ``protocol["dataset"]``) or ``(images, labels)`` arrays of raw 0..255 images and
            integer labels replacing the dataset (for "few_shot": the pool of test-class images).
        verbose: 0 silent; 1 progress bars of Keras' predict.

    Returns:
        dict of metric name -> float:
        "classification": ``{"accuracy"}``; "few_shot": ``{"{way}way{shot}shot_accuracy",
        "{way}way{shot}shot_ci95"}`` per shot; "retrieval": ``{"recall@k"}`` per k and ``{"map@r"}`` (the
        number of queries is the split size; `describe_protocol` states it).

    Raises:
        ValueError: an unknown kind (the known ones are listed), a missing or bad key (named), labels outside
            the model's classes, a few-shot pool with fewer than `way` classes of `max(shots) + query` images.
        TypeError: a model without what the kind uses (e.g. "few_shot" on a model without `episode_scores`).

    Example:
        >>> model = zoo.pretrained.load(name)                       # a published image classifier
        >>> zoo.pretrained.evaluate(model, zoo.pretrained.info(name)["protocol"])     # {"accuracy": ...}
        >>> zoo.pretrained.evaluate(model, {**zoo.pretrained.PROTOCOLS["classification"], "limit": 500})
    """
    protocol = check_protocol(protocol)
    verbose = check_int(verbose, "verbose", minimum=0, maximum=2, owner="evaluate")
    if data is not None:
        data = _check_data(data, "evaluate")
    result = _REGISTRY[protocol["kind"]]["fn"](model, protocol, data, verbose)
    if not isinstance(result, dict):
        raise TypeError(f"evaluate: the {protocol['kind']!r} protocol function returned {type(result).__name__}, "
                        "not a dict of metric name -> float.")
    return result


def check_protocol(protocol):
    """A copy of `protocol` with the kind's defaults filled in, or a ValueError naming the missing or bad key.

    Every protocol has ``"kind"``, ``"dataset"`` and ``"split"``, may have ``"limit"`` (None or an int >= 1),
    and otherwise only the keys of its kind's standard protocol (`PROTOCOLS[kind]`), whose values are the
    defaults. Lists come back as lists (JSON-ready: store the result in a manifest to pin every default).

    Args:
        protocol: a dict (or another mapping, e.g. `PROTOCOLS[kind]`).

    Returns:
        dict: the full protocol (a new dict).

    Raises:
        TypeError: not a dict. ValueError: no or an unknown ``"kind"`` (the known ones are listed), a missing
            required key, an unknown key (a typo such as "shot" for "shots"), a value of the wrong type or range.

    Example:
        >>> zoo.pretrained.check_protocol({"kind": "classification", "dataset": "digits", "split": "test"})
        {'kind': 'classification', 'dataset': 'digits', 'split': 'test', 'batch_size': 500}
    """
    if not isinstance(protocol, Mapping):
        raise TypeError(f"check_protocol: `protocol` must be a dict (e.g. zoo.pretrained.PROTOCOLS['classification']); "
                        f"got {type(protocol).__name__}.")
    kind = protocol.get("kind")
    if kind is None:
        raise ValueError(f"check_protocol: the protocol has no 'kind'; known kinds: {sorted(_REGISTRY)}.")
    if kind not in _REGISTRY:
        raise ValueError(f"check_protocol: unknown protocol kind {kind!r}; known kinds: {sorted(_REGISTRY)}.")
    entry = _REGISTRY[kind]
    owner = f"protocol {kind!r}"
    missing = [k for k in REQUIRED_KEYS if k not in protocol]
    if missing:
        raise ValueError(f"{owner}: missing key(s) {missing}; a protocol has {list(REQUIRED_KEYS)} and optionally "
                         f"{sorted(set(entry['defaults']) | set(OPTIONAL_KEYS))}.")
    allowed = set(REQUIRED_KEYS) | set(OPTIONAL_KEYS) | set(entry["defaults"])
    unknown = sorted(set(protocol) - allowed, key=str)
    if unknown:
        raise ValueError(f"{owner}: unknown key(s) {unknown}; allowed keys: {sorted(allowed)}.")
    out = {"kind": kind}
    for key in REQUIRED_KEYS[1:]:
        if not isinstance(protocol[key], str) or not protocol[key]:
            raise ValueError(f"{owner}: '{key}' must be a non-empty string; got {protocol[key]!r}.")
        out[key] = protocol[key]
    for key, default in entry["defaults"].items():
        value = protocol.get(key, default)
        out[key] = list(value) if isinstance(value, tuple) else value
    if protocol.get("limit") is not None:
        out["limit"] = check_int(protocol["limit"], "limit", minimum=1, owner=owner)
    if entry["check"] is not None:
        out = entry["check"](out, owner)
    return out


def describe_protocol(protocol):
    """One human-readable line for a model card, e.g. "Fashion-MNIST test split (10,000 images), top-1 accuracy
    of argmax predict, batch 500".

    Args:
        protocol: a protocol dict (checked and completed with `check_protocol`).

    Returns:
        str (no data is loaded: the sizes of the built-in datasets are in `DATASET_SIZES` / `FEW_SHOT_POOLS`).

    Example:
        >>> zoo.pretrained.describe_protocol(zoo.pretrained.PROTOCOLS["few_shot"])
        '5-way {1,5}-shot, 15 queries per class, 600 episodes per shot (seed 0), Fashion-MNIST test classes 5-9
        of the test file (5,000 images), mean query accuracy ± 95% CI (1.96·std/√episodes), batch 500'
    """
    protocol = check_protocol(protocol)
    entry = _REGISTRY[protocol["kind"]]
    if entry["describe"] is None:
        return f"{protocol['kind']} on {_data_text(protocol)}"
    return entry["describe"](protocol)


def register_protocol(kind, fn, *, defaults=None, describe=None, check=None, replace=False):
    """Add a protocol kind to `evaluate` (e.g. the re-ID issue's "reid": query / gallery with camera filtering).

    Args:
        kind: the name (a non-empty string), the protocol's ``"kind"``.
        fn: ``fn(model, protocol, data, verbose) -> dict[str, float]``; `protocol` is checked and completed,
            `data` None or the caller's ``(images, labels)`` arrays.
        defaults: the kind's own keys and their default values (besides "kind", "dataset", "split", "limit");
            with "dataset" and "split" they make `PROTOCOLS[kind]` (None: "fashion_mnist", "test").
        describe: ``describe(protocol) -> str`` for model cards (None: a generic line).
        check: ``check(protocol, owner) -> protocol`` validating the kind's keys (raise ValueError naming one).
        replace: allow replacing an existing kind (default False: a ValueError).

    Returns:
        `fn`.

    Example:
        >>> def reid(model, protocol, data, verbose):
        ...     return {"rank1": ..., "map": ...}
        >>> zoo.pretrained.register_protocol("reid", reid, defaults={"dataset": "market1501", "split": "test",
        ...                                                           "batch_size": 128})
    """
    if not isinstance(kind, str) or not kind:
        raise ValueError(f"register_protocol: `kind` must be a non-empty string; got {kind!r}.")
    if not callable(fn):
        raise TypeError(f"register_protocol: `fn` must be callable fn(model, protocol, data, verbose); got "
                        f"{type(fn).__name__}.")
    for name, value in (("describe", describe), ("check", check)):
        if value is not None and not callable(value):
            raise TypeError(f"register_protocol: `{name}` must be callable or None; got {type(value).__name__}.")
    if kind in _REGISTRY and not replace:
        raise ValueError(f"register_protocol: the kind {kind!r} is already registered; pass replace=True to "
                         "replace it.")
    defaults = {k: tuple(v) if isinstance(v, list) else v for k, v in dict(defaults or {}).items()}
    if "kind" in defaults:
        raise ValueError("register_protocol: `defaults` must not hold 'kind' (it is the `kind` argument).")
    standard = {"kind": kind, "dataset": defaults.pop("dataset", "fashion_mnist"),
                "split": defaults.pop("split", "test"), **defaults}
    defaults.pop("limit", None)
    _REGISTRY[kind] = {"fn": fn, "defaults": defaults, "describe": describe, "check": check}
    _STANDARD[kind] = types.MappingProxyType(standard)
    return fn


# -- data ------------------------------------------------------------------------------------------------------
def _check_data(data, where):
    if not (isinstance(data, (tuple, list)) and len(data) == 2):
        raise TypeError(f"{where}: `data` must be None or an (images, labels) pair of arrays; got "
                        f"{type(data).__name__}.")
    x, y = np.asarray(data[0]), np.asarray(data[1])
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or len(y) != len(x):
        raise ValueError(f"{where}: `data` labels must be [N] integer labels for the {len(x)} images; got shape "
                         f"{y.shape}.")
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"{where}: `data` labels must be integers; got dtype {y.dtype}.")
    if x.ndim not in (3, 4):
        raise ValueError(f"{where}: `data` images must be [N, H, W] or [N, H, W, C]; got shape {x.shape}.")
    return x, y.astype(np.int64)


def _load(protocol, data, few_shot=False):
    """(images, labels) of the protocol's dataset and split (or `data`), first `limit` only, in file order."""
    if data is None:
        data = _builtin_data(protocol["kind"], protocol["dataset"], protocol["split"], few_shot)
    x, y = data
    if protocol.get("limit") is not None:
        x, y = x[:protocol["limit"]], y[:protocol["limit"]]
    return x, y


@functools.lru_cache(maxsize=4)
def _builtin_data(kind, dataset, split, few_shot):
    """A built-in dataset's split, read once per process (evaluating a whole zoo reads it once), read-only."""
    if few_shot:
        x, y = _few_shot_pool(dataset, split)
    elif dataset in ("fashion_mnist", "digits"):
        import zoo.data

        train, test = zoo.data.fashion_mnist() if dataset == "fashion_mnist" else zoo.data.digits()
        x, y = test if split == "test" else train
    else:
        raise ValueError(f"protocol {kind!r}: unknown dataset {dataset!r}; built-in: "
                         f"{sorted(DATASET_SIZES)} (or pass data=(images, labels)).")
    x, y = np.array(x), np.array(y, dtype=np.int64)
    x.flags.writeable = False
    y.flags.writeable = False
    return x, y


def _few_shot_pool(dataset, split):
    """The test-class (or train-class) images of `zoo.data.fewshot_splits(dataset)`, as `recipes.fewshot` uses."""
    if (dataset, split) not in FEW_SHOT_POOLS:
        raise ValueError(f"protocol 'few_shot': no few-shot pool for dataset {dataset!r}, split {split!r}; built-in: "
                         f"{sorted(FEW_SHOT_POOLS)} (or pass data=(images, labels) of the test classes).")
    import zoo.data

    pool = zoo.data.fewshot_splits(dataset)[split]
    images = pool.images[..., 0] if pool.images.shape[-1] == 1 else pool.images
    return images, np.asarray(pool.labels, dtype=np.int64)


def _data_text(protocol):
    """"Fashion-MNIST test split (10,000 images)" (or "first N of ...")."""
    dataset, split = protocol["dataset"], protocol["split"]
    name = DATASET_NAMES.get(dataset, dataset)
    size = DATASET_SIZES.get(dataset, {}).get(split)
    return _sized(f"{name} {split} split", size, protocol.get("limit"))


def _sized(text, size, limit):
    """"text (N images)", or "the first L images of the text" when a limit cuts it."""
    if limit is not None and (size is None or limit < size):
        return f"the first {limit:,} images of the {text}"
    return text if size is None else f"{text} ({size:,} images)"


def _require(model, methods, kind):
    lacking = [m for m in methods if not callable(getattr(model, m, None))]
    if lacking:
        raise TypeError(f"evaluate: the {kind!r} protocol needs a model with {list(methods)} ({_MODELS[kind]}); "
                        f"{type(model).__name__} lacks {lacking}.")


_MODELS = {"classification": "e.g. zoo.models.ImageClassifier", "few_shot": "a zoo.models.ProtoNet",
           "retrieval": "a zoo.models.EmbeddingModel"}


def _int_list(protocol, key, owner, minimum=1):
    value = protocol[key]
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise ValueError(f"{owner}: '{key}' must be a non-empty list of ints >= {minimum}; got {value!r}.")
    value = list(value)
    if not value or any(isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < minimum for v in value):
        raise ValueError(f"{owner}: '{key}' must be a non-empty list of ints >= {minimum}; got {value!r}.")
    if len(set(value)) != len(value):
        raise ValueError(f"{owner}: '{key}' must not repeat a value; got {value!r}.")
    return [int(v) for v in value]


def _check_split(protocol, owner):
    if protocol["dataset"] in DATASET_SIZES and protocol["split"] not in SPLITS:
        raise ValueError(f"{owner}: 'split' must be one of {list(SPLITS)}; got {protocol['split']!r}.")


# -- classification --------------------------------------------------------------------------------------------
def _classification(model, protocol, data, verbose):
    """{"accuracy"}: top-1 accuracy of argmax of `model.predict(x, batch_size)` (numpy; ties: lowest index)."""
    _require(model, ("predict",), "classification")
    x, y = _load(protocol, data)
    scores = np.asarray(model.predict(x, batch_size=protocol["batch_size"], verbose=verbose))
    if scores.ndim != 2 or len(scores) != len(x):
        raise ValueError(f"evaluate (classification): `model.predict` must return scores [N, num_classes] for the "
                         f"{len(x)} images; got shape {scores.shape}.")
    if y.size and (y.min() < 0 or y.max() >= scores.shape[1]):
        raise ValueError(f"evaluate (classification): labels must lie in [0, {scores.shape[1]}) (the model's "
                         f"classes); got {y.min()}..{y.max()}.")
    if not np.all(np.isfinite(scores)):
        raise ValueError("evaluate (classification): `model.predict` returned NaN or inf scores.")
    return {"accuracy": float(np.mean(np.argmax(scores, axis=1) == y))}


def _check_classification(protocol, owner):
    _check_split(protocol, owner)
    protocol["batch_size"] = check_int(protocol["batch_size"], "batch_size", minimum=1, owner=owner)
    return protocol


def _describe_classification(protocol):
    return f"{_data_text(protocol)}, top-1 accuracy of argmax predict, batch {protocol['batch_size']}"


# -- few-shot --------------------------------------------------------------------------------------------------
def _few_shot(model, protocol, data, verbose):
    """Per shot: mean query accuracy and 95% CI over `episodes` seeded episodes, from one embedding of the pool.

    Equals `ProtoNet.predict_episode` on each episode (support labels = the episode's class index) up to the
    numerics of the embedding batches, with ~20x fewer images embedded: 600 five-way 1-shot and 5-shot
    episodes hold 108,000 images; here the 5,000-image pool is embedded once.
    """
    _require(model, ("embed", "episode_scores"), "few_shot")
    import zoo.metrics

    x, y = _load(protocol, data, few_shot=True)
    way, query, shots = protocol["way"], protocol["query"], protocol["shots"]
    classes = np.unique(y)
    need = max(shots) + query
    if len(classes) < way:
        raise ValueError(f"evaluate (few_shot): {way}-way episodes need >= {way} classes in the pool; it has "
                         f"{len(classes)}: {classes.tolist()}.")
    counts = [int(np.sum(y == c)) for c in classes]
    small = {c: n for c, n in zip(classes.tolist(), counts) if n < need}
    if small:
        raise ValueError(f"evaluate (few_shot): every class of the pool needs >= {need} images (max shot "
                         f"{max(shots)} + {query} queries); too few (class: images): {small}.")
    z = np.asarray(model.embed(x, batch_size=protocol["batch_size"], verbose=verbose))
    if z.ndim != 2 or len(z) != len(x) or not np.all(np.isfinite(z)):
        raise ValueError(f"evaluate (few_shot): `model.embed` must return finite embeddings [N, d] for the {len(x)} "
                         f"images; got shape {z.shape}.")
    out = {}
    for shot in shots:
        accuracies = []
        for support, queries in _episode_plans(y, way, shot, query, protocol["episodes"],
                                               (protocol["seed"], shot)):
            scores = np.asarray(model.episode_scores(z[support.ravel()], np.repeat(np.arange(way), shot), way,
                                                     z[queries.ravel()]))
            truth = np.repeat(np.arange(way), query)
            accuracies.append(float(np.mean(np.argmax(scores, axis=1) == truth)))
        mean, ci95 = zoo.metrics.confidence_interval(accuracies)
        out[f"{way}way{shot}shot_accuracy"] = mean
        out[f"{way}way{shot}shot_ci95"] = ci95
    return out


def _episode_plans(labels, way, shot, query, episodes, seed):
    """Yield (support [way, shot], queries [way, query]) pool indices of `episodes` episodes.

    The plans are `zoo.data.episode_plan`'s (the sampler of every episode pipeline), drawn from
    `np.random.default_rng(seed)` with `seed` = (protocol seed, shot); class k of an episode is its k-th drawn.
    """
    import zoo.data

    rng = np.random.default_rng(list(seed) if isinstance(seed, tuple) else seed)
    plan = zoo.data.episode_plan(labels, way, shot, query, episodes, rng)  # shot-major rows
    for row in plan.reshape(episodes, shot + query, way).transpose(0, 2, 1):
        yield row[:, :shot], row[:, shot:]


def _check_few_shot(protocol, owner):
    _check_split(protocol, owner)
    protocol["way"] = check_int(protocol["way"], "way", minimum=2, owner=owner)
    protocol["shots"] = _int_list(protocol, "shots", owner)
    for key in ("query", "episodes", "batch_size"):
        protocol[key] = check_int(protocol[key], key, minimum=1, owner=owner)
    protocol["seed"] = check_int(protocol["seed"], "seed", minimum=0, owner=owner)
    return protocol


def _describe_few_shot(protocol):
    shots = protocol["shots"]
    shot_text = str(shots[0]) if len(shots) == 1 else "{" + ",".join(str(s) for s in shots) + "}"
    dataset, split = protocol["dataset"], protocol["split"]
    name = DATASET_NAMES.get(dataset, dataset)
    size, classes, source = FEW_SHOT_POOLS.get((dataset, split), (None, None, None))
    text = f"{name} {split} pool" if classes is None else f"{name} {split} classes {classes} of the {source} file"
    where = _sized(text, size, protocol.get("limit"))
    return (f"{protocol['way']}-way {shot_text}-shot, {protocol['query']} queries per class, {protocol['episodes']} "
            f"episodes per shot (seed {protocol['seed']}), {where}, mean query accuracy ± 95% CI "
            f"(1.96·std/√episodes), batch {protocol['batch_size']}")


# -- retrieval -------------------------------------------------------------------------------------------------
def _retrieval(model, protocol, data, verbose):
    """recall@k (every k) and MAP@R of leave-one-out retrieval inside the split, in the model's geometry."""
    del verbose  # evaluate_retrieval embeds silently
    _require(model, ("evaluate_retrieval",), "retrieval")
    x, y = _load(protocol, data)
    ks = protocol["ks"]
    if max(ks) >= len(x):
        raise ValueError(f"evaluate (retrieval): 'ks' {ks} must be below the number of images ({len(x)}; each "
                         "query's own image is left out of its gallery).")
    r = model.evaluate_retrieval(x, y, ks=ks, map_at_r=True, mean_ap=False, batch_size=protocol["batch_size"])
    out = {f"recall@{k}": float(r[f"recall@{k}"]) for k in ks}
    out["map@r"] = float(r["map@r"])
    if not all(math.isfinite(v) for v in out.values()):
        raise ValueError(f"evaluate (retrieval): non-finite metrics {out} (no query has a same-label image?).")
    return out


def _check_retrieval(protocol, owner):
    _check_split(protocol, owner)
    protocol["ks"] = _int_list(protocol, "ks", owner)
    protocol["batch_size"] = check_int(protocol["batch_size"], "batch_size", minimum=1, owner=owner)
    return protocol


def _describe_retrieval(protocol):
    ks = protocol["ks"]
    k_text = str(ks[0]) if len(ks) == 1 else "{" + ",".join(str(k) for k in ks) + "}"
    return (f"{_data_text(protocol)}, leave-one-out retrieval (every image queries the rest of the split), "
            f"recall@{k_text} and MAP@R in the model's geometry, batch {protocol['batch_size']}")


register_protocol("classification", _classification, defaults={"batch_size": 500},
                  describe=_describe_classification, check=_check_classification)
register_protocol("few_shot", _few_shot, defaults={"way": 5, "shots": (1, 5), "query": 15, "episodes": 600,
                                                   "seed": 0, "batch_size": 500},
                  describe=_describe_few_shot, check=_check_few_shot)
register_protocol("retrieval", _retrieval, defaults={"ks": (1, 5), "batch_size": 500},
                  describe=_describe_retrieval, check=_check_retrieval)
