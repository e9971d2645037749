#!/usr/bin/env bash
# Set up (or refresh) .venv and run the whole test suite on CPU, slow tests
# (demo trainings, int8 exports, distributed runs) included, as CI does.
#   bash tools/run_tests.sh [extra pytest args]
# The fast tier, for a quick answer while developing:
#   bash tools/run_tests.sh -m "not slow"
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash tools/setup_env.sh
export CUDA_VISIBLE_DEVICES="${CUDA_VISIBLE_DEVICES-}"
# The NNCF tests run in a pytest process of their own: after the rest of the
# suite had loaded its runtimes into one long process, that process crashed
# (SIGSEGV, no Python frame) right after the NNCF module's tests; each half
# passed alone. Exit status: the first failure (5, nothing collected, counts
# as a pass only for the second half, e.g. under -k).
ISOLATED=tests/test_deployment/test_nncf.py
status=0
.venv/bin/python -m pytest tests -ra --ignore="$ISOLATED" "$@" || status=$?
.venv/bin/python -m pytest "$ISOLATED" -ra "$@" || {
  code=$?
  if [ "$code" -ne 5 ] && [ "$status" -eq 0 ]; then status=$code; fi
}
exit "$status"
