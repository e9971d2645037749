#!/usr/bin/env bash
# The main job on a fresh machine: set up .venv, then train FFNet-1 on the
# embedded demo data (generated on first use) and evaluate it, on CPU.
#   bash tools/run_demo.sh [extra train.py args]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash tools/setup_env.sh

CONFIG=configs/classification/ffnet/ffnet-1_1xb32_demo-shapes-64px.py
WORK_DIR=${WORK_DIR:-work_dirs/demo}
PY=.venv/bin/python
start=$(date +%s)
echo "[demo] training $CONFIG -> $WORK_DIR"
$PY tools/train.py "$CONFIG" --work-dir "$WORK_DIR" "$@"
echo "[demo] training took $(( $(date +%s) - start )) s"
CKPT="$WORK_DIR/$(cat "$WORK_DIR/last_checkpoint" | xargs basename)"
echo "[demo] evaluating the folded (deploy) model from $CKPT"
$PY tools/test.py "$CONFIG" "$CKPT" --deploy --work-dir "$WORK_DIR/test"
IMAGE=$(ls data/ffnet_demo_cls/validation/star/*.png | head -n 1)
$PY tools/infer.py "$CONFIG" "$CKPT" "$IMAGE" --out "$WORK_DIR/prediction.png"
echo "[demo] exporting the folded model to OpenVINO int8 and checking it on the validation images"
$PY tools/deployment/export.py "$CONFIG" --checkpoint "$CKPT" --format openvino --int8 \
  --out "$WORK_DIR/deploy/ffnet-1-demo-int8.xml"
