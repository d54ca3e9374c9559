#!/usr/bin/env bash
# The README's test command: set everything up (idempotent), then run the whole suite once per Keras
# backend (tensorflow, jax, torch), printing the ten slowest tests of each. Extra arguments go to pytest
# (e.g. `-k poincare`, `tests/geometry`). Ends with a summary per backend (result, exit code, seconds) and
# one `total: N passed, N failed` line; exits non-zero if any backend fails.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/bootstrap.sh || { echo "bootstrap failed"; exit 1; }
export TF_CPP_MIN_LOG_LEVEL=3 PYTHONUNBUFFERED=1 MPLBACKEND=Agg
BACKENDS=${ZOO_BACKENDS:-"tensorflow jax torch"}
# pytest-xdist workers: 2 by default (this project's machines have 2 cores; the suite is dominated by
# single-threaded XLA compilation); ZOO_TEST_WORKERS=0 runs in one process. Whole files go to one worker
# (--dist loadfile), so module-scoped fixtures are built once.
WORKERS=${ZOO_TEST_WORKERS:-2}
status=0
total_passed=0
total_failed=0
summary=""
for backend in $BACKENDS; do
  echo "=== pytest on the $backend backend ==="
  start=$(date +%s)
  log=$(mktemp)
  KERAS_BACKEND=$backend .venv/bin/python -m pytest -q -rfE --durations=10 -n "$WORKERS" --dist loadfile "$@" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  secs=$(( $(date +%s) - start ))
  # pytest's closing line ("928 passed in 171.56s", "1 failed, 927 passed in ..."); log lines of the engines
  # (e.g. oneDNN's "... round-off errors ...") must not be mistaken for it.
  last=$(grep -E "^(=+ )?[0-9]+ (passed|failed|errors?|skipped|xfailed|xpassed|deselected)|no tests ran" "$log" | tail -n 1)
  passed=$(echo "$last" | awk '{for(i=2;i<=NF;i++) if ($i ~ /^passed/) n+=$(i-1)} END {print n+0}')
  failed=$(echo "$last" | awk '{for(i=2;i<=NF;i++) if ($i ~ /^(failed|error)/) n+=$(i-1)} END {print n+0}')
  if [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi  # a crash or collection error counts
  total_passed=$(( total_passed + ${passed:-0} ))
  total_failed=$(( total_failed + ${failed:-0} ))
  summary="$summary\n  $backend: ${last:-no summary} (exit $rc, ${secs}s)"
  rm -f "$log"
  if [ "$rc" -ne 0 ]; then status=1; fi
done
echo -e "=== summary per backend ===$summary"
echo "wall time (setup check + all backends): ${SECONDS}s"
echo "total: $total_passed passed, $total_failed failed"
exit $status
