"""`python -m recipes.publish`: a recipe run becomes an uncompiled `.keras`, a manifest entry whose metric is
reproduced by reloading the file, a model card and a zoo-table row; unpublishable runs are refused (issue 14).

Tiny and offline: an untrained LeNet classifier on 8x8 digits (compiled, with optimizer variables, as a recipe
saves it), evaluated on the first 100 digits test images; only the current backend is evaluated (the CI runs
this file on each backend)."""

import hashlib
import json
import os
import zipfile

import h5py
import keras
import numpy as np
import pytest

import zoo
from recipes import _card, common, publish
from zoo.pretrained import protocols

PROTOCOL = {"kind": "classification", "dataset": "digits", "split": "test", "limit": 100, "batch_size": 50}
NAME = "lenet_digits_softmax_d8.test"
COMMAND = "python -m recipes.classification --dataset digits --epochs 1 --embedding-dim 8 --out runs/x"
README = "# zoo\n\nintro\n\n<!-- zoo-table:start -->\nold\n<!-- zoo-table:end -->\n\nafter\n"


def _run_dir(path, model, **overrides):
    os.makedirs(path, exist_ok=True)
    model.save(os.path.join(path, "model.keras"))
    summary = {"dataset": "digits", "backbone": "lenet", "head": "softmax", "embedding_dim": 8, "epochs": 1,
               "test_accuracy": 0.5, "test_images": 100, "selected_epoch": 1, "epoch_seconds": [1.5],
               "median_epoch_seconds": 1.5, "status": "complete", "command": COMMAND, "commit": "a" * 40,
               "dirty": False, "backend": keras.backend.backend(), "keras": keras.__version__, **overrides}
    with open(os.path.join(path, common.SUMMARY_FILE), "w") as f:
        json.dump(summary, f)
    return str(path)


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """A compiled, trained run folder published into a temporary repository root."""
    (xtr, ytr), (xte, _) = zoo.data.digits()
    model = zoo.models.ImageClassifier("lenet", head="softmax", num_classes=10, input_shape=(8, 8), image_size=16,
                                       embedding_dim=8)
    model.compile()
    model.adapt(xtr[:120])
    model.optimizer.build(model.trainable_variables)  # a recipe's file carries optimizer state: publish drops it
    root = tmp_path_factory.mktemp("repo")
    os.makedirs(root / "weights")
    (root / "README.md").write_text(README)
    (root / "weights" / "README.md").write_text(README)
    run = _run_dir(root / "run", model)
    entry = publish.main([run, "--name", NAME, "--root", str(root), "--backends", keras.backend.backend(),
                          "--protocol", json.dumps(PROTOCOL)])
    return {"root": root, "run": run, "entry": entry, "model": model, "x": xte[:100]}


def test_publish_writes_an_uncompiled_verified_file_and_its_entry(published):
    root, entry, backend = published["root"], published["entry"], keras.backend.backend()
    path = root / "weights" / NAME / "model.keras"
    data = path.read_bytes()
    assert entry["sha256"] == hashlib.sha256(data).hexdigest() and entry["size"] == len(data)
    def h5_keys(keras_file):
        with zipfile.ZipFile(keras_file) as z, z.open("model.weights.h5") as f, h5py.File(f, "r") as h5:
            return list(h5.keys())

    assert "optimizer" in h5_keys(os.path.join(published["run"], "model.keras"))  # the run's file had it
    assert "optimizer" not in h5_keys(path), h5_keys(path)
    with zipfile.ZipFile(path) as z:  # no compile config either
        assert not json.loads(z.read("config.json")).get("compile_config")
    assert entry["task"] == "image_classification" and entry["head"] == "softmax"
    assert entry["geometry"] == "euclidean" and entry["embedding_dim"] == 8 and entry["num_classes"] == 10
    assert entry["input"] == {"shape": [8, 8], "dtype": "uint8", "value_range": [0, 255]}
    assert entry["sources"] == [f"file:weights/{NAME}/model.keras"] and entry["card"] == f"weights/{NAME}/README.md"
    assert entry["command"] == COMMAND and entry["commit"] == "a" * 40 and entry["backend"] == backend
    assert entry["protocol"] == protocols.check_protocol(PROTOCOL)
    assert entry["train"]["epochs"] == 1 and entry["train"]["selected_epoch"] == 1 and "CPU" in entry["train"]["budget"]
    assert entry["license"]["code"] == "Apache-2.0" and "CC BY 4.0" in entry["license"]["data"]

    # The manifest holds the entry, sorted and indented for a stable diff.
    text = (root / "zoo" / "pretrained" / "manifest.json").read_text()
    manifest = json.loads(text)
    assert manifest["schema"] == 1 and manifest["models"][NAME] == entry
    assert text == json.dumps(manifest, indent=1, sort_keys=True, ensure_ascii=False) + "\n"

    # The metric is what the reloaded, uncompiled file gives on its protocol, exactly; predictions are unchanged.
    metric = entry["metrics"]["accuracy"]
    loaded = keras.saving.load_model(str(path), compile=False)
    assert metric["value"] == metric["by_backend"][backend] == protocols.evaluate(loaded, entry["protocol"])["accuracy"]
    assert metric["split"] == "test" and metric["protocol"] == protocols.describe_protocol(PROTOCOL)
    x = published["x"][:16]
    np.testing.assert_allclose(loaded.predict(x, verbose=0), published["model"].predict(x, verbose=0),
                               rtol=1e-5, atol=1e-6)
    # The --evaluate subprocess (how the other backends are measured) gives the same number.
    evaluated = publish._evaluate_on(backend, str(path), entry["protocol"], in_process=False)
    assert evaluated == {"accuracy": metric["value"]}


def test_card_and_table(published):
    root, entry = published["root"], published["entry"]
    card = (root / "weights" / NAME / "README.md").read_text()
    assert card.startswith("---\nlicense: apache-2.0\nlibrary_name: keras\n")
    assert "model-index:" in card and f'value: {json.dumps(entry["metrics"]["accuracy"]["value"])}' in card
    for text in (COMMAND, "a" * 40, entry["sha256"], f'zoo.pretrained.load("{NAME}")', entry["metrics"]["accuracy"]
                 ["protocol"], "small", "Apache-2.0"):
        assert text in card, text
    assert "The training recipe reported" in card and "differs from the protocol" in card  # 0.5 in metrics.json

    argv = ["--table", "--root", str(root)]
    assert publish.main(argv) == [str(root / "README.md"), str(root / "weights" / "README.md")]
    main_readme, weights_readme = (root / "README.md").read_text(), (root / "weights" / "README.md").read_text()
    assert publish.main(argv) == [] and (root / "README.md").read_text() == main_readme  # idempotent
    assert main_readme.startswith("# zoo\n\nintro\n\n<!-- zoo-table:start -->\n| name |")
    assert main_readme.endswith("<!-- zoo-table:end -->\n\nafter\n") and "old" not in main_readme
    row = [ln for ln in main_readme.splitlines() if ln.startswith(f"| [{NAME}]")][0]
    assert f"(weights/{NAME}/README.md)" in row and f'`zoo.pretrained.load("{NAME}")`' in row
    assert _card.format_size(entry["size"]) in row and "accuracy" in row
    assert f"| [{NAME}]({NAME}/README.md) |" in weights_readme and "re-ID" in weights_readme


def test_refusals(published, tmp_path):
    root, backend = str(published["root"]), keras.backend.backend()
    base = ["--root", root, "--backends", backend, "--protocol", json.dumps(PROTOCOL)]
    with pytest.raises(SystemExit, match="already published.*--force"):
        publish.main([published["run"], "--name", NAME, *base])
    for bad in ("Lenet", "a/b", "../x", "x..y", "-x", ""):
        with pytest.raises(SystemExit, match="--name must be"):
            publish.main([published["run"], f"--name={bad}", *base])
    with pytest.raises(SystemExit, match="--backends"):
        publish.main([published["run"], "--name", "other", "--root", root, "--backends", "numpy"])
    dirty = _run_dir(tmp_path / "dirty", published["model"], dirty=True)
    with pytest.raises(SystemExit, match="uncommitted.*--allow-dirty"):
        publish.main([dirty, "--name", "other", *base])
    no_git = _run_dir(tmp_path / "nogit", published["model"], commit=None, dirty=None)
    with pytest.raises(SystemExit, match="no commit"):
        publish.main([no_git, "--name", "other", *base])
    with pytest.raises(SystemExit, match="--protocol"):
        publish.main([published["run"], "--name", "other", "--root", root, "--protocol", '{"kind": "nope"}'])
    assert sorted(json.loads((published["root"] / "zoo" / "pretrained" / "manifest.json").read_text())["models"]) \
        == [NAME]
    assert not os.path.exists(os.path.join(root, "weights", "other"))


def test_reid_once_a_protocol_is_registered(published, monkeypatch):
    """--task reid goes through once the re-ID issue registers a "reid" protocol (stood in for here)."""
    calls = []

    def reid(model, protocol, data, verbose):
        calls.append(type(model).__name__)
        return {"rank1": 0.5, "map": 0.25, "num_queries": 3}

    monkeypatch.setitem(protocols._REGISTRY, "reid", {"fn": reid, "defaults": {}, "describe": None, "check": None})
    monkeypatch.setitem(protocols._STANDARD, "reid", {"kind": "reid", "dataset": "market1501", "split": "test"})
    root, backend = published["root"], keras.backend.backend()
    entry = publish.main([published["run"], "--name", "reid.test", "--task", "reid", "--root", str(root),
                          "--backends", backend, "--weights-dir", str(root / "other_weights"),
                          "--manifest", str(root / "reid_manifest.json")])
    assert calls == ["ImageClassifier"] and entry["task"] == "reid" and entry["num_classes"] is None
    assert entry["protocol"] == {"kind": "reid", "dataset": "digits", "split": "test"}
    assert {k: v["by_backend"][backend] for k, v in entry["metrics"].items()} == {"rank1": 0.5, "map": 0.25}
    assert entry["sources"] == ["file:other_weights/reid.test/model.keras"]
    assert "reid.test" in json.loads((root / "reid_manifest.json").read_text())["models"]
