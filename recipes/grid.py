"""Run a grid of recipe runs with several seeds, resumably, into one JSON-lines file.

Every (row, seed) of a grid (`recipes.reproductions` defines the project's reproduction grids) runs its recipe
steps, each as `python -m recipes.<recipe> ... --seed S --out <run dir> --backend B` in its own process (its output
in `<run dir>/log.txt`). When all steps of a run succeed, the numbers of their metrics.json files (flattened:
"classification.test_accuracy", "hyperbolic_ood.ood.distance_to_origin.auroc", ...) are appended as ONE line to
`<out>/<grid>.jsonl` (the whole file rewritten atomically, so a kill never leaves half a line). A restarted grid
skips the runs whose line is there (same row definition), so it neither repeats nor loses rows; a run that was cut
off starts again from scratch. Failed runs are logged to `<out>/<grid>.failures.jsonl` and retried on the next
start. `--jobs N` runs N runs at a time, each with its share of the CPU threads. Stopping the runner (Ctrl-C, kill)
stops the runs it started. Tables: `python -m recipes.grid_tables`.

Usage:
    python -m recipes.grid --list
    python -m recipes.grid hyperbolic --jobs 2                         # seeds 0 1 2, TensorFlow, runs/grids/
    python -m recipes.grid hyperspherical --seeds 0 --only distarc-d2 --dry-run
    python -m recipes.grid fewshot --out runs/grids --backend jax
"""

import argparse
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time

from recipes import _grid, common

__all__ = ["build_parser", "main", "pending", "run_grid"]

#: Default output folder of the grids (the JSONL files and the run folders).
OUT = os.path.join("runs", "grids")


def build_parser():
    from recipes import reproductions

    p = argparse.ArgumentParser(prog="python -m recipes.grid", description=__doc__.splitlines()[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("grid", nargs="?", choices=sorted(reproductions.GRIDS), help="the grid to run")
    p.add_argument("--list", action="store_true", help="list the grids and their rows, run nothing")
    p.add_argument("--seeds", type=common.non_negative_int, nargs="+", default=None,
                   help="default: the grid's seeds (0 1 2)")
    p.add_argument("--only", nargs="+", default=None, metavar="ROW", help="run only these row keys")
    p.add_argument("--out", default=OUT, help="folder of <grid>.jsonl and the run folders")
    p.add_argument("--backend", default="tensorflow", choices=common.BACKENDS)
    p.add_argument("--jobs", type=common.positive_int, default=1, help="runs at a time")
    p.add_argument("--dry-run", action="store_true", help="print the commands of the pending runs, run nothing")
    return p


def pending(grid, jsonl, seeds, backend, only=None):
    """The (row, seed) runs of `grid` without a finished line in `jsonl` for the row's current definition."""
    rows = {row.key: row for row in grid.rows}
    done = {r["key"] for r in _grid.read_rows(jsonl) if r.get("status") == "complete" and r.get("row") in rows
            and r.get("config") == _grid.config_hash(rows[r["row"]])}
    if only:
        unknown = sorted(set(only) - {row.key for row in grid.rows})
        if unknown:
            raise ValueError(f"--only: grid {grid.name!r} has no rows {unknown}; rows: {[r.key for r in grid.rows]}")
    return [(row, seed) for seed in seeds for row in grid.rows
            if (not only or row.key in only) and _grid.row_key(grid.name, row.key, seed, backend) not in done]


def _commands(row, seed, folder, backend):
    """[(step folder, argv)] of one run."""
    commands, prev = [], None
    for index, (recipe, argv) in enumerate(row.steps):
        step_dir = os.path.join(folder, f"{index}-{recipe}")
        args = [a.replace("{prev}", prev or "").replace("{seed}", str(seed)) for a in argv]
        commands.append((recipe, step_dir, [sys.executable, "-m", f"recipes.{recipe}", *args, "--seed", str(seed),
                                            "--out", step_dir, "--backend", backend]))
        prev = step_dir
    return commands


def _thread_env(threads):
    """Environment of a run limited to `threads` CPU threads (TensorFlow, XLA/JAX, PyTorch, BLAS)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([common.ROOT] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    env.update({"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads), "OPENBLAS_NUM_THREADS": str(threads),
                "TF_NUM_INTRAOP_THREADS": str(threads), "TF_NUM_INTEROP_THREADS": "1", "TF_CPP_MIN_LOG_LEVEL": "3",
                "MPLBACKEND": "Agg", "PYTHONUNBUFFERED": "1"})
    flags = env.get("XLA_FLAGS", "")
    if threads == 1 and "multi_thread_eigen" not in flags:
        env["XLA_FLAGS"] = (flags + " --xla_cpu_multi_thread_eigen=false").strip()
    return env


def _die_with_parent():
    """Child process setup (Linux): receive SIGTERM when the runner dies, even by SIGKILL, so a killed grid leaves
    no orphan run writing into a folder the restarted grid reuses."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class _Run:
    """One (row, seed) in progress: its steps are started one after the other."""

    def __init__(self, grid, row, seed, root, backend, env):
        self.grid, self.row, self.seed, self.backend, self.env = grid, row, seed, backend, env
        self.folder = _grid.run_dir(root, grid.name, row.key, seed, backend)
        shutil.rmtree(self.folder, ignore_errors=True)  # a run that was cut off starts again from scratch
        os.makedirs(self.folder)
        self.commands = _commands(row, seed, self.folder, backend)
        self.step, self.proc, self.log, self.start = -1, None, None, time.time()
        self._next()

    def _next(self):
        self.step += 1
        _, step_dir, argv = self.commands[self.step]
        os.makedirs(step_dir, exist_ok=True)
        if self.log:
            self.log.close()
        self.log = open(os.path.join(self.folder, "log.txt"), "a")
        self.log.write(f"$ {shlex.join(argv[1:])}\n")
        self.log.flush()
        self.proc = subprocess.Popen(argv, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
                                     cwd=common.ROOT, preexec_fn=_die_with_parent)

    def poll(self):
        """None while running; else the exit status of the run (0: every step succeeded)."""
        rc = self.proc.poll()
        if rc is None:
            return None
        if rc == 0 and self.step + 1 < len(self.commands):
            self._next()
            return None
        self.log.close()
        return rc

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        if self.log:
            self.log.close()

    def record(self):
        """The JSON line of the finished run."""
        metrics, commands = {}, []
        for recipe, step_dir, argv in self.commands:
            metrics.update(_grid.flatten_metrics(common.read_summary(step_dir), prefix=f"{recipe}."))
            commands.append("python " + shlex.join(argv[1:]))
        first = common.read_summary(self.commands[0][1])
        return {"key": _grid.row_key(self.grid.name, self.row.key, self.seed, self.backend), "grid": self.grid.name,
                "row": self.row.key, "label": self.row.label, "group": self.row.group, "seed": self.seed,
                "backend": self.backend, "config": _grid.config_hash(self.row), "status": "complete",
                "wall_seconds": round(time.time() - self.start, 1), "commands": commands,
                "commit": first.get("commit"), "dirty": first.get("dirty"), "folder": self.folder,
                "metrics": metrics}

    def failure(self, rc):
        tail = ""
        log = os.path.join(self.folder, "log.txt")
        if os.path.exists(log):
            with open(log, errors="replace") as f:
                tail = f.read()[-2000:]
        return {"key": _grid.row_key(self.grid.name, self.row.key, self.seed, self.backend), "row": self.row.key,
                "seed": self.seed, "exit": rc, "step": self.step, "time": time.strftime("%Y-%m-%d %H:%M:%S"),
                "log_tail": tail}


def _store(jsonl, record):
    """Append `record`, replacing an older line of the same key (a row whose definition changed)."""
    from zoo._io import atomic_write_text

    kept = [r for r in _grid.read_rows(jsonl) if r.get("key") != record["key"]]
    atomic_write_text(jsonl, "".join(json.dumps(r, sort_keys=True) + "\n" for r in kept + [record]))


class _Lock:
    """`<jsonl>.lock` holding the runner's pid: two runners on one file would run the same rows twice."""

    def __init__(self, jsonl):
        self.path = jsonl + ".lock"

    def __enter__(self):
        if os.path.exists(self.path):
            try:
                pid = int(open(self.path).read().strip() or 0)
                os.kill(pid, 0)
            except (ValueError, ProcessLookupError, PermissionError):
                pid = None
            if pid:
                raise RuntimeError(f"another grid runner (pid {pid}) is writing {self.path[:-5]}; stop it first "
                                   f"(or delete {self.path} if that pid is not a grid runner)")
        with open(self.path, "w") as f:
            f.write(str(os.getpid()))
        return self

    def __exit__(self, *exc):
        if os.path.exists(self.path):
            os.remove(self.path)


def run_grid(grid, out=OUT, seeds=None, backend="tensorflow", jobs=1, only=None, dry_run=False, poll_seconds=0.5):
    """Run the pending runs of `grid`; returns {"ran": n, "failed": n, "skipped": n, "jsonl": path}."""
    seeds = tuple(grid.seeds if seeds is None else seeds)
    os.makedirs(out, exist_ok=True)
    jsonl = os.path.join(out, f"{grid.name}.jsonl")
    todo = pending(grid, jsonl, seeds, backend, only)
    total = len(seeds) * len([r for r in grid.rows if not only or r.key in only])
    print(f"[grid] {grid.name}: {total - len(todo)} of {total} runs already in {jsonl}; {len(todo)} to run "
          f"({jobs} at a time, {backend})")
    if dry_run:
        for row, seed in todo:
            folder = _grid.run_dir(out, grid.name, row.key, seed, backend)
            for _, _, argv in _commands(row, seed, folder, backend):
                print("python " + shlex.join(argv[1:]))
        return {"ran": 0, "failed": 0, "skipped": total - len(todo), "jsonl": jsonl}
    env = _thread_env(max(1, (os.cpu_count() or 1) // jobs))
    running, ran, failed, start = [], 0, 0, time.time()
    with _Lock(jsonl):
        try:
            while todo or running:
                while todo and len(running) < jobs:
                    row, seed = todo.pop(0)
                    running.append(_Run(grid, row, seed, out, backend, env))
                time.sleep(poll_seconds)
                for run in list(running):
                    rc = run.poll()
                    if rc is None:
                        continue
                    running.remove(run)
                    if rc == 0:
                        _store(jsonl, run.record())
                        ran += 1
                    else:
                        common.append_jsonl(os.path.join(out, f"{grid.name}.failures.jsonl"), run.failure(rc))
                        failed += 1
                    done = ran + failed
                    left = len(todo) + len(running)
                    eta = (time.time() - start) / done * left / 1.0
                    print(f"[grid] {grid.name} {run.row.key} seed {run.seed}: "
                          f"{'ok' if rc == 0 else f'FAILED (exit {rc}, see {run.folder}/log.txt)'} "
                          f"in {time.time() - run.start:.0f} s; {done} done, {left} left, about {eta / 60:.0f} min "
                          f"to go", flush=True)
        finally:
            for run in running:
                run.stop()
    return {"ran": ran, "failed": failed, "skipped": total - ran - failed - len(todo), "jsonl": jsonl}


def main(argv=None):
    from recipes import reproductions

    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    if args.list:
        for name, grid in sorted(reproductions.GRIDS.items()):
            print(f"{name}: {grid.title} ({len(grid.rows)} rows x {len(grid.seeds)} seeds)")
            for row in grid.rows:
                print(f"    {row.key}: {row.label}" + (f"  [{row.group}]" if row.group else ""))
        return None
    if not args.grid:
        build_parser().error("name a grid (or --list)")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a kill runs the cleanup that stops the runs
    result = run_grid(reproductions.GRIDS[args.grid], out=args.out, seeds=args.seeds, backend=args.backend,
                      jobs=args.jobs, only=args.only, dry_run=args.dry_run)
    if result["failed"]:
        sys.exit(1)
    return result


if __name__ == "__main__":
    main()
