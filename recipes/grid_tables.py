"""Markdown tables of a grid's JSONL file (written by `recipes.grid`): mean ± std over seeds per row.

Each table of the grid (`recipes.reproductions`) becomes a markdown table whose caption states the budget, the
seeds found and the command that reproduces it; a cell is "mean ± std" over the seeds of that row (std: the sample
standard deviation, n - 1; "± 0" cannot hide a single seed: a row with fewer seeds than the grid says "(n = 2)").
A metric a row does not have (e.g. OOD AUROC of a Euclidean model) is "—"; a row not yet run is "not run".

With `--write FILE` the tables replace the text between `<!-- grid:NAME -->` and `<!-- /grid:NAME -->` in FILE
(the markers stay; the file is rewritten atomically), so a results page keeps its prose around generated tables.
A block `<!-- grid:NAME:2,3 -->` ... `<!-- /grid:NAME:2,3 -->` gets only tables 2 and 3 (1-based) under a short
caption (README); every block of the grid in the file is rewritten.

Usage:
    python -m recipes.grid_tables hyperbolic                              # print, from runs/grids/hyperbolic.jsonl
    python -m recipes.grid_tables hyperbolic --jsonl docs/results/grids/hyperbolic.jsonl \\
        --write docs/results/hyperbolic.md
"""

import argparse
import os
import re
import sys

import numpy as np

from recipes import _grid, common

__all__ = ["build_parser", "cell", "main", "markdown", "replace_block"]


def build_parser():
    from recipes import reproductions

    p = argparse.ArgumentParser(prog="python -m recipes.grid_tables", description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("grid", choices=sorted(reproductions.GRIDS))
    p.add_argument("--jsonl", default=None, help="default: runs/grids/<grid>.jsonl")
    p.add_argument("--backend", default=None, help="only rows of this backend (default: all)")
    p.add_argument("--write", default=None, metavar="FILE",
                   help="replace the block between <!-- grid:NAME --> and <!-- /grid:NAME --> in FILE")
    return p


def cell(values, column, expected_seeds):
    """'mean ± std' of a column's values over seeds ("—" when no seed has the metric)."""
    values = [float(v) * column.scale for v in values if isinstance(v, (int, float))]
    if not values:
        return "—"
    mean = float(np.mean(values))
    text = f"{mean:.{column.digits}f}"
    if len(values) > 1:
        text += f" ± {float(np.std(values, ddof=1)):.{column.digits}f}"
    if len(values) < expected_seeds:
        text += f" (n = {len(values)})"
    return text


def markdown(grid, records, jsonl_name=None, tables=None):
    """The markdown of the tables of `grid` (all, or the 1-based indices in `tables` under a short caption) from
    its JSONL `records` (dicts)."""
    by_row = {}
    for record in records:
        if record.get("status") == "complete" and record.get("grid", grid.name) == grid.name:
            by_row.setdefault(record["row"], []).append(record)
    seeds = sorted({r["seed"] for rs in by_row.values() for r in rs})
    backends = sorted({r["backend"] for rs in by_row.values() for r in rs})
    commits = sorted({(r.get("commit") or "?")[:7] + ("+dirty" if r.get("dirty") else "") for rs in by_row.values()
                      for r in rs})
    minutes = sum(r.get("wall_seconds", 0) for rs in by_row.values() for r in rs) / 60
    source = jsonl_name or f"runs/grids/{grid.name}.jsonl"
    command = f"`python -m recipes.grid {grid.name} && python -m recipes.grid_tables {grid.name}`"
    if tables:
        brief = f"{grid.brief}; " if grid.brief else ""
        out = [f"{brief}mean ± std over seeds {', '.join(map(str, seeds)) or '(none yet)'}; the full budget and the "
               f"paper's numbers are with the full tables; {command}.", ""]
        if not all(1 <= i <= len(grid.tables) for i in tables):
            raise ValueError(f"grid {grid.name!r} has tables 1..{len(grid.tables)}; a block asks for {tables}")
        chosen = [grid.tables[i - 1] for i in tables]
    else:
        out = [f"**{grid.title}.** Budget: {grid.budget}. Cells: mean ± sample std over seeds "
               f"{', '.join(map(str, seeds)) or '(none yet)'} ({', '.join(backends) or '-'}; commit "
               f"{', '.join(commits) or '-'}; {minutes:.0f} min of runs in all). Reproduce: {command} (rows: "
               f"`{source}`; each row's commands are in it).", ""]
        if grid.paper:
            out += [f"*The paper:* {grid.paper}", ""]
        chosen = grid.tables
    for table in chosen:
        out += [f"*{table.title}*", ""]
        rows = table.select(grid)
        grouped = len({row.group for row in rows}) > 1  # several settings in one table: say which row is which
        out.append(("| setting " if grouped else "") + "| row | " + " | ".join(c.header for c in table.columns) + " |")
        out.append(("|---" if grouped else "") + "|---|" + "---|" * len(table.columns))
        for row in rows:
            runs = by_row.get(row.key, [])
            if not runs:
                cells = ["not run"] * len(table.columns)
            else:
                cells = [cell([r["metrics"].get(c.key) for r in runs], c, len(grid.seeds)) for c in table.columns]
            out.append((f"| {row.group} " if grouped else "") + f"| {row.label} | " + " | ".join(cells) + " |")
        if table.note:
            out += ["", table.note]
        out.append("")
    return "\n".join(out)


def replace_block(text, name, block):
    """`text` with the part between `<!-- grid:name -->` and `<!-- /grid:name -->` replaced by `block` (a string,
    or a function of the block's table list, None for the full block)."""
    pattern = re.compile(rf"(<!-- grid:{re.escape(name)}(?::([0-9,]+))? -->\n).*?(<!-- /grid:{re.escape(name)}"
                         rf"(?::\2)? -->)", re.S)
    if not pattern.search(text):
        raise ValueError(f"--write: no '<!-- grid:{name} -->' ... '<!-- /grid:{name} -->' block in the file")

    def fill(m):
        tables = [int(i) for i in m.group(2).split(",")] if m.group(2) else None
        body = block(tables) if callable(block) else block
        return m.group(1) + body.rstrip("\n") + "\n" + m.group(3)

    return pattern.sub(fill, text)


def main(argv=None):
    from recipes import reproductions

    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    grid = reproductions.GRIDS[args.grid]
    jsonl = args.jsonl or os.path.join("runs", "grids", f"{grid.name}.jsonl")
    if not os.path.exists(jsonl):
        raise SystemExit(f"no rows yet: {jsonl} does not exist (run `python -m recipes.grid {grid.name}`)")
    records = [r for r in _grid.read_rows(jsonl) if args.backend is None or r.get("backend") == args.backend]
    text = markdown(grid, records, jsonl_name=os.path.relpath(jsonl, common.ROOT) if os.path.isabs(jsonl) else jsonl)
    if args.write:
        name = os.path.relpath(jsonl, common.ROOT) if os.path.isabs(jsonl) else jsonl
        with open(args.write, encoding="utf-8") as f:
            common.write_text(args.write, replace_block(
                f.read(), grid.name, lambda tables: markdown(grid, records, jsonl_name=name, tables=tables)))
        print(f"[grid_tables] wrote the {grid.name} tables into {args.write}")
    else:
        print(text)
    return text


if __name__ == "__main__":
    main()
