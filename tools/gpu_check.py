"""Check that this machine trains every task on its GPU, in one command.

    python tools/gpu_check.py [--iters N] [--timeout S] [--work-dir DIR]
        [--checks NAME ...] [--device cuda|cpu]

For each task's demo config (classification, detection, segmentation,
super-resolution) it trains ``--iters`` iterations on CUDA in mixed
precision (mmengine's ``AmpOptimWrapper``) with the same runner as
``tools/train.py``, on demo data generated into a temporary folder, then
evaluates on a few validation images. It also runs mmcv's CUDA ops (NMS,
RoIAlign) on CUDA tensors against their CPU results and, where two or more
GPUs exist, trains each task with batch norms (all but super-resolution) in a
2-process torchrun job with SyncBN. Every check runs in a process of its own
with a time limit, so one failure does not stop the others. It prints a
table (check, status, img/s, seconds, details) and exits with 1 when any
check failed.

``--device cpu`` runs the same training checks in fp32 on the CPU (no AMP,
no SyncBN) and reports the CUDA-only checks as ``skipped: no CUDA``.
"""
import argparse
import json
import os
import os.path as osp
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from typing import List, Optional

import torch
from mmengine.config import ConfigDict
from mmengine.hooks import Hook

from mmffnet.apis import apply_train_args, build_runner, load_config
from mmffnet.apis.runner import resolve_launcher
from mmffnet.utils import mmcv_ops_cuda_problem

# task: (demo config, data folder the demo dataset generates)
TASKS = {
    'cls': ('configs/classification/ffnet/ffnet-1_1xb32_demo-shapes-64px.py',
            'ffnet_demo_cls'),
    'det': ('configs/detection/ffnet/'
            'mask-rcnn_ffnet-1_fpn_demo-shapes-128px.py', 'ffnet_demo_det'),
    'seg': ('configs/segmentation/ffnet/'
            'ffnet-seg-tiny_1xb8-1k_demo-shapes-128x128.py', 'ffnet_demo_seg'),
    'sr': ('configs/super_resolution/ffnetsr/'
           'ffnetsr-tiny_x2_1xb16_demo-textures.py', 'ffnet_demo_sr'),
}
# The norm layers a 2-process check turns into SyncBN (FFNetSR has none:
# its 'sr-train' check covers AMP with the FFT loss, kept in fp32).
SYNC_BN_KEYS = {
    'cls': ['model.backbone.norm_cfg'],
    'det': ['model.backbone.norm_cfg'],
    'seg': ['model.backbone.norm_cfg', 'model.decode_head.norm_cfg'],
}
CHECKS = [f'{task}-train' for task in TASKS] + ['mmcv-ops'] + [
    f'{task}-dist-syncbn' for task in SYNC_BN_KEYS
]
VAL_IMAGES = 16
ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


class CheckFailed(Exception):
    """A check ran but its result is wrong."""


class _Probe(Hook):
    """Times the training iterations after the first (warm-up) one and
    keeps the validation metrics."""
    priority = 'VERY_LOW'

    def __init__(self, world_size: int):
        self.world_size = world_size
        self.start = None
        self.images = 0
        self.seconds = 0.0
        self.metrics = {}

    def _now(self) -> float:
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        return time.perf_counter()

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None):
        if self.start is None:
            self.start = self._now()
            return
        self.images += len(data_batch['inputs']) * self.world_size
        self.seconds = self._now() - self.start

    def after_val_epoch(self, runner, metrics=None):
        self.metrics = dict(metrics or {})

    def images_per_second(self) -> Optional[float]:
        return self.images / self.seconds if self.seconds else None


def parse_args():
    parser = argparse.ArgumentParser(
        description='Train each task briefly on the GPU (AMP; SyncBN on 2 '
        'GPUs), check mmcv CUDA ops, and print a pass/fail table')
    parser.error = _one_line_error
    parser.add_argument(
        '--device',
        choices=['cuda', 'cpu'],
        default='cuda',
        help='cuda (default): AMP, CUDA ops and SyncBN checks; cpu: the '
        'training checks in fp32, CUDA-only checks skipped')
    parser.add_argument(
        '--iters',
        type=int,
        default=20,
        help='training iterations per check (default 20)')
    parser.add_argument(
        '--timeout',
        type=float,
        default=600,
        help='seconds each check may take (default 600)')
    parser.add_argument(
        '--checks',
        nargs='+',
        choices=CHECKS,
        default=CHECKS,
        metavar='NAME',
        help=f'run only these ({", ".join(CHECKS)})')
    parser.add_argument(
        '--work-dir',
        help='where data, logs and checkpoints go (kept); default: a '
        'temporary folder, removed when every check passed')
    # One check, in the process the main command starts for it.
    parser.add_argument('--run-check', help=argparse.SUPPRESS)
    parser.add_argument('--result', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.iters < 1:
        parser.error(f'--iters must be at least 1, got {args.iters}')
    if args.timeout <= 0:
        parser.error(f'--timeout must be positive, got {args.timeout:g}')
    return args


def _one_line_error(message: str):
    sys.exit(f'error: {message} (python tools/gpu_check.py -h lists the '
             f'options)')


def one_line(text: str, limit: int = 160) -> str:
    """The first non-empty line of ``text``, shortened to ``limit``."""
    line = next((s.strip() for s in text.splitlines() if s.strip()), '')
    return line if len(line) <= limit else line[:limit - 3] + '...'


def _train_cfg(task: str, args, distributed: bool):
    config, folder = TASKS[task]
    cfg = load_config(osp.join(ROOT, config))
    data_root = osp.join(args.work_dir, 'data', folder)
    options = {}
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        options[f'{loader}.dataset.data_root'] = data_root
    for loader in ('val_dataloader', 'test_dataloader'):
        options[f'{loader}.dataset.indices'] = VAL_IMAGES
        options[f'{loader}.batch_size'] = min(
            VAL_IMAGES, cfg[loader].get('batch_size', 1))
    if task == 'det':
        ann_file = osp.join(data_root, 'annotations', 'instances_val.json')
        options['val_evaluator.ann_file'] = ann_file
        options['test_evaluator.ann_file'] = ann_file
    if distributed:
        for key in SYNC_BN_KEYS[task]:
            options[key] = dict(type='SyncBN', requires_grad=True)
    cfg.merge_from_dict(options)
    iters = args.iters
    cfg.train_cfg = ConfigDict(
        type='IterBasedTrainLoop', max_iters=iters, val_interval=iters)
    cfg.param_scheduler = [
        dict(type='LinearLR', start_factor=0.1, by_epoch=False, end=iters)
    ]
    cfg.log_processor = dict(by_epoch=False)
    cfg.default_hooks.logger = dict(
        type='LoggerHook', interval=1, log_metric_by_epoch=False)
    cfg.default_hooks.checkpoint = dict(
        type='CheckpointHook', by_epoch=False, interval=iters)
    name = f'{task}-dist-syncbn' if distributed else f'{task}-train'
    return apply_train_args(
        cfg,
        config,
        work_dir=osp.join(args.work_dir, name),
        amp=args.device == 'cuda',
        launcher=resolve_launcher('none'))


def train_check(task: str, args, distributed: bool) -> dict:
    """Train ``args.iters`` iterations of ``task``'s demo, then evaluate."""
    cfg = _train_cfg(task, args, distributed)
    runner = build_runner(cfg)
    probe = _Probe(int(os.environ.get('WORLD_SIZE', '1')))
    runner.register_hook(probe)
    runner.train()
    if distributed:
        sync_bn = sum(
            isinstance(m, torch.nn.SyncBatchNorm)
            for m in runner.model.modules())
        if not sync_bn:
            raise CheckFailed('the model has no SyncBatchNorm layer')
    if not probe.metrics:
        raise CheckFailed('the evaluation gave no metrics')
    metric, value = next(iter(probe.metrics.items()))
    details = f'{metric}={value:.3g}'
    if distributed:
        details += f', {sync_bn} SyncBN layers'
    return dict(img_s=probe.images_per_second(), details=details)


def ops_check(args) -> dict:
    """mmcv's NMS and RoIAlign on CUDA tensors match their CPU results."""
    problem = mmcv_ops_cuda_problem()
    if problem:
        raise CheckFailed(problem)
    # Imported here: a broken mmcv build must fail this check only.
    from mmcv.ops import nms, roi_align
    gen = torch.Generator().manual_seed(0)
    xy = torch.rand(200, 2, generator=gen) * 100
    boxes = torch.cat([xy, xy + torch.rand(200, 2, generator=gen) * 50 + 1],
                      dim=1)
    scores = torch.rand(200, generator=gen)
    _, keep = nms(boxes, scores, 0.5)
    _, keep_cuda = nms(boxes.cuda(), scores.cuda(), 0.5)
    if not torch.equal(keep, keep_cuda.cpu()):
        raise CheckFailed('nms on CUDA keeps other boxes than on CPU')
    feats = torch.rand(2, 8, 32, 32, generator=gen)
    rois = torch.cat([torch.tensor([[0.], [1.], [0.], [1.]]), boxes[:4] / 5],
                     dim=1)
    pooled = roi_align(feats, rois, (7, 7), 1.0, 2, 'avg', True)
    pooled_cuda = roi_align(feats.cuda(), rois.cuda(), (7, 7), 1.0, 2, 'avg',
                            True)
    error = (pooled - pooled_cuda.cpu()).abs().max().item()
    if error > 1e-4:
        raise CheckFailed(f'roi_align on CUDA differs from CPU by {error:.2g}')
    return dict(img_s=None, details='nms, roi_align match CPU')


def run_one(args):
    """Run ``args.run_check`` here; rank 0 writes its result as JSON."""
    task = args.run_check.split('-')[0]
    try:
        if args.run_check == 'mmcv-ops':
            result = ops_check(args)
        else:
            result = train_check(task, args,
                                 args.run_check.endswith('syncbn'))
        result['status'] = 'pass'
    except Exception as err:  # any failure is this check's result
        result = dict(
            status='fail', error=one_line(f'{type(err).__name__}: {err}'))
    if int(os.environ.get('RANK', '0')) == 0:
        with open(args.result, 'w') as f:
            json.dump(result, f)
    if result['status'] != 'pass':
        raise SystemExit(1)


def skip_reason(check: str, device: str) -> Optional[str]:
    if check.endswith('-train'):
        return None
    if device != 'cuda':
        return 'skipped: no CUDA'
    if check.endswith('syncbn') and torch.cuda.device_count() < 2:
        return f'skipped: needs 2 GPUs, found {torch.cuda.device_count()}'
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def launch(check: str, args) -> dict:
    """Run ``check`` in its own process (two under torchrun for the
    SyncBN checks), within ``args.timeout`` seconds."""
    result_file = osp.join(args.work_dir, f'{check}.json')
    log_file = osp.join(args.work_dir, f'{check}.log')
    script = [
        osp.abspath(__file__), '--device', args.device, '--iters',
        str(args.iters), '--work-dir', args.work_dir, '--run-check', check,
        '--result', result_file
    ]
    if check.endswith('syncbn'):
        command = [
            sys.executable, '-m', 'torch.distributed.run',
            '--nproc_per_node=2', f'--master_port={_free_port()}'
        ] + script
    else:
        command = [sys.executable] + script
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(
        p for p in (ROOT, env.get('PYTHONPATH')) if p)
    if args.device == 'cpu':
        env['CUDA_VISIBLE_DEVICES'] = ''
    if osp.isfile(result_file):  # from an earlier run in this work dir
        os.remove(result_file)
    start = time.perf_counter()
    with open(log_file, 'w') as log:
        proc = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True)
        try:
            proc.wait(timeout=args.timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    seconds = time.perf_counter() - start
    if osp.isfile(result_file):
        with open(result_file) as f:
            result = json.load(f)
        if result['status'] == 'pass' and proc.returncode != 0:
            # rank 0 passed, another process of a torchrun job did not
            result = dict(
                status='fail',
                error=f'a process of the check exited with {proc.returncode}')
    elif proc.returncode == -signal.SIGKILL:
        result = dict(status='fail', error=f'timed out after '
                      f'{args.timeout:g} s (--timeout)')
    else:
        with open(log_file) as f:
            last = [line for line in f.read().splitlines() if line.strip()]
        result = dict(
            status='fail',
            error=one_line(last[-1] if last else
                           f'exited with {proc.returncode}, no output'))
    result['seconds'] = seconds
    if result['status'] != 'pass':
        result['error'] = f'{result["error"]} (log: {log_file})'
    return result


def table(rows: List[dict]) -> str:
    """The results as a plain-text table."""
    header = ['check', 'status', 'img/s', 'seconds', 'details']
    lines = [header]
    for row in rows:
        img_s = row.get('img_s')
        seconds = row.get('seconds')
        lines.append([
            row['check'], row['status'],
            '-' if img_s is None else f'{img_s:.1f}',
            '-' if seconds is None else f'{seconds:.1f}',
            row.get('error') or row.get('details', '')
        ])
    widths = [max(len(line[i]) for line in lines) for i in range(4)]
    return '\n'.join('  '.join(
        [cell.ljust(width) for cell, width in zip(line, widths)] + [line[4]]
    ).rstrip() for line in lines)


def main():
    args = parse_args()
    if args.run_check:
        run_one(args)
        return
    if args.device == 'cuda' and not torch.cuda.is_available():
        sys.exit('error: no CUDA device is visible (torch.cuda.is_available() '
                 'is False); run this on a GPU machine, or add --device cpu '
                 'for the fp32 CPU variant of the training checks')
    keep = args.work_dir is not None
    args.work_dir = osp.abspath(
        args.work_dir or tempfile.mkdtemp(prefix='mmffnet-gpu-check-'))
    os.makedirs(args.work_dir, exist_ok=True)
    rows = []
    for check in args.checks:
        reason = skip_reason(check, args.device)
        row = dict(status=reason) if reason else launch(check, args)
        rows.append(dict(row, check=check))
        print(f'[gpu_check] {check}: {row["status"]}', flush=True)
    failed = [row['check'] for row in rows if row['status'] == 'fail']
    print(table(rows))
    if failed or keep:
        print(f'data, logs and checkpoints: {args.work_dir}')
    else:
        shutil.rmtree(args.work_dir, ignore_errors=True)
    if failed:
        sys.exit(f'error: {len(failed)} check(s) failed: '
                 f'{", ".join(failed)}')


if __name__ == '__main__':
    main()
