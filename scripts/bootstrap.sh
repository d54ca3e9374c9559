#!/usr/bin/env bash
# Sets up everything the project needs, idempotently:
#   - Fashion-MNIST from Debian's `dataset-fashion-mnist` package (when apt is usable);
#   - a virtual environment in ./.venv with the package and its dev extras installed at the exact versions
#     of constraints.txt (pyproject.toml declares ranges; constraints.txt is the tested set).
# A second run with nothing changed takes about a second (a stamp keyed on pyproject.toml, constraints.txt
# and this script).
# Off the project's machines, install the CPU build of torch into .venv first (README, "Install as a library").
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PY=${PYTHON:-python3}

# 1. Offline data: Debian ships the original Fashion-MNIST IDX files (31 MB).
if [ ! -d /usr/share/datasets/fashion-mnist ] && command -v apt-get >/dev/null 2>&1; then
  SUDO=""
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"; else SUDO="skip"; fi
  fi
  if [ "$SUDO" != skip ]; then
    echo "[bootstrap] installing Debian package dataset-fashion-mnist"
    ( $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1 \
      || { $SUDO apt-get update -q >/dev/null 2>&1 && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q dataset-fashion-mnist >/dev/null 2>&1; } ) \
      || echo "[bootstrap] could not install dataset-fashion-mnist; zoo.data.fashion_mnist() will try keras' cache or download"
  else
    echo "[bootstrap] not root and no sudo: skipping dataset-fashion-mnist (keras' cache / download is the fallback)"
  fi
fi

# 2. The virtual environment.
STAMP=.venv/.zoo-installed
WANT=$(cat pyproject.toml constraints.txt scripts/bootstrap.sh | sha256sum | cut -c1-16)
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ] && .venv/bin/python -c "import zoo, keras" 2>/dev/null; then
  exit 0
fi
echo "[bootstrap] creating/updating the virtual environment in $ROOT/.venv (a few minutes the first time)"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
pip_quiet() {  # pip, minus the noise about absent local index folders and setuptools deprecations
  .venv/bin/python -m pip "$@" 2>&1 | { grep -vE "^WARNING: Location|BuildBackendWarning|^ +!!|^ +\*+$|^ *$|corresp\(|return '|with strategy|^ {2,}[A-Za-z].*(license|careful|folders|name as|See https|By 20|update your|Please)" || true; }
  return "${PIPESTATUS[0]}"
}
pip_quiet install -q -c constraints.txt --upgrade pip setuptools wheel
# torch first and alone, at the exact CPU build that constraints.txt pins (resolved together with the rest,
# a CUDA build of several GB could win).
pip_quiet install -q -c constraints.txt torch
pip_quiet install -q -c constraints.txt -e ".[dev]"
.venv/bin/python -m pip check
echo "$WANT" > "$STAMP"
echo "[bootstrap] ready"
