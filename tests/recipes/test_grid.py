"""recipes.grid (the resumable multi-seed runner), recipes._grid and recipes.grid_tables.

The kill-and-resume test runs real (tiny) classification runs on scikit-learn's digits in subprocesses, so it runs
on the TensorFlow backend only: the runner passes `--backend` to every run, and what it tests (resume, no duplicated
or lost lines, no orphans) does not depend on the backend of the test process.
"""

import json
import os
import signal
import subprocess
import sys
import time

import keras
import pytest

from recipes import _grid, grid_tables, reproductions
from recipes import grid as runner
from recipes._grid import Column, Grid, Row, Table

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY = ("classification", ("--dataset", "digits", "--backbone", "lenet", "--embedding-dim", "4", "--epochs", "1",
                           "--train-limit", "120", "--test-limit", "60", "--batch-size", "32", "--verbose", "0"))
TINY_GRID = Grid(name="tiny", title="tiny", budget="1 epoch on 120 digits", seeds=(0, 1),
                 rows=(Row("softmax", "softmax", (TINY,)),),
                 tables=(Table("t", (Column("acc", "classification.test_accuracy"),)),))


def test_every_reproduction_grid_is_well_formed():
    assert set(reproductions.GRIDS) == {"hyperspherical", "exp_triplet", "prototypes", "hyperbolic", "fewshot"}
    for grid in reproductions.GRIDS.values():
        keys = [row.key for row in grid.rows]
        assert len(keys) == len(set(keys)), grid.name
        assert grid.seeds == (0, 1, 2) and grid.budget
        for table in grid.tables:
            assert table.select(grid), (grid.name, table.title)
        for row in grid.rows:
            for recipe, argv in row.steps:
                assert os.path.exists(os.path.join(ROOT, "recipes", f"{recipe}.py"))
                assert "--seed" not in argv and "--out" not in argv  # the runner adds them
                if recipe != "hyperbolic_ood":
                    assert "--val-split" in argv or "--val-classes" in argv, (grid.name, row.key)  # selection


def test_commands_substitute_the_previous_step_and_add_seed_out_backend(tmp_path):
    row = reproductions.HYPERBOLIC.row("poincare-d2-c1")
    commands = runner._commands(row, 2, str(tmp_path), "jax")
    (_, train_dir, train), (_, ood_dir, ood) = commands
    assert train[train.index("--seed") + 1] == "2" and train[train.index("--backend") + 1] == "jax"
    assert train[train.index("--out") + 1] == train_dir
    assert ood[ood.index("--model") + 1] == os.path.join(train_dir, "model.keras")


def test_pending_skips_finished_runs_and_reruns_a_changed_row(tmp_path):
    jsonl = str(tmp_path / "tiny.jsonl")
    row = TINY_GRID.rows[0]
    done = {"key": _grid.row_key("tiny", "softmax", 1, "tensorflow"), "row": "softmax", "status": "complete",
            "config": _grid.config_hash(row)}
    stale = dict(done, key=_grid.row_key("tiny", "softmax", 2, "tensorflow"), config="0" * 12)
    other_backend = dict(done, key=_grid.row_key("tiny", "softmax", 0, "jax"))
    with open(jsonl, "w") as f:
        f.write("".join(json.dumps(r) + "\n" for r in (done, stale, other_backend)) + '{"torn": ')
    todo = runner.pending(TINY_GRID, jsonl, (0, 1, 2), "tensorflow")  # seeds given explicitly
    assert [seed for _, seed in todo] == [0, 2]
    with pytest.raises(ValueError, match="--only"):
        runner.pending(TINY_GRID, jsonl, (0,), "tensorflow", only=["nope"])


def test_flatten_metrics_keeps_finite_scalars_only():
    flat = _grid.flatten_metrics({"a": 1, "b": {"c": 0.5, "d": [1, 2], "e": float("nan")}, "history": {"loss": [1]},
                                  "ok": True, "name": "x"}, prefix="r.")
    assert flat == {"r.a": 1, "r.b.c": 0.5, "r.name": "x"}


def test_cells_tables_and_block_replacement():
    col = Column("acc", "m", scale=100.0, digits=1)
    assert grid_tables.cell([0.5, 0.7], col, 3) == "60.0 ± 14.1 (n = 2)"
    assert grid_tables.cell([0.5, 0.6, 0.7], col, 3) == "60.0 ± 10.0"
    assert grid_tables.cell([None], col, 3) == "—"
    records = [{"grid": "tiny", "row": "softmax", "seed": s, "backend": "tensorflow", "status": "complete",
                "commit": "abcdef123", "wall_seconds": 60, "metrics": {"classification.test_accuracy": a}}
               for s, a in ((0, 0.5), (1, 0.6), (2, 0.7))]
    text = grid_tables.markdown(TINY_GRID, records)
    assert "| softmax | 60.00 ± 10.00 |" in text and "seeds 0, 1, 2" in text and "abcdef1" in text
    page = "intro\n<!-- grid:tiny -->\nold\n<!-- /grid:tiny -->\nend\n"
    new = grid_tables.replace_block(page, "tiny", "new")
    assert new == "intro\n<!-- grid:tiny -->\nnew\n<!-- /grid:tiny -->\nend\n"
    two = "<!-- grid:tiny:1 -->\nold\n<!-- /grid:tiny:1 -->\n<!-- grid:tiny -->\nold\n<!-- /grid:tiny -->\n"
    new = grid_tables.replace_block(two, "tiny", lambda tables: f"tables {tables}")
    assert new == ("<!-- grid:tiny:1 -->\ntables [1]\n<!-- /grid:tiny:1 -->\n"
                   "<!-- grid:tiny -->\ntables None\n<!-- /grid:tiny -->\n")
    short = grid_tables.markdown(TINY_GRID, records, tables=[1])
    assert "| softmax | 60.00 ± 10.00 |" in short and "Budget" not in short
    with pytest.raises(ValueError, match="grid:other"):
        grid_tables.replace_block(page, "other", "x")


def _children(pid):
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="backend-independent; runs once (TensorFlow)")
def test_a_killed_grid_resumes_without_duplicated_or_lost_rows(tmp_path):
    out = str(tmp_path / "grids")
    jsonl = os.path.join(out, "tiny.jsonl")
    code = ("import sys; sys.path.insert(0, sys.argv[1]); from tests.recipes.test_grid import TINY_GRID; "
            "from recipes import grid; grid.run_grid(TINY_GRID, out=sys.argv[2], poll_seconds=0.2)")
    proc = subprocess.Popen([sys.executable, "-c", code, ROOT, out], cwd=ROOT,
                            env=dict(os.environ, KERAS_BACKEND="tensorflow"))
    deadline = time.time() + 240
    while not (os.path.exists(jsonl) and len(_grid.read_rows(jsonl)) >= 1):
        assert proc.poll() is None and time.time() < deadline, "the runner ended or stalled before its first row"
        time.sleep(0.2)
    while not _children(proc.pid):  # the second run has started
        time.sleep(0.1)
    child = _children(proc.pid)[0]
    proc.send_signal(signal.SIGKILL)  # no cleanup code runs
    proc.wait()
    for _ in range(100):  # the run it started dies with it (PR_SET_PDEATHSIG)
        if subprocess.run(["kill", "-0", str(child)], capture_output=True).returncode != 0:
            break
        time.sleep(0.2)
    else:
        pytest.fail("the killed runner left its run running")
    first = _grid.read_rows(jsonl)
    assert len(first) == 1 and first[0]["seed"] == 0
    result = runner.run_grid(TINY_GRID, out=out, poll_seconds=0.2)
    assert result["ran"] == 1 and result["failed"] == 0
    rows = _grid.read_rows(jsonl)
    assert sorted(r["seed"] for r in rows) == [0, 1] and rows[0] == first[0]  # kept, not re-run
    assert all(0.0 <= r["metrics"]["classification.test_accuracy"] <= 1.0 for r in rows)
    assert all(r["commands"][0].startswith("python -m recipes.classification") for r in rows)
    assert runner.run_grid(TINY_GRID, out=out)["ran"] == 0  # nothing left
