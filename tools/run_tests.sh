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
exec .venv/bin/python -m pytest tests -ra "$@"
