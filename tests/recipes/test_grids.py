"""The grid recipes (compare_heads, prototype_experiments) run the classification recipe in its own process
(`recipes.common.run_recipe`) and read its metrics.json; recipes never import each other."""

import ast
import json
import os

import pytest

from recipes import common, compare_heads, prototype_experiments

RECIPES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "recipes")


def _shared(module):
    """Modules a recipe may import: recipes.common, the private helper modules (recipes._datasets) and
    recipes.reproductions, the grid definitions (data, not a recipe) that recipes.grid and grid_tables read."""
    return module in ("recipes.common", "recipes.reproductions") or module.split(".")[1].startswith("_")


def test_recipes_import_only_common():
    for name in sorted(os.listdir(RECIPES)):
        if not name.endswith(".py"):
            continue
        with open(os.path.join(RECIPES, name)) as f:
            tree = ast.parse(f.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "recipes":
                imported = [node.module] if node.module != "recipes" else [f"recipes.{a.name}" for a in node.names]
                assert all(_shared(m) for m in imported), (name, imported)
            elif isinstance(node, ast.Import):
                assert not [a.name for a in node.names if a.name.startswith("recipes.")], name


def test_recipes_build_models_only_through_zoo_models():
    """No hand-built Input -> backbone -> head -> Model in the classification recipes (issue 12)."""
    for name in ("classification.py", "compare_heads.py", "prototype_experiments.py", "hyperbolic_ood.py",
                 "common.py"):
        with open(os.path.join(RECIPES, name)) as f:
            text = f.read()
        for banned in ("keras.Input(", "keras.Model(", "zoo.heads.get(", "zoo.backbones.get("):
            assert banned not in text, (name, banned)


def test_angular_accuracy_of_a_saved_distarc_task_model(tmp_path):
    """compare_heads' angular accuracy: argmax cos θ of the head's packed output, from raw test images."""
    import keras
    import numpy as np

    import zoo.models
    from zoo.layers import DistArcHead

    model = zoo.models.ImageClassifier("conv4", head="distarc", num_classes=10, input_shape=(8, 8), image_size=16,
                                       embedding_dim=8, normalize=(0.3, 0.3))
    path = str(tmp_path / "model.keras")
    model.save(path)
    _, (xte, yte) = common.load_data("digits", test_limit=64)
    cos_theta = DistArcHead.unpack(model(xte, training=False))[1]
    expected = float(np.mean(np.argmax(keras.ops.convert_to_numpy(cos_theta), -1) == yte))
    assert compare_heads.angular_accuracy(path, "digits", test_limit=64) == pytest.approx(expected)


def test_compare_heads_grid_passes_each_row_to_the_classification_recipe(tmp_path, monkeypatch):
    """The grid's plumbing, with the classification process replaced by a fake that writes metrics.json
    (a real run of the recipe is what tests/recipes/test_classification.py does)."""
    calls = []

    def fake_run(name, argv, out_dir, backend=None):
        calls.append((name, list(argv)))
        assert argv[argv.index("--out") + 1] == out_dir
        os.makedirs(out_dir, exist_ok=True)
        common.write_summary(out_dir, {"test_accuracy": 0.75, "final_train_loss": 0.5,
                                       "median_epoch_seconds": 1.0, "model_path": None, "plot_path": None})
        return common.read_summary(out_dir)

    monkeypatch.setattr(common, "run_recipe", fake_run)
    out = tmp_path / "grid"
    done = compare_heads.main(["--dims", "8", "--epochs", "1", "--only", "softmax", "arcface", "--skip-ablation",
                               "--train-limit", "128", "--out", str(out), "--verbose", "0"])
    assert [c[0] for c in calls] == ["classification", "classification"]
    assert calls[0][1][:4] == ["--head", "softmax", "--embedding-dim", "8"] and "--train-limit" in calls[0][1]
    rec = done[compare_heads.run_key("softmax", [], 8)]
    assert rec["test_accuracy"] == 0.75 and rec["epochs"] == 1
    assert json.loads((out / "results.jsonl").read_text().splitlines()[0])["key"] == rec["key"]
    assert "| softmax (CE) | 75.00 |" in (out / "table.md").read_text()
    # a re-run skips the rows already in results.jsonl; --table-only only rewrites the tables
    compare_heads.main(["--dims", "8", "--only", "softmax", "--skip-ablation", "--out", str(out)])
    again = compare_heads.main(["--dims", "8", "--table-only", "--out", str(out)])
    assert len(calls) == 2 and again[rec["key"]] == rec


def test_prototype_experiments_tables_from_results(tmp_path):
    key = prototype_experiments._key("balanced", None, 2, prototype_experiments.METHODS[0][0])
    (tmp_path / "results.jsonl").write_text(json.dumps({"key": key, "test_accuracy": 0.5}) + "\n")
    rows = prototype_experiments.main(["--dims", "2", "--imbalance", "--table-only", "--out", str(tmp_path)])
    assert rows[key]["test_accuracy"] == 0.5
    assert "| softmax (CE) | 50.00 |" in (tmp_path / "tables.md").read_text()


def test_run_recipe_starts_the_recipe_process(tmp_path, monkeypatch):
    """`python -m recipes.classification` starts from any working directory (--help exits 0, and then there is
    no metrics.json to read); a failing run raises."""
    import subprocess

    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match="metrics.json"):
        common.run_recipe("classification", ["--help"], str(tmp_path))
    with pytest.raises(subprocess.CalledProcessError):
        common.run_recipe("classification", ["--augment", "nope", "--out", str(tmp_path)], str(tmp_path))
