"""Publish a trained recipe run into the zoo: uncompiled `.keras`, metrics on every backend, manifest entry, card.

`python -m recipes.publish RUN_DIR --name NAME` takes a run folder a recipe wrote (`RUN_DIR/model.keras` and
`RUN_DIR/metrics.json` of `recipes.classification`, `recipes.fewshot` or `recipes.metric_learning`) and:

1. loads the model (`keras.saving.load_model(path, compile=False)` after `import zoo`) and saves it again
   without optimizer state or compile config as `weights/NAME/model.keras` (atomically: a temporary file in
   that folder, renamed only after every step below succeeded);
2. picks the task from the model class (`ImageClassifier` -> image_classification, `ProtoNet` -> few_shot,
   `EmbeddingModel` -> metric_learning; `--task reid` once a "reid" protocol is registered) and its test
   protocol (`default_protocol`, or `--protocol JSON`);
3. evaluates the saved file on that protocol with `zoo.pretrained.protocols.evaluate` on each backend of
   `--backends` (the current backend in this process, the others in a subprocess
   `KERAS_BACKEND=b python -m recipes.publish --evaluate FILE --protocol JSON` that prints one JSON line); the
   first backend's numbers are the entry's `value`, all of them its `by_backend`;
4. computes the file's sha256 and size and writes the manifest entry (`zoo/pretrained/manifest.json`, sorted keys,
   indent 1, atomically) with the run's command, commit, backend, Keras version and training budget;
5. writes the model card `weights/NAME/README.md` (Hugging Face front matter with model-index, what it is, the
   one-line load, the metric table per backend, the recipe's own test numbers next to the protocol's, the exact
   command and commit, the budget, limits, licences, sha256 and size).

A run trained from uncommitted code (`dirty`) or outside a git checkout (no commit) is refused unless
`--allow-dirty`: a card must name code that reproduces it. An existing NAME is refused unless `--force`.

`python -m recipes.publish --table` rewrites the zoo table (between `<!-- zoo-table:start -->` and
`<!-- zoo-table:end -->`) in README.md and weights/README.md from the manifest; running it twice changes nothing.

Usage:
    python -m recipes.publish runs/pub/lenet_fmnist_softmax_d64 --name lenet_fmnist_softmax_d64
    python -m recipes.publish RUN --name NAME --backends tensorflow --protocol '{"kind": "classification", ...}'
    python -m recipes.publish --table
"""

import argparse
import json
import os
import re
import subprocess
import sys

from recipes import _card, common

__all__ = ["TASKS", "build_parser", "default_protocol", "main", "publish", "write_tables"]

#: Tasks a manifest entry can have.
TASKS = ("image_classification", "few_shot", "metric_learning", "reid")
#: What a published name may be made of (lowercase letters, digits, `_`, `.`, `-`; starts and ends alnum).
NAME_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9_.-]*[a-z0-9])?$")
#: The manifest schema this writer produces.
#: The machine the zoo is trained on (the card's budget line).
MACHINE = "CPU, 2 cores"
#: Prefix of the one JSON line `--evaluate` prints (the rest of stdout may hold library noise).
RESULT_MARK = "ZOO_PUBLISH_RESULT "
#: File name of a published model inside weights/NAME/.
MODEL_FILE = "model.keras"
CARD_FILE = "README.md"
CODE_LICENCE = "Apache-2.0"
#: XLA flags the test suite runs under (tests/conftest.py); publishing evaluates under them too, so the suite's
#: check that each backend reproduces its recorded number exactly compares like with like. (Measured: the 14
#: published models give bit-identical metrics on JAX with and without the fusion-emitters flag.)
TEST_XLA_FLAGS = ("--xla_backend_optimization_level=0", "--xla_cpu_use_fusion_emitters=false")
#: recipes.metric_learning's --loss values, as the description names them.
LOSS_NAMES = {"exp": "exponential triplet", "std": "triplet", "contrastive": "contrastive"}


class PublishError(ValueError):
    """A run that cannot be published as asked (the message says why and what to do)."""


def build_parser():
    p = argparse.ArgumentParser(
        prog="python -m recipes.publish",
        description="Publish a recipe run into the zoo (uncompiled .keras, evaluation on every backend, manifest "
                    "entry, model card), or regenerate the zoo table (--table).")
    p.add_argument("run_dir", nargs="?", help="a recipe's output folder (model.keras + metrics.json)")
    p.add_argument("--name", help="published name: lowercase letters, digits, _ . - (e.g. lenet_fmnist_poincare_d64)")
    p.add_argument("--root", default=common.ROOT,
                   help="repository root: relative `file:` sources and card paths are written against it")
    p.add_argument("--weights-dir", default=None, help="folder of the published models (default ROOT/weights)")
    p.add_argument("--manifest", default=None, help="manifest file (default ROOT/zoo/pretrained/manifest.json)")
    p.add_argument("--backends", default="tensorflow,jax,torch",
                   help="comma-separated backends to evaluate on; the first one's numbers are the entry's value")
    p.add_argument("--task", default=None, choices=TASKS, help="default: from the model class")
    p.add_argument("--protocol", default=None, help="test protocol as JSON (default: the task's, see default_protocol)")
    p.add_argument("--description", default=None, help="one-paragraph description (default: generated)")
    p.add_argument("--limits", default=None, help="the card's limits (default: generated)")
    p.add_argument("--force", action="store_true", help="replace an existing entry of the same name")
    p.add_argument("--allow-dirty", action="store_true",
                   help="publish a run trained from uncommitted code or outside a git checkout")
    p.add_argument("--table", action="store_true", help="regenerate the zoo tables in README.md and weights/README.md")
    p.add_argument("--readme", default=None, help="with --table: the main README (default ROOT/README.md)")
    p.add_argument("--weights-readme", default=None, help="with --table: default WEIGHTS_DIR/README.md")
    p.add_argument("--evaluate", default=None, metavar="FILE",
                   help="(internal) evaluate FILE on --protocol with this process's backend and print one JSON line")
    return p


# -- protocols -------------------------------------------------------------------------------------------------
#: `recipes.reid --dataset` values -> the dataset names of `zoo.pretrained`'s "reid" protocol.
REID_DATASET_NAMES = {"synthetic": "synthetic_reid"}


def default_protocol(task, dataset):
    """The test protocol of a task on `dataset` (what `zoo.pretrained.protocols.evaluate` runs).

    image_classification: top-1 accuracy on the test split, batch 500; few_shot: 5-way 1- and 5-shot, 15 queries,
    600 episodes, seed 0; metric_learning: leave-one-out retrieval on the test split, recall@1 and @5; reid: the
    registered "reid" protocol on the test split.
    """
    if task == "image_classification":
        return {"kind": "classification", "dataset": dataset, "split": "test", "batch_size": 500}
    if task == "few_shot":
        return {"kind": "few_shot", "dataset": dataset, "split": "test", "way": 5, "shots": [1, 5], "query": 15,
                "episodes": 600, "seed": 0, "batch_size": 500}
    if task == "metric_learning":
        return {"kind": "retrieval", "dataset": dataset, "split": "test", "ks": [1, 5], "batch_size": 500}
    if task == "reid":
        from zoo.pretrained import protocols

        return {**protocols.PROTOCOLS["reid"], "dataset": dataset, "split": "test"}
    raise PublishError(f"--task must be one of {TASKS}; got {task!r}.")


def _check_reid_available():
    from zoo.pretrained import protocols

    if "reid" not in getattr(protocols, "PROTOCOLS", {}):
        raise PublishError("--task reid: no 'reid' evaluation protocol is registered; re-ID evaluation arrives with "
                           "the re-ID issue (zoo.pretrained.protocols.register_protocol('reid', ...)), and until then "
                           "a re-ID model cannot be published with a verified metric.")


def evaluate_file(path, protocol):
    """{metric: float} of the `.keras` file at `path` on `protocol`, with this process's backend."""
    import keras

    import zoo  # noqa: F401  (registers the zoo's classes for loading)
    from zoo.pretrained import protocols

    model = keras.saving.load_model(path, compile=False)
    result = protocols.evaluate(model, protocol)
    return {k: float(v) for k, v in result.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and not k.startswith("num_")}


def _evaluate_on(backend, path, protocol, in_process=True):
    """`evaluate_file` on `backend`: in this process when it runs that backend (and `in_process`), else in a
    subprocess `KERAS_BACKEND=backend python -m recipes.publish --evaluate path --protocol JSON`."""
    import keras

    if in_process and backend == keras.backend.backend():
        return evaluate_file(path, protocol)
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
    env["PYTHONPATH"] = os.pathsep.join([common.ROOT] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    cmd = [sys.executable, "-m", "recipes.publish", "--evaluate", os.path.abspath(path),
           "--protocol", json.dumps(protocol)]
    proc = subprocess.run(cmd, env=env, cwd=common.ROOT, capture_output=True, text=True)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT_MARK)]
    if proc.returncode != 0 or not lines:
        raise PublishError(f"evaluation on {backend} failed (exit {proc.returncode}):\n"
                           f"{(proc.stderr or proc.stdout)[-3000:]}")
    return json.loads(lines[-1][len(RESULT_MARK):])


# -- the run ---------------------------------------------------------------------------------------------------
def _facts(metrics):
    """One flat view of a recipe's metrics.json (few-shot and metric learning keep their flags under "args")."""
    facts = {**(metrics.get("args") or {}), **metrics}
    if facts.get("seed") is None:
        facts["seed"] = _flag(facts.get("command") or "", "--seed", int, 0)
    if facts.get("median_epoch_seconds") is None and facts.get("epoch_seconds"):
        times = sorted(facts["epoch_seconds"])
        mid = len(times) // 2
        facts["median_epoch_seconds"] = times[mid] if len(times) % 2 else (times[mid - 1] + times[mid]) / 2
    if facts.get("selected_epoch") is None:
        val = (facts.get("history") or {}).get("val_fewshot_accuracy")
        if val:  # recipes.fewshot restores the best validation epoch (FewShotEvaluation(restore_best=True))
            facts["selected_epoch"] = max(range(len(val)), key=lambda i: (val[i], -i)) + 1
    return facts


def _flag(command, flag, kind, default):
    parts = command.split()
    for i, part in enumerate(parts):
        if part == flag and i + 1 < len(parts):
            try:
                return kind(parts[i + 1])
            except ValueError:
                return default
        if part.startswith(flag + "="):
            try:
                return kind(part.split("=", 1)[1])
            except ValueError:
                return default
    return default


def _task_of(model):
    import zoo.models

    if isinstance(model, zoo.models.ImageClassifier):
        return "image_classification"
    if isinstance(model, zoo.models.ProtoNet):
        return "few_shot"
    if isinstance(model, zoo.models.EmbeddingModel):
        return "metric_learning"
    if isinstance(model, zoo.models.ReIDModel):
        return "reid"
    raise PublishError(f"the run's model is a {type(model).__name__}, not a zoo.models task model "
                       "(ImageClassifier, ProtoNet, EmbeddingModel, ReIDModel); pass --task to say what it is.")


def _input_spec(model):
    shape = list(model.raw_input_shape) if model.raw_input_shape is not None else None
    if shape and len(shape) == 3 and shape[2] == 1:
        shape = shape[:2]  # grey images are taken as [N, H, W] (or [N, H, W, 1])
    return {"shape": shape, "dtype": "uint8", "value_range": [0, 255]}


def _head(model, task, facts):
    if task in ("image_classification", "reid"):
        return getattr(model, "head_name", facts.get("head"))
    return None


def _recipe_numbers(task, facts):
    """(label, value, how) of the test numbers the training recipe itself printed."""
    n = facts.get("test_images")
    if task == "image_classification" and facts.get("test_accuracy") is not None:
        return [("accuracy", facts["test_accuracy"],
                 f"recipes.classification: `model.evaluate` on the {n or 'all'} test images (Keras' streaming "
                 "accuracy metric in float32)")]
    if task == "few_shot" and facts.get("test_accuracy") is not None:
        seed = facts.get("seed")
        return [(f"{facts.get('way')}way{facts.get('shot')}shot_accuracy", facts["test_accuracy"],
                 f"recipes.fewshot: `model.evaluate_episodes`, {facts.get('test_episodes')} episodes of "
                 f"{facts.get('query')} queries, seed {None if seed is None else seed + 2}, "
                 f"± {100 * facts.get('test_ci95', 0.0):.2f} % (95% CI)")]
    if task == "metric_learning":
        out = []
        if facts.get("recall@1") is not None:
            out.append(("recall@1", facts["recall@1"], "recipes.metric_learning: test queries against the training "
                                                       "images as the gallery"))
        if facts.get("centroid_acc") is not None:
            out.append(("centroid accuracy", facts["centroid_acc"], "recipes.metric_learning: test embeddings "
                                                                   "against training-class centroids"))
        return out
    if task == "reid" and facts.get("rank1") is not None:
        how = (f"recipes.reid: query against gallery ({facts.get('num_valid_queries')} valid queries), the epoch "
               f"selected on held-out training identities ({facts.get('selected_on') or 'none'})")
        return [("rank1", facts["rank1"], how), ("mAP", facts["mAP"], how)]
    return []


def _description(task, facts, model, geometry):
    ds = _card.dataset_name(facts.get("dataset"))
    backbone, dim = facts.get("backbone"), model.embedding_dim
    if task == "image_classification":
        return (f"{backbone} classifier on {ds} with the {model.head_name} head: {dim}-d {geometry} embedding, "
                f"{model.num_classes} classes. `predict` takes raw 0..255 images and returns [N, "
                f"{model.num_classes}] class scores; `embed` the {dim}-d embeddings.")
    if task == "few_shot":
        return (f"Prototypical network ({backbone} backbone, {dim}-d {geometry} embedding) meta-trained on the {ds} "
                "few-shot class split (train classes, tested on unseen classes). `predict_episode(support, labels, "
                "queries)` classifies queries by their nearest class prototype.")
    if task == "metric_learning":
        loss = LOSS_NAMES.get(facts.get("loss"), facts.get("loss") or "see the command")
        return (f"{backbone} embedding model on {ds} ({dim}-d {geometry} embedding, {loss} loss), for retrieval: "
                "`embed`, `retrieve`, `evaluate_retrieval`.")
    arm = "strong baseline (BNNeck, label smoothing, batch-hard triplet)" if facts.get("arm") == "bot" else \
        "seed paper's arm (FC, cross-entropy)"
    return (f"{backbone} re-ID model on {ds}, {arm}, {model.head_name} head: {dim}-d features ranked in the "
            f"{geometry} geometry. `predict` / `embed` take raw 0..255 person crops and return the re-ID features; "
            "`evaluate_reid(query, gallery)` gives CMC, mAP and mINP.")


def _limits(task, facts, model, input_spec):
    ds = _card.dataset_name(facts.get("dataset"))
    text = (f"Trained for {facts.get('epochs')} epoch(s) on a small CPU budget; measured only on the {ds} test "
            f"protocol above, so expect lower numbers on any other data. Input: {input_spec['shape']} raw uint8 "
            "images like the training data (the model resizes but does not adapt to other domains).")
    if task == "few_shot":
        text += " Meta-trained on the few-shot split's training classes; the test classes were never seen in training."
    if model.embedding_dim == 2:
        text += (" The 2-d embedding exists for the pictures of the tutorials: its accuracy is below that of the "
                 "wider models.")
    return text


def _licence(dataset):
    return {"code": CODE_LICENCE, "data": _card.data_licence(dataset)}


def _source(path, root):
    """`file:<path relative to root>` for a file inside the repository, else a `file://` URI."""
    rel = os.path.relpath(os.path.abspath(path), os.path.abspath(root))
    if rel.startswith(os.pardir):
        return "file://" + os.path.abspath(path)
    return "file:" + rel.replace(os.sep, "/")


def _rel(path, root):
    rel = os.path.relpath(os.path.abspath(path), os.path.abspath(root))
    return os.path.abspath(path) if rel.startswith(os.pardir) else rel.replace(os.sep, "/")


def read_manifest(path):
    """The manifest dict at `path` (`zoo.pretrained`'s reader and schema check; an empty manifest when the file
    does not exist yet)."""
    from zoo.pretrained import _manifest

    if not os.path.exists(path):
        return {"schema": _manifest.SCHEMA, "base_urls": [], "models": {}}
    try:
        return _manifest.read_manifest(path)
    except ValueError as e:
        raise PublishError(str(e)) from e


def write_manifest(path, manifest):
    """Write the manifest atomically with sorted keys and indent 1 (a stable diff; entries sorted by name)."""
    from zoo._io import atomic_write_text

    atomic_write_text(path, json.dumps(manifest, indent=1, sort_keys=True, ensure_ascii=False) + "\n")


def publish(run_dir, name, *, root=common.ROOT, weights_dir=None, manifest=None, backends=("tensorflow",),
            task=None, protocol=None, description=None, limits=None, force=False, allow_dirty=False, log=print):
    """Publish the run in `run_dir` as `name` (see the module docstring for the steps).

    Args:
        run_dir: a recipe's output folder with `model.keras` and `metrics.json`.
        name: the published name (`NAME_PATTERN`).
        root: the repository root; `sources` and `card` are written relative to it.
        weights_dir: where `NAME/model.keras` and `NAME/README.md` go (default `root/weights`).
        manifest: the manifest file (default `root/zoo/pretrained/manifest.json`).
        backends: backends to evaluate on; the first one's numbers are each metric's `value`.
        task: one of `TASKS` (default: from the model class).
        protocol: the test protocol dict (default `default_protocol(task, dataset)`); stored completed.
        description, limits: the card's texts (default: generated from the run).
        force: replace an existing entry; allow_dirty: accept a dirty or commit-less run.
        log: a print-like function for progress lines.

    Returns:
        dict: the manifest entry written.

    Raises:
        PublishError (a ValueError): a bad name or backend list, a missing, unfinished, dirty or commit-less run,
            an existing name without `force`, a bad protocol, `task="reid"` without a registered "reid" protocol,
            or an evaluation that failed on a backend. Nothing is written then.

    Example:
        >>> from recipes import publish
        >>> entry = publish.publish("runs/pub/lenet_fmnist_softmax_d64", "lenet_fmnist_softmax_d64",
        ...                         backends=("tensorflow", "jax", "torch"))
        >>> entry["metrics"]["accuracy"]["by_backend"]
    """
    weights_dir = weights_dir or os.path.join(root, "weights")
    manifest_path = manifest or os.path.join(root, "zoo", "pretrained", "manifest.json")
    if not isinstance(name, str) or not NAME_PATTERN.match(name) or ".." in name:
        raise PublishError(f"--name must be lowercase letters, digits, '_', '.', '-' (starting and ending with a "
                           f"letter or digit, no '..'); got {name!r}.")
    backends = list(backends)
    bad = [b for b in backends if b not in common.BACKENDS]
    if not backends or bad or len(set(backends)) != len(backends):
        raise PublishError(f"--backends must be distinct names from {common.BACKENDS}; got {','.join(backends)!r}.")
    if task is not None and task not in TASKS:
        raise PublishError(f"--task must be one of {TASKS}; got {task!r}.")
    model_src = os.path.join(run_dir, MODEL_FILE)
    metrics_path = os.path.join(run_dir, common.SUMMARY_FILE)
    for needed in (model_src, metrics_path):
        if not os.path.exists(needed):
            raise PublishError(f"run folder {run_dir!r} has no {os.path.basename(needed)} (is it a finished recipe "
                               "run?).")
    with open(metrics_path, encoding="utf-8") as f:
        facts = _facts(json.load(f))
    if facts.get("status", "complete") != "complete":
        raise PublishError(f"{metrics_path}: status {facts.get('status')!r}; only a complete run can be published.")
    if not allow_dirty and (not facts.get("commit") or facts.get("dirty") is not False):
        why = ("was trained outside a git checkout (no commit)" if not facts.get("commit") else
               f"was trained from uncommitted changes to commit {facts['commit']} (dirty)")
        raise PublishError(f"{run_dir} {why}: its card could not name code that reproduces it. Commit, retrain and "
                           "publish that run, or pass --allow-dirty.")
    man = read_manifest(manifest_path)
    dest_dir = os.path.join(weights_dir, name)
    dest = os.path.join(dest_dir, MODEL_FILE)
    if not force and (name in man["models"] or os.path.exists(dest)):
        raise PublishError(f"{name!r} is already published ({manifest_path} / {dest}); pass --force to replace it.")

    import keras

    import zoo  # noqa: F401  (registers the zoo's classes)

    model = keras.saving.load_model(model_src, compile=False)
    task = task or _task_of(model)
    dataset = facts.get("dataset")
    if task == "reid":
        _check_reid_available()
        dataset = facts["dataset"] = REID_DATASET_NAMES.get(dataset, dataset)
    if protocol is None:
        if not dataset:
            raise PublishError(f"{metrics_path} names no dataset; pass --protocol.")
        protocol = default_protocol(task, dataset)
    from zoo.pretrained import protocols

    try:
        protocol = protocols.check_protocol(protocol)  # every default pinned in the manifest
        protocol_text = protocols.describe_protocol(protocol)
    except (TypeError, ValueError) as e:
        raise PublishError(f"--protocol: {e}") from None
    geometry = model.geometry.name
    input_spec = _input_spec(model)

    created = not os.path.isdir(dest_dir)
    from zoo._io import atomic_path, sha256_file

    try:
        with atomic_path(dest) as tmp:
            model.save(tmp)  # compile=False loading: no optimizer, no compile config in the file
            sha, size = sha256_file(tmp), os.path.getsize(tmp)
            results = {}
            for backend in backends:
                log(f"[publish] {name}: evaluating on {backend} ({protocol_text})")
                results[backend] = _evaluate_on(backend, tmp, protocol)
                log(f"[publish] {name}: {backend}: {json.dumps(results[backend], sort_keys=True)}")
            keys = set(results[backends[0]])
            if any(set(r) != keys for r in results.values()) or not keys:
                raise PublishError(f"the backends returned different or no metrics: {results}")
            if sha256_file(tmp) != sha:
                raise PublishError(f"{tmp} changed while it was evaluated; nothing was published.")
    except BaseException:
        if created and os.path.isdir(dest_dir) and not os.listdir(dest_dir):
            os.rmdir(dest_dir)
        raise

    metrics = {k: {"value": results[backends[0]][k], "split": protocol.get("split", "test"), "protocol": protocol_text,
                   "by_backend": {b: results[b][k] for b in backends}} for k in sorted(keys)}
    epochs = facts.get("epochs")
    median = facts.get("median_epoch_seconds")
    wall = round(float(sum(facts.get("epoch_seconds") or [])), 1) or None
    budget = (f"{epochs} epoch(s)" + (f", median {median:.1f} s per epoch" if median else "")
              + (f", {wall:.0f} s of training" if wall else "") + f" on {MACHINE} ({facts.get('backend')} backend)")
    entry = {
        "name": name, "task": task,
        "description": description or _description(task, facts, model, geometry),
        "dataset": dataset, "backbone": facts.get("backbone") or model.backbone.name,
        "head": _head(model, task, facts), "geometry": geometry, "embedding_dim": int(model.embedding_dim),
        "num_classes": int(model.num_classes) if task == "image_classification" else None,
        "input": input_spec, "protocol": protocol, "metrics": metrics,
        "file": MODEL_FILE, "size": int(size), "sha256": sha, "sources": [_source(dest, root)],
        "command": facts.get("command"), "commit": facts.get("commit"), "dirty": bool(facts.get("dirty")),
        "backend": facts.get("backend"), "keras_version": facts.get("keras"),
        "train": {"epochs": epochs, "seed": facts.get("seed"), "selected_epoch": facts.get("selected_epoch"),
                  "median_epoch_seconds": median, "wall_seconds": wall, "budget": budget},
        "license": _licence(dataset), "card": _rel(os.path.join(dest_dir, CARD_FILE), root),
        "limits": limits or _limits(task, facts, model, input_spec),
    }
    if geometry == "poincare":
        entry["c"] = float(model.geometry.c) if hasattr(model.geometry, "c") else None
    from zoo._io import atomic_write_text

    atomic_write_text(os.path.join(dest_dir, CARD_FILE),
                      _card.render_card(entry, _recipe_numbers(task, facts), backends=backends))
    man = read_manifest(manifest_path)  # re-read: keep entries another publish added meanwhile
    man["models"][name] = entry
    write_manifest(manifest_path, man)
    log(f"[publish] {name}: wrote {dest} ({size} bytes, sha256 {sha[:16]}...), its card and the entry in "
        f"{manifest_path}; run `python -m recipes.publish --table` to refresh the zoo tables")
    return entry


def write_tables(manifest, readme, weights_readme):
    """Rewrite the zoo-table blocks of `readme` and `weights_readme` from the manifest (idempotent).

    Args:
        manifest: the manifest file; readme: the main README (links go to `weights/NAME/README.md` relative to
            it); weights_readme: weights/README.md (links to `NAME/README.md`).

    Returns:
        list: the paths whose text changed (empty when already up to date).

    Raises:
        ValueError: a README without the `<!-- zoo-table:start -->` ... `<!-- zoo-table:end -->` markers.
    """
    from zoo._io import atomic_write_text

    man = read_manifest(manifest)
    changed = []
    for path, prefix in ((readme, _rel(os.path.dirname(weights_readme), os.path.dirname(readme)) + "/"),
                         (weights_readme, "")):
        with open(path, encoding="utf-8") as f:
            text = f.read()
        new = _card.replace_block(text, _card.render_table(man, card_prefix=prefix), where=path)
        if new != text:
            atomic_write_text(path, new)
            changed.append(path)
    return changed


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "keras" not in sys.modules:  # the flags are read when XLA starts; subprocesses inherit them
        for flag in TEST_XLA_FLAGS:
            if flag.split("=")[0] not in os.environ.get("XLA_FLAGS", ""):
                os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " " + flag).strip()
    args = build_parser().parse_args(argv)
    root = args.root
    weights_dir = args.weights_dir or os.path.join(root, "weights")
    manifest = args.manifest or os.path.join(root, "zoo", "pretrained", "manifest.json")
    try:
        protocol = None if args.protocol is None else json.loads(args.protocol)
    except json.JSONDecodeError as e:
        raise SystemExit(f"publish: --protocol is not valid JSON ({e}): {args.protocol!r}") from None
    if protocol is not None and not isinstance(protocol, dict):
        raise SystemExit(f"publish: --protocol must be a JSON object; got {args.protocol!r}")
    try:
        if args.evaluate:
            if protocol is None:
                raise PublishError("--evaluate needs --protocol")
            print(RESULT_MARK + json.dumps(evaluate_file(args.evaluate, protocol)), flush=True)
            return None
        if args.table:
            changed = write_tables(manifest, args.readme or os.path.join(root, "README.md"),
                                   args.weights_readme or os.path.join(weights_dir, "README.md"))
            print(f"[publish] zoo table: {'rewrote ' + ', '.join(changed) if changed else 'already up to date'}")
            return changed
        if not args.run_dir or args.name is None:
            raise PublishError("give RUN_DIR and --name (or --table)")
        return publish(args.run_dir, args.name, root=root, weights_dir=weights_dir, manifest=manifest,
                       backends=[b.strip() for b in args.backends.split(",") if b.strip()], task=args.task,
                       protocol=protocol, description=args.description, limits=args.limits, force=args.force,
                       allow_dirty=args.allow_dirty)
    except PublishError as e:
        raise SystemExit(f"publish: {e}") from None


if __name__ == "__main__":
    main()
