"""What a grid of recipe runs is (`Grid`, `Row`, `Column`) and where its runs and rows live on disk.

Shared by the runner (`recipes.grid`), the table writer (`recipes.grid_tables`) and the grid definitions
(`recipes.reproductions`). A row is one configuration: one or more recipe steps run one after the other (e.g.
train a classifier, then score it for OOD with `--model {prev}/model.keras`), each `python -m recipes.<recipe>`
in its own process with `--seed S --out <run dir> --backend B` added by the runner. A grid runs every row once
per seed and keeps one JSON line per finished (row, seed, backend).
"""

import dataclasses
import hashlib
import json
import math
import os

__all__ = ["Column", "Grid", "Row", "Table", "config_hash", "flatten_metrics", "read_rows", "row_key", "run_dir"]


@dataclasses.dataclass(frozen=True)
class Row:
    """One configuration of a grid.

    Args:
        key: stable id inside the grid (file-name safe); the runner's resume key with the seed and backend.
        label: the row's name in the tables.
        steps: ((recipe, argv), ...): `recipes.<recipe>` modules and their arguments. "{prev}" in an argument is
            replaced by the previous step's output folder, "{seed}" by the seed.
        group: the table section the row belongs to (e.g. "d = 2").
    """

    key: str
    label: str
    steps: tuple
    group: str = ""


@dataclasses.dataclass(frozen=True)
class Column:
    """A table column: `header`, the flattened metric `key` (e.g. "classification.test_accuracy"), a `scale`
    applied before formatting (100 for percentages) and the number of `digits`."""

    header: str
    key: str
    scale: float = 100.0
    digits: int = 2


@dataclasses.dataclass(frozen=True)
class Table:
    """One markdown table of a grid: a title, its columns, and the rows it shows: the row keys in `rows` (in that
    order), else the rows of the groups in `groups`, else every row."""

    title: str
    columns: tuple
    groups: tuple = None
    rows: tuple = None
    note: str = ""

    def select(self, grid):
        """The grid's rows this table shows, in order."""
        if self.rows:
            return [grid.row(key) for key in self.rows]
        return [row for row in grid.rows if self.groups is None or row.group in self.groups]


@dataclasses.dataclass(frozen=True)
class Grid:
    """A named grid: its rows, seeds, tables, and the budget and paper context its captions state."""

    name: str
    title: str
    budget: str
    rows: tuple
    tables: tuple
    seeds: tuple = (0, 1, 2)
    paper: str = ""
    brief: str = ""  # the budget in a few words, for short captions (README)

    def row(self, key):
        for row in self.rows:
            if row.key == key:
                return row
        raise KeyError(f"grid {self.name!r} has no row {key!r}; rows: {[r.key for r in self.rows]}")


def row_key(grid_name, key, seed, backend):
    """The resume key of one run: "<grid>|<row>|seed<S>|<backend>"."""
    return f"{grid_name}|{key}|seed{seed}|{backend}"


def config_hash(row):
    """Short hash of a row's steps: a stored result whose row definition has changed is run again."""
    text = json.dumps([[recipe, list(argv)] for recipe, argv in row.steps])
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def run_dir(root, grid_name, key, seed, backend):
    """Folder of one run's steps (each step in a subfolder "<index>-<recipe>")."""
    return os.path.join(root, grid_name, key, f"seed{seed}-{backend}")


def flatten_metrics(summary, prefix=""):
    """The finite scalar numbers (and short strings) of a metrics.json dict as {"a.b.c": value}; lists and the
    per-epoch history are left out (they stay in the run's own metrics.json)."""
    out = {}
    for name, value in summary.items():
        if name in ("history", "epoch_seconds"):
            continue
        key = f"{prefix}{name}"
        if isinstance(value, dict):
            out.update(flatten_metrics(value, key + "."))
        elif isinstance(value, bool) or value is None:
            continue
        elif isinstance(value, (int, float)):
            if math.isfinite(value):
                out[key] = value
        elif isinstance(value, str) and len(value) <= 200:
            out[key] = value
    return out


def read_rows(path):
    """The records of a grid JSONL file ([] when it does not exist). A torn last line (a crash mid-write of an
    older writer) is skipped with a warning."""
    if not os.path.exists(path):
        return []
    records = []
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            print(f"[grid] warning: {path}:{number} is not valid JSON (a torn line?); ignored")
    return records
