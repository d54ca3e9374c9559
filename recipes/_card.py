"""Text rendering of the published zoo: a model card (`weights/<name>/README.md`) and the zoo table.

Pure functions of a manifest entry (see `recipes.publish`): no Keras, no I/O. The card starts with Hugging Face
model-card front matter (license, library_name, tags, datasets, model-index with the test metrics), rendered
here by hand so no optional dependency is needed; every string is written as a JSON string, which is a valid
YAML double-quoted scalar, so names and protocol texts never break the YAML.
"""

import json
import re

__all__ = ["DATASET_INFO", "TASK_TITLES", "headline", "render_card", "render_table", "replace_block",
           "TABLE_START", "TABLE_END"]

#: The markers around the generated zoo table in README.md and weights/README.md.
TABLE_START = "<!-- zoo-table:start -->"
TABLE_END = "<!-- zoo-table:end -->"

#: Dataset key -> (display name, Hugging Face dataset id or None, data licence).
DATASET_INFO = {
    "fashion_mnist": ("Fashion-MNIST", "zalando-datasets/fashion_mnist",
                      "MIT (Fashion-MNIST, Zalando Research; https://github.com/zalandoresearch/fashion-mnist)"),
    "digits": ("scikit-learn digits (UCI optical recognition of handwritten digits)", None,
               "CC BY 4.0 (UCI Machine Learning Repository, optical recognition of handwritten digits)"),
    "synthetic_reid": ("the SYNTHETIC multi-camera re-ID set of zoo.data.synthetic_reid (Fashion-MNIST identities)",
                       None, "MIT (generated from Fashion-MNIST, Zalando Research)"),
}

#: Largest difference between the recipe's own test number and the protocol's that the card calls agreement
#: (the recipes' Keras metrics accumulate in float32).
RECIPE_AGREEMENT = 1e-6

#: Task key -> (human title, Hugging Face pipeline type used in model-index).
TASK_TITLES = {
    "image_classification": ("image classification", "image-classification"),
    "few_shot": ("few-shot classification (ProtoNet)", "image-classification"),
    "metric_learning": ("metric learning (retrieval)", "image-feature-extraction"),
    "reid": ("person re-identification", "image-feature-extraction"),
}

#: Table note on re-ID: the publishing path accepts re-ID models, but none can be trained here.
REID_NOTE = ("Person re-ID: the published re-ID models are trained and tested on the SYNTHETIC multi-camera set of "
             "`zoo.data.synthetic_reid` (Fashion-MNIST identities through fixed camera transforms): they demonstrate "
             "the pipeline and load offline, and say nothing about real person re-ID. No re-ID dataset (Market-1501, "
             "DukeMTMC-reID, MSMT17) can be obtained on the machine that trains the zoo; `python -m recipes.reid "
             "--dataset market1501 --data-dir ... --preset resnet_50_imagenet` trains one where it can.")


def dataset_name(key):
    return DATASET_INFO.get(key, (str(key), None, None))[0]


def data_licence(key):
    """The licence text of a dataset key ("see the dataset's own terms" when unknown)."""
    info = DATASET_INFO.get(key)
    return info[2] if info else f"see the terms of the {key} dataset"


def _pct(value):
    return f"{100 * value:.2f} %"


def _metric_label(name):
    """'5way1shot_accuracy' -> '5-way 1-shot accuracy'; others unchanged."""
    for suffix, what in (("_accuracy", "accuracy"), ("_ci95", "95% CI")):
        head = name[: -len(suffix)]
        if name.endswith(suffix) and re.fullmatch(r"\d+way\d+shot", head):
            way, shot = head[: -len("shot")].split("way")
            return f"{way}-way {shot}-shot {what}"
    return name


def _is_fraction(name):
    fractions = ("recall@", "map", "mAP", "cmc", "rank", "mINP")
    return name.endswith("accuracy") or name.endswith("_ci95") or name.startswith(fractions)


def format_value(name, value):
    """A metric value as text: fractions in per cent (2 decimals), others with 4 significant digits."""
    if value is None:
        return "n/a"
    return _pct(value) if _is_fraction(name) else f"{value:.4g}"


def headline(entry):
    """The metrics of an entry as one short text for the table: every metric but the CIs, with its ± CI when
    the entry has one ("5-way 1-shot accuracy 71.20 ± 0.85 %")."""
    metrics = entry.get("metrics") or {}
    parts = []
    for name in sorted(metrics):
        if name.endswith("_ci95"):
            continue
        value = metrics[name]["value"]
        ci = metrics.get(name[: -len("_accuracy")] + "_ci95") if name.endswith("_accuracy") else None
        if ci is not None:
            parts.append(f"{_metric_label(name)} {100 * value:.2f} ± {100 * ci['value']:.2f} %")
        else:
            parts.append(f"{_metric_label(name)} {format_value(name, value)}")
    return ", ".join(parts) if parts else "n/a"


def format_size(size):
    return f"{size / 1e6:.1f} MB" if size >= 1e5 else f"{size / 1e3:.0f} kB"


def _q(text):
    """A YAML scalar: a JSON string (valid YAML)."""
    return json.dumps(str(text), ensure_ascii=False)


def front_matter(entry):
    """Hugging Face model-card YAML (between --- lines) for a manifest entry."""
    dataset = entry.get("dataset")
    ds_name, hf_id, _ = DATASET_INFO.get(dataset, (str(dataset), None, None))
    task_type = TASK_TITLES.get(entry["task"], (entry["task"], entry["task"]))[1]
    tags = ["keras", "keras-geometric-zoo", entry["task"].replace("_", "-"), str(entry.get("geometry")), dataset]
    if entry.get("head"):
        tags.append(str(entry["head"]))
    tags.append(str(entry.get("backbone")))
    lines = ["---", "license: apache-2.0", "library_name: keras", "tags:"]
    lines += [f"- {_q(t)}" for t in dict.fromkeys(tags) if t and t != "None"]
    if hf_id:
        lines += ["datasets:", f"- {_q(hf_id)}"]
    lines += ["model-index:", f"- name: {_q(entry['name'])}", "  results:", "  - task:", f"      type: {_q(task_type)}",
              "    dataset:", f"      name: {_q(ds_name)}", f"      type: {_q(hf_id or dataset)}"]
    splits = {m.get("split") for m in (entry.get("metrics") or {}).values()}
    if len(splits) == 1 and None not in splits:
        lines.append(f"      split: {_q(splits.pop())}")
    lines.append("    metrics:")
    for name in sorted(entry.get("metrics") or {}):
        metric = entry["metrics"][name]
        lines += [f"    - type: {_q(name)}", f"      value: {json.dumps(float(metric['value']))}",
                  f"      name: {_q(_metric_label(name) + ' (' + metric.get('protocol', '') + ')')}"]
    lines.append("---")
    return "\n".join(lines)


def render_card(entry, recipe_numbers=None, backends=("tensorflow", "jax", "torch")):
    """The model card (markdown with HF front matter) of a manifest entry.

    Args:
        entry: the manifest entry (see `recipes.publish`).
        recipe_numbers: list of (label, value, how) the training recipe itself reported, shown next to the
            protocol's numbers when they differ (they can: the recipe may evaluate another way).
        backends: the backends whose column the metric table shows (those evaluated).
    """
    name, train = entry["name"], entry.get("train") or {}
    dataset = entry.get("dataset")
    task_title = TASK_TITLES.get(entry["task"], (entry["task"],))[0]
    metrics = entry.get("metrics") or {}
    out = [front_matter(entry), "", f"# {name}", "", entry.get("description", "").strip(), "",
           "## What it is", ""]
    no_head = {"few_shot": "none: queries go to the nearest class prototype of the episode's support images "
                           "(ProtoNet)"}.get(entry["task"], "none: the embedding is the output")
    facts = [("task", task_title), ("dataset", dataset_name(dataset)), ("backbone", entry.get("backbone")),
             ("head", entry.get("head") or no_head),
             ("geometry of the embedding", entry.get("geometry")), ("embedding dimension", entry.get("embedding_dim"))]
    if entry.get("num_classes"):
        facts.append(("classes", entry["num_classes"]))
    inp = entry.get("input") or {}
    facts.append(("input", f"raw {inp.get('dtype', 'uint8')} images of shape {inp.get('shape')}, values "
                           f"{inp.get('value_range')} (preprocessing is inside the model)"))
    out += [f"- {k}: {v}" for k, v in facts]
    out += ["", "## Load it", "", "```python", "import zoo", "", f'model = zoo.pretrained.load("{name}")', "```", "",
            "A ready task model on the TensorFlow, JAX and PyTorch backends: the file holds no optimizer state, and "
            "`load` compiles it with the model's own defaults (`compile=False` to skip), so `predict`, `evaluate` and "
            "`fit` work at once.", "", "## Metrics on the test protocol", ""]
    cols = list(backends)
    texts = list(dict.fromkeys(m.get("protocol", "") for m in metrics.values()))
    if len(texts) == 1:
        out += [f"Protocol: {texts[0]}.", ""]
    out.append("| metric | value | " + ("" if len(texts) == 1 else "protocol | ") + " | ".join(cols) + " |")
    out.append("|---|---|" + ("" if len(texts) == 1 else "---|") + "---|" * len(cols))
    for metric_name in sorted(metrics):
        if metric_name.endswith("_ci95") and metric_name[: -len("_ci95")] + "_accuracy" in metrics:
            continue  # shown as the ± of its accuracy
        m = metrics[metric_name]
        ci = metrics.get(metric_name[: -len("_accuracy")] + "_ci95") if metric_name.endswith("_accuracy") else None

        def shown(value, backend=None, name=metric_name, ci=ci):
            if ci is None or value is None:
                return format_value(name, value)
            half = ci["value"] if backend is None else (ci.get("by_backend") or {}).get(backend)
            return f"{100 * value:.2f} ± {100 * half:.2f} %" if half is not None else format_value(name, value)

        per = [shown((m.get("by_backend") or {}).get(b), b) for b in cols]
        out.append(f"| {_metric_label(metric_name)} | {shown(m['value'])} | "
                   + ("" if len(texts) == 1 else f"{m.get('protocol', '')} | ") + " | ".join(per) + " |")
    out += ["", f"`value` is the publishing backend's ({cols[0]}); each backend's column is what "
            f"`zoo.pretrained.evaluate(model, zoo.pretrained.info(\"{name}\")[\"protocol\"])` gives there, and the "
            "test suite checks that each is reproduced exactly.", ""]
    if recipe_numbers:
        out += ["The training recipe reported its own test number(s), measured its own way:", ""]
        for label, value, how in recipe_numbers:
            same = metrics.get(label)
            if same is None:
                note = "not part of the protocol"
            elif abs(float(same["value"]) - float(value)) <= RECIPE_AGREEMENT:
                note = f"agrees with the protocol's value to {RECIPE_AGREEMENT:g}"
            else:
                note = (f"differs from the protocol's {format_value(label, same['value'])} by "
                        f"{format_value(label, abs(float(same['value']) - float(value)))}: measured another way")
            out.append(f"- {_metric_label(label)}: {format_value(label, value)} ({how}; {note})")
        out.append("")
    out += ["## How it was trained", "", "```bash", entry.get("command", ""), "```", "",
            f"- code: commit `{entry.get('commit')}` of keras-geometric-zoo, Keras {entry.get('keras_version')}, "
            f"{entry.get('backend')} backend"
            + (" (**trained from uncommitted changes**: published with --allow-dirty, the commit alone does not "
               "reproduce it)" if entry.get("dirty") else ""),
            f"- budget: {train.get('budget')}",
            f"- epochs: {train.get('epochs')}, seed: {train.get('seed')}, selected epoch: "
            f"{train.get('selected_epoch') if train.get('selected_epoch') is not None else 'the last'}",
            "", "The budget is small on purpose (the zoo is trained and verified on a CPU): the numbers are below "
            "those of the papers, which train far longer on GPUs with larger backbones.", "",
            "## Limits", "", entry.get("limits", "").strip(), "", "## Licences", "",
            f"- code and weights: {entry.get('license', {}).get('code', 'Apache-2.0')}",
            f"- training data: {entry.get('license', {}).get('data', data_licence(dataset))}", "",
            "## File", "", f"- `{entry.get('file', 'model.keras')}`: {entry.get('size')} bytes "
            f"({format_size(entry.get('size') or 0)}), sha256 `{entry.get('sha256')}`",
            "- sources: " + ", ".join(f"`{s}`" for s in entry.get("sources") or []), ""]
    return "\n".join(out)


def render_table(manifest, card_prefix="weights/"):
    """The zoo table (markdown) of a manifest: name | task | metric on its test protocol | size | load.

    `card_prefix` is the path from the README the table goes into to the weights folder ("weights/" from the
    repository root, "" from weights/README.md); names link to their cards.
    """
    models = (manifest or {}).get("models") or {}
    lines = ["| name | task | metric on its test protocol | size | load |", "|---|---|---|---|---|"]
    for name in sorted(models):
        e = models[name]
        task = TASK_TITLES.get(e.get("task"), (e.get("task"),))[0]
        lines.append(f"| [{name}]({card_prefix}{name}/README.md) | {task} | {headline(e)} | "
                     f"{format_size(e.get('size') or 0)} | `zoo.pretrained.load(\"{name}\")` |")
    if not models:
        lines.append("| (none published yet) | | | | |")
    lines += ["", REID_NOTE]
    return "\n".join(lines)


def replace_block(text, block, where="README"):
    """`text` with everything between the zoo-table markers replaced by `block` (the markers stay)."""
    start, end = text.find(TABLE_START), text.find(TABLE_END)
    if start < 0 or end < 0 or end < start:
        raise ValueError(f"{where}: no '{TABLE_START}' ... '{TABLE_END}' block to fill.")
    return text[: start + len(TABLE_START)] + "\n" + block.strip("\n") + "\n" + text[end:]
