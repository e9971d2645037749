#!/usr/bin/env bash
# Create or refresh the project environment in .venv/ at the repository root.
#
# - torch/torchvision come from PyPI as one build (pip's machine config, which
#   points at a CPU-only torch wheel that PyPI's torchvision cannot load against,
#   is ignored with --isolated).
# - mmcv 2.1.0 has no wheel on PyPI: it is compiled with its ops once and cached
#   outside the checkout in $MMFFNET_CACHE (default ~/.cache/mmffnet), keyed by the
#   torch version, torch's CUDA build and the ops flavour, so a CPU-ops wheel is
#   never reused on a GPU machine.
# - MMFFNET_MMCV_OPS picks the flavour of mmcv's ops:
#     auto (default)  cuda when nvidia-smi lists a GPU, else cpu
#     cpu             CPU kernels only (fast to build: 9 min 40 s on 2 cores, measured)
#     cuda            CPU + CUDA kernels, compiled with nvcc for TORCH_CUDA_ARCH_LIST
#                     (default: the visible GPUs' compute capability, else 9.0);
#                     needs a CUDA toolkit whose major version matches torch's.
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

# The ops flavour (see header), decided before anything is installed.
MMCV_OPS="${MMFFNET_MMCV_OPS:-auto}"
gpu_archs() {  # "9.0;8.6" for the visible GPUs, empty without one
  command -v nvidia-smi >/dev/null 2>&1 || return 0
  nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null \
    | tr -d ' ' | grep -E '^[0-9]+\.[0-9]+$' | sort -u | paste -sd';' - || true
}
case "$MMCV_OPS" in
  auto) if [ -n "$(gpu_archs)" ]; then MMCV_OPS=cuda; else MMCV_OPS=cpu; fi ;;
  cpu|cuda) ;;
  *) echo "[setup] MMFFNET_MMCV_OPS=$MMCV_OPS is not one of auto, cpu, cuda" >&2; exit 2 ;;
esac
if [ "$MMCV_OPS" = cuda ]; then
  CUDA_ARCHS="${TORCH_CUDA_ARCH_LIST:-$(gpu_archs)}"
  CUDA_ARCHS="${CUDA_ARCHS:-9.0}"
  OPS_KEY="cuda-sm$(printf '%s' "$CUDA_ARCHS" | tr -c '0-9;' '_' | tr ';' '-' | tr -d '.')"
else
  OPS_KEY=cpu
fi

stamp_of() {
  { cat "$ROOT"/requirements/*.txt "$ROOT/setup.py" "$ROOT/tools/setup_env.sh"; echo "$OPS_KEY"; } \
    | sha256sum | cut -c1-16
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
TORCH_CUDA="$("$VENV/bin/python" -c 'import torch; print(torch.version.cuda or "")')"
TORCH_CUDA_TAG="cu$(printf '%s' "$TORCH_CUDA" | tr -d '.')"
[ -n "$TORCH_CUDA" ] || TORCH_CUDA_TAG=cpu
if [ "$MMCV_OPS" = cuda ]; then
  if [ -z "$TORCH_CUDA" ]; then
    log "MMFFNET_MMCV_OPS=cuda but the installed torch is a CPU build; install a CUDA torch or use MMFFNET_MMCV_OPS=cpu"
    exit 2
  fi
  if ! command -v nvcc >/dev/null 2>&1; then
    log "mmcv's CUDA ops need nvcc (CUDA toolkit $TORCH_CUDA, the version torch was built with) on the PATH; install it or set MMFFNET_MMCV_OPS=cpu"
    exit 2
  fi
  NVCC_CUDA="$(nvcc --version | sed -n -E 's/.*release ([0-9]+\.[0-9]+).*/\1/p')"
  # torch guesses CUDA_HOME from nvcc's folder (/usr/local for /usr/local/bin/nvcc),
  # where the CUDA libraries may not be: prefer the toolkit's own folder.
  if [ -z "${CUDA_HOME:-}" ] && [ -x /usr/local/cuda/bin/nvcc ]; then
    export CUDA_HOME=/usr/local/cuda
  fi
  if [ "${NVCC_CUDA%%.*}" != "${TORCH_CUDA%%.*}" ]; then
    log "nvcc is CUDA $NVCC_CUDA but torch was built with CUDA $TORCH_CUDA: the major versions must match (put the matching toolkit first on the PATH or set MMFFNET_MMCV_OPS=cpu)"
    exit 2
  fi
fi
WHEEL_DIR="$CACHE/wheels/torch-$TORCH_VERSION-$TORCH_CUDA_TAG-$OPS_KEY"
mkdir -p "$WHEEL_DIR"
MMCV_WHEEL="$(ls "$WHEEL_DIR"/mmcv-"$MMCV_VERSION"-*.whl 2>/dev/null | head -n1 || true)"
if [ -z "$MMCV_WHEEL" ]; then
  BUILD_LOG="$WHEEL_DIR/mmcv-build.log"
  if [ "$MMCV_OPS" = cuda ]; then
    log "building mmcv $MMCV_VERSION with CPU and CUDA ops (nvcc $NVCC_CUDA, TORCH_CUDA_ARCH_LIST=$CUDA_ARCHS) against torch $TORCH_VERSION+$TORCH_CUDA_TAG"
    # torch's CUDA headers include cuSPARSE/cuBLAS ones that a minimal toolkit
    # may lack; torch's own NVIDIA wheels ship them (site-packages/nvidia/*/include).
    # CPATH is searched after the toolkit's -I paths, so it only fills gaps.
    NV_INCLUDE="$("$VENV/bin/python" -c 'import glob, os, sysconfig; print(":".join(sorted(glob.glob(os.path.join(sysconfig.get_paths()["purelib"], "nvidia", "*", "include")))))')"
    BUILD_ENV=(FORCE_CUDA=1 "TORCH_CUDA_ARCH_LIST=$CUDA_ARCHS"
               "CPATH=${NV_INCLUDE}${CPATH:+:$CPATH}")
  else
    log "building mmcv $MMCV_VERSION with CPU ops against torch $TORCH_VERSION (about 10 min on 2 cores)"
    BUILD_ENV=(FORCE_CUDA=0)
  fi
  log "full compiler log: $BUILD_LOG; progress below"
  # --no-cache-dir: pip must not hand back a wheel it built earlier with the other
  # ops flavour. ninja prints "[i/n] ..." for each compiled file: show those as progress.
  set +e
  (export MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-2}" "${BUILD_ENV[@]}"
   pipi wheel -v --no-cache-dir --no-build-isolation --no-deps -w "$WHEEL_DIR" "mmcv==$MMCV_VERSION") 2>&1 \
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
# --force-reinstall: a venv may hold the same mmcv version with the other ops flavour.
pipi install -q --force-reinstall --no-deps "$MMCV_WHEEL"
pipi install -q -r "$ROOT/requirements/runtime.txt" -r "$ROOT/requirements/deploy.txt" \
  -r "$ROOT/requirements/tests.txt"
pipi install -q --no-deps --no-build-isolation -e "$ROOT"

"$VENV/bin/python" - <<'EOF'
import mmcv, mmcv.ops, mmengine, mmpretrain, mmdet, mmseg, torch, torchvision, timm, mmffnet
cuda = mmcv.ops.get_compiling_cuda_version()
ops = 'CPU only' if cuda == 'not available' else f'CPU + CUDA {cuda}'
print(f"[setup] torch {torch.__version__}, torchvision {torchvision.__version__}, "
      f"mmcv {mmcv.__version__} (ops: {ops}), mmengine {mmengine.__version__}, "
      f"mmpretrain {mmpretrain.__version__}, mmdet {mmdet.__version__}, "
      f"mmseg {mmseg.__version__}, timm {timm.__version__}, mmffnet {mmffnet.__version__}")
EOF
echo "$WANT_STAMP" > "$STAMP_FILE"
log "environment ready: $VENV"
