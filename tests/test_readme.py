"""The README's python examples run as written.

Convention for fenced blocks in README.md:
    ```python          executed: every such block, in order, in one namespace (a later block may use
                       the names of an earlier one), in a fresh Python process with the current
                       KERAS_BACKEND, the working directory a temporary folder, MPLBACKEND=Agg and
                       outbound network connections refused;
    ```python no-run   only compiled (for examples that need files or time the test does not have,
                       e.g. a trained model from a recipe run).
Other fences (bash, text, ...) are not touched. Paths that the README links to must exist.
"""

import json
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(ROOT, "README.md")
TIMEOUT_S = 600

_FENCE = re.compile(r"^```(\S*)[ \t]*(.*?)\n(.*?)^```[ \t]*$", re.M | re.S)

# Runs in the child process: block outbound connections (loopback stays open), then execute each block
# compiled under its README line number, so a traceback points at the README.
_DRIVER = r'''
import json, socket, sys

class _NoNetwork(socket.socket):
    def connect(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if str(host) not in ("127.0.0.1", "localhost", "::1"):
            raise OSError(f"README examples must not touch the network (tried {address!r})")
        return super().connect(address)

socket.socket = _NoNetwork
namespace = {"__name__": "__main__"}
for line, source in json.load(open(sys.argv[1])):
    print(f"--- README.md block at line {line}", flush=True)
    exec(compile("\n" * (line - 1) + source, "README.md", "exec"), namespace)
print("--- all README blocks ran", flush=True)
'''


def readme_blocks(text=None):
    """[(language, options, first code line number, source)] of every fenced block in README.md."""
    if text is None:
        with open(README, encoding="utf-8") as f:
            text = f.read()
    blocks = []
    for m in _FENCE.finditer(text):
        line = text.count("\n", 0, m.start(3)) + 1
        blocks.append((m.group(1).lower(), m.group(2).split(), line, m.group(3)))
    return blocks


def python_blocks(run):
    """(line, source) of the python blocks that are executed (run=True) or only compiled (run=False)."""
    return [(line, src) for lang, opts, line, src in readme_blocks()
            if lang == "python" and ("no-run" in opts) != run]


def test_block_parser_reads_the_convention():
    text = "x\n```python\na = 1\n```\n```python no-run\nb = 2\n```\n```bash\nls\n```\n"
    assert readme_blocks(text) == [("python", [], 3, "a = 1\n"), ("python", ["no-run"], 6, "b = 2\n"),
                                   ("bash", [], 9, "ls\n")]


def test_readme_has_runnable_python():
    assert python_blocks(run=True), "README.md has no executed ```python block"


def test_no_run_blocks_compile():
    for line, src in python_blocks(run=False):
        compile("\n" * (line - 1) + src, "README.md", "exec")


def test_readme_links_stay_inside_the_repository():
    with open(README, encoding="utf-8") as f:
        text = f.read()
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+://|#|mailto:", target):
            continue
        path = os.path.normpath(os.path.join(ROOT, target.split("#")[0]))
        assert path.startswith(ROOT + os.sep) and os.path.exists(path), f"README links to {target!r}"
    assert "../" not in text, "README points outside the repository"
    # repository paths quoted as code, e.g. `docs/results/fewshot.md`, `benchmarks/epoch_time.py`
    for path in re.findall(r"`([\w./-]+/[\w.-]+\.(?:md|py|sh|ipynb|txt|toml))`", text):
        assert os.path.exists(os.path.join(ROOT, path)), f"README names {path!r}, which does not exist"


@pytest.mark.slow
def test_readme_python_blocks_run(tmp_path):
    blocks = python_blocks(run=True)
    spec = tmp_path / "blocks.json"
    spec.write_text(json.dumps(blocks))
    driver = tmp_path / "run_readme.py"
    driver.write_text(_DRIVER)
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONUNBUFFERED="1", TF_CPP_MIN_LOG_LEVEL="3")
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    proc = subprocess.run([sys.executable, str(driver), str(spec)], cwd=workdir, env=env, capture_output=True,
                          text=True, timeout=TIMEOUT_S)
    assert proc.returncode == 0, f"README blocks failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-6000:]}"
    assert "--- all README blocks ran" in proc.stdout
