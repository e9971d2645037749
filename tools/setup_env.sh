#!/usr/bin/env bash
# Create or refresh the project environment in .venv/ at the repository root.
#
# - torch/torchvision come from PyPI as one build (pip's machine config, which
#   points at a CPU-only torch wheel that PyPI's torchvision cannot load against,
#   is ignored with --isolated).
# - mmcv 2.1.0 has no wheel on PyPI: it is compiled with its ops once and cached
#   outside the checkout in $MMFFNET_CACHE (default ~/.cache/mmffnet), keyed by the
#   torch version.
# - A stamp of the requirement files lets a second run finish in seconds.
#
# Usage: bash tools/setup_env.sh        (sourcing is not needed)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
CACHE="${MMFFNET_CACHE:-$HOME/.cache/mmffnet}"
PY_BOOT="${PYTHON:-python3}"
MMCV_VERSION=2.1.0

log() { printf '[setup %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

# pip with the machine configuration ignored (see header); keeps its CA bundle.
pipi() {
  local cert=()
  [ -f /etc/ssl/certs/ca-certificates.crt ] && cert=(--cert /etc/ssl/certs/ca-certificates.crt)
  "$VENV/bin/python" -m pip --isolated --disable-pip-version-check "$@" "${cert[@]}"
}

stamp_of() {
  cat "$ROOT"/requirements/*.txt "$ROOT/setup.py" "$ROOT/tools/setup_env.sh" | sha256sum | cut -c1-16
}

STAMP_FILE="$VENV/.mmffnet-stamp"
WANT_STAMP="$(stamp_of)"
if [ -f "$STAMP_FILE" ] && [ "$(cat "$STAMP_FILE")" = "$WANT_STAMP" ] \
   && "$VENV/bin/python" -c "import mmcv.ops, mmffnet" >/dev/null 2>&1; then
  log "environment .venv is up to date (stamp $WANT_STAMP)"
  exit 0
fi

if [ ! -x "$VENV/bin/python" ]; then
  log "creating virtual environment in $VENV"
  "$PY_BOOT" -m venv "$VENV"
fi

log "installing build tools and the pinned runtime stack (torch is ~4.8 GB the first time)"
pipi install -q --upgrade pip
pipi install -q -r "$ROOT/requirements/build.txt"
# Everything but the OpenMMLab packages that depend on mmcv.
grep -v -E '^(mmdet|mmsegmentation|mmpretrain)' "$ROOT/requirements/runtime.txt" > "$VENV/.req-stage1.txt"
pipi install -q -r "$VENV/.req-stage1.txt"

TORCH_VERSION="$("$VENV/bin/python" -c 'import torch; print(torch.__version__.split("+")[0])')"
WHEEL_DIR="$CACHE/wheels/torch-$TORCH_VERSION"
mkdir -p "$WHEEL_DIR"
MMCV_WHEEL="$(ls "$WHEEL_DIR"/mmcv-"$MMCV_VERSION"-*.whl 2>/dev/null | head -n1 || true)"
if [ -z "$MMCV_WHEEL" ]; then
  BUILD_LOG="$WHEEL_DIR/mmcv-build.log"
  log "building mmcv $MMCV_VERSION with CPU ops against torch $TORCH_VERSION (about 11 min on 2 cores)"
  log "full compiler log: $BUILD_LOG; progress below"
  # ninja prints "[i/n] ..." for each compiled file: show those as progress.
  set +e
  MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS="${MAX_JOBS:-2}" \
    pipi wheel -v --no-build-isolation --no-deps -w "$WHEEL_DIR" "mmcv==$MMCV_VERSION" 2>&1 \
    | tee "$BUILD_LOG" \
    | grep --line-buffered -E '^\s*\[[0-9]+/[0-9]+\]|error:' \
    | sed -u -E 's#^\s*(\[[0-9]+/[0-9]+\]).* -c ([^ ]*/)?([^ /]+) .*#\1 \3#' \
    | while IFS= read -r line; do log "  mmcv build $line"; done
  status=${PIPESTATUS[0]}
  set -e
  if [ "$status" -ne 0 ]; then
    log "mmcv build failed (exit $status); last lines of $BUILD_LOG:"
    tail -n 30 "$BUILD_LOG"
    exit "$status"
  fi
  MMCV_WHEEL="$(ls "$WHEEL_DIR"/mmcv-"$MMCV_VERSION"-*.whl | head -n1)"
  log "cached $MMCV_WHEEL"
else
  log "using cached mmcv wheel $MMCV_WHEEL"
fi

log "installing mmcv, mmpretrain, mmdet, mmsegmentation, deployment runtimes, test tools and mmffnet (editable)"
pipi install -q "$MMCV_WHEEL"
pipi install -q -r "$ROOT/requirements/runtime.txt" -r "$ROOT/requirements/deploy.txt" \
  -r "$ROOT/requirements/tests.txt"
pipi install -q --no-deps --no-build-isolation -e "$ROOT"

"$VENV/bin/python" - <<'EOF'
import mmcv, mmcv.ops, mmengine, mmpretrain, mmdet, mmseg, torch, torchvision, timm, mmffnet
print(f"[setup] torch {torch.__version__}, torchvision {torchvision.__version__}, "
      f"mmcv {mmcv.__version__} (ops ok), mmengine {mmengine.__version__}, "
      f"mmpretrain {mmpretrain.__version__}, mmdet {mmdet.__version__}, "
      f"mmseg {mmseg.__version__}, timm {timm.__version__}, mmffnet {mmffnet.__version__}")
EOF
echo "$WANT_STAMP" > "$STAMP_FILE"
log "environment ready: $VENV"
