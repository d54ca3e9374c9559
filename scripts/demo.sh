#!/usr/bin/env bash
# The README's main command: set everything up (idempotent), then train the default classification recipe
# (LeNet -> 64-d embedding -> softmax head on Fashion-MNIST, 5 epochs, TensorFlow backend) and print the
# test accuracy. Extra arguments go to the recipe, e.g. `bash scripts/demo.sh --head poincare --dim 2`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh
export TF_CPP_MIN_LOG_LEVEL=3 PYTHONUNBUFFERED=1 MPLBACKEND=Agg
exec .venv/bin/python -m recipes.classification "$@"
